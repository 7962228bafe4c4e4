"""The ``jiggle`` commands with ``--json``: every line is one JSON object, results are real MP4s,
exit codes tell failures apart.

The commands run in this process through ``skill.cli.main(argv)`` (the entry point of the
console script and of ``python -m skill``), with the test's working directory, environment and
captured stdout; each command starts and stops its own embedded backend, as a separate process
would. Only the Ctrl-C test runs ``python -m skill`` as a real subprocess: a SIGINT needs one."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import av
import pytest
from PIL import Image
from skimage import data as samples

from skill.cli import main
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


class Jiggle(Protocol):
    def __call__(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> tuple[int, list[dict[str, Any]]]: ...


@pytest.fixture
def jiggle(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Jiggle:
    """Run ``jiggle ARGS --json`` in this process; every line of stdout must parse as JSON."""

    def run(
        *args: str, cwd: Path, env: dict[str, str] | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        threads = set(threading.enumerate())
        capsys.readouterr()  # only this command's output
        with monkeypatch.context() as scoped:
            scoped.chdir(cwd)
            for name, value in (env or {}).items():
                scoped.setenv(name, value)
            try:
                code = main([*args, "--json"])
            except SystemExit as exc:  # argparse: a usage error, --help or --version
                code = exc.code if isinstance(exc.code, int) else 1
        stdout = capsys.readouterr().out
        events = [json.loads(line) for line in stdout.splitlines()]
        assert all("event" in e for e in events), stdout
        _no_threads_left_over(threads)
        return code, events

    return run


def _no_threads_left_over(before: set[threading.Thread], grace: float = 5.0) -> None:
    """A command stops what it started (its embedded backend, its pools), like a process."""
    deadline = time.monotonic() + grace
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not left, f"threads left running after the command: {[t.name for t in left]}"


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


def test_help_and_version_work_without_a_backend(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert capsys.readouterr().out.startswith("jiggle ")
    with pytest.raises(SystemExit) as helped:
        main(["animate", "--help"])
    assert helped.value.code == 0
    assert "--out-dir" in capsys.readouterr().out


@pytest.mark.slow
def test_animate_writes_a_1080x1920_mp4_and_a_preview(
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    out = tmp_path / "out" / "demo.mp4"
    preview = tmp_path / "out" / "demo-preview.png"
    code, events = jiggle(
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
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    cat = _photo(tmp_path / "cat.png", _sample("chelsea"))
    missing = tmp_path / "missing.jpg"
    code, events = jiggle(
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


def test_credits_upload_and_state_across_commands(
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    code, events = jiggle("credits", "--backend", "local", cwd=tmp_path)
    assert code == 0
    (balance,) = _of(events, "text")
    assert balance["available"] == 100
    cat = _photo(tmp_path / "cat.png", _sample("chelsea"))
    code, events = jiggle("upload", str(photo), str(cat), "--backend", "local", cwd=tmp_path)
    assert code == 0
    sessions = [e["session_id"] for e in _of(events, "text") if e.get("files")]
    assert len(set(sessions)) == 2  # each photo is its own project
    # A later command finds the open projects of the embedded backend again.
    code, events = jiggle("state", "--backend", "local", cwd=tmp_path)
    assert code == 0
    states = _of(events, "text")
    assert [e["session_id"] for e in states] == sessions
    assert "astronaut.jpg" in states[0]["summary"]
    assert "cat.png" in states[1]["summary"]


def test_say_refines_the_last_project_step_by_step_then_exports(
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    code, events = jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    (session,) = {e["session_id"] for e in _of(events, "text") if e.get("files")}
    code, events = jiggle(
        "say", "make it wobble strongly for 2 seconds, square", "--backend", "local", cwd=tmp_path
    )
    assert code == 0
    code, events = jiggle("say", "list the tracks", "--backend", "local", cwd=tmp_path)
    assert code == 0
    (timeline,) = [e for e in _of(events, "text") if e.get("summary")]
    assert timeline["session_id"] == session
    assert "wobble" in timeline["summary"]
    assert "0-2s" in timeline["summary"]
    code, events = jiggle(
        "say", "ok export it", "--session", session, "--backend", "local", cwd=tmp_path
    )
    assert code == 0
    (result,) = _of(events, "result")
    width, height, duration = _size(Path(result["path"]))
    assert (width, height) == (1080, 1080)
    assert abs(duration - 2.0) < 0.1


def test_errors_have_stable_codes_and_exit_codes(jiggle: Jiggle, tmp_path: Path) -> None:
    code, events = jiggle(
        "animate", "nowhere.jpg", "make it jiggle", "--backend", "local", cwd=tmp_path
    )
    assert code == 2
    assert [e["code"] for e in _of(events, "error")] == ["file_not_found"]
    assert "nowhere.jpg" in _of(events, "error")[0]["text"]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    # One retry, not the default five with their backoff: the point is the error the user gets
    # once retrying gives up (retries themselves are tested with the client).
    code, events = jiggle(
        "credits", cwd=tmp_path, env={"NEMO_API_BASE": closed, "JIGGLE_RETRIES": "1"}
    )
    assert code == 4
    (error,) = _of(events, "error")
    assert error["code"] == "backend_unreachable"
    assert "--backend local" in error["text"]

    code, events = jiggle("resume", "render_123", "--backend", "local", cwd=tmp_path)
    assert code == 2
    (error,) = _of(events, "error")
    assert "render_123" in error["text"]
    assert "jiggle jobs" in error["text"]


@pytest.mark.slow
def test_ctrl_c_leaves_the_render_to_jobs_and_resume(
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    code, _ = jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    # A real separate process: the point is a SIGINT in the middle of a render (exit code 130,
    # the render left to `jiggle jobs` and `jiggle resume`), which only a process can receive.
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

    code, events = jiggle("jobs", "--backend", "local", cwd=tmp_path)
    assert code == 0
    assert [e["render_id"] for e in _of(events, "text") if e.get("render_id")] == [render_id]

    code, events = jiggle("resume", "--backend", "local", "-o", "resumed.mp4", cwd=tmp_path)
    assert code == 0, events
    (result,) = _of(events, "result")
    assert result["render_id"] == render_id
    assert _size(tmp_path / "resumed.mp4")[:2] == (1080, 1920)
    code, events = jiggle("jobs", "--backend", "local", cwd=tmp_path)
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
    jiggle: Jiggle, tmp_path: Path, photo: Path, instruction: str, answer: str
) -> None:
    code, events = jiggle(
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
    code, events = jiggle("credits", "--backend", "local", cwd=tmp_path)
    assert code == 0
    assert _of(events, "text")[0]["available"] == 100  # nothing was charged


def test_say_stops_a_compound_message_the_editor_cannot_act_on(
    jiggle: Jiggle, tmp_path: Path, photo: Path
) -> None:
    code, _ = jiggle("upload", str(photo), "--backend", "local", cwd=tmp_path)
    assert code == 0
    code, events = jiggle("say", "zoom in slowly then export", "--backend", "local", cwd=tmp_path)
    assert code == 2
    assert [e["code"] for e in _of(events, "error")] == ["not_understood"]
    assert not _of(events, "result")  # the export after it did not run
    code, events = jiggle("say", "undo", "--backend", "local", cwd=tmp_path)
    assert code == 0  # understood: there is nothing to undo, and it says so
    said = "".join(e.get("text", "") for e in _of(events, "delta"))
    assert "nothing to undo" in said
