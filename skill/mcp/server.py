"""``jiggle mcp``: the skill as MCP tools, on stdio.

Each tool is a thin adapter over :class:`~skill.mcp.api.Jiggle` (one SkillHost per server
process, created on the first tool call and closed when the client hangs up): it checks its
arguments, runs the call in a worker thread, and returns one structured result. Progress goes
out as MCP progress notifications when the client sent a progress token; a failure is an error
result (``isError``) whose structured content holds the stable ``code`` and the human message,
never a traceback or a token. stdout is the protocol: logging goes to stderr (and the SDK points
file descriptor 1 at stderr while it serves, so a stray print cannot break a frame).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import Field

from skill import paths
from skill._version import __version__
from skill.mcp.api import (
    AnimateResult,
    CallFailed,
    ChatResult,
    CreditsResult,
    ExportResult,
    Jiggle,
    JobsResult,
    StateResult,
    UploadResult,
)
from skill.redact import install_log_redaction, redact
from skill.replies import Reply, ReplyKind

__all__ = ["build_server", "run"]

_log = logging.getLogger(__name__)
_ResultT = TypeVar("_ResultT")

_INSTRUCTIONS = (
    "Turns still photos into looping jiggle-and-bounce 1080p MP4s. For the main job call "
    "`animate` with absolute photo paths and an instruction; it returns the saved MP4s. Use "
    "`chat` to refine a project by conversation (it may suggest `export`, which spends "
    "credits: ask the user first), `state` to see the timeline, `export` to render it, "
    "`jobs` and `resume` to finish a render that was interrupted."
)

# Where each phase of a call sits on the 0-100 progress scale, per kind of call.
_Spans = dict[str, tuple[float, float]]
_MAKE_SPANS: _Spans = {
    "upload": (0.0, 10.0),
    "chat": (10.0, 20.0),
    "render": (20.0, 90.0),
    "download": (90.0, 100.0),
}
_UPLOAD_SPANS: _Spans = {"upload": (0.0, 100.0)}
_EXPORT_SPANS: _Spans = {"render": (0.0, 90.0), "download": (90.0, 100.0)}
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def run(args: argparse.Namespace) -> int:
    """The ``jiggle mcp`` handler: serve until the client closes stdin."""
    _log_to_stderr()
    api = Jiggle(args.backend, output_dir=_default_output_dir())
    try:
        build_server(api).run("stdio")
    finally:
        api.close()
    return 0


def build_server(api: Jiggle) -> MCPServer[Any]:
    """An MCP server whose tools call ``api`` (which the caller closes)."""
    server: MCPServer[Any] = MCPServer(
        "jiggle", instructions=_INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    @server.tool(title="Animate photos into jiggle videos")
    async def animate(
        photos: Annotated[
            list[str],
            Field(min_length=1, description="Photos to animate: absolute paths or https URLs."),
        ],
        instruction: Annotated[
            str,
            Field(
                description="What the motion should be, in the user's words, e.g. 'make it "
                "bounce gently'. Empty: a subtle looping jiggle."
            ),
        ],
        ctx: Context,
        output_dir: Annotated[
            str | None, Field(description="Folder for the MP4s (default: the server's).")
        ] = None,
        aspect: Literal["9:16", "16:9", "1:1"] | None = None,
        intensity: Literal["subtle", "medium", "strong"] | None = None,
        duration: Annotated[
            float | None, Field(gt=0, le=60, description="Clip length in seconds.")
        ] = None,
        title: Annotated[str | None, Field(description="A title burned into the video.")] = None,
    ) -> Annotated[CallToolResult, AnimateResult]:
        """Animate each photo into its own looping 1080p MP4 (upload, edit, render, download).

        Returns the saved videos (absolute path, width, height, duration in seconds) and, for a
        batch, the photos that failed. Exporting spends credits.
        """
        return await _call(
            ctx,
            _MAKE_SPANS,
            len(photos),
            lambda hook: api.animate(
                photos,
                instruction,
                output_dir=output_dir,
                aspect=aspect,
                intensity=intensity,
                duration=duration,
                title=title,
                on_reply=hook,
            ),
            _videos_text,
        )

    @server.tool(title="Talk to the video editor")
    async def chat(
        message: Annotated[str, Field(min_length=1, description="The user's message.")],
        ctx: Context,
        attachments: Annotated[
            list[str] | None, Field(description="Files to send with it: absolute paths or URLs.")
        ] = None,
    ) -> Annotated[CallToolResult, ChatResult]:
        """Send one message to the project's editor (e.g. 'make the bounce stronger').

        Returns the assistant's text; `suggestion` is "export" when it offers to render (that
        spends credits: ask the user before calling `export`); `summary` is the timeline when
        the turn had no text.
        """
        return await _call(
            ctx,
            _MAKE_SPANS,
            1,
            lambda hook: api.chat(message, attachments or (), on_reply=hook),
            _chat_text,
        )

    @server.tool(title="Upload photos, clips or sounds")
    async def upload(
        files: Annotated[
            list[str], Field(min_length=1, description="Absolute paths or https URLs.")
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, UploadResult]:
        """Upload files: each photo opens its own project; sounds join the open project."""
        return await _call(
            ctx, _UPLOAD_SPANS, len(files), lambda hook: api.upload(files, on_reply=hook)
        )

    @server.tool(title="Credit balance", annotations=_READ_ONLY)
    async def credits(ctx: Context) -> Annotated[CallToolResult, CreditsResult]:
        """The credit balance: available, reserved by running renders (frozen), total."""
        return await _call(ctx, {}, 1, lambda hook: api.credits())

    @server.tool(title="Project timeline", annotations=_READ_ONLY)
    async def state(ctx: Context) -> Annotated[CallToolResult, StateResult]:
        """The timeline of the open project(s): a one-line summary and the tracks."""
        return await _call(ctx, {}, 1, lambda hook: api.state(), _state_text)

    @server.tool(title="Render and download")
    async def export(
        ctx: Context,
        output: Annotated[
            str | None, Field(description="The MP4 path to write (one open project).")
        ] = None,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Render the open project(s) and download the MP4(s). Spends credits."""
        return await _call(
            ctx, _EXPORT_SPANS, 1, lambda hook: api.export(output, on_reply=hook), _videos_text
        )

    @server.tool(title="Unfinished renders", annotations=_READ_ONLY)
    async def jobs(ctx: Context) -> Annotated[CallToolResult, JobsResult]:
        """Renders submitted and not downloaded yet (interrupted), newest first."""
        return await _call(ctx, {}, 1, lambda hook: api.jobs())

    @server.tool(title="Finish an interrupted render")
    async def resume(
        ctx: Context,
        render_id: Annotated[
            str | None, Field(description="Which render (default: the newest from `jobs`).")
        ] = None,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Wait for a render left running and download its MP4."""
        return await _call(
            ctx,
            _EXPORT_SPANS,
            1,
            lambda hook: api.resume(render_id, on_reply=hook),
            _videos_text,
        )

    return server


# -- one tool call ----------------------------------------------------------------------------


class _Stopped(Exception):
    """The client cancelled the request: stop the host call at its next reply."""


async def _call(
    ctx: Context,
    spans: _Spans,
    items: int,
    work: Callable[[Callable[[Reply], None]], _ResultT],
    describe: Callable[[_ResultT], str] | None = None,
) -> CallToolResult:
    """Run ``work`` in a worker thread, forwarding its replies as progress, and turn what it
    returns (or raises) into a tool result."""
    stop = threading.Event()
    meter = _ProgressMeter(spans, items)

    def hook(reply: Reply) -> None:
        if stop.is_set():
            raise _Stopped()
        update = meter.update(reply)
        if update is None:
            return
        progress, message = update
        try:
            anyio.from_thread.run(ctx.report_progress, progress, 100.0, message)
        except Exception:  # the request may be gone; the call itself goes on
            _log.debug("progress notification not sent", exc_info=True)

    try:
        result = await anyio.to_thread.run_sync(lambda: work(hook), abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        stop.set()
        raise
    except CallFailed as exc:
        return _error_result(exc.code, exc.message, exc.details)
    except _Stopped:
        return _error_result("cancelled", "The request was cancelled.", {})
    except Exception as exc:  # a bug: say so without a traceback, keep serving
        _log.exception("unexpected failure in an MCP tool")
        return _error_result(
            "bug",
            f"Something went wrong inside jiggle ({type(exc).__name__}). Please report it; "
            "the server keeps running.",
            {},
        )
    structured = dataclasses.asdict(result)  # type: ignore[call-overload]
    text = describe(result) if describe is not None else ""
    content: list[ContentBlock] = [
        TextContent(type="text", text=json.dumps(structured, ensure_ascii=False))
    ]
    if text:
        content.insert(0, TextContent(type="text", text=text))
    return CallToolResult(content=content, structured_content=structured)


def _error_result(code: str, message: str, details: dict[str, Any]) -> CallToolResult:
    extra = {
        key: value
        for key, value in details.items()
        if key in ("render_id", "register_url", "retry_after", "file", "path")
        and isinstance(value, str | int | float)
    }
    structured = {"code": code, "message": redact(message), **extra}
    return CallToolResult(
        content=[TextContent(type="text", text=f"{structured['message']} (code: {code})")],
        structured_content=structured,
        is_error=True,
    )


class _ProgressMeter:
    """Replies to a 0-100 figure that only rises (as MCP asks), with the latest status line.

    Each item (a photo of a batch, tagged ``file``) moves through the phases of ``spans``;
    the figure is the mean over ``items``. A status line with no progress nudges the figure up
    by a hair, so that "⏳ Still working..." reaches the client too.
    """

    _NUDGE = 0.01

    def __init__(self, spans: _Spans, items: int) -> None:
        self._spans = spans
        self._items = max(1, items)
        self._done: dict[str, float] = {}
        self._sent = -1.0
        self._message: str | None = None

    def update(self, reply: Reply) -> tuple[float, str | None] | None:
        if not self._spans:
            return None
        item = str(reply.data.get("file") or "")
        if reply.kind is ReplyKind.STATUS and reply.text:
            self._message = reply.text
            return self._send(max(self._figure(), self._sent + self._NUDGE))
        if reply.kind is ReplyKind.PROGRESS:
            phase = str(reply.data.get("phase") or "")
            done, total = reply.data.get("done"), reply.data.get("total")
            fraction = done / total if isinstance(done, int) and isinstance(total, int) else 0.0
            self._reach(item, phase, min(1.0, max(0.0, fraction)))
        elif reply.kind is ReplyKind.TEXT and ("end" in reply.data or "changes" in reply.data):
            self._reach(item, "chat", 1.0)
        elif reply.kind in (ReplyKind.RESULT, ReplyKind.ERROR):
            self._done[item] = 100.0
        else:
            return None
        figure = self._figure()
        return self._send(figure) if figure >= self._sent + 0.5 or figure >= 100.0 else None

    def _reach(self, item: str, phase: str, fraction: float) -> None:
        span = self._spans.get(phase)
        if span is not None:
            low, high = span
            self._done[item] = max(self._done.get(item, 0.0), low + (high - low) * fraction)

    def _figure(self) -> float:
        return min(100.0, sum(self._done.values()) / max(self._items, len(self._done)))

    def _send(self, figure: float) -> tuple[float, str | None] | None:
        if figure <= self._sent:
            return None
        self._sent = figure
        return round(figure, 2), self._message


# -- what each result says in words -----------------------------------------------------------


def _videos_text(result: AnimateResult | ExportResult) -> str:
    return "\n".join([*result.messages, *(f.message for f in result.failures)])


def _chat_text(result: ChatResult) -> str:
    return "\n".join(part for part in (result.text, *result.messages) if part)


def _state_text(result: StateResult) -> str:
    return "\n".join([*(s.summary for s in result.sessions), *result.messages])


# -- the process ------------------------------------------------------------------------------


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    install_log_redaction()


def _default_output_dir() -> Path:
    """``$JIGGLE_OUTPUT_DIR``; else the working directory when it is writable (an MCP client
    may start the server in ``/``); else ``<data dir>/videos``."""
    chosen = os.environ.get("JIGGLE_OUTPUT_DIR")
    if chosen:
        return Path(chosen).expanduser()
    here = Path.cwd()
    if here != Path(here.anchor) and os.access(here, os.W_OK):
        return here
    return paths.data_dir() / "videos"
