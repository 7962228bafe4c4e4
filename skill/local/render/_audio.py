"""Sound for the loop: any file FFmpeg reads, looped or trimmed to the clip, scaled, as AAC."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from skill.errors import FileNotFound, InputError, UnsupportedFile

__all__ = ["encode_audio", "read_audio"]

_CHUNK = 1024  # samples per AAC frame


def read_audio(path: Path, rate: int) -> NDArray[np.float32]:
    """The whole sound as float32 stereo at ``rate``, shape (2, samples)."""
    shown = str(path)
    if not path.is_file():
        raise FileNotFound(path=shown)
    try:
        with av.open(str(path)) as source:
            if not source.streams.audio:
                raise UnsupportedFile(
                    path=shown, kind=" (it has no sound track; use a WAV, MP3 or M4A file)"
                )
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
            chunks: list[NDArray[np.float32]] = []
            for frame in source.decode(source.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().astype(np.float32, copy=False))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().astype(np.float32, copy=False))
    except av.FFmpegError:
        raise UnsupportedFile(
            path=shown, kind=" (it is not a sound file the renderer can read: use WAV, MP3 or M4A)"
        ) from None
    if not chunks:
        raise InputError(f"{shown} holds no sound. Use a WAV, MP3 or M4A file with audio in it.")
    return np.concatenate(chunks, axis=1)


def _fit(sound: NDArray[np.float32], samples: int, fade: int) -> NDArray[np.float32]:
    """Loop or trim to ``samples``, with short fades wherever the sound starts or stops."""
    ramp = np.linspace(0.0, 1.0, max(1, min(fade, sound.shape[1] // 4)), dtype=np.float32)
    piece = sound.copy()
    piece[:, : len(ramp)] *= ramp
    piece[:, piece.shape[1] - len(ramp) :] *= ramp[::-1]
    repeats = -(-samples // piece.shape[1])
    fitted = np.tile(piece, (1, repeats))[:, :samples].copy()
    fitted[:, samples - len(ramp) :] *= ramp[::-1]  # the clip's own end, if it cut the sound
    return fitted


def encode_audio(
    container: Any, path: Path, duration: float, volume: float, settings: Mapping[str, Any]
) -> list[Any]:
    """Add an AAC stream to ``container`` and return its packets, in order, for muxing."""
    rate = int(settings["audio_rate"])
    samples = round(duration * rate)
    sound = read_audio(path, rate) * float(max(0.0, volume))
    fitted = np.clip(
        _fit(sound, samples, round(float(settings["audio_fade_seconds"]) * rate)), -1, 1
    )
    stream = container.add_stream("aac", rate=rate)
    stream.layout = "stereo"
    stream.bit_rate = int(settings["audio_bitrate"])
    packets: list[Any] = []
    for start in range(0, samples, _CHUNK):
        block = np.ascontiguousarray(fitted[:, start : start + _CHUNK])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        frame.sample_rate = rate
        frame.pts = start
        packets.extend(stream.encode(frame))
    packets.extend(stream.encode(None))
    return packets
