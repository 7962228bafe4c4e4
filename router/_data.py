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
from collections.abc import Iterable, Mapping
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
    """Whether (and where) any entry of a table list matches a text.

    Built from a list of entries, or from labelled lists ({"export": [...], "state": [...]}):
    then :meth:`spans` also says which list each match came from, in one pass for all lists.
    """

    def __init__(self, entries: Iterable[str] | Mapping[str, Iterable[str]]) -> None:
        groups = entries if isinstance(entries, Mapping) else {"": entries}
        words: dict[str, str] = {}
        phrases: dict[str, list[str]] = {}
        literals: dict[str, list[str]] = {}
        always: dict[str, list[str]] = {}
        gated: dict[str, list[tuple[str, str]]] = {}
        for label, items in groups.items():
            for entry in (alt for item in items for alt in _top_level_alternatives(item)):
                word_list = _WORD_LIST.match(entry)
                if word_list is not None:
                    for word in word_list.group(1).split("|"):
                        if " " in word:
                            phrases.setdefault(label, []).append(word)
                        else:
                            words.setdefault(word, label)
                elif _LITERAL.match(entry) and not entry.isascii():
                    literals.setdefault(label, []).append(entry)
                elif triggers := _triggers(entry):
                    for trigger in triggers:
                        gated.setdefault(trigger, []).append((entry, label))
                else:
                    always.setdefault(label, []).append(entry)
        self._words = words
        self._word_set = frozenset(words)
        all_phrases = [p for group in phrases.values() for p in group]
        self._phrases = _literal_alternation(f" {p} " for p in all_phrases)
        self._phrase_spans = _Labelled(
            {k: [rf"\b{re.escape(p)}\b" for p in v] for k, v in phrases.items()}
        )
        self._literals = _Labelled({k: [re.escape(x) for x in v] for k, v in literals.items()})
        self._always = _Labelled(always)
        self._triggers = _literal_alternation(gated)
        # A trigger found in the text may hide a shorter one inside it ("rend" in "render"):
        # each trigger runs the patterns of every trigger it contains.
        self._gated: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
            trigger: tuple(
                (re.compile(pattern, re.ASCII), label)
                for other, entries_ in gated.items()
                if other in trigger
                for pattern, label in entries_
            )
            for trigger in gated
        }

    def found(self, text: str, words: Words | None = None) -> bool:
        """True when any entry matches somewhere in ``text``."""
        if self._word_set or self._phrases is not None:
            words = words or Words.of(text)
            if not self._word_set.isdisjoint(words.set):
                return True
            if self._phrases is not None and self._phrases.search(words.padded):
                return True
        if self._literals.search(text) or self._always.search(text):
            return True
        return any(pattern.search(text) for pattern, _ in self._candidates(text))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where entries match in ``text`` and the label of each, in order of position."""
        found: list[tuple[int, int, str]] = []
        if self._word_set:
            for word in _WORD.finditer(text):
                label = self._words.get(word.group(0))
                if label is not None:
                    found.append((word.start(), word.end(), label))
        for labelled in (self._phrase_spans, self._literals, self._always):
            found.extend(labelled.spans(text))
        for pattern, label in self._candidates(text):
            found.extend(
                (m.start(), m.end(), label) for m in pattern.finditer(text) if m.end() > m.start()
            )
        found.sort()
        return found

    def strip(self, text: str) -> str:
        """``text`` with every match of the regular-expression entries blanked out."""
        text = self._always.sub(text)
        for pattern, _ in self._candidates(text):
            text = pattern.sub(" ", text)
        return text

    def _candidates(self, text: str) -> list[tuple[re.Pattern[str], str]]:
        if self._triggers is None:
            return []
        present = dict.fromkeys(self._triggers.findall(text))
        return [entry for trigger in present for entry in self._gated[trigger]]


class _Labelled:
    """Labelled lists of patterns as one pattern, a named group per label."""

    def __init__(self, groups: Mapping[str, list[str]]) -> None:
        self._labels = {f"g{i}": label for i, label in enumerate(groups)}
        parts = [
            f"(?P<g{i}>{'|'.join(f'(?:{p})' for p in patterns)})"
            for i, patterns in enumerate(groups.values())
        ]
        self._pattern = re.compile("|".join(parts), re.ASCII) if parts else None

    def search(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        if self._pattern is None:
            return []
        return [
            (m.start(), m.end(), self._labels[m.lastgroup or ""])
            for m in self._pattern.finditer(text)
            if m.end() > m.start()
        ]

    def sub(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(" ", text)


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
