"""Photo in: validate by content, then decode upright, flattened and no larger than needed.

Every refusal is a :mod:`skill.errors` input error that names the file. Large JPEGs are decoded
at a reduced DCT scale (``draft``), so a 9000x12000 photo never exists at full size in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif
from numpy.typing import NDArray
from PIL import Image

from skill._data import load_yaml
from skill.errors import FileNotFound, FileTooLarge, InputError, UnsupportedFile

__all__ = ["Photo", "load_photo", "probe_image"]

# Opening HEIC/HEIF through Pillow needs the plugin registered; registering twice is harmless.
pillow_heif.register_heif_opener()


def _table() -> Mapping[str, Any]:
    return load_yaml("skill.local.render", "data/photo.yaml")


# Deliberately above any camera still (and the 108 MP of a 9000x12000 photo), below what a
# decompression bomb would ask for. Pillow raises past twice this value, warns past it.
Image.MAX_IMAGE_PIXELS = int(_table()["max_pixels"])


@dataclass(frozen=True)
class Photo:
    """A decoded photo: RGB pixels, and its alpha when it had real transparency."""

    rgb: NDArray[np.uint8]
    alpha: NDArray[np.uint8] | None
    format: str
    source_size: tuple[int, int]  # upright width, height of the file itself


def _message(key: str, **fields: Any) -> str:
    template = str(_table()["messages"][key])
    return template.format(accepted=_table()["accepted_human"], **fields)


def _sniff_kind(head: bytes) -> tuple[str | None, bool]:
    """What the leading bytes look like, and whether that is a photo format (so: damaged)."""
    for entry in _table()["signatures"]:
        magic = str(entry["magic"]).encode("latin-1")
        at = int(entry.get("at", 0))
        if head[at : at + len(magic)] == magic:
            return str(entry["kind"]), bool(entry.get("damaged", False))
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None, False
    return "a text file", False


def _check_path(path: Path) -> int:
    """The file's size; raises if it is missing, a folder, empty or over the limit."""
    shown = str(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileNotFound(path=shown) from None
    except OSError as exc:
        raise InputError(_message("unreadable", path=shown, reason=exc.strerror)) from None
    if path.is_dir():
        raise InputError(_message("folder", path=shown), path=shown)
    if not path.is_file():
        raise FileNotFound(path=shown)
    if stat.st_size == 0:
        raise InputError(_message("empty", path=shown), path=shown)
    limit = int(_table()["max_bytes"])
    if stat.st_size > limit:
        raise FileTooLarge(path=shown, size=f" ({stat.st_size / 2**20:.0f} MB)")
    return stat.st_size


def _open(path: Path) -> Image.Image:
    """Open (headers only) and check the format; raises a named error for anything else."""
    shown = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(_message("unreadable", path=shown, reason=exc.strerror)) from None
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise InputError(_too_many_pixels(shown, None), path=shown) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        kind, is_photo = _sniff_kind(head)
        if is_photo:
            raise InputError(
                _message("damaged", path=shown, kind=kind, reason=_reason(exc)), path=shown
            ) from None
        key = "kind_other" if kind else "kind_unknown"
        raise UnsupportedFile(path=shown, kind=_message(key, kind=kind)) from None
    accepted: Mapping[str, str] = _table()["accepted"]
    if image.format not in accepted:
        image.close()
        kind = f"a {image.format} image" if image.format else "an image of an unknown kind"
        raise UnsupportedFile(path=shown, kind=_message("kind_pillow", kind=kind))
    return image


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


def _too_many_pixels(shown: str, size: tuple[int, int] | None) -> str:
    limit_mp = 2 * int(_table()["max_pixels"]) / 1e6
    megapixels = f"{size[0] * size[1] / 1e6:.0f}" if size else f"over {limit_mp:.0f}"
    return _message("too_many_pixels", path=shown, megapixels=megapixels, limit=f"{limit_mp:.0f}")


def _upright_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    if image.format == "HEIF":  # libheif has already applied the rotation
        return width, height
    orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def probe_image(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """``(format, width, height)`` of a still photo, checked by content, not by its name.

    ``format`` is one of ``jpeg png webp heic gif``; the size is as the photo is shown (EXIF
    rotation applied). Raises ``FileNotFound``, ``UnsupportedFile``, ``FileTooLarge`` or
    ``InputError``, each naming the file.
    """
    p = Path(path)
    _check_path(p)
    with _open(p) as image:
        width, height = _upright_size(image)
        return str(_table()["accepted"][image.format]), width, height


# EXIF orientation -> the transpose that shows the photo upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decode(image: Image.Image, shown: str, max_side: int) -> Image.Image:
    """Pixels, upright, reduced while decoding so the long side stays near ``max_side``."""
    # libheif applies a HEIC's rotation itself: applying EXIF's on top would turn it twice.
    orientation = 1 if image.format == "HEIF" else int(image.getexif().get(0x0112, 1))
    if image.format == "GIF":
        image.seek(0)
    elif image.format == "JPEG":
        # draft() picks the smallest DCT scale (1/2, 1/4, 1/8) still at least this big.
        width, height = image.size
        scale = max_side / max(width, height)
        if scale < 1:
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.load()
    except Image.DecompressionBombError:
        raise InputError(_too_many_pixels(shown, image.size), path=shown) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        kind = f"a {image.format} image"
        raise InputError(
            _message("damaged", path=shown, kind=kind, reason=_reason(exc)), path=shown
        ) from None
    see_through = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    wanted_mode = "RGBA" if see_through else "RGB"
    if image.mode != wanted_mode:
        image = image.convert(wanted_mode)
    factor = max(image.size) // max_side
    if factor >= 2:  # a box filter while still in Pillow, before anything is copied
        image = image.reduce(factor)
    transpose = _UPRIGHT.get(orientation)
    return image.transpose(transpose) if transpose is not None else image


def _split_alpha(image: Image.Image) -> tuple[NDArray[np.uint8], NDArray[np.uint8] | None]:
    """RGB, and the alpha channel if the photo is really see-through somewhere."""
    if image.mode != "RGBA":
        return np.asarray(image, dtype=np.uint8), None
    rgba = np.asarray(image, dtype=np.uint8)
    alpha = np.ascontiguousarray(rgba[:, :, 3])
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    if int(alpha.min()) >= 250:
        return rgb, None
    return rgb, alpha


def load_photo(path: str | os.PathLike[str], *, max_side: int) -> Photo:
    """Decode ``path`` upright, with its long side at most about ``2 * max_side`` pixels.

    Transparency is kept apart (the renderer uses it as the subject's outline and flattens the
    photo onto a soft backdrop); a GIF gives its first frame.
    """
    p = Path(path)
    shown = str(p)
    _check_path(p)
    with _open(p) as image:
        fmt = str(_table()["accepted"][image.format])
        source_size = _upright_size(image)
        decoded = _decode(image, shown, max_side)
        rgb, alpha = _split_alpha(decoded)
    return Photo(rgb=rgb, alpha=alpha, format=fmt, source_size=source_size)
