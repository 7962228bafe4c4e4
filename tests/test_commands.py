"""The ``jiggle`` commands through a real subprocess with ``--json``: every line is one JSON
object, results are real MP4s, exit codes tell failures apart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from skimage import data as samples

from skill.commands import instruction_with_flags, split_photos_and_instruction

_TIMEOUT = 120


def _photo(path: Path, image: Any) -> Path:
    picture = Image.fromarray(image).convert("RGB")
    picture.thumbnail((320, 320))
    picture.save(path)
    return path


def _sample(name: str) -> Any:
    """A photo that ships with scikit-image (``astronaut``, ``chelsea``...)."""
    return getattr(samples, name)()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return _photo(tmp_path / "astronaut.jpg", _sample("astronaut"))


def _jiggle(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Run ``jiggle ARGS --json``; every line of stdout must parse as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", "skill", *args, "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert all("event" in e for e in events), done.stdout
    return done.returncode, events


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def _size(path: Path) -> tuple[int, int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert sum(1 for _ in container.decode(stream)) > 0
        duration = float(container.duration or 0) / 1_000_000
        return stream.codec_context.width, stream.codec_context.height, duration


# -- the instruction, from the arguments ------------------------------------------------------


def test_the_last_argument_is_the_instruction_unless_it_is_a_photo(tmp_path: Path) -> None:
    existing = tmp_path / "no-suffix-photo"
    existing.write_bytes(b"x")
    assert split_photos_and_instruction(["a.jpg", "b.png", "make it bounce"]) == (
        ["a.jpg", "b.png"],
        "make it bounce",
    )
    assert split_photos_and_instruction(["a.jpg", "https://x/y"]) == (
        ["a.jpg", "https://x/y"],
        None,
    )
    assert split_photos_and_instruction([str(existing)]) == ([str(existing)], None)


def test_flags_become_words_in_the_instruction_language() -> None:
    english = instruction_with_flags(
        "make it jiggle", "en", aspect="1:1", intensity="strong", duration=2.0, title="Hi"
    )
    assert english == (
        "make it jiggle. Use a 1:1 aspect ratio. Make the motion strong. "
        'Make it 2 seconds long. Add the title "Hi".'
    )
    chinese = instruction_with_flags("让它抖动", "zh", duration=3.0, title="你好")
    assert chinese == "让它抖动。时长 3 秒。添加标题“你好”。"


# -- commands ---------------------------------------------------------------------------------


def test_help_and_version_work_without_a_backend(tmp_path: Path) -> None:
    version = subprocess.run(
        [sys.executable, "-m", "skill", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("jiggle ")
    helped = subprocess.run(
        [sys.executable, "-m", "skill", "animate", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--out-dir" in helped.stdout


@pytest.mark.slow
def test_animate_writes_a_1080x1920_mp4_and_a_preview(tmp_path: Path, photo: Path) -> None:
    out = tmp_path / "out" / "demo.mp4"
    preview = tmp_path / "out" / "demo-preview.png"
    code, events = _jiggle(
        "animate",
        str(photo),
        "make this image jiggle and bounce with a subtle looping motion",
        "--backend",
        "local",
        "--duration",
        "2",
        "-o",
        str(out),
        "--preview",
        str(preview),
        cwd=tmp_path,
    )
    assert code == 0, events
    assert _of(events, "error") == []
    assert _of(events, "status")[0]["text"] == "Setting things up..."
    connected = [e for e in _of(events, "status") if e.get("connected")]
    assert connected[0]["backend"] == "local"
    assert {e["phase"] for e in _of(events, "progress")} >= {"upload", "render", "download"}
    (result,) = _of(events, "result")
    assert Path(result["path"]) == out
    assert _size(out)[:2] == (1080, 1920)
    assert _size(out)[2] == pytest.approx(2.0, abs=0.1)
    with Image.open(preview) as sheet:
        assert sheet.width > sheet.height  # four frames side by side
    assert _of(events, "suggestion") == []  # animate exports on its own: nothing to offer


@pytest.mark.slow
def test_animate_several_photos_each_get_an_mp4_and_a_bad_one_sets_the_exit_code(
    tmp_path: Path, photo: Path
) -> None:
    cat = _photo(tmp_path / "cat.png", _sample("chelsea"))
    missing = tmp_path / "missing.jpg"
    code, events = _jiggle(
        "animate",
        str(photo),
        str(missing),
        str(cat),
        "make them bounce",
        "--aspect",
        "1:1",
        "--duration",
        "1",
        "--out-dir",
        str(tmp_path / "videos"),
        "--backend",
        "local",
        cwd=tmp_path,
    )
    assert code == 2, _of(events, "error")  # a user error: the missing photo
    (error,) = _of(events, "error")
    assert error["code"] == "file_not_found"
    assert error["file"] == "missing.jpg"
    paths = sorted(Path(e["path"]).name for e in _of(events, "result"))
    assert paths == ["astronaut.mp4", "cat.mp4"]
    for name in paths:
        assert _size(tmp_path / "videos" / name)[:2] == (1080, 1080)


def test_credits_upload_and_state_across_commands(tmp_path: Path, photo: Path) -> None:
    code, events = _jiggle("credits", "--backend", "local", cwd=tmp_path)
    assert code == 0
    (balance,) = _of(events, "text")
    assert balance["available"] == 100
    cat = _photo(tmp_path / "cat.png", _sample("chelsea"))
    code, events = _jiggle("upload", str(photo), str(cat), "--backend", "local", cwd=tmp_path)
    assert code == 0
    sessions = [e["session_id"] for e in _of(events, "text") if e.get("files")]
    assert len(set(sessions)) == 2  # each photo is its own project
    # A later command finds the open projects of the embedded backend again.
    code, events = _jiggle("state", "--backend", "local", cwd=tmp_path)
    assert code == 0
    states = _of(events, "text")
    assert [e["session_id"] for e in states] == sessions
    assert "astronaut.jpg" in states[0]["summary"]
    assert "cat.png" in states[1]["summary"]


def test_say_refines_the_last_project_step_by_step_then_exports(
    tmp_path: Path, photo: Path
) -> None:
    code, events = _jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    (session,) = {e["session_id"] for e in _of(events, "text") if e.get("files")}
    code, events = _jiggle(
        "say", "make it wobble strongly for 2 seconds, square", "--backend", "local", cwd=tmp_path
    )
    assert code == 0
    code, events = _jiggle("say", "list the tracks", "--backend", "local", cwd=tmp_path)
    assert code == 0
    (timeline,) = [e for e in _of(events, "text") if e.get("summary")]
    assert timeline["session_id"] == session
    assert "wobble" in timeline["summary"]
    assert "0-2s" in timeline["summary"]
    code, events = _jiggle(
        "say", "ok export it", "--session", session, "--backend", "local", cwd=tmp_path
    )
    assert code == 0
    (result,) = _of(events, "result")
    width, height, duration = _size(Path(result["path"]))
    assert (width, height) == (1080, 1080)
    assert abs(duration - 2.0) < 0.1


def test_errors_have_stable_codes_and_exit_codes(tmp_path: Path) -> None:
    code, events = _jiggle(
        "animate", "nowhere.jpg", "make it jiggle", "--backend", "local", cwd=tmp_path
    )
    assert code == 2
    assert [e["code"] for e in _of(events, "error")] == ["file_not_found"]
    assert "nowhere.jpg" in _of(events, "error")[0]["text"]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code, events = _jiggle("credits", cwd=tmp_path, env={"NEMO_API_BASE": closed})
    assert code == 4
    (error,) = _of(events, "error")
    assert error["code"] == "backend_unreachable"
    assert "--backend local" in error["text"]

    code, events = _jiggle("resume", "render_123", "--backend", "local", cwd=tmp_path)
    assert code == 2
    (error,) = _of(events, "error")
    assert "render_123" in error["text"]
    assert "jiggle jobs" in error["text"]


@pytest.mark.slow
def test_ctrl_c_leaves_the_render_to_jobs_and_resume(tmp_path: Path, photo: Path) -> None:
    code, _ = _jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    exporting = subprocess.Popen(
        [sys.executable, "-m", "skill", "export", "--backend", "local", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert exporting.stdout is not None
    lines: list[dict[str, Any]] = []
    for line in exporting.stdout:
        lines.append(json.loads(line))
        if lines[-1]["event"] == "progress" and lines[-1].get("phase") == "render":
            exporting.send_signal(signal.SIGINT)
            break
    rest = exporting.stdout.read()
    assert exporting.wait(timeout=_TIMEOUT) == 130
    lines += [json.loads(line) for line in rest.splitlines()]
    render_id = next(e for e in lines if e.get("render_id"))["render_id"]
    (cancelled,) = _of(lines, "error")
    assert cancelled["code"] == "cancelled"
    assert cancelled["render_id"] == render_id
    assert "jiggle resume" in cancelled["text"]

    code, events = _jiggle("jobs", "--backend", "local", cwd=tmp_path)
    assert code == 0
    assert [e["render_id"] for e in _of(events, "text") if e.get("render_id")] == [render_id]

    code, events = _jiggle("resume", "--backend", "local", "-o", "resumed.mp4", cwd=tmp_path)
    assert code == 0, events
    (result,) = _of(events, "result")
    assert result["render_id"] == render_id
    assert _size(tmp_path / "resumed.mp4")[:2] == (1080, 1920)
    code, events = _jiggle("jobs", "--backend", "local", cwd=tmp_path)
    assert [e.get("jobs") for e in _of(events, "text")] == [0]


@pytest.mark.parametrize(
    ("instruction", "answer"),
    [
        ("fais-le rebondir plus fort", "didn't understand"),  # French: not understood
        ("replace the background with a beach", "can't"),  # out of scope
        ("把背景换成海边", "无法"),
    ],
)
def test_an_instruction_the_editor_cannot_act_on_is_not_rendered_or_charged(
    tmp_path: Path, photo: Path, instruction: str, answer: str
) -> None:
    code, events = _jiggle(
        "animate", str(photo), instruction, "-o", "out.mp4", "--backend", "local", cwd=tmp_path
    )
    assert code == 2
    said = "".join(e.get("text", "") for e in _of(events, "delta"))
    assert answer in said  # the editor's own words: what it cannot do, and what it can
    (error,) = _of(events, "error")
    assert error["code"] == "not_understood"
    assert not _of(events, "result")
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob("*.mp4*"))
    code, events = _jiggle("credits", "--backend", "local", cwd=tmp_path)
    assert code == 0
    assert _of(events, "text")[0]["available"] == 100  # nothing was charged


def test_say_stops_a_compound_message_the_editor_cannot_act_on(tmp_path: Path, photo: Path) -> None:
    code, _ = _jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    code, events = _jiggle("say", "zoom in slowly then export", "--backend", "local", cwd=tmp_path)
    assert code == 2
    assert [e["code"] for e in _of(events, "error")] == ["not_understood"]
    assert not _of(events, "result")  # the export after it did not run
    code, events = _jiggle("say", "undo", "--backend", "local", cwd=tmp_path)
    assert code == 0  # understood: there is nothing to undo, and it says so
    said = "".join(e.get("text", "") for e in _of(events, "delta"))
    assert "nothing to undo" in said
