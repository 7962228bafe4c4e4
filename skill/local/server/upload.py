"""Uploads, streamed to disk: multipart ``files`` parts (python-multipart, chunk by chunk, never
the whole body in memory) or JSON ``{"urls": [...], "source_type": "url"}`` (the shape every
public NemoVideo example sends; without ``source_type`` it is refused with 4000) with ``file://``
and loopback ``http://``
URLs only (the local backend never fetches anything from the internet). ``file://`` is read
only below the folders the operator allowed (``ServerConfig.file_roots``), for clients on this
machine; a path outside them is refused with one message whether it exists or not.

A body that stalls (no byte for ``idle`` seconds) or takes longer than ``deadline`` in all is
abandoned with 408; the server's own download of an upload URL has the same bounds.

The size limit is enforced while the bytes arrive: a part over the limit stops being written,
its partial file is removed, the rest of the body is read and dropped (so the client reads the
answer instead of a reset connection), and the request fails with 4002.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
import shutil
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from skill.local.server.envelope import ApiFailure
from skill.protocol import ApiCode

__all__ = [
    "URL_SOURCE_TYPE",
    "Received",
    "discard",
    "is_loopback",
    "move_into",
    "receive_multipart",
    "receive_urls",
    "safe_filename",
    "timed_stream",
    "url_list",
]

_CHUNK = 64 * 1024
# After a part goes over the limit, read at most this much more before giving up on the body.
_DRAIN_LIMIT = 1024 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\- ()\[\]+@,]", re.UNICODE)
_MAX_NAME = 120
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
URL_SOURCE_TYPE = "url"
_URL_SHAPE = '{"urls": ["file:///path/photo.jpg"], "source_type": "url"}'


def url_list(body: dict[str, Any]) -> list[Any]:
    """The ``urls`` of a JSON upload body, checked as the cloud does: a non-empty list and
    ``"source_type": "url"`` beside it."""
    urls = body.get("urls")
    if not isinstance(urls, list) or not urls:
        raise ApiFailure(ApiCode.BAD_REQUEST, f"Send JSON like {_URL_SHAPE}.")
    source_type = body.get("source_type")
    if source_type != URL_SOURCE_TYPE:
        said = "is missing" if source_type is None else f"is {str(source_type)[:40]!r}"
        raise ApiFailure(
            ApiCode.BAD_REQUEST,
            f'"source_type" {said}: a URL upload must say "source_type": "url", like {_URL_SHAPE}.',
        )
    return urls


@dataclass
class Received:
    """One file written to disk; ``path`` is a temporary file the caller moves or removes."""

    filename: str
    path: Path
    size: int
    sha256: str


def safe_filename(raw: str | None, fallback: str = "upload") -> str:
    """The last path component of ``raw``, with characters that could harm a path replaced."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE.sub("_", name).lstrip(".")
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: _MAX_NAME - len(ext) - 1] + dot + ext) if dot else name[:_MAX_NAME]
    return name or fallback


def _too_large(filename: str, limit: int) -> ApiFailure:
    return ApiFailure(
        ApiCode.FILE_TOO_LARGE,
        f"{filename} is larger than {limit // (1024 * 1024)} MB, the limit per file. Compress the "
        "photo or trim the clip, then upload it again.",
        data={"filename": filename, "max_bytes": limit},
    )


def discard(received: list[Received]) -> None:
    for item in received:
        item.path.unlink(missing_ok=True)


class _PartWriter:
    """The callbacks python-multipart calls while it parses; writes each file part to disk."""

    def __init__(self, dest: Path, limit: int) -> None:
        self.dest = dest
        self.limit = limit
        self.done: list[Received] = []
        self.too_large: str | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._file: IO[bytes] | None = None
        self._name = ""
        self._path: Path | None = None
        self._size = 0
        self._hash = hashlib.sha256()
        self._skipping = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._header_field = self._header_value = b""

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        field = params.get(b"name", b"").decode("utf-8", "replace")
        raw_name = params.get(b"filename")
        self._skipping = self.too_large is not None or (raw_name is None and field != "files")
        if self._skipping:
            return
        self._name = safe_filename(raw_name.decode("utf-8", "replace") if raw_name else None)
        self._path = self.dest / f".part-{len(self.done)}-{id(self)}"
        self._file = self._path.open("wb")
        self._size = 0
        self._hash = hashlib.sha256()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skipping or self._file is None:
            return
        self._size += end - start
        if self._size > self.limit:
            self.too_large = self._name
            self._abandon()
            return
        chunk = data[start:end]
        self._file.write(chunk)
        self._hash.update(chunk)

    def _part_end(self) -> None:
        if self._file is None or self._path is None:
            return
        self._file.close()
        self.done.append(Received(self._name, self._path, self._size, self._hash.hexdigest()))
        self._file = None
        self._path = None

    def _abandon(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._file = None
        self._path = None
        self._skipping = True

    def close(self) -> None:
        """Drop whatever is half-written (an interrupted body)."""
        self._abandon()


def _timed_out(what: str, seconds: float) -> ApiFailure:
    return ApiFailure(
        408,
        f"{what} took too long (nothing arrived for {seconds:g} s, or it went past its deadline); "
        "check the connection and send it again.",
        headers={"Connection": "close"},
    )


async def timed_stream(
    chunks: AsyncIterator[bytes], *, idle: float, deadline: float, what: str = "The request body"
) -> AsyncIterator[bytes]:
    """``chunks``, failing with 408 when the next one takes over ``idle`` seconds or all of
    them together over ``deadline`` seconds."""
    end = time.monotonic() + deadline
    iterator = aiter(chunks)
    while True:
        wait = min(idle, end - time.monotonic())
        if wait <= 0:
            raise _timed_out(what, idle)
        try:
            chunk = await asyncio.wait_for(anext(iterator), timeout=wait)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise _timed_out(what, idle) from None
        yield chunk


async def receive_multipart(
    request: Request,
    dest: Path,
    limit: int,
    *,
    idle: float = 30.0,
    deadline: float = 3600.0,
) -> list[Received]:
    """Every file part of a ``multipart/form-data`` body, streamed into ``dest``."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiFailure(
            ApiCode.BAD_REQUEST, "The multipart body has no boundary. Send multipart/form-data."
        )
    writer = _PartWriter(dest, limit)
    parser = MultipartParser(boundary, writer.callbacks())  # type: ignore[arg-type]
    drained = 0
    try:
        async for chunk in timed_stream(request.stream(), idle=idle, deadline=deadline):
            if writer.too_large is not None:
                drained += len(chunk)
                if drained > _DRAIN_LIMIT:
                    break
                continue
            parser.write(chunk)
        if writer.too_large is None:
            parser.finalize()
    except ApiFailure:
        discard(writer.done)
        raise
    except Exception as exc:  # a malformed body: python-multipart says why
        discard(writer.done)
        raise ApiFailure(
            ApiCode.BAD_REQUEST, f"The multipart body could not be parsed ({exc})."
        ) from None
    finally:
        writer.close()
    if writer.too_large is not None:
        discard(writer.done)
        raise _too_large(writer.too_large, limit)
    return writer.done


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _CappedCopy:
    """Chunks written to ``out``, counted against ``limit`` and hashed on the way."""

    def __init__(self, out: IO[bytes], limit: int, name: str) -> None:
        self._out = out
        self._limit = limit
        self._name = name
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise _too_large(self._name, self._limit)
        self._out.write(chunk)
        self._digest.update(chunk)

    def result(self) -> tuple[int, str]:
        return self._size, self._digest.hexdigest()


async def _fetch_http(
    url: str, out: IO[bytes], limit: int, name: str, idle: float, deadline: float
) -> tuple[int, str]:
    copy = _CappedCopy(out, limit, name)
    async with (
        httpx.AsyncClient(timeout=idle, follow_redirects=False, trust_env=False) as client,
        client.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise ApiFailure(
                ApiCode.BAD_REQUEST,
                f"{url} answered HTTP {response.status_code}; check the URL and retry.",
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(name, limit)
        body = timed_stream(
            response.aiter_bytes(_CHUNK), idle=idle, deadline=deadline, what=f"Reading {url}"
        )
        async for chunk in body:  # cut at the limit: an endless body stops there
            copy.write(chunk)
    return copy.result()


def _copy_file(source: Path, out: IO[bytes], limit: int, name: str) -> tuple[int, str]:
    if not source.is_file():  # below an allowed folder: saying so reveals nothing new
        raise ApiFailure(
            ApiCode.BAD_REQUEST, f"{name} does not exist or is not a file; check the path."
        )
    if source.stat().st_size > limit:
        raise _too_large(name, limit)
    copy = _CappedCopy(out, limit, name)
    with source.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            copy.write(chunk)
    return copy.result()


def _file_refused(url: str) -> ApiFailure:
    # One message whether the file exists or not: it must not tell what is on this machine.
    return ApiFailure(
        ApiCode.FORBIDDEN,
        f"{url}: this server does not read that path. file:// URLs are read only below the "
        "folders its operator allowed (serve-local --allow-files DIR). Upload the file itself "
        "instead.",
        status=403,
    )


def _allowed_file(url: str, raw: str, roots: Sequence[Path], forbidden: Sequence[Path]) -> Path:
    """The real path ``raw`` names (symlinks resolved), if it lies below one of ``roots`` and
    below none of ``forbidden``; else the refusal (the same whether the file exists or not)."""
    if not roots or "\x00" in raw:
        raise _file_refused(url)
    try:
        real = Path(raw).resolve()
    except (OSError, RuntimeError, ValueError):
        raise _file_refused(url) from None
    inside = any(real.is_relative_to(root.resolve()) for root in roots)
    if not inside or any(real.is_relative_to(place.resolve()) for place in forbidden):
        raise _file_refused(url)
    return real


async def receive_urls(
    urls: list[Any],
    dest: Path,
    limit: int,
    *,
    local: bool = True,
    file_roots: Sequence[Path] = (),
    forbidden: Sequence[Path] = (),
    idle: float = 30.0,
    deadline: float = 3600.0,
) -> list[Received]:
    """Each URL's content copied into ``dest``: ``file://`` paths (only when the client is
    ``local``, and only below ``file_roots``, never below ``forbidden``) and loopback
    ``http://`` (cut at ``limit`` bytes, within ``deadline`` seconds)."""
    received: list[Received] = []
    try:
        for index, url in enumerate(urls):
            if not isinstance(url, str) or not url:
                raise ApiFailure(
                    ApiCode.BAD_REQUEST, "Each entry of 'urls' must be a non-empty string."
                )
            parts = urllib.parse.urlsplit(url)
            name = safe_filename(urllib.parse.unquote(parts.path))
            if parts.scheme == "file" and not local:
                raise ApiFailure(
                    ApiCode.FORBIDDEN,
                    f"{url}: file:// URLs are only read for clients on this machine. "
                    "Upload the file itself instead.",
                    status=403,
                )
            source = Path()
            if parts.scheme == "file":
                if parts.netloc not in ("", "localhost"):
                    raise _file_refused(url)
                source = _allowed_file(
                    url, urllib.request.url2pathname(parts.path), file_roots, forbidden
                )
            elif not (parts.scheme == "http" and is_loopback(parts.hostname)):
                raise ApiFailure(
                    ApiCode.BAD_REQUEST,
                    f"{url}: the local backend only reads file:// and loopback http:// "
                    "URLs (it never fetches the internet). Upload the file itself instead.",
                )
            path = dest / f".url-{index}-{id(received)}"
            with path.open("wb") as out:
                try:
                    if parts.scheme == "file":
                        size, digest = _copy_file(source, out, limit, name)
                    else:
                        size, digest = await _fetch_http(url, out, limit, name, idle, deadline)
                except BaseException:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise
            received.append(Received(name, path, size, digest))
    except httpx.HTTPError as exc:
        discard(received)
        raise ApiFailure(
            ApiCode.BAD_REQUEST, f"Could not read the URL ({type(exc).__name__})."
        ) from None
    except BaseException:
        discard(received)
        raise
    return received


def move_into(item: Received, folder: Path) -> Path:
    """Move a received file to its final place, ``folder/filename``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / item.filename
    shutil.move(str(item.path), target)
    return target
