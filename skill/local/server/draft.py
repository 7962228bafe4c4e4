"""The session's draft JSON (docs/design.md): built, edited, summarised and read for a render.

Short keys: ``t`` tracks, ``tt`` track type (0 video, 1 audio, 7 text), ``sg`` segments, ``st``
start in ms, ``d`` duration in ms, ``m`` metadata. Readers are liberal (a draft sent back by a
client may say ``start``/``s``/``duration``, give a volume as a fraction, or omit keys).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = [
    "ASPECTS",
    "BGM_NAME",
    "TITLE_MS",
    "RenderSettings",
    "apply_edit",
    "bgm_segment",
    "canvas",
    "check_draft",
    "media_refs",
    "new_draft",
    "place_photo",
    "read_settings",
    "summary",
    "video_segment",
    "volume_percent",
]

VIDEO, AUDIO, TEXT = 0, 1, 7
ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}
MOTIONS = ("jiggle", "bounce", "wobble", "jelly")
INTENSITIES = ("subtle", "medium", "strong")
TITLE_MS = 3000
BGM_NAME = "Lo-fi"
MIN_MS, MAX_MS = 1000, 60000
DEFAULT_VOLUME = 35
DEFAULT_STYLE: dict[str, Any] = {"motion": "jiggle", "intensity": "subtle", "loop": True}
MAX_TITLE_CHARS = 200
# No number in a draft means anything past this (ms, pixels, percent, fps): larger is an error.
MAX_NUMBER = 1e9


def canvas(aspect: str) -> dict[str, int]:
    width, height = ASPECTS.get(aspect, ASPECTS["9:16"])
    return {"width": width, "height": height}


def new_draft(duration_s: float) -> dict[str, Any]:
    """An empty 9:16 draft of ``duration_s`` seconds."""
    return {
        "t": [],
        "d": round(duration_s * 1000),
        "m": {**canvas("9:16"), "aspect": "9:16", "fps": 30},
    }


def _track(draft: Mapping[str, Any], kind: int) -> dict[str, Any] | None:
    for track in draft.get("t") or []:
        if isinstance(track, dict) and track.get("tt") == kind:
            return track
    return None


def _segments(draft: Mapping[str, Any], kind: int) -> list[dict[str, Any]]:
    track = _track(draft, kind)
    return [s for s in track.get("sg") or [] if isinstance(s, dict)] if track else []


def _next_segment_id(draft: dict[str, Any]) -> str:
    taken = {str(s.get("id")) for kind in (VIDEO, AUDIO, TEXT) for s in _segments(draft, kind)}
    n = 1
    while f"seg_{n}" in taken:
        n += 1
    return f"seg_{n}"


def _set_single_segment(draft: dict[str, Any], kind: int, d: int, meta: dict[str, Any]) -> None:
    track = _track(draft, kind)
    if track is None:
        track = {"tt": kind, "sg": []}
        draft.setdefault("t", []).append(track)
        draft["t"].sort(key=lambda t: (VIDEO, AUDIO, TEXT).index(t.get("tt", VIDEO)))
    old = track["sg"][0] if track.get("sg") else None
    seg_id = old["id"] if isinstance(old, dict) and "id" in old else _next_segment_id(draft)
    track["sg"] = [{"id": seg_id, "st": 0, "d": d, "m": meta}]


def _remove_track(draft: dict[str, Any], kind: int) -> bool:
    before = len(draft.get("t") or [])
    draft["t"] = [
        t for t in draft.get("t") or [] if not (isinstance(t, dict) and t.get("tt") == kind)
    ]
    return len(draft["t"]) != before


def video_segment(draft: Mapping[str, Any]) -> dict[str, Any] | None:
    segments = _segments(draft, VIDEO)
    return segments[0] if segments else None


def bgm_segment(draft: Mapping[str, Any]) -> dict[str, Any] | None:
    segments = _segments(draft, AUDIO)
    return segments[0] if segments else None


def place_photo(
    draft: dict[str, Any], *, name: str, src: str, media_id: str, style: Mapping[str, Any]
) -> None:
    """Make the photo the video track's one segment (the newest upload is the active photo),
    keeping the motion of the photo it replaces."""
    old = video_segment(draft)
    motion = {
        **DEFAULT_STYLE,
        **({k: old["m"][k] for k in DEFAULT_STYLE if k in old.get("m", {})} if old else {}),
        **style,
    }
    _set_single_segment(
        draft,
        VIDEO,
        int(draft.get("d") or 5000),
        {"name": name, "src": src, "media_id": media_id, **motion},
    )


def _usable(value: Any) -> TypeGuard[int | float]:
    """A finite number of a sane size (not a bool, not 1e300, not NaN)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_NUMBER
    )


def _duration_ms(draft: Mapping[str, Any]) -> int:
    value = draft.get("d")
    if _usable(value) and value > 0:
        return int(value)
    segment = video_segment(draft)
    if segment is not None:
        value = segment.get("d", segment.get("duration"))
        if _usable(value) and value > 0:
            return int(value)
    return 5000


def _set_duration(draft: dict[str, Any], ms: int) -> int:
    ms = max(MIN_MS, min(MAX_MS, ms))
    draft["d"] = ms
    for kind in (VIDEO, AUDIO):
        for segment in _segments(draft, kind):
            segment["st"] = 0
            segment["d"] = ms
    for segment in _segments(draft, TEXT):
        segment["d"] = min(TITLE_MS, ms)
    return ms


def apply_edit(
    draft: dict[str, Any], style: dict[str, Any], action: str, args: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply one edit to ``draft`` in place; the result is the tool's response.

    ``style`` holds the motion chosen while there is no photo yet.
    """
    if action == "apply_motion":
        changes = {k: args[k] for k in DEFAULT_STYLE if k in args}
        segment = video_segment(draft)
        if segment is None:
            style.update(changes)
            return {"status": "pending", "detail": "no photo yet; applied on upload", **changes}
        segment.setdefault("m", {}).update(changes)
        return {"status": "ok", "segment": segment.get("id"), **changes}
    if action in ("set_duration", "trim"):
        if "by_seconds" in args:
            target = _duration_ms(draft) - round(float(args["by_seconds"]) * 1000)
        else:
            target = round(float(args["seconds"]) * 1000)
        ms = _set_duration(draft, target)
        return {"status": "ok", "duration_ms": ms}
    if action == "set_aspect_ratio":
        aspect = str(args["aspect"])
        draft.setdefault("m", {}).update({**canvas(aspect), "aspect": aspect})
        return {"status": "ok", "aspect": aspect, **canvas(aspect)}
    if action == "set_title":
        text = str(args["text"])[:MAX_TITLE_CHARS]
        _set_single_segment(draft, TEXT, min(TITLE_MS, _duration_ms(draft)), {"text": text})
        return {"status": "ok", "text": text}
    if action == "remove_title":
        return {"status": "ok" if _remove_track(draft, TEXT) else "unchanged"}
    if action == "add_bgm":
        meta: dict[str, Any] = {
            "name": str(args.get("name") or BGM_NAME),
            "volume": int(args.get("volume", DEFAULT_VOLUME)),
        }
        if args.get("media_id"):
            meta["media_id"] = str(args["media_id"])
        _set_single_segment(draft, AUDIO, _duration_ms(draft), meta)
        return {"status": "ok", **meta}
    if action == "remove_bgm":
        return {"status": "ok" if _remove_track(draft, AUDIO) else "unchanged"}
    if action == "set_bgm_volume":
        volume = max(0, min(100, int(args["volume"])))
        segments = _segments(draft, AUDIO)
        if not segments:
            _set_single_segment(
                draft, AUDIO, _duration_ms(draft), {"name": BGM_NAME, "volume": volume}
            )
        for segment in _segments(draft, AUDIO):
            segment.setdefault("m", {})["volume"] = volume
        return {"status": "ok", "volume": volume}
    raise ValueError(f"unknown edit {action!r}")


def _seconds(ms: float) -> str:
    return f"{ms / 1000:g}s"


def summary(draft: Mapping[str, Any]) -> str:
    """``Timeline (3 tracks): 1. Video: cat.jpg (0-5s, jiggle, subtle) 2. BGM: …``"""
    parts: list[str] = []
    labels = {VIDEO: "Video", AUDIO: "BGM", TEXT: "Title"}
    for track in draft.get("t") or []:
        if not isinstance(track, dict):
            continue
        label = labels.get(track.get("tt", -1), "Track")
        for segment in track.get("sg") or []:
            meta = segment.get("m") or {}
            start = float(segment.get("st", segment.get("start", segment.get("s", 0))) or 0)
            span = (
                f"{_seconds(start).rstrip('s')}-{_seconds(start + float(segment.get('d', 0) or 0))}"
            )
            if label == "Video":
                extra = ", ".join(str(meta[k]) for k in ("motion", "intensity") if meta.get(k))
                text = (
                    f"{label}: {meta.get('name', 'photo')} ({span}{', ' + extra if extra else ''})"
                )
            elif label == "BGM":
                text = f"{label}: {meta.get('name', BGM_NAME)} ({span}, {volume_percent(meta)}%)"
            else:
                text = f'{label}: "{meta.get("text", "")}" ({span})'
            parts.append(f"{len(parts) + 1}. {text}")
    noun = "track" if len(parts) == 1 else "tracks"
    return f"Timeline ({len(parts)} {noun}): " + " ".join(parts) if parts else "Timeline (empty)"


def volume_percent(meta: Mapping[str, Any]) -> int:
    """A segment's volume in percent; a value of at most 1.0 is a fraction (docs/design.md)."""
    value = meta.get("volume", DEFAULT_VOLUME)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return DEFAULT_VOLUME
    percent = value * 100 if value <= 1.0 else value
    return max(0, min(100, round(percent)))


@dataclass(frozen=True)
class RenderSettings:
    """What the renderer needs from a draft."""

    media_id: str | None
    src: str | None
    motion: str
    intensity: str
    aspect: str
    duration: float
    fps: int
    title: str | None
    bgm: bool
    bgm_media_id: str | None
    bgm_volume: float  # 0.0 - 1.0


def read_settings(draft: Mapping[str, Any]) -> RenderSettings:
    """The render settings of a draft, tolerating missing keys and variant spellings."""
    meta = draft.get("m") if isinstance(draft.get("m"), dict) else {}
    assert isinstance(meta, dict)
    segment = video_segment(draft) or {}
    seg_meta = segment.get("m") if isinstance(segment.get("m"), dict) else {}
    assert isinstance(seg_meta, dict)
    aspect = str(meta.get("aspect") or "")
    if aspect not in ASPECTS:
        width, height = meta.get("width"), meta.get("height")
        aspect = "9:16"
        if _usable(width) and _usable(height) and height > 0:
            ratio = width / height
            aspect = min(ASPECTS, key=lambda a: abs(ASPECTS[a][0] / ASPECTS[a][1] - ratio))
    titles = _segments(draft, TEXT)
    title = str((titles[0].get("m") or {}).get("text") or "")[:MAX_TITLE_CHARS] if titles else ""
    audio = _segments(draft, AUDIO)
    audio_meta = (audio[0].get("m") or {}) if audio else {}
    fps = meta.get("fps")
    motion = str(seg_meta.get("motion") or "jiggle")
    intensity = str(seg_meta.get("intensity") or "subtle")
    return RenderSettings(
        media_id=str(seg_meta["media_id"]) if seg_meta.get("media_id") else None,
        src=str(seg_meta["src"]) if seg_meta.get("src") else None,
        motion=motion if motion in MOTIONS else "jiggle",
        intensity=intensity if intensity in INTENSITIES else "subtle",
        aspect=aspect,
        duration=max(MIN_MS, min(MAX_MS, _duration_ms(draft))) / 1000,
        fps=int(fps) if _usable(fps) and 1 <= fps <= 60 else 30,
        title=title or None,
        bgm=bool(audio),
        bgm_media_id=str(audio_meta["media_id"]) if audio_meta.get("media_id") else None,
        bgm_volume=volume_percent(audio_meta) / 100,
    )


def _walk(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every scalar of a JSON value, with where it sits (``t[0].sg[0].m.volume``)."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        here, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{here}.{key}" if here else str(key), v) for key, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{here}[{i}]", v) for i, v in enumerate(item))
        else:
            yield here, item


def check_draft(draft: Mapping[str, Any], *, max_title: int = MAX_TITLE_CHARS) -> str | None:
    """Why the renderer must not take this draft (a number out of range or not finite, a title
    over ``max_title`` characters), or ``None`` when it may."""
    for where, value in _walk(draft, ""):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            shown = f"{value:.3g}" if isinstance(value, float) else "a huge number"
            return f"the draft's {where} is {shown}, out of range (at most {MAX_NUMBER:g})"
    for segment in _segments(draft, TEXT):
        meta = segment.get("m")
        text = meta.get("text") if isinstance(meta, dict) else None
        if isinstance(text, str) and len(text) > max_title:
            return f"the draft's title has {len(text)} characters; at most {max_title} are allowed"
    return None


def media_refs(draft: Mapping[str, Any]) -> list[tuple[str | None, str | None]]:
    """``(media_id, src)`` of every segment that names a media file, in every track."""
    refs: list[tuple[str | None, str | None]] = []
    for track in draft.get("t") or []:
        if not isinstance(track, dict):
            continue
        for segment in track.get("sg") or []:
            meta = segment.get("m") if isinstance(segment, dict) else None
            if not isinstance(meta, dict):
                continue
            media_id, src = meta.get("media_id"), meta.get("src")
            if media_id or src:
                refs.append((str(media_id) if media_id else None, str(src) if src else None))
    return refs
