"""The REPL's own words, English and Chinese, from ``skill/data/repl.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skill._data import load_yaml
from skill.replies import language_of

__all__ = ["examples", "ui"]


class _Blank(dict[str, Any]):
    # A field the template names but the caller did not pass renders empty, not KeyError.
    def __missing__(self, key: str) -> str:
        return ""


def _catalogue() -> Mapping[str, Any]:
    return load_yaml("skill", "data/repl.yaml")


def _entry(lang: str, key: str) -> Any:
    node: Any = _catalogue()
    for part in key.split("."):
        node = node[part]
    return node.get(language_of(lang)) or node["en"]


def ui(lang: str, key: str, /, **fields: Any) -> str:
    """The string ``key`` (dots walk nested tables) in ``lang``, with ``fields`` filled in."""
    template = _entry(lang, key)
    assert isinstance(template, str), key
    return template.format_map(_Blank(fields))


def examples(lang: str) -> list[str]:
    """The banner's "try saying" examples, taken from the skill's own list."""
    found = _entry(lang, "examples")
    return [str(item) for item in found]
