"""A message read into a :class:`Plan`: typed steps, clause by clause. Pure: no draft, no I/O.

The message is split into clauses on punctuation and connectors ("and", "then", "but",
"然后", "但是"). In a clause, a negation applies to what follows it, up to a word that turns
the clause around ("not bounce, *but* wobble"); a direction (more / less) binds to the
setting named next to it, else to the setting the word itself implies ("longer" is the
length), else to the intensity. A clause that asks for something out of scope is answered
as such and read no further.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from skill.local.server.director._lexicon import Token, lexicon
from skill.local.server.director._text import TITLE, Script, read

__all__ = ["Op", "Plan", "Setting", "Step", "parse"]

Setting = Literal[
    "motion", "intensity", "loop", "duration", "aspect", "title", "music", "volume", "history"
]
# "restore" is undo, or redo right after an undo ("恢复" after "撤销" brings the edit back).
Op = Literal["set", "increase", "decrease", "scale", "remove", "keep", "undo", "redo", "restore"]
Kind = Literal["edit", "export", "cannot", "question", "chat", "unknown"]

# Which setting a noun makes a direction or a number about.
_NOUN_TARGET = {
    "duration": "duration",
    "volume": "volume",
    "music": "volume",
    "intensity": "intensity",
}


@dataclass(frozen=True)
class Step:
    """One thing to do to one setting: ``op`` with ``value`` (a value, an amount, a factor)."""

    setting: Setting
    op: Op
    value: Any = None


@dataclass(frozen=True)
class Plan:
    """What a message asks for. ``kind`` says what the turn is; ``steps`` run in order."""

    message: str
    script: Script
    steps: tuple[Step, ...] = ()
    export: bool = False
    cannot: tuple[str, ...] = ()
    question: str | None = None
    chat: str | None = None

    @property
    def kind(self) -> Kind:
        if self.steps:
            return "edit"
        if self.cannot:
            return "cannot"
        if self.export:
            return "export"
        if self.question:
            return "question"
        if self.chat:
            return "chat"
        return "unknown"

    @property
    def understood(self) -> bool:
        """False when the turn must not lead to a render: not understood, out of scope, or a
        question back to the user."""
        return self.kind in ("edit", "export", "chat") and not self.cannot


@dataclass
class _Reading:
    """What the clauses read so far add up to."""

    steps: list[Step] = field(default_factory=list)
    export: bool = False
    cannot: list[str] = field(default_factory=list)
    question: str | None = None
    number_setting: str | None = None  # what a bare number means ("not 5 seconds, 3")
    topic: str | None = None  # the setting the last clause was about ("too loud, lower it")
    boost: bool = False

    def add(self, step: Step, *, correcting: bool) -> None:
        """A later value for a setting replaces an earlier one only as a correction
        ("bounce, actually wobble"); otherwise the first one said stands ("jiggle and bounce")."""
        if step.op == "set":
            for index, old in enumerate(self.steps):
                if old.setting == step.setting and old.op == "set":
                    if correcting:
                        self.steps[index] = step
                    return
        self.steps.append(step)


def _step(setting: str, op: str, value: Any = None) -> Step:
    """A step from words the lexicon names (its keys are settings and operations)."""
    return Step(cast(Setting, setting), cast(Op, op), value)


def parse(message: str) -> Plan:
    """The plan for ``message``; never raises."""
    text = read(message)
    lex = lexicon()
    reading = _Reading(boost=lex.boosted(text.text))
    # Out-of-scope requests are found in the whole message, so one that spans a connector
    # ("black and white") still rules out every clause it touches.
    out_of_scope = lex.cannot(text.text)
    for start, end in lex.clause_spans(text.text):
        topics = [t for t, s, e in out_of_scope if s < end and e > start]
        if topics:
            reading.cannot.extend(t for t in topics if t not in reading.cannot)
            continue
        clause = text.text[start:end]
        _read_clause(clause, lex.tokens(clause), text.title, reading)
        about = [s.setting for s in reading.steps if s.setting in ("duration", "volume")]
        reading.topic = about[-1] if about else reading.topic
    chat = None
    if not reading.steps and not reading.export and not reading.cannot and not reading.question:
        chat = lex.chat(text.text) if text.text else "help"
    if reading.cannot:
        reading.export = False  # "export in 4K": not the 1080p export they did not ask for
    return Plan(
        message=message,
        script=text.script,
        steps=tuple(reading.steps),
        export=reading.export,
        cannot=tuple(reading.cannot),
        question=reading.question,
        chat=chat,
    )


def _negated(tokens: Sequence[Token]) -> list[bool]:
    """For each token, whether a negation before it in the clause applies to it."""
    out: list[bool] = []
    active = False
    for token in tokens:
        if token.kind == "negation":
            active = True
        elif token.kind == "contrast":
            active = False
        out.append(active)
    return out


def _read_clause(clause: str, tokens: list[Token], title: str | None, r: _Reading) -> None:
    negated = _negated(tokens)
    kinds = {t.kind for t in tokens}
    correcting = "contrast" in kinds
    if kinds & {"undo", "redo", "restore"}:
        count = next((int(float(t.key)) for t in tokens if t.kind in ("count", "scale")), 1)
        count = next((int(t.number or 1) for t in tokens if t.kind == "number"), count)
        op: Op = "redo" if "redo" in kinds and "undo" not in kinds else "undo"
        if "restore" in kinds and not kinds & {"undo", "redo"} - {"restore"}:
            op = "restore"
        r.steps.append(Step("history", op, max(1, min(count, 50))))
        return
    live = [t for t, n in zip(tokens, negated, strict=True) if not n]
    live_kinds = {t.kind for t in live}
    if "export" in live_kinds:
        r.export = True
    removing = "remove" in live_kinds
    adding = "add" in kinds
    nouns = [t for t in tokens if t.kind == "noun"]
    noun_keys = {t.key for t in nouns}
    values = [(t, n) for t, n in zip(tokens, negated, strict=True) if t.kind == "value"]
    has_motion = any(t.key.startswith("motion=") and not n for t, n in values)

    if TITLE in clause and title:
        if removing and "title" in noun_keys:
            r.add(Step("title", "remove"), correcting=correcting)
        else:
            r.add(Step("title", "set", title), correcting=correcting)

    if "alternative" in live_kinds:
        offered = [t.key.split("=")[0] for t, n in values if not n]
        torn = next((s for s in dict.fromkeys(offered) if offered.count(s) > 1), None)
        if torn is not None:  # "bounce or wobble?": ask, do not guess
            r.question = r.question or f"which_{torn}"
            values = [(t, n) for t, n in values if not t.key.startswith(f"{torn}=")]
    intensity_set = False
    for token, neg in values:
        setting, value = token.key.split("=", 1)
        if setting == "loop":
            on = value == "on"
            if neg or (removing and not adding):
                on = not on
            r.add(Step("loop", "set", on), correcting=correcting)
        elif neg:
            r.add(_step(setting, "keep", value), correcting=False)
        elif setting == "intensity" and noun_keys & {"music", "volume"} and not has_motion:
            volume_up = value == "strong"
            r.add(Step("volume", "increase" if volume_up else "decrease"), correcting=correcting)
            intensity_set = True
        else:
            r.add(_step(setting, "set", value), correcting=correcting)
            intensity_set = intensity_set or setting == "intensity"
    if "animate" in live_kinds and not has_motion:
        r.add(Step("motion", "set", None), correcting=False)
        has_motion = True

    consumed = _numbers_and_scales(tokens, negated, noun_keys, r, correcting=correcting)
    directions = [
        (t, n)
        for t, n in zip(tokens, negated, strict=True)
        if t.kind in ("increase", "decrease") and id(t) not in consumed
    ]
    for token, neg in directions:
        if neg:
            continue
        if token.key != "any":  # "longer" is the length whatever it is next to
            setting = token.key
        elif (near := _nearest_noun(token, nouns)) is not None:
            setting = near
        elif r.topic is not None:  # "music's too loud, lower it"
            setting = r.topic
            last = r.steps[-1] if r.steps else None
            if last is not None and (last.setting, last.op) == (setting, token.kind):
                continue  # the clause before already said it
        else:
            setting = "intensity"
        r.add(_step(setting, token.kind), correcting=correcting)
        intensity_set = intensity_set or setting == "intensity"

    if has_motion and not intensity_set:
        if r.boost or "boost" in live_kinds:
            r.add(Step("intensity", "set", "strong"), correcting=correcting)
        elif "soften" in live_kinds and "value" in live_kinds:
            r.add(Step("intensity", "set", "subtle"), correcting=False)

    _nouns(tokens, negated, noun_keys, title, clause, r, correcting=correcting, consumed=consumed)

    asked_about = [t for t in live if t.kind == "noun"]
    if not (live_kinds - {"contrast", "soften", "set", "keep", "target", "by", "noun"}) and (
        "set" in live_kinds and asked_about and not values and TITLE not in clause
    ):
        r.question = r.question or f"which_{asked_about[0].key}"


def _nearest_noun(token: Token, nouns: Sequence[Token]) -> str | None:
    """The setting named closest to ``token`` that a direction can move."""
    movable = [n for n in nouns if n.key in _NOUN_TARGET]
    if not movable:
        return None
    nearest = min(movable, key=lambda n: abs(n.start - token.start))
    return _NOUN_TARGET[nearest.key]


def _numbers_and_scales(
    tokens: Sequence[Token],
    negated: Sequence[bool],
    noun_keys: set[str],
    r: _Reading,
    *,
    correcting: bool,
) -> set[int]:
    """Steps for the numbers and factors of a clause; the ids of the directions they used."""
    consumed: set[int] = set()
    directions = [t for t in tokens if t.kind in ("increase", "decrease")]
    for index, token in enumerate(tokens):
        neg = negated[index]
        if token.kind == "scale":
            scaled = "volume" if noun_keys & {"volume", "music"} else "duration"
            if not neg:
                r.add(_step(scaled, "scale", float(token.key)), correcting=correcting)
            consumed.update(id(d) for d in directions)
            continue
        if token.kind != "number" or token.number is None:
            continue
        setting = {"seconds": "duration", "percent": "volume"}.get(token.key)
        if setting is None:
            if "duration" in noun_keys:
                setting = "duration"
            elif noun_keys & {"volume", "music"}:
                setting = "volume"
            else:
                setting = r.number_setting
        if setting is None:
            continue
        r.number_setting = setting
        if neg:
            r.add(_step(setting, "keep", token.number), correcting=False)
            continue
        # "lengthen *to* 8 seconds": a target between a direction and the number makes the
        # number the new value, and the direction is spent on it.
        targets = [t.start for t in tokens[:index] if t.kind == "target"]
        aimed = [d for d in directions if targets and targets[-1] > d.start]
        consumed.update(id(d) for d in aimed)
        direction = next((d for d in directions if d not in aimed), None)
        previous = tokens[index - 1].kind if index else None
        following = tokens[index + 1].kind if index + 1 < len(tokens) else None
        if direction is None and previous == "add" and setting == "duration":
            r.add(Step("duration", "increase", token.number), correcting=correcting)  # "add 2s"
        elif direction is None and following == "by" and setting == "duration":
            r.add(Step("duration", "decrease", token.number), correcting=correcting)  # "2s off"
        elif direction is not None:
            consumed.add(id(direction))
            r.add(_step(setting, direction.kind, token.number), correcting=correcting)
        else:
            r.add(_step(setting, "set", token.number), correcting=correcting)
    return consumed


def _nouns(
    tokens: Sequence[Token],
    negated: Sequence[bool],
    noun_keys: set[str],
    title: str | None,
    clause: str,
    r: _Reading,
    *,
    correcting: bool,
    consumed: set[int],
) -> None:
    """Music and title named without a value: add, remove, keep, or ask."""
    kinds = {t.kind for t in tokens}
    live_remove = any(t.kind == "remove" and not n for t, n in zip(tokens, negated, strict=True))
    add_negated = any(t.kind == "add" and n for t, n in zip(tokens, negated, strict=True))
    volume_said = any(s.setting == "volume" for s in r.steps)
    setting_only = "set" in kinds  # "change the music": which change is asked below
    for token, neg in zip(tokens, negated, strict=True):
        if token.kind != "noun" or token.key not in ("music", "title"):
            continue
        if token.key == "title" and TITLE in clause and title:
            continue
        if live_remove or (neg and not add_negated and "add" not in kinds):
            r.add(_step(token.key, "remove"), correcting=correcting)
        elif neg or add_negated:
            r.add(_step(token.key, "keep"), correcting=False)
        elif token.key == "music" and not volume_said and not (setting_only and "add" not in kinds):
            r.add(Step("music", "set", True), correcting=correcting)
        elif token.key == "title" and "add" in kinds:
            r.question = r.question or "title_text"
        break
