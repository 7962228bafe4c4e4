"""What the director says: built from the look before and after a turn, in the user's script.

A change is named only when the draft really changed; a turn that changed nothing says what
the draft already is. Templates live in replies.yaml (en, zh-Hans, zh-Hant).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from skill._data import load_yaml
from skill.local.server import draft as drafts
from skill.local.server.director._execute import Look, Outcome
from skill.local.server.director._parse import Plan

__all__ = ["Replies"]

_MESSAGE_ECHO_MAX = 60
_FIELDS = ("motion", "duration", "aspect", "title", "music")


def _seconds(value: float) -> str:
    return f"{value:g}"


class Replies:
    """The reply texts of one language and script (``en``, ``zh-Hans`` or ``zh-Hant``)."""

    def __init__(self, lang: str) -> None:
        table = load_yaml("skill.local.server.director", "replies.yaml")
        self.lang = lang if lang in table else "en"
        self._t: Mapping[str, Any] = table[self.lang]

    def preface(self, rng: random.Random) -> str:
        return str(rng.choice(list(self._t["preface"])))

    # -- pieces --------------------------------------------------------------------------------

    def _join(self, phrases: Sequence[str]) -> str:
        sep, last = (str(x) for x in self._t["join"])
        if len(phrases) <= 1:
            return "".join(phrases)
        return sep.join(phrases[:-1]) + last + phrases[-1]

    def _motion_words(self, look: Look) -> dict[str, str]:
        t = self._t
        return {
            "motion": str(t["names"].get(look.motion, look.motion)),
            "intensity": str(t["names"].get(look.intensity, look.intensity)),
            "verb": str(t["verb"].get(look.motion, look.motion)),
            "how": str(t["how"].get(look.intensity, look.intensity)),
            "loop": str(t["loop_on"] if look.loop else t["loop_off"]),
        }

    def _states(self, look: Look, fields: Sequence[str]) -> str:
        """What ``look`` is, for the given fields."""
        s = self._t["state"]
        out: list[str] = []
        for name in fields:
            if name == "motion":
                out.append(str(s["motion"]).format(**self._motion_words(look)))
            elif name == "duration":
                out.append(str(s["duration"]).format(seconds=_seconds(look.duration)))
            elif name == "aspect":
                out.append(str(s["aspect"]).format(aspect=look.aspect))
            elif name == "title":
                out.append(
                    str(s["title"]).format(text=look.title) if look.title else str(s["no_title"])
                )
            elif name == "music":
                out.append(
                    str(s["music"]).format(volume=look.volume) if look.music else str(s["no_music"])
                )
        return self._join(out)

    def _differs(self, before: Look, after: Look) -> list[str]:
        """The fields (as the reply names them) in which ``after`` differs from ``before``."""
        fields: list[str] = []
        if (before.motion, before.intensity, before.loop) != (
            after.motion,
            after.intensity,
            after.loop,
        ):
            fields.append("motion")
        for name in ("duration", "aspect", "title"):
            if getattr(before, name) != getattr(after, name):
                fields.append(name)
        if (before.music, before.volume if before.music else None) != (
            after.music,
            after.volume if after.music else None,
        ):
            fields.append("music")
        return fields

    def _changes(self, before: Look, after: Look, outcome: Outcome) -> list[str]:
        c = self._t["change"]
        phrases: list[str] = []
        for name in self._differs(before, after):
            if name == "motion":
                key = "motion" if after.photo else "pending_motion"
                phrases.append(str(c[key]).format(**self._motion_words(after)))
            elif name == "duration":
                key = f"duration_{outcome.limited}" if outcome.limited else "duration"
                phrases.append(
                    str(c[key]).format(
                        seconds=_seconds(after.duration), old=_seconds(before.duration)
                    )
                )
            elif name == "aspect":
                size = drafts.canvas(after.aspect)
                phrases.append(str(c["aspect"]).format(aspect=after.aspect, **size))
            elif name == "title":
                key = "title_removed" if after.title is None else (
                    "title_changed" if before.title else "title_added"
                )  # fmt: skip
                phrases.append(str(c[key]).format(text=after.title or ""))
            elif name == "music":
                if not after.music:
                    phrases.append(str(c["music_removed"]))
                elif not before.music:
                    phrases.append(
                        str(c["music_added"]).format(name=drafts.BGM_NAME, volume=after.volume)
                    )
                else:
                    phrases.append(str(c["volume"]).format(volume=after.volume, old=before.volume))
        return phrases

    def _kept(self, outcome: Outcome) -> str:
        """What was left alone on purpose, unless another part of the message changed it
        ("not bounce, wobble" changes the motion: nothing to say about keeping it)."""
        changed = _reply_fields(self._differs(outcome.before, outcome.after))
        if "motion" in changed:
            changed |= {"intensity", "loop"}
        kept = [k for k in dict.fromkeys(outcome.kept) if k not in changed]
        if not kept:
            return ""
        names = self._t["kept_names"]
        things = self._join([str(names[k]) for k in kept if k in names])
        they = self._t["kept_one"] if len(kept) == 1 else self._t["kept_many"]
        return str(self._t["kept"]).format(things=things, they_were=they)

    # -- whole replies --------------------------------------------------------------------------

    def edit(self, plan: Plan, outcome: Outcome) -> str:
        """The closing text of a turn that ran steps."""
        t = self._t
        after = outcome.after
        tail = str(t["next"] if after.photo else t["no_photo"])
        if outcome.history is not None:
            return self._history(outcome) + (tail if outcome.changed else "")
        if outcome.changed:
            text = str(t["done"]).format(
                changes=self._join(self._changes(outcome.before, after, outcome))
            )
            return text + self._kept(outcome) + tail
        asked = {s.setting for s in plan.steps if s.op != "keep"}
        if asked & {"motion", "intensity", "loop"} and after.photo:
            # The first instruction after an upload usually asks for what the photo already
            # does: say what it does now, which is what was asked.
            return str(t["first"]).format(**self._motion_words(after)) + self._kept(outcome) + tail
        if outcome.limited and "duration" in asked:
            key = f"already_{outcome.limited}"
            return str(t[key]).format(seconds=_seconds(after.duration)) + self._kept(outcome)
        fields = [f for f in _FIELDS if f in _reply_fields(asked)] or list(_FIELDS)
        if not asked:
            return self._kept(outcome).strip() + tail
        return str(t["already"]).format(states=self._states(after, fields)) + self._kept(outcome)

    def _history(self, outcome: Outcome) -> str:
        t = self._t
        if outcome.history in ("nothing_to_undo", "nothing_to_redo"):
            return str(t[outcome.history])
        fields = self._differs(outcome.before, outcome.after)
        if not fields:
            return str(t["undo_no_change"])
        states = self._states(outcome.after, fields)
        if outcome.history == "redone":
            return str(t["redone"]).format(states=states)
        key = "undone_many" if outcome.history_steps > 1 else "undone"
        return str(t[key]).format(states=states, count=outcome.history_steps)

    def answer(self, plan: Plan, look: Look) -> str:
        """The reply to a turn that runs no steps."""
        t = self._t
        kind = plan.kind
        if kind == "cannot":
            topics = t["cannot_topics"]
            parts = [str(t["cannot"]).format(**topics[c]) for c in plan.cannot if c in topics]
            return str(t["cannot_join"]).join(parts)
        if kind == "export":
            return str(t["export"] if look.photo else t["export_no_photo"])
        if kind == "question":
            return str(t["question"].get(plan.question, t["help"]))
        if kind == "chat":
            return self._chat(str(plan.chat), look)
        echo = plan.message.strip().replace("\n", " ")
        if len(echo) > _MESSAGE_ECHO_MAX:
            echo = echo[: _MESSAGE_ECHO_MAX - 1] + "…"
        return str(t["unknown"]).format(message=echo) + str(t["help"])

    def _chat(self, kind: str, look: Look) -> str:
        t = self._t
        if kind == "greeting":
            return str(t["greeting_photo"] if look.photo else t["greeting"]).format(
                name=look.photo or ""
            )
        if kind == "status":
            if not look.photo:
                return str(t["status_no_photo"])
            return str(t["status"]).format(states=self._states(look, _FIELDS))
        return str(t.get(kind, t["help"]))

    def asked_too(self, plan: Plan) -> str:
        """Said after an edit turn whose message also left a choice open ("jiggle or bounce")."""
        if not plan.question:
            return ""
        return str(self._t["cannot_join"]) + str(self._t["question"].get(plan.question, ""))

    def cannot_too(self, plan: Plan) -> str:
        """Said after an edit turn whose message also asked for something out of scope."""
        if not plan.cannot:
            return ""
        topics = self._t["cannot_topics"]
        parts = [str(self._t["cannot"]).format(**topics[c]) for c in plan.cannot if c in topics]
        return str(self._t["cannot_join"]) + str(self._t["cannot_join"]).join(parts)


def _reply_fields(asked: Iterable[str]) -> set[str]:
    fields = set(asked)
    if fields & {"intensity", "loop"}:
        fields.add("motion")
    if "volume" in asked:
        fields.add("music")
    return fields
