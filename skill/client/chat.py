"""The chat stream's frames, turned into :class:`ChatEvent` s.

Accepts what nemo-api.md §3 documents: ADK events (camelCase or snake_case keys), the
simplified ``{"type": ...}`` frames, heartbeats in every form (an SSE comment, an empty
``data:``, ``event: heartbeat``, ``{"type":"heartbeat"}``) and in-stream errors
(``{"error": ...}``, ``errorCode``/``errorMessage``, and current ADK servers' event with
``"author": "system"`` whose text starts with ``Error:``). ADK streams text twice, as
``partial`` deltas and then once more in full; :class:`ChatInterpreter` yields each piece of
text once.

It also holds how long a turn may take (docs/client.md): a stream silent for
``stream_idle_timeout`` (600 s, ``$JIGGLE_STREAM_IDLE_TIMEOUT``) counts as dropped, and a whole
turn is capped at ``turn_timeout`` (900 s, ``$JIGGLE_TURN_TIMEOUT``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Mapping
from typing import Any

from skill.client._sse import SSEMessage
from skill.client.models import ChatEvent
from skill.errors import InputError, JiggleError, StreamError, error_for_api_code
from skill.protocol import ApiCode

__all__ = [
    "DEFAULT_STREAM_IDLE_TIMEOUT",
    "DEFAULT_TURN_TIMEOUT",
    "STREAM_IDLE_TIMEOUT_ENV",
    "TURN_TIMEOUT_ENV",
    "ChatInterpreter",
    "seconds_setting",
]

# NemoVideo's skill: generation takes 100-300 s; "10 min heartbeats-only" is its timeout and
# its curl waits at most 900 s (--max-time 900). See docs/_sources_chat.md.
DEFAULT_STREAM_IDLE_TIMEOUT = 600.0
DEFAULT_TURN_TIMEOUT = 900.0
STREAM_IDLE_TIMEOUT_ENV = "JIGGLE_STREAM_IDLE_TIMEOUT"
TURN_TIMEOUT_ENV = "JIGGLE_TURN_TIMEOUT"

_log = logging.getLogger("skill.client")
_HEARTBEAT = ChatEvent(kind="heartbeat")
# The business codes a stream error may carry that have a class of their own.
_TYPED_CODES = frozenset(
    {
        ApiCode.TOKEN_EXPIRED,
        ApiCode.SESSION_NOT_FOUND,
        ApiCode.OUT_OF_CREDITS,
        ApiCode.UNSUPPORTED_FILE,
        ApiCode.FILE_TOO_LARGE,
    }
)


def seconds_setting(given: float | None, env: str, default: float) -> float:
    """``given``, else ``$env``, else ``default``: a positive number of seconds; a bad value
    is an :class:`InputError` naming where it came from."""
    source = "the argument" if given is not None else env
    if given is None:
        raw = os.environ.get(env, "").strip()
        if not raw:
            return default
        try:
            given = float(raw)
        except ValueError:
            raise InputError(f"{env}={raw!r} is not a number of seconds") from None
    if not math.isfinite(given) or given <= 0:
        raise InputError(f"{source} {env} must be a positive number of seconds, not {given!r}")
    return float(given)


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = mapping.get(camel)
    return value if value is not None else mapping.get(snake)


class ChatInterpreter:
    """Feed it SSE messages in order; it returns the chat events each one carries."""

    def __init__(self) -> None:
        self._partial_text = ""
        # A model message has been shown in full: the next one starts on a new line, so two
        # messages of one turn ("On it..." then "Done! ...") never run together.
        self._message_shown = False

    def feed(self, message: SSEMessage) -> list[ChatEvent]:
        if message.comment or message.event == "heartbeat" or not message.data.strip():
            return [_HEARTBEAT]
        try:
            frame = json.loads(message.data)
        except ValueError:
            # One bad frame must not end the turn; it is logged (without its content) and skipped.
            _log.warning("skipped a malformed chat frame (%d bytes)", len(message.data))
            return []
        if not isinstance(frame, dict):
            return []
        if message.event == "error":
            return [self._error(frame)]
        return self._interpret(frame)

    def _interpret(self, frame: Mapping[str, Any]) -> list[ChatEvent]:
        kind = frame.get("type")
        if kind == "heartbeat":
            return [_HEARTBEAT]
        if kind == "error" or _is_error(frame):
            return [self._error(frame)]
        system_error = _system_error(frame)
        if system_error is not None:
            return [self._error({"errorMessage": system_error})]
        if kind == "text":
            content = frame.get("content", frame.get("text"))
            return self._text(str(content or ""), partial=bool(frame.get("partial")), final=False)
        if kind == "tool_call":
            return [_tool("tool_call", frame, frame.get("args") or frame.get("arguments"))]
        if kind == "tool_result":
            result = frame.get("result", frame.get("response", frame.get("content")))
            return [_tool("tool_result", frame, result)]
        content = frame.get("content")
        if isinstance(content, dict):
            return self._adk(frame, content)
        return []

    def _adk(self, frame: Mapping[str, Any], content: Mapping[str, Any]) -> list[ChatEvent]:
        partial = bool(frame.get("partial"))
        final = bool(_get(frame, "turnComplete", "turn_complete"))
        events: list[ChatEvent] = []
        texts: list[str] = []
        parts = content.get("parts")
        for part in parts if isinstance(parts, list) else []:
            # JSON gives plain dicts; isinstance(dict) is much cheaper than the Mapping ABC.
            if not isinstance(part, dict) or part.get("thought"):
                continue  # thoughts are the model's scratchpad, never shown
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
                continue
            call = _get(part, "functionCall", "function_call")
            if isinstance(call, Mapping):
                events.append(_tool("tool_call", call, call.get("args")))
            response = _get(part, "functionResponse", "function_response")
            if isinstance(response, Mapping):
                events.append(_tool("tool_result", response, response.get("response")))
        if texts:
            events[:0] = self._text("".join(texts), partial=partial, final=final)
        elif final:
            events.append(ChatEvent(kind="text", text="", final=True))
        meta = _get(frame, "customMetadata", "custom_metadata")
        if isinstance(meta, dict) and meta:
            if events and events[-1].kind == "text":
                events[-1] = dataclasses.replace(events[-1], meta=meta)
            else:
                events.append(ChatEvent(kind="text", text="", final=final, meta=meta))
        return events

    def _text(self, text: str, *, partial: bool, final: bool) -> list[ChatEvent]:
        if partial:
            self._partial_text += text
            return [ChatEvent(kind="text", text=self._separated(text))] if text else []
        shown, self._partial_text = self._partial_text, ""
        if shown:
            # The full text after its deltas: show only what the deltas did not.
            if text.strip() == shown.strip():
                text = ""
            elif text.startswith(shown):
                text = text[len(shown) :]
        event = ChatEvent(kind="text", text=self._separated(text), final=final)
        # Only a full text that closes its deltas marks a message's end for sure: servers that
        # send plain (non-partial) chunks mean them to be read as one running text.
        self._message_shown = self._message_shown or bool(shown.strip())
        if not text and not final:
            return []
        return [event]

    def _separated(self, text: str) -> str:
        """``text``, on a new line if it opens a message after one already shown."""
        if self._message_shown and text.strip():
            self._message_shown = False
            return "\n" + text.lstrip("\n")
        return text

    def _error(self, frame: Mapping[str, Any]) -> ChatEvent:
        raw = frame.get("error")
        code: Any = _get(frame, "errorCode", "error_code")
        message: Any = _get(frame, "errorMessage", "error_message")
        if isinstance(raw, Mapping):
            code = code or raw.get("code")
            message = message or raw.get("message") or raw.get("msg")
        elif isinstance(raw, str):
            message = message or raw
        message = str(message or frame.get("message") or frame.get("content") or code or "")
        error = _typed_error(code, message)
        return ChatEvent(kind="error", text=error.human("en"), error=error)


def _is_error(frame: Mapping[str, Any]) -> bool:
    if frame.get("error"):
        return True
    return bool(
        _get(frame, "errorCode", "error_code") or _get(frame, "errorMessage", "error_message")
    )


def _system_error(frame: Mapping[str, Any]) -> str | None:
    """The message of a current ADK server's error event (``author: "system"``, text
    ``Error: ...``), else None; a system event without that prefix is not an error."""
    if frame.get("author") != "system":
        return None
    content = frame.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts = [
        part["text"]
        for part in (parts if isinstance(parts, list) else [])
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    ]
    text = "".join(texts).strip()
    if not text.lower().startswith("error:"):
        return None
    return text[len("error:") :].strip() or "unknown error"


def _typed_error(code: Any, message: str) -> JiggleError:
    """A known business code (1001, 2001…) becomes its own class; anything else StreamError."""
    number: int | None = None
    if isinstance(code, int) and not isinstance(code, bool):
        number = code
    elif isinstance(code, str) and code.isdigit():
        number = int(code)
    if number in _TYPED_CODES:
        return error_for_api_code(number, None, message or None)
    return StreamError(message or "unknown error", api_code=number, error_code=code)


def _tool(kind: str, source: Mapping[str, Any], payload: Any) -> ChatEvent:
    args = payload if isinstance(payload, Mapping) else ({"value": payload} if payload else {})
    tool_id = source.get("id") or source.get("call_id")
    return ChatEvent(
        kind="tool_call" if kind == "tool_call" else "tool_result",
        tool_name=str(source.get("name") or source.get("tool") or ""),
        tool_id=str(tool_id) if tool_id else None,
        tool_args=args,
    )
