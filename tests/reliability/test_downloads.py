"""Downloads that must never call a wrong file "Saved" nor write outside the chosen folder
(issue 11, items 1, 3 and 10): stale ``.part`` files, truncated and non-MP4 bodies, a hostile
server (traversal render ids, redirects, endless bodies), and ``resume`` keeping the ``-o``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.client import JobStore, NemoClient, RenderJob, TokenCache
from skill.client import render as render_module
from skill.client.render import partial_path
from skill.errors import DownloadFailed
from tests._loopback import serve
from tests.reliability._hostile import TOKEN, Script, build_app, decodes, make_mp4


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "a.mp4": make_mp4(folder / "a.mp4", shade=30, frames=24),
        "b.mp4": make_mp4(folder / "b.mp4", shade=200, frames=12),
    }


@pytest.fixture
def server(videos: dict[str, Path]) -> Iterator[tuple[str, Script]]:
    script = Script(files=dict(videos))
    with serve(build_app(script)) as url:
        yield url, script


@pytest.fixture
def client(server: tuple[str, Script], tmp_path: Path) -> Iterator[NemoClient]:
    url, _ = server
    with NemoClient(
        base_url=url,
        token=TOKEN,
        sleep=lambda _: None,
        jobs=JobStore(tmp_path / "jobs.json"),
        token_cache=TokenCache(tmp_path / "tokens.json"),
    ) as made:
        yield made


def _job(render_id: str, url: str, size: int | None = None) -> RenderJob:
    return RenderJob(
        id=render_id, session_id="s1", status="completed", output_url=url, output_size=size
    )


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- item 1: a .part is continued only for the same render, with a validator -----------------


@pytest.mark.parametrize("record", ["left by an older jiggle", "recorded for render_A"])
def test_a_stale_part_from_another_render_is_not_continued(
    client: NemoClient,
    server: tuple[str, Script],
    videos: dict[str, Path],
    tmp_path: Path,
    record: str,
) -> None:
    url, script = server
    dest = tmp_path / "out" / "video.mp4"
    dest.parent.mkdir()
    stale = videos["a.mp4"].read_bytes()
    partial_path(dest).write_bytes(stale[: len(stale) // 3])  # render A was cut here
    if record.startswith("recorded"):
        record_file = dest.with_name(f".{dest.name}.part.json")
        record_file.write_text(json.dumps({"render_id": "render_A", "url": f"{url}/dl/a.mp4"}))
    saved = client.download(_job("render_B", f"{url}/dl/b.mp4"), dest)
    assert saved == dest
    assert saved.read_bytes() == videos["b.mp4"].read_bytes()
    assert decodes(saved) == 12
    assert all("range" not in headers for headers in script.requests)
    assert _files(dest.parent) == ["video.mp4"]


def test_an_interrupted_download_of_the_same_render_continues_with_if_range(
    client: NemoClient, server: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, script = server
    dest = tmp_path / "video.mp4"
    script.cut = True
    with pytest.raises(DownloadFailed):
        client.download(_job("render_B", f"{url}/dl/b.mp4"), dest)
    assert not dest.exists()
    assert partial_path(dest).stat().st_size > 0
    script.cut, script.requests = False, []
    saved = client.download(_job("render_B", f"{url}/dl/b.mp4"), dest)
    assert saved.read_bytes() == videos["b.mp4"].read_bytes()
    assert decodes(saved) == 12
    (resumed,) = script.requests
    assert resumed["range"].startswith("bytes=")
    assert resumed["if-range"].startswith('"')  # the ETag the first answer carried


def test_a_truncated_body_is_never_saved(
    client: NemoClient, server: tuple[str, Script], tmp_path: Path
) -> None:
    url, _ = server
    dest = tmp_path / "video.mp4"
    with pytest.raises(DownloadFailed) as caught:
        client.download(_job("render_B", f"{url}/truncated/b.mp4"), dest)
    assert "not a playable MP4" in caught.value.human()
    assert "cut short" in caught.value.human()
    assert not dest.exists()
    assert not partial_path(dest).exists()


def test_a_body_that_is_not_an_mp4_is_never_saved(
    client: NemoClient, server: tuple[str, Script], tmp_path: Path
) -> None:
    url, _ = server
    dest = tmp_path / "video.mp4"
    with pytest.raises(DownloadFailed) as caught:
        client.download(_job("render_B", f"{url}/html"), dest)
    assert "ftyp" in caught.value.human()
    assert "jiggle resume render_B" in caught.value.human()
    assert not dest.exists()
    assert not partial_path(dest).exists()


# -- item 10: a hostile server -----------------------------------------------------------------


def test_a_traversal_render_id_stays_in_the_chosen_folder(
    client: NemoClient, server: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, script = server
    script.poll = {"id": "../../x", "status": "completed", "output": {"url": f"{url}/dl/b.mp4"}}
    chosen = tmp_path / "a" / "chosen"
    chosen.mkdir(parents=True)
    job = client.resume("render_1")
    assert job.id == "../../x"
    saved = client.download(job, chosen)
    assert saved.parent == chosen
    assert saved.name == "x.mp4"
    assert _files(tmp_path / "a") == ["chosen/x.mp4"]
    assert not (tmp_path / "x.mp4").exists()


def test_redirects_never_choose_the_file_name_and_a_loop_is_a_clear_error(
    client: NemoClient, server: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, _ = server
    chosen = tmp_path / "a" / "chosen"
    chosen.mkdir(parents=True)
    # A redirect to a file served as attachment "../../evil.mp4": the name is still ours.
    saved = client.download(_job("render_1", f"{url}/redirect?to=/evil/b.mp4"), chosen)
    assert saved == chosen / "render_1.mp4"
    assert saved.read_bytes() == videos["b.mp4"].read_bytes()
    with pytest.raises(DownloadFailed) as caught:
        client.download(_job("render_2", f"{url}/redirect"), chosen)  # redirects to itself
    assert "redirected too many times" in caught.value.human()
    assert _files(tmp_path / "a") == ["chosen/render_1.mp4"]
    assert not list(tmp_path.rglob("evil*"))


def test_an_endless_body_is_cut_at_the_announced_size(
    client: NemoClient, server: tuple[str, Script], tmp_path: Path
) -> None:
    url, _ = server
    dest = tmp_path / "video.mp4"
    seen: list[int] = [0]
    with pytest.raises(DownloadFailed) as caught:
        client.download(
            _job("render_1", f"{url}/endless", size=200_000),
            dest,
            progress=lambda done, _: seen.append(done),
        )
    assert "kept sending past 200000 bytes" in caught.value.human()
    assert max(seen) <= 200_000  # cut at once, not read to the end
    assert not dest.exists()
    assert not partial_path(dest).exists()


def test_an_endless_body_without_a_size_is_cut_at_the_limit(
    client: NemoClient, server: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = server
    monkeypatch.setattr(render_module, "MAX_DOWNLOAD_BYTES", 1024 * 1024)
    dest = tmp_path / "video.mp4"
    seen: list[int] = [0]
    with pytest.raises(DownloadFailed) as caught:
        client.download(
            _job("render_1", f"{url}/endless"), dest, progress=lambda done, _: seen.append(done)
        )
    assert "kept sending past 1048576 bytes" in caught.value.human()
    assert max(seen) <= 1024 * 1024
    assert not dest.exists()
    assert not partial_path(dest).exists()


# -- through the real CLI: jiggle resume -------------------------------------------------------


def _jiggle(*args: str, cwd: Path, url: str) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(
        [sys.executable, "-m", "skill", *args, "--json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NEMO_API_BASE": url, "NEMO_TOKEN": TOKEN, "PYTHONPATH": _ROOT},
        check=False,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


_ROOT = str(Path(__file__).resolve().parents[2])


def test_jiggle_resume_of_a_traversal_render_id_writes_in_the_working_folder(
    server: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, script = server
    # What a hostile export leaves in the jobs file: the id the server chose.
    JobStore().add(RenderJob(id="../../x", session_id=""))
    script.poll = {"id": "../../x", "status": "completed", "output": {"url": f"{url}/dl/b.mp4"}}
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    code, events, stderr = _jiggle("resume", cwd=work, url=url)
    assert code == 0, (events, stderr)
    (result,) = [e for e in events if e["event"] == "result"]
    assert Path(result["path"]).resolve().parent == work.resolve()
    assert _files(tmp_path / "a") == ["work/x.mp4"]


def test_jiggle_resume_saves_where_the_export_meant_and_continues_its_part(
    server: tuple[str, Script], videos: dict[str, Path], tmp_path: Path
) -> None:
    url, script = server
    script.export = {"status": "completed", "output": {"url": f"{url}/dl/b.mp4"}}
    script.cut = True  # every attempt of the export's download is cut halfway
    work = tmp_path / "work"
    work.mkdir()
    code, events, stderr = _jiggle("export", "s1", "-o", "chosen/my.mp4", cwd=work, url=url)
    assert code == 4, (events, stderr)
    (error,) = [e for e in events if e["event"] == "error"]
    assert error["code"] == "download_failed"
    chosen = work / "chosen"
    assert not (chosen / "my.mp4").exists()
    assert partial_path(chosen / "my.mp4").stat().st_size > 0

    script.cut, script.requests = False, []
    script.poll = {"status": "completed", "output": {"url": f"{url}/dl/b.mp4"}}
    elsewhere = tmp_path / "elsewhere"  # resume from another folder: still the export's -o
    elsewhere.mkdir()
    code, events, stderr = _jiggle("resume", cwd=elsewhere, url=url)
    assert code == 0, (events, stderr)
    (result,) = [e for e in events if e["event"] == "result"]
    assert Path(result["path"]) == (chosen / "my.mp4").absolute()
    assert (chosen / "my.mp4").read_bytes() == videos["b.mp4"].read_bytes()
    assert script.requests[0]["range"].startswith("bytes=")  # the part was continued
    assert _files(chosen) == ["my.mp4"]
    assert _files(elsewhere) == []
