"""One retry policy for the client (issue 11, item 4): exponential backoff with full jitter,
a configurable count, ``Retry-After`` in seconds or as an HTTP date, a deadline on waits, and
never a blind resend of a state-changing POST.

Waits are measured through the policy's injected ``sleep`` and ``clock``, never by timing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.client import JobStore, NemoClient, RenderJob
from skill.client._retry import RetryPolicy, parse_retry_after
from skill.errors import ConnectionLost, RenderTimeout, ServerError
from skill.local.server import LocalBackend
from skill.mcp.api import Jiggle
from tests._loopback import serve
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

TOKEN = "nmv_usr_retrytests0000001"


class Clock:
    """A clock that moves only when the policy sleeps: waits are counted, not spent."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _policy(clock: Clock, **options: Any) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, **options)


@pytest.fixture
def backend() -> Iterator[LocalBackend]:
    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "tokens_per_client": None, "tokens_per_ip": None}
    with LocalBackend(**knobs) as server:
        yield server


def test_a_batch_with_five_rate_limited_chat_turns_delivers_every_video(
    backend: LocalBackend, tmp_path: Path
) -> None:
    photos = []
    for index, colour in enumerate(["red", "green", "blue"]):
        path = tmp_path / f"p{index}.png"
        picture = Image.new("RGB", (160, 160), colour)
        picture.paste("white", (50, 40, 110, 130))
        picture.save(path)
        photos.append(path)
    backend.inject("429=0@chat*5")
    api = Jiggle(
        backend="local", base_url=backend.base_url, output_dir=tmp_path / "out", poll_interval=0.05
    )
    try:
        result = api.animate(photos, "make it bounce for 1 second")
    finally:
        api.close()
    assert [f.code for f in result.failures] == []
    assert len(result.videos) == 3
    assert backend.armed_faults == []  # all five 429s were answered, and waited out


def test_retry_after_zero_retries_at_once(backend: LocalBackend) -> None:
    clock = Clock()
    with NemoClient(backend.base_url, retry_policy=_policy(clock)) as client:
        client.ensure_token()
        backend.inject("429=0@credits*2")
        client.credits()
    assert sum(clock.sleeps) == 0  # not the 30 s the contract uses without a Retry-After
    assert backend.armed_faults == []


def _http_date_server(hits: list[str], seconds: float) -> Starlette:
    async def credits(request: Request) -> Response:
        hits.append(request.url.path)
        if len(hits) == 1:
            when = datetime.now(UTC) + timedelta(seconds=seconds)
            return JSONResponse(
                {"code": 429, "message": "slow down"},
                status_code=429,
                headers={"Retry-After": format_datetime(when, usegmt=True)},
            )
        return JSONResponse({"code": 0, "data": {"available": 5, "frozen": 0}})

    return Starlette(routes=[Route("/api/credits/balance/simple", credits)])


def test_retry_after_as_an_http_date_is_honoured() -> None:
    hits: list[str] = []
    clock = Clock()
    with (
        serve(_http_date_server(hits, 8)) as url,
        NemoClient(url, token=TOKEN, retry_policy=_policy(clock)) as client,
    ):
        assert client.credits().available == 5
    assert len(hits) == 2
    (waited,) = clock.sleeps
    assert 5 <= waited <= 8  # the date, less the second or so it took to get here
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Tue, 01 Jan 2030 00:00:10 GMT", now=now) == 10
    assert parse_retry_after("Mon, 31 Dec 2029 00:00:00 GMT", now=now) == 0  # in the past
    assert parse_retry_after("0") == 0
    assert parse_retry_after("soon") is None


def test_backoff_has_full_jitter_within_bounds(backend: LocalBackend) -> None:
    clock = Clock()
    policy = _policy(clock, attempts=6, base=0.5, cap=4.0, rand=random.Random(11).random)
    with NemoClient(backend.base_url, retry_policy=policy) as client:
        client.ensure_token()
        backend.inject("500@credits*5")
        client.credits()
    assert len(clock.sleeps) == 5
    for failures, waited in enumerate(clock.sleeps, start=1):
        assert 0 <= waited <= min(4.0, 0.5 * 2 ** (failures - 1))
    assert len(set(clock.sleeps)) == len(clock.sleeps)  # jittered: no two alike
    # Without jitter the same policy waits the ceilings themselves.
    steady = RetryPolicy(jitter=False, base=0.5, cap=4.0)
    assert [steady.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


@pytest.mark.parametrize("retries", [0, 2, 4])
def test_the_number_of_retries_is_configurable(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch, retries: int
) -> None:
    monkeypatch.setenv("JIGGLE_RETRIES", str(retries))
    sleeps: list[float] = []
    with NemoClient(backend.base_url, sleep=sleeps.append) as client:
        assert client.retry.attempts == retries + 1
        client.ensure_token()
        backend.inject("503@credits*inf")
        try:
            with pytest.raises(ServerError):
                client.credits()
        finally:
            backend.clear_faults()
    assert len(sleeps) == retries
    # The constructor's argument wins over the environment.
    with NemoClient(backend.base_url, retries=7) as client:
        assert client.retry.attempts == 8


def test_a_bad_jiggle_retries_is_a_clear_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from skill.errors import InputError

    monkeypatch.setenv("JIGGLE_RETRIES", "lots")
    with pytest.raises(InputError) as caught:
        NemoClient("http://127.0.0.1:9", token=TOKEN)
    assert "JIGGLE_RETRIES" in caught.value.human()


def _always_rendering() -> Starlette:
    async def poll(request: Request) -> Response:
        return JSONResponse({"code": 0, "data": {"status": "rendering", "progress": 40}})

    return Starlette(routes=[Route("/api/render/proxy/lambda/{rid}", poll)])


def test_wait_gives_up_at_its_deadline_and_keeps_the_render(tmp_path: Path) -> None:
    clock = Clock()
    jobs = JobStore(tmp_path / "jobs.json")
    with (
        serve(_always_rendering()) as url,
        NemoClient(
            url, token=TOKEN, sleep=clock.sleep, clock=clock, jobs=jobs, poll_interval=10
        ) as client,
    ):
        job = RenderJob(id="render_1", session_id="s1", status="rendering")
        jobs.add(job)
        with pytest.raises(RenderTimeout) as caught:
            client.wait(job, deadline=95)
    assert clock.now == 95  # the last wait was cut to the deadline, not a whole interval more
    assert caught.value.exit_code == 4
    assert "jiggle resume render_1" in caught.value.human()
    assert "95 seconds" in caught.value.human()
    assert [j.id for j in jobs.list()] == ["render_1"]


class Chat:
    """A chat endpoint that counts requests and the turns it processed."""

    def __init__(self) -> None:
        self.requests = 0
        self.processed = 0
        self.script: list[str] = []

    def app(self) -> Starlette:
        async def run_sse(request: Request) -> Response:
            await request.body()
            self.requests += 1
            action = self.script.pop(0) if self.script else "ok"
            if action == "503":
                return JSONResponse({"code": 503, "message": "busy"}, status_code=503)
            self.processed += 1
            if action == "drop":

                async def dropped() -> Any:
                    raise RuntimeError("the connection drops after the turn was received")
                    yield b""

                return StreamingResponse(dropped(), media_type="text/event-stream")
            frame = b'data: {"content":{"parts":[{"text":"Done."}]},"turnComplete":true}\n\n'
            return Response(frame, media_type="text/event-stream")

        async def state(request: Request) -> Response:
            return JSONResponse({"code": 0, "data": {"draft": {}}})

        return Starlette(
            routes=[
                Route("/run_sse", run_sse, methods=["POST"]),
                Route("/api/state/nemo_agent/me/{sid}/latest", state),
            ]
        )


def test_a_chat_turn_cut_after_it_was_sent_is_not_sent_again() -> None:
    chat = Chat()
    chat.script = ["drop"]
    with (
        serve(chat.app()) as url,
        NemoClient(url, token=TOKEN, sleep=lambda s: None) as client,
        pytest.raises(ConnectionLost) as caught,
    ):
        list(client.stream_chat("s1", "make it bounce", snapshot=False))
    assert chat.requests == 1
    assert chat.processed == 1
    assert "not sent again" in caught.value.human()


def test_a_chat_turn_answered_503_before_processing_is_retried() -> None:
    chat = Chat()
    chat.script = ["503", "503", "ok"]
    clock = Clock()
    with (
        serve(chat.app()) as url,
        NemoClient(url, token=TOKEN, retry_policy=_policy(clock)) as client,
    ):
        events = list(client.stream_chat("s1", "make it bounce", snapshot=False))
    assert any(e.kind == "text" and "Done" in e.text for e in events)
    assert chat.requests == 3
    assert chat.processed == 1
    assert len(clock.sleeps) == 2


class Exports:
    """An export endpoint that de-duplicates by render id and drops its first answer."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.charged: dict[str, int] = {}

    def app(self) -> Starlette:
        async def export(request: Request) -> Response:
            body = await request.json()
            render_id = str(body["id"])
            self.ids.append(render_id)
            if render_id not in self.charged:
                self.charged[render_id] = 10
            answer = {"code": 0, "data": {"id": render_id, "status": "pending", "progress": 5}}
            if len(self.ids) == 1:

                async def dropped() -> Any:
                    raise RuntimeError("the answer is lost after the render was accepted")
                    yield b""

                return StreamingResponse(dropped(), media_type="application/json")
            return JSONResponse(answer)

        return Starlette(routes=[Route("/api/render/proxy/lambda", export, methods=["POST"])])


def test_an_export_retried_after_a_dropped_answer_uses_the_same_render_id(
    tmp_path: Path,
) -> None:
    exports = Exports()
    clock = Clock()
    jobs = JobStore(tmp_path / "jobs.json")
    with (
        serve(exports.app()) as url,
        NemoClient(url, token=TOKEN, retry_policy=_policy(clock), jobs=jobs) as client,
    ):
        job = client.export("s1", draft={"t": [{"k": "v", "sg": [{"d": 1000}]}]})
    assert len(exports.ids) == 2
    assert exports.ids[0] == exports.ids[1] == job.id
    assert sum(exports.charged.values()) == 10  # charged once
    assert [j.id for j in jobs.list()] == [job.id]
