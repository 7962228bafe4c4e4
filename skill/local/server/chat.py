"""The chat stream of ``/run_sse``: ADK-shaped events, heartbeats, and the stream faults.

A turn streams: a heartbeat at once, heartbeats while the director "thinks", then for an edit
turn the preface (partial deltas, then the whole text), a ``functionCall`` and its
``functionResponse`` per edit, and the closing text (deltas, then the whole text with
``turnComplete``); under the ``sse-silent`` fault an edit turn sends only the tool events.
The stream then closes. Under ``sse-error`` the turn ends in an event with
``errorCode``/``errorMessage``; under ``sse-system-error`` in the event current ADK servers send
when a run fails (``"author": "system"``, text ``Error: <message>``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skill.local.server.director import Edit
from skill.local.server.faults import FaultRule

__all__ = ["HEARTBEAT_STYLES", "IntentionalCut", "Turn", "stream_turn", "text_deltas"]

HEARTBEAT_STYLES: dict[str, bytes] = {
    "json": b'data: {"type":"heartbeat"}\n\n',
    "comment": b": ping\n\n",
    "empty": b"data:\n\n",
    "event": b'event: heartbeat\ndata: {"type":"heartbeat"}\n\n',
}
# A frame that is not JSON, for the sse-malformed fault.
_MALFORMED = b'data: {"id": "broken", "content": {"role": "model", "parts": [{"text": \n\n'
_DEFAULT_CUT_AFTER = 2
_DEFAULT_STALL = 30.0
_WORDS = re.compile(r"\S+\s*|\s+")
_CJK_CHUNK = 6
_WORDS_PER_DELTA = 4


class IntentionalCut(Exception):
    """Raised inside a response to drop the connection on purpose (a fault, not a bug)."""


@dataclass(frozen=True)
class Turn:
    """Everything a chat turn will stream, decided before the first byte goes out."""

    edits: Sequence[Edit]
    results: Sequence[Mapping[str, Any]]
    preface: str | None  # None: a turn without text
    closing: str | None
    error: str | None = None  # sse-error: this message, then the stream closes
    system_error: bool = False  # the error as ADK's author "system" "Error: ..." event
    # What the director made of the message, on the closing event's customMetadata (an ADK
    # event field): a client can tell "not understood" from "done" without reading prose.
    meta: Mapping[str, Any] | None = None


def text_deltas(text: str) -> list[str]:
    """``text`` in a few pieces, as a model streams it; the pieces join back to ``text``."""
    if re.search(r"[\u3400-\u9fff]", text):
        return [text[i : i + _CJK_CHUNK] for i in range(0, len(text), _CJK_CHUNK)]
    words = _WORDS.findall(text)
    return [
        "".join(words[i : i + _WORDS_PER_DELTA]) for i in range(0, len(words), _WORDS_PER_DELTA)
    ]


def _frame(event: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n\n"


class _Events:
    """Builds the ADK events of one invocation."""

    def __init__(self) -> None:
        self.invocation = f"e-{uuid.uuid4()}"

    def make(self, content: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": secrets.token_hex(4),
            "invocationId": self.invocation,
            "author": "nemo_agent",
            "timestamp": time.time(),
        }
        if content is not None:
            event["content"] = content
        event.update(extra)
        return event

    def text(
        self,
        text: str,
        *,
        partial: bool,
        complete: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        content = {"role": "model", "parts": [{"text": text}]}
        if complete:
            extra = {"customMetadata": dict(meta)} if meta else {}
            return self.make(content, partial=False, turnComplete=True, **extra)
        return self.make(content, partial=partial)

    def speech(
        self, text: str, *, complete: bool, meta: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        for delta in text_deltas(text):
            yield self.text(delta, partial=True)
        yield self.text(text, partial=False, complete=complete, meta=meta)

    def tool(self, call_id: str, edit: Edit, result: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        yield self.make(
            {
                "role": "model",
                "parts": [{"functionCall": {"id": call_id, "name": edit.name, "args": edit.args}}],
            }
        )
        yield self.make(
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "id": call_id,
                            "name": edit.name,
                            "response": dict(result),
                        }
                    }
                ],
            }
        )


async def _sleep(closing: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``; ``True`` when the server started shutting down meanwhile."""
    if seconds <= 0:
        return closing.is_set()
    try:
        await asyncio.wait_for(closing.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _items(
    turn: Turn, *, delay: float, interval: float, beats: Iterator[bytes], closing: asyncio.Event
) -> AsyncIterator[tuple[str, bytes]]:
    """``("beat", frame)`` and ``("event", frame)`` in stream order, with the waits."""
    yield "beat", next(beats)
    waited = 0.0
    while waited < delay:
        step = min(max(interval, 0.001), delay - waited)
        if await _sleep(closing, step):
            return
        waited += step
        yield "beat", next(beats)
    events = _Events()
    if turn.error is not None:
        if turn.preface:
            yield "event", _frame(events.text(text_deltas(turn.preface)[0], partial=True))
        if turn.system_error:
            content = {"role": "model", "parts": [{"text": f"Error: {turn.error}"}]}
            yield "event", _frame({**events.make(content), "author": "system"})
        else:
            yield "event", _frame(events.make(errorCode="AGENT_ERROR", errorMessage=turn.error))
        return
    if turn.preface is not None:
        for event in events.speech(turn.preface, complete=False):
            yield "event", _frame(event)
    for index, (edit, result) in enumerate(zip(turn.edits, turn.results, strict=True)):
        call_id = f"fc-{index + 1}-{secrets.token_hex(3)}"
        for event in events.tool(call_id, edit, result):
            yield "event", _frame(event)
        await asyncio.sleep(0)
    if turn.closing is not None:
        for event in events.speech(turn.closing, complete=True, meta=turn.meta):
            yield "event", _frame(event)


async def stream_turn(
    turn: Turn,
    *,
    faults: Sequence[FaultRule],
    closing: asyncio.Event,
    chat_delay: float,
    heartbeat_interval: float,
    heartbeat_style: str = "mixed",
) -> AsyncIterator[bytes]:
    """The bytes of the SSE response for ``turn``, with the stream faults applied."""
    names = {rule.name: rule for rule in faults}
    cut = names.get("sse-cut")
    cut_after = int(cut.value) if cut is not None and cut.value is not None else _DEFAULT_CUT_AFTER
    stall = names.get("sse-stall")
    styles = (
        list(HEARTBEAT_STYLES.values())
        if heartbeat_style == "mixed"
        else [HEARTBEAT_STYLES[heartbeat_style]]
    )
    beats = itertools.cycle(styles)
    sent = 0
    async for kind, frame in _items(
        turn, delay=chat_delay, interval=heartbeat_interval, beats=beats, closing=closing
    ):
        if closing.is_set():
            return
        if kind == "event":
            if cut is not None and sent >= cut_after:
                yield frame[: len(frame) // 2]
                raise IntentionalCut("sse-cut")
            sent += 1
        yield frame
        if kind == "event" and sent == 1:
            if "sse-malformed" in names:
                yield _MALFORMED
            if stall is not None:
                seconds = stall.value if stall.value is not None else _DEFAULT_STALL
                if await _sleep(closing, seconds):
                    return
    if cut is not None:  # fewer events than the cut point: cut inside one more frame
        yield b'data: {"id": "'
        raise IntentionalCut("sse-cut")
