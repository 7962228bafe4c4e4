"""The MCP server through a real MCP client session over stdio, against
``python -m skill mcp --backend local`` in a subprocess; and the typed Python API it stands on,
against a local backend on loopback."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import av
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent
from PIL import Image
from skimage import data as samples

from skill.local.server import LocalBackend
from skill.mcp import CallFailed, Jiggle
from skill.mcp.server import _ProgressMeter
from skill.replies import Reply, ReplyKind

_TOOLS = {"animate", "chat", "upload", "credits", "state", "export", "jobs", "resume"}


def _photo(path: Path) -> Path:
    cat = samples.chelsea()  # type: ignore[no-untyped-call]
    picture = Image.fromarray(cat).convert("RGB")
    picture.thumbnail((320, 320))
    picture.save(path)
    return path


@dataclass
class _Server:
    """A client session with the server subprocess, driven from synchronous tests."""

    portal: anyio.from_thread.BlockingPortal
    session: ClientSession
    home: Path
    stderr: Path
    texts: list[str] = field(default_factory=list)  # every text the server sent back

    def call(self, name: str, arguments: dict[str, Any], progress: Any = None) -> CallToolResult:
        call = functools.partial(
            self.session.call_tool, name, arguments, progress_callback=progress
        )
        result: CallToolResult = self.portal.call(call)
        self.texts += [c.text for c in result.content if isinstance(c, TextContent)]
        return result


@asynccontextmanager
async def _connected(params: StdioServerParameters, errlog: Any) -> AsyncIterator[ClientSession]:
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    home = tmp_path_factory.mktemp("mcp")
    env = {
        "NEMO_CONFIG_DIR": str(home / "config"),
        "JIGGLE_DATA_DIR": str(home / "data"),
        "JIGGLE_OUTPUT_DIR": str(home / "videos"),
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "skill", "mcp", "--backend", "local"],
        env=env,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    stderr = home / "server-stderr.log"
    with (
        stderr.open("w") as errlog,
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_connected(params, errlog)) as session,
    ):
        yield _Server(portal, session, home, stderr)


@pytest.fixture(scope="module")
def animated(server: _Server) -> tuple[dict[str, Any], list[float]]:
    """A 2-second clip of a photo made here, animated through the server, with its progress."""
    photo = _photo(server.home / "cat.jpg")
    seen: list[float] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        assert total == 100
        seen.append(value)

    result = server.call(
        "animate",
        {"photos": [str(photo)], "instruction": "make it bounce", "duration": 2},
        progress,
    )
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content, seen


# -- the server, over stdio -------------------------------------------------------------------


def test_lists_every_tool_with_its_schemas(server: _Server) -> None:
    tools = {tool.name: tool for tool in server.portal.call(server.session.list_tools).tools}
    assert set(tools) == _TOOLS
    animate = tools["animate"].input_schema
    assert set(animate["required"]) == {"photos", "instruction"}
    assert "ctx" not in animate["properties"]
    assert tools["animate"].output_schema is not None
    assert "videos" in tools["animate"].output_schema["properties"]
    assert tools["credits"].annotations is not None
    assert tools["credits"].annotations.read_only_hint is True


def test_credits_reads_the_balance(server: _Server) -> None:
    result = server.call("credits", {})
    assert not result.is_error
    balance = result.structured_content
    assert balance is not None
    assert isinstance(balance["available"], int)
    assert balance["total"] >= balance["available"] > 0


@pytest.mark.slow
def test_animate_saves_a_1080x1920_mp4_and_reports_progress(
    animated: tuple[dict[str, Any], list[float]],
) -> None:
    result, progress = animated
    assert result["failures"] == []
    [video] = result["videos"]
    path = Path(video["path"])
    assert path.is_absolute()
    assert path.is_file()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame for frame in container.decode(stream)]
        assert stream.average_rate is not None
        decoded_seconds = len(frames) / float(stream.average_rate)
    assert (frames[0].width, frames[0].height) == (1080, 1920)
    assert (video["width"], video["height"]) == (1080, 1920)
    assert abs(decoded_seconds - 2.0) < 0.2
    assert video["duration"] == pytest.approx(decoded_seconds, abs=0.2)
    # MCP progress only rises, and it ends at the total.
    assert len(progress) > 3
    assert progress == sorted(progress)
    assert len(set(progress)) == len(progress)
    assert progress[-1] == 100


@pytest.mark.slow
def test_state_shows_the_animated_project(
    server: _Server, animated: tuple[dict[str, Any], list[float]]
) -> None:
    result = server.call("state", {})
    assert not result.is_error
    state = result.structured_content
    assert state is not None
    [session] = state["sessions"]
    assert session["session_id"] == animated[0]["videos"][0]["session_id"]
    assert "cat.jpg" in session["summary"]
    [track] = [t for t in session["tracks"] if t["kind"] == "video"]
    [segment] = track["segments"]
    assert segment["motion"] == "bounce"
    assert segment["duration_ms"] == 2000


@pytest.mark.slow
def test_chat_answers_about_the_open_project(
    server: _Server, animated: tuple[dict[str, Any], list[float]]
) -> None:
    result = server.call("chat", {"message": "make the bounce stronger"})
    assert not result.is_error, result.content
    reply = result.structured_content
    assert reply is not None
    assert reply["text"] or reply["summary"]
    if "export" in reply["text"].lower():
        assert reply["suggestion"] == "export"  # offered, not done: exporting spends credits
    assert reply["videos"] == []


def test_a_missing_photo_is_an_error_result_with_its_code(server: _Server) -> None:
    missing = server.home / "nowhere" / "dog.jpg"
    result = server.call("animate", {"photos": [str(missing)], "instruction": "bounce"})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["code"] == "file_not_found"
    [content] = result.content
    assert isinstance(content, TextContent)
    assert str(missing) in content.text
    assert "file_not_found" in content.text
    assert "Traceback" not in content.text
    # The server keeps serving after a failure.
    assert not server.call("jobs", {}).is_error


def test_an_instruction_the_editor_cannot_act_on_is_an_error_result_and_no_video(
    server: _Server, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "cat.jpg")
    videos = set(server.home.rglob("*.mp4"))
    result = server.call("animate", {"photos": [str(photo)], "instruction": "make her smile"})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["code"] == "not_understood"
    [content] = result.content
    assert isinstance(content, TextContent)
    assert "make her smile" in content.text
    assert set(server.home.rglob("*.mp4")) == videos  # nothing rendered


def test_arguments_outside_the_schema_are_an_error_result(server: _Server) -> None:
    result = server.call("animate", {"photos": [], "instruction": "bounce"})
    assert result.is_error
    result = server.call("animate", {"photos": ["a.jpg"], "instruction": "x", "aspect": "4:3"})
    assert result.is_error


def test_jobs_lists_no_unfinished_render(server: _Server) -> None:
    result = server.call("jobs", {})
    assert not result.is_error
    assert result.structured_content == {"pending": []}


def test_no_token_and_no_traceback_leave_the_server(server: _Server) -> None:
    server.call("credits", {})
    token_file = server.home / "data" / "local-backend" / "client-token.json"
    cached = json.loads(token_file.read_text()) if token_file.exists() else {}
    tokens = [v["token"] for v in cached.values() if isinstance(v, dict) and "token" in v]
    said = "\n".join(server.texts) + server.stderr.read_text()
    assert "Traceback" not in said
    for token in tokens:
        assert token not in said


# -- the typed Python API ---------------------------------------------------------------------


@pytest.fixture
def api(local_backend_module: LocalBackend, tmp_path: Path) -> Iterator[Jiggle]:
    with Jiggle("local", base_url=local_backend_module.base_url, output_dir=tmp_path) as jiggle:
        yield jiggle


def test_api_reads_credits_and_an_empty_state(api: Jiggle) -> None:
    balance = api.credits()
    assert balance.available is not None
    assert balance.available > 0
    state = api.state()
    assert state.sessions == []
    assert state.messages  # says there is no project yet, and how to start one


def test_api_uploads_a_photo_into_its_own_project(api: Jiggle, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "cat.jpg")
    replies: list[Reply] = []
    uploaded = api.upload([photo], on_reply=replies.append)
    [session_id] = uploaded.session_ids
    [file] = uploaded.files
    assert file.kind == "image"
    assert (file.width, file.height) == Image.open(photo).size
    assert any(r.kind is ReplyKind.PROGRESS for r in replies)
    [state] = api.state().sessions
    assert state.session_id == session_id


def test_api_raises_call_failed_with_the_code(api: Jiggle, tmp_path: Path) -> None:
    with pytest.raises(CallFailed) as failed:
        api.animate([tmp_path / "missing.png"], "bounce")
    assert failed.value.code == "file_not_found"
    assert "missing.png" in failed.value.message
    with pytest.raises(CallFailed) as failed:
        api.animate([], "bounce")
    assert failed.value.code == "bad_input"


def test_api_stops_a_call_when_the_hook_raises(api: Jiggle, tmp_path: Path) -> None:
    photo = _photo(tmp_path / "cat.jpg")

    class Enough(Exception):
        pass

    def stop_at_first_progress(reply: Reply) -> None:
        if reply.kind is ReplyKind.PROGRESS:
            raise Enough

    with pytest.raises(Enough):
        api.upload([photo], on_reply=stop_at_first_progress)
    assert api.credits().available is not None  # the host is usable afterwards


# -- progress ---------------------------------------------------------------------------------


def _progress(phase: str, done: int, total: int, file: str | None = None) -> Reply:
    data: dict[str, Any] = {"phase": phase, "done": done, "total": total}
    if file:
        data["file"] = file
    return Reply(ReplyKind.PROGRESS, "", data)


def test_progress_of_a_batch_is_the_mean_of_its_photos_and_only_rises() -> None:
    meter = _ProgressMeter({"upload": (0.0, 10.0), "render": (20.0, 90.0)}, items=2)
    sent = [
        meter.update(reply)
        for reply in (
            _progress("upload", 100, 100, "a.jpg"),  # a: 10 -> mean 5
            _progress("upload", 50, 100, "b.jpg"),  # b: 5 -> 7.5
            _progress("upload", 40, 100, "b.jpg"),  # goes back: nothing sent
            Reply(ReplyKind.STATUS, "⏳ Still working..."),  # a hair more, with the message
            _progress("render", 100, 100, "a.jpg"),  # a: 90 -> 47.5
        )
    ]
    figures = [s[0] for s in sent if s is not None]
    assert figures[:2] == [5.0, 7.5]
    assert sent[2] is None
    assert sent[3] is not None
    assert sent[3][1] == "⏳ Still working..."
    assert figures == sorted(figures)
    assert figures[-1] == 47.5


def test_a_call_without_phases_sends_no_progress() -> None:
    meter = _ProgressMeter({}, items=1)
    assert meter.update(Reply(ReplyKind.STATUS, "Setting things up...")) is None
    assert meter.update(_progress("render", 5, 10)) is None
