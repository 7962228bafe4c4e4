"""What the skill host says: typed replies, and their wording in English and Chinese.

Every face (REPL, CLI, MCP, Python) consumes the same stream of :class:`Reply` objects; the words
come from the jinja2 macros in ``skill/templates/<lang>.j2`` so that no sentence lives in code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jinja2

__all__ = [
    "Reply",
    "ReplyKind",
    "chinese_script",
    "language_of",
    "language_of_text",
    "reply_language",
    "say",
]

# Language tags written in traditional characters.
_HANT_TAGS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo", "zh_tw", "zh_hk", "zh_mo")


class ReplyKind(StrEnum):
    """What a reply is, so that each face can show it its own way."""

    STATUS = "status"  # a short status line ("Setting things up...")
    TEXT = "text"  # a whole message
    DELTA = "delta"  # a new piece of streamed chat text
    PROGRESS = "progress"  # data: phase, done, total
    RESULT = "result"  # data: path, render_id, width, height, duration
    ERROR = "error"  # text: the human message; data: code
    SUGGESTION = "suggestion"  # data: action the user may ask for ("export")


@dataclass(frozen=True)
class Reply:
    """One thing the host tells the user. ``data`` carries the machine-readable part."""

    kind: ReplyKind
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` event: ``{"event": kind, "text": ..., **data}``; no empty ``text``."""
        event: dict[str, Any] = {"event": self.kind.value}
        if self.text:
            event["text"] = self.text
        for key, value in self.data.items():
            event.setdefault(key, value)
        return event


def language_of(lang: str | None) -> str:
    """``"zh"`` for any Chinese tag (zh, zh-CN, zh-Hant, ...), else ``"en"``."""
    return "zh" if lang and lang.lower().startswith("zh") else "en"


def language_of_text(text: str) -> str:
    """``"zh"`` when ``text`` holds a CJK ideograph (the user writes Chinese), else ``"en"``."""
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def reply_language(lang: str | None) -> str:
    """Which templates speak ``lang``: ``"en"``, ``"zh"`` or ``"zh-Hant"`` (zh-TW, zh-HK...)."""
    if lang and lang.lower().startswith(_HANT_TAGS):
        return "zh-Hant"
    return language_of(lang)


def chinese_script(text: str) -> str | None:
    """``"zh-Hant"`` when ``text`` is written in traditional characters, ``"zh"`` when in
    simplified ones, ``None`` when it says nothing either way.

    A character only Big5 can encode is traditional, one only GB2312 can encode simplified;
    most characters are shared and do not count.
    """
    traditional = simplified = 0
    for char in text:
        if not "\u4e00" <= char <= "\u9fff":
            continue
        in_big5, in_gb2312 = _encodes(char, "big5"), _encodes(char, "gb2312")
        traditional += in_big5 and not in_gb2312
        simplified += in_gb2312 and not in_big5
    if traditional == simplified:
        return None
    return "zh-Hant" if traditional > simplified else "zh"


def _encodes(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def _environment() -> jinja2.Environment:
    # Plain text, not HTML: no autoescaping. StrictUndefined makes a missing field a bug we see.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("skill", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@functools.cache
def _macros(lang: str) -> Any:
    return _environment().get_template(f"{lang}.j2").module


def say(lang: str | None, name: str, /, **fields: Any) -> str:
    """The message ``name`` in ``lang`` (see :func:`reply_language`), as one line.

    Templates may spread a message over several lines for readability; the pieces are joined
    with a space (English) or nothing (Chinese, which does not separate words).
    """
    lang = reply_language(lang)
    macro = getattr(_macros(lang), name, None)
    if macro is None:
        raise KeyError(f"no reply template named {name!r}")
    pieces = [line.strip() for line in str(macro(**fields)).splitlines()]
    return ("" if lang.startswith("zh") else " ").join(piece for piece in pieces if piece)
