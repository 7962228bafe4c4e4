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
    subject: str = "centre"
    intensity: str = "subtle"
    key_frames: tuple[int, ...] = field(default=(0,))
    motion: str = "jiggle"
    layered: bool = False  # the subject moved as a cut-out layer (else the whole photo warped)

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
            "seconds": {name: round(value, 3) for name, value in self.phases.items()},
        }
