"""Server-sent events, decoded line by line per the WHATWG rules, with keep-alives visible.

httpx-sse's ``EventSource`` hides comment lines (``: ping``), which the chat stream uses as
heartbeats, and after an ``id:`` field it dispatches a phantom empty event for a blank line
that closes a comment-only block (httpx-sse issue #35), indistinguishable there from a real
empty ``data:`` heartbeat. This decoder reports comments as keep-alives and dispatches a block
only when it had a field, so a phantom is never produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEDecoder", "SSEMessage", "split_lines"]


@dataclass(frozen=True)
class SSEMessage:
    """A dispatched event (``comment`` false), or a comment line (``comment`` true)."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None
    comment: bool = False


class _LineSplitter:
    """Incremental splitting on CRLF, CR or LF only (not str.splitlines' other breaks)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False

    def feed(self, text: str) -> list[str]:
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        if text.endswith("\r"):
            # It may be the first half of a CRLF split across chunks.
            self._pending_cr = True
            text = text[:-1]
        text = self._buffer + text
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        self._buffer = lines.pop()
        return lines

    def flush(self) -> list[str]:
        """Lines left at the end: a final unterminated line is returned as is."""
        lines = [self._buffer] if self._buffer or self._pending_cr else []
        self._buffer = ""
        self._pending_cr = False
        return lines


def split_lines(chunks: Iterable[str]) -> Iterator[str]:
    """Lines of an event stream; the last element is an unterminated remainder, if any."""
    splitter = _LineSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.flush()


class SSEDecoder:
    """Turns lines into :class:`SSEMessage` s; :meth:`pending` is a block left undispatched."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id = ""
        self._retry: int | None = None

    @property
    def _has_data_or_event(self) -> bool:
        return bool(self._data) or bool(self._event)

    def pending(self) -> SSEMessage | None:
        """The block read so far but not dispatched (the stream ended without a blank line)."""
        if not self._has_data_or_event:
            return None
        return SSEMessage(event=self._event or "message", data="\n".join(self._data))

    def decode(self, line: str) -> SSEMessage | None:
        if not line:
            if not self._has_data_or_event:
                # A blank line after only comments (or only id:/retry:): nothing to dispatch.
                return None
            message = SSEMessage(
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._last_id,
                retry=self._retry,
            )
            self._event, self._data, self._retry = "", [], None
            return message
        if line.startswith(":"):
            return SSEMessage(data=line[1:].lstrip(" "), comment=True)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
