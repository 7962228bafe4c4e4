"""The router's YAML tables (intents.yaml, gui.yaml, hant.yaml), read once from the package.

The router depends on nothing in ``skill``: it reads its own files here.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = ["load_table"]

# libyaml's loader when the wheel has it: the tables are parsed on the start-up path.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_table(name: str) -> dict[str, Any]:
    """The mapping in ``router/<name>``, parsed on the first call; callers never change it."""
    text = resources.files("router").joinpath(name).read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=_Loader)  # a safe loader, C or Python
    if not isinstance(loaded, dict):
        raise TypeError(f"router/{name} holds {type(loaded).__name__}, not a mapping")
    return loaded
