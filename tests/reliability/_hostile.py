"""A scripted (and, when told, hostile) NemoVideo service on loopback for the file-safety tests:
the few API endpoints a download or ``jiggle resume`` needs, and a download origin that can cut
bodies, lie about sizes, redirect, or send without end."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

TOKEN = "nmv_usr_filesafety00000001"


def make_mp4(path: Path, *, shade: int, frames: int = 12) -> Path:
    """A real, decodable MP4 (64x64 H.264): ``shade`` makes two of them differ."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 12)
        for index in range(frames):
            picture = np.full((64, 64, 3), (shade + 7 * index) % 256, dtype=np.uint8)
            picture[:, index * 4 : index * 4 + 8] = 255 - shade
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decodes(path: Path) -> int:
    """How many frames of ``path`` decode (raises if it is not a playable video)."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


@dataclass
class Script:
    """What the service answers; tests change it between calls."""

    files: dict[str, Path] = field(default_factory=dict)
    poll: dict[str, Any] = field(default_factory=dict)  # the render as the poll reports it
    export: dict[str, Any] = field(default_factory=dict)  # the submit answer
    cut: bool = False  # /dl/ bodies stop halfway (connection dropped)
    requests: list[dict[str, str]] = field(default_factory=list)  # /dl/ request headers
    endless_sent: int = 0
    tokens_issued: int = 0


def build_app(script: Script) -> Starlette:
    async def download(request: Request) -> Response:
        script.requests.append(dict(request.headers))
        path = script.files[request.path_params["name"]]
        if not script.cut:
            return FileResponse(path, media_type="video/mp4")
        full = FileResponse(path, stat_result=os.stat(path))  # the same validators as above
        data = path.read_bytes()

        async def half() -> AsyncIterator[bytes]:
            yield data[: len(data) // 2]
            await asyncio.sleep(0.05)
            raise RuntimeError("connection dropped mid-file")

        headers = {k: full.headers[k] for k in ("etag", "last-modified", "content-length")}
        return StreamingResponse(half(), media_type="video/mp4", headers=headers)

    async def truncated(request: Request) -> Response:
        """A CDN that caches half the file and says that is all of it."""
        data = script.files[request.path_params["name"]].read_bytes()
        return Response(data[: len(data) // 2], media_type="video/mp4")

    async def html(request: Request) -> Response:
        return Response("<html><body>Sign in to continue</body></html>" * 40)

    async def endless(request: Request) -> Response:
        async def forever() -> AsyncIterator[bytes]:
            chunk = b"\0" * 65536
            while script.endless_sent < 64 * 1024 * 1024:  # an old client would read it all
                if await request.is_disconnected():
                    return
                script.endless_sent += len(chunk)
                yield chunk

        return StreamingResponse(forever(), media_type="video/mp4")

    async def redirect(request: Request) -> Response:
        target = request.query_params.get("to", "/redirect")
        return RedirectResponse(target, status_code=302)

    async def evil_named(request: Request) -> Response:
        path = script.files[request.path_params["name"]]
        return FileResponse(
            path,
            media_type="video/mp4",
            filename="../../evil.mp4",
            content_disposition_type="attachment",
        )

    async def poll(request: Request) -> JSONResponse:
        return JSONResponse({"code": 0, "data": script.poll})

    async def submit(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"code": 0, "data": {"id": body["id"], **script.export}})

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "code": 0,
                "data": {
                    "draft": {"t": [{"tt": 0, "sg": [{"d": 1000}]}], "d": 1000},
                    "canvas_config": {"width": 64},
                },
            }
        )

    async def credits(request: Request) -> JSONResponse:
        return JSONResponse({"code": 0, "data": {"available": 50, "frozen": 0}})

    async def anonymous(request: Request) -> JSONResponse:
        script.tokens_issued += 1
        data = {"token": f"{TOKEN}{script.tokens_issued:04d}", "user_id": "anon_1"}
        return JSONResponse({"code": 0, "data": data})

    routes = [
        Route("/dl/{name}", download, methods=["GET"]),
        Route("/truncated/{name}", truncated),
        Route("/html", html),
        Route("/endless", endless),
        Route("/redirect", redirect),
        Route("/evil/{name}", evil_named),
        Route("/api/render/proxy/lambda/{rid:path}", poll, methods=["GET"]),
        Route("/api/render/proxy/lambda", submit, methods=["POST"]),
        Route("/api/state/nemo_agent/me/{sid}/latest", state),
        Route("/api/credits/balance/simple", credits),
        Route("/api/auth/anonymous-token", anonymous, methods=["POST"]),
    ]
    return Starlette(routes=routes)
