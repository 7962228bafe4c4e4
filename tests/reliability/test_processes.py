"""Several jiggle processes on one local-backend data dir at once (issue 11, item 5).

Every CLI command with ``--backend local`` starts its own embedded backend over the same data
dir, and agents run commands in parallel, beside a REPL or the MCP server. These tests start
real OS processes at the same time and check that none of them loses another's work: every
video is saved, every project keeps its photo and motion, every credit is counted once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import httpx
from PIL import Image
from skimage import data as samples

from skill.local.server import LocalBackend
from skill.local.server.store import Store
from skill.manifest import attribution_headers
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

_TIMEOUT = 120
_ROOT = Path(__file__).resolve().parents[2]
_SAMPLES = ("astronaut", "chelsea", "coffee")


def _env() -> dict[str, str]:
    """The test's own config and data dirs (from conftest), and this checkout of jiggle."""
    path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _backend_dir() -> Path:
    """Where every ``--backend local`` command keeps the embedded backend's state."""
    return Path(os.environ["JIGGLE_DATA_DIR"]) / "local-backend"


def _photo(folder: Path, name: str) -> Path:
    picture = Image.fromarray(getattr(samples, name)()).convert("RGB")
    picture.thumbnail((320, 320))
    path = folder / f"{name}.jpg"
    picture.save(path)
    return path


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "skill", *args, "--backend", "local", "--json"],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = process.communicate(timeout=_TIMEOUT)
    assert process.returncode == 0, (out, err)
    events = [json.loads(line) for line in out.splitlines()]
    assert [e for e in events if e["event"] == "error"] == [], events
    return events


def _jiggle(*args: str, cwd: Path) -> list[dict[str, Any]]:
    return _finish(_start(*args, cwd=cwd))


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _state(session_id: str, cwd: Path) -> dict[str, Any]:
    """``jiggle state SESSION``: the session's timeline, read by a fresh process."""
    events = _jiggle("state", session_id, cwd=cwd)
    (shown,) = [e for e in events if e["event"] == "text"]
    assert shown["session_id"] == session_id
    return shown


def _segments(shown: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for track in shown["tracks"] for s in track["segments"]]


def _credits(cwd: Path) -> int:
    (balance,) = [e for e in _jiggle("credits", cwd=cwd) if e["event"] == "text"]
    return int(balance["available"])


def test_three_animates_at_once_each_keep_their_project_and_credits(tmp_path: Path) -> None:
    # One command first, so the three share the account it creates (two *first* runs at once
    # each make their own account: that is the client's token cache, issue 11 item 2).
    start = _credits(tmp_path)
    photos = [_photo(tmp_path, name) for name in _SAMPLES]
    outputs = [tmp_path / f"{p.stem}.mp4" for p in photos]
    processes = [
        _start("animate", str(p), "make it bounce for 1 second", "-o", str(o), cwd=tmp_path)
        for p, o in zip(photos, outputs, strict=True)
    ]
    results = [[e for e in _finish(p) if e["event"] == "result"] for p in processes]

    sessions = []
    for output, (result,) in zip(outputs, results, strict=True):
        assert Path(result["path"]).resolve() == output.resolve()
        assert _frames(output) > 0
        sessions.append(result["session_id"])
    assert len(set(sessions)) == 3
    for photo, session_id in zip(photos, sessions, strict=True):
        (segment,) = _segments(_state(session_id, tmp_path))
        assert segment["name"] == photo.name
        assert segment["motion"] == "bounce"
    # Each run paid for its own turn and export, and no run's payment was lost.
    spent_by_one = 11  # one chat turn (1) and one export (10)
    assert _credits(tmp_path) == start - 3 * spent_by_one
    store = Store(_backend_dir())
    with store.lock:
        owned = {m.session_id for m in store.media.values()}
        assert set(sessions) <= owned  # every upload is still on record
        assert {j.status for j in store.renders.values()} == {"completed"}
    store.close()


def test_a_long_lived_backend_and_another_process_see_each_others_work(tmp_path: Path) -> None:
    # A REPL (or the MCP server) keeps its backend open while another shell animates.
    photo, other = _photo(tmp_path, "astronaut"), _photo(tmp_path, "chelsea")
    with LocalBackend(data_dir=_backend_dir(), **LOCAL_BACKEND_TEST_KNOBS) as backend:
        api = httpx.Client(base_url=backend.base_url, headers=attribution_headers(), timeout=30)
        got = api.post("/api/auth/anonymous-token", headers={"X-Client-Id": "repl"}).json()
        api.headers["Authorization"] = f"Bearer {got['data']['token']}"
        mine = api.post("/api/tasks/me/with-session/nemo_agent", json={}).json()["data"]
        sid = mine["session_id"]
        with photo.open("rb") as f:
            api.post(f"/api/upload-video/nemo_agent/me/{sid}", files={"files": f})

        def say(text: str) -> None:
            body = {"session_id": sid, "new_message": {"parts": [{"text": text}]}}
            assert api.post("/run_sse", json=body).status_code == 200

        say("make it wobble")
        events = _jiggle(
            "animate", str(other), "make it bounce for 1 second", "-o", "o.mp4", cwd=tmp_path
        )
        (result,) = [e for e in events if e["event"] == "result"]
        theirs = result["session_id"]
        say("make it stronger")  # this backend writes again after the other process ended

        # The long-lived backend kept its project and sees the other process's.
        state = api.get(f"/api/state/nemo_agent/me/{sid}/latest").json()["data"]["state"]
        assert [v["filename"] for v in state["video_infos"]] == [photo.name]
        assert api.get("/api/credits/balance/simple").json()["data"]["available"] == 98
        service = backend._service
        assert service is not None
        with service.store.lock:
            assert theirs in service.store.sessions
            jobs = [j for j in service.store.renders.values() if j.session_id == theirs]
            assert [j.status for j in jobs] == ["completed"]
        api.close()

    # And a fresh process still finds the other project whole (its token, photo and motion).
    (segment,) = _segments(_state(theirs, tmp_path))
    assert (segment["name"], segment["motion"]) == (other.name, "bounce")
    store = Store(_backend_dir())
    with store.lock:
        session = store.sessions[sid]
        assert [store.media[m].filename for m in session.media] == [photo.name]
        assert session.turns == 2
    store.close()


_CHATTER = """
import sys, time
from pathlib import Path
import httpx
from skill.local.server import LocalBackend
from skill.manifest import attribution_headers

data_dir, token, session_id, turns, ready, go = sys.argv[1:]
with LocalBackend(data_dir=data_dir, heartbeat_interval=0.05) as backend:
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.01)
    headers = {**attribution_headers(), "Authorization": f"Bearer {token}"}
    charged = 0
    with httpx.Client(base_url=backend.base_url, headers=headers, timeout=30) as api:
        for n in range(int(turns)):
            text = ("make it bounce", "make it wobble")[n % 2]
            body = {"session_id": session_id, "new_message": {"parts": [{"text": text}]}}
            reply = api.post("/run_sse", json=body)
            charged += reply.status_code == 200 and '"error"' not in reply.text
print(charged)
"""


def test_two_processes_charging_one_account_lose_no_credit_and_no_edit(tmp_path: Path) -> None:
    data_dir = _backend_dir()
    with LocalBackend(data_dir=data_dir, **LOCAL_BACKEND_TEST_KNOBS) as backend:
        api = httpx.Client(base_url=backend.base_url, headers=attribution_headers(), timeout=30)
        got = api.post("/api/auth/anonymous-token", headers={"X-Client-Id": "two"}).json()
        token = got["data"]["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        sid = api.post("/api/tasks/me/with-session/nemo_agent", json={}).json()["data"][
            "session_id"
        ]
        start = api.get("/api/credits/balance/simple").json()["data"]["available"]
        api.close()

    turns, go = 15, tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _CHATTER, *map(str, (data_dir, token, sid, turns, r, go))],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready):  # both backends have loaded the state...
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    go.touch()  # ...before either charges
    charged = 0
    for process in processes:
        out, err = process.communicate(timeout=_TIMEOUT)
        assert process.returncode == 0, err
        charged += int(out.split()[-1])
    assert charged == 2 * turns

    store = Store(data_dir)
    with store.lock:
        (user,) = store.users.values()
        assert user.available == start - charged  # no turn free, none paid twice
        assert user.frozen == 0
        assert store.sessions[sid].turns == charged  # every edit landed on the one session
    store.close()


def test_a_data_dir_of_the_older_single_file_layout_still_loads(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    accounts = {
        "users": [{"user_id": "anon_old", "available": 42, "frozen": 0}],
        "tokens": [
            {
                "token": "nmv_usr_old",
                "user_id": "anon_old",
                "client_id": "c",
                "ip": "127.0.0.1",
                "issued_at": 1.0,
                "expires_at": 4e9,
            }
        ],
        "media": [],
    }
    (root / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    store = Store(root)
    assert store.users["anon_old"].available == 42
    assert store.tokens["nmv_usr_old"].user_id == "anon_old"
    assert not (root / "accounts.json").exists()  # split into records, kept aside
    assert (root / "accounts.json.migrated").is_file()
    store.close()
    again = Store(root)  # and the records load on the next start
    assert again.users["anon_old"].available == 42
    again.close()


def test_a_render_running_in_a_live_process_is_not_taken_over(tmp_path: Path) -> None:
    from skill.local.server.store import RenderJob

    first = Store(tmp_path)
    job = RenderJob("r1", "s", "u", "rendering", 50, 1.0, {}, "k", 10)
    with first.lock:
        first.renders[job.id] = job
        first.save_render(job)  # the job is the first process's
    second = Store(tmp_path)
    with second.lock:
        assert not second.claim(second.renders["r1"])  # its process is alive
    first.close()  # the first process ends: its unfinished job is free
    with second.lock:
        assert second.claim(second.renders["r1"])
    second.close()
