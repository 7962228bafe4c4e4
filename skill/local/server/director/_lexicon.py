"""The lexicon (lexicon.yaml) compiled into a scanner: a normalised text in, tokens out.

A token is a piece of the text and what it does there: a setting's value, a noun naming a
setting, a direction (more / less), a verb, a negation, a number with its unit, and so on.
Overlapping matches resolve to the longest (then the earliest), so "no more" is one word and
"背景音乐" is music, not a background.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skill._data import load_yaml

__all__ = ["Lexicon", "Token", "lexicon"]

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORDISH = re.compile(r"[a-z0-9]")
_NUMBER = re.compile(
    r"(?<![0-9a-z.])(\d+(?:\.\d+)?)\s*(?:(more|extra|additional|less|fewer)\s+)?(%|[a-z]+|秒钟|秒|倍|步|次)?"
)
_WORD_KINDS = (
    *("remove", "add", "set", "target", "by", "keep", "negation", "contrast"),
    *("undo", "redo", "restore", "export", "animate", "boost", "soften", "filler", "alternative"),
)
_MORE = frozenset({"more", "extra", "additional"})


@dataclass(frozen=True, slots=True)
class Token:
    """``kind`` is what the word does; ``key`` which one (a setting, a value, a unit...)."""

    kind: str
    key: str
    start: int
    end: int
    number: float | None = None


def _bounded(pattern: str) -> str:
    """ASCII word patterns must end at a word's end; Chinese and symbols match anywhere.

    The word's start is checked after matching (:func:`_starts_word`): a lookbehind in front
    of every pattern would stop the regex engine from skipping ahead by first character,
    which is most of the scanning speed.
    """
    if _CJK.search(pattern) or not re.match(r"[a-z0-9\\(']", pattern):
        return f"(?:{pattern})"
    return rf"(?:{pattern})(?![a-z0-9])"


def _starts_word(text: str, start: int) -> bool:
    """Whether a match at ``start`` begins a word (an ASCII match must not begin mid-word)."""
    if start == 0:
        return True
    return not (_WORDISH.match(text, start) and _WORDISH.match(text, start - 1))


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(patterns, key=len, reverse=True)
    return re.compile("|".join(_bounded(p) for p in ordered))


class Lexicon:
    """Every table of lexicon.yaml, compiled once."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        matchers: list[tuple[str, str, re.Pattern[str]]] = []

        def add(kind: str, key: str, patterns: Sequence[str]) -> None:
            matchers.append((kind, key, _compile(str(p) for p in patterns)))

        for setting, values in data["values"].items():
            for value, patterns in values.items():
                add("value", f"{setting}={value}", patterns)
        for setting, patterns in data["nouns"].items():
            add("noun", setting, patterns)
        for direction in ("increase", "decrease"):
            for setting, patterns in data[direction].items():
                add(direction, setting, patterns)
        for factor, patterns in data["scale"].items():
            add("scale", str(factor), patterns)
        for count, patterns in data["counts"].items():
            add("count", str(count), patterns)
        for kind in _WORD_KINDS:
            add(kind, kind, data[kind])
        self._matchers = matchers
        self._units = {
            str(u): name for name, units in data["units"].items() for u in units if "?" not in u
        }
        self._chat = {str(k): _compile(v) for k, v in data["chat"].items()}
        self._cannot = {str(k): _compile(v) for k, v in data["cannot"].items()}
        self._breaks = re.compile("|".join(str(p) for p in data["clause_breaks"]))
        # Tone that lifts the intensity of a motion anywhere in the message ("bounce!!!").
        self._boost = _compile(str(p) for p in data["boost"])
        self._instruction_kinds = frozenset(
            {"value", "export", "undo", "redo", "restore", "animate"}
        )

    def tokens(self, text: str) -> list[Token]:
        """The words of ``text`` that mean something, in order, without overlaps."""
        found: list[Token] = []
        for kind, key, pattern in self._matchers:
            for match in pattern.finditer(text):
                if match.end() > match.start() and _starts_word(text, match.start()):
                    found.append(Token(kind, key, match.start(), match.end()))
        for match in _NUMBER.finditer(text):
            unit_word = match.group(3)
            unit = self._units.get(unit_word or "", "")
            end = match.end()
            if unit_word and not unit and unit_word not in ("倍", "步", "次"):
                end = match.start(3)  # "3 cats": a bare number
            if match.group(2) and (unit or not unit_word):  # "1 more second", "2 less"
                direction = "increase" if match.group(2) in _MORE else "decrease"
                found.append(Token(direction, "any", match.start(2), match.end(2)))
                end = match.end(1)
            elif match.group(2):
                end = match.start(2)
            if unit_word in ("倍",):
                found.append(Token("scale", match.group(1), match.start(), match.end()))
                continue
            if unit_word in ("步", "次"):
                found.append(Token("count", match.group(1), match.start(), match.end()))
                continue
            found.append(Token("number", unit, match.start(), end, float(match.group(1))))
        found.sort(key=lambda t: (t.start, -(t.end - t.start)))
        chosen: list[Token] = []
        reach = -1
        for token in found:
            if token.start >= reach:
                chosen.append(token)
                reach = token.end
            elif token.end - token.start > chosen[-1].end - chosen[-1].start and (
                token.start == chosen[-1].start
            ):
                chosen[-1] = token
                reach = token.end
        return chosen

    def clause_spans(self, text: str) -> list[tuple[int, int]]:
        """Where each clause of ``text`` starts and ends (empty ones left out)."""
        spans: list[tuple[int, int]] = []
        start = 0
        for cut in [*self._breaks.finditer(text), None]:
            end = cut.start() if cut is not None else len(text)
            if text[start:end].strip():
                spans.append((start, end))
            start = cut.end() if cut is not None else end
        return spans

    def boosted(self, text: str) -> bool:
        """Whether the message's tone asks for more ("!!!", "🔥", "to the max")."""
        return any(_starts_word(text, m.start()) for m in self._boost.finditer(text))

    def chat(self, text: str) -> str | None:
        """The kind of small talk ``text`` is (greeting, thanks, praise, help, status), if any."""
        for kind, pattern in self._chat.items():
            if any(_starts_word(text, m.start()) for m in pattern.finditer(text)):
                return kind
        return None

    def cannot(self, text: str) -> list[tuple[str, int, int]]:
        """The out-of-scope topics ``text`` asks for, with where each was said."""
        spans: list[tuple[str, int, int]] = []
        for topic, pattern in self._cannot.items():
            for match in pattern.finditer(text):
                if _starts_word(text, match.start()):
                    spans.append((topic, match.start(), match.end()))
        return spans

    def has_instruction(self, text: str) -> bool:
        """Whether ``text`` reads as an instruction of its own: a value, a change, a length, an
        export or an undo, or music added or removed (used to end an unquoted title)."""
        tokens = self.tokens(text)
        kinds = {t.kind for t in tokens}
        if kinds & self._instruction_kinds:
            return True
        if any(t.kind == "number" and t.key == "seconds" for t in tokens):
            return True
        return bool(kinds & {"add", "remove"}) and any(
            t.kind == "noun" and t.key == "music" for t in tokens
        )


@functools.cache
def lexicon() -> Lexicon:
    return Lexicon(load_yaml("skill.local.server.director", "lexicon.yaml"))
