"""The offline background music: a soft lo-fi loop synthesised once and kept as a WAV file.

The renderer loops or trims it to the video's length, so one eight-second loop is enough.
"""

from __future__ import annotations

import threading
import wave
from pathlib import Path

import numpy as np

from skill._atomic import replacing

__all__ = ["lofi_loop"]

_RATE = 44100
_BPM = 80
# One chord per bar, as semitones above A4 (440 Hz): Cmaj7, Am7, Fmaj7, G7.
_CHORDS = ((-9, -5, -2, 2), (-12, -9, -5, -2), (-16, -12, -9, -5), (-14, -10, -7, -4))
_lock = threading.Lock()


def _tone(semitones: int, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * _RATE)) / _RATE
    freq = 440.0 * 2 ** (semitones / 12)
    # A warm pad: the fundamental, a quiet octave, and a slow swell in and out.
    envelope = np.minimum(1.0, t / 0.25) * np.minimum(1.0, (seconds - t) / 0.35)
    wave_ = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
    result: np.ndarray = wave_ * envelope
    return result


def _kick(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * _RATE)) / _RATE
    result: np.ndarray = np.sin(2 * np.pi * (50 + 70 * np.exp(-t * 30)) * t) * np.exp(-t * 9)
    return result


def _synthesise() -> np.ndarray:
    bar = 4 * 60 / _BPM
    beat = 60 / _BPM
    bars = [sum(_tone(n, bar) for n in chord) / len(chord) for chord in _CHORDS]
    pads = np.concatenate(bars) * 0.35
    drums = np.zeros_like(pads)
    kick = _kick(beat * 0.9)
    for i in range(int(len(_CHORDS) * 4)):
        if i % 2 == 0:  # kicks on beats one and three
            start = int(i * beat * _RATE)
            end = min(len(drums), start + len(kick))
            drums[start:end] += kick[: end - start] * 0.6
    mix = pads + drums
    peak = float(np.max(np.abs(mix))) or 1.0
    result: np.ndarray = mix / peak * 0.8
    return result


def lofi_loop(folder: Path) -> Path:
    """The loop's WAV file in ``folder``, written on first use."""
    path = folder / "lofi-loop.wav"
    with _lock:
        if path.is_file():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        samples = (_synthesise() * 32767).astype("<i2")
        stereo = np.repeat(samples[:, None], 2, axis=1)
        with replacing(path) as tmp, wave.open(str(tmp), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(_RATE)
            out.writeframes(stereo.tobytes())
    return path
