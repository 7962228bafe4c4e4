"""What the local backend remembers: users and their credits, tokens, sessions, media, renders.

Everything lives in memory behind one lock and is written through to JSON files under the data
dir (atomically: a temporary file, then ``os.replace``), so a backend started again on the same
``--data-dir`` picks up where the last one stopped.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from skill._atomic import write_json

__all__ = ["Media", "RenderJob", "Session", "Store", "Token", "User", "new_id"]

_ALPHABET = string.ascii_letters + string.digits
_T = TypeVar("_T")


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


def _from_dict(cls: type[_T], data: dict[str, Any]) -> _T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class Store:
    """The backend's state. Callers hold ``lock`` while they read and change records, then
    call the matching ``save_*`` so the change reaches the disk."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[str, Session] = {}
        self.media: dict[str, Media] = {}
        self.renders: dict[str, RenderJob] = {}
        for sub in ("sessions", "renders", "media", "outputs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._load()

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

    # -- persistence ------------------------------------------------------------------------

    def _load(self) -> None:
        accounts = _read_json(self.root / "accounts.json") or {}
        for item in accounts.get("users", []):
            user = _from_dict(User, item)
            self.users[user.user_id] = user
        for item in accounts.get("tokens", []):
            token = _from_dict(Token, item)
            self.tokens[token.token] = token
        for item in accounts.get("media", []):
            media = _from_dict(Media, item)
            self.media[media.media_id] = media
        for file in sorted((self.root / "sessions").glob("*.json")):
            data = _read_json(file)
            if isinstance(data, dict):
                session = _from_dict(Session, data)
                self.sessions[session.session_id] = session
        for file in sorted((self.root / "renders").glob("*.json")):
            data = _read_json(file)
            if isinstance(data, dict):
                job = _from_dict(RenderJob, data)
                self.renders[job.id] = job

    def save_accounts(self) -> None:
        with self.lock:
            value = {
                "users": [asdict(u) for u in self.users.values()],
                "tokens": [asdict(t) for t in self.tokens.values()],
                "media": [asdict(m) for m in self.media.values()],
            }
            write_json(self.root / "accounts.json", value, sync=False)

    def save_session(self, session: Session) -> None:
        with self.lock:
            write_json(
                self.root / "sessions" / f"{session.session_id}.json", asdict(session), sync=False
            )

    def forget_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)
            (self.root / "sessions" / f"{session_id}.json").unlink(missing_ok=True)

    def save_render(self, job: RenderJob) -> None:
        with self.lock:
            write_json(self.root / "renders" / f"{job.id}.json", asdict(job), sync=False)
