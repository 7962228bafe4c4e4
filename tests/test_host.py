"""The skill host end to end against the local backend: real HTTP, real SSE, real MP4s."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from skimage import data as samples

from skill.errors import InputError
from skill.host import SkillHost
from skill.local.server import LocalBackend
from skill.replies import Reply, ReplyKind

_EDIT = "make this image jiggle and bounce with a subtle looping motion, 2 seconds"
_SHORT_EDIT = "make this image jiggle and bounce with a subtle looping motion, 1 second"


# -- helpers ----------------------------------------------------------------------------------


def _write_photo(path: Path, image: Any, size: int = 320) -> Path:
    picture = Image.fromarray(image).convert("RGB")
    picture.thumbnail((size, size))
    picture.save(path, quality=90)
    return path


def _sample(name: str) -> Any:
    """A photo that ships with scikit-image (``astronaut``, ``chelsea``...)."""
    return getattr(samples, name)()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return _write_photo(tmp_path / "astronaut.jpg", _sample("astronaut"))


@pytest.fixture
def second_photo(tmp_path: Path) -> Path:
    return _write_photo(tmp_path / "cat.png", _sample("chelsea"))


@pytest.fixture
def backend() -> Iterator[LocalBackend]:
    # Every edit turn answers in words: tests of the wordless turn use their own backend.
    with LocalBackend(heartbeat_interval=0.2) as server:
        yield server


def _host(backend: LocalBackend, tmp_path: Path, **options: Any) -> SkillHost:
    options.setdefault("output_dir", tmp_path / "videos")
    return SkillHost("local", base_url=backend.base_url, poll_interval=0.1, **options)


def _of(replies: Iterable[Reply], kind: ReplyKind) -> list[Reply]:
    return [r for r in replies if r.kind is kind]


def _errors(replies: Iterable[Reply]) -> list[str]:
    return [str(r.data.get("code")) for r in replies if r.kind is ReplyKind.ERROR]


def _probe(path: Path) -> tuple[int, int, float, int]:
    """Width, height, duration (s) and decoded frame count of an MP4."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = float(container.duration or 0) / 1_000_000
        return stream.codec_context.width, stream.codec_context.height, duration, frames


def _token(config_dir: Path) -> str:
    cached = json.loads((config_dir / "jiggle-token.json").read_text(encoding="utf-8"))
    (entry,) = cached["tokens"].values()
    return str(entry["token"])


# -- first contact ----------------------------------------------------------------------------


def test_first_interaction_sets_up_then_says_connected_with_credits(
    backend: LocalBackend, tmp_path: Path
) -> None:
    with _host(backend, tmp_path) as host:
        first = list(host.credits())
        again = list(host.credits())
    statuses = [r.text for r in _of(first, ReplyKind.STATUS)]
    assert statuses[0] == "Setting things up..."
    assert statuses[1].startswith("Connected and ready")
    assert "100 credits" in statuses[1]
    (balance,) = _of(first, ReplyKind.TEXT)
    assert balance.data["available"] == 100
    assert "100 credits available" in balance.text
    assert _of(again, ReplyKind.STATUS) == []  # set up once per host
    assert host.last_credits == 100


def test_unreachable_cloud_says_so_and_suggests_the_local_backend(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with SkillHost("cloud", base_url=closed, output_dir=tmp_path) as host:
        replies = list(host.credits())
    (error,) = _of(replies, ReplyKind.ERROR)
    assert error.data["code"] == "backend_unreachable"
    assert error.data["exit_code"] == 4
    assert "--backend local" in error.text


# -- the main job -----------------------------------------------------------------------------


@pytest.mark.slow
def test_quick_edit_then_export_saves_a_1080x1920_loop(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        edit = list(host.handle(_EDIT, [str(photo)]))
        export = list(host.handle("export"))
        session = host.session_id
    assert _errors(edit + export) == []
    uploaded = [r for r in _of(edit, ReplyKind.TEXT) if r.data.get("files")]
    assert uploaded[0].data["files"][0]["name"] == "astronaut.jpg"
    streamed = "".join(r.text for r in _of(edit, ReplyKind.DELTA))
    assert streamed.strip()  # the assistant's words arrived as deltas
    assert any(r.data.get("end") for r in _of(edit, ReplyKind.TEXT))
    phases = {r.data["phase"] for r in _of(export, ReplyKind.PROGRESS)}
    assert {"render", "download"} <= phases
    (result,) = _of(export, ReplyKind.RESULT)
    path = Path(result.data["path"])
    assert result.text.startswith(f"Saved to {path}")
    assert result.data["session_id"] == session
    width, height, duration, frames = _probe(path)
    assert (width, height) == (1080, 1920)
    assert (result.data["width"], result.data["height"]) == (1080, 1920)
    assert duration == pytest.approx(2.0, abs=0.1)
    assert frames == pytest.approx(60, abs=2)
    assert result.data["size"] == path.stat().st_size


@pytest.mark.slow
def test_iterative_refinement_keeps_the_timeline_and_renders_the_last_version(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        list(host.handle(_SHORT_EDIT, [str(photo)]))
        first_state = _of(list(host.handle("show tracks")), ReplyKind.TEXT)[0].data["summary"]
        refine = list(host.handle('make it square, strong, and add the title "Hello"'))
        second_state = _of(list(host.handle("status")), ReplyKind.TEXT)[0].data["summary"]
        export = list(host.handle("export"))
    assert _errors(refine + export) == []
    assert "astronaut.jpg" in first_state
    assert first_state != second_state
    assert "Hello" in second_state
    (result,) = _of(export, ReplyKind.RESULT)
    width, height, duration, _ = _probe(Path(result.data["path"]))
    assert (width, height) == (1080, 1080)
    assert duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
def test_batch_gives_each_photo_its_own_render_and_survives_a_bad_one(
    backend: LocalBackend, tmp_path: Path, photo: Path, second_photo: Path
) -> None:
    broken = tmp_path / "notes.jpg"
    broken.write_text("not a photo at all", encoding="utf-8")
    with _host(backend, tmp_path) as host:
        rejected = list(host.handle(_SHORT_EDIT, [str(photo), str(broken)]))
        batch = list(host.handle(_SHORT_EDIT, [str(photo), str(second_photo)]))
        sessions = host.session_ids
        export = list(host.handle("export"))
    # A bad file is refused before anything is sent, naming the file and what is accepted.
    (refusal,) = _of(rejected, ReplyKind.ERROR)
    assert refusal.data["code"] == "unsupported_file"
    assert "notes.jpg" in refusal.text
    assert "jpg" in refusal.text.split("notes.jpg", 1)[1]
    assert _errors(batch + export) == []
    assert len(set(sessions)) == 2
    tagged = {r.data.get("file") for r in _of(batch, ReplyKind.TEXT) if r.data.get("file")}
    assert tagged == {"astronaut.jpg", "cat.png"}
    assert _of(batch, ReplyKind.DELTA) == []  # whole messages per photo, never interleaved
    results = _of(export, ReplyKind.RESULT)
    assert {r.data["session_id"] for r in results} == set(sessions)
    names = sorted(Path(r.data["path"]).name for r in results)
    assert names == ["astronaut-jiggle.mp4", "cat-jiggle.mp4"]
    for result in results:
        assert _probe(Path(result.data["path"]))[:2] == (1080, 1920)
    done = [r for r in _of(export, ReplyKind.TEXT) if r.data.get("batch")]
    assert done[-1].data["done"] == 2


@pytest.mark.slow
def test_animate_batch_one_failure_does_not_sink_the_others(
    backend: LocalBackend, tmp_path: Path, photo: Path, second_photo: Path
) -> None:
    # A failed render is now resubmitted once with a new id (issue 12, item 8): the batch
    # still saves both videos, and says which render failed and its replacement.
    backend.inject("render-fail@poll")
    with _host(backend, tmp_path) as host:
        replies = list(
            host.animate([str(photo), str(second_photo)], _SHORT_EDIT, out_dir=tmp_path / "batch")
        )
    assert _errors(replies) == []
    assert len([r for r in replies if "failed_render_id" in r.data]) == 1
    results = _of(replies, ReplyKind.RESULT)
    assert len(results) == 2
    assert _probe(Path(results[0].data["path"]))[:2] == (1080, 1920)
    summary = [r for r in _of(replies, ReplyKind.TEXT) if r.data.get("batch")][-1]
    assert (summary.data["done"], summary.data["failed"]) == (2, 0)


# -- what the backend says, translated --------------------------------------------------------


def test_click_export_is_offered_not_done(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        replies = list(host.handle(_EDIT, [str(photo)]))
        credits_after_edit = host.last_credits
        pending = host.pending_renders()
    said = "".join(r.text for r in _of(replies, ReplyKind.DELTA))
    assert "Export" in said
    (offer,) = _of(replies, ReplyKind.SUGGESTION)
    assert offer.data == {"action": "export"}
    assert "export" in offer.text.lower()
    assert _of(replies, ReplyKind.RESULT) == []
    assert pending == []
    assert credits_after_edit is not None
    assert credits_after_edit > 90  # a chat turn, not a render, was paid for


def test_a_turn_with_no_text_is_summarised_from_the_timeline(tmp_path: Path, photo: Path) -> None:
    with (
        LocalBackend(heartbeat_interval=0.2, faults="sse-silent*inf") as quiet,
        _host(quiet, tmp_path) as host,
    ):
        list(host.handle("upload", [str(photo)]))
        replies = list(host.handle("make it bounce strongly"))
    assert _of(replies, ReplyKind.DELTA) == []
    (summary,) = [r for r in _of(replies, ReplyKind.TEXT) if "changes" in r.data]
    assert summary.data["changes"] >= 1
    assert summary.text.startswith("Done. What changed:")
    assert "strong" in summary.text


def test_still_working_is_said_during_silence(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path, still_working_after=0.3) as host:
        list(host.handle("upload", [str(photo)]))
        backend.inject("sse-stall=1@chat")
        replies = list(host.handle("make it wobble"))
    still = [r for r in _of(replies, ReplyKind.STATUS) if r.data.get("still_working")]
    assert still
    assert still[0].text == "⏳ Still working..."


# -- errors: each says what happened and what to do next --------------------------------------


_FAULTS = [
    ("2001@chat", "chat", "out_of_credits", "https://nemovideo.com/"),
    ("4001@upload", "upload", "unsupported_file", "jpg png"),
    ("4002@upload", "upload", "file_too_large", "200 MB"),
    ("402@export", "export", "export_blocked_by_plan", "--backend local"),
    ("429=3600@credits", "credits", "rate_limited", "Wait 3600 seconds"),
    ("503@credits*inf", "credits", "server_error", "try again"),
    ("1001@credits*inf", "credits", "token_expired", "token"),
    ("1002@chat*inf", "chat", "session_not_found", "new session"),
    ("400@auth*inf", "connect", "missing_client_id", "client id"),
    ("sse-error@chat", "chat", "stream_error", "status"),
    ("sse-cut=1@chat", "chat", "connection_lost", "not sent again"),
    # Every render fails: the one resubmission (issue 12, item 8) fails too.
    ("render-fail@poll*inf", "export", "render_failed", "try exporting again"),
    ("download-cut=0@download*inf", "export", "download_failed", "jiggle resume"),
]


@pytest.mark.parametrize(("fault", "when", "code", "hint"), _FAULTS, ids=[f[2] for f in _FAULTS])
def test_every_error_code_becomes_a_clear_reply(
    backend: LocalBackend,
    tmp_path: Path,
    photo: Path,
    fault: str,
    when: str,
    code: str,
    hint: str,
) -> None:
    with _host(backend, tmp_path) as host:
        if when == "connect":
            backend.inject(fault)
            replies = list(host.credits())
        else:
            list(host.credits())
            if when not in ("upload", "credits"):
                list(host.handle("upload", [str(photo)]))
            backend.inject(fault)
            if when == "upload":
                replies = list(host.handle("upload", [str(photo)]))
            elif when == "credits":
                replies = list(host.credits())
            elif when == "chat":
                replies = list(host.handle("make it bounce"))
            else:
                replies = list(host.handle("export"))
        backend.clear_faults()
        after = list(host.credits())  # the host stays usable after any failure
    errors = _of(replies, ReplyKind.ERROR)
    assert [e.data["code"] for e in errors] == [code]
    assert hint.lower() in errors[0].text.lower()
    assert _errors(after) == []


def test_a_lost_session_is_replaced_and_the_photo_sent_again(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        list(host.handle("upload", [str(photo)]))
        first = host.session_id
        backend.inject("lose-session@chat")
        replies = list(host.handle("make it bounce"))
        state = list(host.handle("status"))
        second = host.session_id
    assert _errors(replies + state) == []
    notes = [r for r in _of(replies, ReplyKind.STATUS) if r.data.get("session_replaced")]
    assert "astronaut.jpg" in notes[0].text
    assert second != first
    summary = _of(state, ReplyKind.TEXT)[0].data["summary"]
    assert "astronaut.jpg" in summary
    assert "bounce" in summary


def test_out_of_credits_links_to_registration(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        list(host.handle("upload", [str(photo)]))
        backend.inject("2001@chat")
        replies = list(host.handle("make it bounce"))
    (error,) = _of(replies, ReplyKind.ERROR)
    url = str(error.data.get("register_url") or "")
    assert url.startswith("https://nemovideo.com/")
    assert url in error.text


# -- languages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (
            "让这张图片轻轻抖动，2秒",
            ("正在准备...", "已连接", "已上传", "还有多少积分", "可用积分"),
        ),
        (
            "讓這張圖片輕輕彈跳，2秒",
            ("正在準備...", "已連接", "已上傳", "還有多少積分", "可用積分"),
        ),
    ],
    ids=["simplified", "traditional"],
)
def test_chinese_conversation_is_answered_in_the_users_script(
    backend: LocalBackend, tmp_path: Path, photo: Path, message: str, words: tuple[str, ...]
) -> None:
    setting_up, connected, uploaded, question, available = words
    with _host(backend, tmp_path) as host:
        replies = list(host.handle(message, [str(photo)]))
        balance = list(host.handle(question))
        assert host.language == "zh"
    assert _errors(replies) == []
    statuses = [r.text for r in _of(replies, ReplyKind.STATUS)]
    assert statuses[0] == setting_up
    assert statuses[1].startswith(connected)
    assert any(uploaded in r.text for r in _of(replies, ReplyKind.TEXT))
    streamed = "".join(r.text for r in _of(replies, ReplyKind.DELTA))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in streamed)  # the session speaks Chinese
    assert any(available in r.text for r in _of(balance, ReplyKind.TEXT))


# -- interruption -----------------------------------------------------------------------------


@pytest.mark.slow
def test_resume_after_an_interrupted_export(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        list(host.handle(_SHORT_EDIT, [str(photo)]))
        export = host.handle("export")
        render_id = None
        for reply in export:
            if reply.kind is ReplyKind.PROGRESS and reply.data.get("phase") == "render":
                render_id = reply.data["render_id"]
                break
        export.close()  # what Ctrl-C does to the consumer's generator
        pending = host.pending_renders()
        resumed = list(host.resume())
        left = host.pending_renders()
        still_usable = list(host.handle("status"))
    assert render_id is not None
    assert [job["render_id"] for job in pending] == [render_id]
    assert _errors(resumed + still_usable) == []
    (result,) = _of(resumed, ReplyKind.RESULT)
    assert result.data["render_id"] == render_id
    assert Path(result.data["path"]).name == "astronaut-jiggle.mp4"  # named as the export was
    assert _probe(Path(result.data["path"]))[:2] == (1080, 1920)
    assert left == []


def test_interrupted_chat_leaves_the_host_usable(
    backend: LocalBackend, tmp_path: Path, photo: Path
) -> None:
    with _host(backend, tmp_path) as host:
        list(host.handle("upload", [str(photo)]))
        backend.inject("sse-stall=2@chat")
        turn = host.handle("make it wobble")
        next(turn)  # the turn is under way
        turn.close()
        replies = list(host.handle("status"))
    assert _errors(replies) == []
    assert "astronaut.jpg" in _of(replies, ReplyKind.TEXT)[0].text


# -- secrets ----------------------------------------------------------------------------------


def test_the_token_never_reaches_a_reply(
    backend: LocalBackend, tmp_path: Path, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_cloud_secret_never_for_local")
    with _host(backend, tmp_path) as host:
        replies = list(host.handle(_EDIT, [str(photo)]))
        backend.inject("1001@state*inf")
        replies += list(host.handle("status"))
    token = _token(Path(os.environ["NEMO_CONFIG_DIR"]))
    dumped = json.dumps([r.to_json() for r in replies], ensure_ascii=False)
    assert _errors(replies[:-1]) == []  # the local backend got its own token, not NEMO_TOKEN
    assert token not in dumped
    assert "nmv_usr_cloud_secret" not in dumped


# -- choosing the backend ---------------------------------------------------------------------


def test_the_backend_comes_from_the_argument_then_jiggle_backend_then_cloud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SkillHost().backend_name == "cloud"
    monkeypatch.setenv("JIGGLE_BACKEND", "local")
    assert SkillHost().backend_name == "local"
    assert SkillHost("cloud").backend_name == "cloud"
    monkeypatch.setenv("JIGGLE_BACKEND", "moon")
    with pytest.raises(InputError, match="--backend cloud or --backend local"):
        SkillHost()
