"""A plan run on a draft: relative steps resolved, tool calls made, the edit history kept.

The steps are first resolved into the look they ask for (a :class:`Look`, what a creator
sees), starting from the draft's; then one tool call is made per setting that really
changes, through the draft module. Before a turn that changes anything, the draft is saved on
the session's undo stack, so undo (and redo) restore it exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from skill.local.server import draft as drafts
from skill.local.server.director._parse import Plan, Step

__all__ = ["Edit", "Editable", "Look", "Outcome", "Workspace", "execute", "look_of"]

_LEVELS = ("subtle", "medium", "strong")
_VOLUME_STEP = 15
_HISTORY_LIMIT = 50
_MIN_S, _MAX_S = drafts.MIN_MS / 1000, drafts.MAX_MS / 1000


@dataclass(frozen=True)
class Edit:
    """One tool call of a turn: ``name`` is the function, ``args`` its arguments."""

    name: str
    args: dict[str, Any]


class Editable(Protocol):
    """What a turn edits: the session's draft, its pending style and its history."""

    draft: dict[str, Any]
    style: dict[str, Any]
    undo: list[dict[str, Any]]
    redo: list[dict[str, Any]]


@dataclass
class Workspace:
    """A draft with its edit history outside a server session: for scripts, tests and
    benchmarks that plan and run turns without a backend."""

    draft: dict[str, Any]
    style: dict[str, Any] = field(default_factory=dict)
    undo: list[dict[str, Any]] = field(default_factory=list)
    redo: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def with_photo(
        cls, seconds: float = 5.0, *, name: str = "cat.jpg", photo: bool = True
    ) -> Workspace:
        """A new draft of ``seconds``, with a photo called ``name`` on it unless ``photo`` is
        false."""
        draft = drafts.new_draft(seconds)
        if photo:
            src = f"http://cdn.test/{name}"
            drafts.place_photo(draft, name=name, src=src, media_id="m_1", style={})
        return cls(draft)


@dataclass(frozen=True)
class Look:
    """A draft as a creator sees it."""

    photo: str | None
    motion: str
    intensity: str
    loop: bool
    duration: float
    aspect: str
    title: str | None
    music: bool
    volume: int


def look_of(draft: Mapping[str, Any], style: Mapping[str, Any]) -> Look:
    """The look of ``draft`` (with ``style``, the motion noted before a photo arrived)."""
    settings = drafts.read_settings(draft)
    segment = drafts.video_segment(draft)
    meta = {
        **drafts.DEFAULT_STYLE,
        **(style if segment is None else {}),
        **((segment or {}).get("m") or {}),
    }
    music = drafts.bgm_segment(draft)
    return Look(
        photo=str(meta.get("name")) if segment is not None else None,
        motion=str(meta.get("motion") or settings.motion),
        intensity=str(meta.get("intensity") or settings.intensity),
        loop=bool(meta.get("loop", True)),
        duration=settings.duration,
        aspect=settings.aspect,
        title=settings.title or None,
        music=music is not None,
        volume=drafts.volume_percent(music.get("m") or {}) if music else drafts.DEFAULT_VOLUME,
    )


@dataclass
class Outcome:
    """What a turn did: the tool calls and their results, the look before and after, the
    steps that kept a setting on purpose, and what happened to the history."""

    before: Look
    after: Look
    edits: list[Edit] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    history: str | None = None  # undone | redone | nothing_to_undo | nothing_to_redo
    history_steps: int = 0
    limited: str | None = None  # "longest" / "shortest": the length hit a limit

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _snapshot(target: Editable) -> dict[str, Any]:
    return {"draft": copy.deepcopy(target.draft), "style": copy.deepcopy(target.style)}


def _restore(target: Editable, snapshot: Mapping[str, Any]) -> None:
    target.draft.clear()
    target.draft.update(copy.deepcopy(snapshot["draft"]))
    target.style.clear()
    target.style.update(copy.deepcopy(snapshot["style"]))


def _travel(target: Editable, step: Step, outcome: Outcome) -> None:
    op = step.op
    if op == "restore":
        op = "redo" if target.redo else "undo"
    source, sink = (target.undo, target.redo) if op == "undo" else (target.redo, target.undo)
    moved = 0
    for _ in range(int(step.value or 1)):
        if not source:
            break
        sink.append(_snapshot(target))
        _restore(target, source.pop())
        moved += 1
    outcome.history_steps += moved
    if moved:
        outcome.history = "undone" if op == "undo" else "redone"
        outcome.edits.append(Edit(op, {"steps": moved}))
        outcome.results.append({"status": "ok", "steps": moved})
    elif outcome.history is None:
        outcome.history = "nothing_to_undo" if op == "undo" else "nothing_to_redo"


def _level(current: str, delta: int) -> str:
    index = _LEVELS.index(current) if current in _LEVELS else 0
    return _LEVELS[max(0, min(len(_LEVELS) - 1, index + delta))]


def _resolve(look: Look, step: Step, outcome: Outcome) -> Look:
    """The look after one step."""
    s, op, value = step.setting, step.op, step.value
    if op == "keep":
        outcome.kept.append(s)
        return look
    if s == "motion":
        return replace(look, motion=str(value)) if value else look
    if s == "intensity":
        if op == "set":
            return replace(look, intensity=str(value))
        return replace(look, intensity=_level(look.intensity, 1 if op == "increase" else -1))
    if s == "loop":
        return replace(look, loop=bool(value))
    if s == "aspect":
        return replace(look, aspect=str(value))
    if s == "title":
        return replace(look, title=None if op == "remove" else str(value))
    if s == "music":
        return replace(look, music=op != "remove")
    if s == "duration":
        seconds = _changed(
            look.duration, op, value, default_step=max(1.0, round(look.duration / 4))
        )
        bounded = max(_MIN_S, min(_MAX_S, round(seconds, 2)))
        if bounded != seconds:
            outcome.limited = "longest" if seconds > bounded else "shortest"
        return replace(look, duration=bounded)
    if s == "volume":
        volume = _changed(look.volume, op, value, default_step=_VOLUME_STEP) if look.music else (
            _changed(drafts.DEFAULT_VOLUME, op, value, default_step=_VOLUME_STEP)
        )  # fmt: skip
        return replace(look, music=True, volume=int(max(0, min(100, round(volume)))))
    return look


def _changed(current: float, op: str, value: Any, *, default_step: float) -> float:
    amount = float(value) if value is not None else default_step
    if op == "set":
        return amount
    if op == "increase":
        return current + amount
    if op == "decrease":
        return current - amount
    if op == "scale":
        return current * amount
    return current


def _calls(before: Look, after: Look, audio: tuple[str, str] | None) -> list[Edit]:
    """One tool call per setting that changes, in the order an editor would make them."""
    calls: list[Edit] = []
    if (before.motion, before.intensity, before.loop) != (
        after.motion,
        after.intensity,
        after.loop,
    ):
        motion = {"motion": after.motion, "intensity": after.intensity, "loop": after.loop}
        calls.append(Edit("apply_motion", motion))
    if before.duration != after.duration:
        calls.append(Edit("set_duration", {"seconds": after.duration}))
    if before.aspect != after.aspect:
        calls.append(Edit("set_aspect_ratio", {"aspect": after.aspect}))
    if before.title != after.title:
        calls.append(
            Edit("remove_title", {})
            if after.title is None
            else Edit("set_title", {"text": after.title})
        )
    if before.music and not after.music:
        calls.append(Edit("remove_bgm", {}))
    elif after.music and not before.music:
        args: dict[str, Any] = {"volume": after.volume}
        args.update(
            {"media_id": audio[0], "name": audio[1]} if audio else {"name": drafts.BGM_NAME}
        )
        calls.append(Edit("add_bgm", args))
    elif after.music and before.volume != after.volume:
        calls.append(Edit("set_bgm_volume", {"volume": after.volume}))
    return calls


def execute(plan: Plan, target: Editable, *, audio: tuple[str, str] | None = None) -> Outcome:
    """Run ``plan`` on ``target`` in place. ``audio`` is the (media id, name) of the newest
    uploaded sound, used when the plan adds music."""
    before = look_of(target.draft, target.style)
    outcome = Outcome(before=before, after=before)
    look = before
    for step in plan.steps:
        if step.setting == "history":
            _travel(target, step, outcome)
            look = look_of(target.draft, target.style)
        else:
            look = _resolve(look, step, outcome)
    now = look_of(target.draft, target.style)
    calls = _calls(now, look, audio)
    if calls:
        target.undo.append(_snapshot(target))
        del target.undo[:-_HISTORY_LIMIT]
        target.redo.clear()
    for call in calls:
        outcome.edits.append(call)
        outcome.results.append(drafts.apply_edit(target.draft, target.style, call.name, call.args))
    outcome.after = look_of(target.draft, target.style)
    return outcome
