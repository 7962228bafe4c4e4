"""Ctrl-C in each phase of ``jiggle animate``, then ``jobs`` and ``resume``: paid work is never
lost, nothing partial is left at the final path, and what was interrupted says how to go on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from skimage import data as samples

_TIMEOUT = 120

# The event that shows the command has reached each phase.
_PHASES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "upload": lambda e: e["event"] == "status" and "pload" in e.get("text", ""),
    "chat": lambda e: e["event"] == "delta",
    "render": lambda e: e["event"] == "progress" and e.get("phase") == "render",
    "download": lambda e: e["event"] == "progress" and e.get("phase") == "download",
}


def _run(*args: str, cwd: Path) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-m", "skill", *args, "--backend", "local", "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def _decodes(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    return frame.width, frame.height


@pytest.mark.parametrize("phase", list(_PHASES))
def test_ctrl_c_in_each_phase_loses_nothing(tmp_path: Path, phase: str) -> None:
    photo = tmp_path / "cat.jpg"
    picture = Image.fromarray(samples.chelsea())  # type: ignore[no-untyped-call]
    picture.thumbnail((240, 240))
    picture.save(photo)
    command = [sys.executable, "-m", "skill", "animate", str(photo), "bounce for 1 second"]
    command += ["-o", "cat.mp4", "--backend", "local", "--json"]
    running = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    assert running.stdout is not None
    seen: list[dict[str, Any]] = []
    interrupted = False
    for line in running.stdout:
        seen.append(json.loads(line))
        if _PHASES[phase](seen[-1]):
            running.send_signal(signal.SIGINT)
            interrupted = True
            break
    seen += [json.loads(line) for line in running.stdout.read().splitlines()]
    code = running.wait(timeout=_TIMEOUT)
    target = tmp_path / "cat.mp4"
    if not interrupted or code == 0:
        # The phase was over before the signal landed: the job simply finished.
        assert code == 0, seen
        assert _decodes(target) == (1080, 1920)
        return
    assert code == 130, seen
    errors = [e for e in seen if e["event"] == "error"]
    assert [e["code"] for e in errors] == ["cancelled"]
    assert "Traceback" not in errors[0]["text"]
    if target.exists():  # the signal came as the file was saved: it is whole, never partial
        assert _decodes(target) == (1080, 1920)

    code, events = _run("jobs", cwd=tmp_path)
    assert code == 0
    pending = [e["render_id"] for e in events if e.get("render_id")]
    printed = next((e["render_id"] for e in seen if e.get("render_id")), None)
    if printed is not None and not target.exists():  # a render it told the user of is kept
        assert pending == [printed]
        assert "jiggle resume" in errors[0]["text"]
    if not pending:
        return  # nothing paid for is waiting: nothing to resume
    # A render was paid for (its id may not have been printed before the signal landed):
    # it is listed, and resume saves it.
    submitted = pending[0]
    code, events = _run("resume", cwd=tmp_path)
    assert code == 0, events
    (result,) = [e for e in events if e["event"] == "result"]
    assert result["render_id"] == submitted
    assert _decodes(Path(result["path"])) == (1080, 1920)
    code, events = _run("jobs", cwd=tmp_path)
    assert [e.get("jobs") for e in events if e["event"] == "text"] == [0]
