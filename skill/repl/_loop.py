"""The chat loop: read a line, run it through the host, show the replies, repeat.

Two ways in, the same behaviour: :meth:`Repl.terminal` (prompt-toolkit: history, completion,
a bottom toolbar, progress bars redrawn in place) and :meth:`Repl.plain` (plain lines, for a
dumb terminal or a pipe: ``echo credits | jiggle chat --backend local``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from skill import paths
from skill.errors import FileNotFound, JiggleError
from skill.redact import redact
from skill.repl._cancel import Interrupter, KeyWatcher
from skill.repl._completion import ReplCompleter
from skill.repl._line import COMMANDS, Command, Message, parse_line
from skill.repl._screen import STYLE, PlainScreen, Screen, TerminalScreen
from skill.repl._strings import examples, ui
from skill.repl._view import JsonLinesView, ReplyView, View
from skill.replies import Reply, ReplyKind, language_of, say

__all__ = ["ChatHost", "Repl", "history_path"]

_HISTORY_FILE = "repl-history"


class ChatHost(Protocol):
    """What the REPL needs of :class:`skill.host.SkillHost`."""

    def handle(self, text: str, attachments: Sequence[str] = ()) -> Iterator[Reply]: ...

    def resume(self, render_id: str | None = None) -> Iterator[Reply]: ...

    def credits(self) -> Iterator[Reply]: ...

    def state(self, session_id: str | None = None) -> Iterator[Reply]: ...

    def export(self, session_id: str | None = None) -> Iterator[Reply]: ...

    def pending_renders(self) -> list[dict[str, Any]]: ...

    def set_language(self, language: str) -> None: ...

    @property
    def language(self) -> str: ...

    @property
    def active_render(self) -> str | None: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def backend_name(self) -> str: ...

    @property
    def last_credits(self) -> Any: ...


def history_path() -> Path:
    """Where the chat keeps its input history: ``repl-history`` in the user data dir."""
    return paths.data_dir() / _HISTORY_FILE


def _default_language() -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return language_of(value)
    return "en"


class _PlainLines:
    """Lines from a text stream; the prompt is written only when a person is typing."""

    def __init__(self, stdin: TextIO, stdout: TextIO, interactive: bool) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive

    def __call__(self, prompt: str) -> str:
        if self._interactive:
            self._stdout.write(prompt)
            self._stdout.flush()
        line = self._stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")


class Repl:
    """An interactive chat with a :class:`ChatHost`. Build it with :meth:`terminal` or
    :meth:`plain`, then call :meth:`run`."""

    def __init__(
        self,
        host: ChatHost,
        *,
        screen: Screen,
        read_line: Callable[[str], str],
        watch_keys: Callable[[Interrupter], contextlib.AbstractContextManager[object]],
        language: str | None = None,
        json_lines: bool = False,
    ) -> None:
        self._host = host
        self._screen = screen
        self._read_line = read_line
        self._watch_keys = watch_keys
        self._language = language_of(language) if language else _default_language()
        self._json_lines = json_lines
        self._view: View = (
            JsonLinesView(screen) if json_lines else ReplyView(screen, lambda: self._language)
        )
        self._interrupter = Interrupter()

    # Construction ------------------------------------------------------------------------

    @classmethod
    def terminal(
        cls,
        host: ChatHost,
        *,
        language: str | None = None,
        input: Input | None = None,
        output: Output | None = None,
        history: History | None = None,
    ) -> Repl:
        """A prompt-toolkit chat on ``input``/``output`` (default: this terminal)."""
        if history is None:
            path = history_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            history = FileHistory(str(path))
        repl: Repl
        session: PromptSession[str] = PromptSession(
            history=history,
            completer=ReplCompleter(lambda name: ui(repl.language, f"command_help.{name}")),
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            bottom_toolbar=lambda: repl.toolbar(),
            style=STYLE,
            input=input,
            output=output,
        )

        def read_line(prompt: str) -> str:
            return session.prompt(prompt)

        def watch_keys(interrupter: Interrupter) -> contextlib.AbstractContextManager[object]:
            return KeyWatcher(session.input, interrupter)

        repl = cls(
            host,
            screen=TerminalScreen(session.output),
            read_line=read_line,
            watch_keys=watch_keys,
            language=language,
        )
        return repl

    @classmethod
    def plain(
        cls,
        host: ChatHost,
        *,
        language: str | None = None,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool = False,
        json_lines: bool = False,
    ) -> Repl:
        """A chat on plain text streams: one line in, plain lines out, no escape sequences.

        ``json_lines``: one JSON object per line instead of words (``jiggle chat --json``).
        """
        return cls(
            host,
            screen=PlainScreen(stdout),
            read_line=_PlainLines(stdin, stdout, interactive and not json_lines),
            watch_keys=lambda interrupter: contextlib.nullcontext(),
            language=language,
            json_lines=json_lines,
        )

    # State -------------------------------------------------------------------------------

    @property
    def language(self) -> str:
        """The language of the REPL's own words ("en" or "zh")."""
        return self._language

    def toolbar(self) -> FormattedText:
        """The bottom toolbar: backend, session and credits."""
        lang = self._language
        none = ui(lang, "toolbar_none")
        credits = self._host.last_credits
        fields = (
            ("toolbar_backend", self._host.backend_name or none),
            ("toolbar_session", self._host.session_id or none),
            ("toolbar_credits", none if credits is None else str(credits)),
        )
        parts: list[tuple[str, str]] = []
        for key, value in fields:
            parts.append(("class:bottom-toolbar.key", f" {ui(lang, key)}: "))
            parts.append(("class:bottom-toolbar.value", f"{value} "))
        return FormattedText(parts)

    # The loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Chat until Ctrl-D or ``exit``. Returns the exit code (0)."""
        self._banner()
        try:
            while True:
                try:
                    line = self._read_line(ui(self._language, "prompt"))
                except KeyboardInterrupt:
                    # Ctrl-C at the prompt drops the line, as in a shell.
                    self._view.line(ui(self._language, "interrupt_hint"), "class:hint")
                    continue
                except EOFError:
                    break
                if not self._dispatch(line):
                    break
        finally:
            self._interrupter.restore()
        if not self._json_lines:
            self._view.line(ui(self._language, "goodbye"), "class:hint")
        return 0

    def _banner(self) -> None:
        if self._json_lines:
            return  # a script reading events has no use for a welcome
        lang = self._language
        self._view.line(ui(lang, "banner"), "class:banner")
        for example in examples(lang):
            self._view.line(f'  • "{example}"', "class:example")
        self._view.line(ui(lang, "banner_hint"), "class:hint")

    def _dispatch(self, line: str) -> bool:
        """Act on one line; ``False`` means leave."""
        parsed = parse_line(line)
        if parsed is None:
            return True
        if isinstance(parsed, Command):
            return self._command(parsed)
        self._message(parsed)
        return True

    def _message(self, message: Message) -> None:
        if message.missing:
            # Nothing is sent when a file the user named is not there: fix the path, resend.
            for path in message.missing:
                self._view.line(FileNotFound(path=path).human(self._language), "class:error")
            return
        self._operate(lambda: self._host.handle(message.instruction, message.attachments))

    def _command(self, command: Command) -> bool:
        name, lang = command.name, self._language
        if name == "exit":
            return False
        if name == "help":
            self._help()
        elif name == "lang":
            self._set_language(command.argument)
        elif name == "resume":
            render_id = command.argument or None
            self._operate(lambda: self._host.resume(render_id))
        elif name == "credits":
            self._operate(self._host.credits)
        elif name == "status":
            self._operate(self._host.state)
        elif name == "export":
            self._operate(self._host.export)
        elif name == "jobs":
            self._operate(self._jobs)
        else:
            self._view.line(ui(lang, "unknown_command", command="/" + name), "class:error")
        return True

    def _jobs(self) -> Iterator[Reply]:
        """Renders started and not yet downloaded, newest first, in the host's words."""
        jobs = self._host.pending_renders()
        lang = self._language
        if not jobs:
            yield Reply(ReplyKind.TEXT, say(lang, "jobs_none"))
        for job in jobs:
            fields = {key: job.get(key) for key in ("render_id", "session_id", "created", "output")}
            yield Reply(ReplyKind.TEXT, say(lang, "job_line", **fields), job)

    def _help(self) -> None:
        lang = self._language
        self._view.line(ui(lang, "help_title"))
        for name in COMMANDS:
            self._view.line(f"  /{name:<8} {ui(lang, f'command_help.{name}')}")

    def _set_language(self, argument: str) -> None:
        choice = argument.strip().lower()
        if choice not in ("en", "zh"):
            self._view.line(ui(self._language, "lang_usage"), "class:error")
            return
        self._language = choice
        self._host.set_language(choice)
        self._view.line(ui(choice, "lang_set"), "class:status")

    def _operate(self, start: Callable[[], Iterator[Reply]]) -> None:
        """Run one host operation, showing its replies; Ctrl-C stops it, not the chat."""
        replies: Iterator[Reply] | None = None
        # Renders this operation started and has not yet delivered: what Ctrl-C leaves running.
        running: dict[str, None] = {}
        try:
            with self._interrupter as interrupter, self._watch_keys(interrupter):
                replies = start()
                for reply in replies:
                    self._track_render(reply, running)
                    self._view.show(reply)
                    if interrupter.requested:
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            if self._host.active_render:
                running.setdefault(self._host.active_render)
            self._close(replies)
            key = "cancelled_render" if running else "cancelled"
            render_ids = ", ".join(running)
            self._view.line(ui(self._language, key, render_id=render_ids), "class:status")
        except JiggleError as error:
            self._view.line(error.human(self._language), "class:error")
        except Exception as error:  # the chat outlives a bug; say what it was
            detail = redact(f"{type(error).__name__}: {error}")
            self._view.line(ui(self._language, "unexpected", detail=detail), "class:error")
        finally:
            self._close(replies)
            self._view.close_line()
        self._follow_host_language()

    @staticmethod
    def _track_render(reply: Reply, running: dict[str, None]) -> None:
        render_id = reply.data.get("render_id")
        if not isinstance(render_id, str) or not render_id:
            return
        if str(reply.kind) in ("result", "error"):
            running.pop(render_id, None)
        elif str(reply.kind) in ("progress", "status"):
            running.setdefault(render_id)

    @staticmethod
    def _close(replies: Iterator[Reply] | None) -> None:
        close = getattr(replies, "close", None)
        if callable(close):
            # The host's own clean-up failing must not take the chat down with it.
            with contextlib.suppress(Exception):
                close()

    def _follow_host_language(self) -> None:
        # The host answers in the language the user writes in; our own words follow it.
        self._language = language_of(self._host.language)
