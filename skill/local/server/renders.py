"""Render jobs: the renderer runs in worker threads, the event loop only reads job records.

A job goes ``pending`` -> ``rendering`` (progress 5-95) -> ``completed`` (100, an MP4 under
``outputs/``) or ``failed`` (with a reason) or ``cancelled``. Its credits are frozen while it
runs, spent when it completes, given back otherwise. Jobs left unfinished by a stopped backend
start again when a backend opens the same data dir.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from skill.errors import JiggleError
from skill.local.server import bgm
from skill.local.server.config import ServerConfig
from skill.local.server.draft import RenderSettings, read_settings
from skill.local.server.store import Media, RenderJob, Store

__all__ = ["RenderQueue"]

_log = logging.getLogger("skill.local.server")
_FINAL = ("completed", "failed", "cancelled")
_START_PROGRESS, _END_PROGRESS = 5, 95


class _Stop(Exception):
    """Raised from the progress callback to abort a render that was cancelled."""


class RenderQueue:
    """Runs render jobs of ``store`` on a thread pool."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self._store = store
        self._config = config
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, config.render_workers), thread_name_prefix="jiggle-render"
        )
        self._closing = threading.Event()

    def submit(self, job_id: str) -> None:
        self._pool.submit(self._run, job_id)

    def cancel(self, job: RenderJob) -> None:
        """Cancel ``job`` unless it already ended; a running render stops at its next frame."""
        self._finish(job, "cancelled", "cancelled by the user")

    def resume_unfinished(self) -> None:
        """Queue again every job a previous backend left pending or rendering (not those a
        backend still running in another process is rendering)."""
        with self._store.lock:
            unfinished = [
                j
                for j in self._store.renders.values()
                if j.status not in _FINAL and self._store.claim(j)
            ]
            for job in unfinished:
                job.status, job.progress = "pending", _START_PROGRESS
                self._store.save_render(job)
        for job in sorted(unfinished, key=lambda j: j.created_at):
            self.submit(job.id)

    def close(self) -> None:
        """Stop taking jobs; a render in progress is abandoned (it resumes on next start)."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._store.close()  # its unfinished jobs are free for the next backend to take

    # -- the worker -------------------------------------------------------------------------

    def _run(self, job_id: str) -> None:
        if self._closing.wait(self._config.render_queue_delay):
            return
        store = self._store
        with store.lock:
            job = store.renders.get(job_id)
            if job is None or job.status != "pending":
                return
            job.status, job.progress = "rendering", _START_PROGRESS
            store.save_render(job)
        try:
            self._render(job)
        except _Stop:
            if self._closing.is_set():
                return  # shutting down: the job stays "rendering" and resumes next start
            self._finish(job, "cancelled", None)
        except JiggleError as exc:
            self._finish(job, "failed", self._scrub(exc.human("en")))
        except Exception as exc:  # the renderer's own bug: report it, keep the server up
            _log.exception("render %s failed", job_id)
            self._finish(job, "failed", f"the renderer crashed ({type(exc).__name__})")

    def _render(self, job: RenderJob) -> None:
        from skill.local.render import render

        settings = read_settings(job.draft)
        image = self._photo_path(job, settings)
        audio = self._audio_path(job, settings)
        out = self._store.outputs_dir / f"{job.id}.mp4"

        def progress(fraction: float) -> None:
            with self._store.lock:
                if self._closing.is_set() or job.status == "cancelled":
                    raise _Stop
                if job.doomed:
                    raise JiggleError("the render node reported an error (injected render-fail)")
                span = _END_PROGRESS - _START_PROGRESS
                before = job.progress
                job.progress = max(before, _START_PROGRESS + int(span * fraction))
                if job.progress // 10 > before // 10:  # other processes polling it see it move
                    self._store.save_render(job)

        progress(0.0)
        # The renderer writes beside ``out`` and renames when done: no half-written MP4 is served.
        result = render(
            image,
            out,
            motion=settings.motion,
            intensity=settings.intensity,
            aspect=settings.aspect,
            duration=settings.duration,
            fps=settings.fps,
            title=settings.title,
            audio=audio,
            audio_volume=settings.bgm_volume,
            progress=progress,
        )
        with self._store.lock:
            job.output = str(result.path.relative_to(self._store.root))
            job.size = result.path.stat().st_size
            job.duration = result.duration
            job.subject = result.subject
        self._finish(job, "completed", None)

    def _scrub(self, reason: str) -> str:
        """A failure reason without the server's own paths (a file is named by its name)."""
        root = str(self._store.root)
        return re.sub(
            re.escape(root) + r"[/\\]\S*?([^/\\\s]+?)(?=$|[\s'\",;:)])",
            lambda m: m.group(1),
            reason,
        ).replace(root, "the server's data folder")

    def _mine(self, job: RenderJob, media: Media | None) -> Media | None:
        """``media`` if it belongs to the job's user (checked again here, after the export)."""
        if media is None:
            return None
        session = self._store.sessions.get(media.session_id)
        return media if session is not None and session.user_id == job.user_id else None

    def _photo_path(self, job: RenderJob, settings: RenderSettings) -> Path:
        store = self._store
        with store.lock:
            media = self._mine(job, store.media.get(settings.media_id or ""))
            if media is None and settings.src:
                # A client may send back a draft with the photo's URL and no media id.
                media = self._mine(
                    job, next((m for m in store.media.values() if m.key in settings.src), None)
                )
            if media is None or media.file_type != "image":
                session = store.sessions.get(job.session_id)
                media = store.newest_media(session, "image") if session else None
            if media is None:
                raise JiggleError(
                    "the draft has no photo; upload a photo to the session, then export again"
                )
            return store.path_of(media.path)

    def _audio_path(self, job: RenderJob, settings: RenderSettings) -> Path | None:
        if not settings.bgm:
            return None
        with self._store.lock:
            media = self._mine(job, self._store.media.get(settings.bgm_media_id or ""))
            if media is not None and media.file_type == "audio":
                return self._store.path_of(media.path)
        return bgm.lofi_loop(self._store.root / "music")

    def _finish(self, job: RenderJob, status: str, reason: str | None) -> None:
        store = self._store
        with store.lock:
            if job.status in _FINAL:
                return
            user = store.users.get(job.user_id)
            if user is not None and job.frozen:
                user.frozen = max(0, user.frozen - job.frozen)
                if status != "completed":
                    user.available += job.frozen  # nothing was delivered: give the credits back
                job.frozen = 0
                store.save_accounts()
            job.status = status
            job.reason = reason
            if status == "completed":
                job.progress = 100
            store.save_render(job)
