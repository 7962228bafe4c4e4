"""The chat REPL: line parsing, completion, the reply view, and whole conversations.

Conversations run the real host against the real local backend, with prompt-toolkit reading a
pipe (``create_pipe_input``) and writing plain text we read back; the plain fallback runs as a
subprocess with stdin piped, as ``echo credits | jiggle chat --backend local`` does.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, TextIO, cast

import av
import numpy as np
import pytest
import skimage.data
from PIL import Image
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from skill.host import SkillHost
from skill.repl import (
    Command,
    Message,
    Repl,
    ReplCompleter,
    ReplyView,
    history_path,
    parse_line,
    tokenize,
)
from skill.repl._screen import PlainScreen, TerminalScreen
from skill.repl._view import format_amount, progress_bar
from skill.replies import Reply, ReplyKind
from tests.conftest import repo_root

# --- parsing a line ------------------------------------------------------------------------


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "My Photos"
    folder.mkdir()
    for name in ("cat.jpg", "dog one.png", "bird.webp"):
        (folder / name).write_bytes(b"not really an image; the REPL only checks it exists")
    return folder


def _message(text: str) -> Message:
    parsed = parse_line(text)
    assert isinstance(parsed, Message), parsed
    return parsed


def test_blank_line_is_nothing() -> None:
    assert parse_line("   ") is None


def test_plain_words_go_to_the_assistant_untouched() -> None:
    message = _message('don\'t make it too strong, add title "Urban Dreams"')
    assert message.instruction == 'don\'t make it too strong, add title "Urban Dreams"'
    assert message.attachments == ()
    assert message.missing == ()


@pytest.mark.parametrize(
    "typed",
    [
        "{bare}/cat.jpg",
        "'{dir}/cat.jpg'",
        '"{dir}/cat.jpg"',
        "{escaped}/cat.jpg",
        "file://{url_dir}/cat.jpg",
    ],
)
def test_a_dropped_path_in_any_shape_is_an_upload(photo_dir: Path, typed: str) -> None:
    bare = photo_dir.parent / "bare"  # no space in the name: typed as is, unquoted
    bare.mkdir()
    (bare / "cat.jpg").write_bytes((photo_dir / "cat.jpg").read_bytes())
    escaped = str(photo_dir).replace(" ", "\\ ")
    url_dir = str(photo_dir).replace(" ", "%20")
    line = typed.format(dir=photo_dir, bare=bare, escaped=escaped, url_dir=url_dir)
    message = _message(f"{line} make it jiggle")
    expected = (bare if "{bare}" in typed else photo_dir) / "cat.jpg"
    assert message.attachments == (str(expected),)
    assert message.instruction == "make it jiggle"


def test_several_paths_at_once_with_the_instruction_around_them(photo_dir: Path) -> None:
    escaped_dog = str(photo_dir / "dog one.png").replace(" ", "\\ ")
    line = f"animate '{photo_dir / 'cat.jpg'}' {escaped_dog} and \"{photo_dir / 'bird.webp'}\" now"
    message = _message(line)
    assert message.attachments == tuple(
        str(photo_dir / name) for name in ("cat.jpg", "dog one.png", "bird.webp")
    )
    assert message.instruction == "animate and now"


def test_a_bare_file_name_in_the_working_dir_is_an_upload(
    photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(photo_dir)
    assert _message("cat.jpg bounce").attachments == ("cat.jpg",)
    # ...but a name that is not a file here stays a word (it may name an uploaded photo).
    assert _message("make cow.jpg bounce more").instruction == "make cow.jpg bounce more"


def test_home_relative_paths_expand(photo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(photo_dir.parent))
    message = _message("~/My\\ Photos/cat.jpg")
    assert message.attachments == (str(photo_dir / "cat.jpg"),)
    assert message.instruction == ""


def test_a_missing_path_is_reported_not_sent(tmp_path: Path) -> None:
    message = _message(f"{tmp_path}/nowhere/cat.jpg make it jiggle")
    assert message.missing == (f"{tmp_path}/nowhere/cat.jpg",)
    assert message.attachments == ()


def test_a_media_url_is_an_upload() -> None:
    message = _message("https://example.com/p/cat.JPG?x=1 bounce")
    assert message.attachments == ("https://example.com/p/cat.JPG?x=1",)
    assert _message("see https://example.com/about").attachments == ()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/help", Command("help")),
        ("/EXPORT", Command("export")),
        ("/resume render_123", Command("resume", "render_123")),
        ("/lang zh", Command("lang", "zh")),
        ("exit", Command("exit")),
        ("quit", Command("exit")),
        ("退出", Command("exit")),
        ("/quit", Command("exit")),
        ("/frobnicate", Command("frobnicate")),
    ],
)
def test_commands(line: str, expected: Command) -> None:
    assert parse_line(line) == expected


def test_an_absolute_path_is_not_a_command(photo_dir: Path) -> None:
    assert isinstance(parse_line(f"{photo_dir}/cat.jpg"), Message)


def test_tokenize_keeps_raw_and_value_apart() -> None:
    tokens = tokenize("a\\ b 'c d' e'f")
    assert [(t.raw, t.value, t.quoted) for t in tokens] == [
        ("a\\ b", "a b", True),
        ("'c d'", "c d", True),
        ("e'f", "e'f", False),
    ]
    # While typing, an unclosed quote opens a word that runs to the end of the line.
    partial = tokenize("send '/tmp/My Ph", partial=True)[-1]
    assert (partial.value, partial.open_quote) == ("/tmp/My Ph", "'")


# --- completion ----------------------------------------------------------------------------


def _complete(text: str, *, tab: bool = False) -> list[tuple[str, int]]:
    completer = ReplCompleter(lambda name: f"about {name}")
    event = CompleteEvent(text_inserted=not tab, completion_requested=tab)
    found = completer.get_completions(Document(text), event)
    return [(c.text, c.start_position) for c in found]


def test_completes_commands() -> None:
    assert ("/export", -3) in _complete("/ex")
    names = [text for text, _ in _complete("/")]
    assert names == [
        "/help",
        "/credits",
        "/status",
        "/export",
        "/resume",
        "/jobs",
        "/lang",
        "/exit",
    ]
    assert _complete("/lang ") == [("en", 0), ("zh", 0)]
    assert _complete("/lang z") == [("zh", -1)]


def test_completes_paths_escaping_spaces(photo_dir: Path) -> None:
    typed = str(photo_dir).replace(" ", "\\ ") + "/do"
    assert _complete(typed) == [("g\\ one.png", 0)]
    # Inside an open quote the name is inserted as is.
    assert _complete(f"make '{photo_dir}/do") == [("g one.png", 0)]
    # A folder completes with its slash, so the next Tab goes inside.
    parent_prefix = str(photo_dir.parent) + "/My"
    assert _complete(parent_prefix) == [("\\ Photos/", 0)]


def test_prose_is_completed_only_on_tab(photo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(photo_dir)
    assert _complete("make ca") == []
    assert _complete("make ca", tab=True) == [("t.jpg", 0)]


# --- the reply view ------------------------------------------------------------------------


def _plain_view() -> tuple[ReplyView, io.StringIO]:
    stream = io.StringIO()
    return ReplyView(PlainScreen(stream), lambda: "en"), stream


def test_streamed_text_is_one_line_closed_by_the_end_marker() -> None:
    view, stream = _plain_view()
    for piece in ("Adding ", "a jiggle", "..."):
        view.show(Reply(ReplyKind.DELTA, piece))
        assert stream.getvalue().endswith(piece)  # written at once, no newline yet
    view.show(Reply(ReplyKind.TEXT, "", {"end": True}))
    view.show(Reply(ReplyKind.TEXT, "Done."))
    assert stream.getvalue() == "Adding a jiggle...\nDone.\n"


def test_plain_progress_is_a_few_whole_lines() -> None:
    view, stream = _plain_view()
    for done in range(0, 101, 5):
        view.show(Reply(ReplyKind.PROGRESS, "", {"phase": "render", "done": done, "total": 100}))
    view.show(Reply(ReplyKind.PROGRESS, "", {"phase": "download", "done": 2048, "total": None}))
    view.show(Reply(ReplyKind.PROGRESS, "", {"phase": "download", "done": 4096, "total": None}))
    view.show(Reply(ReplyKind.RESULT, "", {"path": "/tmp/x.mp4"}))
    assert stream.getvalue().splitlines() == [
        "render 0%",
        "render 25%",
        "render 50%",
        "render 75%",
        "render 100%",
        "download 2.0 KB",
        "Saved: /tmp/x.mp4",
    ]


def test_styled_progress_redraws_one_line() -> None:
    stream = io.StringIO()
    view = ReplyView(TerminalScreen(PlainTextOutput(stream)), lambda: "zh")
    for done in (0, 50, 100):
        view.show(Reply(ReplyKind.PROGRESS, "", {"phase": "upload", "done": done, "total": 100}))
    view.show(Reply(ReplyKind.ERROR, "出错了", {"code": "x"}))
    lines = stream.getvalue().replace("\r\n", "\n").split("\n")
    # One line, redrawn in place with carriage returns, then the next message on its own line.
    assert lines[0].split("\r")[1:] == [
        f"上传       {progress_bar(0.0)}   0%",
        f"上传       {progress_bar(0.5)}  50%",
        f"上传       {progress_bar(1.0)} 100%",
    ]
    assert lines[1].strip() == "出错了"


def test_amounts_and_bars() -> None:
    assert format_amount(1536, "upload") == "1.5 KB"
    assert format_amount(3 * 1024 * 1024, "download") == "3.0 MB"
    assert format_amount(40, "render") == "40"
    assert progress_bar(0.5, 4) == "██░░"
    assert progress_bar(2.0, 4) == "████"


# --- the plain fallback --------------------------------------------------------------------


def _jiggle(args: list[str], stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TERM": "dumb", "PYTHONPATH": str(repo_root())}
    return subprocess.run(
        [sys.executable, "-m", "skill", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_plain_fallback_through_a_pipe(tmp_path: Path) -> None:
    done = _jiggle(["chat", "--backend", "local"], "/help\ncredits\n/frob\n", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "make this image jiggle and bounce" in out  # the banner's examples
    assert "/export" in out  # /help
    assert "100 credits" in out  # the local backend's anonymous grant
    assert "Unknown command /frob" in out
    assert "\x1b[" not in out  # no escape sequences on a pipe
    assert out.rstrip().endswith("Bye.")


def test_json_lines_through_a_pipe(tmp_path: Path) -> None:
    done = _jiggle(["chat", "--backend", "local", "--json"], "credits\n/frob\n", tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    credits = next(e for e in events if e["event"] == "text" and "available" in e)
    assert credits["available"] == 100  # the local backend's anonymous grant
    assert "100 credits" in credits["text"]
    assert {"event": "error", "text": "Unknown command /frob. Type /help for the list."} in events
    assert not any("Bye." in str(e.get("text")) for e in events)  # no farewell in a script


# --- whole conversations: prompt-toolkit on a pipe, the real host, the local backend ---------

_WAIT_SECONDS = 120.0
# The prompt drawn afresh with nothing typed yet: the chat is waiting for the next line. (An
# accepted line is echoed as "you> text", so this does not match an echo.)
_PROMPT_BACK = "you>\n"


class _Transcript(io.StringIO):
    """What the REPL wrote, readable from another thread as it grows."""

    def __init__(self) -> None:
        super().__init__()
        self._grown = threading.Condition()

    def write(self, text: str) -> int:
        with self._grown:
            written = super().write(text)
            self._grown.notify_all()
        return written

    def text(self) -> str:
        with self._grown:
            return self.getvalue().replace("\r\n", "\n")

    def wait_for(self, needle: str, start: int = 0) -> int:
        """Block until ``needle`` appears after ``start``; where it ends."""
        with self._grown:
            found = self._grown.wait_for(
                lambda: needle in self.getvalue().replace("\r\n", "\n")[start:], _WAIT_SECONDS
            )
            text = self.getvalue().replace("\r\n", "\n")
        if not found:
            raise AssertionError(f"{needle!r} never came; the chat said:\n{text}")
        return text.index(needle, start) + len(needle)


def _converse(host: SkillHost, steps: list[tuple[str, str]], language: str | None = "en") -> str:
    """Type each step's text once the previous step's expected words appeared; the transcript.

    The REPL runs in this (the main) thread, as it does for real, so that Ctrl-C is a signal;
    a helper thread types.
    """
    transcript = _Transcript()
    failures: list[BaseException] = []
    with create_pipe_input() as pipe:

        def type_steps() -> None:
            try:
                position = transcript.wait_for(_PROMPT_BACK)
                for text, expected in steps:
                    pipe.send_text(text)
                    position = transcript.wait_for(expected, position)
            except BaseException as error:
                failures.append(error)
            finally:
                pipe.send_text("\x04")  # Ctrl-D: leave, whatever happened

        typist = threading.Thread(target=type_steps, daemon=True)
        typist.start()
        repl = Repl.terminal(
            host, language=language, input=pipe, output=PlainTextOutput(cast(TextIO, transcript))
        )
        assert repl.run() == 0
        typist.join(_WAIT_SECONDS)
    if failures:
        raise failures[0]
    return transcript.text()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "chelsea the cat.jpg"
    pixels: np.ndarray[Any, Any] = skimage.data.chelsea()  # type: ignore[no-untyped-call]
    Image.fromarray(pixels).save(path, quality=90)
    return path


def _decoded_frames(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.width, stream.codec_context.height, frames


@pytest.mark.slow
def test_a_whole_conversation_ends_in_a_decodable_mp4(photo: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    dropped = str(photo).replace(" ", "\\ ")  # as a terminal pastes a dropped file
    with SkillHost("local", output_dir=out_dir) as host:
        text = _converse(
            host,
            [
                (f"{dropped}\n", "Uploaded"),
                ("make it jiggle for 2 seconds\n", _PROMPT_BACK),
                ("/status\n", _PROMPT_BACK),
                ("export\n", "Saved to"),
                ("/jobs\n", "No unfinished renders"),
            ],
        )
        session = host.session_id
    assert "Connected and ready" in text
    assert "upload   ████" in text  # progress bars
    assert "render   ████" in text
    # The bottom toolbar shows the session and the balance once connected.
    assert session is not None
    assert f"backend: local  session: {session}  credits: " in text
    videos = list(out_dir.glob("*.mp4"))
    assert len(videos) == 1, text
    assert str(videos[0]) in text
    width, height, frames = _decoded_frames(videos[0])
    assert (width, height) == (1080, 1920)
    assert frames >= 2 * 24  # about two seconds of video
    history = history_path().read_text(encoding="utf-8")
    assert "make it jiggle for 2 seconds" in history
    assert "/status" in history


@pytest.mark.slow
def test_ctrl_c_during_an_export_leaves_the_chat_alive(photo: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    # A slow poll keeps the export waiting on the backend when Ctrl-C comes.
    with SkillHost("local", output_dir=out_dir, poll_interval=60.0) as host:
        text = _converse(
            host,
            [
                (f"'{photo}' make it jiggle\n", _PROMPT_BACK),
                ("/export\n", "render "),
                ("\x03", "keeps running on the backend"),
                ("/credits\n", "credits available"),
                ("/jobs\n", "session"),
            ],
        )
    cancelled = re.search(r"Cancelled\. Render (\S+) keeps running", text)
    assert cancelled is not None, text
    render_id = cancelled.group(1)
    assert f"{render_id}  session" in text  # /jobs lists it
    assert not list(out_dir.glob("*.mp4"))
    # The render went on without us: /resume fetches it, in a later chat.
    with SkillHost("local", output_dir=out_dir) as host:
        text = _converse(host, [(f"/resume {render_id}\n", "Saved to")])
    (video,) = out_dir.glob("*.mp4")
    width, height, frames = _decoded_frames(video)
    assert (width, height) == (1080, 1920)
    assert frames > 0


def test_missing_file_and_bad_commands_send_nothing(tmp_path: Path) -> None:
    with SkillHost("local", output_dir=tmp_path) as host:
        text = _converse(
            host,
            [
                (f"{tmp_path}/gone/cat.jpg make it jiggle\n", "No such file"),
                ("/nope\n", "Unknown command /nope"),
                ("/lang fr\n", "/lang en or /lang zh"),
                ("/lang zh\n", "中文"),
                ("/help\n", "/resume"),
            ],
        )
        # Nothing reached the backend: no session, not even a connection.
        assert host.session_id is None
    assert "Setting things up" not in text
    assert "再见" in text  # the goodbye follows /lang zh


def test_the_chat_follows_the_language_the_user_writes_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    with SkillHost("local", output_dir=tmp_path) as host:
        text = _converse(
            host, [("积分\n", "你>\n"), ("/credits\n", "可用积分"), ("退出\n", "再见")], None
        )
    banner, _, after = text.partition("积分")
    assert "Try saying" in banner  # English until the user wrote Chinese
    assert "你有 100 可用积分" in after  # the host's answer, in Chinese
    assert "后端: local  会话: —  积分: 100" in after  # the toolbar followed
