"""What a render returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RenderResult"]


@dataclass(frozen=True)
class RenderResult:
    """A finished video: where it is, its shape, and how long each phase took (seconds).

    ``phases`` keys, in order: decode, subject, layout, layers, compose, encode, mux, total.
    ``compose`` is making the frames; ``encode`` the time spent waiting on x264 (which works
    in its own threads meanwhile). ``key_frames`` are the frames that show the motion best.
    """

    path: Path
    width: int
    height: int
    frames: int
    duration: float
    fps: int
    phases: Mapping[str, float]
    subject: str = "none"  # how what moves was found (see _subject.find_subject)
    intensity: str = "subtle"
    key_frames: tuple[int, ...] = field(default=(0,))
    motion: str = "jiggle"
    layered: bool = False  # the subject moved as a cut-out layer (else the whole photo warped)
    # Where the real photo is on the canvas (x0, y0, x1, y1); the rest is its extended or
    # blurred backdrop.
    photo_box: tuple[int, int, int, int] = (0, 0, 0, 0)
    # (scale, dx, dy): the photo's pixel (x, y), upright, lands on the canvas at
    # (x * scale + dx, y * scale + dy).
    placement: tuple[float, float, float] = (1.0, 0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, phases rounded to milliseconds."""
        return {
            "path": str(self.path),
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "duration": self.duration,
            "fps": self.fps,
            "intensity": self.intensity,
            "motion": self.motion,
            "layered": self.layered,
            "subject": self.subject,
            "photo_box": list(self.photo_box),
            "placement": [round(v, 4) for v in self.placement],
            "seconds": {name: round(value, 3) for name, value in self.phases.items()},
        }
