"""A preview image of a finished video: a few frames side by side, to see the motion at a glance.

It decodes the MP4 the backend delivered (cloud or local alike), so it needs PyAV and Pillow
from the ``local`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skill.errors import InputError

__all__ = ["write_preview"]

_FRAMES = 4
_THUMB_HEIGHT = 640
_GAP = 8


def write_preview(video: Path, target: Path, *, frames: int = _FRAMES) -> Path:
    """Write ``frames`` evenly spaced frames of ``video`` as one PNG strip at ``target``."""
    try:
        import av
        from PIL import Image
    except ImportError:
        raise InputError(
            "a preview image needs the local extra: pip install 'image-to-video-ai-jiggle[local]'"
        ) from None
    pictures: list[Any] = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        total = stream.frames or _estimated_frames(container, stream)
        wanted = {min(total - 1, index * total // frames) for index in range(frames)}
        frame: Any
        for number, frame in enumerate(container.decode(stream)):
            if number in wanted:
                pictures.append(frame.to_image())
            if len(pictures) == len(wanted):
                break
    if not pictures:
        raise InputError(f"{video}: the video has no frames to preview")
    frames = len(pictures)
    width, height = pictures[0].size
    thumb_w = max(1, round(width * _THUMB_HEIGHT / height))
    sheet = Image.new(
        "RGB", (frames * thumb_w + (frames - 1) * _GAP, _THUMB_HEIGHT), (255, 255, 255)
    )
    for index, picture in enumerate(pictures):
        sheet.paste(picture.resize((thumb_w, _THUMB_HEIGHT)), (index * (thumb_w + _GAP), 0))
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    sheet.save(temporary, format="PNG")
    temporary.replace(target)
    return target


def _estimated_frames(container: Any, stream: Any) -> int:
    """Frame count from the duration when the container does not record it."""
    seconds = (container.duration or 0) / 1_000_000
    rate = float(stream.average_rate or 30)
    return max(1, round(seconds * rate))
