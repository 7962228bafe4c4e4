"""Checking files before they are sent, and streaming them with progress.

A file's type is read from its first bytes (the signatures of :mod:`skill.protocol`; a refused
file is named by the ``filetype`` package's guess), never from its name: ``cat.jpg`` that is
really a PDF is refused before a byte leaves the machine, and a PNG named ``cat.jpg`` is fine.
The size limit is the service's (200 MB per file).

No public list of the NemoVideo cloud's formats includes HEIC, so a HEIC/HEIF photo is converted
to JPEG (quality 95, its EXIF orientation applied to the pixels) before a cloud upload
(:func:`for_cloud`); the local backend takes HEIC as it is. Decoding HEIC needs Pillow and
pillow-heif (the ``local`` extra); without them the error says what to install.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype

from skill.errors import FileNotFound, FileTooLarge, InputError, UnsupportedFile
from skill.protocol import MAX_UPLOAD_MB, sniff

__all__ = [
    "HEIC_EXTRA",
    "MAX_UPLOAD_BYTES",
    "LocalFile",
    "ProgressReader",
    "for_cloud",
    "heic_to_jpeg",
    "is_url",
    "split_inputs",
    "validate",
]

MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
_HEAD_BYTES = 8192
# The extra that brings HEIC decoding (Pillow and pillow-heif), and how to install it.
HEIC_EXTRA = "local"
_HEIC_INSTALL = f"pip install 'image-to-video-ai-jiggle[{HEIC_EXTRA}]'"
_JPEG_QUALITY = 95


@dataclass(frozen=True)
class LocalFile:
    """A checked file: where it is, how big, and what it really is."""

    path: Path
    size: int
    kind: str
    mime: str

    @property
    def file_type(self) -> str:
        return self.mime.split("/", 1)[0]


def is_url(item: str | os.PathLike[str]) -> bool:
    text = str(item)
    return text.startswith(("http://", "https://"))


def split_inputs(items: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Local paths and URLs, each in the order given."""
    paths = [Path(item) for item in items if not is_url(item)]
    urls = [str(item) for item in items if is_url(item)]
    return paths, urls


def _size_text(size: int) -> str:
    return f" ({size / 1024 / 1024:.0f} MB)"


def validate(path: Path) -> LocalFile:
    """The file, checked: it exists, is at most 200 MB, and its bytes say an accepted type."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise FileNotFound(path=str(path)) from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise InputError(f"{path} is a folder; send the photos in it, e.g. {path / '*.jpg'}")
    if not path.is_file():
        raise FileNotFound(path=str(path))
    if stat.st_size > MAX_UPLOAD_BYTES:
        raise FileTooLarge(path=str(path), size=_size_text(stat.st_size))
    if stat.st_size == 0:
        raise UnsupportedFile(path=str(path), kind=" (the file is empty)")
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    accepted = sniff(head)
    if accepted is None:
        guess = filetype.guess(head)
        seen = f" (its content looks like {guess.extension})" if guess is not None else ""
        raise UnsupportedFile(path=str(path), kind=seen)
    return LocalFile(path=path, size=stat.st_size, kind=accepted.name, mime=accepted.mime)


def heic_to_jpeg(item: LocalFile, folder: Path) -> LocalFile:
    """``item`` (a HEIC/HEIF photo) as a JPEG in ``folder``, named after it (``IMG_1.jpg``):
    quality 95, the EXIF orientation applied to the pixels (a portrait photo stays upright),
    the colour profile kept. Raises :class:`InputError` naming the extra to install when
    HEIC cannot be decoded here, :class:`UnsupportedFile` when the file is not a readable one."""
    try:
        import pillow_heif
        from PIL import Image, ImageOps
    except ImportError:
        raise InputError(
            f"{item.path} is a HEIC photo, which the NemoVideo cloud does not take; jiggle "
            "converts it to JPEG first, and that needs Pillow and pillow-heif (the "
            f"'{HEIC_EXTRA}' extra): {_HEIC_INSTALL}. Or send the photo as JPEG or PNG"
        ) from None
    pillow_heif.register_heif_opener()
    target = folder / f"{item.path.stem or 'photo'}.jpg"
    try:
        with Image.open(item.path) as opened:
            upright = ImageOps.exif_transpose(opened) or opened
            icc = upright.info.get("icc_profile") or opened.info.get("icc_profile")
            options: dict[str, object] = {"quality": _JPEG_QUALITY}
            if isinstance(icc, bytes) and icc:
                options["icc_profile"] = icc
            upright.convert("RGB").save(target, "JPEG", **options)
    except (OSError, ValueError, Image.DecompressionBombError):
        target.unlink(missing_ok=True)
        raise UnsupportedFile(
            path=str(item.path), kind=" (it could not be read as a HEIC photo)"
        ) from None
    return validate(target)


def for_cloud(items: Sequence[LocalFile], folder: Path) -> list[LocalFile]:
    """``items`` as the cloud takes them: HEIC/HEIF photos converted to JPEG in ``folder``
    (every one before anything is sent), the others as they are."""
    converted: list[LocalFile] = []
    for index, item in enumerate(items):
        if item.kind != "heic":
            converted.append(item)
            continue
        own = folder / str(index)  # two IMG_1.heic from two folders keep their own JPEG
        own.mkdir(parents=True, exist_ok=True)
        converted.append(heic_to_jpeg(item, own))
    return converted


class ProgressReader:
    """A binary file that reports every read to ``on_read(byte_count)``.

    httpx's multipart encoder reads file parts in 64 KiB chunks, so wrapping the file keeps the
    upload streaming (memory does not grow with the file) while counting what was sent. A seek
    to the start (httpx rewinds before a retry) reports a negative count to undo the progress.
    """

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._position += len(chunk)
        if chunk:
            self._on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._raw.seek(offset, whence)
        if position < self._position:
            self._on_read(position - self._position)
        self._position = position
        return position

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()
