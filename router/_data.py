"""The router's tables: YAML files shipped inside the package, read once at import."""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml


def load(name: str) -> dict[str, Any]:
    """One of the package's YAML files, as a mapping."""
    text = resources.files("router").joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise TypeError(f"router/{name}: expected a mapping at the top level")
    return data


def alternation(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled pattern matching any of ``patterns`` (None when there are none).

    ASCII mode makes ``\\b`` an ASCII word boundary, so an English keyword glued to Chinese
    text ("帮我export一下") still stands on word boundaries.
    """
    parts = [p for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.ASCII)
