"""What an uploaded file is: its format by content (:func:`skill.protocol.sniff`), then its size in
pixels and its length, read by the renderer's probe (stills) or PyAV (clips and sounds).

:func:`check_upload` is the upload's gate: a photo's pixel count is read from its header and
refused above the limit *before* anything is decoded, then the photo is decoded in full (at a
reduced JPEG scale, which still reads every byte), so a truncated or damaged file is refused at
upload, never charged for and failed at render time. Messages name the file as the client
sent it, never a path on the server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from skill.local.server.envelope import ApiFailure
from skill.protocol import ACCEPTED_FORMATS, ApiCode
from skill.protocol import sniff as sniff_head

__all__ = ["MediaInfo", "check_upload", "sniff"]

# The decode check works at this size or a little more (JPEG: a reduced DCT scale).
_CHECK_SIDE = 1024

_HEAD_BYTES = 4096


@dataclass(frozen=True)
class MediaInfo:
    format: str
    kind: str  # image | video | audio
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def sniff(path: Path) -> tuple[str, str] | None:
    """``(format, kind)`` of the file by its first bytes, ``None`` when it is none we accept."""
    with path.open("rb") as handle:
        found = sniff_head(handle.read(_HEAD_BYTES))
    return (found.name, found.kind) if found is not None else None


def _probe_av(path: Path, fmt: str, kind: str) -> MediaInfo | None:
    import av

    with av.open(str(path)) as container:
        duration = float(container.duration) / 1_000_000 if container.duration else None
        if kind == "video":
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            return MediaInfo(fmt, kind, int(stream.width), int(stream.height), duration)
        if not container.streams.audio:
            return None
        return MediaInfo(fmt, kind, None, None, duration)


def _unsupported(filename: str) -> ApiFailure:
    return ApiFailure(
        ApiCode.UNSUPPORTED_FILE,
        f"{filename} is not a supported file (checked by its content). "
        f"Send one of: {ACCEPTED_FORMATS}.",
        data={"filename": filename},
    )


def _too_many_pixels(filename: str, size: tuple[int, int] | None, limit: int) -> ApiFailure:
    shown = f" ({size[0]}x{size[1]}, {size[0] * size[1] / 1e6:.0f} megapixels)" if size else ""
    return ApiFailure(
        ApiCode.UNSUPPORTED_FILE,
        f"{filename} has too many pixels{shown}: the limit is {limit / 1e6:g} megapixels. "
        "Scale the photo down and upload it again.",
        data={"filename": filename, "max_pixels": limit, "size": list(size) if size else None},
    )


def _damaged(filename: str, fmt: str) -> ApiFailure:
    return ApiFailure(
        ApiCode.UNSUPPORTED_FILE,
        f"{filename} is a damaged or incomplete {fmt.upper()} file (it does not decode to the "
        "end); nothing was charged. Export the photo again, then upload it.",
        data={"filename": filename},
    )


def _check_image(path: Path, filename: str, fmt: str, max_pixels: int) -> MediaInfo:
    from PIL import Image

    from skill.local.render import probe_image  # registers the HEIC opener, sets Pillow's cap

    try:
        image = Image.open(path)
    except Image.DecompressionBombError:  # past Pillow's own cap, which is above ours
        raise _too_many_pixels(filename, None, max_pixels) from None
    except Exception:
        raise _damaged(filename, fmt) from None
    with image:
        width, height = image.size
        if width * height > max_pixels:  # from the header: nothing is decoded yet
            raise _too_many_pixels(filename, (width, height), max_pixels)
        try:
            if image.format == "JPEG":
                scale = _CHECK_SIDE / max(width, height, 1)
                if scale < 1:
                    image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            image.load()
        except Image.DecompressionBombError:
            raise _too_many_pixels(filename, (width, height), max_pixels) from None
        except Exception:
            raise _damaged(filename, fmt) from None
    try:
        _, shown_width, shown_height = probe_image(path)  # upright, EXIF rotation applied
    except Exception:
        raise _damaged(filename, fmt) from None
    return MediaInfo(fmt, "image", int(shown_width), int(shown_height))


def check_upload(path: Path, filename: str, *, max_pixels: int) -> MediaInfo:
    """What the uploaded file at ``path`` is; raises a 4001 :class:`ApiFailure` naming
    ``filename`` when it is none we accept, a photo over ``max_pixels``, or a photo that does
    not decode to the end."""
    found = sniff(path)
    if found is None:
        raise _unsupported(filename)
    fmt, kind = found
    if kind == "image":
        return _check_image(path, filename, fmt, max_pixels)
    try:
        info = _probe_av(path, fmt, kind)
    except Exception:  # any decoder failure means "not a usable file of that type"
        info = None
    if info is None:
        raise _unsupported(filename)
    return info
