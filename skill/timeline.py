r"""The draft's timeline as a typed model, and how to say it in words.

A session's ``state.draft`` uses short keys (``t`` tracks, ``tt`` track type, ``sg`` segments,
``st`` start and ``d`` duration in ms, ``m`` metadata; see docs/design.md). :meth:`Timeline.
from_draft` reads it, tolerating absent, long-named or oddly typed fields, and
:meth:`Timeline.summary` renders the seed's one-line format::

    Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) \
3. Title: "Urban Dreams" (0-3s)

:meth:`Timeline.changes_since` lists what an edit changed, for turns that answer with no text
and for streams that drop. Wording lives in ``skill/data/timeline.yaml`` (English, Chinese).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from skill._data import load_yaml

__all__ = ["Segment", "Timeline", "TimelineChange", "Track", "TrackKind"]

TrackKind = Literal["video", "audio", "text", "other"]

# The contract's track types: 0 video, 1 audio, 7 text.
_KIND_BY_TYPE: dict[int, TrackKind] = {0: "video", 1: "audio", 7: "text"}


def _wording() -> Mapping[str, Mapping[str, Any]]:
    return load_yaml("skill", "data/timeline.yaml")


def _words(lang: str) -> Mapping[str, Any]:
    return _wording()["zh" if lang.lower().startswith("zh") else "en"]


def _first(mapping: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _as_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return round(value)
    if isinstance(value, str):
        try:
            return round(float(value))
        except ValueError:
            return None
    return None


def _as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _seconds(ms: int) -> str:
    """10000 -> "10", 2500 -> "2.5": the seed writes whole seconds without a decimal point."""
    text = f"{ms / 1000:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Segment:
    """One clip on a track: where it sits (ms) and what it carries (``meta``, the draft's ``m``)."""

    id: str | None
    start_ms: int
    duration_ms: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    @property
    def name(self) -> str | None:
        value = _first(self.meta, "title", "name", "text")
        if value is None:
            src = self.meta.get("src") or self.meta.get("url")
            if isinstance(src, str) and src:
                return posixpath.basename(src.split("?", 1)[0]) or None
            return None
        return str(value)

    @property
    def text(self) -> str | None:
        value = _first(self.meta, "text", "title", "name")
        return None if value is None else str(value)

    @property
    def motion(self) -> str | None:
        value = self.meta.get("motion")
        return str(value) if value else None

    @property
    def intensity(self) -> str | None:
        value = self.meta.get("intensity")
        return str(value) if value else None

    @property
    def loop(self) -> bool | None:
        value = self.meta.get("loop")
        return bool(value) if value is not None else None

    @property
    def volume_percent(self) -> int | None:
        """The volume as a percentage; a value <= 1.0 is read as a fraction."""
        value = self.meta.get("volume")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None
        try:
            number = float(value)
        except ValueError:
            return None
        return round(number * 100 if number <= 1.0 else number)


@dataclass(frozen=True)
class Track:
    """A track of one kind (``type_code`` is the draft's ``tt``) and its segments in order."""

    type_code: int | None
    segments: tuple[Segment, ...]

    @property
    def kind(self) -> TrackKind:
        return _KIND_BY_TYPE.get(self.type_code if self.type_code is not None else -1, "other")

    @property
    def start_ms(self) -> int:
        return min((s.start_ms for s in self.segments), default=0)

    @property
    def end_ms(self) -> int:
        return max((s.end_ms for s in self.segments), default=0)


@dataclass(frozen=True)
class TimelineChange:
    """One difference between two timelines; :meth:`describe` says it in a language."""

    kind: Literal["added", "removed", "changed", "canvas"]
    track_kind: TrackKind
    segment: Segment | None = None
    fields: tuple[tuple[str, Any, Any], ...] = ()

    def describe(self, lang: str = "en") -> str:
        words = _words(lang)
        label = words["labels"][self.track_kind]
        if self.kind == "canvas":
            (_, before, after), *_ = self.fields
            return str(words["canvas"]).format(before=before, after=after)
        assert self.segment is not None
        name = _segment_name(self.segment, self.track_kind, words)
        if self.kind == "added":
            segment = _segment_text(self.segment, self.track_kind, words)
            return str(words["added"]).format(label=label, segment=segment)
        if self.kind == "removed":
            return str(words["removed"]).format(label=label, name=name)
        what = str(words["change_sep"]).join(
            str(words["change"]).format(
                field=words["fields"].get(key, key),
                before=_value_text(key, before, words),
                after=_value_text(key, after, words),
            )
            for key, before, after in self.fields
        )
        return str(words["changed"]).format(label=label, name=name, what=what)

    def __str__(self) -> str:
        return self.describe("en")


@dataclass(frozen=True)
class Timeline:
    """The tracks of a draft, its total duration (ms) and its canvas (``meta``: width, height…)."""

    tracks: tuple[Track, ...] = ()
    duration_ms: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_draft(cls, draft: Any) -> Timeline:
        """Read a draft dict; anything missing or malformed is skipped, never fatal."""
        root = _as_mapping(draft)
        total = _as_ms(_first(root, "d", "duration")) or 0
        tracks: list[Track] = []
        for raw_track in _as_list(_first(root, "t", "tracks")):
            track = _as_mapping(raw_track)
            if not track:
                continue
            type_code = _as_ms(_first(track, "tt", "type"))
            segments = tuple(
                _read_segment(_as_mapping(raw), total)
                for raw in _as_list(_first(track, "sg", "segments"))
                if isinstance(raw, Mapping)
            )
            tracks.append(Track(type_code=type_code, segments=segments))
        if not total:
            total = max((t.end_ms for t in tracks), default=0)
        return cls(
            tracks=tuple(tracks),
            duration_ms=total,
            meta=dict(_as_mapping(_first(root, "m", "metadata"))),
        )

    @property
    def segments(self) -> Iterable[tuple[Track, Segment]]:
        for track in self.tracks:
            for segment in track.segments:
                yield track, segment

    def summary(self, lang: str = "en") -> str:
        """One line in the seed's format, e.g. ``Timeline (1 track): 1. Video: cat.jpg (0-5s)``."""
        words = _words(lang)
        if not self.tracks:
            return str(words["empty"])
        count = len(self.tracks)
        header = words["header_one"] if count == 1 else words["header"]
        items = [
            str(words["track"]).format(
                n=index,
                label=words["labels"][track.kind],
                segments=str(words["segment_sep"]).join(
                    _segment_text(segment, track.kind, words) for segment in track.segments
                )
                or words["untitled"],
            )
            for index, track in enumerate(self.tracks, start=1)
        ]
        return str(header).format(count=count) + str(words["track_sep"]).join(items)

    def changes_since(self, before: Timeline | None) -> list[TimelineChange]:
        """What this timeline has that ``before`` did not: added, removed, changed segments."""
        if before is None:
            return [TimelineChange("added", t.kind, s) for t, s in self.segments]
        old = dict(_keyed(before))
        new = dict(_keyed(self))
        changes: list[TimelineChange] = []
        for key, (kind, segment) in new.items():
            if key not in old:
                changes.append(TimelineChange("added", kind, segment))
                continue
            diffs = _field_diffs(old[key][1], segment)
            if diffs:
                changes.append(TimelineChange("changed", kind, segment, diffs))
        changes.extend(
            TimelineChange("removed", kind, segment)
            for key, (kind, segment) in old.items()
            if key not in new
        )
        before_canvas, after_canvas = _canvas(before.meta), _canvas(self.meta)
        if before_canvas != after_canvas and after_canvas:
            changes.append(
                TimelineChange("canvas", "video", None, (("canvas", before_canvas, after_canvas),))
            )
        return changes


def _read_segment(raw: Mapping[str, Any], total_ms: int) -> Segment:
    start = _as_ms(_first(raw, "st", "start", "s")) or 0
    duration = _as_ms(_first(raw, "d", "duration"))
    if duration is None:
        end = _as_ms(_first(raw, "e", "end"))
        duration = end - start if end is not None else max(total_ms - start, 0)
    seg_id = raw.get("id")
    return Segment(
        id=str(seg_id) if seg_id is not None else None,
        start_ms=max(start, 0),
        duration_ms=max(duration, 0),
        meta=dict(_as_mapping(_first(raw, "m", "metadata"))),
    )


def _segment_name(segment: Segment, kind: TrackKind, words: Mapping[str, Any]) -> str:
    if kind == "text":
        text = segment.text
        return str(words["quoted"]).format(text=text) if text else str(words["untitled"])
    return segment.name or str(words["untitled"])


def _segment_text(segment: Segment, kind: TrackKind, words: Mapping[str, Any]) -> str:
    details: list[str] = [
        str(words["range"]).format(start=_seconds(segment.start_ms), end=_seconds(segment.end_ms))
    ]
    if kind == "audio" and segment.volume_percent is not None:
        details.append(str(words["volume"]).format(percent=segment.volume_percent))
    if kind == "video":
        if segment.motion:
            details.append(str(words["motion"].get(segment.motion, segment.motion)))
        if segment.intensity:
            details.append(str(words["intensity"].get(segment.intensity, segment.intensity)))
        if segment.loop:
            details.append(str(words["loop"]))
    return str(words["segment"]).format(
        name=_segment_name(segment, kind, words),
        details=str(words["detail_sep"]).join(details),
    )


def _keyed(timeline: Timeline) -> Iterable[tuple[str, tuple[TrackKind, Segment]]]:
    for t_index, track in enumerate(timeline.tracks):
        for s_index, segment in enumerate(track.segments):
            key = segment.id if segment.id is not None else f"{t_index}:{s_index}"
            yield key, (track.kind, segment)


def _field_values(segment: Segment) -> dict[str, Any]:
    """What an edit can change on a segment, in the order changes are told."""
    return {
        "name": segment.name,
        "text": segment.meta.get("text"),
        "motion": segment.motion,
        "intensity": segment.intensity,
        "loop": segment.loop,
        "volume": segment.volume_percent,
        "timing": (segment.start_ms, segment.end_ms),
    }


def _field_diffs(before: Segment, after: Segment) -> tuple[tuple[str, Any, Any], ...]:
    old, new = _field_values(before), _field_values(after)
    return tuple((key, old[key], new[key]) for key in old if old[key] != new[key])


def _value_text(key: str, value: Any, words: Mapping[str, Any]) -> str:
    if value is None:
        return str(words["none"])
    if key == "timing":
        start, end = value
        return str(words["range"]).format(start=_seconds(start), end=_seconds(end))
    if key == "volume":
        return str(words["volume"]).format(percent=value)
    if key in ("motion", "intensity"):
        return str(words[key].get(value, value))
    return str(value)


def _canvas(meta: Mapping[str, Any]) -> str:
    width, height = meta.get("width"), meta.get("height")
    aspect = meta.get("aspect")
    if width and height:
        return f"{width}x{height}" + (f" ({aspect})" if aspect else "")
    return str(aspect or "")
