"""The router's tables (YAML files shipped inside the package, read once at import), and
:class:`Matcher`, which turns a list of table entries into a fast test.

Python's ``re`` tries every branch of an alternation at every position, so a list of a
hundred keywords compiled into one pattern costs tens of microseconds per search. A Matcher
sorts entries by shape instead: plain words go into a set (checked against the text's words
in one set operation), and every other entry is filed under what its matches must start with
(the first three letters of an English word, or a Chinese character). A text is read once
into a :class:`View` (its words, what they start with, its characters), and a pattern runs
only when its key is in the View. The few entries with no such key run as one alternation.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, NamedTuple

import yaml

_WORD = re.compile(r"[a-z0-9]+", re.ASCII)
_WORD_LIST = re.compile(r"^\\b(?:\(\?:)?([a-z0-9 |]+?)\)?\\b$")
_LITERAL = re.compile(r"^[^\\\[\](){}?*+.^$|]+$")
_LEADING_LITERAL = re.compile(r"^([a-z\u4e00-\u9fff]+)(.?)")
_LEADING_GROUP = re.compile(r"^\(\?:([a-z\u4e00-\u9fff |]+)\)(.?)")
_OPTIONAL = ("?", "*", "{")
# A key is at most this many letters: what a word starts with, so "rend" and "render" meet.
_KEY_LETTERS = 3
_HEAD = operator.itemgetter(slice(0, _KEY_LETTERS))

Span = tuple[int, int, str]


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


class View(NamedTuple):
    """A text read once: its English words, and the keys a Matcher files its patterns under."""

    text: str
    words: frozenset[str]
    keys: frozenset[str]

    @classmethod
    def of(cls, text: str) -> View:
        words = frozenset(_words_of(text))
        keys = frozenset(map(_HEAD, words))
        if not text.isascii():  # Chinese patterns are filed under their first character
            keys = keys.union(text)
        return cls(text, words, keys)


class Matcher:
    """Whether (and where) any entry of a table list matches a text.

    Built from a list of entries, or from labelled lists ({"export": [...], "state": [...]}):
    then :meth:`spans` also says which list each match came from, in one pass for all lists.
    Lists may share entries; each entry finds its matches on its own, so the matches of one
    list never hide those of another.
    """

    def __init__(self, entries: Iterable[str] | Mapping[str, Iterable[str]]) -> None:
        groups = entries if isinstance(entries, Mapping) else {"": entries}
        words: dict[str, dict[str, None]] = {}
        gated: dict[str, dict[tuple[str, str], None]] = {}
        always: dict[str, list[str]] = {}
        for label, items in groups.items():
            for entry in (alt for item in items for alt in _top_level_alternatives(item)):
                word_list = _WORD_LIST.match(entry)
                if word_list is not None:
                    for word in word_list.group(1).split("|"):
                        if " " in word:
                            pattern = rf"\b{re.escape(word)}\b"
                            key = word.split(" ")[0][:_KEY_LETTERS]
                            gated.setdefault(key, {})[(pattern, label)] = None
                        else:
                            words.setdefault(word, {})[label] = None
                    continue
                keys = _keys(entry)
                if keys is None:
                    always.setdefault(label, []).append(entry)
                for key in keys or ():
                    pattern = re.escape(entry) if _LITERAL.match(entry) else entry
                    gated.setdefault(key, {})[(pattern, label)] = None
        self._words = {word: tuple(labels) for word, labels in words.items()}
        self._word_set = frozenset(words)
        # Where a word of the set stands: the same edges as the text's words (_WORD). The
        # word comes first and the lookbehind after it, so re can scan for the word's letters.
        self._word_patterns = {
            word: re.compile(
                rf"{re.escape(word)}(?<![a-z0-9]{re.escape(word)})(?![a-z0-9])", re.ASCII
            )
            for word in words
        }
        compiled: dict[str, re.Pattern[str]] = {}
        self._gated: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
            key: tuple(
                (compiled.setdefault(p, re.compile(p, re.ASCII)), label) for p, label in entries_
            )
            for key, entries_ in gated.items()
        }
        self._gate = frozenset(self._gated)
        # Entries with no key: one alternation per list, run on every text.
        self._always = tuple(
            (compiled_, label)
            for label, patterns in always.items()
            if (compiled_ := alternation(patterns)) is not None
        )

    def found(self, view: View) -> bool:
        """True when any entry matches somewhere in the viewed text."""
        if not self._word_set.isdisjoint(view.words):
            return True
        text = view.text
        for key in self._gate.intersection(view.keys):
            for pattern, _ in self._gated[key]:
                if pattern.search(text) is not None:
                    return True
        return any(pattern.search(text) is not None for pattern, _ in self._always)

    def spans(self, view: View) -> list[Span]:
        """Where entries match in the viewed text and the label of each, in order of position."""
        text = view.text
        found: list[Span] = []
        for pattern, label in self._always:
            _find_all(pattern, text, label, found)
        words = self._word_set.intersection(view.words)
        if len(words) > 2:  # one scan of the text's words beats a search for each
            for m in _WORD.finditer(text):
                for label in self._words.get(m.group(), ()):
                    found.append((m.start(), m.end(), label))
        else:
            for word in words:
                for label in self._words[word]:
                    _find_all(self._word_patterns[word], text, label, found)
        keys = self._gate.intersection(view.keys)
        if keys:
            # One pattern may be filed under several keys: run it once.
            candidates = (
                self._gated[next(iter(keys))]
                if len(keys) == 1
                else dict.fromkeys(entry for key in keys for entry in self._gated[key])
            )
            for pattern, label in candidates:
                _find_all(pattern, text, label, found)
        if len(found) > 1:
            found.sort()
        return found


# Every byte that is not [a-z0-9] becomes a space; non-ASCII characters become "?" first.
_WORD_BYTES = bytes(b if b in b"0123456789abcdefghijklmnopqrstuvwxyz" else 32 for b in range(256))


def _words_of(text: str) -> list[str]:
    """What ``_WORD.findall`` finds in ``text``, by C string methods: a regex pays per match."""
    return text.encode("ascii", "replace").translate(_WORD_BYTES).decode("ascii").split()


def _find_all(pattern: re.Pattern[str], text: str, label: str, found: list[Span]) -> None:
    """Appends the non-empty matches of ``pattern`` in ``text`` to ``found``.

    A search that fails, which is what most do, costs a fraction of setting up finditer.
    """
    match = pattern.search(text)
    while match is not None:
        start, end = match.span()
        if end > start:
            found.append((start, end, label))
        match = pattern.search(text, end if end > start else end + 1)


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


def _word_key(word: str, *, whole: bool) -> str | None:
    """The key of an English word a match starts with (None when too short to tell).

    ``whole`` says the word ends where the literal ends; a shorter, open-ended literal
    ("re" in "re(?:load|do)") could start words with any third letter.
    """
    if len(word) >= _KEY_LETTERS or whole:
        return word[:_KEY_LETTERS]
    return None


def _keys(pattern: str) -> tuple[str, ...] | None:
    """The keys some match of ``pattern`` must show in a View (None when unknown).

    A Chinese start is a character anywhere in the text; an English start counts only after
    ``\\b``, where it is the start of a word.
    """
    bounded = pattern.startswith("\\b")
    body = pattern[2:] if bounded else pattern
    group = _LEADING_GROUP.match(body)
    if group is not None:
        if group.group(2) in _OPTIONAL:
            return None
        glued = group.group(2) not in ("", " ", "\\", "|")
        heads = [(alt.split(" ")[0], glued and " " not in alt) for alt in group.group(1).split("|")]
    else:
        literal = _LEADING_LITERAL.match(body)
        if literal is None:
            return None
        text, after = literal.group(1), literal.group(2)
        if after in _OPTIONAL:
            text, after = text[:-1], "("
        heads = [(text, after not in ("", " ", "\\", "|"))]
    keys: list[str] = []
    for head, open_ended in heads:
        if not head:
            return None
        if not head[0].isascii():
            keys.append(head[0])
            continue
        key = _word_key(head, whole=not open_ended) if bounded and head.isascii() else None
        if key is None:
            return None
        keys.append(key)
    return tuple(dict.fromkeys(keys))
