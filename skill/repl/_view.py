"""How the host's replies look in the chat.

Streamed text is written piece by piece on one line until the host closes it; progress is one
bar redrawn in place on a styled screen, or a few plain lines (every quarter) on a dumb one;
whatever comes next first ends the open line, so nothing is written over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from skill.repl._screen import Screen
from skill.repl._strings import ui
from skill.replies import Reply

__all__ = ["JsonLinesView", "ReplyView", "View", "format_amount", "progress_bar"]

_BAR_WIDTH = 24
# A plain screen prints a progress line when the fraction crosses one of these.
_PLAIN_STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)
_BYTE_PHASES = frozenset({"upload", "download"})
_PHASES = frozenset({"upload", "render", "download"})


class View(Protocol):
    """What the REPL writes through: replies, its own lines, and the end of an open line."""

    def show(self, reply: Reply) -> None: ...

    def line(self, text: str, style: str = "") -> None: ...

    def close_line(self) -> None: ...


def progress_bar(fraction: float, width: int = _BAR_WIDTH) -> str:
    """``fraction`` (clamped to 0..1) as a bar of ``width`` cells."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def format_amount(amount: float, phase: str) -> str:
    """A count for a progress line: bytes humanised for transfers, a number otherwise."""
    if phase not in _BYTE_PHASES:
        return f"{amount:g}"
    size = float(amount)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class ReplyView:
    """Writes replies on a :class:`Screen`, in the language ``language()`` names."""

    def __init__(self, screen: Screen, language: Callable[[], str]) -> None:
        self._screen = screen
        self._language = language
        self._open: Literal["", "stream", "progress"] = ""
        self._streamed = False
        self._phase = ""
        self._plain_step = -1

    # The REPL's own lines --------------------------------------------------------------

    def line(self, text: str, style: str = "") -> None:
        """A whole line, after closing whatever line is open."""
        self.close_line()
        self._screen.write(text + "\n", style)

    def close_line(self) -> None:
        """End an open stream or progress line, so that the next output starts afresh."""
        if self._open:
            self._screen.write("\n")
        self._open = ""
        self._phase = ""
        self._plain_step = -1

    # Replies -----------------------------------------------------------------------------

    def show(self, reply: Reply) -> None:
        """Write one reply."""
        kind = str(reply.kind)
        if kind == "delta":
            self._delta(reply.text)
        elif kind == "text":
            self._text(reply.text, bool(reply.data.get("end")))
        elif kind == "progress":
            self._progress(reply.data)
        elif kind == "status":
            self.line(reply.text, "class:status")
        elif kind == "error":
            self.line(reply.text, "class:error")
        elif kind == "result":
            path = reply.data.get("path", "")
            self.line(reply.text or ui(self._language(), "saved", path=path), "class:result")
        elif kind == "suggestion":
            self.line(reply.text or ui(self._language(), "suggest_export"), "class:suggestion")
        elif reply.text:
            self.line(reply.text)

    def _delta(self, text: str) -> None:
        if self._open == "progress":
            self.close_line()
        if text:
            self._screen.write(text)
            self._open = "stream"
            self._streamed = True

    def _text(self, text: str, end: bool) -> None:
        if end or not text:
            # The end of a streamed message: its whole text, if repeated, was already shown.
            if not self._streamed and text:
                self.line(text)
            self.close_line()
            self._streamed = False
            return
        self._streamed = False
        self.line(text)

    def _progress(self, data: Mapping[str, Any]) -> None:
        phase = str(data.get("phase") or "")
        done = _number(data.get("done")) or 0.0
        total = _number(data.get("total"))
        if phase != self._phase or self._open == "stream":
            self.close_line()
            self._phase = phase
        label = ui(self._language(), f"phase_{phase}") if phase in _PHASES else phase
        fraction = min(done / total, 1.0) if total else None
        if self._screen.styled:
            if fraction is None:
                text = f"{label:<8} {format_amount(done, phase)}"
            else:
                text = f"{label:<8} {progress_bar(fraction)} {fraction:>4.0%}"
            self._screen.redraw_line(text, "class:progress")
            self._open = "progress"
            if fraction is not None and fraction >= 1.0:
                self.close_line()
            return
        # Plain: a whole line when the phase starts and at each quarter, never a redraw.
        step = 0 if fraction is None else sum(fraction >= s for s in _PLAIN_STEPS) - 1
        if step > self._plain_step:
            self._plain_step = step
            shown = format_amount(done, phase) if fraction is None else f"{fraction:.0%}"
            self._screen.write(f"{label} {shown}\n")


class JsonLinesView:
    """``--json``: every reply, and every line of the REPL's own, as one JSON object a line.

    The same events as the other commands' ``--json`` (``Reply.to_json``); the REPL's own
    lines are ``status`` events, or ``error`` ones for what went wrong.
    """

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._events = {"class:error": "error", "class:status": "status", "class:hint": "status"}

    def line(self, text: str, style: str = "") -> None:
        event = {"event": self._events.get(style, "text"), "text": text}
        self._screen.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")

    def close_line(self) -> None:
        """Nothing is ever left open: each event is a whole line."""

    def show(self, reply: Reply) -> None:
        self._screen.write(json.dumps(reply.to_json(), ensure_ascii=False, default=str) + "\n")
