"""The skill host: one conversation with a backend, as a stream of :class:`Reply` objects.

The router decides what a message asks for; the host runs those steps with the client and says
what happened, in the user's language, through the templates in ``skill/templates/``. Every face
(the REPL, the CLI, the MCP server, Python callers) drives a :class:`SkillHost`.

Each call (``handle``, ``animate``, ``export``...) returns a generator. Its work runs in a worker
thread that hands replies to the generator through a queue, so that progress from inside a
blocking upload, render wait or download reaches the user as it happens, and so that "⏳ Still
working..." can be said after every stretch of silence. When the consumer stops early (Ctrl-C
closes the generator) the worker is told to stop at its next step; a render already submitted
keeps running on the backend, its id is in the client's job store, and :meth:`SkillHost.resume`
picks it up. The host stays usable afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from router import Action, GuiKind, classify, translate_gui
from skill import paths
from skill._atomic import replacing, write_json
from skill.backends import Connection, connect, job_store, resolve_backend
from skill.client import NemoClient, RenderJob, Session
from skill.errors import (
    Cancelled,
    InputError,
    JiggleError,
    NotUnderstood,
    RenderFailed,
    error_for_os_error,
    phrase,
)
from skill.paths import safe_name
from skill.protocol import media_extensions
from skill.replies import (
    Reply,
    ReplyKind,
    chinese_script,
    language_of,
    language_of_text,
    reply_language,
    say,
)
from skill.timeline import Timeline

__all__ = ["Replies", "Reply", "ReplyKind", "SkillHost"]

Replies = Generator[Reply, None, None]
"""What every host call returns: replies as they happen; ``close()`` it to stop early."""

_log = logging.getLogger(__name__)

_STILL_WORKING_AFTER = 120.0  # seconds of silence between "⏳ Still working..." lines
_TICK = 0.1  # how often the reply pump looks at the clock while the worker is quiet
_AUDIO_SUFFIXES = media_extensions("audio")
_LAST_SESSION_FILE = "last_session.json"


@dataclass
class _Project:
    """One backend session: a photo being animated (a batch has one per photo)."""

    session_id: str
    name: str | None = None  # the photo's file name, for output names and batch tags
    has_visual: bool = False
    files: list[str] = field(default_factory=list)  # what was uploaded, to send again if lost


@dataclass
class _Outcome:
    """How one photo of a batch ended."""

    name: str
    error: JiggleError | None = None
    path: Path | None = None


class _Step:
    """What a running step can do: tell the user something, and notice it was cancelled."""

    def __init__(self, sink: Callable[[Reply], None], cancel: threading.Event) -> None:
        self._sink = sink
        self._cancel = cancel

    def check(self) -> None:
        """Raise :class:`Cancelled` once the consumer has stopped listening."""
        if self._cancel.is_set():
            raise Cancelled()

    def emit(self, reply: Reply) -> None:
        self.check()
        self._sink(reply)

    def tagged(self, name: str) -> _Step:
        """A step for one photo of a batch: replies carry its name; chat text comes whole."""
        return _TaggedStep(self, name)


class _TaggedStep(_Step):
    """Interleaved deltas from several photos would be unreadable: buffer each chat message."""

    def __init__(self, parent: _Step, name: str) -> None:
        super().__init__(parent._sink, parent._cancel)
        self._name = name
        self._pieces: list[str] = []

    def emit(self, reply: Reply) -> None:
        self.check()
        if reply.kind is ReplyKind.DELTA:
            self._pieces.append(reply.text)
            return
        if reply.kind is ReplyKind.TEXT and reply.data.get("end"):
            text, self._pieces = "".join(self._pieces), []
            reply = Reply(ReplyKind.TEXT, text)
        data = {**reply.data, "file": self._name}
        text = _tagged_text(self._name, reply.text) if reply.text else ""
        self._sink(Reply(reply.kind, text, data))


def _tagged_text(name: str, text: str) -> str:
    """``[cat.jpg] text``: the same in every language."""
    return say("en", "batch_item", name=name, text=text)


class SkillHost:
    """A conversation with the NemoVideo cloud or the local backend.

    ``backend`` is ``"cloud"`` (default; ``JIGGLE_BACKEND`` overrides) or ``"local"``;
    ``language`` fixes the reply language (``"en"``, ``"zh"``, ``"zh-Hant"``), else it follows
    the user. ``output_dir`` is where videos go (default: the working directory). ``base_url``
    points at a running backend (for ``local``: one already started, as tests do); ``token``
    is the API token (default: ``NEMO_TOKEN`` for the cloud, which a local backend never
    sees; else a free anonymous token). ``concurrency``
    bounds how many photos of a batch run at once; ``still_working_after`` is the silence, in
    seconds, after which "⏳ Still working..." is said; ``poll_interval`` the seconds between
    render polls (default: 30 for the cloud, 0.5 for the local backend). ``greeting``: say
    how to start once connected (for a conversation; one-shot commands leave it out).
    ``force``: overwrite existing files; without it (the default) a video or preview never
    replaces a file, it takes the first free name ``NAME-1.mp4`` (see :func:`paths.unused_path`).
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
        still_working_after: float = _STILL_WORKING_AFTER,
        poll_interval: float | None = None,
        local_data_dir: Path | None = None,
        greeting: bool = True,
        force: bool = False,
    ) -> None:
        self._backend_name = resolve_backend(backend)
        self._fixed_language = language_of(language) if language else None
        self._language = self._fixed_language or "en"  # "en" or "zh": sessions, errors
        # The templates' language: "zh-Hant" for a user who writes traditional characters.
        self._reply_language = reply_language(language) if language else self._language
        self._output_dir = Path(output_dir) if output_dir is not None else Path.cwd()
        self._base_url = base_url
        self._token = token
        self._concurrency = max(1, concurrency)
        self._still_working_after = still_working_after
        self._poll_interval = poll_interval
        self._local_data_dir = local_data_dir
        self._connection: Connection | None = None
        self._projects: list[_Project] = []
        self._last_credits: int | None = None
        self._active_render: str | None = None
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._cancel = threading.Event()  # the running call's; set when its consumer stops
        self._hint = greeting  # say how to start, once connected (a conversation needs it)
        self._force = force
        self._notes: list[str] = []  # said at the next step: what the client did on its own

    # -- what faces read ----------------------------------------------------------------------

    @property
    def backend_name(self) -> str:
        return self._backend_name

    @property
    def session_id(self) -> str | None:
        """The current session (the first one when a batch is open)."""
        with self._lock:
            return self._projects[0].session_id if self._projects else None

    @property
    def session_ids(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(p.session_id for p in self._projects)

    @property
    def last_credits(self) -> int | None:
        """Credits available when last read (after connecting, a turn, or ``credits``)."""
        return self._last_credits

    @property
    def language(self) -> str:
        return self._language

    @property
    def active_render(self) -> str | None:
        """The render being waited for right now, if any (a Ctrl-C leaves it running)."""
        return self._active_render

    # -- conversations ------------------------------------------------------------------------

    def handle(
        self, text: str, attachments: Sequence[str] = (), *, session_id: str | None = None
    ) -> Replies:
        """Answer one message (with attached file paths or URLs), in ``session_id`` if given."""
        if session_id:
            self._adopt(session_id)
        intent = classify(text, attachments)
        self._follow_language(intent.language, text)
        yield from self._pump(lambda step: self._run_intent(step, intent, text))

    def animate(
        self,
        photos: Sequence[str],
        instruction: str,
        *,
        output: Path | str | None = None,
        out_dir: Path | str | None = None,
        preview: Path | str | None = None,
    ) -> Replies:
        """The main job in one go: each photo uploaded, edited and exported to its own MP4."""
        if not photos:
            raise InputError(say(self._reply_language, "need_photo"))
        if output is not None and len(photos) > 1:
            raise InputError("-o names one file; with several photos use --out-dir DIR")
        self._follow_language(language_of_text(instruction), instruction)
        self._hint = False
        targets = self._animate_targets(photos, output, out_dir)
        if preview is not None:
            paths.check_writable(Path(preview))
        yield from self._pump(
            lambda step: self._run_animate(step, photos, instruction, targets, preview)
        )

    def credits(self) -> Replies:
        yield from self._pump(self._show_credits)

    def state(self, session_id: str | None = None) -> Replies:
        yield from self._pump(lambda step: self._show_state(step, self._pick(session_id)))

    def upload(self, files: Sequence[str], session_id: str | None = None) -> Replies:
        def work(step: _Step) -> None:
            self._connect(step)
            if session_id:
                self._adopt(session_id)
            self._upload(step, list(files), reuse=session_id is not None)

        yield from self._pump(work)

    def export(self, session_id: str | None = None, output: Path | str | None = None) -> Replies:
        def work(step: _Step) -> None:
            projects = self._pick(session_id)
            if output is not None and len(projects) == 1:
                target = self._claim(Path(output))
                self._connect(step)
                self._export(step, projects[0], target)
            else:
                self._export_all(step, projects)

        yield from self._pump(work)

    def resume(self, render_id: str | None = None, output: Path | str | None = None) -> Replies:
        """Finish a render that was left running: the newest one, or ``render_id``."""
        yield from self._pump(lambda step: self._resume(step, render_id, output))

    def pending_renders(self) -> list[dict[str, Any]]:
        """Renders submitted and not yet downloaded (from the client's job store), newest first:
        dicts with ``render_id``, ``session_id``, ``created`` and ``output``."""
        return [_job_dict(job) for job in reversed(job_store(self._backend_name).list())]

    def jobs(self) -> Replies:
        """:meth:`pending_renders` as replies, one line per render."""
        pending = self.pending_renders()
        if not pending:
            yield Reply(ReplyKind.TEXT, say(self._reply_language, "jobs_none"), {"jobs": 0})
            return
        for job in pending:
            fields = {key: job[key] for key in ("render_id", "session_id", "created", "output")}
            yield Reply(ReplyKind.TEXT, say(self._reply_language, "job_line", **fields), job)
        yield Reply(ReplyKind.TEXT, say(self._reply_language, "jobs_hint"), {"jobs": len(pending)})

    def set_language(self, language: str) -> None:
        """Fix the reply language from now on (``"en"`` or ``"zh"``)."""
        self._fixed_language = self._language = language_of(language)
        self._reply_language = reply_language(language)

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._join_worker(timeout=2.0)
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> SkillHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the reply pump -----------------------------------------------------------------------

    def _pump(self, work: Callable[[_Step], None]) -> Replies:
        self._join_worker(timeout=5.0)
        replies: queue.SimpleQueue[Reply | None] = queue.SimpleQueue()
        cancel = self._cancel = threading.Event()
        step = _Step(replies.put, cancel)

        def run() -> None:
            try:
                work(step)
            except Cancelled as exc:
                if not cancel.is_set():
                    replies.put(self._error_reply(exc))
            except JiggleError as exc:
                replies.put(self._error_reply(exc))
            except OSError as exc:  # a folder we cannot write: the user's to fix, else a bug
                try:
                    mapped = error_for_os_error(exc)
                except OSError:
                    _log.exception("unexpected failure in the skill host")
                    replies.put(self._unexpected_reply(exc))
                else:
                    replies.put(self._error_reply(mapped))
            except Exception as exc:  # a bug: say so plainly, keep the host usable
                _log.exception("unexpected failure in the skill host")
                replies.put(self._unexpected_reply(exc))
            finally:
                self._active_render = None
                replies.put(None)

        worker = threading.Thread(target=run, name="jiggle-host", daemon=True)
        self._worker = worker
        worker.start()
        quiet_since = time.monotonic()
        try:
            while True:
                try:
                    item = replies.get(timeout=_TICK)
                except queue.Empty:
                    if time.monotonic() - quiet_since >= self._still_working_after:
                        quiet_since = time.monotonic()
                        yield Reply(
                            ReplyKind.STATUS,
                            say(self._reply_language, "still_working"),
                            {"still_working": True},
                        )
                    continue
                if item is None:
                    return
                quiet_since = time.monotonic()
                yield item
        finally:
            cancel.set()

    def _sleep(self, seconds: float) -> None:
        """The client's pause between render polls and retries: cut short by a cancel, so
        that a stopped call does not linger for a 30 s poll interval."""
        self._cancel.wait(seconds)

    def _join_worker(self, timeout: float) -> None:
        worker = self._worker
        if worker is not None and worker.is_alive() and worker is not threading.current_thread():
            worker.join(timeout)

    # -- steps --------------------------------------------------------------------------------

    def _run_intent(self, step: _Step, intent: Any, text: str) -> None:
        self._connect(step)
        files = [str(f) for f in intent.files]
        actions = list(intent.actions)
        instruction = _without_files(text, files)
        if Action.UPLOAD in actions and files:
            self._upload(step, files, reuse=False)
        elif Action.UPLOAD in actions and not files:
            step.emit(Reply(ReplyKind.TEXT, say(self._reply_language, "no_session")))
        for action in actions:
            if action == Action.UPLOAD:
                continue
            if action == Action.CHAT:
                if instruction.strip():
                    self._chat_all(step, instruction)
            elif action == Action.EXPORT:
                self._export_all(step, self._pick(None))
            elif action == Action.CREDITS:
                self._show_credits(step)
            elif action == Action.STATE:
                self._show_state(step, self._pick(None))

    def _connect(self, step: _Step) -> Connection:
        with self._lock:
            if self._connection is not None:
                return self._connection
        step.emit(
            Reply(ReplyKind.STATUS, say(self._reply_language, "setting_up"), {"phase": "setup"})
        )
        connection = self._connect_quietly()
        self._last_credits = connection.client.credits().available
        step.emit(
            Reply(
                ReplyKind.STATUS,
                say(
                    self._reply_language,
                    "connected",
                    backend=connection.name,
                    credits=self._last_credits,
                    hint=self._hint,
                ),
                {"connected": True, "backend": connection.name, "credits": self._last_credits},
            )
        )
        warning = connection.client.token_not_saved
        if warning is not None:
            step.emit(
                Reply(
                    ReplyKind.STATUS,
                    warning.human(self._language),
                    {"warning": True, "code": warning.code, **warning.details},
                )
            )
        return connection

    def _connect_quietly(self) -> Connection:
        with self._lock:
            if self._connection is None:
                connection = connect(
                    self._backend_name,
                    base_url=self._base_url,
                    token=self._token,
                    local_data_dir=self._local_data_dir,
                    poll_interval=self._poll_interval,
                    sleep=self._sleep,
                    on_session_replaced=self._on_session_replaced,
                )
                try:
                    connection.client.ensure_token()
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
            return self._connection

    @property
    def _client(self) -> NemoClient:
        assert self._connection is not None
        return self._connection.client

    def _new_project(self, step: _Step, name: str | None = None) -> _Project:
        # The script matters to the service: zh-CN or zh-TW (the client makes the BCP-47 tag).
        session = self._client.create_session(language=self._reply_language)
        project = _Project(session_id=str(session.id), name=name)
        step.check()
        return project

    def _on_session_replaced(self, session: Session) -> None:
        """The server lost a session (1002) and the client opened a new one: send the photo
        again before the client retries the call, so the turn still has something to edit."""
        with self._lock:
            project = next(
                (p for p in self._projects if p.session_id in session.previous_ids), None
            )
            if project is None:
                return
            project.session_id = session.id
            files, project.files = list(project.files), []
            self._remember_projects()
        if files:
            self._client.upload(session.id, files)
            project.files.extend(files)
        self._notes.append(
            say(self._reply_language, "session_replaced", name=project.name or session.id)
        )

    def _say_notes(self, step: _Step) -> None:
        """Tell what happened inside the client since the last reply (a replaced session)."""
        while self._notes:
            step.emit(Reply(ReplyKind.STATUS, self._notes.pop(0), {"session_replaced": True}))

    def _set_projects(self, projects: list[_Project]) -> None:
        """Make ``projects`` the open ones, and remember them for the next command."""
        with self._lock:
            self._projects = projects
            self._remember_projects()

    def _adopt(self, session_id: str) -> None:
        """Make ``session_id`` (from the command line) the current project."""
        with self._lock:
            if not any(p.session_id == session_id for p in self._projects):
                self._set_projects([_Project(session_id=session_id, has_visual=True)])

    def _pick(self, session_id: str | None) -> list[_Project]:
        """The projects a command acts on: the given session, the open ones, or the last one."""
        if session_id:
            self._adopt(session_id)
            return [p for p in self._projects if p.session_id == session_id]
        with self._lock:
            if self._projects:
                return list(self._projects)
        remembered = self._remembered_projects()
        with self._lock:
            if remembered and not self._projects:
                self._projects = remembered
            return list(self._projects)

    # upload

    def _upload(self, step: _Step, files: list[str], *, reuse: bool) -> None:
        """Each photo or clip opens its own project; sounds go into the open project(s)."""
        _check_files(files)  # a bad file is reported before any session is opened
        visuals = [f for f in files if Path(f).suffix.lower() not in _AUDIO_SUFFIXES]
        sounds = [f for f in files if f not in visuals]
        with self._lock:
            current = list(self._projects)
        if reuse and current:
            self._upload_into(step, current[0], files)
            current[0].has_visual = current[0].has_visual or bool(visuals)
            return
        opened: list[_Project] = []
        if len(visuals) == 1 and current and not any(p.has_visual for p in current):
            # A photo sent after a sound: it joins the project the sound is already in.
            opened = current[:1]
            self._upload_into(step, opened[0], visuals)
            opened[0].has_visual = True
            opened[0].name = _display_name(visuals[0])
        else:
            for photo in visuals:
                project = self._new_project(step, _display_name(photo))
                self._upload_into(step, project, [photo])
                project.has_visual = True
                opened.append(project)
        if opened:
            with self._lock:
                self._set_projects(opened)
        if sounds:
            targets = self._pick(None) or [self._new_project(step)]
            with self._lock:
                self._set_projects(targets)
            for project in targets:
                self._upload_into(step, project, sounds)

    def _upload_into(self, step: _Step, project: _Project, files: list[str]) -> None:
        names = [_display_name(f) for f in files]
        step.emit(Reply(ReplyKind.STATUS, say(self._reply_language, "uploading", names=names)))
        progress = _Progress(step, "upload")
        media = self._client.upload(project.session_id, files, progress=progress)
        project.files.extend(files)
        uploaded = [
            {
                "name": media_info.filename or names[min(index, len(names) - 1)],
                "kind": media_info.file_type,
                "width": media_info.width,
                "height": media_info.height,
            }
            for index, media_info in enumerate(media)
        ]
        step.emit(
            Reply(
                ReplyKind.TEXT,
                say(self._reply_language, "uploaded", files=uploaded),
                {"session_id": project.session_id, "files": uploaded},
            )
        )

    # chat

    def _chat_all(self, step: _Step, instruction: str) -> None:
        projects = self._pick(None)
        if not projects:
            projects = [self._new_project(step)]
            with self._lock:
                self._set_projects(projects)
        if len(projects) == 1:
            self._chat(step, projects[0], instruction)
            return
        self._each(step, projects, lambda s, p: self._chat(s, p, instruction))

    def _chat(
        self,
        step: _Step,
        project: _Project,
        instruction: str,
        *,
        follow_up: bool = True,
        translate: bool = True,
    ) -> None:
        """One chat turn: text streamed as deltas; tool events stay inside; then what the
        backend's GUI words stand for (``translate``), or a summary when it said nothing."""
        pieces: list[str] = []
        understood: bool | None = None
        # The client reads the state before the turn (snapshot), so that a turn that says
        # nothing can still be described by what it changed.
        for event in self._client.stream_chat(project.session_id, instruction):
            self._say_notes(step)
            step.check()
            if event.kind == "text" and event.text:
                pieces.append(event.text)
                step.emit(Reply(ReplyKind.DELTA, event.text))
            understood = event.understood if event.understood is not None else understood
        text = "".join(pieces)
        if pieces:
            step.emit(Reply(ReplyKind.TEXT, "", {"end": True}))
        self._refresh_credits()
        if understood is False:
            # The editor answered without acting (it says why): what was to follow in this
            # message (an export, a render) does not run.
            raise NotUnderstood(instruction=_excerpt(instruction))
        if not text.strip():
            self._summarise_changes(step, project)
            return
        if translate:
            self._act_on_gui_language(step, project, text, follow_up=follow_up)

    def _summarise_changes(self, step: _Step, project: _Project) -> None:
        turn = self._client.changes(project.session_id)
        if turn.changes:
            listed = [change.describe(self._language) for change in turn.changes]
            message = say(self._reply_language, "no_text_changes", changes=listed)
        else:
            summary = turn.state.timeline.summary(self._language)
            message = say(self._reply_language, "no_text_no_changes", summary=summary)
        step.emit(
            Reply(
                ReplyKind.TEXT,
                message,
                {"changes": len(turn.changes), "summary": turn.state.timeline.summary("en")},
            )
        )

    def _act_on_gui_language(
        self, step: _Step, project: _Project, text: str, *, follow_up: bool
    ) -> None:
        """The backend speaks as if there were buttons; offer or do what they stand for."""
        if not project.has_visual:
            return  # "click Upload..." before any photo: the connected message already says it
        suggested_export = False
        shown_state = False
        for action in translate_gui(text):
            if action.kind == GuiKind.EXPORT and not suggested_export:
                # Exporting spends credits: only the user decides to do it.
                suggested_export = True
                step.emit(
                    Reply(
                        ReplyKind.SUGGESTION,
                        say(self._reply_language, "suggest_export"),
                        {"action": "export"},
                    )
                )
            elif action.kind in (GuiKind.SHOW_STATE, GuiKind.SHOW_TIMELINE) and not shown_state:
                shown_state = True
                self._show_state(step, [project])
            elif action.kind == GuiKind.SEND_EDIT and follow_up and action.phrase:
                self._chat(step, project, str(action.phrase), follow_up=False)

    def _refresh_credits(self) -> None:
        with contextlib.suppress(JiggleError):
            self._last_credits = self._client.credits().available

    # credits and state

    def _show_credits(self, step: _Step) -> None:
        self._connect(step)
        balance = self._client.credits()
        available, frozen, total = balance.available, balance.frozen, balance.total
        self._last_credits = available
        step.emit(
            Reply(
                ReplyKind.TEXT,
                say(
                    self._reply_language, "credits", available=available, frozen=frozen, total=total
                ),
                {"available": available, "frozen": frozen, "total": total},
            )
        )

    def _show_state(self, step: _Step, projects: list[_Project]) -> None:
        self._connect(step)
        if not projects:
            step.emit(Reply(ReplyKind.TEXT, say(self._reply_language, "no_session")))
            return
        for project in projects:
            timeline = self._client.state(project.session_id).timeline
            summary = timeline.summary(self._language)
            text = say(self._reply_language, "timeline", summary=summary)
            if len(projects) > 1 and project.name:
                text = _tagged_text(project.name, text)
            step.emit(
                Reply(
                    ReplyKind.TEXT,
                    text,
                    {
                        "session_id": project.session_id,
                        "summary": summary,
                        "tracks": _track_dicts(timeline),
                    },
                )
            )

    # export

    def _export_all(self, step: _Step, projects: list[_Project]) -> None:
        self._connect(step)
        if not projects:
            step.emit(Reply(ReplyKind.TEXT, say(self._reply_language, "nothing_to_export")))
            return
        if len(projects) == 1:
            self._export(step, projects[0], self._output_for(projects[0]))
            return
        self._each(step, projects, lambda s, p: self._export(s, p, self._output_for(p)))

    def _output_for(self, project: _Project) -> Path:
        stem = Path(project.name).stem if project.name else project.session_id
        return self._claim(self._output_dir / f"{safe_name(stem, fallback='jiggle')}-jiggle.mp4")

    def _claim(self, target: Path, taken: Sequence[Path] = ()) -> Path:
        """Where a file meant for ``target`` goes: ``target`` with ``force``, else the first
        free name (the one no-clobber rule); its folder is checked writable first, so that no
        render is paid for a video that could not be saved."""
        paths.check_writable(target)  # first: a name too long cannot even be looked up
        chosen = target if self._force else paths.unused_path(target, taken)
        if chosen != target:
            paths.check_writable(chosen)
        return chosen

    def _export(self, step: _Step, project: _Project, output: Path) -> Path:
        client = self._client
        step.emit(
            Reply(
                ReplyKind.STATUS,
                say(self._reply_language, "exporting", name=project.name or ""),
                {"phase": "render"},
            )
        )
        job = client.export(project.session_id, output_path=str(output.absolute()))
        self._say_notes(step)
        self._active_render = job.id  # from here a Ctrl-C leaves this render running
        step.emit(
            Reply(
                ReplyKind.PROGRESS,
                "",
                {"phase": "render", "done": 0, "total": 100, "render_id": job.id},
            )
        )
        return self._finish_render(step, job, output, project)

    def _finish_render(
        self, step: _Step, job: RenderJob, output: Path, project: _Project | None
    ) -> Path:
        client = self._client
        render_id = job.id
        self._active_render = render_id
        render_progress = _Progress(step, "render", render_id=render_id)
        try:
            try:
                finished = client.wait(job, progress=lambda j: render_progress(j.progress, 100))
            except RenderFailed as failed:
                # One resubmission, with a new render id, said first (docs/client.md).
                job = client.resubmit(job)
                step.emit(
                    Reply(
                        ReplyKind.STATUS,
                        phrase(
                            "render_resubmitted",
                            self._reply_language,
                            render_id=render_id,
                            reason=failed.reason,
                            new_id=job.id,
                        ),
                        {"phase": "render", "failed_render_id": render_id, "render_id": job.id},
                    )
                )
                render_id = self._active_render = job.id
                render_progress = _Progress(step, "render", render_id=render_id)
                finished = client.wait(job, progress=lambda j: render_progress(j.progress, 100))
            step.emit(Reply(ReplyKind.STATUS, say(self._reply_language, "downloading")))
            path = Path(
                client.download(
                    finished, output, _Progress(step, "download"), overwrite=self._force
                )
            )
        except Cancelled:
            raise Cancelled(render_id=render_id) from None
        self._active_render = None
        self._refresh_credits()
        size = path.stat().st_size
        duration = finished.duration
        width, height = self._canvas_size(project)
        step.emit(
            Reply(
                ReplyKind.RESULT,
                say(
                    self._reply_language,
                    "saved",
                    path=str(path),
                    size=_human_size(size),
                    duration=duration,
                    width=width,
                    height=height,
                ),
                {
                    "path": str(path),
                    "render_id": render_id,
                    "session_id": project.session_id if project else None,
                    "width": width,
                    "height": height,
                    "duration": duration,
                    "size": size,
                },
            )
        )
        return path

    def _canvas_size(self, project: _Project | None) -> tuple[int | None, int | None]:
        if project is None or not project.session_id:
            return None, None
        try:
            state = self._client.state(project.session_id)
        except JiggleError:
            return None, None
        size = {**state.timeline.meta, **state.canvas}
        return _int_or_none(size.get("width")), _int_or_none(size.get("height"))

    # resume

    def _resume(self, step: _Step, render_id: str | None, output: Path | str | None) -> None:
        self._connect(step)
        if render_id is None:
            pending = self.pending_renders()
            if not pending:
                step.emit(
                    Reply(ReplyKind.TEXT, say(self._reply_language, "jobs_none"), {"jobs": 0})
                )
                return
            render_id = str(pending[0]["render_id"])
        elif self._client.jobs.get(render_id) is None:
            raise InputError(say(self._reply_language, "resume_unknown", render_id=render_id))
        step.emit(
            Reply(
                ReplyKind.STATUS,
                say(self._reply_language, "resuming", render_id=render_id),
                {"render_id": render_id},
            )
        )
        job = self._client.resume(render_id)
        known = {p.session_id: p for p in [*self._remembered_projects(), *self._projects]}
        project = known.get(job.session_id) or _Project(session_id=job.session_id)
        if output is not None:
            target = self._claim(Path(output))
        elif job.output_path:
            target = self._claim(Path(job.output_path))  # where the export meant to save it
        elif project.name:
            target = self._output_for(project)  # named after its photo, like the export was
        else:
            target = self._claim(
                self._output_dir / f"{safe_name(render_id, fallback='render')}.mp4"
            )
        self._finish_render(step, job, target, project if job.session_id else None)

    # batch

    def _each(
        self,
        step: _Step,
        projects: list[_Project],
        work: Callable[[_Step, _Project], object],
    ) -> list[_Outcome]:
        """Run ``work`` for every project, a few at a time; one failure does not stop the rest."""

        def one(project: _Project) -> _Outcome:
            name = project.name or project.session_id
            tagged = step.tagged(name)
            try:
                result = work(tagged, project)
            except Cancelled:
                raise
            except JiggleError as exc:
                tagged.emit(self._error_reply(exc))
                return _Outcome(name, error=exc)
            return _Outcome(name, path=result if isinstance(result, Path) else None)

        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="jiggle-batch") as pool:
            outcomes = list(pool.map(one, projects))
        failed = sum(1 for o in outcomes if o.error is not None)
        step.emit(
            Reply(
                ReplyKind.TEXT,
                say(self._reply_language, "batch_done", ok=len(outcomes) - failed, failed=failed),
                {"batch": True, "done": len(outcomes) - failed, "failed": failed},
            )
        )
        return outcomes

    # animate

    def _animate_targets(
        self,
        photos: Sequence[str],
        output: Path | str | None,
        out_dir: Path | str | None,
    ) -> list[Path]:
        if output is not None:
            return [self._claim(Path(output))]
        folder = Path(out_dir) if out_dir is not None else self._output_dir
        targets: list[Path] = []
        for photo in photos:
            stem = safe_name(Path(_display_name(photo)).stem, fallback="jiggle")
            candidate = (
                folder / f"{stem}.mp4" if out_dir is not None else folder / f"{stem}-jiggle.mp4"
            )
            while candidate in targets:
                candidate = candidate.with_name(f"{candidate.stem}-{len(targets)}.mp4")
            targets.append(self._claim(candidate, targets))
        return targets

    def _run_animate(
        self,
        step: _Step,
        photos: Sequence[str],
        instruction: str,
        targets: list[Path],
        preview: Path | str | None,
    ) -> None:
        if len(photos) == 1:
            _check_files(photos)  # one bad photo: say so before starting anything
        self._connect(step)

        def one(s: _Step, photo: str, target: Path) -> Path:
            _check_files([photo])
            project = self._new_project(s, _display_name(photo))
            with self._lock:
                self._set_projects([*self._projects, project])
            self._upload_into(s, project, [photo])
            project.has_visual = True
            self._chat(s, project, instruction, translate=False)  # it exports next anyway
            return self._export(s, project, target)

        with self._lock:
            self._set_projects([])
        if len(photos) == 1:
            path = one(step, photos[0], targets[0])
            if preview is not None:
                self._write_preview(step, path, Path(preview))
            return
        # Placeholders named for the replies; the sessions are opened inside, one per photo.
        batch = [_Project(session_id="", name=_display_name(photo)) for photo in photos]
        work = {
            id(p): (photo, target) for p, photo, target in zip(batch, photos, targets, strict=True)
        }

        def run(s: _Step, placeholder: _Project) -> Path:
            photo, target = work[id(placeholder)]
            return one(s, photo, target)

        outcomes = self._each(step, batch, run)
        first = next((o.path for o in outcomes if o.path is not None), None)
        if preview is not None and first is not None:
            self._write_preview(step, first, Path(preview))

    def _write_preview(self, step: _Step, video: Path, target: Path) -> None:
        try:
            from skill.local.render import make_preview
        except ImportError:
            raise InputError(
                "a preview image needs the local extra: "
                "pip install 'image-to-video-ai-jiggle[local]'"
            ) from None
        target = self._claim(target)
        with replacing(target, suffix=target.suffix) as temp:
            make_preview(video, temp)
        step.emit(
            Reply(
                ReplyKind.TEXT,
                say(self._reply_language, "preview_saved", path=str(target)),
                {"preview": str(target)},
            )
        )

    # replies for failures

    def _error_reply(self, exc: JiggleError) -> Reply:
        data: dict[str, Any] = {"code": exc.code, "exit_code": exc.exit_code}
        for key in ("register_url", "render_id", "retry_after"):
            value = exc.details.get(key)
            if isinstance(value, str | int | float):
                data[key] = value
        return Reply(ReplyKind.ERROR, exc.human(self._language), data)

    def _unexpected_reply(self, exc: Exception) -> Reply:
        text = say(self._reply_language, "unexpected", detail=type(exc).__name__)
        return Reply(ReplyKind.ERROR, text, {"code": "bug", "exit_code": 1})

    # language and memory

    def _follow_language(self, language: str | None, text: str) -> None:
        if self._fixed_language is not None or not language:
            return
        self._language = language_of(language)
        if self._language == "en":
            self._reply_language = "en"
        else:  # keep the script the user writes in; a message in neither keeps the last one
            script = chinese_script(text)
            if script is not None or not self._reply_language.startswith("zh"):
                self._reply_language = script or "zh"

    def _remember_projects(self) -> None:
        """Write the open projects to the data dir (under the lock), per backend."""
        file = paths.data_dir() / _LAST_SESSION_FILE
        known = _read_json(file)
        known[self._backend_name] = {
            "projects": [{"session_id": p.session_id, "name": p.name} for p in self._projects]
        }
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            write_json(file, known, sync=False)
        except OSError:
            _log.warning("could not remember the open projects in %s", file)

    def _remembered_projects(self) -> list[_Project]:
        entry = _read_json(paths.data_dir() / _LAST_SESSION_FILE).get(self._backend_name)
        listed = entry.get("projects") if isinstance(entry, dict) else None
        return [
            _Project(
                session_id=str(item["session_id"]),
                name=str(item["name"]) if item.get("name") else None,
                has_visual=True,
            )
            for item in (listed if isinstance(listed, list) else [])
            if isinstance(item, dict) and item.get("session_id")
        ]


def _read_json(file: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


class _Progress:
    """A client progress callback that becomes PROGRESS replies, one per whole percent."""

    def __init__(self, step: _Step, phase: str, *, render_id: str | None = None) -> None:
        self._step = step
        self._phase = phase
        self._extra = {"render_id": render_id} if render_id else {}
        self._last: tuple[int, int | None] | None = None

    def __call__(self, done: int, total: int | None) -> None:
        self._step.check()
        key = (done * 100 // total, total) if total else (done, None)
        if key == self._last:
            return
        self._last = key
        self._step.emit(
            Reply(
                ReplyKind.PROGRESS,
                "",
                {"phase": self._phase, "done": done, "total": total, **self._extra},
            )
        )


def _track_dicts(timeline: Timeline) -> list[dict[str, Any]]:
    """The timeline's tracks as JSON-ready dicts, for faces that show more than the summary."""
    return [
        {
            "kind": track.kind,
            "segments": [
                {
                    "name": segment.name,
                    "start_ms": segment.start_ms,
                    "duration_ms": segment.duration_ms,
                    "motion": segment.motion,
                    "intensity": segment.intensity,
                    "loop": segment.loop,
                    "volume": segment.volume_percent if track.kind == "audio" else None,
                }
                for segment in track.segments
            ],
        }
        for track in timeline.tracks
    ]


def _job_dict(job: RenderJob) -> dict[str, Any]:
    return {
        "render_id": job.id,
        "session_id": job.session_id,
        "created": _created_at(job.id),
        "output": job.output_path,
        "status": job.status,
        "progress": job.progress,
    }


def _created_at(render_id: str) -> str | None:
    """Render ids are ``render_<ms since the epoch>``: when it was submitted, if it says."""
    digits = render_id.rpartition("_")[2]
    if not digits.isdigit() or len(digits) < 12:
        return None
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(int(digits) / 1000))


def _check_files(files: Sequence[str]) -> None:
    """Raise the input error for the first local file that cannot be sent, before any call."""
    from skill.client.uploads import is_url, validate

    for file in files:
        if not is_url(file):
            validate(Path(file))


def _excerpt(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _display_name(path_or_url: str) -> str:
    name = path_or_url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return name or path_or_url


def _without_files(text: str, files: Sequence[str]) -> str:
    for file in files:
        text = text.replace(f'"{file}"', " ").replace(f"'{file}'", " ").replace(file, " ")
    return " ".join(text.split())


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
