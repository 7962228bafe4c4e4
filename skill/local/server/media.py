"""What an uploaded file is: its format by content (``media_types.yaml``), then its size in
pixels and its length, read by the renderer's probe (stills) or PyAV (clips and sounds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skill._data import load_yaml

__all__ = ["MediaInfo", "inspect_media", "sniff"]

_HEAD_BYTES = 4096


@dataclass(frozen=True)
class MediaInfo:
    format: str
    kind: str  # image | video | audio
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def _table() -> list[dict[str, Any]]:
    types: list[dict[str, Any]] = load_yaml("skill.local.server", "media_types.yaml")["types"]
    return types


def _sync_kind(head: bytes) -> str | None:
    """``adts`` or ``mpeg`` for a file that starts with an MPEG audio frame header."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x03
    return "adts" if layer == 0 else "mpeg"


def _matches(entry: dict[str, Any], head: bytes) -> bool:
    if "sync" in entry:
        return _sync_kind(head) == str(entry["sync"])
    for offset, hexbytes in entry.get("magic", []):
        wanted = bytes.fromhex(hexbytes)
        if head[offset : offset + len(wanted)] != wanted:
            return False
    brands = entry.get("brands")
    if brands is not None and head[8:12].decode("latin-1") not in brands:
        return False
    contains = entry.get("contains")
    return not contains or str(contains).encode() in head[:64]


def sniff(path: Path) -> tuple[str, str] | None:
    """``(format, kind)`` of the file by its first bytes, ``None`` when it is none we accept."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    for entry in _table():
        if _matches(entry, head):
            return str(entry["format"]), str(entry["kind"])
    return None


def inspect_media(path: Path) -> MediaInfo | None:
    """The file's format, kind and dimensions; ``None`` when it is not a file we can use
    (unknown signature, or a known one that does not decode)."""
    found = sniff(path)
    if found is None:
        return None
    fmt, kind = found
    try:
        if kind == "image":
            from skill.local.render import probe_image

            _, width, height = probe_image(path)
            return MediaInfo(fmt, kind, int(width), int(height))
        return _probe_av(path, fmt, kind)
    except Exception:  # any decoder failure means "not a usable file of that type"
        return None


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
