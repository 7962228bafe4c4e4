"""Files on the user's machine through the real CLI (issue 11, items 3 and 6): no command
overwrites a file without ``--force``; a read-only folder, a full disk, an over-long name and a
read-only config or data folder end in a documented code and exit status, with no traceback
and nothing partial at the final path."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from skill.client import JobStore, RenderJob
from tests._loopback import serve
from tests.reliability._hostile import TOKEN, Script, build_app, decodes, make_mp4

_ROOT = str(Path(__file__).resolve().parents[2])
EXIT_LOCAL_FILE = 5


def _jiggle(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(
        [sys.executable, "-m", "skill", *args, "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONPATH": _ROOT, **(env or {})},
        check=False,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, events, done.stderr


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "cat.jpg"
    Image.new("RGB", (160, 200), (200, 120, 60)).save(path)
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {"b.mp4": make_mp4(folder / "b.mp4", shade=200, frames=12)}


@pytest.fixture
def cloud(videos: dict[str, Path]) -> Iterator[tuple[str, Script]]:
    """A stand-in for the cloud API on loopback (NEMO_API_BASE points at it)."""
    script = Script(files=dict(videos))
    with serve(build_app(script)) as url:
        script.poll = {"status": "completed", "output": {"url": f"{url}/dl/b.mp4"}}
        yield url, script


def _cloud_env(url: str, token: bool = True) -> dict[str, str]:
    return {"NEMO_API_BASE": url, **({"NEMO_TOKEN": TOKEN} if token else {})}


# -- folders that really refuse writes ---------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(folder: Path, options: str) -> Iterator[None]:
    """A small tmpfs at ``folder`` (root only, where mounting is allowed), else a skip."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; this test runs as an ordinary user")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only for real: chmod 0o555 for an ordinary user; as root (whom chmod
    does not stop) a read-only tmpfs mounted there, or a skip that says why."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            probe = folder / "probe"
            try:
                probe.write_bytes(b"x")
            except OSError:
                yield
                return
            probe.unlink()
            pytest.skip("chmod 0o555 does not stop writes on this filesystem")
        finally:
            folder.chmod(0o755)
    with _tmpfs(folder, "ro,size=64k"):
        try:
            (folder / "probe").write_bytes(b"x")
        except OSError:
            yield
            return
        pytest.skip("a read-only tmpfs still took a write")


# -- no clobber, --force -------------------------------------------------------------------------


@pytest.mark.slow
def test_animate_and_export_never_overwrite_without_force(tmp_path: Path, photo: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "demo.mp4").write_bytes(b"an older video, keep me")
    (out / "demo.png").write_bytes(b"an older preview, keep me")
    flags = ("--backend", "local", "--duration", "1")
    target, preview = str(out / "demo.mp4"), str(out / "demo.png")
    code, events, _ = _jiggle(
        "animate", str(photo), "make it bounce", "-o", target, "--preview", preview, *flags,
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, events
    (result,) = _of(events, "result")
    assert Path(result["path"]) == out / "demo-1.mp4"
    assert decodes(out / "demo-1.mp4") > 0
    assert [e["preview"] for e in events if e.get("preview")] == [str(out / "demo-1.png")]
    assert (out / "demo.mp4").read_bytes() == b"an older video, keep me"
    assert (out / "demo.png").read_bytes() == b"an older preview, keep me"

    code, events, _ = _jiggle("export", "-o", target, "--backend", "local", cwd=tmp_path)
    assert code == 0, events
    (result,) = _of(events, "result")
    assert Path(result["path"]) == out / "demo-2.mp4"
    assert (out / "demo.mp4").read_bytes() == b"an older video, keep me"

    code, events, _ = _jiggle(
        "animate", str(photo), "make it bounce", "-o", target, "--force", *flags, cwd=tmp_path
    )
    assert code == 0, events
    (result,) = _of(events, "result")
    assert Path(result["path"]) == out / "demo.mp4"
    assert decodes(out / "demo.mp4") > 0
    assert not list(out.glob(".*"))  # no partial or probe file left behind


def test_resume_never_overwrites_without_force(
    cloud: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, _ = cloud
    meant = tmp_path / "v.mp4"
    meant.write_bytes(b"keep me")
    JobStore().add(RenderJob(id="render_9", session_id="", output_path=str(meant)))
    code, events, _ = _jiggle("resume", cwd=tmp_path, env=_cloud_env(url))
    assert code == 0, events
    (result,) = _of(events, "result")
    assert Path(result["path"]) == tmp_path / "v-1.mp4"
    assert meant.read_bytes() == b"keep me"

    JobStore().add(RenderJob(id="render_10", session_id="", output_path=str(meant)))
    code, events, _ = _jiggle("resume", "--force", cwd=tmp_path, env=_cloud_env(url))
    assert code == 0, events
    (result,) = _of(events, "result")
    assert Path(result["path"]) == meant
    assert meant.read_bytes() == videos["b.mp4"].read_bytes()


# -- folders and names that cannot take the file -------------------------------------------------


def test_a_read_only_output_folder_is_a_clear_error_before_rendering(
    tmp_path: Path, photo: Path
) -> None:
    folder = tmp_path / "ro"
    with _read_only(folder):
        code, events, _ = _jiggle(
            "animate", str(photo), "-o", str(folder / "out.mp4"), "--backend", "local",
            cwd=tmp_path,
        )  # fmt: skip
        assert code == EXIT_LOCAL_FILE, events
        (error,) = _of(events, "error")
        assert error["code"] == "folder_not_writable"
        assert error["exit_code"] == EXIT_LOCAL_FILE
        assert str(folder) in error["text"]
        assert not [e for e in events if e.get("phase") == "render"]  # nothing was rendered
        assert not (folder / "out.mp4").exists()


def test_a_name_too_long_is_a_clear_error_and_254_characters_are_saved(
    cloud: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, _ = cloud
    too_long = "v" * 300 + ".mp4"
    JobStore().add(RenderJob(id="render_1", session_id=""))
    code, events, _ = _jiggle("resume", "-o", too_long, cwd=tmp_path, env=_cloud_env(url))
    assert code == EXIT_LOCAL_FILE, events
    (error,) = _of(events, "error")
    assert error["code"] == "name_too_long"
    assert str(tmp_path) in error["text"]
    assert _files(tmp_path) == []

    longest = "v" * 250 + ".mp4"  # 254 characters: a legal name, whose .part would not be
    code, events, _ = _jiggle("resume", "-o", longest, cwd=tmp_path, env=_cloud_env(url))
    assert code == 0, events
    assert (tmp_path / longest).read_bytes() == videos["b.mp4"].read_bytes()
    assert _files(tmp_path) == [longest]


def test_a_full_disk_is_a_clear_error_with_nothing_partial_left(
    cloud: tuple[str, Script], tmp_path: Path
) -> None:
    url, script = cloud
    big = make_mp4(tmp_path / "big.mp4", shade=90, frames=24)
    with big.open("ab") as handle:  # a free box pads it past the tmpfs (still a valid MP4)
        handle.write((8 + 256 * 1024).to_bytes(4, "big") + b"free" + b"\0" * 256 * 1024)
    script.files["b.mp4"] = big
    folder = tmp_path / "small"
    with _tmpfs(folder, "size=64k"):
        JobStore().add(RenderJob(id="render_1", session_id=""))
        code, events, _ = _jiggle(
            "resume", "-o", str(folder / "v.mp4"), cwd=tmp_path, env=_cloud_env(url)
        )
        assert code == EXIT_LOCAL_FILE, events
        (error,) = _of(events, "error")
        assert error["code"] == "disk_full"
        assert error["render_id"] == "render_1"
        assert str(folder) in error["text"]
        assert "jiggle resume render_1" in error["text"]
        assert _files(folder) == []  # neither the video nor its partial file
    code, events, _ = _jiggle("jobs", cwd=tmp_path, env=_cloud_env(url))
    assert [e["render_id"] for e in _of(events, "text") if e.get("render_id")] == ["render_1"]


def test_a_read_only_config_folder_keeps_the_token_in_the_data_folder(
    cloud: tuple[str, Script], tmp_path: Path
) -> None:
    url, script = cloud
    config = Path(os.environ["NEMO_CONFIG_DIR"])
    data = Path(os.environ["JIGGLE_DATA_DIR"])
    issued = script.tokens_issued
    with _read_only(config):
        for _ in range(2):  # a second run reuses the token: no new account every run
            code, events, _ = _jiggle("credits", cwd=tmp_path, env=_cloud_env(url, token=False))
            assert code == 0, events
            assert not [e for e in events if e.get("code") == "token_not_saved"]
            assert [e["available"] for e in _of(events, "text")] == [50]
        assert _files(config) == []
    assert script.tokens_issued == issued + 1
    (kept,) = data.glob("jiggle-token.json")
    assert kept.stat().st_mode & 0o777 == 0o600


def test_when_no_folder_can_keep_the_token_the_run_says_so(
    cloud: tuple[str, Script], tmp_path: Path
) -> None:
    url, _ = cloud
    config = Path(os.environ["NEMO_CONFIG_DIR"])
    data = Path(os.environ["JIGGLE_DATA_DIR"])
    with _read_only(config), _read_only(data):
        code, events, _ = _jiggle("credits", cwd=tmp_path, env=_cloud_env(url, token=False))
        assert code == 0, events
        (warning,) = [e for e in events if e.get("code") == "token_not_saved"]
        assert warning["event"] == "status"
        assert str(config) in warning["text"]
        assert "NEMO_CONFIG_DIR" in warning["text"]
        assert [e["available"] for e in _of(events, "text")] == [50]
        assert _files(config) == []


def test_a_read_only_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    data = Path(os.environ["JIGGLE_DATA_DIR"])
    with _read_only(data):
        code, events, _ = _jiggle("credits", "--backend", "local", cwd=tmp_path)
        assert code == EXIT_LOCAL_FILE, events
        (error,) = _of(events, "error")
        assert error["code"] == "folder_not_writable"
        assert str(data) in error["text"]


def test_exit_codes_are_documented() -> None:
    docs = (Path(_ROOT) / "docs" / "cli.md").read_text(encoding="utf-8")
    for code in ("folder_not_writable", "disk_full", "name_too_long", "token_not_saved"):
        assert f"`{code}`" in docs
    assert "| 5 |" in docs
    assert "--force" in docs
