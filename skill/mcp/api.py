"""The typed Python API: the skill host's calls, each returning one result object.

:class:`SkillHost` speaks in streams of :class:`Reply` objects, which suits a terminal. A program
(or the MCP server) wants one answer per call: :class:`Jiggle` runs a host call to its end and
folds its replies into a frozen dataclass (:class:`AnimateResult`, :class:`ChatResult`...). It
adds no logic of its own beyond checking arguments: what the host did is what the result says.

A call that produced nothing because something failed raises :class:`CallFailed`, with the
stable ``code`` and the human message the host wrote (in the user's language, with the next
step). A batch where some photos failed and others made a video returns normally and lists
the failures. ``on_reply`` sees every reply as it happens (progress, status lines); when it
raises, the call stops there, as a Ctrl-C would (a render already submitted keeps running and
:meth:`Jiggle.resume` picks it up).

The SkillHost is created on the first call and closed by :meth:`Jiggle.close`; calls are run
one at a time (the host holds one conversation).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from skill.errors import JiggleError
from skill.replies import Reply, ReplyKind, language_of_text, say

if TYPE_CHECKING:
    from skill.host import Replies, SkillHost

__all__ = [
    "AnimateResult",
    "CallFailed",
    "ChatResult",
    "CreditsResult",
    "ExportResult",
    "Failure",
    "Jiggle",
    "JobsResult",
    "PendingRender",
    "ReplyHook",
    "Segment",
    "SessionState",
    "StateResult",
    "Track",
    "UploadResult",
    "UploadedFile",
    "Video",
]

Aspect = Literal["9:16", "16:9", "1:1"]
Intensity = Literal["subtle", "medium", "strong"]
ReplyHook = Callable[[Reply], None]
"""Called with every reply of a call as it happens; raising stops the call."""


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    """An MP4 saved on this machine."""

    path: str  # absolute
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds
    size: int | None = None  # bytes
    render_id: str | None = None
    session_id: str | None = None
    photo: str | None = None  # the photo it was made from, in a batch


@dataclass(frozen=True)
class Failure:
    """One thing that failed while others went on (a photo of a batch)."""

    code: str  # stable: file_not_found, out_of_credits, render_failed...
    message: str  # for a person, with what to do next
    photo: str | None = None


@dataclass(frozen=True)
class AnimateResult:
    videos: list[Video]
    failures: list[Failure] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # what was said along the way


@dataclass(frozen=True)
class ChatResult:
    text: str  # the assistant's reply ("" when the turn said nothing)
    suggestion: str | None = None  # a step the assistant offers that costs credits: "export"
    summary: str | None = None  # the timeline, when the turn had no text
    messages: list[str] = field(default_factory=list)  # everything else said, in order
    videos: list[Video] = field(default_factory=list)  # when the message asked for an export
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class UploadedFile:
    name: str
    kind: str | None = None  # image, video, audio
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class UploadResult:
    session_ids: list[str]  # one project per photo
    files: list[UploadedFile]
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CreditsResult:
    available: int | None
    frozen: int | None  # reserved by running renders
    total: int | None


@dataclass(frozen=True)
class Segment:
    name: str | None
    start_ms: int
    duration_ms: int
    motion: str | None = None  # jiggle, bounce, wobble, jelly
    intensity: str | None = None  # subtle, medium, strong
    loop: bool | None = None
    volume: int | None = None  # percent, audio tracks


@dataclass(frozen=True)
class Track:
    kind: str  # video, audio, text, other
    segments: list[Segment]


@dataclass(frozen=True)
class SessionState:
    session_id: str | None
    summary: str  # the one-line timeline: "Timeline (1 track): 1. Video: cat.jpg (0-5s)"
    tracks: list[Track]


@dataclass(frozen=True)
class StateResult:
    sessions: list[SessionState]  # one per open project; empty when none is open
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    videos: list[Video]
    failures: list[Failure] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PendingRender:
    render_id: str
    session_id: str | None
    created: str | None  # "2026-11-24 10:31", from the render id
    status: str | None = None
    progress: int | None = None


@dataclass(frozen=True)
class JobsResult:
    pending: list[PendingRender]  # newest first


class CallFailed(Exception):
    """A call that failed: ``code`` is stable, ``message`` is for a person (the next step
    included); ``details`` carries ``render_id``, ``register_url`` or ``retry_after`` when the
    host gave them. The message never holds a token (the host redacts it)."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"CallFailed(code={self.code!r})"


# -- the API ----------------------------------------------------------------------------------


class Jiggle:
    """Photos to looping jiggle videos, one typed result per call.

    The options are :class:`~skill.host.SkillHost`'s: ``backend`` (``"cloud"`` or ``"local"``),
    ``language``, ``output_dir`` (where videos go; default: the working directory),
    ``base_url`` and ``token`` (a backend already running), ``concurrency`` (photos of a batch
    at once), ``poll_interval``. ``host_options`` passes any other SkillHost keyword.
    """

    def __init__(
        self,
        backend: str | None = None,
        language: str | None = None,
        *,
        output_dir: Path | str | None = None,
        base_url: str | None = None,
        token: str | None = None,
        concurrency: int = 2,
        poll_interval: float | None = None,
        **host_options: Any,
    ) -> None:
        from skill.backends import resolve_backend

        self._options: dict[str, Any] = {
            "backend": resolve_backend(backend),  # a bad name fails here, not on the first call
            "language": language,
            "output_dir": output_dir,
            "base_url": base_url,
            "token": token,
            "concurrency": concurrency,
            "poll_interval": poll_interval,
            "greeting": False,  # every call is a one-shot: no how-to-start hint
            **host_options,
        }
        self._host: SkillHost | None = None
        self._lock = threading.Lock()  # one host call at a time
        self._closed = False

    @property
    def backend(self) -> str:
        return str(self._options["backend"])

    @property
    def host(self) -> SkillHost:
        """The skill host, created on first use."""
        if self._closed:
            raise RuntimeError("this Jiggle is closed")
        if self._host is None:
            from skill.host import SkillHost

            self._host = SkillHost(**self._options)
        return self._host

    # -- calls --------------------------------------------------------------------------------

    def animate(
        self,
        photos: Sequence[str | Path],
        instruction: str = "",
        *,
        output_dir: Path | str | None = None,
        aspect: Aspect | None = None,
        intensity: Intensity | None = None,
        duration: float | None = None,
        title: str | None = None,
        on_reply: ReplyHook | None = None,
    ) -> AnimateResult:
        """Each photo uploaded, animated by ``instruction`` and exported to its own MP4.

        ``aspect``, ``intensity``, ``duration`` (seconds) and ``title`` are said in words at the
        end of the instruction, as ``jiggle animate`` does, so both backends understand them.
        Without ``output_dir`` videos go to the output dir as ``<photo>-jiggle.mp4``; with it,
        to ``output_dir/<photo>.mp4``.
        """
        from skill.commands import instruction_with_flags

        if duration is not None and duration <= 0:
            raise CallFailed(
                "bad_input", f"duration must be a positive number of seconds, not {duration}"
            )
        lang = language_of_text(instruction)
        words = instruction.strip() or say(lang, "default_instruction")
        words = instruction_with_flags(
            words, lang, aspect=aspect, intensity=intensity, duration=duration, title=title
        )
        folded = self._run(
            lambda host: host.animate(
                [_local(p) for p in photos], words, out_dir=_local_or_none(output_dir)
            ),
            on_reply,
        )
        return AnimateResult(folded.videos, folded.failures, folded.messages)

    def chat(
        self,
        message: str,
        attachments: Sequence[str | Path] = (),
        *,
        on_reply: ReplyHook | None = None,
    ) -> ChatResult:
        """One message of the conversation, with files (paths or URLs) attached."""
        files = [_local(a) for a in attachments]
        folded = self._run(lambda host: host.handle(message, files), on_reply)
        summary = folded.summary or (folded.states[-1].summary if folded.states else None)
        return ChatResult(
            text=folded.chat_text,
            suggestion=folded.suggestion,
            summary=None if folded.chat_text.strip() else summary,
            messages=folded.messages,
            videos=folded.videos,
            failures=folded.failures,
        )

    def upload(
        self, files: Sequence[str | Path], *, on_reply: ReplyHook | None = None
    ) -> UploadResult:
        """Photos, clips or sounds: each photo opens its own project; sounds join the open one."""
        folded = self._run(lambda host: host.upload([_local(f) for f in files]), on_reply)
        return UploadResult(folded.session_ids, folded.uploaded, folded.messages)

    def credits(self) -> CreditsResult:
        folded = self._run(lambda host: host.credits(), None)
        if folded.credits is None:
            raise CallFailed("bug", "the backend did not say the credit balance")
        return folded.credits

    def state(self, session_id: str | None = None) -> StateResult:
        """The timeline of the open projects (or of ``session_id``)."""
        folded = self._run(lambda host: host.state(session_id), None)
        return StateResult(folded.states, folded.messages)

    def export(
        self,
        output: Path | str | None = None,
        *,
        session_id: str | None = None,
        on_reply: ReplyHook | None = None,
    ) -> ExportResult:
        """Render the open projects (or ``session_id``) and download the MP4s; ``output``
        names the file when there is one project."""
        folded = self._run(
            lambda host: host.export(session_id, output=_local_or_none(output)), on_reply
        )
        return ExportResult(folded.videos, folded.failures, folded.messages)

    def jobs(self) -> JobsResult:
        """Renders submitted and not downloaded yet, newest first."""
        with self._lock:
            pending = self.host.pending_renders()
        return JobsResult(
            [
                PendingRender(
                    render_id=str(job["render_id"]),
                    session_id=job.get("session_id"),
                    created=job.get("created"),
                    status=job.get("status"),
                    progress=job.get("progress"),
                )
                for job in pending
            ]
        )

    def resume(
        self,
        render_id: str | None = None,
        output: Path | str | None = None,
        *,
        on_reply: ReplyHook | None = None,
    ) -> ExportResult:
        """Wait for a render left running (the newest, or ``render_id``) and download it."""
        folded = self._run(
            lambda host: host.resume(render_id, output=_local_or_none(output)), on_reply
        )
        return ExportResult(folded.videos, folded.failures, folded.messages)

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        host, self._host = self._host, None
        if host is not None:
            host.close()

    def __enter__(self) -> Jiggle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- running a host call ------------------------------------------------------------------

    def _run(self, call: Callable[[SkillHost], Replies], on_reply: ReplyHook | None) -> _Folded:
        folded = _Folded()
        with self._lock:
            host = self.host
            replies = call(host)
            try:
                with contextlib.closing(replies):  # closing stops the host's worker
                    for reply in replies:
                        folded.add(reply)
                        if on_reply is not None:
                            on_reply(reply)
            except JiggleError as exc:  # raised before the work starts (no photo named)
                raise CallFailed(exc.code, exc.human(host.language), exc.to_dict()) from None
        folded.raise_if_failed()
        return folded


class _Folded:
    """A call's replies, sorted by what they say."""

    def __init__(self) -> None:
        self.videos: list[Video] = []
        self.failures: list[Failure] = []
        self.errors: list[Reply] = []
        self.messages: list[str] = []
        self.chat_pieces: list[str] = []
        self.suggestion: str | None = None
        self.summary: str | None = None
        self.states: list[SessionState] = []
        self.session_ids: list[str] = []
        self.uploaded: list[UploadedFile] = []
        self.credits: CreditsResult | None = None

    @property
    def chat_text(self) -> str:
        return "".join(self.chat_pieces)

    def add(self, reply: Reply) -> None:
        data = reply.data
        if reply.kind is ReplyKind.DELTA:
            self.chat_pieces.append(reply.text)
        elif reply.kind is ReplyKind.RESULT:
            self.videos.append(_video(data))
            self.messages.append(reply.text)
        elif reply.kind is ReplyKind.ERROR:
            self.errors.append(reply)
            code = str(data.get("code") or "error")
            self.failures.append(Failure(code, reply.text, _str_or_none(data.get("file"))))
        elif reply.kind is ReplyKind.SUGGESTION:
            self.suggestion = self.suggestion or _str_or_none(data.get("action"))
            self.messages.append(reply.text)
        elif reply.kind is ReplyKind.TEXT:
            self._add_text(reply)

    def _add_text(self, reply: Reply) -> None:
        data = reply.data
        if data.get("end"):
            return  # closes the streamed chat text, already gathered from the deltas
        if "tracks" in data:
            tracks = [_track(t) for t in data["tracks"] if isinstance(t, Mapping)]
            session = _str_or_none(data.get("session_id"))
            self.states.append(SessionState(session, str(data.get("summary") or ""), tracks))
            return  # its text is the summary, already in the state
        elif "summary" in data:  # a turn that said nothing: what the timeline is now
            self.summary = str(data["summary"])
        if "available" in data:
            self.credits = CreditsResult(
                _int_or_none(data.get("available")),
                _int_or_none(data.get("frozen")),
                _int_or_none(data.get("total")),
            )
        if "files" in data and data.get("session_id"):
            session_id = str(data["session_id"])
            if session_id not in self.session_ids:
                self.session_ids.append(session_id)
            for item in data["files"]:
                if isinstance(item, Mapping):
                    self.uploaded.append(
                        UploadedFile(
                            name=str(item.get("name") or ""),
                            kind=_str_or_none(item.get("kind")),
                            width=_int_or_none(item.get("width")),
                            height=_int_or_none(item.get("height")),
                        )
                    )
        if set(data) == {"file"} and reply.text:
            # In a batch each project's chat text comes whole, tagged with its photo.
            self.chat_pieces.append(("\n" if self.chat_pieces else "") + reply.text)
            return
        if reply.text:
            self.messages.append(reply.text)

    def raise_if_failed(self) -> None:
        """Raise the first error unless the call still made something (a partial batch)."""
        if not self.errors or self.videos:
            return
        first = self.errors[0]
        details = {k: v for k, v in first.data.items() if k not in ("code", "exit_code")}
        raise CallFailed(str(first.data.get("code") or "error"), first.text, details)


def _video(data: Mapping[str, Any]) -> Video:
    path = Path(str(data.get("path") or ""))
    return Video(
        path=str(path.resolve()) if str(path) else "",
        width=_int_or_none(data.get("width")),
        height=_int_or_none(data.get("height")),
        duration=_float_or_none(data.get("duration")),
        size=_int_or_none(data.get("size")),
        render_id=_str_or_none(data.get("render_id")),
        session_id=_str_or_none(data.get("session_id")),
        photo=_str_or_none(data.get("file")),
    )


def _track(raw: Mapping[str, Any]) -> Track:
    segments = [
        Segment(
            name=_str_or_none(s.get("name")),
            start_ms=_int_or_none(s.get("start_ms")) or 0,
            duration_ms=_int_or_none(s.get("duration_ms")) or 0,
            motion=_str_or_none(s.get("motion")),
            intensity=_str_or_none(s.get("intensity")),
            loop=s.get("loop") if isinstance(s.get("loop"), bool) else None,
            volume=_int_or_none(s.get("volume")),
        )
        for s in raw.get("segments") or ()
        if isinstance(s, Mapping)
    ]
    return Track(kind=str(raw.get("kind") or "other"), segments=segments)


def _local(path: str | Path) -> str:
    """A path with ``~`` expanded (agents write it); URLs as they are."""
    text = str(path)
    return text if "://" in text else str(Path(text).expanduser())


def _local_or_none(path: str | Path | None) -> str | None:
    return None if path is None else _local(path)


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
