"""The local renderer: a 5 s 1080x1920 loop from a 12-megapixel photo, end to end.

Baseline, measured in the same run: x264 alone encoding the same number of frames (150) at
the same settings, from frames already in memory. Reported: the median of several runs (other
work on the machine makes single runs noisy), the phase split, and the ratios.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data

from skill.local.render import render
from skill.local.render._encode import encoding_settings
from skill.local.render._yuv import rgb_to_planes

_RUNS = 5
_SIZE = (4000, 3000)  # 12 MP, a phone photo's shape


def _photo(folder: Path) -> Path:
    """The astronaut enlarged to 12 MP, saved as a phone would (JPEG, quality 90)."""
    pixels = data.astronaut()  # type: ignore[no-untyped-call]
    image = Image.fromarray(pixels).resize((_SIZE[1], _SIZE[1]), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", _SIZE, (120, 110, 100))
    canvas.paste(image, ((_SIZE[0] - _SIZE[1]) // 2, 0))
    path = folder / "photo_12mp.jpg"
    canvas.save(path, quality=90)
    return path


def _x264_alone(folder: Path, frames: int, preset: str) -> float:
    """Seconds for x264 to encode ``frames`` distinct 1080x1920 frames from memory."""
    pixels = data.astronaut()  # type: ignore[no-untyped-call]
    base = np.asarray(Image.fromarray(pixels).resize((1080, 1920)), dtype=np.uint8)
    pictures = []
    for index in range(frames):
        shifted = np.roll(base, int(6 * np.sin(index / 4)), axis=1)
        y, u, v = rgb_to_planes(shifted)
        pictures.append(np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(-1, 1080))
    started = time.perf_counter()
    with av.open(str(folder / "x264.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1080, 1920, "yuv420p"
        stream.options = {"crf": str(encoding_settings()["crf"]), "preset": preset}
        for index, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = _photo(folder)
        preset = str(encoding_settings()["preset"])
        totals: list[float] = []
        phases: dict[str, list[float]] = {}
        baselines: list[float] = []
        for run in range(_RUNS):
            result = render(photo, folder / f"out{run}.mp4", aspect="9:16", duration=5.0)
            totals.append(result.phases["total"])
            for name, value in result.phases.items():
                phases.setdefault(name, []).append(value)
            baselines.append(_x264_alone(folder, result.frames, preset))
        total = statistics.median(totals)
        baseline = statistics.median(baselines)
        split = {name: statistics.median(values) for name, values in phases.items()}
        encoding = split["encode"] + split["mux"]
        other = total - encoding
        print(f"render 5 s 1080x1920 from 12 MP JPEG: median {total:.2f} s over {_RUNS} runs")
        print("  phases (median s): " + ", ".join(f"{k} {v:.3f}" for k, v in split.items()))
        print(f"  x264 alone, {result.frames} frames, preset {preset}: median {baseline:.2f} s")
        print(f"  ratio render / x264 alone: {total / baseline:.2f}")
        print(f"  non-encoding work / x264-alone time: {other / baseline:.2f}")
        print(f"  runs: {', '.join(f'{t:.2f}' for t in totals)}")


if __name__ == "__main__":
    main()
