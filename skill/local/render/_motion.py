"""The motion: damped springs kicked on every beat, in their periodic steady state.

A spring kicked by a periodic train of pulses settles into a periodic response; its Fourier
series is the pulse train's series times the spring's transfer function, so it can be evaluated
at any time and repeats exactly: the loop's last frame leads into its first like any other pair.

Two springs drive the subject. The bounce spring sets the vertical squash and stretch (width
changes inversely, so the area stays); the sway spring, kicked alternately left and right, bends
the subject sideways about its base. Higher parts see both a little later (follow-through).
A style (jiggle, bounce, wobble) scales the two and adds a hop: the body lifting on each beat.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skill._data import load_yaml

__all__ = ["INTENSITIES", "MOTIONS", "LoopPlan", "Motion", "plan_loop", "smoothstep"]

INTENSITIES = ("subtle", "medium", "strong")
MOTIONS = ("jiggle", "bounce", "wobble")
_BASE_RAMP = 0.15  # fraction of the height over which the squash fades in above the base


def _table() -> Mapping[str, Any]:
    return load_yaml("skill.local.render", "data/motion.yaml")


@dataclass(frozen=True)
class LoopPlan:
    """How a clip of ``frames`` frames is built from ``repeats`` copies of one cycle.

    A cycle holds ``beats`` bounces and ``sways`` full left-right swings, so the motion is
    periodic in ``cycle_frames`` frames and the whole clip is a whole number of cycles.
    """

    frames: int
    fps: int
    cycle_frames: int
    repeats: int
    beats: int
    sways: int

    @property
    def beat_seconds(self) -> float:
        return self.cycle_frames / self.fps / self.beats


def plan_loop(duration: float, fps: int) -> LoopPlan:
    """The exact frame count for ``duration``, split into identical cycles when it can be.

    A cycle of ``beats_per_sway`` beats, each within the beat range, is repeated whole when the
    frame count allows it; otherwise the clip is one cycle with as many beats as fit.
    """
    table = _table()
    lo, hi, ideal = (float(table["beat_seconds"][k]) for k in ("min", "max", "ideal"))
    per_sway = int(table["beats_per_sway"])
    frames = max(1, round(duration * fps))
    best: LoopPlan | None = None
    for repeats in range(1, frames + 1):
        if frames % repeats:
            continue
        cycle = frames // repeats
        beat = cycle / fps / per_sway
        if lo <= beat <= hi and (
            best is None or abs(beat - ideal) < abs(best.beat_seconds - ideal)
        ):
            best = LoopPlan(frames, fps, cycle, repeats, per_sway, 1)
    if best is not None:
        return best
    seconds = frames / fps
    beats = max(1, round(seconds / ideal))
    sways = max(1, round(beats / per_sway))
    return LoopPlan(frames, fps, frames, 1, beats, sways)


def _spring(omega: NDArray[np.float64], hz: float, damping: float) -> NDArray[np.complex128]:
    """Transfer function of a unit-mass damped spring at angular frequencies ``omega``."""
    w0 = 2 * math.pi * hz
    denominator = (w0**2 - omega**2).astype(np.complex128) + 2j * damping * w0 * omega
    response: NDArray[np.complex128] = np.reciprocal(denominator)
    return response


@dataclass(frozen=True)
class _Series:
    """A real periodic signal as Fourier terms: harmonic numbers and complex weights."""

    harmonics: NDArray[np.float64]
    weights: NDArray[np.complex128]

    def at(self, phase: NDArray[np.float64]) -> NDArray[np.float64]:
        """Values at ``phase`` (fractions of the cycle), any shape."""
        angles = np.multiply.outer(phase, 2 * math.pi * self.harmonics)
        values: NDArray[np.float64] = (np.exp(1j * angles) @ self.weights).real
        return values


def _kicked_spring(period: float, first: int, step: int, spring: Mapping[str, float]) -> _Series:
    """The steady response of ``spring`` to kicks that repeat ``first`` times a cycle.

    Harmonics ``first, first + step, ...`` of the cycle: ``step == first`` is a train of equal
    kicks, ``step == 2 * first`` one whose kicks alternate in sign (odd harmonics only). The
    response is scaled so its largest value is 1.
    """
    table = _table()
    count = int(table["harmonics"])
    harmonics = first + step * np.arange(count, dtype=np.float64)
    omega = 2 * math.pi * harmonics / period
    sigma = float(table["kick_seconds"])
    pulse = np.exp(-0.5 * (omega * sigma) ** 2)  # a smooth kick, not an ideal impulse
    weights = pulse * _spring(omega, float(spring["hz"]), float(spring["damping"]))
    series = _Series(harmonics, weights)
    peak = float(np.abs(series.at(np.linspace(0.0, 1.0, 2048, endpoint=False))).max())
    return _Series(harmonics, weights / (peak or 1.0))


@dataclass(frozen=True)
class Motion:
    """The deformation over a cycle, sampled per frame and per height.

    Heights ``u`` run from 0 at the subject's base to 1 at its top. ``stretch(f, u)`` is the
    vertical strain (negative: squashed), ``shift(f, u)`` the sideways offset and ``lift(f, u)``
    the upward offset, both as fractions of the subject's height, for frame ``f`` of the cycle.
    """

    plan: LoopPlan
    squash: float
    sway: float
    lag: float
    _bounce: _Series
    _swing: _Series
    hop: float = 0.0
    hop_ramp: float = 0.35
    bend: float = 1.5
    style: str = "jiggle"

    @classmethod
    def build(cls, plan: LoopPlan, intensity: str, motion: str = "jiggle") -> Motion:
        table = _table()
        if intensity not in table["intensities"]:
            raise ValueError(f"intensity must be one of {', '.join(INTENSITIES)}")
        if motion not in table["styles"]:
            raise ValueError(f"motion must be one of {', '.join(MOTIONS)}")
        level = table["intensities"][intensity]
        style = table["styles"][motion]
        period = plan.cycle_frames / plan.fps
        bounce = _kicked_spring(period, plan.beats, plan.beats, table["bounce_spring"])
        # Alternating kicks: odd harmonics of the sway frequency only.
        swing = _kicked_spring(period, plan.sways, 2 * plan.sways, table["sway_spring"])
        squash = float(level["squash"])
        return cls(
            plan,
            squash * float(style["squash"]),
            float(level["sway"]) * float(style["sway"]),
            float(level["lag"]),
            bounce,
            swing,
            hop=squash * float(style["hop"]),
            hop_ramp=float(style["hop_ramp"]),
            bend=float(style["bend"]),
            style=motion,
        )

    def _phase(self, frames: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
        period = self.plan.cycle_frames / self.plan.fps
        lag = self.lag * np.clip(u, 0.0, 1.0) / period
        phase: NDArray[np.float64] = frames[:, None] / self.plan.cycle_frames - lag[None, :]
        return phase

    def stretch(self, frames: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Vertical strain, shape (frames, heights): -squash on the beat's squash, up to +."""
        ramp = smoothstep(u / _BASE_RAMP)
        # A kick pushes down: the response's first swing is a squash.
        strain: NDArray[np.float64] = (
            -self.squash * self._bounce.at(self._phase(frames, u)) * ramp[None, :]
        )
        return strain

    def shift(self, frames: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sideways offset over subject height, shape (frames, heights); zero at the base."""
        bend = np.clip(u, 0.0, 1.0) ** self.bend
        offset: NDArray[np.float64] = (
            self.sway * self._swing.at(self._phase(frames, u)) * bend[None, :]
        )
        return offset

    def lift(self, frames: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Upward offset over subject height, shape (frames, heights); zero at the base.

        One arc per beat, ``|sin|`` to the power 1.5 (smooth, and exactly periodic), touching
        down on each kick, where the bounce spring squashes: a hop that lands in a squash.
        """
        if self.hop == 0.0:
            return np.zeros((len(frames), len(u)))
        phase = self._phase(frames, u)
        arc = np.abs(np.sin(math.pi * self.plan.beats * phase)) ** 1.5
        ramp = smoothstep(u / self.hop_ramp)
        offset: NDArray[np.float64] = self.hop * arc * ramp[None, :]
        return offset


def smoothstep(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """0 below 0, 1 above 1, an S-curve with level ends between."""
    t = np.clip(x, 0.0, 1.0)
    result: NDArray[np.float64] = t * t * (3 - 2 * t)
    return result
