"""Renders not yet downloaded, kept on disk so that Ctrl-C or a crash never orphans one.

The render id is the only handle on a job (nemo-api.md §6). The client adds a job before it
submits it and removes it once the file is downloaded (or the render failed or was cancelled);
``jiggle jobs`` lists what is left and ``jiggle resume ID`` finishes it. The file is
``jobs.json`` in the data dir, rewritten atomically under an advisory lock, so two jiggle
processes can share it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from skill._atomic import write_json
from skill.client.models import RenderJob
from skill.paths import data_dir

__all__ = ["JobStore"]

_Records = list[dict[str, Any]]  # named before JobStore.list shadows the builtin in its body


class JobStore:
    """``list()``, ``get(id)``, ``add(job)``, ``update(job)``, ``remove(id)`` on the jobs file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else data_dir() / "jobs.json"

    def list(self) -> list[RenderJob]:
        """Pending renders, oldest first."""
        return [RenderJob.from_record(record) for record in self._records()]

    def get(self, render_id: str) -> RenderJob | None:
        for record in self._records():
            if record.get("id") == render_id:
                return RenderJob.from_record(record)
        return None

    def add(self, job: RenderJob, *, replaces: str | None = None) -> None:
        """Remember ``job`` (replacing the entry ``replaces`` or one with the same id)."""
        with self._locked() as records:
            old_ids = {job.id, replaces}
            kept = [r for r in records if r.get("id") not in old_ids]
            record = job.to_record()
            record["added_at"] = next(
                (r.get("added_at") for r in records if r.get("id") in old_ids), time.time()
            )
            records[:] = [*kept, record]

    update = add

    def remove(self, render_id: str) -> bool:
        """Forget a render; False if it was not there."""
        with self._locked() as records:
            before = len(records)
            records[:] = [r for r in records if r.get("id") != render_id]
            return len(records) != before

    def _records(self) -> _Records:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        jobs = loaded.get("jobs") if isinstance(loaded, dict) else None
        if not isinstance(jobs, list):
            return []
        return [j for j in jobs if isinstance(j, dict) and isinstance(j.get("id"), str)]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[_Records]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with FileLock(lock_path, mode=0o600):
            records = self._records()
            snapshot: _Records = [dict(r) for r in records]
            yield records
            if records != snapshot:
                self._write(records)

    def _write(self, records: _Records) -> None:
        write_json(self.path, {"jobs": records}, indent=1)
