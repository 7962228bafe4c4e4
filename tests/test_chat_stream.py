"""The chat stream over real HTTP: recorded ADK frames served by a small Starlette app."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx_sse
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from skill.client import ChatEvent, NemoClient
from skill.client._sse import SSEDecoder, split_lines
from skill.errors import ConnectionLost, OutOfCredits, StreamError
from tests._loopback import serve

TOKEN = "nmv_usr_chatstreamtest0001"
STATE = {
    "draft": {
        "t": [
            {
                "tt": 0,
                "sg": [
                    {"id": "s1", "st": 0, "d": 5000, "m": {"name": "cat.jpg", "motion": "jiggle"}}
                ],
            }
        ],
        "d": 5000,
    }
}


def frame(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def adk(parts: list[dict[str, Any]], role: str = "model", **extra: Any) -> bytes:
    return frame(
        {"id": "e1", "author": "nemo_agent", "content": {"role": role, "parts": parts}, **extra}
    )


class Script:
    """What the fake /run_sse sends: bytes, a float (sleep seconds), or an exception (abort)."""

    def __init__(self) -> None:
        self.items: list[bytes | float | Exception] = []
        self.chat_requests: list[dict[str, Any]] = []
        self.state = STATE
        self.claim: bool = True


def make_app(script: Script) -> Starlette:
    async def run_sse(request: Request) -> StreamingResponse:
        script.chat_requests.append(await request.json())

        async def body() -> AsyncIterator[bytes]:
            for item in script.items:
                if isinstance(item, float):
                    await asyncio.sleep(item)
                elif isinstance(item, Exception):
                    raise item
                else:
                    yield item

        return StreamingResponse(body(), media_type="text/event-stream")

    async def state(request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        return JSONResponse({"code": 0, "data": {"session_id": sid, "state": script.state}})

    async def claim(request: Request) -> JSONResponse:
        if not script.claim:
            return JSONResponse({"code": 404, "message": "no such route"}, status_code=404)
        return JSONResponse({"code": 0, "data": {"claim_token": "clm_abc", "expires_in": 60}})

    return Starlette(
        routes=[
            Route("/run_sse", run_sse, methods=["POST"]),
            Route("/api/state/nemo_agent/me/{sid}/latest", state),
            Route("/api/auth/claim-token", claim, methods=["POST"]),
        ]
    )


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def base_url(script: Script) -> Iterator[str]:
    with serve(make_app(script)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[NemoClient]:
    with NemoClient(base_url, token=TOKEN, sleep=lambda s: None, stream_read_timeout=1.0) as c:
        yield c


def texts(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if e.kind == "text")


def test_adk_partials_and_final_text_show_once(script: Script, client: NemoClient) -> None:
    script.items = [
        adk([{"text": "Adding a "}], partial=True),
        adk([{"text": "jiggle…"}], partial=True),
        adk([{"text": "Adding a jiggle…"}]),
        adk([{"text": "Let me think", "thought": True}]),
        adk(
            [{"functionCall": {"id": "fc-1", "name": "apply_motion", "args": {"motion": "jiggle"}}}]
        ),
        adk(
            [
                {
                    "functionResponse": {
                        "id": "fc-1",
                        "name": "apply_motion",
                        "response": {"ok": True},
                    }
                }
            ],
            role="user",
        ),
        adk([{"text": "Done. "}], partial=True),
        adk([{"text": "Click Export to download."}], partial=True),
        adk([{"text": "Done. Click Export to download."}], turnComplete=True),
    ]
    events = list(client.stream_chat("s1", "make it jiggle", snapshot=False))
    # Two model messages in one turn: each shown once, the second on a line of its own.
    assert texts(events) == "Adding a jiggle…\nDone. Click Export to download."
    call = next(e for e in events if e.kind == "tool_call")
    assert (call.tool_name, call.tool_id, call.tool_args) == (
        "apply_motion",
        "fc-1",
        {"motion": "jiggle"},
    )
    result = next(e for e in events if e.kind == "tool_result")
    assert result.tool_args == {"ok": True}
    assert events[-1].final
    assert "think" not in texts(events)
    body = script.chat_requests[0]
    assert body == {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": "s1",
        "new_message": {"role": "user", "parts": [{"text": "make it jiggle"}]},
        "streaming": True,
    }


def test_snake_case_and_simplified_frames(script: Script, client: NemoClient) -> None:
    script.items = [
        frame({"content": {"parts": [{"function_call": {"name": "set_bgm", "args": {"v": 1}}}]}}),
        frame(
            {
                "content": {
                    "parts": [{"function_response": {"name": "set_bgm", "response": {"ok": 1}}}]
                }
            }
        ),
        frame({"type": "text", "content": "Hello "}),
        frame({"type": "tool_call", "name": "apply_motion", "args": {"motion": "bounce"}}),
        frame({"type": "tool_result", "name": "apply_motion", "result": "ok"}),
        frame({"type": "text", "content": "world"}),
        frame({"content": {"parts": [{"text": "!"}]}, "turn_complete": True}),
    ]
    events = list(client.stream_chat("s1", "hi", snapshot=False))
    assert texts(events) == "Hello world!"
    kinds = [e.kind for e in events]
    assert kinds == ["tool_call", "tool_result", "text", "tool_call", "tool_result", "text", "text"]
    assert events[3].tool_args == {"motion": "bounce"}
    assert events[4].tool_args == {"value": "ok"}
    assert events[-1].final


def test_every_heartbeat_form(script: Script, client: NemoClient) -> None:
    script.items = [
        b": ping\n\n",
        b"data:\n\n",
        b"event: heartbeat\n\n",
        b'event: heartbeat\ndata: {"type":"heartbeat"}\n\n',
        frame({"type": "heartbeat"}),
        adk([{"text": "ok"}]),
    ]
    events = list(client.stream_chat("s1", "hi", snapshot=False))
    assert [e.kind for e in events] == ["heartbeat"] * 5 + ["text"]


def test_no_phantom_event_after_a_comment_once_an_id_was_seen(
    script: Script, client: NemoClient, base_url: str
) -> None:
    # httpx-sse issue #35: after "id:", a comment block makes EventSource emit an empty event.
    script.items = [
        b'id: 1\ndata: {"type":"text","content":"Hello"}\n\n',
        b": ping\n\n",
        b'id: 2\ndata: {"type":"text","content":" World"}\n\n',
    ]
    with (
        httpx.Client(base_url=base_url) as raw,
        httpx_sse.connect_sse(raw, "POST", "/run_sse", json={}) as source,
    ):
        raw_events = list(source.iter_sse())
    assert [e.data for e in raw_events] == [
        '{"type":"text","content":"Hello"}',
        "",
        '{"type":"text","content":" World"}',
    ], "httpx-sse no longer shows its issue #35; this test documents it"
    events = list(client.stream_chat("s1", "hi", snapshot=False))
    assert [(e.kind, e.text) for e in events] == [
        ("text", "Hello"),
        ("heartbeat", ""),
        ("text", " World"),
    ]


def test_crlf_and_chunks_split_anywhere() -> None:
    stream = b'data: {"a":\r\ndata: 1}\r\n\r\n: c\r\rdata: x\n\n'.decode()
    chunks = [stream[i : i + 3] for i in range(0, len(stream), 3)]
    decoder = SSEDecoder()
    messages = [m for line in split_lines(chunks) if (m := decoder.decode(line)) is not None]
    assert [(m.data, m.comment) for m in messages] == [
        ('{"a":\n1}', False),
        ("c", True),
        ("x", False),
    ]


def test_malformed_frame_is_skipped(script: Script, client: NemoClient) -> None:
    script.items = [
        adk([{"text": "one "}]),
        b'data: {"content": {"parts": [{"text": \n\n',
        adk([{"text": "two"}]),
    ]
    assert texts(list(client.stream_chat("s1", "hi", snapshot=False))) == "one two"


def test_in_stream_error_is_yielded_then_raised(script: Script, client: NemoClient) -> None:
    script.items = [adk([{"text": "Working"}]), frame({"error": "model overloaded"})]
    seen: list[ChatEvent] = []
    with pytest.raises(StreamError) as caught:
        seen.extend(client.stream_chat("s1", "hi", snapshot=False))
    assert [e.kind for e in seen] == ["text", "error"]
    assert "model overloaded" in caught.value.human()
    script.items = [frame({"errorCode": "MODEL_ERROR", "errorMessage": "bad tool"})]
    events = list(client.stream_chat("s1", "hi", snapshot=False, raise_on_error=False))
    assert events[0].kind == "error"
    assert isinstance(events[0].error, StreamError)
    assert "bad tool" in events[0].text


@pytest.mark.parametrize("claim", [True, False])
def test_in_stream_out_of_credits_carries_a_link(
    script: Script, client: NemoClient, claim: bool
) -> None:
    script.claim = claim
    script.items = [frame({"error": {"code": 2001, "message": "no credits"}})]
    client._user_token = False  # behave as an anonymous user whose id is known
    client._user_id = "anon_42"
    with pytest.raises(OutOfCredits) as caught:
        list(client.stream_chat("s1", "hi", snapshot=False))
    expected = (
        "https://nemovideo.com/workspace/claim?ct=clm_abc"
        if claim
        else "https://nemovideo.com/register?bind=anon_42"
    )
    assert caught.value.register_url == expected
    assert expected in caught.value.human("zh")
    assert TOKEN not in caught.value.human()


@pytest.mark.parametrize("how", ["clean-close", "abort"])
def test_cut_stream_reads_state_and_never_resends(
    script: Script, client: NemoClient, how: str
) -> None:
    script.items = [adk([{"text": "Adding"}], partial=True), b'data: {"content": {"par']
    if how == "abort":
        script.items.append(RuntimeError("connection cut"))
    client.state("s1")  # the state before the turn
    script.state = {
        "draft": {
            "t": [
                {
                    "tt": 0,
                    "sg": [
                        {
                            "id": "s1",
                            "st": 0,
                            "d": 5000,
                            "m": {"name": "cat.jpg", "motion": "bounce"},
                        }
                    ],
                }
            ]
        }
    }
    seen: list[ChatEvent] = []
    with pytest.raises(ConnectionLost) as caught:
        seen.extend(client.stream_chat("s1", "make it bounce", snapshot=False))
    assert texts(seen) == "Adding"
    lost = caught.value
    assert lost.state is not None
    assert [c.describe() for c in lost.changes] == ["Video cat.jpg: motion jiggle → bounce"]
    assert "motion jiggle → bounce" in lost.human()
    assert "动效" in lost.human("zh")
    assert "not sent again" in lost.human()
    assert lost.to_dict()["applied"].startswith("What was applied")
    assert len(script.chat_requests) == 1


def test_stalled_stream_counts_as_lost(script: Script, client: NemoClient) -> None:
    script.items = [adk([{"text": "Working"}]), 5.0]
    with pytest.raises(ConnectionLost) as caught:
        list(client.stream_chat("s1", "hi", snapshot=False))
    assert "read timeout" in (caught.value.detail or "")
    assert "cat.jpg" in caught.value.human()  # no earlier state: the project as it is now


def test_still_working_after_two_minutes_without_text(script: Script, base_url: str) -> None:
    ticks = itertools.count(step=50.0)  # every clock read is 50 s later
    script.items = [*[b": ping\n\n"] * 6, adk([{"text": "done"}])]
    calls: list[int] = []
    with NemoClient(base_url, token=TOKEN, clock=lambda: next(ticks)) as client:
        events = list(
            client.stream_chat("s1", "hi", snapshot=False, on_still_working=lambda: calls.append(1))
        )
    assert texts(events) == "done"
    assert len(calls) == 2
