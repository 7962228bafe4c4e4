"""The motion: a soft body driven by a little choreography on every beat, exactly periodic.

Each beat is a crouch (anticipation), a launch (stretch) and a landing (the deepest squash),
smooth pulses repeated every beat. The body is soft: every part follows the drive with a delay
that grows with its height and with its distance from the middle (follow-through, and sides that
move on their own), and the springs ring after each landing (the secondary wobble), dying down
before the next beat. A drive repeated every beat, filtered by springs, is a Fourier series of
whole harmonics of the cycle: it can be evaluated at any time and repeats exactly, so the loop's
last frame leads into its first like any other pair.

Signals are fractions of the subject's height ``H``, at heights ``u`` (0 at the base, 1 at the
top) and sides ``s`` (-1 at the subject's left edge, 0 on its axis, 1 at its right edge).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skill._data import load_yaml

__all__ = [
    "INTENSITIES",
    "MOTIONS",
    "LoopPlan",
    "Motion",
    "Reach",
    "plan_loop",
    "rigid_top",
    "smoothstep",
]

INTENSITIES = ("subtle", "medium", "strong")
MOTIONS = ("jiggle", "bounce", "wobble", "jelly")
_BASE_RAMP = 0.15  # fraction of the height over which the squash fades in above the base
_HOP_RAMP = 0.35  # ... and over which the hop lifts in (the base never leaves the ground)
_SAMPLES = 256  # frames' worth of samples of one cycle when the motion's reach is measured

Array = NDArray[np.float64]


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

    @property
    def period(self) -> float:
        """Seconds per cycle."""
        return self.cycle_frames / self.fps


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


_TABLE = 2048  # samples per cycle a signal is tabulated at; read back by linear interpolation


@dataclass(frozen=True)
class _Series:
    """A real periodic signal as Fourier terms: harmonic numbers and complex weights."""

    harmonics: Array
    weights: NDArray[np.complex128]

    def exact(self, phase: Array) -> Array:
        """Values at ``phase`` (fractions of the cycle), any shape, summed term by term."""
        angles = np.multiply.outer(phase, 2 * math.pi * self.harmonics)
        values: Array = (np.exp(1j * angles) @ self.weights).real
        return values

    def at(self, phase: Array) -> Array:
        """Values at ``phase``, read from the tabulated cycle (periodic by construction)."""
        table = self.tabulated()
        where = np.mod(np.asarray(phase, np.float64), 1.0) * _TABLE
        values: Array = np.interp(where, np.arange(_TABLE + 1), table)
        return values

    def tabulated(self) -> Array:
        cached: Array | None = self.__dict__.get("_cached")
        if cached is None:
            closed = np.linspace(0.0, 1.0, _TABLE + 1)
            cached = self.exact(closed)
            cached[-1] = cached[0]
            object.__setattr__(self, "_cached", cached)
        return cached

    def scaled(self, factor: complex | NDArray[np.complex128]) -> _Series:
        return _Series(self.harmonics, self.weights * factor)

    def peak(self) -> float:
        return float(np.abs(self.tabulated()).max())

    def normalised(self) -> _Series:
        """Scaled so the largest value over the cycle is 1 in size."""
        return self.scaled(1.0 / (self.peak() or 1.0))


def _pulse_train(
    plan: LoopPlan, pulses: list[tuple[float, float, float]], *, alternate: bool
) -> _Series:
    """Smooth pulses ``(at, width, weight)`` (seconds) repeated on every beat.

    ``alternate``: the pulses flip sign every other beat (a lean left, then right), which leaves
    the odd harmonics of the sway frequency only.
    """
    count = int(_table()["harmonics"])
    k = np.arange(count, dtype=np.float64)
    harmonics = plan.sways * (2 * k + 1) if alternate else plan.beats * (k + 1)
    omega = 2 * math.pi * harmonics / plan.period
    weights = np.zeros(count, np.complex128)
    for at, width, weight in pulses:
        weights += weight * np.exp(-0.5 * (omega * width) ** 2) * np.exp(-1j * omega * at)
    return _Series(harmonics, weights)


def _spring(series: _Series, period: float, hz: float, damping: float) -> _Series:
    """``series`` through a damped spring of unit static gain: the drive plus its ringing."""
    omega = 2 * math.pi * series.harmonics / period
    w0 = 2 * math.pi * hz
    response = w0**2 / ((w0**2 - omega**2).astype(np.complex128) + 2j * damping * w0 * omega)
    return series.scaled(response.astype(np.complex128))


def _soft_body(
    drive: _Series, plan: LoopPlan, spring: Mapping[str, float], wobble: float, damping: float
) -> _Series:
    """The drive as the body shows it: the choreography mixed with the spring's ringing."""
    drive = drive.normalised()
    rung = _spring(drive, plan.period, float(spring["hz"]), float(spring["damping"]) * damping)
    mix = min(1.0, max(0.0, wobble))
    return _Series(drive.harmonics, (1 - mix) * drive.weights + mix * rung.normalised().weights)


@dataclass(frozen=True)
class Reach:
    """How far the motion carries the subject's outline, as fractions of its height."""

    up: float  # above its top
    down: float  # below its top (the squash), for the record
    side: float  # past its left or right edge: the sway plus the widening
    widen: float  # of that, the widening as it squashes (for a subject as wide as tall)


@dataclass(frozen=True)
class Motion:
    """The deformation over a cycle, sampled per frame, height ``u`` and side ``s``.

    ``stretch(f, u, s)`` is the vertical strain at height ``u`` (negative: squashed),
    ``shift(f, u, s)`` the sideways offset and ``lift(f, u, s)`` the upward offset (fractions of
    the subject's height), for frame ``f`` of the cycle. ``s`` may be omitted (the axis).
    """

    plan: LoopPlan
    squash: float
    sway: float
    lag: float
    hop: float
    bend: float
    parts: float
    style: str
    _bounce: _Series
    _swing: _Series
    stretch_limit: float = math.inf  # the largest stretch allowed (room above the subject)
    hop_launch: float = 0.0  # seconds, from the beat's start
    hop_land: float = 0.24

    @classmethod
    def build(cls, plan: LoopPlan, intensity: str, motion: str = "jiggle") -> Motion:
        table = _table()
        if intensity not in table["intensities"]:
            raise ValueError(f"intensity must be one of {', '.join(INTENSITIES)}")
        if motion not in table["styles"]:
            raise ValueError(f"motion must be one of {', '.join(MOTIONS)}")
        level, style = table["intensities"][intensity], table["styles"][motion]
        beat = table["beat"]
        pulses = [
            (float(beat[name]["at"]), float(beat[name]["width"]), float(beat[name]["weight"]))
            for name in ("anticipation", "launch", "impact")
        ]
        lean = [(float(beat["lean"]["at"]), float(beat["lean"]["width"]), 1.0)]
        wobble = float(level["wobble"]) * float(style["wobble"])
        damping = float(style["damping"])
        # Normalised so the deepest squash is -1: the kick of the landing pushes down.
        bounce = _soft_body(
            _pulse_train(plan, pulses, alternate=False),
            plan,
            table["bounce_spring"],
            wobble,
            damping,
        )
        bottom = float(bounce.tabulated().min())
        swing = _soft_body(
            _pulse_train(plan, lean, alternate=True), plan, table["sway_spring"], wobble, damping
        )
        squash = float(level["squash"]) * float(style["squash"])
        free = cls(
            plan=plan,
            squash=squash,
            sway=float(level["sway"]) * float(style["sway"]),
            lag=float(level["lag"]) * float(style["lag"]),
            hop=squash * float(style["hop"]),
            bend=float(style["bend"]),
            parts=float(style["parts"]),
            style=motion,
            _bounce=bounce.scaled(1.0 / (abs(bottom) or 1.0)),
            _swing=swing.normalised(),
            hop_launch=float(beat["launch"]["at"]),
            hop_land=float(beat["impact"]["at"]),
        )
        # However strong, the subject stays near its place: beyond this it would leave the
        # photo, or sweep over background that should stay still.
        most = table["max_reach"]
        return free.fitted(float(most["up"]), float(most["sway"]) + free.reach().widen)

    def fitted(self, up: float, side: float) -> Motion:
        """The same motion kept within ``up`` above the subject and ``side`` beside it.

        The stretch and the hop are what carry the top upwards: they are limited (the squash,
        which moves it down, keeps its depth); the sway is scaled down to fit beside it.
        """
        reach = self.reach()
        hop = self.hop
        limit = math.inf
        if reach.up > up:
            room = max(0.0, up)
            hop = self.hop * min(1.0, 0.5 * room / max(self.hop, 1e-9))
            limit = max(0.004, room - hop)
        swing = reach.side - reach.widen
        sway = self.sway * min(1.0, max(0.0, side - reach.widen) / max(swing, 1e-9))
        return dataclasses.replace(self, hop=hop, sway=sway, stretch_limit=limit)

    def reach(self) -> Reach:
        """The largest excursions of the subject's outline over one cycle (worked out once)."""
        known: Reach | None = self.__dict__.get("_reach")
        if known is None:
            known = self._measure_reach()
            object.__setattr__(self, "_reach", known)
        return known

    def _measure_reach(self) -> Reach:
        frames = np.linspace(0.0, self.plan.cycle_frames, _SAMPLES, endpoint=False)
        u = np.linspace(0.0, 1.0, 33)
        top = self.heights(frames, u)[:, -1] - 1.0
        ones = np.ones_like(u)
        shift = np.abs(self.shift(frames, u, ones)).max()
        widen = 0.5 * float(np.abs(np.minimum(self.stretch(frames, u, ones), 0.0)).max())
        return Reach(
            up=max(0.0, float(top.max())),
            down=max(0.0, float(-top.min())),
            side=float(shift) + widen,
            widen=widen,
        )

    # -- signals ------------------------------------------------------------------------------

    def _phase(self, frames: Array, u: Array, s: Array | None) -> Array:
        """Each point's phase in the cycle: later the higher it is and the farther out."""
        height = np.clip(u, 0.0, 1.0)
        spread = 1.0 if s is None else 1.0 + self.parts * np.clip(np.abs(s), 0.0, 1.0)
        delay = self.lag * height * spread / self.plan.period
        phase: Array = np.asarray(frames, np.float64)[:, None] / self.plan.cycle_frames - delay
        return phase

    def stretch(self, frames: Array, u: Array, s: Array | None = None) -> Array:
        """Vertical strain, shape (frames, points): -squash at the landing, up to +limit."""
        ramp = smoothstep(np.asarray(u, np.float64) / _BASE_RAMP)
        strain: Array = self.squash * self._bounce.at(self._phase(frames, u, s)) * ramp[None, :]
        if math.isfinite(self.stretch_limit):
            # A soft limit on the stretch alone (smooth through zero: no jolt in the motion).
            top = self.stretch_limit
            strain = np.where(strain > 0, top * np.tanh(strain / top), strain)
        return strain

    def shift(self, frames: Array, u: Array, s: Array | None = None) -> Array:
        """Sideways offset, shape (frames, points); zero at the base."""
        bend = np.clip(np.asarray(u, np.float64), 0.0, 1.0) ** self.bend
        offset: Array = self.sway * self._swing.at(self._phase(frames, u, s)) * bend[None, :]
        return offset

    def lift(self, frames: Array, u: Array, s: Array | None = None) -> Array:
        """Upward offset, shape (frames, points); zero at the base.

        One arc per beat, ``sin`` to the power 1.5 from the launch to the landing (where the
        squash is deepest), then on the ground: a hop that lands in a squash.
        """
        u = np.asarray(u, np.float64)
        if self.hop == 0.0:
            return np.zeros((len(frames), len(u)))
        beat = self.plan.beat_seconds
        seconds = (self._phase(frames, u, s) * self.plan.period - self.hop_launch) % beat
        airtime = max(1e-3, self.hop_land - self.hop_launch)
        arc = np.where(
            seconds < airtime, np.sin(math.pi * np.minimum(seconds, airtime) / airtime), 0.0
        )
        offset: Array = self.hop * np.abs(arc) ** 1.5 * smoothstep(u / _HOP_RAMP)[None, :]
        return offset

    def heights(self, frames: Array, u: Array, s: Array | None = None) -> Array:
        """Where each height ``u`` (ascending, from 0) ends up: strain integrated, then lifted."""
        strain = self.stretch(frames, u, s)
        steps = np.diff(u)[None, :] * (1 + 0.5 * (strain[:, 1:] + strain[:, :-1]))
        heights = u[0] + np.concatenate([np.zeros((len(frames), 1)), np.cumsum(steps, axis=1)], 1)
        result: Array = heights + self.lift(frames, u, s)
        return result


def rigid_top(method: str) -> float:
    """The top fraction of a subject found by ``method`` that moves rigidly (a head)."""
    return float(_table()["rigid_top"].get(method, 0.0))


def smoothstep(x: Array) -> Array:
    """0 below 0, 1 above 1, an S-curve with level ends between."""
    t = np.clip(x, 0.0, 1.0)
    result: Array = t * t * (3 - 2 * t)
    return result
