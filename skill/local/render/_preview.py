"""Pictures of a video to see its motion at a glance: a contact sheet of four frames, and a
heat map of how much each pixel moves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from skill.errors import FileNotFound, UnsupportedFile

from ._cv import cv2
from ._result import RenderResult
from ._yuv import planes_to_rgb

__all__ = ["make_heat_map", "make_preview", "read_frames"]

_THUMB_HEIGHT = 560
_GAP = 16
_CAPTION = 34
_BACKGROUND = (24, 24, 28)
_HEAT_SCALE = 4  # the heat map is measured and drawn at a quarter of the video's size
_HEAT_FLOOR = 8.0  # luma levels of change that glow fully, at the least


def read_frames(
    video: str | os.PathLike[str], indices: Sequence[int]
) -> dict[int, NDArray[np.uint8]]:
    """The RGB pictures at frame ``indices`` of ``video`` (decoded in order, from the start)."""
    path = Path(video)
    if not path.is_file():
        raise FileNotFound(path=str(path))
    wanted = set(indices)
    found: dict[int, NDArray[np.uint8]] = {}
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in wanted:
                    found[index] = planes_to_rgb(
                        np.asarray(frame.to_ndarray(format="yuv420p"), np.uint8)
                    )
                if len(found) == len(wanted):
                    break
    except av.FFmpegError:
        raise UnsupportedFile(
            path=str(path), kind=" (it is not a video the preview can read)"
        ) from None
    return found


def _frame_count(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 30)
        frames = stream.frames or int(float(container.duration or 0) / 1e6 * rate)
        return max(1, frames), rate


def make_preview(
    video_or_result: RenderResult | str | os.PathLike[str], png_path: str | os.PathLike[str]
) -> Path:
    """Write a 4-frame contact sheet of a rendered video to ``png_path``; return that path.

    Given a :class:`RenderResult`, the frames are the moments that show the motion best (rest,
    deepest squash, highest stretch, widest sway); given a path, four evenly spaced frames.
    """
    if isinstance(video_or_result, RenderResult):
        video = video_or_result.path
        picks = list(video_or_result.key_frames)
        rate = float(video_or_result.fps)
    else:
        video = Path(video_or_result)
        if not video.is_file():
            raise FileNotFound(path=str(video))
        count, rate = _frame_count(video)
        picks = [round(i * (count - 1) / 4) for i in range(4)]
    pictures = read_frames(video, picks)
    thumbs = []
    for index in picks:
        picture = pictures.get(index)
        if picture is None:
            continue
        image = Image.fromarray(picture)
        width = round(image.width * _THUMB_HEIGHT / image.height)
        thumbs.append((index, image.resize((width, _THUMB_HEIGHT), Image.Resampling.LANCZOS)))
    if not thumbs:
        raise UnsupportedFile(path=str(video), kind=" (it has no frames to preview)")
    sheet_w = sum(t.width for _, t in thumbs) + _GAP * (len(thumbs) + 1)
    sheet = Image.new("RGB", (sheet_w, _THUMB_HEIGHT + 2 * _GAP + _CAPTION), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(22)
    x = _GAP
    for index, thumb in thumbs:
        sheet.paste(thumb, (x, _GAP))
        label = f"{index / rate:.2f} s"
        draw.text(
            (x + thumb.width / 2, _GAP + _THUMB_HEIGHT + 8),
            label,
            fill=(200, 200, 205),
            font=font,
            anchor="ma",
        )
        x += thumb.width + _GAP
    out = Path(png_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def _video_path(video_or_result: RenderResult | str | os.PathLike[str]) -> Path:
    path = (
        video_or_result.path if isinstance(video_or_result, RenderResult) else Path(video_or_result)
    )
    if not path.is_file():
        raise FileNotFound(path=str(path))
    return path


def make_heat_map(
    video_or_result: RenderResult | str | os.PathLike[str], png_path: str | os.PathLike[str]
) -> Path:
    """Write a motion heat map of a video to ``png_path``; return that path.

    Each pixel's spread of brightness over the clip (its standard deviation), coloured from
    dark to glowing (OpenCV's INFERNO) over the first frame, dimmed: what stays still shows the
    photo, what moves glows. A loop repeats itself, so the whole clip measures one cycle.
    """
    video = _video_path(video_or_result)
    first: NDArray[np.uint8] | None = None
    total = total_sq = None
    count = 0
    try:
        with av.open(str(video)) as container:
            for frame in container.decode(video=0):
                planes = np.asarray(frame.to_ndarray(format="yuv420p"), np.uint8)
                small = (frame.width // _HEAT_SCALE, frame.height // _HEAT_SCALE)
                luma = cv2.resize(planes[: frame.height], small, interpolation=cv2.INTER_AREA)
                luma = luma.astype(np.float64)
                if first is None:
                    first = cv2.resize(planes_to_rgb(planes), small, interpolation=cv2.INTER_AREA)
                    total, total_sq = np.zeros_like(luma), np.zeros_like(luma)
                total += luma
                total_sq += luma * luma
                count += 1
    except av.FFmpegError:
        raise UnsupportedFile(
            path=str(video), kind=" (it is not a video that can be read)"
        ) from None
    if first is None or total is None or total_sq is None:
        raise UnsupportedFile(path=str(video), kind=" (it has no frames)")
    spread = np.sqrt(np.maximum(total_sq / count - (total / count) ** 2, 0.0))
    moving = spread[spread > 1.0]
    top = max(_HEAT_FLOOR, float(np.percentile(moving, 99))) if moving.size else _HEAT_FLOOR
    level = np.clip(spread / top, 0.0, 1.0)
    coloured = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    heat = cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB).astype(np.float64)
    weight = np.clip(level * 2.0, 0.0, 0.85)[..., None]
    blended = first.astype(np.float64) * 0.6 * (1 - weight) + heat * weight
    out = Path(png_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8)).save(out)
    return out
