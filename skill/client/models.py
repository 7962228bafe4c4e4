"""What the client hands back: small typed records read tolerantly from the API's JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from skill.errors import JiggleError
from skill.timeline import Timeline, TimelineChange

__all__ = [
    "ChatEvent",
    "ChatEventKind",
    "Credits",
    "DownloadProgress",
    "MediaInfo",
    "RenderJob",
    "RenderProgress",
    "RenderStatus",
    "Session",
    "SessionState",
    "TurnChanges",
    "UploadProgress",
]

ChatEventKind = Literal["text", "tool_call", "tool_result", "heartbeat", "error"]
RenderStatus = Literal["pending", "rendering", "completed", "failed", "cancelled"]

UploadProgress = Callable[[int, int], None]
"""``progress(sent_bytes, total_bytes)`` while files upload."""
DownloadProgress = Callable[[int, int | None], None]
"""``progress(received_bytes, total_bytes_or_None)`` while the video downloads."""
RenderProgress = Callable[["RenderJob"], None]
"""``progress(job)`` after the render is submitted and after every poll."""


@dataclass
class Session:
    """An editing session. Mutable on purpose: when the server has lost the session (1002) the
    client replaces it and updates this object in place, so ``session.id`` is always current;
    ``previous_ids`` keeps the ids it had before.
    """

    id: str
    task_id: str | None = None
    language: str = "en"
    user_id: str | None = None
    previous_ids: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class ChatEvent:
    """One thing the chat stream said.

    ``kind`` "text": ``text`` is the new text only (a delta), never text shown before.
    "tool_call" / "tool_result": ``tool_name``, ``tool_id`` and ``tool_args`` (the call's
    arguments or the result's response); internal, not for the user. "heartbeat": the server is
    still working. "error": ``text`` is the message and ``error`` the typed exception.
    ``final`` is true on the event that completes the turn (ADK ``turnComplete``).
    """

    kind: ChatEventKind
    text: str = ""
    tool_name: str | None = None
    tool_id: str | None = None
    tool_args: Mapping[str, Any] | None = None
    error: JiggleError | None = None
    final: bool = False
    # The event's ADK ``customMetadata``. The local backend says there what it made of the
    # message: {"jiggle": {"turn": "edit" | "export" | "chat" | "cannot" | "question" |
    # "unknown", "understood": bool}}. The cloud may send nothing.
    meta: Mapping[str, Any] | None = None

    @property
    def understood(self) -> bool | None:
        """False when the backend said it did not act on the message (not understood, out of
        scope, or a question back); None when it did not say."""
        turn = (self.meta or {}).get("jiggle")
        value = turn.get("understood") if isinstance(turn, Mapping) else None
        return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class MediaInfo:
    """A file the session now holds (``url`` is where the service stored it)."""

    filename: str
    file_type: str | None = None
    url: str | None = None
    width: int | None = None
    height: int | None = None
    hash: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> MediaInfo:
        return cls(
            filename=str(raw.get("filename") or raw.get("name") or raw.get("file_name") or ""),
            file_type=_opt_str(raw.get("file_type") or raw.get("type")),
            url=_opt_str(raw.get("cdn_url") or raw.get("url") or raw.get("file_url")),
            width=_opt_int(raw.get("width")),
            height=_opt_int(raw.get("height")),
            hash=_opt_str(raw.get("hash")),
        )


@dataclass(frozen=True)
class Credits:
    """The credit balance: ``available`` to spend, ``frozen`` held by running jobs."""

    available: int
    frozen: int
    total: int

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Credits:
        available = _opt_int(raw.get("available", raw.get("balance"))) or 0
        frozen = _opt_int(raw.get("frozen")) or 0
        total = _opt_int(raw.get("total"))
        return cls(available=available, frozen=frozen, total=total or available + frozen)


@dataclass(frozen=True)
class SessionState:
    """The latest state of a session: the raw ``draft``, its ``timeline``, media and canvas."""

    session_id: str
    task_id: str | None
    draft: Mapping[str, Any]
    timeline: Timeline
    media: tuple[Mapping[str, Any], ...]
    canvas: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], session_id: str) -> SessionState:
        state = raw.get("state")
        inner: Mapping[str, Any] = state if isinstance(state, Mapping) else raw
        draft = inner.get("draft")
        draft_map: Mapping[str, Any] = draft if isinstance(draft, Mapping) else {}
        media: list[Mapping[str, Any]] = []
        for key in ("video_infos", "generated_media"):
            value = inner.get(key)
            if isinstance(value, list):
                media.extend(item for item in value if isinstance(item, Mapping))
        canvas = inner.get("canvas_config")
        return cls(
            session_id=str(raw.get("session_id") or session_id),
            task_id=_opt_str(raw.get("task_id")),
            draft=draft_map,
            timeline=Timeline.from_draft(draft_map),
            media=tuple(media),
            canvas=canvas if isinstance(canvas, Mapping) else {},
            raw=raw,
        )


@dataclass(frozen=True)
class TurnChanges:
    """What a chat turn did to the project: the state now and the changes since before it."""

    state: SessionState
    changes: tuple[TimelineChange, ...]

    def summary(self, lang: str = "en") -> str:
        """The changes in words, or the whole timeline when nothing is known to have changed."""
        if self.changes:
            return "; ".join(change.describe(lang) for change in self.changes)
        return self.state.timeline.summary(lang)


@dataclass
class RenderJob:
    """A render on the server. ``id`` is the only handle on it (kept in the JobStore)."""

    id: str
    session_id: str
    status: RenderStatus = "pending"
    progress: int = 0
    output_url: str | None = None
    output_size: int | None = None
    duration: float | None = None
    reason: str | None = None
    # Where the video was to be saved, chosen at export (``jiggle resume`` saves it there, and
    # finds the partial download beside it). Local only: never read from a server's answer.
    output_path: str | None = None
    # The account that owns the render: its user id and the token's id (a hash, see
    # skill.client.auth.token_id; never the token). Polls and downloads use that account's
    # token. Local only: never read from a server's answer.
    owner_user_id: str | None = None
    owner_token_id: str | None = None

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def update_from_api(self, raw: Mapping[str, Any]) -> RenderJob:
        """Fold a submit or poll response (any documented variant) into this job."""
        new_id = raw.get("id") or raw.get("taskId") or raw.get("task_id") or raw.get("render_id")
        if new_id:
            self.id = str(new_id)
        status = str(raw.get("status") or self.status).lower()
        self.status = _STATUS_ALIASES.get(status, "rendering")  # unknown words mean "not yet"
        progress = _opt_int(raw.get("progress"))
        if progress is not None:
            self.progress = max(0, min(100, progress))
        output = raw.get("output")
        output_map: Mapping[str, Any] = output if isinstance(output, Mapping) else {}
        url = (
            output_map.get("url")
            or raw.get("outputUrl")
            or raw.get("output_url")
            or (output if isinstance(output, str) else None)
            or raw.get("url")
        )
        if url:
            self.output_url = str(url)
        size = _opt_int(output_map.get("size") or raw.get("size"))
        if size:
            self.output_size = size
        duration = output_map.get("duration") or raw.get("duration")
        if isinstance(duration, int | float) and not isinstance(duration, bool):
            self.duration = float(duration)
        reason = raw.get("reason") or raw.get("error") or raw.get("message") or raw.get("msg")
        if self.status == "failed" and reason:
            self.reason = str(reason)
        if self.status == "completed":
            self.progress = 100
        return self

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "status": self.status,
            "progress": self.progress,
            "output_url": self.output_url,
            "output_size": self.output_size,
            "output_path": self.output_path,
            "owner_user_id": self.owner_user_id,
            "owner_token_id": self.owner_token_id,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RenderJob:
        job = cls(id=str(record["id"]), session_id=str(record.get("session_id") or ""))
        job.update_from_api(record)
        job.output_size = _opt_int(record.get("output_size")) or job.output_size
        output_path = record.get("output_path")
        job.output_path = output_path if isinstance(output_path, str) and output_path else None
        owner, owner_token = record.get("owner_user_id"), record.get("owner_token_id")
        job.owner_user_id = owner if isinstance(owner, str) and owner else None
        job.owner_token_id = owner_token if isinstance(owner_token, str) and owner_token else None
        return job


_STATUS_ALIASES: dict[str, RenderStatus] = {
    "pending": "pending",
    "queued": "pending",
    "submitted": "pending",
    "rendering": "rendering",
    "processing": "rendering",
    "running": "rendering",
    "in_progress": "rendering",
    "completed": "completed",
    "complete": "completed",
    "done": "completed",
    "success": "completed",
    "succeeded": "completed",
    "failed": "failed",
    "error": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
