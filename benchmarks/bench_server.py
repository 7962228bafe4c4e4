"""The local backend's speed, against a bare Starlette app served the same way in the same run.

The client runs in the same process as both servers (as in the tests), so absolute figures are
low and client-bound; the ratios are what to watch.

- requests per second for ``GET /api/credits/balance/simple`` and the session state, as a
  fraction of a bare route that returns a constant JSON body;
- time to the first byte of a ``/run_sse`` chat stream, as a multiple of the time to the first
  byte of a bare streaming route.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.local.server import LocalBackend

_REQUESTS = 400
_STREAMS = 60
_CONCURRENCY = 8


def _baseline_app() -> Starlette:
    async def constant(request: Request) -> Response:
        return JSONResponse({"code": 0, "message": "success", "data": {"available": 100}})

    async def stream(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'data: {"type":"heartbeat"}\n\n'

        return StreamingResponse(body(), media_type="text/event-stream")

    return Starlette(
        routes=[Route("/constant", constant), Route("/stream", stream, methods=["POST"])]
    )


@contextmanager
def _serve_baseline() -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            _baseline_app(), port=0, log_level="warning", log_config=None, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def _rate(send: Callable[[httpx.AsyncClient], object], base: str, headers: dict[str, str]) -> float:
    """Requests per second with a few concurrent keep-alive connections."""

    async def worker(client: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            response = await send(client)  # type: ignore[misc]
            assert response.status_code == 200

    async def main() -> float:
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            await worker(client, 20)  # warm up
            start = time.perf_counter()
            per = _REQUESTS // _CONCURRENCY
            await asyncio.gather(*(worker(client, per) for _ in range(_CONCURRENCY)))
            return per * _CONCURRENCY / (time.perf_counter() - start)

    return asyncio.run(main())


def _first_byte(base: str, path: str, body: dict[str, object], headers: dict[str, str]) -> float:
    """The median time from sending a POST to reading the first byte of its stream."""
    times = []
    with httpx.Client(base_url=base, headers=headers) as client:
        for _ in range(_STREAMS):
            start = time.perf_counter()
            with client.stream("POST", path, json=body) as response:
                chunks = response.iter_raw()
                next(chunks)
                times.append(time.perf_counter() - start)
                for _ in chunks:  # read the rest so the connection is reused
                    pass
    return statistics.median(times[5:])


def main() -> None:
    with (
        LocalBackend(tokens_per_client=None, tokens_per_ip=None, starting_credits=10**6) as backend,
        _serve_baseline() as bare,
    ):
        with httpx.Client(base_url=backend.base_url) as http:
            token = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "bench"})
            auth = {"Authorization": f"Bearer {token.json()['data']['token']}"}
            sid = http.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=auth).json()[
                "data"
            ]["session_id"]
        before = _rate(lambda c: c.get("/constant"), bare, {})
        credits_rps = _rate(lambda c: c.get("/api/credits/balance/simple"), backend.base_url, auth)
        state_rps = _rate(
            lambda c: c.get(f"/api/state/nemo_agent/me/{sid}/latest"), backend.base_url, auth
        )
        # The baseline runs before and after, so drift (CPU frequency, other load) averages out.
        base_rps = (before + _rate(lambda c: c.get("/constant"), bare, {})) / 2
        base_ttfb = _first_byte(bare, "/stream", {}, {})
        chat = {"session_id": sid, "new_message": {"parts": [{"text": "hello"}]}}
        chat_ttfb = _first_byte(backend.base_url, "/run_sse", chat, auth)
        base_ttfb = (base_ttfb + _first_byte(bare, "/stream", {}, {})) / 2
    print(f"baseline constant route: {base_rps:8.0f} req/s (1.00)")
    print(f"GET credits:             {credits_rps:8.0f} req/s ({credits_rps / base_rps:.2f} of it)")
    print(f"GET state:               {state_rps:8.0f} req/s ({state_rps / base_rps:.2f} of it)")
    print(f"baseline first SSE byte: {base_ttfb * 1000:8.2f} ms (1.00)")
    print(
        f"chat first SSE byte:     {chat_ttfb * 1000:8.2f} ms "
        f"({chat_ttfb / base_ttfb:.2f}x baseline)"
    )
