"""The YAML tables shipped inside the package (messages, keyword rules, limits), read once."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

__all__ = ["load_yaml"]

# libyaml's loader when the wheel has it: the tables are parsed on the start-up path.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_yaml(package: str, name: str) -> dict[str, Any]:
    """The mapping in ``name`` (a path inside ``package``); parsed on the first call only.

    The same dict is handed to every caller, so callers read it and never change it.
    """
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=_Loader)  # a safe loader, C or Python
    if not isinstance(loaded, dict):
        raise TypeError(f"{package}/{name} holds {type(loaded).__name__}, not a mapping")
    return loaded
