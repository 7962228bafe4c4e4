""":class:`Matcher`, which turns a list of the router's table entries into a fast test.

Python's ``re`` tries every branch of an alternation at every position, so a list of a
hundred keywords compiled into one pattern costs tens of microseconds per search, and one
search per entry costs a Python call each. A Matcher works out, when the tables load, the
literal text every match of an entry must start with ("export", "how many ", "导出"), and
files all those starts in a trie compiled into one pattern. Reading a text is one scan of
that trie (``findall`` in C, every position, overlaps included), which names the few entries
that can match; only those are searched. Most texts hit nothing and cost that one scan.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_WORD_LIST = re.compile(r"^\\b(?:\(\?:)?([a-z0-9 |]+?)\)?\\b$")
_LITERAL = re.compile(r"^[^\\\[\](){}?*+.^$|]+$")
_META = frozenset("\\[](){}?*+.^$|")
_OPTIONAL = ("?", "*", "{")
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")
_BOUNDARY_THEN_LETTER = re.compile(r"^\\b([a-z])(?![?*+{])")
_CLASS_REPEATED = re.compile(r"^\[([^\]]+)\]\+$")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_WORD_CHAR = re.compile(r"\w", re.ASCII)
# Past this many starts an entry's group is not spelled out: its shorter starts stand.
_MOST_STARTS = 256

Span = tuple[int, int, str]
# Which entries of a Matcher may match a text (their indices), from Matcher.candidates.
Candidates = frozenset[int] | set[int]


def alternation(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled pattern matching any of ``patterns`` (None when there are none).

    ASCII mode makes ``\\b`` an ASCII word boundary, so an English keyword glued to Chinese
    text ("帮我export一下") still stands on word boundaries.
    """
    parts = [p for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.ASCII)


def literal_first(pattern: str) -> str:
    """``pattern`` rewritten to begin with a literal character, where that is plain to do.

    ``re`` skips ahead to where a match can begin only when every branch of an alternation
    starts with a literal: ``\\bthen`` becomes ``t(?<!\\wt)hen`` (the same word boundary, checked
    after the letter), and ``[;,]+`` becomes ``;[;,]*|,[;,]*``.
    """
    boundary = _BOUNDARY_THEN_LETTER.match(pattern)
    if boundary is not None:
        letter = boundary.group(1)
        return _grouped(f"{letter}(?<!\\w{letter}){pattern[3:]}")
    repeated = _CLASS_REPEATED.match(pattern)
    if repeated is not None:
        chars = repeated.group(1).replace("\\n", "\n")
        if "\\" not in chars and "-" not in chars and "^" not in chars:
            rest = f"[{repeated.group(1)}]*"
            return "|".join(f"{re.escape(char)}{rest}" for char in chars)
    return _grouped(pattern)


def _grouped(pattern: str) -> str:
    """``pattern``, safe to join with ``|``: a group only when it has branches of its own."""
    return pattern if len(_top_level_alternatives(pattern)) < 2 else f"(?:{pattern})"


class Matcher:
    """Whether (and where) any entry of a table list matches a text.

    Built from a list of entries, or from labelled lists ({"export": [...], "state": [...]}):
    then :meth:`spans` also says which list each match came from, in one pass for all lists.
    Lists may share entries; each entry finds its matches on its own, so the matches of one
    list never hide those of another.
    """

    __slots__ = (
        "_always",
        "_ascii_scan",
        "_entries",
        "_patterns",
        "_starts",
        "_texts",
        "_wide_scan",
        "_word_scan",
    )

    def __init__(self, entries: Iterable[str] | Mapping[str, Iterable[str]]) -> None:
        groups = entries if isinstance(entries, Mapping) else {"": entries}
        # (pattern, label) -> the starts of its matches, each with whether it is a word start.
        specs: dict[tuple[str, str], tuple[tuple[str, bool], ...] | None] = {}
        wholes: dict[tuple[str, str], tuple[str, ...]] = {}  # entries that are plain text
        for label, items in groups.items():
            for entry in (alt for item in items for alt in _top_level_alternatives(item)):
                word_list = _WORD_LIST.match(entry)
                if word_list is None:
                    pattern = re.escape(entry) if _LITERAL.match(entry) else entry
                    specs.setdefault((pattern, label), _starts(entry))
                    literal, whole = _literal_starts(entry)
                    wholes.setdefault((pattern, label), tuple(literal) if whole else ())
                    continue
                for word in word_list.group(1).split("|"):
                    # A lone word stands where the text's words do: between [a-z0-9] runs.
                    escaped = re.escape(word)
                    pattern = (
                        rf"\b{escaped}\b"
                        if " " in word
                        else rf"{escaped}(?<![a-z0-9]{escaped})(?![a-z0-9])"
                    )
                    specs.setdefault((pattern, label), ((word, True),))
                    wholes.setdefault((pattern, label), (word,))
        # Compiled on first use: a scan names the few entries worth searching, so most of the
        # hundreds of patterns are never needed in a run (and importing stays quick).
        self._entries = tuple(specs)
        self._patterns: list[re.Pattern[str] | None] = [None] * len(self._entries)
        self._texts = tuple(
            tuple(dict.fromkeys([*wholes.get(spec, ()), *(s for s, _ in starts or ())]))
            for spec, starts in specs.items()
        )
        self._always = frozenset(i for i, starts in enumerate(specs.values()) if starts is None)
        by_start: dict[str, set[int]] = {}
        anywhere: set[str] = set()  # starts that need not begin a word
        for index, starts in enumerate(specs.values()):
            for start, at_word in starts or ():
                by_start.setdefault(start, set()).add(index)
                if not at_word:
                    anywhere.add(start)
        # A scan finds the longest start at a position; every shorter start there is in it.
        self._starts = {
            start: frozenset(
                i for k in range(1, len(start) + 1) for i in by_start.get(start[:k], ())
            )
            for start in by_start
        }
        # Three scans: starts of words (after no [a-z0-9]); starts in Chinese, anywhere, run
        # only on a text that is not all ASCII; the few ASCII starts that need not begin a
        # word ("logo" inside Chinese text, a digit), anywhere.
        self._word_scan = _scan([s for s in by_start if s not in anywhere], at_word=True)
        self._wide_scan = _scan([s for s in anywhere if not s[0].isascii()], at_word=False)
        self._ascii_scan = _scan(sorted(s for s in anywhere if s[0].isascii()), at_word=False)

    def candidates(self, text: str) -> Candidates:
        """The entries that may match in ``text``: one whose start is not there cannot."""
        found: set[str] = set()
        if self._word_scan is not None:
            found.update(self._word_scan.findall(text))
        if self._wide_scan is not None and not text.isascii():
            found.update(self._wide_scan.findall(text))
        if self._ascii_scan is not None:
            found.update(self._ascii_scan.findall(text))
        if not found:
            return self._always
        starts = self._starts
        return self._always.union(*(starts[s] for s in found))

    def _pattern(self, index: int) -> re.Pattern[str]:
        pattern = self._patterns[index]
        if pattern is None:
            pattern = self._patterns[index] = _compiled(self._entries[index][0])
        return pattern

    def labels(self, text: str) -> set[str]:
        """The labels of the lists with an entry that matches somewhere in ``text``."""
        entries = self._entries
        found: set[str] = set()
        for index in self.candidates(text):
            label = entries[index][1]
            if label not in found and self._pattern(index).search(text) is not None:
                found.add(label)
        return found

    def texts(self) -> Iterator[str]:
        """What each entry starts with, and its whole text when it is plain text."""
        for texts in self._texts:
            yield from texts

    def spans(self, text: str, among: Iterable[int] | None = None) -> list[Span]:
        """Where entries match in ``text`` and the label of each, in order of position.

        ``among`` (from :meth:`candidates`) saves the scan when the caller has done it.
        """
        found: list[Span] = []
        entries, patterns = self._entries, self._patterns
        for index in self.candidates(text) if among is None else among:
            label = entries[index][1]
            pattern = patterns[index] or self._pattern(index)
            match = pattern.search(text)
            while match is not None:  # a failed search costs a fraction of a finditer
                start, end = match.span()
                if end > start:
                    found.append((start, end, label))
                match = pattern.search(text, end if end > start else end + 1)
        if len(found) > 1:
            found.sort()
        return found


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """One compiled pattern per source, however many tables use it."""
    return re.compile(pattern, re.ASCII)


def _scan(starts: list[str], *, at_word: bool) -> re.Pattern[str] | None:
    """One pattern whose ``findall`` is the longest of ``starts`` at each position.

    The scan consumes a start's first character, so ``re`` can skip the positions where no
    start begins, and looks ahead from one character back to capture the whole start. Word
    starts need no [a-z0-9] before them: looser than ``\\b`` or a word's own edges, so a scan
    never misses what an entry would find.
    """
    if not starts:
        return None
    firsts = "".join(sorted({re.escape(s[0]) for s in starts}))
    edge = "(?<![a-z0-9])" if at_word else ""
    return re.compile(f"[{firsts}](?<={edge}(?=({_trie(starts)})).)", re.ASCII)


def _trie(words: Iterable[str]) -> str:
    """A pattern matching the longest of ``words`` that starts where it is tried."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def spell(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + spell(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body  # greedy: the longer word first

    return spell(root)


def _starts(pattern: str) -> tuple[tuple[str, bool], ...] | None:
    """What every match of ``pattern`` starts with, and whether at a word (None: unknown)."""
    starts, _ = _literal_starts(pattern)
    if "" in starts:
        return None
    at_word = pattern.startswith(("\\b", "^"))
    return tuple((s, at_word and _WORD_CHAR.match(s) is not None) for s in starts)


def _literal_starts(pattern: str) -> tuple[list[str], bool]:
    """The literal texts one of which starts every match of ``pattern``, and whether they
    are the whole of it. Zero-width parts (``\\b``, ``^``, lookarounds) are stepped over; the
    first class, escape, optional or repeated part ends the literal."""
    starts = [""]
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if pattern.startswith("\\b", index) or char == "^":
            index += 2 if char == "\\" else 1
            continue
        if pattern.startswith(_LOOKAROUND, index):
            close = _group_end(pattern, index)
            if close < 0:
                return starts, False
            index = close + 1
            continue
        atom = _escaped_atom(pattern, index)
        if atom is not None:  # \d or \uXXXX: one of a few characters
            chars, index = atom
            after = pattern[index : index + 2]
            if after[:1] in ("?", "*") or after == "{0" or len(starts) * len(chars) > _MOST_STARTS:
                return starts, False
            starts = [s + c for s in starts for c in chars]
            if after[:1] in ("+", "{"):
                return starts, False
            continue
        following = pattern[index + 1] if index + 1 < size else ""
        if pattern.startswith("(?:", index):
            close = _group_end(pattern, index)
            if close < 0:
                return starts, False
            after = pattern[close + 1] if close + 1 < size else ""
            inner = [
                _literal_starts(a) for a in _top_level_alternatives(pattern[index + 3 : close])
            ]
            if not inner or after in _OPTIONAL:
                return starts, False
            if len(starts) * sum(len(s) for s, _ in inner) > _MOST_STARTS:
                return starts, False
            starts = [s + i for s in starts for found, _ in inner for i in found]
            if after == "+" or not all(whole for _, whole in inner):
                return starts, False
            index = close + 1
            continue
        if char in _META or following in _OPTIONAL:
            return starts, False
        starts = [s + char for s in starts]
        if following == "+":
            return starts, False
        index += 1
    return starts, True


def _escaped_atom(pattern: str, index: int) -> tuple[str, int] | None:
    """The characters an escape at ``index`` stands for (a digit, or one \\u character),
    and where it ends; None for any other part."""
    if pattern.startswith("\\d", index):
        return string.digits, index + 2
    code = _UNICODE_ESCAPE.match(pattern, index)
    if code is not None:
        return chr(int(code.group(1), 16)), code.end()
    return None


def _outside_escapes_and_classes(pattern: str, begin: int = 0) -> Iterator[tuple[int, str, int]]:
    """Each character of ``pattern`` from ``begin`` that is not escaped or inside ``[...]``,
    with the depth of nested groups after it."""
    depth, escaped, in_class = 0, False, False
    for index in range(begin, len(pattern)):
        char = pattern[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += (char == "(") - (char == ")")
            yield index, char, depth


def _group_end(pattern: str, open_at: int) -> int:
    """Where the group opened at ``open_at`` closes (-1 when it does not)."""
    for index, char, depth in _outside_escapes_and_classes(pattern, open_at):
        if char == ")" and depth == 0:
            return index
    return -1


def _top_level_alternatives(pattern: str) -> list[str]:
    """``pattern`` cut at each ``|`` that is not inside brackets: "a(?:b|c)|d" -> [a(?:b|c), d]."""
    parts: list[str] = []
    start = 0
    for index, char, depth in _outside_escapes_and_classes(pattern):
        if char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
    parts.append(pattern[start:])
    return [part for part in parts if part]
