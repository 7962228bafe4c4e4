"""The download origin, a CDN stand-in: rendered videos and uploaded media, no token needed,
``Range`` requests answered 206. The ``download-cut`` fault drops the connection mid-file.

A CDN needs neither the API token nor the ``X-Skill-*`` attribution, and a client must send it
neither. This origin notes, for its last requests, the names of such headers it received (never
their values); ``GET /_jiggle/received`` lists them, so a test can check what reached it.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from skill.local.server.chat import IntentionalCut
from skill.local.server.envelope import EXCEPTION_HANDLERS, ApiFailure
from skill.local.server.media import sniff
from skill.local.server.service import Call, Service, public_render_id
from skill.protocol import media_formats

__all__ = ["build_download_app", "file_response", "not_for_a_cdn", "safe_media_type"]

_RECEIVED_KEPT = 200


def not_for_a_cdn(headers: Mapping[str, str]) -> list[str]:
    """The names (lowercase, sorted) of the headers a CDN must not get: Authorization, X-Skill-*."""
    return sorted(
        {
            name.lower()
            for name in headers
            if name.lower() == "authorization" or name.lower().startswith("x-skill-")
        }
    )


def build_download_app(svc: Service) -> Starlette:
    """The download origin (a CDN stand-in): rendered videos and uploaded media, no token,
    Range requests supported."""
    store = svc.store
    received: deque[dict[str, Any]] = deque(maxlen=_RECEIVED_KEPT)
    received_lock = threading.Lock()

    def note(request: Request, kind: str) -> None:
        with received_lock:
            received.append({"kind": kind, "forbidden_headers": not_for_a_cdn(request.headers)})

    async def received_list(request: Request) -> Response:
        with received_lock:
            return JSONResponse({"requests": list(received)})

    async def rendered(request: Request) -> Response:
        note(request, "render")
        call = svc.begin(request, "download")
        key = request.path_params["key"]
        with store.lock:
            job = next((j for j in store.renders.values() if j.key == key), None)
            if job is None or job.status != "completed" or job.output is None:
                raise ApiFailure(
                    4004, "No such video here. Poll the render for its URL.", status=404
                )
            path = store.path_of(job.output)
        return file_response(path, f"{public_render_id(job)}.mp4", call)

    async def uploaded(request: Request) -> Response:
        note(request, "media")
        call = svc.begin(request, "download")
        key = request.path_params["key"]
        with store.lock:
            media = next((m for m in store.media.values() if m.key == key), None)
            if media is None:
                raise ApiFailure(4004, "No such file here.", status=404)
            path = store.path_of(media.path)
        return file_response(path, media.filename, call)

    routes = [
        Route("/r/{key}/{name}", rendered, methods=["GET", "HEAD"]),
        Route("/m/{key}/{name}", uploaded, methods=["GET", "HEAD"]),
        Route("/_jiggle/received", received_list, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)


class _CutFileResponse(FileResponse):
    """A file response that drops the connection after ``cut_after`` body bytes."""

    def __init__(self, path: Path, *, cut_after: int, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.cut_after = cut_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self.cut_after

        async def limited(message: Message) -> None:
            nonlocal budget
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if len(body) >= budget:
                    await send(
                        {"type": "http.response.body", "body": body[:budget], "more_body": True}
                    )
                    raise IntentionalCut("download-cut")
                budget -= len(body)
            await send(message)

        await super().__call__(scope, receive, limited)


# The only types served as themselves: the formats an upload may have (by content, see
# skill.protocol) and the renders. Anything else is application/octet-stream.
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]")


def safe_media_type(path: Path) -> str:
    """The file's type by its content, only among the accepted ones; else octet-stream."""
    try:
        found = sniff(path)
    except OSError:
        found = None
    return media_formats()[found[0]].mime if found is not None else _OCTET


_OCTET = "application/octet-stream"


def _attachment(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 / 5987)."""
    ascii_name = _NAME_UNSAFE.sub("_", filename).strip(" .") or "download"
    quoted = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


def file_response(path: Path, filename: str, call: Call) -> Response:
    """The file as a download: a safe content type, never sniffed, never shown inline."""
    shown: dict[str, Any] = {
        "media_type": safe_media_type(path),
        "headers": {
            "Content-Disposition": _attachment(filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    }
    cut = call.fired("download-cut")
    if cut is None:
        return FileResponse(path, **shown)
    cut_after = int(cut.value) if cut.value is not None else path.stat().st_size // 2
    return _CutFileResponse(path, cut_after=cut_after, **shown)
