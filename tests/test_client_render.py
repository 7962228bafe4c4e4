"""Export, poll, wait, download and cancel, and the contract's tolerated response variants,
against a scripted Starlette app on loopback (the API origin and a separate CDN origin)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.client import JobStore, NemoClient, RenderJob
from skill.errors import (
    ApiError,
    Cancelled,
    ConnectionLost,
    DownloadFailed,
    MissingClientId,
    RenderFailed,
)
from tests._loopback import serve

TOKEN = "nmv_usr_rendertests000001"
_BYTES = hashlib.sha256(b"seed").digest() * 4096  # 128 KiB of bytes that are not all alike


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


# The client checks that a finished download parses as an MP4 (ftyp first, a moov box).
VIDEO = _box(b"ftyp", b"isom\0\0\2\0isom") + _box(b"moov", b"") + _box(b"mdat", _BYTES)


# A draft with something to render (an export of an empty draft is refused before it is sent).
DRAFT: dict[str, Any] = {"t": [{"tt": 0, "sg": [{"id": "seg_1", "d": 2000}]}], "d": 2000}


@dataclass
class Api:
    """What the scripted service answers; tests change it between calls."""

    cdn: str = ""
    polls: list[dict[str, Any]] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)
    jobs_at_submit: list[list[str]] = field(default_factory=list)
    cut_export: bool = False
    cut_first_download: bool = False
    cdn_requests: list[dict[str, str]] = field(default_factory=list)
    api_downloads: list[dict[str, str]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    lose_session_once: bool = False
    sessions: int = 0
    serve_size: int | None = None
    jobs_file: Path = Path("jobs.json")
    credit_headers: list[dict[str, str]] = field(default_factory=list)
    want_client_id: bool = False


class Current:
    """The Api of the running test: the servers are shared by the module, the script is not."""

    api = Api()


def make_api() -> Starlette:
    async def export(request: Request) -> Response:
        api = Current.api
        body = await request.json()
        if api.lose_session_once:
            api.lose_session_once = False
            return JSONResponse({"code": 1002, "msg": "session not found"}, status_code=404)
        api.exports.append(body)
        on_disk = json.loads(api.jobs_file.read_text())["jobs"] if api.jobs_file.exists() else []
        api.jobs_at_submit.append([job["id"] for job in on_disk])
        if api.cut_export:
            # Headers go out, then the connection drops before any body: a real cut.
            async def dropped() -> Any:
                raise RuntimeError("connection dropped after the server accepted the render")
                yield b""

            return StreamingResponse(dropped(), media_type="application/json")
        # A tolerated variant: the service's own id under "taskId", no "id".
        return JSONResponse(
            {"code": 0, "data": {"taskId": "srv_" + body["id"], "status": "queued", "progress": 5}}
        )

    async def poll(request: Request) -> JSONResponse:
        api = Current.api
        answer = api.polls.pop(0) if api.polls else {"status": "rendering", "progress": 50}
        return JSONResponse(answer)

    async def cancel(request: Request) -> JSONResponse:
        api = Current.api
        api.cancelled.append(request.path_params["rid"])
        return JSONResponse({"success": True, "data": {"status": "cancelled"}})

    async def fallback_download(request: Request) -> Response:
        api = Current.api
        api.api_downloads.append(dict(request.headers))
        return Response(VIDEO, media_type="video/mp4")

    async def session(request: Request) -> JSONResponse:
        api = Current.api
        api.sessions += 1
        return JSONResponse(
            {"success": True, "data": {"taskId": "t", "sessionId": f"s{api.sessions}"}}
        )

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "code": 0,
                "message": "success",
                "data": {"draft": DRAFT, "canvas_config": {"width": 1}},
            }
        )

    async def credits(request: Request) -> JSONResponse:
        api = Current.api
        api.credit_headers.append(dict(request.headers))
        if api.want_client_id and "x-client-id" not in request.headers:
            return JSONResponse({"code": 400, "message": "Missing X-Client-Id"}, status_code=400)
        return JSONResponse({"success": True, "data": {"available": 7, "frozen": 3}})

    async def upload(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "code": "0",
                "msg": "ok",
                "data": {
                    "uploaded_files": [
                        {"name": "x.png", "url": "https://cdn.example/x.png", "type": "image"}
                    ]
                },
            }
        )

    return Starlette(
        routes=[
            Route("/api/render/proxy/lambda", export, methods=["POST"]),
            Route("/api/render/proxy/lambda/{rid}", poll),
            Route("/api/render/proxy/lambda/{rid}/cancel", cancel, methods=["POST"]),
            Route("/api/render/proxy/{rid}/download", fallback_download),
            Route("/api/tasks/me/with-session/nemo_agent", session, methods=["POST"]),
            Route("/api/state/nemo_agent/me/{sid}/latest", state),
            Route("/api/credits/balance/simple", credits),
            Route("/api/upload-video/nemo_agent/me/{sid}", upload, methods=["POST"]),
        ]
    )


def make_cdn() -> Starlette:
    async def video(request: Request) -> Response:
        api = Current.api
        api.cdn_requests.append(dict(request.headers))
        body = VIDEO[: api.serve_size] if api.serve_size is not None else VIDEO
        header = request.headers.get("range")
        start = int(header.removeprefix("bytes=").split("-")[0]) if header else 0
        if api.cut_first_download and len(api.cdn_requests) == 1:

            async def half() -> Any:
                yield body[: len(body) // 2]
                raise RuntimeError("cut")

            return StreamingResponse(
                half(), media_type="video/mp4", headers={"content-length": str(len(body))}
            )
        if start:
            return Response(
                body[start:],
                status_code=206,
                media_type="video/mp4",
                headers={"content-range": f"bytes {start}-{len(body) - 1}/{len(body)}"},
            )
        return Response(body, media_type="video/mp4")

    return Starlette(routes=[Route("/x.mp4", video)])


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    with serve(make_api()) as base, serve(make_cdn()) as cdn:
        yield base, cdn


@pytest.fixture
def api(origins: tuple[str, str]) -> Api:
    Current.api = Api(cdn=origins[1], jobs_file=JobStore().path)
    return Current.api


@pytest.fixture
def client(api: Api, origins: tuple[str, str]) -> Iterator[NemoClient]:
    with NemoClient(origins[0], token=TOKEN, sleep=lambda s: None) as c:
        yield c


def completed(api: Api, **extra: Any) -> dict[str, Any]:
    return {
        "code": 0,
        "data": {
            "status": "completed",
            "progress": 100,
            "output": {"url": f"{api.cdn}/x.mp4", "size": len(VIDEO)},
            **extra,
        },
    }


def finished_on_cdn(api: Api) -> RenderJob:
    """A completed render ``r1`` whose video waits on the CDN origin."""
    return RenderJob(
        id="r1",
        session_id="s1",
        status="completed",
        output_url=f"{api.cdn}/x.mp4",
        output_size=len(VIDEO),
    )


def test_export_wait_download(api: Api, client: NemoClient, tmp_path: Path) -> None:
    api.polls = [
        {"code": 0, "data": {"status": "pending", "progress": 5}},
        {"code": 0, "data": {"status": "rendering", "progress": 40}},
        completed(api),
    ]
    seen: list[tuple[str, int]] = []
    job = client.export("s1", progress=lambda j: seen.append((j.status, j.progress)))
    body = api.exports[0]
    assert body["sessionId"] == "s1"
    assert body["id"].startswith("render_")
    assert body["draft"] == DRAFT
    assert body["output"] == {"format": "mp4", "quality": "high"}
    # The render id was on disk before the service heard of it.
    assert api.jobs_at_submit == [[body["id"]]]
    assert job.id == "srv_" + body["id"]
    assert [j.id for j in client.jobs.list()] == [job.id]
    client.wait(job, progress=lambda j: seen.append((j.status, j.progress)))
    assert seen == [("pending", 5), ("pending", 5), ("rendering", 40), ("completed", 100)]
    received: list[int] = []
    out = client.download(job, tmp_path / "out.mp4", progress=lambda n, total: received.append(n))
    assert out.read_bytes() == VIDEO
    assert received[-1] == len(VIDEO)
    assert client.jobs.list() == []
    assert all("authorization" not in headers for headers in api.cdn_requests)


def test_poll_variants_without_envelope(api: Api, client: NemoClient) -> None:
    job = RenderJob(id="r1", session_id="s1")
    api.polls = [{"status": "completed", "outputUrl": f"{api.cdn}/x.mp4"}]
    client.poll(job)
    assert (job.status, job.output_url) == ("completed", f"{api.cdn}/x.mp4")
    api.polls = [
        {
            "code": 0,
            "data": {"status": "completed", "outputUrl": "https://c/y.mp4", "taskId": "t-9"},
        }
    ]
    client.poll(job)
    assert (job.id, job.output_url) == ("t-9", "https://c/y.mp4")


def test_download_resumes_with_range_after_a_cut(
    api: Api, client: NemoClient, tmp_path: Path
) -> None:
    api.cut_first_download = True
    job = finished_on_cdn(api)
    out = client.download(job, tmp_path)
    assert out == tmp_path / "r1.mp4"
    assert out.read_bytes() == VIDEO
    assert "range" not in api.cdn_requests[0]
    assert api.cdn_requests[1]["range"].startswith("bytes=")
    assert not list(tmp_path.glob(".*.part"))


def test_download_with_the_wrong_size_fails_and_keeps_the_job(
    api: Api, client: NemoClient, tmp_path: Path
) -> None:
    api.serve_size = 1000
    job = finished_on_cdn(api)
    client.jobs.add(job)
    with pytest.raises(DownloadFailed) as caught:
        client.download(job, tmp_path / "o.mp4")
    assert "jiggle resume r1" in caught.value.human()
    assert not (tmp_path / "o.mp4").exists()
    assert [j.id for j in client.jobs.list()] == ["r1"]


def test_fallback_download_endpoint_carries_the_token(
    api: Api, client: NemoClient, tmp_path: Path
) -> None:
    api.polls = [{"code": 0, "data": {"status": "completed"}}]
    job = RenderJob(id="r7", session_id="s1", status="completed")
    out = client.download(job, tmp_path / "o.mp4")
    assert out.read_bytes() == VIDEO
    assert api.api_downloads[0]["authorization"] == f"Bearer {TOKEN}"


def test_failed_render_raises_and_forgets_the_job(api: Api, client: NemoClient) -> None:
    api.polls = [{"code": 0, "data": {"status": "failed", "reason": "GPU node lost"}}]
    job = client.export("s1", draft=DRAFT)
    with pytest.raises(RenderFailed) as caught:
        client.wait(job)
    assert "GPU node lost" in caught.value.human()
    assert "GPU node lost" in caught.value.human("zh")
    assert client.jobs.list() == []


def test_ctrl_c_while_waiting_keeps_the_job_for_resume(
    api: Api, client: NemoClient, tmp_path: Path
) -> None:
    job = client.export("s1", draft=DRAFT)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    client._sleep = interrupt
    with pytest.raises(Cancelled) as caught:
        client.wait(job)
    assert f"jiggle resume {job.id}" in caught.value.human()
    client._sleep = lambda s: None
    api.polls = [completed(api)]
    resumed = client.resume(job.id)
    assert resumed.status == "completed"
    client.download(client.wait(resumed), tmp_path / "o.mp4")
    assert client.jobs.list() == []


def test_export_dropped_after_submit_keeps_the_render_id(api: Api, client: NemoClient) -> None:
    api.cut_export = True
    with pytest.raises(ConnectionLost) as caught:
        client.export("s1", draft=DRAFT)
    render_id = caught.value.details["render_id"]
    assert [j.id for j in client.jobs.list()] == [render_id]
    assert f"jiggle resume {render_id}" in caught.value.human()
    # Re-sent after the cut by the retry policy, only ever with the same render id, which the
    # service de-duplicates (issue 11): never a second render.
    assert {e["id"] for e in api.exports} == {render_id}


def test_export_after_1002_uses_a_new_session(api: Api, client: NemoClient) -> None:
    session = client.create_session()
    api.lose_session_once = True
    job = client.export(session, draft=DRAFT)
    assert session.id == "s2"
    assert job.session_id == "s2"
    assert api.exports[0]["sessionId"] == "s2"


def test_cancel(api: Api, client: NemoClient) -> None:
    job = client.export("s1", draft=DRAFT)
    client.cancel(job)
    assert job.status == "cancelled"
    assert api.cancelled == [job.id]
    assert client.jobs.list() == []


def test_success_envelopes_and_long_names(client: NemoClient, tmp_path: Path) -> None:
    credits = client.credits()
    assert (credits.available, credits.frozen, credits.total) == (7, 3, 10)
    session = client.create_session()
    assert (session.id, session.task_id) == ("s1", "t")
    state = client.state(session)
    assert state.canvas == {"width": 1}
    media = client.upload(session, ["https://example.com/x.png"])
    assert [(m.filename, m.url, m.file_type) for m in media] == [
        ("x.png", "https://cdn.example/x.png", "image")
    ]


def test_every_request_carries_the_bearer_and_attribution_headers(
    api: Api, client: NemoClient
) -> None:
    client.credits()
    headers = api.credit_headers[0]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-skill-source"] == "image-to-video-ai-jiggle"
    assert headers["x-skill-version"]
    assert headers["x-skill-platform"] == "unknown"


def test_400_off_the_sign_in_call_is_reported_not_answered_with_a_client_id(
    api: Api, client: NemoClient
) -> None:
    # "400 = missing X-Client-Id" is the anonymous-token call's rule alone (issue 12, item 2).
    api.want_client_id = True
    with pytest.raises(ApiError) as caught:
        client.credits()
    assert not isinstance(caught.value, MissingClientId)
    assert "Missing X-Client-Id" in caught.value.human()
    assert [("x-client-id" in h) for h in api.credit_headers] == [False]
