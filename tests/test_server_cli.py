"""``jiggle serve-local``: a real process that serves until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from skill.manifest import attribution_headers
from tests.conftest import repo_root


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "skill", "serve-local", *args],
        cwd=repo_root(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_local_prints_both_origins_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = _start("--port", "0", "--data-dir", str(tmp_path / "data"), "--faults", "503@credits")
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        urls = dict(line.split(":", 1) for line in lines if line.strip())
        api = urls["API"].strip()
        downloads = urls["Downloads"].strip()
        assert api.startswith("http://127.0.0.1:")
        assert downloads.startswith("http://127.0.0.1:")
        assert api != downloads
        assert urls["Faults"].strip() == "503@credits"
        token = httpx.post(f"{api}/api/auth/anonymous-token", headers={"X-Client-Id": "cli"})
        assert token.json()["code"] == 0
        auth = {**attribution_headers(), "Authorization": f"Bearer {token.json()['data']['token']}"}
        assert httpx.get(f"{api}/api/credits/balance/simple", headers=auth).status_code == 503
        assert httpx.get(f"{api}/api/credits/balance/simple", headers=auth).json()["code"] == 0
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    tokens = tmp_path / "data" / "accounts" / "tokens"
    assert list(tokens.glob("*.json"))  # the token outlives the process


def test_serve_local_refuses_a_bad_fault_spec() -> None:
    process = _start("--faults", "sse-cut=soon")
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "sse-cut=soon" in err
    assert "NAME[=VALUE][@ENDPOINT][*COUNT]" in err
