"""H.264 in MP4: one motion cycle encoded, its packets laid down once per repeat.

The motion repeats exactly every cycle, so a clip of N cycles is N copies of one closed GOP
that starts with an IDR frame: joining them needs no re-encoding, and x264 runs on one cycle's
frames only. The stream is tagged BT.709, TV range (what :mod:`._yuv` produces), with the
``moov`` atom first (``+faststart``) so players start before the download ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from skill._data import load_yaml

from ._audio import encode_audio
from ._motion import LoopPlan

__all__ = ["encode_video", "encoding_settings"]

# BT.709 for primaries, transfer and matrix; 1 is "MPEG" (TV) range in FFmpeg's enums.
_BT709 = 1
_TV_RANGE = 1


def encoding_settings() -> Mapping[str, Any]:
    return load_yaml("skill.local.render", "data/encoding.yaml")


@dataclass(frozen=True)
class _Packet:
    data: bytes
    pts: int
    dts: int
    keyframe: bool


@dataclass
class EncodeTimes:
    """Seconds spent making frames, waiting on the encoder, and muxing."""

    compose: float = 0.0
    encode: float = 0.0
    mux: float = 0.0


def _video_stream(container: Any, plan: LoopPlan, width: int, height: int) -> Any:
    settings = encoding_settings()
    long = plan.cycle_frames > int(settings["long_frames"])
    stream = container.add_stream("libx264", rate=plan.fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {
        "crf": str(settings["crf"]),
        "preset": str(settings["long_preset" if long else "preset"]),
        # One closed GOP per cycle: the first frame is the only keyframe x264 chooses.
        "g": str(max(plan.cycle_frames, 1)),
        "bf": "2",
    }
    context = stream.codec_context
    context.color_primaries = _BT709
    context.color_trc = _BT709
    context.colorspace = _BT709
    context.color_range = _TV_RANGE
    return stream


def _encode_cycle(
    stream: Any,
    plan: LoopPlan,
    frame_at: Callable[[int], NDArray[np.uint8]],
    times: EncodeTimes,
    progress: Callable[[float], None],
) -> list[_Packet]:
    packets: list[_Packet] = []

    def keep(encoded: Iterator[Any]) -> None:
        for packet in encoded:
            packets.append(_Packet(bytes(packet), packet.pts, packet.dts, packet.is_keyframe))

    for index in range(plan.cycle_frames):
        started = time.perf_counter()
        picture = frame_at(index)
        frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
        frame.pts = index
        frame.time_base = Fraction(1, plan.fps)
        composed = time.perf_counter()
        keep(stream.encode(frame))
        times.compose += composed - started
        times.encode += time.perf_counter() - composed
        progress((index + 1) / plan.cycle_frames)
    started = time.perf_counter()
    keep(stream.encode(None))
    times.encode += time.perf_counter() - started
    return packets


def encode_video(
    path: Path,
    plan: LoopPlan,
    size: tuple[int, int],
    frame_at: Callable[[int], NDArray[np.uint8]],
    *,
    audio: Path | None = None,
    audio_volume: float = 1.0,
    progress: Callable[[float], None] = lambda _: None,
) -> EncodeTimes:
    """Write ``plan.frames`` frames (``frame_at(i)`` for one cycle, repeated) to ``path``."""
    times = EncodeTimes()
    width, height = size
    duration = plan.frames / plan.fps
    settings = encoding_settings()
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = _video_stream(container, plan, width, height)
        sound: list[Any] = []
        if audio is not None:
            sound = encode_audio(container, audio, duration, audio_volume, settings)
        packets = _encode_cycle(stream, plan, frame_at, times, lambda f: progress(0.95 * f))
        started = time.perf_counter()
        tick = Fraction(1, plan.fps)
        pending = iter(sound)
        next_sound = next(pending, None)
        for repeat in range(plan.repeats):
            offset = repeat * plan.cycle_frames
            for packet in packets:
                out = av.Packet(packet.data)
                out.stream = stream
                out.time_base = tick
                out.pts, out.dts = packet.pts + offset, packet.dts + offset
                out.is_keyframe = packet.keyframe
                # Sound goes in as its time comes up, so the two stay interleaved.
                now = (packet.dts + offset) * tick
                while next_sound is not None and next_sound.dts * next_sound.time_base <= now:
                    container.mux(next_sound)
                    next_sound = next(pending, None)
                container.mux(out)
        while next_sound is not None:
            container.mux(next_sound)
            next_sound = next(pending, None)
    times.mux = time.perf_counter() - started
    progress(1.0)
    return times
