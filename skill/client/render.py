"""Fetching a finished render: streamed to a temporary file, resumed with Range, checked, renamed.

The partial file (``.NAME.part`` beside the destination) survives an interruption, so a later
``jiggle resume`` continues where the last attempt stopped instead of starting over. Beside it a
small record (``.NAME.part.json``) says which render and URL the bytes belong to and the
validator the server sent (``ETag`` / ``Last-Modified``): a partial file is continued only for
the same render, with ``If-Range``, so that a ``.part`` left by another render is never glued to
this one. The finished file must have the size the server announced and parse as an MP4 (an
``ftyp`` box first, a ``moov`` box somewhere, boxes that fill the file exactly) before it takes
the destination's name; a body longer than announced (or than :data:`MAX_DOWNLOAD_BYTES`) is cut.
Nothing is ever written at the destination itself except by that last rename.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from skill._atomic import write_json
from skill.client.models import DownloadProgress
from skill.errors import DownloadFailed, error_for_os_error
from skill.paths import unused_path

__all__ = ["MAX_DOWNLOAD_BYTES", "download_file", "mp4_problem", "partial_path"]

_log = logging.getLogger("skill.client")
_ATTEMPTS = 4
_BACKOFF_S = 0.5
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
# No rendered clip comes near this; a server that keeps sending is cut off here.
MAX_DOWNLOAD_BYTES = 2 * 1024**3
_PART_NAME_BYTES = 240  # ".NAME.part.json" must fit the 255 bytes of a file name


class _Incomplete(Exception):
    pass


class _Restart(Exception):
    """The partial file does not belong to what the server now sends: start over."""


@dataclass
class _PartRecord:
    """What the ``.part`` file holds: the render, the URL, and the server's validators."""

    render_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None

    @property
    def validator(self) -> str | None:
        """The ``If-Range`` value: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified


def partial_path(dest: Path) -> Path:
    """``.NAME.part`` beside ``dest`` (a long name is shortened with a hash to fit)."""
    return dest.with_name(f".{_part_stem(dest.name)}.part")


def _record_path(dest: Path) -> Path:
    return dest.with_name(f".{_part_stem(dest.name)}.part.json")


def _part_stem(name: str) -> str:
    if len(os.fsencode(f".{name}.part.json")) <= _PART_NAME_BYTES:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    short = os.fsencode(name)[:150].decode("utf-8", errors="ignore")
    return f"{short}~{digest}"


def download_file(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    render_id: str,
    headers: Mapping[str, str] | None = None,
    expected_size: int | None = None,
    progress: DownloadProgress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    overwrite: bool = True,
    max_bytes: int | None = None,
    verify: Callable[[Path], str | None] | None = None,
) -> Path:
    """Download ``url`` to ``dest``; raises DownloadFailed naming the render to resume.

    ``overwrite=False``: if a file appears at ``dest`` meanwhile, the video takes the next
    free name (the returned path). ``verify`` (default :func:`mp4_problem`) says what is wrong
    with the finished file, or None. A disk full, read-only folder or over-long name raises a
    :class:`~skill.errors.LocalFileError` naming the folder; nothing is left at ``dest``.
    """
    check = verify if verify is not None else mp4_problem
    cap = max_bytes if max_bytes is not None else MAX_DOWNLOAD_BYTES
    part, record_file = partial_path(dest), _record_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        record = _continuable(part, record_file, render_id, url)
        received = part.stat().st_size if record is not None else 0
        record = record or _PartRecord(render_id=render_id, url=url)
        failures = 0
        while True:
            try:
                received, total = _attempt(
                    client, url, part, record_file, record, received, expected_size, cap,
                    headers or {}, progress, render_id,
                )  # fmt: skip
                break
            except (httpx.HTTPError, _Incomplete, _Restart) as exc:
                if isinstance(exc, httpx.TooManyRedirects):
                    _discard(part, record_file)
                    raise DownloadFailed(
                        "the server redirected too many times", render_id=render_id
                    ) from None
                failures += 1
                if isinstance(exc, _Restart):
                    _discard(part, record_file)
                    record = _PartRecord(render_id=render_id, url=url)
                received = part.stat().st_size if part.exists() else 0
                _log.debug("download of %s stopped at %d bytes (%s)", render_id, received, exc)
                if failures >= _ATTEMPTS:
                    raise DownloadFailed(
                        f"the connection kept dropping ({received} bytes received)",
                        render_id=render_id,
                    ) from None
                sleep(_BACKOFF_S * 2 ** (failures - 1))
        size = part.stat().st_size
        for announced in (total, expected_size):
            if announced is not None and size != announced:
                _discard(part, record_file)
                raise DownloadFailed(f"got {size} bytes, expected {announced}", render_id=render_id)
        if size == 0:
            _discard(part, record_file)
            raise DownloadFailed("the file is empty", render_id=render_id)
        problem = check(part)
        if problem is not None:
            _discard(part, record_file)
            raise DownloadFailed(f"the file is not a playable MP4: {problem}", render_id=render_id)
        final = _place(part, dest, overwrite=overwrite)
        record_file.unlink(missing_ok=True)
        return final
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            _discard(part, record_file)  # give the space back; the render is kept to resume
        raise error_for_os_error(exc, folder=dest.parent.absolute(), render_id=render_id) from None


def _continuable(part: Path, record_file: Path, render_id: str, url: str) -> _PartRecord | None:
    """The record of a ``.part`` this download may continue, or None (then both are removed).

    Only a part of the same render is continued; without a validator to send as ``If-Range``,
    only from the same URL (a part left by an older jiggle has no record: it starts over).
    """
    if not part.exists():
        record_file.unlink(missing_ok=True)
        return None
    try:
        raw = json.loads(record_file.read_text(encoding="utf-8"))
        record = _PartRecord(
            render_id=str(raw["render_id"]),
            url=str(raw["url"]),
            etag=raw.get("etag"),
            last_modified=raw.get("last_modified"),
            total=raw.get("total") if isinstance(raw.get("total"), int) else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        record = None
    if (
        record is not None
        and record.render_id == render_id
        and (record.validator is not None or record.url == url)
    ):
        return record
    _log.info("a partial download at %s belongs to another render: starting over", part)
    _discard(part, record_file)
    return None


def _discard(part: Path, record_file: Path) -> None:
    for path in (part, record_file):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _place(part: Path, dest: Path, *, overwrite: bool) -> Path:
    """Give the finished file its name: replacing ``dest`` only when ``overwrite``; else
    linking it to the first free name (a link never replaces a file that appeared meanwhile)."""
    if overwrite:
        os.replace(part, dest)
        return dest
    target = dest
    for _ in range(1000):
        target = unused_path(target)
        try:
            os.link(part, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            if target.exists():  # no hard links here: check, then rename
                continue
            os.replace(part, target)
            return target
        part.unlink(missing_ok=True)
        return target
    raise DownloadFailed(f"no free name beside {dest}", render_id="")


def _attempt(
    client: httpx.Client,
    url: str,
    part: Path,
    record_file: Path,
    record: _PartRecord,
    received: int,
    expected_size: int | None,
    cap: int,
    headers: Mapping[str, str],
    progress: DownloadProgress | None,
    render_id: str,
) -> tuple[int, int | None]:
    request_headers = dict(headers)
    total = record.total
    if received:
        request_headers["Range"] = f"bytes={received}-"
        if record.validator is not None:
            request_headers["If-Range"] = record.validator
    with client.stream("GET", url, headers=request_headers) as response:
        status = response.status_code
        if status == 416 and received and total == received:
            return received, total  # already complete
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            start = int(match.group(1)) if match else -1
            if start != received:
                raise _Incomplete(f"the server resumed at {start}, not {received}")
            announced = int(match.group(3)) if match and match.group(3) != "*" else None
            if (record.etag and etag and etag != record.etag) or (
                total is not None and announced is not None and announced != total
            ):
                raise _Restart("the file on the server changed")
            total = announced if announced is not None else total
            mode = "ab"
        elif status == 200:
            received = 0  # the server ignored Range (or If-Range did not match): start over
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        elif status in (408, 429) or status >= 500:
            raise _Incomplete(f"HTTP {status}")
        else:
            # http_status lets the caller choose a fallback (a CDN 4xx: the API's own download).
            raise DownloadFailed(
                f"the server answered HTTP {status}", render_id=render_id, http_status=status
            )
        limit = min(x for x in (total, expected_size, cap) if x is not None)
        if total is not None and total > cap:
            raise DownloadFailed(
                f"the server announced {total} bytes, more than the {cap}-byte limit",
                render_id=render_id,
            )
        record.etag, record.last_modified, record.total = etag, last_modified, total
        write_json(record_file, asdict(record), sync=False)
        with part.open(mode) as handle:
            # No chunk_size: httpx would hold bytes back to fill a chunk and lose them on a cut.
            for chunk in response.iter_raw():
                if received + len(chunk) > limit:
                    handle.close()
                    _discard(part, record_file)
                    raise DownloadFailed(
                        f"the server kept sending past {limit} bytes; the download was cut",
                        render_id=render_id,
                    )
                handle.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    if total is not None and received < total:
        raise _Incomplete(f"{received} of {total} bytes")
    return received, total


def mp4_problem(path: Path) -> str | None:
    """What keeps ``path`` from being an MP4, or None: a light walk over its top-level boxes
    (``ftyp`` first, a ``moov`` somewhere, each box inside the file, together filling it)."""
    size = path.stat().st_size
    kinds: list[bytes] = []
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(8)
            if len(header) < 8:
                return "it ends inside a box header"
            box_size, kind = struct.unpack(">I4s", header)
            if offset == 0 and kind != b"ftyp":
                return "it does not start with an MP4 'ftyp' box"
            if box_size == 1:
                large = handle.read(8)
                if len(large) < 8:
                    return "it ends inside a box header"
                box_size = struct.unpack(">Q", large)[0]
                if box_size < 16:
                    return "a box has an impossible size"
            elif box_size == 0:
                box_size = size - offset  # the last box runs to the end of the file
            elif box_size < 8:
                return "a box has an impossible size"
            if offset + box_size > size:
                return f"it is cut short (the '{_kind(kind)}' box runs past the end)"
            kinds.append(kind)
            offset += box_size
    if b"moov" not in kinds:
        return "it has no 'moov' box"
    return None


def _kind(kind: bytes) -> str:
    return kind.decode("latin-1") if kind.isascii() and kind.isalnum() else repr(kind)
