"""``render()``: a still photo in, a seamless jiggle loop MP4 out."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skill._atomic import replacing
from skill.errors import InputError

from ._compose import Compositor
from ._encode import encode_video
from ._layout import Scene, compose_scene, flatten, paper_colour
from ._motion import INTENSITIES, MOTIONS, Motion, plan_loop, rigid_top
from ._photo import Photo, load_photo, probe_image
from ._result import RenderResult
from ._subject import Subject, find_subject
from ._title import title_overlay

__all__ = ["ASPECTS", "render"]

ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "16:9": (1920, 1080),
    "1:1": (1080, 1080),
}
MAX_DURATION = 60.0
# Subjects on a backdrop that can be extended seamlessly over the whole canvas.
_SEAMLESS = frozenset({"transparency", "plain background"})


def _check_options(
    intensity: str, motion: str, aspect: str, duration: float, fps: int
) -> tuple[int, int]:
    if intensity not in INTENSITIES:
        raise InputError(f"intensity {intensity!r} is not one of {', '.join(INTENSITIES)}.")
    if motion not in MOTIONS:
        raise InputError(f"motion {motion!r} is not one of {', '.join(MOTIONS)}.")
    if aspect not in ASPECTS:
        raise InputError(f"aspect {aspect!r} is not one of {', '.join(ASPECTS)}.")
    if not (isinstance(duration, int | float) and math.isfinite(duration)) or not (
        0 < duration <= MAX_DURATION
    ):
        raise InputError(f"duration {duration!r} must be between 0 and {MAX_DURATION:.0f} seconds.")
    if not isinstance(fps, int) or not 1 <= fps <= 60:
        raise InputError(f"fps {fps!r} must be a whole number from 1 to 60.")
    if round(duration * fps) < 1:
        raise InputError(f"duration {duration!r} is shorter than one frame at {fps} fps.")
    return ASPECTS[aspect]


def _output_path(out: str | os.PathLike[str]) -> Path:
    path = Path(out)
    if path.is_dir():
        raise InputError(
            f"{path} is a folder; give the video a file name, such as {path / 'jiggle.mp4'}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _needed_side(source: tuple[int, int], canvas: tuple[int, int]) -> int:
    """The photo's long side at which covering the canvas needs no enlarging."""
    cover = max(canvas[0] / source[0], canvas[1] / source[1])
    return max(64, math.ceil(max(source) * cover))


def render(
    image: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    intensity: str = "subtle",
    motion: str = "jiggle",
    aspect: str = "9:16",
    duration: float = 5.0,
    fps: int = 30,
    title: str | None = None,
    audio: str | os.PathLike[str] | None = None,
    audio_volume: float = 1.0,
    progress: Callable[[float], None] | None = None,
) -> RenderResult:
    """Render ``image`` as a seamless jiggle-and-bounce loop to the MP4 ``out``.

    The file appears only when complete (written beside it, then renamed). ``progress`` gets
    fractions from 0.0 to 1.0 in the calling thread. ``motion`` is the style: ``jiggle`` (squash
    and sway), ``bounce`` (a hop on each beat, little sway), ``wobble`` (a wide sway leaning
    about the base, little squash) or ``jelly`` (everything keeps ringing). Raises
    ``skill.errors.FileNotFound``, ``UnsupportedFile``, ``FileTooLarge`` or ``InputError`` for
    bad input, naming the file.
    """
    report = progress or (lambda _: None)
    started = time.perf_counter()
    phases: dict[str, float] = {}
    canvas = _check_options(intensity, motion, aspect, duration, fps)
    target = _output_path(out)
    sound = Path(audio) if audio is not None else None
    report(0.0)

    clock = time.perf_counter()
    _, width, height = probe_image(image)
    photo = load_photo(image, max_side=_needed_side((width, height), canvas))
    rgb = photo.rgb if photo.alpha is None else flatten(photo.rgb, photo.alpha)
    phases["decode"] = time.perf_counter() - clock
    report(0.02)

    clock = time.perf_counter()
    subject = find_subject(rgb, photo.alpha)
    phases["subject"] = time.perf_counter() - clock

    clock = time.perf_counter()
    plan = plan_loop(float(duration), fps)
    moves = Motion.build(plan, intensity, motion)
    scene, backdrop = _scene(photo, rgb, subject, canvas, moves)
    scale, dx, dy = scene.placement
    placement = (scale * rgb.shape[1] / width, dx, dy)
    del rgb, photo
    phases["layout"] = time.perf_counter() - clock
    report(0.04)

    clock = time.perf_counter()
    overlay = title_overlay(title, canvas) if title else None
    compositor = Compositor(
        scene,
        moves,
        overlay=overlay,
        layered=subject.separable,
        rigid_top=rigid_top(subject.method),
        backdrop=backdrop,
    )
    photo_box = scene.photo_box
    del scene
    phases["layers"] = time.perf_counter() - clock
    report(0.06)

    with replacing(target, suffix=".part") as temp:
        times = encode_video(
            temp,
            plan,
            canvas,
            compositor.frame,
            audio=sound,
            audio_volume=audio_volume,
            progress=lambda f: report(0.06 + 0.93 * f),
        )
    phases["compose"] = times.compose
    phases["encode"] = times.encode
    phases["mux"] = times.mux
    phases["total"] = time.perf_counter() - started
    report(1.0)
    return RenderResult(
        path=target,
        width=canvas[0],
        height=canvas[1],
        frames=plan.frames,
        duration=plan.frames / fps,
        fps=fps,
        phases=phases,
        subject=subject.method,
        intensity=intensity,
        key_frames=_key_frames(compositor.motion),
        motion=motion,
        layered=compositor.layered,
        photo_box=photo_box,
        placement=placement,
    )


def _scene(
    photo: Photo, rgb: NDArray[np.uint8], subject: Subject, canvas: tuple[int, int], moves: Motion
) -> tuple[Scene, NDArray[np.float32] | None]:
    """The photo on the canvas, and for a cut-out the backdrop colour it is shown on."""
    cutout = photo.alpha if subject.method == "transparency" else None
    scene = compose_scene(
        rgb,
        subject.probability,
        canvas,
        moves.reach(),
        seamless=subject.method in _SEAMLESS,
        alpha=cutout,
    )
    return scene, None if cutout is None else paper_colour(photo.rgb, cutout)


def _key_frames(motion: Motion) -> tuple[int, ...]:
    """Rest, deepest squash, highest stretch and widest sway, within the first cycle."""
    frames = np.arange(motion.plan.cycle_frames, dtype=np.float64)
    top = np.array([1.0])
    strain = motion.stretch(frames, top)[:, 0]
    sway = np.abs(motion.shift(frames, top)[:, 0])
    lift = motion.lift(frames, top)[:, 0]
    rest = int(np.argmin(np.abs(strain) + sway + lift))
    high = int(np.argmax(lift)) if motion.hop else int(np.argmax(strain))
    picks = [rest, int(np.argmin(strain)), high, int(np.argmax(sway))]
    return tuple(sorted(set(picks)))
