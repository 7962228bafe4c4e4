"""The local director: turns a chat message into draft edits and a reply, by a rule table.

The table (``director.yaml``) holds every keyword pattern and every reply template in English
and Chinese; this module only applies it. The director is deterministic: the same message on
the same draft gives the same plan, and the reply wording varies by a seeded choice.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from skill._data import load_yaml
from skill.local.server import draft as drafts

__all__ = ["Director", "Edit", "TurnPlan"]

Kind = Literal["edit", "export", "status", "help", "greeting", "unknown"]
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_LEVELS = ("subtle", "medium", "strong")
_MESSAGE_ECHO_MAX = 60


@dataclass(frozen=True)
class Edit:
    """One tool call of a turn: ``name`` is the function, ``args`` its arguments."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class TurnPlan:
    """What the director will do with a message."""

    kind: Kind
    lang: str
    message: str
    edits: tuple[Edit, ...] = field(default_factory=tuple)


def _rules() -> Mapping[str, Any]:
    return load_yaml("skill.local.server", "director.yaml")


@functools.cache
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _first(patterns: Sequence[str], text: str) -> re.Match[str] | None:
    """The earliest match of any pattern in ``text``."""
    best: re.Match[str] | None = None
    for pattern in patterns:
        match = _compile(pattern).search(text)
        if match is not None and (best is None or match.start() < best.start()):
            best = match
    return best


def _choose(table: Mapping[Any, Sequence[str]], text: str) -> str | None:
    """The key of ``table`` whose patterns match earliest in ``text``."""
    best: tuple[int, str] | None = None
    for key, patterns in table.items():
        match = _first(patterns, text)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), str(key))
    return best[1] if best else None


class Director:
    """Plans chat turns and writes the replies, from the rule table."""

    def __init__(self, rules: Mapping[str, Any] | None = None) -> None:
        self._r = rules if rules is not None else _rules()

    # -- understanding ----------------------------------------------------------------------

    def language(self, message: str, session_lang: str) -> str:
        """Chinese when the message has Chinese characters, English when it has Latin letters,
        else the session's language."""
        if _CJK.search(message):
            return "zh"
        if _LATIN.search(message):
            return "en"
        return "zh" if session_lang.lower().startswith("zh") else "en"

    def _number(self, raw: str) -> float | None:
        try:
            return float(raw)
        except ValueError:
            pass
        digits: Mapping[str, int] = self._r["chinese_digits"]
        if not raw or any(ch not in digits for ch in raw):
            return None
        if "十" not in raw:
            return float(digits[raw[-1]])
        tens, _, ones = raw.partition("十")
        return float((digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0))

    def _seconds(self, patterns: Sequence[str], text: str) -> float | None:
        match = _first(patterns, text)
        return self._number(match.group(1)) if match else None

    def plan(
        self,
        message: str,
        *,
        session_lang: str = "en",
        draft: Mapping[str, Any] | None = None,
        style: Mapping[str, Any] | None = None,
        audio: tuple[str, str] | None = None,
    ) -> TurnPlan:
        """The edits ``message`` asks for on ``draft``. ``style`` is the motion noted before a
        photo arrived; ``audio`` the (media id, file name) of the newest uploaded sound."""
        r = self._r
        lang = self.language(message, session_lang)
        draft = draft or {}
        text = message.strip()
        edits: list[Edit] = []

        # Quoted text is the title; take it out so its words are not read as instructions.
        title_match = _first(r["title"], text)
        rest = text
        if title_match is not None:
            rest = text[: title_match.start()] + " " + text[title_match.end() :]

        music = _first(r["bgm"]["words"] + r["bgm"]["louder"] + r["bgm"]["quieter"], rest)
        edits.extend(self._motion_edit(rest, draft, style or {}, about_music=music is not None))
        edits.extend(self._length_edit(rest))
        aspect = _choose(r["aspect"], rest)
        if aspect is not None:
            edits.append(Edit("set_aspect_ratio", {"aspect": aspect}))
        if _first(r["remove_title"], rest):
            edits.append(Edit("remove_title", {}))
        elif title_match is not None and title_match.group(1).strip():
            edits.append(Edit("set_title", {"text": title_match.group(1).strip()}))
        if music is not None:
            edits.extend(self._music_edit(rest, draft, audio))

        if edits:
            return TurnPlan("edit", lang, message, tuple(edits))
        kind: Kind = "unknown"
        for name in ("export", "status", "greeting", "help"):
            if _first(r[name], text):
                kind = name
                break
        if not text:
            kind = "help"
        return TurnPlan(kind, lang, message)

    def _motion_edit(
        self, text: str, draft: Mapping[str, Any], style: Mapping[str, Any], *, about_music: bool
    ) -> list[Edit]:
        r = self._r
        motion = _choose(r["motion"], text)
        intensity = _choose(r["intensity"], text)
        loop_key = _choose(r["loop"], text)
        segment = drafts.video_segment(draft)
        current = {**drafts.DEFAULT_STYLE, **style, **((segment or {}).get("m") or {})}
        step = None if intensity is not None or about_music else _choose(r["intensity_step"], text)
        animate = _first(r["animate"], text) is not None
        nothing = motion is None and intensity is None and loop_key is None and step is None
        if nothing and not animate:
            return []
        if step is not None:
            level = _LEVELS.index(current["intensity"]) if current["intensity"] in _LEVELS else 0
            intensity = _LEVELS[max(0, min(2, level + (1 if step == "up" else -1)))]
        loop = current["loop"] if loop_key is None else loop_key == "true"
        args = {
            "motion": motion or current["motion"],
            "intensity": intensity or current["intensity"],
            "loop": bool(loop),
        }
        return [Edit("apply_motion", args)]

    def _length_edit(self, text: str) -> list[Edit]:
        r = self._r
        seconds = self._seconds(r["duration"], text)
        if _first(r["trim"]["keywords"], text):
            by = self._seconds(r["trim"]["by"], text)
            if by is not None:
                return [Edit("trim", {"by_seconds": by})]
            if seconds is not None:
                return [Edit("trim", {"seconds": seconds})]
        if seconds is not None:
            return [Edit("set_duration", {"seconds": seconds})]
        return []

    def _music_edit(
        self, text: str, draft: Mapping[str, Any], audio: tuple[str, str] | None
    ) -> list[Edit]:
        bgm = self._r["bgm"]
        if _first(bgm["remove"], text):
            return [Edit("remove_bgm", {})]
        volume_match = _first(bgm["volume"], text)
        volume = int(volume_match.group(1)) if volume_match else None
        music = drafts.bgm_segment(draft)
        current = drafts.volume_percent(music.get("m") or {}) if music else drafts.DEFAULT_VOLUME
        if volume is None and _first(bgm["louder"], text):
            volume = min(100, current + int(bgm["volume_step"]))
        elif volume is None and _first(bgm["quieter"], text):
            volume = max(0, current - int(bgm["volume_step"]))
        if music is not None and volume is not None:
            return [Edit("set_bgm_volume", {"volume": volume})]
        args: dict[str, Any] = {"volume": volume if volume is not None else current}
        if audio is not None:
            args.update(media_id=audio[0], name=audio[1])
        else:
            args["name"] = drafts.BGM_NAME
        return [Edit("add_bgm", args)]

    # -- speaking ---------------------------------------------------------------------------

    def preface(self, lang: str, rng: random.Random) -> str:
        """The first words of an edit turn, before the tools run."""
        options: Sequence[str] = self._r["replies"][lang]["preface"]
        return str(rng.choice(list(options)))

    def _phrase(self, lang: str, edit: Edit, result: Mapping[str, Any]) -> str:
        t = self._r["replies"][lang]
        names = self._r["names"][lang]
        if edit.name == "apply_motion":
            key = "pending_motion" if result.get("status") == "pending" else "apply_motion"
            loop = t["loop_on"] if edit.args.get("loop", True) else t["loop_off"]
            return str(t[key]).format(
                motion=names[edit.args["motion"]],
                intensity=names[edit.args["intensity"]],
                loop=loop,
            )
        fields = {**edit.args, **result}
        if "duration_ms" in result:
            fields["seconds"] = f"{result['duration_ms'] / 1000:g}"
        return str(t[edit.name]).format_map(fields)

    def _join(self, lang: str, phrases: Sequence[str]) -> str:
        sep, last = (str(x) for x in self._r["replies"][lang]["join"])
        if len(phrases) <= 1:
            return "".join(phrases)
        return sep.join(phrases[:-1]) + last + phrases[-1]

    def done(self, plan: TurnPlan, results: Sequence[Mapping[str, Any]], *, has_photo: bool) -> str:
        """The closing text of an edit turn: what changed, then the next step in GUI terms."""
        t = self._r["replies"][plan.lang]
        phrases = [
            self._phrase(plan.lang, e, res) for e, res in zip(plan.edits, results, strict=True)
        ]
        text = str(t["done"]).format(changes=self._join(plan.lang, phrases))
        return text + (t["no_photo"] if not has_photo else "")

    def answer(self, plan: TurnPlan, *, draft: Mapping[str, Any], photo: str | None) -> str:
        """The reply to a turn that edits nothing."""
        t = self._r["replies"][plan.lang]
        if plan.kind == "export":
            return str(t["export"] if photo else t["export_no_photo"])
        if plan.kind == "status":
            return str(t["status"]).format(summary=drafts.summary(draft))
        if plan.kind == "greeting":
            return str(t["greeting_photo"] if photo else t["greeting"]).format(name=photo or "")
        if plan.kind == "help":
            return str(t["help"])
        echo = plan.message.strip().replace("\n", " ")
        if len(echo) > _MESSAGE_ECHO_MAX:
            echo = echo[: _MESSAGE_ECHO_MAX - 1] + "…"
        return str(t["unknown"]).format(message=echo) + str(t["help"])
