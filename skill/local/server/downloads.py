"""The download origin, a CDN stand-in: rendered videos and uploaded media, no token needed,
``Range`` requests answered 206. The ``download-cut`` fault drops the connection mid-file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from skill.local.server.chat import IntentionalCut
from skill.local.server.envelope import EXCEPTION_HANDLERS, ApiFailure
from skill.local.server.service import Call, Service

__all__ = ["build_download_app", "file_response"]


def build_download_app(svc: Service) -> Starlette:
    """The download origin (a CDN stand-in): rendered videos and uploaded media, no token,
    Range requests supported."""
    store = svc.store

    async def rendered(request: Request) -> Response:
        call = svc.begin(request, "download")
        key = request.path_params["key"]
        with store.lock:
            job = next((j for j in store.renders.values() if j.key == key), None)
            if job is None or job.status != "completed" or job.output is None:
                raise ApiFailure(
                    4004, "No such video here. Poll the render for its URL.", status=404
                )
            path = store.path_of(job.output)
        return file_response(path, f"{job.id}.mp4", call)

    async def uploaded(request: Request) -> Response:
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


def file_response(path: Path, filename: str, call: Call) -> Response:
    shown: dict[str, Any] = {
        "media_type": "video/mp4" if filename.endswith(".mp4") else None,
        "filename": filename,
        "content_disposition_type": "inline",
    }
    cut = call.fired("download-cut")
    if cut is None:
        return FileResponse(path, **shown)
    cut_after = int(cut.value) if cut.value is not None else path.stat().st_size // 2
    return _CutFileResponse(path, cut_after=cut_after, **shown)
