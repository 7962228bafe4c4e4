"""The loop plan and the soft body's motion: whole beats, exact periods, a choreography per
beat (crouch, launch, landing), follow-through, a wobble that dies down, and styles that differ."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from skill.local.render._motion import INTENSITIES, MOTIONS, Motion, plan_loop, rigid_top


@pytest.mark.parametrize("duration", [0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 5.5, 7.0, 10.0, 15.0])
def test_plan_has_exact_frames_and_whole_beats(duration: float) -> None:
    plan = plan_loop(duration, 30)
    assert plan.frames == round(duration * 30)
    assert plan.cycle_frames * plan.repeats == plan.frames
    if duration >= 1.5:
        assert 0.6 <= plan.beat_seconds <= 0.9


@pytest.mark.parametrize("style", MOTIONS)
def test_every_style_is_periodic_and_the_base_stays_put(style: str) -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "medium", style)
    heights = np.linspace(0.0, 1.2, 9)
    sides = np.linspace(-1.0, 1.0, 9)
    start = np.array([0.0, 1.0, 7.0, 13.5])
    end = start + plan.cycle_frames
    for part in (motion.stretch, motion.shift, motion.lift):
        assert np.allclose(part(start, heights, sides), part(end, heights, sides), atol=1e-9)
        assert np.abs(part(start, np.array([0.0]))).max() == 0


def _lag(lead: NDArray[np.float64], follow: NDArray[np.float64], within: int = 10) -> int:
    """The circular shift (frames, at most ``within`` either way: less than half a beat, as
    a motion that repeats every beat matches itself a beat later too) by which ``follow``
    best matches ``lead``."""
    lead, follow = lead - lead.mean(), follow - follow.mean()
    shifts = range(-within, within + 1)
    scores = [float(np.dot(lead, np.roll(follow, -shift))) for shift in shifts]
    return shifts[int(np.argmax(scores))]


@pytest.mark.parametrize("style", MOTIONS)
def test_top_follows_the_lower_body_by_at_least_two_frames_at_medium(style: str) -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "medium", style)
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    low, top = np.array([0.27]), np.array([0.9])
    assert _lag(motion.stretch(frames, low)[:, 0], motion.stretch(frames, top)[:, 0]) >= 2
    assert _lag(motion.shift(frames, low)[:, 0], motion.shift(frames, top)[:, 0]) >= 2


def test_the_sides_move_on_their_own() -> None:
    plan = plan_loop(5.0, 30)
    motion = Motion.build(plan, "medium", "jelly")
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    u = np.array([0.8, 0.8])
    middle, side = motion.stretch(frames, u, np.array([0.0, 1.0])).T
    assert _lag(middle, side) >= 1


def _beat(motion: Motion) -> NDArray[np.float64]:
    """The whole body's strain over one beat at fine steps, from one launch to the next."""
    fine = np.arange(0.0, motion.plan.cycle_frames / motion.plan.beats, 0.05)
    strain: NDArray[np.float64] = motion.stretch(fine, np.array([0.2]))[:, 0]
    return strain


@pytest.mark.parametrize("intensity", INTENSITIES)
def test_each_beat_crouches_before_the_launch_and_settles_before_the_next(
    intensity: str,
) -> None:
    motion = Motion.build(plan_loop(5.0, 30), intensity)
    strain = _beat(motion)
    steps_per_second = 30 / 0.05
    launch = int(np.argmax(strain[: len(strain) // 3]))  # the stretch early in the beat
    crouch = np.concatenate([strain[-int(0.2 * steps_per_second) :], strain[:launch]])
    assert crouch.min() < -0.15 * motion.squash  # anticipation: a squash before the stretch
    landing = int(np.argmin(strain))
    assert 0.1 * steps_per_second <= landing <= 0.4 * steps_per_second
    # The secondary wobble: it rings after the landing, then dies down before the next beat.
    after = strain[landing : landing + int(0.3 * steps_per_second)]
    assert after.max() - after.min() > 0.5 * motion.squash
    tail = strain[int(0.62 * steps_per_second) : -int(0.15 * steps_per_second)]
    assert np.abs(tail).max() < 0.3 * motion.squash


def test_intensities_grow_and_unknown_names_are_refused() -> None:
    plan = plan_loop(3.0, 30)
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    top = np.array([1.0])
    peaks = [-Motion.build(plan, level).stretch(frames, top).min() for level in INTENSITIES]
    assert peaks == sorted(peaks)
    assert 0.03 <= peaks[0] <= 0.05  # subtle: a 3-5 % squash
    with pytest.raises(ValueError, match="intensity"):
        Motion.build(plan, "extreme")
    with pytest.raises(ValueError, match="motion"):
        Motion.build(plan, "medium", "spin")


def _amplitudes(style: str) -> tuple[float, float, float, float]:
    """Largest squash, sway and lift at the top over one cycle, and how much it still
    wobbles 0.15-0.35 s after the landing, as a share of the squash."""
    plan = plan_loop(3.0, 30)
    motion = Motion.build(plan, "medium", style)
    frames = np.arange(plan.cycle_frames, dtype=np.float64)
    top = np.array([1.0])
    strain = _beat(motion)
    landing = int(np.argmin(strain))
    late = strain[landing + int(0.15 * 600) : landing + int(0.35 * 600)]
    return (
        float(-motion.stretch(frames, top).min()),
        float(np.abs(motion.shift(frames, top)).max()),
        float(motion.lift(frames, top).max()),
        float(np.ptp(late)) / motion.squash,
    )


def test_styles_differ_in_the_direction_they_should() -> None:
    jiggle, bounce, wobble, jelly = (_amplitudes(style) for style in MOTIONS)
    assert bounce[0] > jiggle[0] > wobble[0]  # squash: bounce deepest, wobble least
    assert wobble[1] > jiggle[1] > bounce[1]  # sway: wobble widest
    assert bounce[2] > 0 == jiggle[2] == wobble[2] == jelly[2]  # only bounce hops
    assert jelly[3] > 1.5 * jiggle[3]  # jelly keeps ringing


def test_fitted_motion_stays_within_the_room_it_is_given() -> None:
    motion = Motion.build(plan_loop(3.0, 30), "strong", "bounce")
    free = motion.reach()
    assert 0.02 < free.up <= 0.09  # however strong, within the cap of the motion table
    assert free.side > 0.02
    held = motion.fitted(up=0.01, side=0.005).reach()
    assert held.up <= 0.0105
    assert held.side - held.widen <= 0.0055
    assert held.down >= 0.8 * free.down  # the squash keeps its depth


def test_only_a_person_has_a_rigid_head() -> None:
    assert 0 < rigid_top("person") < 0.5
    assert rigid_top("salient object") == rigid_top("none") == 0.0
