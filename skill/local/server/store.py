"""What the local backend remembers: users and their credits, tokens, sessions, media, renders.

Several processes may open the same data dir at once (parallel ``jiggle ... --backend local``
commands, a REPL, the MCP server, ``jiggle serve-local``), each with its own embedded backend.
They share the state through the disk:

- every record is its own JSON file, replaced atomically (a temporary file, then
  ``os.replace``): ``accounts/users/``, ``accounts/tokens/``, ``accounts/media/``,
  ``sessions/`` and ``renders/``; nothing is ever rewritten whole, so one writer cannot undo
  another's records;
- ``lock`` is a lock across threads *and* processes (a :class:`filelock.FileLock` on
  ``store.lock``, which is ``flock`` on Linux and macOS): callers
  hold it around every read-modify-write, as they always have;
- taking it (outermost level) first brings the in-memory records up to date with the disk
  when another process wrote since this one last looked (``store.generation`` changes on
  every write): changed records are updated *in place*, so a ``User`` or ``Session`` a caller
  fetched earlier shows the current credits and draft once it holds the lock again; records
  new to this process appear, deleted ones go. A credit charged or an edit made under the lock
  is therefore made on the latest state and written before any other process can look.

A render job names the process that runs it (``owner``); each process holds a lease (a
``FileLock`` on ``owners/<id>.lock``) while it lives, so a starting backend takes over only
jobs whose process has gone. A data dir written by an older version (one ``accounts.json``)
is split into records on first start; the old file is kept as ``accounts.json.migrated``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from filelock import FileLock

from skill._atomic import replacing, write_json

__all__ = ["Media", "RenderJob", "Session", "Store", "StoreLock", "Token", "User", "new_id"]

_ALPHABET = string.ascii_letters + string.digits
_T = TypeVar("_T")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FINAL = ("completed", "failed", "cancelled")


def new_id(prefix: str, length: int = 24) -> str:
    """An opaque random identifier: ``prefix`` then letters and digits only."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class User:
    user_id: str
    available: int
    frozen: int = 0


@dataclass
class Token:
    token: str = field(repr=False)  # a secret: never in a repr or a log line
    user_id: str
    client_id: str
    ip: str
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class Media:
    media_id: str
    session_id: str
    filename: str
    file_type: str
    path: str  # relative to the data dir
    key: str  # the unguessable part of its download URL
    size: int
    hash: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None


@dataclass
class Session:
    session_id: str
    task_id: str
    user_id: str
    task_name: str
    language: str
    created_at: float
    draft: dict[str, Any]
    # Motion chosen before a photo arrived; applied to the photo's segment on upload.
    style: dict[str, Any] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)  # media ids, oldest first
    turns: int = 0
    # The edit history: snapshots of {draft, style} before each edit turn, and after each undo.
    undo: list[dict[str, Any]] = field(default_factory=list)
    redo: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RenderJob:
    id: str
    session_id: str
    user_id: str
    status: str  # pending | rendering | completed | failed | cancelled
    progress: int
    created_at: float
    draft: dict[str, Any]
    key: str
    frozen: int
    reason: str | None = None
    output: str | None = None  # relative to the data dir
    size: int | None = None
    duration: float | None = None
    subject: str | None = None  # how the renderer found what moves (person, transparency, ...)
    doomed: bool = False  # a render-fail fault is armed for this job
    owner: str | None = None  # the process (Store.owner) that renders it


def _from_dict(cls: type[_T], data: dict[str, Any]) -> _T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _file_name(key: str) -> str:
    """A record's file name: its id when that is a plain name, else a digest of it (a token
    is a secret and never becomes a file name)."""
    if _SAFE_NAME.match(key):
        return f"{key}.json"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".json"


@dataclass(frozen=True)
class _Kind:
    """One kind of record: the ``Store`` attribute holding it, its folder, class and key."""

    attr: str
    folder: str
    cls: type[Any]
    key: str
    secret: bool = False  # its key is never used as a file name


_USERS = _Kind("users", "accounts/users", User, "user_id")
_TOKENS = _Kind("tokens", "accounts/tokens", Token, "token", secret=True)
_MEDIA = _Kind("media", "accounts/media", Media, "media_id")
_SESSIONS = _Kind("sessions", "sessions", Session, "session_id")
_RENDERS = _Kind("renders", "renders", RenderJob, "id")
_KINDS = (_USERS, _TOKENS, _MEDIA, _SESSIONS, _RENDERS)
_ACCOUNTS = (_USERS, _TOKENS, _MEDIA)

_Signature = tuple[int, int, int]  # inode, mtime (ns), size: a replaced file changes inode


def _signature(path: Path) -> _Signature | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class _FolderLock:
    """The lock of a read-only data dir, where no lock file can be created: ``flock`` on the
    folder itself where the platform has it (nothing is written there, so elsewhere a thread
    lock is all it needs)."""

    def __init__(self, folder: Path) -> None:
        self._fd: int | None = None
        with contextlib.suppress(OSError):
            self._fd = os.open(folder, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def _flock(self, operation: str) -> None:
        try:
            import fcntl
        except ImportError:
            return
        if self._fd is not None:
            fcntl.flock(self._fd, getattr(fcntl, operation))

    def acquire(self) -> None:
        self._flock("LOCK_EX")

    def release(self) -> None:
        self._flock("LOCK_UN")


def _process_lock(path: Path) -> FileLock | _FolderLock:
    """The lock across processes: a FileLock on ``path`` (mode 0600), else, in a read-only
    data dir, the folder's."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600))
    except OSError:
        return _FolderLock(path.parent)
    # Shared by the threads (the thread lock lets one in at a time); a short poll, as every
    # request takes this lock.
    return FileLock(path, mode=0o600, thread_local=False, poll_interval=0.002)


class StoreLock:
    """A reentrant lock across the threads of this process and every other process that
    opens the same data dir: a thread lock, then a :class:`filelock.FileLock` on a lock file.
    ``on_acquire`` runs each time the outermost level is taken, ``on_release`` before it is let
    go."""

    def __init__(
        self, path: Path, on_acquire: Callable[[], None], on_release: Callable[[], None]
    ) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._files = _process_lock(path)
        self._on_acquire = on_acquire
        self._on_release = on_release

    def acquire(self) -> None:
        self._threads.acquire()
        self._depth += 1
        if self._depth > 1:
            return
        try:
            self._files.acquire()
            try:
                self._on_acquire()
            except BaseException:
                self._files.release()
                raise
        except BaseException:
            self._depth -= 1
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._depth == 1:
                try:
                    self._on_release()
                finally:
                    self._files.release()
        finally:
            self._depth -= 1
            self._threads.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Store:
    """The backend's state. Callers hold ``lock`` while they read and change records (taking
    it brings them up to date with other processes), then call the matching ``save_*`` before
    letting it go, so the change reaches the disk before anyone else can read it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[str, Session] = {}
        self.media: dict[str, Media] = {}
        self.renders: dict[str, RenderJob] = {}
        self.root.mkdir(parents=True, exist_ok=True)
        subs = ["sessions", "renders", "media", "outputs", "owners"]
        for sub in [*subs, *(kind.folder for kind in _ACCOUNTS)]:
            with contextlib.suppress(OSError):  # read-only: reads still work, writes will say
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        # What this process last read or wrote of each record file, to notice others' writes.
        self._signatures: dict[Path, _Signature] = {}
        self._keys: dict[Path, tuple[str, str]] = {}  # file -> (attr, record key)
        self._written: dict[tuple[str, str], dict[str, Any]] = {}  # what the disk holds
        self._generation: str | None = None
        self._changed = False  # this lock hold wrote something
        # This process's lease: held while it lives, so others leave its render jobs alone.
        self.owner = new_id("p_", 16)
        self._lease: FileLock | None = self._take_lease()
        self.lock = StoreLock(self.root / "store.lock", self._refresh, self._publish)
        with self.lock:
            self._migrate()
            self._scan()
            for lease in (self.root / "owners").glob("p_*.lock"):
                if lease.stem != self.owner:
                    self._alive(lease.stem)  # removes the leases of processes gone

    # -- paths ------------------------------------------------------------------------------

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    def newest_media(self, session: Session, kind: str) -> Media | None:
        """The session's latest upload of ``kind`` (``image``, ``video`` or ``audio``)."""
        with self.lock:
            for media_id in reversed(session.media):
                media = self.media.get(media_id)
                if media is not None and media.file_type == kind:
                    return media
        return None

    # -- saving -----------------------------------------------------------------------------

    def save_accounts(self) -> None:
        """Write every user, token and media record changed since it was last read or
        written (only those: another process's records are never overwritten)."""
        with self.lock:
            for kind in _ACCOUNTS:
                table: dict[str, Any] = getattr(self, kind.attr)
                for key, record in list(table.items()):
                    if self._written.get((kind.attr, key)) != asdict(record):
                        self._write(kind, key, record)

    def save_session(self, session: Session) -> None:
        with self.lock:
            self._write(_SESSIONS, session.session_id, session)

    def forget_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)
            self._written.pop((_SESSIONS.attr, session_id), None)
            path = self._path(_SESSIONS, session_id)
            self._signatures.pop(path, None)
            self._keys.pop(path, None)
            path.unlink(missing_ok=True)
            self._changed = True

    def save_render(self, job: RenderJob) -> None:
        """Write ``job``; a job no process has claimed yet becomes this process's."""
        with self.lock:
            if job.owner is None:
                job.owner = self.owner
            self._write(_RENDERS, job.id, job)

    # -- render jobs across processes -------------------------------------------------------

    def claim(self, job: RenderJob) -> bool:
        """Whether this process may run ``job``: it is this process's, or its process has
        gone (then it becomes this process's; save it). Hold ``lock``."""
        if job.owner == self.owner:
            return True
        if job.owner is not None and self._alive(job.owner):
            return False
        job.owner = self.owner
        return True

    def _take_lease(self) -> FileLock | None:
        """This process's lease, locked before the file gets its name (so no other process can
        mistake it for the lease of a process gone); none in a read-only data dir."""
        lease: FileLock | None = None
        try:
            with replacing(self.root / "owners" / f"{self.owner}.lock") as temp:
                # Shared by the threads: close() may run on another thread than this one.
                lease = FileLock(temp, mode=0o600, thread_local=False)
                lease.acquire(timeout=0)
        except OSError:  # Timeout included
            if lease is not None and lease.is_locked:
                lease.release()
            return None
        return lease

    def _alive(self, owner: str) -> bool:
        """Whether the process ``owner`` still holds its lease."""
        if not _SAFE_NAME.match(owner):
            return False
        path = self.root / "owners" / f"{owner}.lock"
        if not path.exists():
            return False  # no lease file: that process has gone
        probe = FileLock(path, thread_local=False)
        try:
            probe.acquire(timeout=0)
        except OSError:  # Timeout: it holds its lease; else a read-only data dir, where no
            return True  # job can be saved anyway: leave its jobs alone
        try:
            path.unlink(missing_ok=True)  # a dead process's lease: tidy it away
        finally:
            probe.release()
        return False

    def close(self) -> None:
        """Give up this process's lease: its unfinished render jobs may now be taken over by
        the next backend that starts on the data dir (the store stays usable)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            with contextlib.suppress(OSError):
                (self.root / "owners" / f"{self.owner}.lock").unlink(missing_ok=True)
            lease.release()

    # -- the disk ---------------------------------------------------------------------------

    def _path(self, kind: _Kind, key: str) -> Path:
        folder = self.root / kind.folder
        if kind.secret:
            return folder / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".json")
        return folder / _file_name(key)

    def _write(self, kind: _Kind, key: str, record: Any) -> None:
        data = asdict(record)
        path = self._path(kind, key)
        write_json(path, data, sync=False)
        self._written[(kind.attr, key)] = data
        self._keys[path] = (kind.attr, key)
        signature = _signature(path)
        if signature is not None:
            self._signatures[path] = signature
        self._changed = True

    def _refresh(self) -> None:
        """On taking the lock: catch up with what other processes wrote meanwhile."""
        self._changed = False
        generation = self._read_generation()
        if generation == self._generation:
            return  # nobody wrote since this process last looked
        self._generation = generation
        self._scan()

    def _publish(self) -> None:
        """On letting the lock go: tell other processes there is something new to read."""
        if not self._changed:
            return
        self._changed = False
        generation = new_id("", 16)
        path = self.root / "store.generation"
        with replacing(path) as temp:
            temp.write_text(generation, encoding="utf-8")
        self._generation = generation

    def _read_generation(self) -> str | None:
        try:
            return (self.root / "store.generation").read_text(encoding="utf-8")
        except OSError:
            return None

    def _scan(self) -> None:
        """Read every record file that changed since this process last saw it."""
        for kind in _KINDS:
            table: dict[str, Any] = getattr(self, kind.attr)
            folder = self.root / kind.folder
            present: set[Path] = set()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.endswith(".json"):
                    continue
                path = Path(entry.path)
                present.add(path)
                signature = _signature(path)
                if signature is None or self._signatures.get(path) == signature:
                    continue
                data = _read_json(path)
                if not isinstance(data, dict):
                    continue
                try:
                    record = _from_dict(kind.cls, data)
                except TypeError:
                    continue  # not a record of this kind: leave it alone
                key = str(getattr(record, kind.key))
                self._signatures[path] = signature
                self._keys[path] = (kind.attr, key)
                self._written[(kind.attr, key)] = asdict(record)
                current = table.get(key)
                if current is None:
                    table[key] = record
                else:
                    for name in (f.name for f in fields(kind.cls)):
                        setattr(current, name, getattr(record, name))
            for path in [p for p in self._keys if p.parent == folder and p not in present]:
                attr, key = self._keys.pop(path)
                self._signatures.pop(path, None)
                self._written.pop((attr, key), None)
                table.pop(key, None)  # another process deleted it

    def _migrate(self) -> None:
        """Split an older version's ``accounts.json`` into one file per record (once). In a
        data dir it cannot write, the records are only read."""
        old = self.root / "accounts.json"
        accounts = _read_json(old)
        if accounts is None:
            return
        records: list[tuple[_Kind, Any]] = []
        for kind, name in ((_USERS, "users"), (_TOKENS, "tokens"), (_MEDIA, "media")):
            items = accounts.get(name) if isinstance(accounts, dict) else None
            for item in items if isinstance(items, list) else []:
                with contextlib.suppress(TypeError):
                    if isinstance(item, dict):
                        records.append((kind, _from_dict(kind.cls, item)))
        try:
            for kind, record in records:
                path = self._path(kind, str(getattr(record, kind.key)))
                if not path.exists():
                    write_json(path, asdict(record), sync=True)
            os.replace(old, self.root / "accounts.json.migrated")
        except OSError:
            for kind, record in records:  # read-only: serve them from memory
                getattr(self, kind.attr).setdefault(str(getattr(record, kind.key)), record)
            return
        self._changed = True
