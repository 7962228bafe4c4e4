"""The fault grammar of docs/design.md, parsed and then fired against a running backend."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from skill.errors import InputError
from skill.local.server import LocalBackend, parse_faults
from tests.test_server import Api, backend_with, events, parse_sse, texts, write_wav


@pytest.fixture
def api(local_backend_module: LocalBackend) -> Iterator[Api]:
    local_backend_module.clear_faults()
    client = Api(local_backend_module).login()
    yield client
    local_backend_module.clear_faults()
    client.close()


def collect(stream: Any) -> tuple[bytes, httpx.HTTPError | None]:
    """The bytes a streamed response delivered, and the error that ended it early, if any."""
    raw = bytearray()
    try:
        with stream as response:
            for chunk in response.iter_raw():
                raw.extend(chunk)
    except httpx.HTTPError as exc:
        return bytes(raw), exc
    return bytes(raw), None


# -- the grammar ----------------------------------------------------------------------------


def test_parse_the_documented_examples() -> None:
    rules = parse_faults("1001@credits, 429=2@chat*2,sse-cut=3,download-cut*inf")
    assert [(r.name, r.value, r.endpoint, r.remaining) for r in rules] == [
        ("1001", None, "credits", 1),
        ("429", 2.0, "chat", 2),
        ("sse-cut", 3.0, None, 1),
        ("download-cut", None, None, math.inf),
    ]
    assert [str(r) for r in rules] == [
        "1001@credits",
        "429=2@chat*2",
        "sse-cut=3",
        "download-cut*inf",
    ]
    assert parse_faults("") == []
    assert parse_faults(None) == []


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("1234", "unknown fault '1234'"),
        ("1001@nowhere", "unknown endpoint 'nowhere'"),
        ("1001=5", "1001 takes no value"),
        ("sse-cut=lots", "is not a number"),
        ("429*0", "positive whole number"),
        ("429 @chat", "does not follow the grammar"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_faults(spec)
    assert says in str(info.value)
    assert "NAME[=VALUE][@ENDPOINT][*COUNT]" in str(info.value)


def test_a_backend_refuses_a_bad_spec_and_a_bad_header(api: Api) -> None:
    with pytest.raises(InputError):
        LocalBackend(faults="sse-cut=x")
    response = api.http.get(
        "/api/credits/balance/simple", headers={**api.auth, "X-Jiggle-Fault": "nope"}
    )
    assert response.status_code == 422
    assert "X-Jiggle-Fault" in response.json()["message"]


# -- error codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "endpoint", "status"),
    [
        ("1001", "credits", 401),
        ("1002", "state", 404),
        ("2001", "chat", 403),
        ("4001", "upload", 415),
        ("4002", "upload", 413),
        ("400", "auth", 400),
        ("402", "export", 402),
        ("429", "credits", 429),
        ("500", "state", 500),
        ("502", "session", 502),
        ("503", "credits", 503),
    ],
)
def test_error_faults_answer_the_envelope_of_the_contract(
    api: Api, tmp_path: Path, name: str, endpoint: str, status: int
) -> None:
    sid = api.session()
    requests: dict[str, Callable[[dict[str, str]], httpx.Response]] = {
        "credits": lambda h: api.http.get("/api/credits/balance/simple", headers=h),
        "state": lambda h: api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=h),
        "chat": lambda h: api.http.post("/run_sse", json=api.chat_body(sid, "hi"), headers=h),
        "upload": lambda h: api.upload(sid, write_wav(tmp_path / "a.wav"), headers=h),
        "auth": lambda h: api.http.post(
            "/api/auth/anonymous-token", headers={**h, "X-Client-Id": "c"}
        ),
        "export": lambda h: api.http.post(
            "/api/render/proxy/lambda", json={"sessionId": sid}, headers=h
        ),
        "session": lambda h: api.http.post(
            "/api/tasks/me/with-session/nemo_agent", json={}, headers=h
        ),
    }
    send = requests[endpoint]
    for how in ("header", "inject"):
        headers = dict(api.auth)
        if how == "header":
            headers["X-Jiggle-Fault"] = name
        else:
            api.backend.inject(name)
        response = send(headers)
        assert response.status_code == status
        body = response.json()
        assert body["code"] == int(name)
        assert body["message"]
    assert api.credits()["available"] == 100  # nothing was charged by a failed request


def test_429_carries_retry_after(api: Api) -> None:
    response = api.http.get(
        "/api/credits/balance/simple", headers={**api.auth, "X-Jiggle-Fault": "429=7"}
    )
    assert response.headers["Retry-After"] == "7"
    response = api.http.get(
        "/api/credits/balance/simple", headers={**api.auth, "X-Jiggle-Fault": "429"}
    )
    assert response.headers["Retry-After"] == "1"


def test_count_endpoint_and_first_applicable_request(api: Api) -> None:
    sid = api.session()
    api.backend.inject("1001@credits*2,1002")
    codes = [
        api.http.get("/api/credits/balance/simple", headers=api.auth).json()["code"]
        for _ in range(3)
    ]
    assert codes == [1001, 1001, 0]
    # 1002 waited for the first request that has a session, skipping credits above.
    assert (
        api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=api.auth).json()["code"]
        == 1002
    )
    assert api.state(sid)["session_id"] == sid  # once only
    api.backend.inject("503*inf")
    assert all(
        api.http.get("/api/credits/balance/simple", headers=api.auth).status_code == 503
        for _ in range(4)
    )
    api.backend.clear_faults()
    assert api.backend.armed_faults == []
    assert api.credits()["available"] == 100


def test_expire_token_fails_every_later_request(api: Api) -> None:
    sid = api.session()
    api.backend.inject("expire-token")
    for _ in range(3):
        response = api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=api.auth)
        assert response.json()["code"] == 1001
    api.new_token()
    assert api.credits()["available"] == 100


def test_lose_session_forgets_it(api: Api) -> None:
    sid = api.session()
    api.backend.inject("lose-session@state")
    assert (
        api.http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=api.auth).json()["code"]
        == 1002
    )
    response = api.http.post("/run_sse", json=api.chat_body(sid, "hi"), headers=api.auth)
    assert response.status_code == 404
    assert response.json()["code"] == 1002


# -- stream faults --------------------------------------------------------------------------


def test_sse_cut_closes_inside_a_frame_after_n_events(api: Api) -> None:
    sid = api.session()
    for cut_after in (1, 3):
        raw, error = collect(
            api.http.stream(
                "POST",
                "/run_sse",
                json=api.chat_body(sid, "make it 4 seconds"),
                headers={**api.auth, "X-Jiggle-Fault": f"sse-cut={cut_after}"},
            )
        )
        assert isinstance(error, httpx.RemoteProtocolError)
        frames, tail = parse_sse(raw)
        assert len(events(frames)) == cut_after
        assert tail.startswith("data: {")  # the stream stopped inside the next frame
    # The turn itself finished on the server: its edit is in the draft.
    assert api.state(sid)["state"]["draft"]["d"] == 4000


def test_sse_malformed_sends_one_bad_frame_among_good_ones(api: Api) -> None:
    _, frames, tail = api.chat(api.session(), "hello", headers={"X-Jiggle-Fault": "sse-malformed"})
    assert tail == ""
    bad = []
    for frame in frames:
        if not frame.is_heartbeat:
            try:
                frame.json()
            except ValueError:
                bad.append(frame)
    assert len(bad) == 1
    good = [f for f in frames if not f.is_heartbeat and f not in bad]
    assert texts([f.json() for f in good])[-1][1].startswith("Hi!")


def test_sse_error_sends_an_error_event_and_changes_nothing(api: Api) -> None:
    sid = api.session()
    api.backend.inject("sse-error")
    _, frames, tail = api.chat(sid, "make it 7 seconds")
    evs = events(frames)
    assert tail == ""
    assert evs[-1]["errorCode"] == "AGENT_ERROR"
    assert "changed nothing" in evs[-1]["errorMessage"]
    assert not any(
        "functionCall" in p for ev in evs for p in (ev.get("content") or {}).get("parts", [])
    )
    assert api.state(sid)["state"]["draft"]["d"] == 2000
    assert api.credits()["available"] == 100


def test_sse_stall_stops_sending_then_resumes() -> None:
    with backend_with(faults="sse-stall=30") as backend:
        api = Api(backend).login()
        sid = api.session()
        raw, error = collect(
            api.http.stream(
                "POST", "/run_sse", json=api.chat_body(sid, "hello"), headers=api.auth, timeout=0.5
            )
        )
        assert isinstance(error, httpx.ReadTimeout)
        frames, _ = parse_sse(raw)
        assert len(events(frames)) == 1  # one event, then nothing at all (no heartbeats either)
        assert frames[-1].is_heartbeat is False
        api.backend.inject("sse-stall=0.2")
        _, frames, tail = api.chat(sid, "hello")
        assert tail == ""
        assert texts(events(frames))[-1][1].startswith("Hi!")


# -- download faults ------------------------------------------------------------------------


def test_download_cut_and_resume_with_range(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    sound = write_wav(tmp_path / "tune.wav", seconds=2.0)
    url = api.upload(sid, sound).json()["data"]["files"][0]["cdn_url"]
    whole = sound.read_bytes()
    head = httpx.head(url)
    assert head.headers["content-length"] == str(len(whole))
    assert head.headers["accept-ranges"] == "bytes"
    got, error = collect(httpx.stream("GET", url, headers={"X-Jiggle-Fault": "download-cut=1000"}))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert got == whole[:1000]
    api.backend.inject("download-cut")  # default: half the file
    got, error = collect(httpx.stream("GET", url))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert len(got) == len(whole) // 2
    rest = httpx.get(url, headers={"Range": f"bytes={len(got)}-"})
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {len(got)}-{len(whole) - 1}/{len(whole)}"
    assert bytes(got) + rest.content == whole
