"""The router's tables (YAML files shipped inside the package, read once at import), and
:class:`Matcher`, which turns a list of table entries into a fast test.

Python's ``re`` tries every branch of an alternation at every position, so a list of a
hundred keywords compiled into one pattern costs tens of microseconds per search. A Matcher
sorts entries by shape instead: plain words go into a set (checked against the text's words),
plain Chinese phrases are substring tests, and a real regular expression runs only when the
literal text it starts with ("send", "出") is present at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

_WORD = re.compile(r"[a-z0-9]+", re.ASCII)
_WORD_LIST = re.compile(r"^\\b(?:\(\?:)?([a-z0-9 |]+?)\)?\\b$")
_LITERAL = re.compile(r"^[^\\\[\](){}?*+.^$|]+$")
_LEADING_LITERAL = re.compile(r"^(?:\\b)?([a-z\u4e00-\u9fff]+)(.?)")
_LEADING_GROUP = re.compile(r"^(?:\\b)?\(\?:([a-z\u4e00-\u9fff |]+)\)(.?)")


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


@dataclass(frozen=True, slots=True)
class Words:
    """The English words of a text: a set, and the words again joined by single spaces."""

    set: frozenset[str]
    padded: str

    @classmethod
    def of(cls, text: str) -> Words:
        found = _WORD.findall(text)
        return cls(frozenset(found), f" {' '.join(found)} ")


class Matcher:
    """Whether (and where) any entry of a table list matches a text."""

    def __init__(self, entries: Iterable[str]) -> None:
        words: set[str] = set()
        phrases: list[str] = []
        literals: list[str] = []
        gated: dict[str, list[str]] = {}
        always: list[str] = []
        for entry in (alt for item in entries for alt in _top_level_alternatives(item)):
            word_list = _WORD_LIST.match(entry)
            if word_list is not None:
                for word in word_list.group(1).split("|"):
                    (phrases.append(word) if " " in word else words.add(word))
            elif _LITERAL.match(entry) and not entry.isascii():
                literals.append(entry)
            elif triggers := _triggers(entry):
                for trigger in triggers:
                    gated.setdefault(trigger, []).append(entry)
            else:
                always.append(entry)
        self._words = frozenset(words)
        self._phrases = _literal_alternation(f" {p} " for p in phrases)
        self._phrase_spans = alternation(rf"\b{re.escape(p)}\b" for p in phrases)
        self._literals = _literal_alternation(literals)
        self._always = alternation(always)
        self._triggers = _literal_alternation(gated)
        # A trigger found in the text may hide a shorter one inside it ("rend" in "render"):
        # each trigger runs the patterns of every trigger it contains.
        self._gated: dict[str, tuple[re.Pattern[str], ...]] = {
            trigger: tuple(
                re.compile(pattern, re.ASCII)
                for other, patterns in gated.items()
                if other in trigger
                for pattern in patterns
            )
            for trigger in gated
        }

    def __bool__(self) -> bool:
        return bool(self._words or self._phrases or self._literals or self._always or self._gated)

    def found(self, text: str, words: Words | None = None) -> bool:
        """True when any entry matches somewhere in ``text``."""
        if self._words or self._phrases is not None:
            words = words or Words.of(text)
            if not self._words.isdisjoint(words.set):
                return True
            if self._phrases is not None and self._phrases.search(words.padded):
                return True
        if self._literals is not None and self._literals.search(text):
            return True
        if self._always is not None and self._always.search(text):
            return True
        return any(pattern.search(text) for pattern in self._candidates(text))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where entries match in ``text``, in order of position."""
        found: list[tuple[int, int]] = []
        if self._words:
            found.extend(w.span() for w in _WORD.finditer(text) if w.group(0) in self._words)
        for pattern in (self._phrase_spans, self._literals, self._always, *self._candidates(text)):
            if pattern is not None:
                found.extend(m.span() for m in pattern.finditer(text) if m.end() > m.start())
        found.sort()
        return found

    def strip(self, text: str) -> str:
        """``text`` with every match of the regular-expression entries blanked out."""
        for pattern in (self._always, *self._candidates(text)):
            if pattern is not None:
                text = pattern.sub(" ", text)
        return text

    def _candidates(self, text: str) -> list[re.Pattern[str]]:
        if self._triggers is None:
            return []
        present = dict.fromkeys(self._triggers.findall(text))
        return [pattern for trigger in present for pattern in self._gated[trigger]]


def _literal_alternation(items: Iterable[str]) -> re.Pattern[str] | None:
    """Plain strings as one pattern, longest first (a literal alternation searches fast)."""
    ordered = sorted(set(items), key=len, reverse=True)
    return re.compile("|".join(re.escape(i) for i in ordered)) if ordered else None


def _top_level_alternatives(pattern: str) -> list[str]:
    """``pattern`` cut at each ``|`` that is not inside brackets: "a(?:b|c)|d" -> [a(?:b|c), d]."""
    parts: list[str] = []
    depth, start, escaped, in_class = 0, 0, False, False
    for index, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
    parts.append(pattern[start:])
    return [part for part in parts if part]


def _triggers(pattern: str) -> tuple[str, ...]:
    """Literal text any match of ``pattern`` contains at its start (empty when unknown)."""
    group = _LEADING_GROUP.match(pattern)
    if group is not None and group.group(2) not in ("?", "*", "{"):
        return tuple(alt.split(" ")[0] for alt in group.group(1).split("|"))
    literal = _LEADING_LITERAL.match(pattern)
    if literal is None:
        return ()
    text = literal.group(1)
    if literal.group(2) in ("?", "*", "{"):
        text = text[:-1]
    return (text,) if text else ()
