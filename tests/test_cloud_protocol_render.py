"""Issue 12, items 8, 9 and 11: render recovery, export of an empty draft, and what reaches the CDN.

Against the local backend, and, for shapes it does not produce (a CDN that refuses the link, a
render that never ends), against recording Starlette servers on loopback that answer as the
public sources show (docs/_sources_render.md) and keep the headers they got.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from skill.client import JobStore, NemoClient, RenderJob
from skill.errors import EmptyDraft, RenderFailed, RenderTimeout
from skill.host import SkillHost
from skill.local.server import LocalBackend
from skill.manifest import attribution_headers, load_manifest
from skill.replies import Reply, ReplyKind
from tests._loopback import serve
from tests.test_server import write_photo

TOKEN = "nmv_usr_protocolrender0000001"
_EDIT = "make this image jiggle and bounce with a subtle looping motion, 1 second"


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


VIDEO = (
    _box(b"ftyp", b"isom\0\0\2\0isom")
    + _box(b"moov", b"")
    + _box(b"mdat", hashlib.sha256(b"x").digest() * 512)
)


class FakeClock:
    """Time that moves only when the client sleeps: no wall-clock in these tests."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _forbidden(headers: dict[str, str]) -> list[str]:
    return sorted(n for n in headers if n == "authorization" or n.startswith("x-skill-"))


# -- a recording NemoVideo API and CDN on loopback ----------------------------------------------


@dataclass
class Script:
    cdn: str = ""
    status: str = "rendering"
    cdn_status: int = 200
    draft: dict[str, Any] = field(default_factory=dict)
    polls: int = 0
    exports: list[dict[str, Any]] = field(default_factory=list)
    cdn_headers: list[dict[str, str]] = field(default_factory=list)
    proxy_headers: list[dict[str, str]] = field(default_factory=list)


class Current:
    script = Script()


def _api_app() -> Starlette:
    async def state(request: Request) -> Response:
        data = {"session_id": "s1", "state": {"draft": Current.script.draft}}
        return JSONResponse({"code": 0, "message": "success", "data": data})

    async def export(request: Request) -> Response:
        body = await request.json()
        Current.script.exports.append(body)
        data = {"id": body["id"], "status": "pending", "progress": 5}
        return JSONResponse({"code": 0, "message": "success", "data": data})

    async def poll(request: Request) -> Response:
        script = Current.script
        script.polls += 1
        rid = request.path_params["rid"]
        data: dict[str, Any] = {"id": rid, "status": script.status, "progress": 40}
        if script.status == "completed":
            data.update(progress=100, output={"url": f"{script.cdn}/render-result/{rid}.mp4"})
        return JSONResponse({"code": 0, "message": "success", "data": data})

    async def proxy_download(request: Request) -> Response:
        Current.script.proxy_headers.append(dict(request.headers))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"code": 1001, "message": "unauthorized"}, status_code=401)
        return Response(VIDEO, media_type="video/mp4")

    return Starlette(
        routes=[
            Route("/api/state/{app}/{user}/{sid}/latest", state, methods=["GET"]),
            Route("/api/render/proxy/lambda", export, methods=["POST"]),
            Route("/api/render/proxy/lambda/{rid}", poll, methods=["GET"]),
            Route("/api/render/proxy/{rid}/download", proxy_download, methods=["GET"]),
        ]
    )


def _cdn_app() -> Starlette:
    async def video(request: Request) -> Response:
        script = Current.script
        script.cdn_headers.append(dict(request.headers))
        if script.cdn_status != 200:
            return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403)
        return Response(VIDEO, media_type="video/mp4")

    return Starlette(routes=[Route("/render-result/{name}", video, methods=["GET"])])


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with serve(_api_app()) as api, serve(_cdn_app()) as cdn:
        yield api, cdn


@pytest.fixture
def script(servers: tuple[str, str]) -> Script:
    Current.script = Script(cdn=servers[1])
    return Current.script


def _client(api: str, tmp_path: Path, clock: FakeClock | None = None) -> NemoClient:
    clock = clock or FakeClock()
    return NemoClient(
        api, token=TOKEN, sleep=clock.sleep, clock=clock, jobs=JobStore(tmp_path / "jobs.json")
    )


# -- item 8: the poll cap --------------------------------------------------------------------


def test_wait_stops_at_the_public_poll_cap_and_keeps_the_render(
    servers: tuple[str, str], script: Script, tmp_path: Path
) -> None:
    clock = FakeClock()
    with _client(servers[0], tmp_path, clock) as client:
        assert client.poll_interval == 30.0  # the public cadence
        job = RenderJob(id="render_1", session_id="s1")
        client.jobs.add(job)
        with pytest.raises(RenderTimeout) as caught:
            client.wait(job)
        kept = client.jobs.get("render_1")
    # "every 30 s, at most 10 polls": about ten polls, five minutes, then a clear message.
    assert 10 <= script.polls <= 11
    assert clock.now == pytest.approx(300.0)
    message = caught.value.human("en")
    assert "jiggle resume render_1" in message
    assert "300 seconds" in message
    assert kept is not None  # still resumable


# -- item 8: the CDN refuses the link: the API's own download, token to the API only ----------


def test_a_cdn_4xx_falls_back_to_the_proxy_download_with_the_token_on_the_api_only(
    servers: tuple[str, str], script: Script, tmp_path: Path
) -> None:
    script.status, script.cdn_status = "completed", 403
    with _client(servers[0], tmp_path) as client:
        job = RenderJob(id="render_2", session_id="s1")
        client.jobs.add(job)
        path = client.download(client.poll(job), tmp_path / "out.mp4")
        left = client.jobs.get("render_2")
    assert path.read_bytes() == VIDEO
    assert left is None
    assert script.cdn_headers
    assert all(_forbidden(h) == [] for h in script.cdn_headers)
    (proxy,) = script.proxy_headers
    assert proxy["authorization"] == f"Bearer {TOKEN}"
    assert {"x-skill-source", "x-skill-version", "x-skill-platform"} <= set(proxy)


# -- item 9: no empty render is submitted ----------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [{}, {"t": []}, {"t": [{"tt": 0, "sg": []}, {"tt": 1}]}, {"t": "x"}],
    ids=["no-t", "no-tracks", "empty-tracks", "malformed"],
)
def test_export_of_a_draft_without_segments_is_refused_before_sending(
    servers: tuple[str, str], script: Script, tmp_path: Path, draft: dict[str, Any]
) -> None:
    script.draft = draft
    with _client(servers[0], tmp_path) as client:
        with pytest.raises(EmptyDraft) as caught:
            client.export("s1")
        pending = client.jobs.list()
    assert script.exports == []  # nothing was sent, nothing charged
    assert caught.value.code == "empty_draft"
    assert caught.value.exit_code == 2
    assert "nothing to export" in caught.value.human("en").lower()
    assert "没有" in caught.value.human("zh")
    assert pending == []


def test_export_of_a_new_local_session_is_refused_locally(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    with NemoClient(
        local_backend.base_url,
        sleep=lambda s: None,
        poll_interval=0.05,
        jobs=JobStore(tmp_path / "jobs.json"),
    ) as client:
        session = client.create_session()
        before = client.credits()
        with pytest.raises(EmptyDraft):
            client.export(session)
        assert client.credits() == before


# -- item 8: a failed render is submitted once more, with a new id, and said -----------------


def _run(host: SkillHost, message: str, photo: Path | None = None) -> list[Reply]:
    return list(host.handle(message, [str(photo)] if photo else ()))


def test_a_failed_render_is_resubmitted_once_with_a_new_id(tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "cat.jpg")
    with (
        LocalBackend(
            heartbeat_interval=0.05, default_duration=1.0, faults="render-fail@export"
        ) as backend,
        SkillHost(
            "local", base_url=backend.base_url, poll_interval=0.05, output_dir=tmp_path / "v"
        ) as host,
    ):
        _run(host, _EDIT, photo)
        credits_before = host.last_credits
        replies = _run(host, "export")
        credits_after = host.last_credits
    statuses = [r for r in replies if r.kind is ReplyKind.STATUS and "failed_render_id" in r.data]
    (said,) = statuses
    assert said.data["failed_render_id"] != said.data["render_id"]
    assert said.data["failed_render_id"] in said.text
    assert said.data["render_id"] in said.text
    assert "not charged" in said.text
    (result,) = [r for r in replies if r.kind is ReplyKind.RESULT]
    assert result.data["render_id"] == said.data["render_id"]
    assert Path(result.data["path"]).stat().st_size > 0
    # One render paid for: the failed one gave its credits back.
    assert credits_before is not None
    assert credits_after is not None
    assert credits_before - credits_after == 10


def test_a_render_that_fails_twice_is_not_submitted_a_third_time(tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "cat.jpg")
    with (
        LocalBackend(
            heartbeat_interval=0.05, default_duration=1.0, faults="render-fail@export*inf"
        ) as backend,
        SkillHost(
            "local", base_url=backend.base_url, poll_interval=0.05, output_dir=tmp_path / "v"
        ) as host,
    ):
        _run(host, _EDIT, photo)
        replies = _run(host, "export")
        pending = host.pending_renders()
    errors = [r for r in replies if r.kind is ReplyKind.ERROR]
    assert [r.data.get("code") for r in errors] == [RenderFailed.code]
    resubmissions = [r for r in replies if "failed_render_id" in r.data]
    assert len(resubmissions) == 1
    assert pending == []


# -- item 11: the CDN gets no token and no attribution; the proxy is the owner's only ---------


def test_the_local_cdn_gets_no_token_or_attribution_and_the_proxy_is_owner_only(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    def token(client_id: str) -> str:
        answer = httpx.post(
            f"{local_backend.base_url}/api/auth/anonymous-token",
            headers={"X-Client-Id": client_id},
        )
        return str(answer.json()["data"]["token"])

    owner, other = token("owner"), token("other")
    with NemoClient(
        local_backend.base_url,
        token=owner,
        sleep=lambda s: None,
        poll_interval=0.05,
        jobs=JobStore(tmp_path / "jobs.json"),
    ) as client:
        session = client.create_session()
        client.upload(session, [str(write_photo(tmp_path / "cat.jpg"))])
        job = client.wait(client.export(session))
        assert job.output_url
        assert job.output_url.startswith(local_backend.download_base_url)
        path = client.download(job, tmp_path / "out.mp4")
    seen = httpx.get(f"{local_backend.download_base_url}/_jiggle/received").json()["requests"]
    renders = [r for r in seen if r["kind"] == "render"]
    assert renders
    assert all(r["forbidden_headers"] == [] for r in renders)
    assert path.stat().st_size > 0

    proxy = f"{local_backend.base_url}/api/render/proxy/{job.id}/download"
    assert httpx.get(proxy).json()["code"] == 1001  # a token is required
    stranger = httpx.get(proxy, headers={"Authorization": f"Bearer {other}"})
    assert stranger.status_code == 404  # another account's render is not there
    mine = httpx.get(proxy, headers={"Authorization": f"Bearer {owner}"})
    assert mine.status_code == 200
    assert mine.content == path.read_bytes()


def test_platform_comes_from_the_installed_skill_md_not_the_resolved_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SKILL_SOURCE", raising=False)
    real = tmp_path / "store" / "jiggle"
    real.mkdir(parents=True)
    source = Path(__file__).resolve().parents[1] / "SKILL.md"
    (real / "SKILL.md").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    skills = tmp_path / "home" / ".openclaw" / "workspace" / "skills"
    skills.mkdir(parents=True)
    os.symlink(real, skills / "jiggle")  # ClawHub's install folder links to the real one
    manifest = load_manifest(skills / "jiggle" / "SKILL.md")
    assert attribution_headers(manifest)["X-Skill-Platform"] == "clawhub"
    assert attribution_headers(load_manifest(real / "SKILL.md"))["X-Skill-Platform"] == "unknown"
