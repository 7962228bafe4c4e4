"""The local backend's endpoints, over real HTTP on loopback, frame by frame for SSE."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import tracemalloc
import uuid
import wave
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from skill.local.server import LocalBackend
from skill.manifest import attribution_headers
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

# -- helpers shared by the test_server* modules ----------------------------------------------


@dataclass
class Frame:
    """One SSE frame as sent: a comment, or fields (``event``, ``data``)."""

    raw: str
    comment: bool
    event: str | None
    data: str | None

    @property
    def is_heartbeat(self) -> bool:
        if self.comment or self.event == "heartbeat" or self.data in (None, ""):
            return True
        return self.data == '{"type":"heartbeat"}'

    def json(self) -> dict[str, Any]:
        assert self.data is not None
        value = json.loads(self.data)
        assert isinstance(value, dict)
        return value


def parse_sse(raw: bytes) -> tuple[list[Frame], str]:
    """Complete frames of an SSE byte stream, and the incomplete tail after the last one."""
    text = raw.decode("utf-8")
    blocks = text.split("\n\n")
    tail = blocks.pop()
    frames = []
    for block in blocks:
        lines = block.split("\n")
        if all(line.startswith(":") for line in lines):
            frames.append(Frame(block, True, None, None))
            continue
        event, data = None, []
        for line in lines:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        frames.append(Frame(block, False, event, "\n".join(data) if data else None))
    return frames, tail


def events(frames: list[Frame]) -> list[dict[str, Any]]:
    """The ADK events among ``frames`` (heartbeats left out)."""
    return [f.json() for f in frames if not f.is_heartbeat]


def texts(evs: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    """``(partial, text)`` of each text event."""
    out = []
    for ev in evs:
        for part in (ev.get("content") or {}).get("parts", []):
            if "text" in part:
                out.append((bool(ev.get("partial")), part["text"]))
    return out


def write_photo(path: Path, fmt: str = "JPEG") -> Path:
    """The cat of skimage.data, as a real image file."""
    Image.fromarray(skdata.chelsea()).save(path, fmt)  # type: ignore[no-untyped-call]
    return path


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    t = np.arange(int(seconds * 22050)) / 22050
    samples = (np.sin(2 * np.pi * 330 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(samples.tobytes())
    return path


class Api:
    """A tiny hand-written client of the wire protocol, for tests only."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.http = httpx.Client(
            base_url=backend.base_url, timeout=60.0, headers=attribution_headers()
        )
        self.token = ""

    def close(self) -> None:
        self.http.close()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_token(self, client_id: str | None = None) -> httpx.Response:
        response = self.http.post(
            "/api/auth/anonymous-token", headers={"X-Client-Id": client_id or str(uuid.uuid4())}
        )
        if response.status_code == 200:
            self.token = response.json()["data"]["token"]
        return response

    def login(self) -> Api:
        assert self.new_token().status_code == 200
        return self

    def session(self, language: str = "en") -> str:
        response = self.http.post(
            "/api/tasks/me/with-session/nemo_agent",
            json={"task_name": "project", "language": language},
            headers=self.auth,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["data"]["session_id"])

    def chat_body(self, sid: str, text: str) -> dict[str, Any]:
        return {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": sid,
            "new_message": {"role": "user", "parts": [{"text": text}]},
            "streaming": True,
        }

    def chat(
        self, sid: str, text: str, headers: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, list[Frame], str]:
        with self.http.stream(
            "POST",
            "/run_sse",
            json=self.chat_body(sid, text),
            headers={**self.auth, "Accept": "text/event-stream", **(headers or {})},
        ) as response:
            raw = response.read()
        frames, tail = parse_sse(raw) if response.status_code == 200 else ([], "")
        return response, frames, tail

    def upload(
        self, sid: str, *paths: Path, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        return self.http.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            files=files,
            headers={**self.auth, **(headers or {})},
        )

    def state(self, sid: str) -> dict[str, Any]:
        response = self.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=self.auth)
        assert response.status_code == 200, response.text
        value = response.json()["data"]
        assert isinstance(value, dict)
        return value

    def credits(self) -> dict[str, int]:
        response = self.http.get("/api/credits/balance/simple", headers=self.auth)
        assert response.status_code == 200, response.text
        value = response.json()["data"]
        assert isinstance(value, dict)
        return value


@pytest.fixture
def api(local_backend_module: LocalBackend) -> Iterator[Api]:
    """A new account (its own token and credits) on the backend this module shares."""
    local_backend_module.clear_faults()
    client = Api(local_backend_module).login()
    yield client
    client.close()
    local_backend_module.clear_faults()


@pytest.fixture
def fresh_api(local_backend: LocalBackend) -> Iterator[Api]:
    """A new account on a backend of its own: for tests that look at every file it stores."""
    client = Api(local_backend).login()
    yield client
    client.close()


def backend_with(**knobs: Any) -> LocalBackend:
    return LocalBackend(**{**LOCAL_BACKEND_TEST_KNOBS, **knobs})


def video_segment(state: Mapping[str, Any]) -> dict[str, Any]:
    track = next(t for t in state["state"]["draft"]["t"] if t["tt"] == 0)
    segment = track["sg"][0]
    assert isinstance(segment, dict)
    return segment


# -- auth -----------------------------------------------------------------------------------


def test_anonymous_token_is_opaque_with_100_credits_for_7_days(local_backend: LocalBackend) -> None:
    api = Api(local_backend)
    client_id = str(uuid.uuid4())
    response = api.new_token(client_id)
    body = response.json()
    assert response.status_code == 200
    assert body["code"] == 0
    assert body["message"] == "success"
    data = body["data"]
    assert re.fullmatch(r"nmv_usr_[A-Za-z0-9]{20,}", data["token"])
    assert client_id.replace("-", "")[:8] not in data["token"]
    assert data["user_id"].startswith("anon_")
    assert data["credits"] == 100
    expires = datetime.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert api.credits() == {"available": 100, "frozen": 0, "total": 100}
    second = Api(local_backend)
    second.new_token(client_id)
    assert second.token != api.token


def test_claim_token_and_the_index(api: Api) -> None:
    claim = api.http.post(
        "/api/auth/claim-token", json={"task_id": "t", "session_id": "s"}, headers=api.auth
    ).json()["data"]
    assert re.fullmatch(r"clm_[A-Za-z0-9]+", claim["claim_token"])
    assert claim["expires_in"] == 604800
    assert api.token not in claim["claim_token"]
    index = api.http.get("/").json()["data"]
    assert index["download_origin"] == api.backend.download_base_url


def test_anonymous_token_needs_a_client_id(local_backend: LocalBackend) -> None:
    response = httpx.post(f"{local_backend.base_url}/api/auth/anonymous-token")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert "X-Client-Id" in response.json()["message"]


def test_anonymous_tokens_are_capped_per_client_and_per_address(
    local_backend: LocalBackend,
) -> None:
    api = Api(local_backend)
    for _ in range(10):
        assert api.new_token("client-a").status_code == 200
    refused = api.new_token("client-a")
    assert refused.status_code == 429
    assert "client id" in refused.json()["message"]
    # The honest wait: until the oldest of the ten expires, days from now.
    wait = int(refused.headers["Retry-After"])
    assert wait == refused.json()["data"]["retry_after_seconds"]
    assert 6 * 86400 < wait <= 7 * 86400 + 1
    other = api.new_token("client-b")  # every loopback client shares one address
    assert other.status_code == 429
    assert "ip" in other.json()["message"]


def test_token_expires_after_7_days() -> None:
    now = [1_800_000_000.0]
    with backend_with(clock=lambda: now[0]) as backend:
        api = Api(backend).login()
        assert api.credits()["available"] == 100
        now[0] += 7 * 24 * 3600 + 1
        response = api.http.get("/api/credits/balance/simple", headers=api.auth)
        assert response.status_code == 401
        assert response.json()["code"] == 1001


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/tasks/me/with-session/nemo_agent"),
        ("POST", "/run_sse"),
        ("POST", "/api/upload-video/nemo_agent/me/1"),
        ("GET", "/api/credits/balance/simple"),
        ("GET", "/api/state/nemo_agent/me/1/latest"),
        ("POST", "/api/render/proxy/lambda"),
        ("GET", "/api/render/proxy/lambda/render_1"),
        ("POST", "/api/render/proxy/lambda/render_1/cancel"),
        ("GET", "/api/render/proxy/render_1/download"),
    ],
)
def test_every_api_endpoint_checks_the_bearer_token(
    local_backend_module: LocalBackend, method: str, path: str
) -> None:
    with httpx.Client(base_url=local_backend_module.base_url) as http:
        for headers in ({}, {"Authorization": "Bearer nmv_usr_forged0000000000000000"}):
            response = http.request(method, path, headers=headers, json={})
            assert response.status_code == 401
            assert response.json()["code"] == 1001


# -- sessions, credits, state ---------------------------------------------------------------


def test_session_and_state_have_the_canonical_shapes(api: Api) -> None:
    response = api.http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "project", "language": "en"},
        headers=api.auth,
    )
    data = response.json()["data"]
    assert set(data) == {"task_id", "session_id", "user_id"}
    assert data["session_id"].isdigit()
    state = api.state(data["session_id"])
    assert state["session_id"] == data["session_id"]
    assert state["task_id"] == data["task_id"]
    inner = state["state"]
    assert set(inner) == {"draft", "video_infos", "canvas_config", "generated_media"}
    assert inner["canvas_config"] == {"width": 1080, "height": 1920}
    assert inner["draft"] == {
        "t": [],
        "d": 2000,
        "m": {"width": 1080, "height": 1920, "aspect": "9:16", "fps": 30},
    }


def test_a_session_belongs_to_its_user(api: Api) -> None:
    sid = api.session()
    stranger = Api(api.backend).login()
    response = stranger.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=stranger.auth)
    assert response.status_code == 404
    assert response.json()["code"] == 1002
    unknown = api.http.get("/api/state/nemo_agent/me/123/latest", headers=api.auth)
    assert unknown.json()["code"] == 1002


# -- chat -----------------------------------------------------------------------------------


def test_chat_turn_streams_adk_events_frame_by_frame() -> None:
    with backend_with() as backend:
        api = Api(backend).login()
        sid = api.session()
        assert api.upload(sid, write_photo(backend.data_dir / "cat.jpg")).status_code == 200
        response, frames, tail = api.chat(sid, 'bounce strongly for 3 seconds, square, title "Hi"')
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert tail == ""
        assert frames[0].is_heartbeat  # the first byte comes at once
        evs = events(frames)
        assert len({ev["invocationId"] for ev in evs}) == 1
        assert all(ev["author"] == "nemo_agent" and ev["id"] and ev["timestamp"] for ev in evs)
        said = texts(evs)
        # Two messages: each partial deltas, then the whole text once, not partial.
        first_end = next(i for i, (partial, _) in enumerate(said) if not partial)
        assert "".join(t for _, t in said[:first_end]) == said[first_end][1]
        rest = said[first_end + 1 :]
        assert "".join(t for _, t in rest[:-1]) == rest[-1][1]
        assert not rest[-1][0]
        assert "click Export to download your video" in rest[-1][1]
        assert evs[-1]["turnComplete"] is True
        calls = [
            p["functionCall"] for ev in evs for p in ev["content"]["parts"] if "functionCall" in p
        ]
        answers = [
            p["functionResponse"]
            for ev in evs
            for p in ev["content"]["parts"]
            if "functionResponse" in p
        ]
        assert [c["name"] for c in calls] == [
            "apply_motion",
            "set_duration",
            "set_aspect_ratio",
            "set_title",
        ]
        assert [a["id"] for a in answers] == [c["id"] for c in calls]
        assert calls[0]["args"] == {"motion": "bounce", "intensity": "strong", "loop": True}
        assert all(a["response"]["status"] == "ok" for a in answers)
        state = api.state(sid)
        segment = video_segment(state)
        assert segment["m"]["motion"] == "bounce"
        assert segment["m"]["intensity"] == "strong"
        assert segment["d"] == 3000
        assert state["state"]["draft"]["d"] == 3000
        assert state["state"]["canvas_config"] == {"width": 1080, "height": 1080}
        titles = next(t for t in state["state"]["draft"]["t"] if t["tt"] == 7)
        assert titles["sg"][0]["m"]["text"] == "Hi"


def test_chat_answers_in_chinese_with_gui_words() -> None:
    with backend_with() as backend:
        api = Api(backend).login()
        sid = api.session("zh")
        _, frames, _ = api.chat(sid, "夸张弹跳5秒，横屏")
        final = texts(events(frames))[-1][1]
        assert "点击上传" in final  # no photo yet: the next step is the upload
        assert "弹跳" in final
        state = api.state(sid)
        assert state["state"]["canvas_config"] == {"width": 1920, "height": 1080}
        _, frames, _ = api.chat(sid, "???")  # no words: the session's language
        assert "抱歉" in texts(events(frames))[-1][1]


def test_unknown_requests_get_a_helpful_answer(api: Api) -> None:
    sid = api.session()
    _, frames, _ = api.chat(sid, "what's the weather like?")
    evs = events(frames)
    answer = texts(evs)[-1][1]
    assert "jiggle, bounce, wobble" in answer
    assert "Export" in answer
    assert not any("functionCall" in p for ev in evs for p in ev["content"]["parts"])
    assert api.state(sid)["state"]["draft"]["t"] == []


def test_every_edit_turn_answers_in_words_unless_the_silent_fault_is_armed() -> None:
    """The embedded default always speaks; ``sse-silent`` gives clients the cloud's wordless
    edit turns to test against (tool calls only), as many times as it is armed."""
    with backend_with(faults="sse-silent@chat*2") as backend:
        api = Api(backend).login()
        sid = api.session()
        spoken = []
        for i in range(6):
            _, frames, _ = api.chat(sid, f"make it {i % 5 + 1} seconds")
            evs = events(frames)
            assert any("functionCall" in p for ev in evs for p in ev["content"]["parts"])
            spoken.append(bool(texts(evs)))
    assert spoken == [False, False, True, True, True, True]


def test_heartbeats_while_the_director_thinks_in_every_style() -> None:
    with backend_with(chat_delay=0.3, heartbeat_interval=0.02) as backend:
        api = Api(backend).login()
        _, frames, _ = api.chat(api.session(), "hello")
        beats = [f for f in frames if f.is_heartbeat]
        assert len(beats) >= 4
        raws = {f.raw for f in beats}
        assert {": ping", "data:", 'data: {"type":"heartbeat"}'} <= raws
        assert any(f.event == "heartbeat" for f in beats)
        first_text = next(i for i, f in enumerate(frames) if not f.is_heartbeat)
        assert first_text >= 4  # the heartbeats came while it was thinking, before the reply


def test_each_turn_costs_a_credit_and_2001_when_they_run_out() -> None:
    with backend_with(starting_credits=2) as backend:
        api = Api(backend).login()
        sid = api.session()
        for _ in range(2):
            assert api.chat(sid, "hello")[0].status_code == 200
        response, _, _ = api.chat(sid, "hello")
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == 2001
        assert f"register?bind={body['data']['user_id']}" in body["message"]
        assert api.credits() == {"available": 0, "frozen": 0, "total": 0}


@pytest.mark.parametrize(
    ("method", "path", "content", "headers"),
    [
        ("POST", "/run_sse", b"{not json", {"Content-Type": "application/json"}),
        ("POST", "/run_sse", b"[1, 2]", {"Content-Type": "application/json"}),
        ("POST", "/run_sse", b'{"session_id": "1", "new_message": "hi"}', {}),
        ("POST", "/api/render/proxy/lambda", b"", {}),
        ("POST", "/api/render/proxy/lambda", b'{"id": "../../etc", "sessionId": "SID"}', {}),
        (
            "POST",
            "/api/upload-video/nemo_agent/me/SID",
            b"plain text",
            {"Content-Type": "text/plain"},
        ),
        (
            "POST",
            "/api/upload-video/nemo_agent/me/SID",
            b"--x\r\nbroken",
            {"Content-Type": "multipart/form-data; boundary=x"},
        ),
        (
            "POST",
            "/api/upload-video/nemo_agent/me/SID",
            b'{"urls": "nope"}',
            {"Content-Type": "application/json"},
        ),
        ("GET", "/api/no/such/endpoint", b"", {}),
        ("DELETE", "/api/credits/balance/simple", b"", {}),
    ],
)
def test_malformed_requests_get_an_error_envelope_not_a_traceback(
    local_backend_module: LocalBackend,
    method: str,
    path: str,
    content: bytes,
    headers: dict[str, str],
) -> None:
    api = Api(local_backend_module).login()
    sid = api.session()
    response = api.http.request(
        method,
        path.replace("SID", sid),
        content=content.replace(b"SID", sid.encode()),
        headers={**api.auth, **headers},
    )
    assert 400 <= response.status_code < 500
    body = response.json()
    assert body["code"] not in (0, None)
    assert body["message"]
    assert "Traceback" not in response.text
    assert api.state(sid)["state"]["video_infos"] == []


# -- upload ---------------------------------------------------------------------------------


def test_upload_photos_newest_is_the_video_segment(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    response = api.upload(sid, write_photo(tmp_path / "cat.jpg"))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["session_state_applied"] is True
    (info,) = data["files"]
    assert info["filename"] == "cat.jpg"
    assert info["file_type"] == "image"
    assert (info["width"], info["height"]) == (451, 300)
    assert re.fullmatch(r"[0-9a-f]{64}", info["hash"])
    assert info["cdn_url"].startswith(api.backend.download_base_url)
    downloaded = httpx.get(info["cdn_url"])  # the download origin wants no token
    assert downloaded.content == (tmp_path / "cat.jpg").read_bytes()

    api.chat(sid, "wobble, medium")
    second = api.upload(sid, write_photo(tmp_path / "dog.png", "PNG")).json()["data"]["files"][0]
    state = api.state(sid)
    segment = video_segment(state)
    assert segment["m"]["media_id"] == second["media_id"]
    assert segment["m"]["name"] == "dog.png"
    assert segment["m"]["src"] == second["cdn_url"]
    assert segment["m"]["motion"] == "wobble"
    assert segment["m"]["intensity"] == "medium"
    assert [v["filename"] for v in state["state"]["video_infos"]] == ["cat.jpg", "dog.png"]


def test_motion_asked_before_the_photo_applies_on_upload(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    _, frames, _ = api.chat(sid, "bounce, strong")
    answers = [
        p["functionResponse"]
        for ev in events(frames)
        for p in ev["content"]["parts"]
        if "functionResponse" in p
    ]
    assert answers[0]["response"]["status"] == "pending"
    api.upload(sid, write_photo(tmp_path / "cat.jpg"))
    assert video_segment(api.state(sid))["m"]["motion"] == "bounce"


def test_upload_checks_the_type_by_content(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    good = write_photo(tmp_path / "cat.jpg")
    response = api.upload(sid, good, fake)
    assert response.status_code == 415
    assert response.json()["code"] == 4001
    assert "holiday.jpg" in response.json()["message"]
    assert api.state(sid)["state"]["video_infos"] == []  # all or nothing
    assert not list((api.backend.data_dir / "media" / ".incoming").iterdir())


def test_upload_sound_and_use_it_as_music(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    info = api.upload(sid, write_wav(tmp_path / "tune.wav")).json()["data"]["files"][0]
    assert info["file_type"] == "audio"
    assert info["duration"] == pytest.approx(1.0, abs=0.05)
    _, frames, _ = api.chat(sid, "add music at 40%")
    calls = [
        p["functionCall"]
        for ev in events(frames)
        for p in ev["content"]["parts"]
        if "functionCall" in p
    ]
    assert calls == [
        {
            "id": calls[0]["id"],
            "name": "add_bgm",
            "args": {"volume": 40, "media_id": info["media_id"], "name": "tune.wav"},
        }
    ]
    audio = next(t for t in api.state(sid)["state"]["draft"]["t"] if t["tt"] == 1)
    assert audio["sg"][0]["m"]["volume"] == 40


def test_upload_by_url_reads_files_and_loopback_only(tmp_path: Path) -> None:
    # file:// reads only below the folders the operator allowed (tests/reliability has the rest).
    with backend_with(file_roots=[tmp_path]) as backend:
        api = Api(backend).login()
        try:
            _upload_by_url(api, tmp_path)
        finally:
            api.close()


def _upload_by_url(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    photo = write_photo(tmp_path / "cat.jpg")
    url = f"/api/upload-video/nemo_agent/me/{sid}"
    by_file = api.http.post(
        url, json={"urls": [photo.as_uri()], "source_type": "url"}, headers=api.auth
    ).json()["data"]["files"][0]
    assert by_file["filename"] == "cat.jpg"
    assert by_file["width"] == 451
    by_http = api.http.post(
        url, json={"urls": [by_file["cdn_url"]], "source_type": "url"}, headers=api.auth
    ).json()
    assert by_http["data"]["files"][0]["hash"] == by_file["hash"]
    for remote in ("https://example.com/cat.jpg", "http://example.com/cat.jpg", "ftp://x/y.jpg"):
        response = api.http.post(
            url, json={"urls": [remote], "source_type": "url"}, headers=api.auth
        )
        assert response.status_code == 422
        assert "never fetches the internet" in response.json()["message"]
    missing = api.http.post(
        url,
        json={"urls": [(tmp_path / "nope.jpg").as_uri()], "source_type": "url"},
        headers=api.auth,
    )
    assert missing.json()["code"] == 4000
    assert "nope.jpg" in missing.json()["message"]


# -- robustness -----------------------------------------------------------------------------


def test_fifty_concurrent_sessions(local_backend_module: LocalBackend) -> None:
    local_backend = local_backend_module
    api = Api(local_backend).login()

    async def one(http: httpx.AsyncClient, n: int) -> tuple[int, str]:
        response = await http.post("/api/tasks/me/with-session/nemo_agent", json={"language": "en"})
        sid = response.json()["data"]["session_id"]
        async with http.stream(
            "POST", "/run_sse", json=api.chat_body(sid, f"make it {n % 9 + 1} seconds")
        ) as r:
            raw = await r.aread()
        frames, tail = parse_sse(raw)
        assert tail == ""
        assert events(frames)
        state = (await http.get(f"/api/state/nemo_agent/me/{sid}/latest")).json()["data"]
        return state["state"]["draft"]["d"], sid

    async def main() -> list[tuple[int, str]]:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(
            base_url=local_backend.base_url,
            headers={**attribution_headers(), **api.auth},
            limits=limits,
            timeout=60,
        ) as http:
            return await asyncio.gather(*(one(http, n) for n in range(50)))

    results = asyncio.run(main())
    assert [d for d, _ in results] == [(n % 9 + 1) * 1000 for n in range(50)]
    assert len({sid for _, sid in results}) == 50
    assert api.credits()["available"] == 50


def test_state_survives_a_restart_with_a_data_dir(tmp_path: Path) -> None:
    with backend_with(data_dir=tmp_path / "data") as backend:
        api = Api(backend).login()
        sid = api.session()
        api.upload(sid, write_photo(tmp_path / "cat.jpg"))
        api.chat(sid, "bounce strongly for 4 seconds")
        before = api.state(sid)
        token = api.token
    with backend_with(data_dir=tmp_path / "data") as again:
        api = Api(again)
        api.token = token
        after = api.state(sid)
        assert after["state"]["draft"]["d"] == 4000
        assert video_segment(after)["m"] | {"src": ""} == video_segment(before)["m"] | {"src": ""}
        assert video_segment(after)["m"]["src"].startswith(again.download_base_url)
        assert (
            httpx.get(video_segment(after)["m"]["src"]).content
            == (tmp_path / "cat.jpg").read_bytes()
        )
        assert api.credits() == {"available": 99, "frozen": 0, "total": 99}


def test_stops_cleanly_with_a_chat_stream_open() -> None:
    backend = backend_with(chat_delay=120.0, heartbeat_interval=0.05).start()
    api = Api(backend).login()
    sid = api.session()
    seen: list[bytes] = []
    outcome: list[str] = []

    def listen() -> None:
        try:
            with api.http.stream(
                "POST", "/run_sse", json=api.chat_body(sid, "hello"), headers=api.auth
            ) as r:
                for chunk in r.iter_raw():
                    seen.append(chunk)
            outcome.append("closed")
        except httpx.HTTPError as exc:
            outcome.append(type(exc).__name__)

    listener = threading.Thread(target=listen)
    listener.start()
    for _ in range(1500):  # the first heartbeat comes at once; bounded so a bug cannot hang
        if seen:
            break
        threading.Event().wait(0.02)
    assert seen
    backend.stop()
    listener.join(timeout=30)
    assert not listener.is_alive()
    assert outcome == ["closed"]  # the server ended the stream itself
    with pytest.raises(httpx.ConnectError):
        httpx.get(backend.base_url)


@pytest.mark.slow
def test_a_201_mb_upload_is_refused_while_streaming_without_holding_it(api: Api) -> None:
    sid = api.session()
    megabyte = b"\0" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        yield (
            b'--bnd\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n"
        )
        for _ in range(201):
            yield megabyte
        yield b"\r\n--bnd--\r\n"

    tracemalloc.start()
    try:
        response = api.http.post(
            f"/api/upload-video/nemo_agent/me/{sid}",
            content=body(),
            headers={**api.auth, "Content-Type": "multipart/form-data; boundary=bnd"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["code"] == 4002
    assert "big.mp4" in response.json()["message"]
    assert peak < 32 * 1024 * 1024  # client and server together never held the body
    assert not list((api.backend.data_dir / "media" / ".incoming").iterdir())
    assert api.state(sid)["state"]["video_infos"] == []


def write_mp4(path: Path) -> Path:
    """A tiny real H.264 clip, 64x48, ten frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), i * 20, np.uint8), format="rgb24"
            )
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_clips_are_stored_not_animated_and_names_are_made_safe(
    fresh_api: Api, tmp_path: Path
) -> None:
    api = fresh_api
    sid = api.session()
    clip = write_mp4(tmp_path / "clip.mp4")
    files = [("files", ("../../evil name?.mp4", clip.read_bytes()))]
    response = api.http.post(
        f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=api.auth
    )
    (info,) = response.json()["data"]["files"]
    assert info["filename"] == "evil name_.mp4"
    assert (info["file_type"], info["width"], info["height"]) == ("video", 64, 48)
    assert info["duration"] == pytest.approx(1.0, abs=0.2)
    state = api.state(sid)
    assert state["state"]["draft"]["t"] == []  # only photos go on the video track
    assert [v["media_id"] for v in state["state"]["video_infos"]] == [info["media_id"]]
    stored = list((api.backend.data_dir / "media").glob("m_*/*"))
    assert [p.name for p in stored] == ["evil name_.mp4"]
