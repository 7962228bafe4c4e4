"""Exports on the local backend: real renders, polled, downloaded and decoded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from skill.local.server import LocalBackend
from tests.test_server import Api, backend_with, write_photo


@pytest.fixture
def api(local_backend_module: LocalBackend) -> Iterator[Api]:
    """A new account (its own token and credits) on the backend this module shares."""
    local_backend_module.clear_faults()
    client = Api(local_backend_module).login()
    yield client
    client.close()
    local_backend_module.clear_faults()


def export(
    api: Api, sid: str, draft: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "id": f"render_{time.time_ns() // 1_000_000}",
        "sessionId": sid,
        "output": {"format": "mp4", "quality": "high"},
    }
    if draft is not None:
        body["draft"] = draft
    return api.http.post(
        "/api/render/proxy/lambda", json=body, headers={**api.auth, **(headers or {})}
    )


def poll_until_done(api: Api, render_id: str) -> list[dict[str, Any]]:
    """Every poll answer until the job ends (bounded: a stuck job fails the test)."""
    seen = []
    for _ in range(1200):
        response = api.http.get(f"/api/render/proxy/lambda/{render_id}", headers=api.auth)
        assert response.status_code == 200
        data = response.json()["data"]
        seen.append(data)
        if data["status"] in ("completed", "failed", "cancelled"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"render {render_id} never ended: {seen[-1]}")


def photo_session(api: Api, tmp_path: Path) -> str:
    sid = api.session()
    assert api.upload(sid, write_photo(tmp_path / "cat.jpg")).status_code == 200
    return sid


@pytest.mark.slow
def test_export_renders_the_draft_polls_and_downloads(api: Api, tmp_path: Path) -> None:
    sid = photo_session(api, tmp_path)
    api.chat(sid, 'bounce strongly for 1 second, square, title "Hi", add music')
    draft = api.state(sid)["state"]["draft"]
    started = export(api, sid, draft)
    job = started.json()["data"]
    assert started.status_code == 200
    assert (job["status"], job["progress"]) == ("pending", 5)
    assert api.credits() == {"available": 89, "frozen": 10, "total": 99}

    seen = poll_until_done(api, job["id"])
    statuses = [s["status"] for s in seen]
    assert statuses[-1] == "completed", seen[-1]
    assert set(statuses) <= {"pending", "rendering", "completed"}
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    output = seen[-1]["output"]
    assert output["url"].startswith(api.backend.download_base_url)
    assert output["duration"] == pytest.approx(1.0, abs=0.1)
    # The local renderer says how it found what moves (one of its finders, or none).
    assert output["subject"] in {
        "transparency",
        "person",
        "plain background",
        "salient object",
        "none",
    }
    assert api.credits() == {"available": 89, "frozen": 0, "total": 89}

    video = httpx.get(output["url"])  # the download origin: no token
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert len(video.content) == output["size"]
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1080, 1080)
        frames = sum(1 for _ in container.decode(video=0))
        assert 25 <= frames <= 35
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"

    part = httpx.get(output["url"], headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{output['size']}"
    assert part.content == video.content[100:200]

    fallback = f"/api/render/proxy/{job['id']}/download"
    assert api.http.get(fallback, headers=api.auth).content == video.content
    assert api.http.get(fallback).json()["code"] == 1001

    generated = api.state(sid)["state"]["generated_media"]
    assert [g["id"] for g in generated] == [job["id"]]
    again = api.http.post(
        "/api/render/proxy/lambda", json={"id": job["id"], "sessionId": sid}, headers=api.auth
    )
    assert again.json()["data"]["status"] == "completed"  # the same job, not a second render
    assert api.credits()["available"] == 89


def test_export_needs_the_attribution_headers(api: Api, tmp_path: Path) -> None:
    sid = photo_session(api, tmp_path)
    bare = httpx.post(
        f"{api.backend.base_url}/api/render/proxy/lambda",
        json={"id": "render_1", "sessionId": sid},
        headers=api.auth,
    )
    assert bare.status_code == 402
    assert bare.json()["code"] == 402
    assert "X-Skill-Source" in bare.json()["message"]
    assert api.credits()["frozen"] == 0


def test_export_without_a_photo_says_to_upload_one(api: Api) -> None:
    response = export(api, api.session())
    assert response.status_code == 422
    assert "upload a photo" in response.json()["message"]


def test_a_render_id_belongs_to_its_owner(api: Api, tmp_path: Path) -> None:
    api.backend.inject("render-fail")
    sid = photo_session(api, tmp_path)
    api.http.post(
        "/api/render/proxy/lambda", json={"id": "render_42", "sessionId": sid}, headers=api.auth
    )
    other = Api(api.backend).login()
    other_sid = photo_session(other, tmp_path)
    taken = other.http.post(
        "/api/render/proxy/lambda",
        json={"id": "render_42", "sessionId": other_sid},
        headers=other.auth,
    )
    # Render ids are per account: the same id is the other user's own job, and reveals nothing.
    assert taken.status_code == 200
    assert taken.json()["data"]["id"] == "render_42"
    mine = api.http.get("/api/render/proxy/lambda/render_42", headers=api.auth).json()["data"]
    theirs = other.http.get("/api/render/proxy/lambda/render_42", headers=other.auth)
    assert theirs.status_code == 200
    assert theirs.json()["data"]["id"] == mine["id"] == "render_42"
    assert mine["status"] in ("pending", "rendering", "failed")  # the first job, render-fail armed
    other.close()


def test_render_fail_ends_failed_with_a_reason_and_gives_credits_back(
    api: Api, tmp_path: Path
) -> None:
    sid = photo_session(api, tmp_path)
    job = export(api, sid, headers={"X-Jiggle-Fault": "render-fail"}).json()["data"]
    final = poll_until_done(api, job["id"])[-1]
    assert final["status"] == "failed"
    assert "render-fail" in final["reason"]
    assert api.credits() == {"available": 100, "frozen": 0, "total": 100}
    assert api.state(sid)["state"]["generated_media"] == []
    # Armed on a poll, it fails the job being polled.
    job = export(api, sid).json()["data"]
    polled = api.http.get(
        f"/api/render/proxy/lambda/{job['id']}",
        headers={**api.auth, "X-Jiggle-Fault": "render-fail"},
    )
    assert polled.json()["data"]["status"] in ("pending", "rendering")
    assert poll_until_done(api, job["id"])[-1]["status"] == "failed"


def test_cancel_a_pending_render() -> None:
    with backend_with(render_queue_delay=60.0) as backend:
        api = Api(backend).login()
        sid = photo_session(api, backend.data_dir)
        job = export(api, sid).json()["data"]
        assert api.credits()["frozen"] == 10
        cancelled = api.http.post(f"/api/render/proxy/lambda/{job['id']}/cancel", headers=api.auth)
        assert cancelled.json()["data"]["status"] == "cancelled"
        assert poll_until_done(api, job["id"])[-1]["status"] == "cancelled"
        assert api.credits() == {"available": 100, "frozen": 0, "total": 100}
        missing = api.http.post("/api/render/proxy/lambda/render_0/cancel", headers=api.auth)
        assert missing.status_code == 404


@pytest.mark.slow
def test_an_unfinished_render_resumes_after_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with backend_with(data_dir=data, render_queue_delay=60.0) as backend:
        api = Api(backend).login()
        sid = photo_session(api, tmp_path)
        api.chat(sid, "1 second")
        job = export(api, sid).json()["data"]
        token = api.token
    with LocalBackend(data_dir=data, heartbeat_interval=0.05) as again:
        api = Api(again)
        api.token = token
        final = poll_until_done(api, job["id"])[-1]
        assert final["status"] == "completed"
        assert httpx.get(final["output"]["url"]).status_code == 200
        assert api.credits() == {"available": 89, "frozen": 0, "total": 89}
