"""Issue 12, items 4 and 10: the chat as current ADK servers and NemoVideo's skill describe it.

Against the local backend with its fault rules (``sse-system-error``, ``sse-404``), and against a
small recording server on loopback for the shapes the emulator does not send (ADK's 404 with the
session id in its detail, the older ``{"error": ...}`` frame). Timeouts and the clock are
injected: nothing here waits for minutes, and no test asserts a duration.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.client import NemoClient, Session
from skill.client.chat import DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TURN_TIMEOUT
from skill.errors import (
    ConnectionLost,
    InputError,
    SessionNotFound,
    StreamError,
    TurnTimeout,
)
from skill.local.server import LocalBackend
from tests._loopback import serve
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

TOKEN = "nmv_usr_cloudprotocolchat01"


def _texts(events: list[Any]) -> str:
    return "".join(e.text for e in events if e.kind == "text")


@pytest.fixture
def backend() -> Iterator[LocalBackend]:
    with LocalBackend(**LOCAL_BACKEND_TEST_KNOBS) as server:
        yield server


# -- a recording ADK-like server --------------------------------------------------------------


class Recorder:
    """What the loopback server answers on /run_sse, and what it was asked."""

    def __init__(self) -> None:
        self.streams: list[list[bytes]] = []  # one per /run_sse call, in order
        self.not_found = False  # every /run_sse answers ADK's 404
        self.chats: list[dict[str, Any]] = []
        self.sessions = 0


def _frame(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _app(rec: Recorder) -> Starlette:
    async def run_sse(request: Request) -> Response:
        body = await request.json()
        rec.chats.append(body)
        if rec.not_found:
            # adk_web_server.py (2026): detail=f"Session not found: {req.session_id}"
            return JSONResponse(
                {"detail": f"Session not found: {body['session_id']}"}, status_code=404
            )
        frames = rec.streams[len(rec.chats) - 1]

        async def stream() -> AsyncIterator[bytes]:
            for item in frames:
                yield item

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def new_session(request: Request) -> JSONResponse:
        rec.sessions += 1
        sid = f"s{rec.sessions + 1}"
        return JSONResponse({"code": 0, "data": {"session_id": sid, "task_id": f"t-{sid}"}})

    async def state(request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return JSONResponse({"code": 0, "data": {"session_id": sid, "state": {"draft": {}}}})

    return Starlette(
        routes=[
            Route("/run_sse", run_sse, methods=["POST"]),
            Route("/api/tasks/me/with-session/nemo_agent", new_session, methods=["POST"]),
            Route("/api/state/nemo_agent/me/{sid}/latest", state),
        ]
    )


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def loopback(rec: Recorder) -> Iterator[NemoClient]:
    with (
        serve(_app(rec)) as url,
        NemoClient(url, token=TOKEN, sleep=lambda s: None, stream_read_timeout=5.0) as client,
    ):
        yield client


# -- item 4: the errors of current ADK servers ------------------------------------------------


def test_system_error_event_is_an_error_not_a_reply(backend: LocalBackend) -> None:
    """sse-system-error: ADK's {"author": "system"} "Error: ..." event ends the turn as a
    StreamError, and its text is never shown as the assistant's words."""
    backend.inject("sse-system-error@chat")
    with NemoClient(backend.base_url, sleep=lambda s: None, stream_read_timeout=5.0) as client:
        session = client.create_session()
        events = list(client.stream_chat(session, "make it bounce", raise_on_error=False))
        errors = [e.error for e in events if e.kind == "error"]
        assert "Error:" not in _texts(events)
        assert len(errors) == 1
        assert isinstance(errors[0], StreamError)
        assert "internal error" in errors[0].human("en")
        backend.inject("sse-system-error@chat")
        with pytest.raises(StreamError):  # raised at the end of the stream by default
            list(client.stream_chat(session, "make it bounce"))


def test_every_adk_error_form_is_an_error(rec: Recorder, loopback: NemoClient) -> None:
    """The recorded forms: current ADK's system event (after a partial reply), the older
    ``{"error": ...}`` frame; a system event without "Error:" is not an error."""
    system = {
        "id": "x1",
        "invocationId": "e-1",
        "author": "system",
        "timestamp": 1763950000.0,
        "content": {
            "role": "model",
            "parts": [{"text": "Error: 503 UNAVAILABLE model overloaded"}],
        },
    }
    partial = {
        "id": "x0",
        "author": "nemo_agent",
        "partial": True,
        "content": {"role": "model", "parts": [{"text": "Adding a "}]},
    }
    rec.streams = [
        [_frame(partial), _frame(system)],
        [b'data: {"error": "Quota exceeded"}\n\n'],
    ]
    events = list(loopback.stream_chat("s1", "hi", snapshot=False, raise_on_error=False))
    assert _texts(events) == "Adding a "
    errors = [e.error for e in events if e.kind == "error"]
    assert len(errors) == 1
    assert isinstance(errors[0], StreamError)
    assert errors[0].detail == "503 UNAVAILABLE model overloaded"
    with pytest.raises(StreamError, match="Quota exceeded"):
        list(loopback.stream_chat("s1", "again", snapshot=False))


def test_adk_404_session_not_found_is_a_lost_session(backend: LocalBackend) -> None:
    """sse-404: HTTP 404 {"detail": "Session not found"} on /run_sse is handled as 1002: a new
    session, the message sent once more, and the turn goes through."""
    backend.inject("sse-404@chat")
    replaced: list[Session] = []
    with NemoClient(
        backend.base_url,
        sleep=lambda s: None,
        stream_read_timeout=5.0,
        on_session_replaced=replaced.append,
    ) as client:
        session = client.create_session()
        old = session.id
        events = list(client.stream_chat(session, "make it bounce"))
        assert _texts(events).strip()
        assert not [e for e in events if e.kind == "error"]
        assert session.previous_ids == [old]
        assert session.id != old
        assert [s.id for s in replaced] == [session.id]
        assert client.resolve_session(old) == session.id


def test_adk_404_is_resent_once_only(rec: Recorder, loopback: NemoClient) -> None:
    """ADK's newer detail ("Session not found: <id>"): one new session and one resend, then
    SessionNotFound, never a loop nor a ServerError."""
    rec.not_found = True
    with pytest.raises(SessionNotFound):
        list(loopback.stream_chat("s1", "hi", snapshot=False))
    assert rec.sessions == 1
    assert [c["session_id"] for c in rec.chats] == ["s1", "s2"]
    assert [c["new_message"]["parts"][0]["text"] for c in rec.chats] == ["hi", "hi"]


# -- item 10: long turns ----------------------------------------------------------------------


def test_stream_idle_timeout_defaults_to_600_s_and_is_configurable(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 s without a byte by default (15 minutes for a whole turn); the argument, else
    $JIGGLE_STREAM_IDLE_TIMEOUT, sets it: a short one makes sse-stall a dropped stream."""
    monkeypatch.delenv("JIGGLE_STREAM_IDLE_TIMEOUT", raising=False)
    monkeypatch.delenv("JIGGLE_TURN_TIMEOUT", raising=False)
    with NemoClient(backend.base_url) as plain:
        assert plain.stream_idle_timeout == DEFAULT_STREAM_IDLE_TIMEOUT == 600.0
        assert plain.turn_timeout == DEFAULT_TURN_TIMEOUT == 900.0
    with NemoClient(backend.base_url, stream_read_timeout=700) as given:
        assert given.stream_idle_timeout == 700.0
    monkeypatch.setenv("JIGGLE_STREAM_IDLE_TIMEOUT", "soon")
    with pytest.raises(InputError, match="JIGGLE_STREAM_IDLE_TIMEOUT"):
        NemoClient(backend.base_url)
    monkeypatch.setenv("JIGGLE_STREAM_IDLE_TIMEOUT", "0.3")
    backend.inject("sse-stall=3@chat")
    with NemoClient(backend.base_url, sleep=lambda s: None) as client:
        assert client.stream_idle_timeout == 0.3
        session = client.create_session()
        with pytest.raises(ConnectionLost) as caught:
            list(client.stream_chat(session, "make it bounce"))
        assert not isinstance(caught.value, TurnTimeout)
        assert caught.value.state is not None


def test_a_turn_is_capped_at_15_minutes() -> None:
    """Heartbeats forever do not keep a turn open past 15 minutes: TurnTimeout, with the state
    read so the user knows what landed. The clock is injected (each read is a minute later)."""
    minutes = itertools.count(step=60.0)
    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "heartbeat_interval": 0.01, "chat_delay": 30.0}
    with (
        LocalBackend(**knobs) as slow,
        NemoClient(slow.base_url, sleep=lambda s: None, clock=lambda: next(minutes)) as client,
    ):
        session = client.create_session()
        with pytest.raises(TurnTimeout) as caught:
            list(client.stream_chat(session, "make it bounce"))
    error = caught.value
    assert isinstance(error, ConnectionLost)
    assert error.code == "turn_timeout"
    assert error.state is not None
    assert "15 minutes" in error.human("en")
    assert "15 分钟" in error.human("zh")
