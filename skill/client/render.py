"""Fetching a finished render: streamed to a temporary file, resumed with Range, checked, renamed.

The partial file (``.NAME.part`` beside the destination) survives an interruption, so a later
``jiggle resume`` continues where the last attempt stopped instead of starting over.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from skill.client.models import DownloadProgress
from skill.errors import DownloadFailed

__all__ = ["download_file", "partial_path"]

_log = logging.getLogger("skill.client")
_ATTEMPTS = 4
_BACKOFF_S = 0.5
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class _Incomplete(Exception):
    pass


def partial_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.part")


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
) -> Path:
    """Download ``url`` to ``dest``; raises DownloadFailed naming the render to resume."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(dest)
    received = part.stat().st_size if part.exists() else 0
    total = expected_size
    failures = 0
    while True:
        try:
            received, total = _attempt(
                client, url, part, received, total, headers or {}, progress, render_id
            )
            break
        except (httpx.HTTPError, _Incomplete) as exc:
            failures += 1
            received = part.stat().st_size if part.exists() else 0
            _log.debug("download of %s stopped at %d bytes (%s)", render_id, received, exc)
            if failures >= _ATTEMPTS:
                raise DownloadFailed(
                    f"the connection kept dropping ({received} bytes received)",
                    render_id=render_id,
                ) from None
            sleep(_BACKOFF_S * 2 ** (failures - 1))
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink(missing_ok=True)
        raise DownloadFailed(f"got {size} bytes, expected {expected_size}", render_id=render_id)
    if size == 0:
        part.unlink(missing_ok=True)
        raise DownloadFailed("the file is empty", render_id=render_id)
    os.replace(part, dest)
    return dest


def _attempt(
    client: httpx.Client,
    url: str,
    part: Path,
    received: int,
    total: int | None,
    headers: Mapping[str, str],
    progress: DownloadProgress | None,
    render_id: str,
) -> tuple[int, int | None]:
    request_headers = dict(headers)
    if received:
        request_headers["Range"] = f"bytes={received}-"
    with client.stream("GET", url, headers=request_headers) as response:
        status = response.status_code
        if status == 416 and received and total == received:
            return received, total  # already complete
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            start = int(match.group(1)) if match else -1
            if start != received:
                raise _Incomplete(f"the server resumed at {start}, not {received}")
            if match and match.group(3) != "*":
                total = int(match.group(3))
            mode = "ab"
        elif status == 200:
            received = 0  # the server ignored Range: start over
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else total
            mode = "wb"
        elif status in (408, 429) or status >= 500:
            raise _Incomplete(f"HTTP {status}")
        else:
            raise DownloadFailed(f"the server answered HTTP {status}", render_id=render_id)
        with part.open(mode) as handle:
            # No chunk_size: httpx would hold bytes back to fill a chunk and lose them on a cut.
            for chunk in response.iter_raw():
                handle.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    if total is not None and received < total:
        raise _Incomplete(f"{received} of {total} bytes")
    return received, total
