"""``classify``: what a user's message asks for, as the steps to run in order.

A message is folded (router._text), its files are cut out (router._files), typos in keywords
are mended (router._typos), and it is split into clauses on connectors ("then", "然后", ";").
Each clause is read on its own against the tables in intents.yaml: a keyword names an action
unless something in its clause says otherwise (a negation, a how-to question, a complaint, a
question about a job already running, a look-alike, or edit words around it). A clause with no
action left is ``chat``: the backend agent can handle anything, while skipping it wrongly would
lose the user's instruction. Pure: no I/O, no clock, no randomness after import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from router._data import Matcher, Span, alternation, literal_first
from router._files import extract_files
from router._tables import load_table
from router._text import FILE, QUOTED, Language, fold, language, mask_quotes
from router._typos import TypoFixer

__all__ = ["Action", "Intent", "classify"]


class Action(StrEnum):
    """One step a message asks for; every one but ``chat`` skips the backend's chat stream."""

    UPLOAD = "upload"
    CREDITS = "credits"
    STATE = "state"
    EXPORT = "export"
    CHAT = "chat"


@dataclass(frozen=True, slots=True)
class Intent:
    """What a message asks for: ``actions`` in the order to run them (never empty)."""

    actions: tuple[Action, ...]
    files: tuple[str, ...] = ()
    language: Language = "en"

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("an Intent has at least one action")

    @property
    def action(self) -> Action:
        """The first step."""
        return self.actions[0]

    @property
    def skip_sse(self) -> bool:
        """True when no step needs the backend's chat stream."""
        return Action.CHAT not in self.actions

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``python -m router --json``."""
        return {
            "actions": [str(a) for a in self.actions],
            "skip_sse": self.skip_sse,
            "files": list(self.files),
            "language": self.language,
        }


def _words(items: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(item) for item in items)


def _longest_first(items: Iterable[Any]) -> re.Pattern[str] | None:
    phrases = sorted((str(i) for i in items), key=len, reverse=True)
    return alternation(re.escape(p) for p in phrases)


def _both(table: dict[str, Any]) -> list[str]:
    return [*table.get("en", []), *table.get("zh", [])]


_TABLES = load_table("intents.yaml")
# One alternation, each branch starting with a literal character so that re skips ahead to
# where a separator can begin; its matches are cut out of the message in one pass.
_SEPARATORS = re.compile("|".join(map(literal_first, _TABLES["split"])), re.ASCII)
_FIRST = alternation(_TABLES["first"])
_FILLER_EN = _words(_TABLES["filler_en"])
_FILLER_ZH = _longest_first(_TABLES["filler_zh"])
_UPLOAD_FILLER_EN = _FILLER_EN | _words(_TABLES["upload_filler_en"])
_UPLOAD_FILLER_ZH = _longest_first([*_TABLES["filler_zh"], *_TABLES["upload_filler_zh"]])
_ACTIONS: dict[str, Any] = _TABLES["actions"]
_BLOCKED_BY: dict[str, tuple[str, ...]] = {
    name: tuple(spec.get("blocked_by", [])) for name, spec in _ACTIONS.items()
}
# The tables a clause is read against, in two labelled matchers (a label is the kind of
# list and its name): one pass finds the keywords of every action; only when there is one,
# a second pass finds their look-alikes and every blocker. Objects are looked for only when
# an edit word is near a keyword.
_KEYWORD, _WEAK, _LOOKALIKE, _BLOCKER = "keyword", "weak", "lookalike", "blocker"
_KEYWORD_LISTS: dict[tuple[str, str], list[str]] = {
    **{(_KEYWORD, n): [*spec.get("en", []), *spec.get("zh", [])] for n, spec in _ACTIONS.items()},
    **{(_WEAK, n): spec.get("weak", []) for n, spec in _ACTIONS.items()},
}
_CONTEXT_LISTS: dict[tuple[str, str], list[str]] = {
    **{(_LOOKALIKE, n): spec.get("lookalike", []) for n, spec in _ACTIONS.items()},
    **{(_BLOCKER, n): _both(table) for n, table in _TABLES["blockers"].items()},
    # These contain a negation word but are not one: "能不能导出" asks to export.
    (_BLOCKER, "not_negation"): _both(_TABLES["blockers"]["negation"]["not_negation"]),
    # Asking for the action politely is not a question about it: "可以导出了吗".
    (_BLOCKER, "request"): _both(_TABLES["blockers"]["pending"]["request"]),
}
_LABELS = {f"{kind}:{name}": (kind, name) for kind, name in {**_KEYWORD_LISTS, **_CONTEXT_LISTS}}
_KEYWORDS = Matcher({f"{kind}:{name}": items for (kind, name), items in _KEYWORD_LISTS.items()})
_CONTEXT = Matcher({f"{kind}:{name}": items for (kind, name), items in _CONTEXT_LISTS.items()})
_ACTION_OF = {str(action): action for action in Action}
_OBJECTS = {name: Matcher(spec.get("object", [])) for name, spec in _ACTIONS.items()}
# A clause that only asks for the video to be made, with an export right after it, is part
# of that export: "生成视频并下载", "generate the video and download it".
_MAKE_VIDEO = alternation(_both(_TABLES["make_video"]))
_TYPOS = TypoFixer(_TABLES["typo_targets"], _TABLES["not_typos"])
_ASCII_WORD = re.compile(r"[a-z0-9]+", re.ASCII)


def classify(text: str, attachments: Iterable[str | os.PathLike[str]] = ()) -> Intent:
    """What ``text`` (with ``attachments``, files sent along with it) asks for.

    >>> classify("add BGM then export").actions
    (<Action.CHAT: 'chat'>, <Action.EXPORT: 'export'>)
    """
    text = text if isinstance(text, str) else ""
    attached = [os.fspath(a) for a in attachments] if attachments else []
    found, masked = extract_files(text)
    folded = fold(masked)
    body = _TYPOS.fix(mask_quotes(folded)).strip()
    if attached:
        actions = _read_message(body, attached=True)
    else:  # the steps depend on the words alone
        actions = _ONE_KEYWORD.get(body) or _read_message(body, attached=False)
    files = tuple(dict.fromkeys(found + attached)) if found or attached else ()
    lang = language(folded.replace(FILE, " ") if FILE in folded else folded)
    if not files:  # most messages: one of a few answers, built once
        intent = _PLAIN.get((actions, lang))
        if intent is not None:
            return intent
    return Intent(actions=actions, files=files, language=lang)


def _read_message(body: str, *, attached: bool) -> tuple[Action, ...]:
    """The steps of the words of a message (``attached``: files were sent along with it)."""
    steps: list[Action] = []
    if attached:
        steps.append(Action.UPLOAD)
        if _only_filler(body, _UPLOAD_FILLER_EN, _UPLOAD_FILLER_ZH):
            body = ""
    clauses = _clauses(body)
    for index, clause in enumerate(clauses):
        clause_steps = _read_clause(clause)
        if clause_steps == [Action.CHAT] and _makes_the_export(clause, clauses[index + 1 :]):
            continue
        steps.extend(clause_steps)
    return _merge_neighbours(steps) or (Action.CHAT,)


def _clauses(body: str) -> list[str]:
    """The clauses of ``body`` in the order to run them ("A, but first B" runs B first)."""
    if not body:
        return []
    if _SEPARATORS.search(body) is None:  # most messages are one clause
        return [body]
    separators = [
        (m.start(), m.end(), "") for m in _SEPARATORS.finditer(body) if m.end() > m.start()
    ]
    if not separators:
        return [body]
    ordered: list[str] = []
    for piece in _cut(body, separators):
        piece = piece.strip()
        if not piece:
            continue
        first = _FIRST.match(piece) if _FIRST is not None else None
        if first is not None and ordered:
            ordered.insert(len(ordered) - 1, piece[first.end() :].strip())
        else:
            ordered.append(piece)
    return ordered


def _cut(text: str, separators: list[Span]) -> list[str]:
    """``text`` in pieces, without the (possibly overlapping) ``separators``."""
    pieces: list[str] = []
    position = 0
    for start, end, _ in separators:
        if start >= position:
            pieces.append(text[position:start])
        position = max(position, end)
    pieces.append(text[position:])
    return pieces


def _makes_the_export(clause: str, rest: list[str]) -> bool:
    """Whether ``clause`` only asks for the video, and the next clause with words exports it."""
    if _MAKE_VIDEO is None or _MAKE_VIDEO.fullmatch(clause) is None:
        return False
    for following in rest:
        steps = _read_clause(following)
        if steps:
            return steps[0] is Action.EXPORT
    return False


def _read_clause(text: str) -> list[Action]:
    """The steps one clause asks for; none when it is only filler ("ok", "thanks", "好的")."""
    if FILE in text:
        rest = text.replace(FILE, " ").strip()
        if _only_filler(rest, _UPLOAD_FILLER_EN, _UPLOAD_FILLER_ZH):
            return [Action.UPLOAD]
        return [Action.UPLOAD, *_read_clause(rest)]
    if _only_filler(text, _FILLER_EN, _FILLER_ZH):
        return []
    keywords = _KEYWORDS.spans(text)
    if not keywords:  # the common edit: no keyword at all
        return [Action.CHAT]
    lists: dict[str, list[Span]] = {_KEYWORD: [], _WEAK: [], _LOOKALIKE: [], _BLOCKER: []}
    for start, end, label in keywords + _CONTEXT.spans(text):
        kind, name = _LABELS[label]
        lists[kind].append((start, end, name))
    around = _Around(text, lists[_LOOKALIKE], lists[_BLOCKER])
    hits = around.hits(lists[_KEYWORD]) or around.hits(lists[_WEAK])
    return [action for _, action in sorted(hits)] or [Action.CHAT]


class _Around:
    """What surrounds the keywords of one clause: look-alikes, blockers, objects."""

    __slots__ = ("_blockers", "_clause", "_lookalikes", "_objects")

    def __init__(self, clause: str, lookalikes: list[Span], blockers: list[Span]) -> None:
        self._clause = clause
        self._lookalikes = frozenset(name for _, _, name in lookalikes)
        self._blockers = _by_label(blockers)
        self._objects: dict[str, list[tuple[int, int]]] = {}

    def hits(self, keywords: list[Span]) -> list[tuple[int, Action]]:
        """The first unblocked keyword of each action, with its position."""
        found: list[tuple[int, Action]] = []
        settled: set[str] = set()
        for start, end, name in keywords:
            if name in settled:
                continue
            if name in self._lookalikes:
                settled.add(name)
            elif not self._blocked(name, start, end):
                settled.add(name)
                found.append((start, _ACTION_OF[name]))
        return found

    def _blocked(self, name: str, start: int, end: int) -> bool:
        """Whether the words around ``clause[start:end]`` say it is not a ``name``."""
        blockers = self._blockers
        for blocker in _BLOCKED_BY[name]:
            found = blockers.get(blocker)
            if not found:
                continue
            if blocker == "negation":
                ignored = blockers.get("not_negation", [])
                blocked = any(e <= start and not _overlaps(s, e, ignored) for s, e in found)
            elif blocker == "purpose":
                blocked = any(e <= start for _, e in found)
            elif blocker == "deferral":
                blocked = any(s >= end for s, _ in found)
            elif blocker == "pending":
                blocked = not any(e <= start for _, e in blockers.get("request", []))
            elif blocker == "edit":
                objects = self._objects_of(name)
                blocked = any(
                    (e <= start or s >= end) and not _inside(s, e, objects) for s, e in found
                )
            else:
                blocked = True
            if blocked:
                return True
        return False

    def _objects_of(self, name: str) -> list[tuple[int, int]]:
        objects = self._objects.get(name)
        if objects is None:
            objects = self._objects[name] = [
                (s, e) for s, e, _ in _OBJECTS[name].spans(self._clause)
            ]
        return objects


def _by_label(spans: list[Span]) -> dict[str, list[tuple[int, int]]]:
    grouped: dict[str, list[tuple[int, int]]] = {}
    for start, end, label in spans:
        grouped.setdefault(label, []).append((start, end))
    return grouped


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _only_filler(text: str, words: frozenset[str], phrases: re.Pattern[str] | None) -> bool:
    """True when ``text`` holds nothing but ``words``, ``phrases``, punctuation and emoji."""
    if phrases is not None and not text.isascii():  # the phrases are Chinese
        text = phrases.sub(" ", text)
    for word in _ASCII_WORD.findall(text):
        if word not in words:
            return False
    leftover = _ASCII_WORD.sub(" ", text)
    return not any(char.isalnum() or char in (FILE, QUOTED) for char in leftover)


def _merge_neighbours(steps: list[Action]) -> tuple[Action, ...]:
    merged: list[Action] = []
    for step in steps:
        if not merged or merged[-1] != step:
            merged.append(step)
    return tuple(merged)


def _one_keyword() -> dict[str, tuple[Action, ...]]:
    """The steps of a message that is one keyword alone ("export", "积分?"), read once."""
    words = {text for text in _KEYWORDS.texts() if " " not in text}
    return {
        message: _read_message(message, attached=False)
        for word in words
        for message in (word, f"{word}!", f"{word}?", f"{word}.")
    }


_ONE_KEYWORD = _one_keyword()
# An Intent is immutable: the common ones (one or two steps, no files) are built once.
_PLAIN: dict[tuple[tuple[Action, ...], Language], Intent] = {
    (steps, lang): Intent(actions=steps, language=lang)
    for steps in [(a,) for a in Action] + [(a, b) for a in Action for b in Action if a != b]
    for lang in ("en", "zh")
}
