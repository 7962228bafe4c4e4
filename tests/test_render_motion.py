"""The loop plan and the springs: whole beats, exact frames, a periodic steady state."""

from __future__ import annotations

import numpy as np
import pytest

from skill.local.render._motion import INTENSITIES, MOTIONS, Motion, plan_loop


@pytest.mark.parametrize("duration", [0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 5.5, 7.0, 10.0, 15.0])
def test_plan_has_exact_frames_and_whole_beats(duration: float) -> None:
    plan = plan_loop(duration, 30)
    assert plan.frames == round(duration * 30)
    assert plan.cycle_frames * plan.repeats == plan.frames
    if duration >= 1.5:
        assert 0.6 <= plan.beat_seconds <= 0.9


def test_motion_is_periodic_over_a_cycle() -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "medium")
    heights = np.linspace(0.0, 1.2, 9)
    start = np.array([0.0, 1.0])
    end = start + plan.cycle_frames
    assert np.allclose(motion.stretch(start, heights), motion.stretch(end, heights), atol=1e-9)
    assert np.allclose(motion.shift(start, heights), motion.shift(end, heights), atol=1e-9)


def test_base_is_anchored_and_top_lags() -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "strong")
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    base = motion.shift(frames, np.array([0.0]))[:, 0]
    assert np.abs(base).max() == 0
    assert np.abs(motion.stretch(frames, np.array([0.0]))).max() == 0
    middle = motion.stretch(frames, np.array([0.5]))[:, 0]
    top = motion.stretch(frames, np.array([1.0]))[:, 0]
    # Follow-through: the top's deepest squash comes after the middle's.
    assert int(np.argmin(top)) > int(np.argmin(middle))


def test_intensities_grow() -> None:
    plan = plan_loop(3.0, 30)
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    top = np.array([1.0])
    peaks = [np.abs(Motion.build(plan, level).stretch(frames, top)).max() for level in INTENSITIES]
    assert peaks == sorted(peaks)
    assert 0.02 <= peaks[0] <= 0.03  # subtle: a 2-3 % squash
    with pytest.raises(ValueError, match="intensity"):
        Motion.build(plan, "extreme")


@pytest.mark.parametrize("style", MOTIONS)
def test_every_style_is_periodic(style: str) -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "medium", style)
    heights = np.linspace(0.0, 1.2, 9)
    start = np.array([0.0, 1.0, 7.0])
    end = start + plan.cycle_frames
    for part in (motion.stretch, motion.shift, motion.lift):
        assert np.allclose(part(start, heights), part(end, heights), atol=1e-9)
        assert np.abs(part(start, np.array([0.0]))).max() == 0  # the base stays put


def _amplitudes(style: str) -> tuple[float, float, float]:
    """Largest squash, sway and lift at the subject's top over one cycle."""
    plan = plan_loop(3.0, 30)
    motion = Motion.build(plan, "medium", style)
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    top = np.array([1.0])
    return (
        float(np.abs(motion.stretch(frames, top)).max()),
        float(np.abs(motion.shift(frames, top)).max()),
        float(motion.lift(frames, top).max()),
    )


def test_styles_differ_in_the_direction_they_should() -> None:
    jiggle, bounce, wobble = (_amplitudes(style) for style in ("jiggle", "bounce", "wobble"))
    assert bounce[0] > jiggle[0] > wobble[0]  # squash: bounce deepest, wobble least
    assert wobble[1] > jiggle[1] > bounce[1]  # sway: wobble widest
    assert bounce[2] > 0 == jiggle[2] == wobble[2]  # only bounce hops
    with pytest.raises(ValueError, match="motion"):
        Motion.build(plan_loop(3.0, 30), "medium", "spin")
