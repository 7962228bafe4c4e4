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

from router._data import Matcher, Words, alternation, load
from router._files import extract_files
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


@dataclass(frozen=True, slots=True)
class _Rule:
    action: Action
    objects: Matcher
    lookalike: Matcher
    blocked_by: tuple[str, ...]


def _words(items: Iterable[Any]) -> frozenset[str]:
    return frozenset(str(item) for item in items)


def _longest_first(items: Iterable[Any]) -> re.Pattern[str] | None:
    phrases = sorted((str(i) for i in items), key=len, reverse=True)
    return alternation(re.escape(p) for p in phrases)


def _both(table: dict[str, Any]) -> list[str]:
    return [*table.get("en", []), *table.get("zh", [])]


_TABLES = load("intents.yaml")
_SPLIT = alternation(_TABLES["split"])
_MAY_SPLIT = Matcher(_TABLES["split"])
_FIRST = alternation(_TABLES["first"])
_FILLER_EN = _words(_TABLES["filler_en"])
_FILLER_ZH = _longest_first(_TABLES["filler_zh"])
_UPLOAD_FILLER_EN = _FILLER_EN | _words(_TABLES["upload_filler_en"])
_UPLOAD_FILLER_ZH = _longest_first([*_TABLES["filler_zh"], *_TABLES["upload_filler_zh"]])
_RULES = tuple(
    _Rule(
        action=Action(name),
        objects=Matcher(spec.get("object", [])),
        lookalike=Matcher(spec.get("lookalike", [])),
        blocked_by=tuple(spec.get("blocked_by", [])),
    )
    for name, spec in _TABLES["actions"].items()
)
_RULE_OF = {str(rule.action): rule for rule in _RULES}
# Every action's keywords in one matcher: one pass over a clause finds them all.
_STRONG = Matcher(
    {name: [*spec.get("en", []), *spec.get("zh", [])] for name, spec in _TABLES["actions"].items()}
)
_WEAK = Matcher({name: spec.get("weak", []) for name, spec in _TABLES["actions"].items()})
_BLOCKERS: dict[str, Matcher] = {
    name: Matcher(_both(table)) for name, table in _TABLES["blockers"].items()
}
_NOT_NEGATION = alternation(_both(_TABLES["blockers"]["negation"]["not_negation"]))
_REQUEST = Matcher(_both(_TABLES["blockers"]["pending"]["request"]))
_TYPOS = TypoFixer(_TABLES["typo_targets"], _TABLES["not_typos"])
_ASCII_WORD = re.compile(r"[a-z0-9]+", re.ASCII)


def classify(text: str, attachments: Iterable[str | os.PathLike[str]] = ()) -> Intent:
    """What ``text`` (with ``attachments``, files sent along with it) asks for.

    >>> classify("add BGM then export").actions
    (<Action.CHAT: 'chat'>, <Action.EXPORT: 'export'>)
    """
    text = text if isinstance(text, str) else ""
    attached = [os.fspath(a) for a in attachments]
    found, masked = extract_files(text)
    folded = fold(masked)
    steps: list[Action] = []
    body = _TYPOS.fix(mask_quotes(folded))
    if attached:
        steps.append(Action.UPLOAD)
        if _only_filler(body, _UPLOAD_FILLER_EN, _UPLOAD_FILLER_ZH):
            body = ""
    for clause in _clauses(body):
        steps.extend(_read_clause(clause))
    return Intent(
        actions=_merge_neighbours(steps) or (Action.CHAT,),
        files=tuple(dict.fromkeys(found + attached)),
        language=language(folded.replace(FILE, " ")),
    )


def _clauses(text: str) -> list[str]:
    """The clauses of ``text`` in the order to run them ("A, but first B" runs B first)."""
    pieces = _SPLIT.split(text) if _SPLIT is not None and _MAY_SPLIT.found(text) else [text]
    ordered: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        first = _FIRST.match(piece) if _FIRST is not None else None
        if first is not None and ordered:
            ordered.insert(len(ordered) - 1, piece[first.end() :].strip())
        else:
            ordered.append(piece)
    return ordered


def _read_clause(clause: str) -> list[Action]:
    """The steps one clause asks for; none when it is only filler ("ok", "thanks", "好的")."""
    if FILE in clause:
        rest = clause.replace(FILE, " ")
        if _only_filler(rest, _UPLOAD_FILLER_EN, _UPLOAD_FILLER_ZH):
            return [Action.UPLOAD]
        return [Action.UPLOAD, *_read_clause(rest)]
    if _only_filler(clause, _FILLER_EN, _FILLER_ZH):
        return []
    hits = _hits(clause, weak=False) or _hits(clause, weak=True)
    return [action for _, action in sorted(hits)] or [Action.CHAT]


def _hits(clause: str, *, weak: bool) -> list[tuple[int, Action]]:
    """The first unblocked keyword of each action in ``clause``, with its position."""
    hits: list[tuple[int, Action]] = []
    words: Words | None = None
    settled: set[str] = set()
    for start, end, name in (_WEAK if weak else _STRONG).spans(clause):
        if name in settled:
            continue
        rule = _RULE_OF[name]
        words = words or Words.of(clause)
        if rule.lookalike.found(clause, words):
            settled.add(name)
        elif not _blocked(rule, clause, start, end, words):
            settled.add(name)
            hits.append((start, rule.action))
    return hits


def _blocked(rule: _Rule, clause: str, start: int, end: int, words: Words) -> bool:
    """Whether the words around ``clause[start:end]`` say it is not a ``rule.action``."""
    before, after = clause[:start], clause[end:]
    for name in rule.blocked_by:
        blocker = _BLOCKERS[name]
        if name == "negation":
            if _NOT_NEGATION is not None:
                before = _NOT_NEGATION.sub(" ", before)
            blocked = blocker.found(before)
        elif name == "purpose":
            blocked = blocker.found(before)
        elif name == "deferral":
            blocked = blocker.found(after)
        elif name == "pending":
            blocked = blocker.found(clause, words) and not _REQUEST.found(before)
        elif name == "edit":
            blocked = blocker.found(rule.objects.strip(f"{before} {after}"))
        else:
            blocked = blocker.found(clause, words)
        if blocked:
            return True
    return False


def _only_filler(text: str, words: frozenset[str], phrases: re.Pattern[str] | None) -> bool:
    """True when ``text`` holds nothing but ``words``, ``phrases``, punctuation and emoji."""
    if phrases is not None:
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
