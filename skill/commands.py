"""The non-interactive ``jiggle`` commands: animate, credits, state, upload, export, jobs, resume.

Each handler builds a :class:`~skill.host.SkillHost`, runs one of its calls and prints the
replies: for people (status and progress on stderr, results on stdout) or, with ``--json``, as
one JSON object per line on stdout (``{"event": "status" | "text" | "delta" | "progress" |
"result" | "error" | "suggestion", ...}``), with no colours and no progress bars. The exit
code is the one of the first error (see ``skill.cli``), 0 when there was none.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from skill.cli import EXIT_INTERRUPTED, EXIT_OK
from skill.errors import Cancelled, JiggleError
from skill.protocol import media_extensions
from skill.redact import redact
from skill.replies import Reply, ReplyKind, language_of, language_of_text, say

__all__ = ["animate", "credits", "export", "jobs", "resume", "state", "turn", "upload"]

# What an argument of `jiggle animate` that names media looks like (the rest is the instruction).
_MEDIA_SUFFIXES = media_extensions()

if TYPE_CHECKING:
    from skill.host import SkillHost

    HostCall = Callable[[SkillHost], Iterator[Reply]]


# -- handlers ---------------------------------------------------------------------------------


def animate(args: argparse.Namespace) -> int:
    """``jiggle animate PHOTO... "INSTRUCTION"``: upload, edit, export and download each photo."""
    photos, instruction = split_photos_and_instruction(args.inputs)
    lang = args.lang or language_of_text(instruction or "")
    instruction = instruction_with_flags(
        instruction or say(lang, "default_instruction"),
        lang,
        aspect=args.aspect,
        intensity=args.intensity,
        duration=args.duration,
        title=args.title,
    )
    return _run(
        args,
        lambda host: host.animate(
            photos,
            instruction,
            output=args.output,
            out_dir=args.out_dir,
            preview=args.preview,
        ),
        concurrency=max(1, args.jobs),
    )


def turn(args: argparse.Namespace) -> int:
    """``jiggle say "MESSAGE" [--session ID]``: one turn of the conversation, as in the chat.

    It continues the last project (or ``--session``), so an agent can refine step by step:
    ``jiggle upload cat.jpg``, ``jiggle say "make it bounce"``, ``jiggle say "export"``.
    """
    text = " ".join(args.message)
    return _run(args, lambda host: host.handle(text, session_id=args.session))


def credits(args: argparse.Namespace) -> int:
    """``jiggle credits``: the credit balance."""
    return _run(args, lambda host: host.credits())


def state(args: argparse.Namespace) -> int:
    """``jiggle state [SESSION]``: the timeline of a session (the last one by default)."""
    return _run(args, lambda host: host.state(args.session))


def upload(args: argparse.Namespace) -> int:
    """``jiggle upload FILE... [--session ID]``: files into a session (a new one by default)."""
    return _run(args, lambda host: host.upload(args.files, session_id=args.session))


def export(args: argparse.Namespace) -> int:
    """``jiggle export [SESSION] [-o OUT]``: render a session and download the MP4."""
    return _run(args, lambda host: host.export(args.session, output=args.output))


def jobs(args: argparse.Namespace) -> int:
    """``jiggle jobs``: renders submitted and not downloaded yet, newest first."""
    return _run(args, lambda host: host.jobs())


def resume(args: argparse.Namespace) -> int:
    """``jiggle resume [RENDER_ID] [-o OUT]``: finish a render (the newest by default)."""
    return _run(args, lambda host: host.resume(args.render_id, output=args.output))


# -- the instruction --------------------------------------------------------------------------


def split_photos_and_instruction(inputs: Sequence[str]) -> tuple[list[str], str | None]:
    """``PHOTO... INSTRUCTION``: the last argument is the instruction unless it names a file."""
    items = list(inputs)
    if items and not _looks_like_media(items[-1]):
        return items[:-1], items[-1]
    return items, None


def instruction_with_flags(
    instruction: str,
    lang: str,
    *,
    aspect: str | None = None,
    intensity: str | None = None,
    duration: float | None = None,
    title: str | None = None,
) -> str:
    """The instruction with ``--aspect``, ``--intensity``, ``--duration`` and ``--title`` said
    in words the backend understands, in the instruction's language."""
    parts = [instruction.strip()]
    if aspect:
        parts.append(say(lang, "with_aspect", aspect=aspect))
    if intensity:
        parts.append(say(lang, "with_intensity", intensity=intensity))
    if duration is not None:
        parts.append(say(lang, "with_duration", seconds=f"{duration:g}"))
    if title:
        parts.append(say(lang, "with_title", title=title))
    separator = "" if language_of(lang) == "zh" else " "
    first = parts[0]
    if len(parts) > 1 and first and first[-1] not in ".!?。！？":
        parts[0] = first + ("。" if language_of(lang) == "zh" else ".")
    return separator.join(parts)


def _looks_like_media(item: str) -> bool:
    if item.startswith(("http://", "https://", "file://")):
        return True
    if Path(item).suffix.lower() in _MEDIA_SUFFIXES and "\n" not in item:
        return True
    return Path(item).is_file()


# -- running a host call and printing its replies ---------------------------------------------


def _run(args: argparse.Namespace, call: HostCall, **host_options: Any) -> int:
    from skill.host import SkillHost

    printer: _Printer = _JsonPrinter(sys.stdout) if args.json else _HumanPrinter()
    # --force (animate, export, resume): overwrite; otherwise a file is never replaced.
    host_options.setdefault("force", bool(getattr(args, "force", False)))
    try:
        host = SkillHost(backend=args.backend, language=args.lang, greeting=False, **host_options)
    except JiggleError as exc:
        printer.error(exc, args.lang or "en")
        return exc.exit_code
    with host:
        try:
            for reply in call(host):
                printer.show(reply)
        except KeyboardInterrupt:
            printer.finish_line()
            printer.error(Cancelled(render_id=printer.running_render), host.language)
            return EXIT_INTERRUPTED
        except JiggleError as exc:
            printer.error(exc, host.language)
    printer.finish_line()
    return printer.exit_code


class _Printer:
    """Shows replies; remembers the first error's exit code and the render in flight."""

    def __init__(self) -> None:
        self.exit_code = EXIT_OK
        self.running_render: str | None = None

    def show(self, reply: Reply) -> None:
        render_id = reply.data.get("render_id")
        if reply.kind is ReplyKind.PROGRESS and render_id:
            self.running_render = str(render_id)
        elif reply.kind is ReplyKind.RESULT:
            self.running_render = None
        if reply.kind is ReplyKind.ERROR and self.exit_code == EXIT_OK:
            self.exit_code = int(reply.data.get("exit_code") or 1)
        self._show(reply)

    def error(self, exc: JiggleError, lang: str) -> None:
        data: dict[str, Any] = {"code": exc.code, "exit_code": exc.exit_code}
        render_id = exc.details.get("render_id")
        if render_id:
            data["render_id"] = render_id
        self.show(Reply(ReplyKind.ERROR, exc.human(lang), data))

    def finish_line(self) -> None:
        """End a half-written line (streamed text, a progress bar) before anything else."""

    def _show(self, reply: Reply) -> None:
        raise NotImplementedError


class _JsonPrinter(_Printer):
    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _show(self, reply: Reply) -> None:
        line = json.dumps(reply.to_json(), ensure_ascii=False, default=str)
        self._out.write(redact(line) + "\n")
        self._out.flush()


class _HumanPrinter(_Printer):
    """Words for people: results and chat on stdout, status, progress and errors on stderr."""

    def __init__(self) -> None:
        super().__init__()
        self._out = sys.stdout
        self._err = sys.stderr
        self._streaming = False  # a chat message is being written to stdout
        self._progress_open = False  # a progress line is being rewritten on stderr
        self._live = self._err.isatty()

    def finish_line(self) -> None:
        if self._streaming:
            self._out.write("\n")
            self._out.flush()
            self._streaming = False
        if self._progress_open:
            self._err.write("\n")
            self._err.flush()
            self._progress_open = False

    def _show(self, reply: Reply) -> None:
        kind = reply.kind
        if kind is ReplyKind.DELTA:
            if self._progress_open:
                self.finish_line()
            self._out.write(redact(reply.text))
            self._out.flush()
            self._streaming = True
            return
        if kind is ReplyKind.PROGRESS:
            self._progress(reply.data)
            return
        self.finish_line()
        if kind is ReplyKind.TEXT and not reply.text:
            return  # the end of a streamed message: the line is already finished
        text = redact(reply.text)
        if kind is ReplyKind.ERROR:
            self._err.write(f"error: {text}\n")
        elif kind is ReplyKind.STATUS:
            self._err.write(f"{text}\n")
        else:
            self._out.write(f"{text}\n")
        self._out.flush()
        self._err.flush()

    def _progress(self, data: Any) -> None:
        if not self._live:
            return  # no bars in logs or pipes
        done, total = data.get("done") or 0, data.get("total")
        label = str(data.get("phase") or "")
        if data.get("file"):
            label = f"[{data['file']}] {label}"
        if total:
            percent = min(100, int(done * 100 / total))
            bar = "#" * (percent // 5)
            self._err.write(f"\r{label:<10} [{bar:<20}] {percent:3d}%")
        else:
            self._err.write(f"\r{label:<10} {done // 1024} KB")
        self._err.flush()
        self._progress_open = True
