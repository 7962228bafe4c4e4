"""The client's speed and memory, as ratios to plain httpx / httpx-sse in the same run.

1. Chat stream: events per second through ``NemoClient.stream_chat`` against raw httpx-sse
   (``iter_sse`` + ``json.loads``) reading the same stream of ADK partial-text frames.
2. Upload: a 200 MB file through ``NemoClient.upload`` against a plain ``httpx.post`` of the
   same file: throughput, and peak RSS growth (must stay under 50 MB: the file is streamed).

The server runs in its own process, and each upload in a fresh one, so that neither the
server's work nor an earlier measurement's memory is counted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_FRAMES = 20_000
_UPLOAD_BYTES = 200 * 1024 * 1024
_RSS_LIMIT_MB = 50
_TOKEN = "nmv_usr_benchmark00000001"


def _app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    frame = (
        b'data: {"id":"e","author":"nemo_agent","partial":true,'
        b'"content":{"role":"model","parts":[{"text":"jiggle "}]}}\n\n'
    )

    async def run_sse(request: Request) -> StreamingResponse:
        await request.body()

        async def body() -> object:
            batch = frame * 100
            for _ in range(_FRAMES // 100):
                yield batch

        return StreamingResponse(body(), media_type="text/event-stream")  # type: ignore[arg-type]

    async def upload(request: Request) -> JSONResponse:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return JSONResponse({"code": 0, "data": {"files": [{"filename": "big.png"}]}})

    return Starlette(
        routes=[
            Route("/run_sse", run_sse, methods=["POST"]),
            Route("/api/upload-video/nemo_agent/me/{sid}", upload, methods=["POST"]),
        ]
    )


def _serve(port: int) -> None:
    """Entry point of the server process."""
    import uvicorn

    uvicorn.run(_app(), host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    code = f"from benchmarks.bench_client import _serve; _serve({port})"
    process = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


def _raw_sse(base: str) -> tuple[int, float]:
    import httpx
    import httpx_sse

    started = time.perf_counter()
    count = 0
    with (
        httpx.Client(base_url=base, timeout=60) as client,
        httpx_sse.connect_sse(client, "POST", "/run_sse", json={}) as source,
    ):
        for event in source.iter_sse():
            json.loads(event.data)
            count += 1
    return count, time.perf_counter() - started


def _client_sse(base: str) -> tuple[int, float]:
    from skill.client import NemoClient

    with NemoClient(base, token=_TOKEN) as client:
        started = time.perf_counter()
        count = sum(1 for _ in client.stream_chat("s1", "go", snapshot=False))
        return count, time.perf_counter() - started


def _rss_kb() -> int:
    """The resident set size now (Linux /proc), in KiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _upload_child(mode: str, base: str, path: str) -> None:
    """Runs in a fresh process: one upload, then its time and peak RSS growth as JSON."""
    import httpx

    from skill.client import NemoClient

    client = NemoClient(base, token=_TOKEN) if mode == "client" else None
    plain = httpx.Client(timeout=300) if mode == "httpx" else None
    baseline = _rss_kb()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.002):
            peak = max(peak, _rss_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    if client is not None:
        client.upload("s1", [path])
    else:
        assert plain is not None
        with open(path, "rb") as handle:
            response = plain.post(
                f"{base}/api/upload-video/nemo_agent/me/s1",
                files={"files": ("big.png", handle, "image/png")},
            )
            response.raise_for_status()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    peak = max(peak, _rss_kb())
    print(json.dumps({"seconds": elapsed, "rss_growth_kb": peak - baseline}))


def _upload(mode: str, base: str, path: Path) -> dict[str, float]:
    code = (
        "from benchmarks.bench_client import _upload_child; "
        f"_upload_child({mode!r}, {base!r}, {str(path)!r})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    server, base = _start_server()
    try:
        raw = min((_raw_sse(base) for _ in range(3)), key=lambda r: r[1])
        ours = min((_client_sse(base) for _ in range(3)), key=lambda r: r[1])
        raw_rate, our_rate = raw[0] / raw[1], ours[0] / ours[1]
        print(f"sse: httpx-sse {raw_rate:,.0f} events/s ({raw[0]} events, baseline)")
        print(
            f"sse: stream_chat {our_rate:,.0f} events/s ({ours[0]} events), "
            f"{our_rate / raw_rate:.2f}x the baseline"
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big.png"
            with path.open("wb") as handle:
                handle.write(b"\x89PNG\r\n\x1a\n")
                chunk = os.urandom(1024 * 1024)
                for _ in range(_UPLOAD_BYTES // len(chunk)):
                    handle.write(chunk)
                handle.truncate(_UPLOAD_BYTES)
            plain = _upload("httpx", base, path)
            ours_up = _upload("client", base, path)
        mb = _UPLOAD_BYTES / 1024 / 1024
        plain_rate, our_up_rate = mb / plain["seconds"], mb / ours_up["seconds"]
        print(
            f"upload 200 MB: httpx {plain_rate:,.0f} MB/s, peak RSS +"
            f"{plain['rss_growth_kb'] / 1024:.1f} MB (baseline)"
        )
        growth_mb = ours_up["rss_growth_kb"] / 1024
        verdict = "ok" if growth_mb < _RSS_LIMIT_MB else f"OVER {_RSS_LIMIT_MB} MB"
        print(
            f"upload 200 MB: client {our_up_rate:,.0f} MB/s ({our_up_rate / plain_rate:.2f}x "
            f"the baseline), peak RSS +{growth_mb:.1f} MB ({verdict})"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
