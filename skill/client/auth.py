"""The token cache: anonymous tokens kept per API origin until they expire; and the client id.

The service caps anonymous tokens per IP (10 per 7 days), so a token is reused until it
expires, and two processes signing in at once share one (the second waits for the first's).
The file lives in the NemoVideo config dir (``skill.paths.config_dir()``), created
with mode 0600 under a temporary name and renamed over the old one, so a reader never sees a
half-written file and no other user can read it even for an instant. When that folder cannot be
written, tokens go to jiggle's data dir instead (read together with the config dir's file), so
a read-only config folder does not cost a new anonymous token on every run.

The ``X-Client-Id`` of the anonymous-token call is kept too (:func:`client_id`):
``$NEMO_CLIENT_ID``, else the file ``client_id`` in the same config dir, which NemoVideo's own
skill writes and every NemoVideo skill on the machine shares (created with a uuid4, mode 0600).
The service caps anonymous tokens per client id and per address, so a new id per run would spend
that cap; the same id is sent again when a token expires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from skill._atomic import write_json
from skill.errors import TokenNotSaved
from skill.paths import client_id_path, config_dir, data_dir
from skill.redact import register_secret

__all__ = ["CLIENT_ID_ENV", "CachedToken", "TokenCache", "client_id", "token_id"]

_FILE_NAME = "jiggle-token.json"
# A token this close to its expiry is treated as expired: a long render must not outlive it.
_EXPIRY_MARGIN = timedelta(minutes=5)
_DEFAULT_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class CachedToken:
    """A token, whose user it belongs to, and when it expires. Its repr hides the token."""

    token: str
    user_id: str | None
    expires_at: datetime
    anonymous: bool = True

    def __post_init__(self) -> None:
        register_secret(self.token)

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at - _EXPIRY_MARGIN

    def __repr__(self) -> str:
        return f"CachedToken(user_id={self.user_id!r}, expires_at={self.expires_at.isoformat()!r})"

    @classmethod
    def from_api(cls, data: Any) -> CachedToken:
        """From the anonymous-token answer's ``data`` or a cache entry (same keys).

        Raises ValueError without a token.
        """
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise ValueError("the anonymous-token answer carries no token")
        return cls(
            token=data["token"],
            user_id=str(data["user_id"]) if data.get("user_id") else None,
            expires_at=_parse_time(data.get("expires_at")),
        )


def _parse_time(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Seconds since the epoch (or milliseconds, if it is that large).
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC) + _DEFAULT_LIFETIME


def token_id(token: str) -> str:
    """A short, stable name for a token that does not reveal it (the jobs file keeps this,
    never the token): the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class TokenCache:
    """Tokens by API origin in one JSON file, e.g. the cloud's and a local backend's.

    ``tokens`` holds the token in use per origin; ``accounts`` every unexpired token per origin
    keyed by :func:`token_id`, so that a render made with an earlier token (another anonymous
    account) can still be polled and downloaded with its own. Writes happen under a lock across
    processes (a :class:`filelock.FileLock` on ``.jiggle-token.json.lock`` beside the file that
    is written to) and re-read the file first, so two processes merge their tokens instead of the
    last writer winning.
    ``locked()`` holds that lock across a sign-in: a second process waits for the first's
    token instead of creating another account. ``key`` files every origin under one name.
    """

    def __init__(
        self, path: Path | None = None, *, key: str | None = None, fallback: Path | None = None
    ) -> None:
        self.path = path if path is not None else config_dir() / _FILE_NAME
        # Where tokens go when the config folder cannot be written (a read-only home, a
        # container): jiggle's own data dir, so a run does not spend a new token every time.
        if fallback is None and path is None:
            fallback = data_dir() / _FILE_NAME
        self.fallback = fallback
        self.key = key
        self._rlock = threading.RLock()
        self._depth = 0
        self._held: FileLock | None = None

    def _target(self) -> Path:
        """The file new tokens are written to: the cache's own, else the fallback."""
        own, fallback = self.path.parent, self.fallback
        if fallback is not None and self._writable(own) and not self._writable(fallback.parent):
            return fallback
        return self.path

    def _origin(self, origin: str) -> str:
        return self.key or origin

    def load(self, origin: str) -> CachedToken | None:
        """The unexpired cached token for ``origin``, if any."""
        try:
            token = CachedToken.from_api(self._read().get(self._origin(origin)))
        except ValueError:
            return None  # no entry, or one without a token
        return None if token.expired() else token

    def find(
        self, origin: str, *, token_id: str | None = None, user_id: str | None = None
    ) -> CachedToken | None:
        """A cached token of ``origin`` by its :func:`token_id`, else the newest unexpired one of
        the account ``user_id``; expired ones too (the caller tells the user). None if none."""
        entries = self._accounts().get(self._origin(origin), {})
        current = self._read().get(self._origin(origin))
        candidates: list[CachedToken] = []
        for raw in [current, *entries.values()]:
            with contextlib.suppress(ValueError):
                candidates.append(CachedToken.from_api(raw))
        if token_id:
            for candidate in candidates:
                if _token_id(candidate.token) == token_id:
                    return candidate
        if user_id:
            mine = [c for c in candidates if c.user_id == user_id]
            if mine:
                return max(mine, key=lambda c: c.expires_at)
        return None

    def save(self, origin: str, token: CachedToken) -> None:
        """Keep ``token`` as the one in use for ``origin`` (merged with what other processes
        saved). Raises :class:`TokenNotSaved`, naming the folder, when it cannot be written."""
        key = self._origin(origin)
        entry = {
            "token": token.token,
            "user_id": token.user_id,
            "expires_at": token.expires_at.isoformat(),
        }
        problem = self.writable()
        if problem is not None:
            raise TokenNotSaved(_describe(problem), folder=str(self.path.parent))
        with self.locked():
            tokens, accounts = self._read(), self._accounts()
            tokens[key] = entry
            accounts.setdefault(key, {})[_token_id(token.token)] = entry
            try:
                self._write(tokens, accounts)
            except OSError as exc:
                raise TokenNotSaved(_describe(exc), folder=str(self._target().parent)) from None

    def forget(self, origin: str) -> None:
        """Stop using the token of ``origin``; it stays among the accounts (for the renders
        it owns) until it expires."""
        with self.locked():
            tokens = self._read()
            if tokens.pop(self._origin(origin), None) is not None:
                with contextlib.suppress(OSError):
                    self._write(tokens, self._accounts())

    def writable(self) -> OSError | None:
        """None if the cache (or its fallback) takes new files, else the error that says why
        the cache's own folder does not."""
        problem = self._writable(self.path.parent)
        if (
            problem is not None
            and self.fallback is not None
            and not self._writable(self.fallback.parent)
        ):
            return None
        return problem

    @staticmethod
    def _writable(folder: Path) -> OSError | None:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, name = tempfile.mkstemp(dir=folder, prefix=f".{_FILE_NAME}.", suffix=".probe")
            os.close(handle)
            os.unlink(name)
        except OSError as exc:
            return exc
        return None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cache's lock, across processes (re-entrant in this one). Best effort: when
        neither folder takes a lock file, nothing is locked (nothing can be written there)."""
        with self._rlock:
            if self._depth == 0:
                self._held = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._held is not None:
                    held, self._held = self._held, None
                    with contextlib.suppress(OSError):
                        held.release()

    def _acquire(self) -> FileLock | None:
        """Lock ``.jiggle-token.json.lock`` beside the file tokens are written to: the cache's
        own folder, else (read-only) the fallback's, which every process picks alike."""
        for path in (self.path, self.fallback):
            if path is None:
                continue
            lock = FileLock(path.with_name(f".{path.name}.lock"), mode=0o600)
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                lock.acquire()
            except OSError:
                continue  # a folder that cannot take the lock file: the next one
            return lock
        return None

    def _load_file(self) -> dict[str, Any]:
        """The cache, merged with its fallback (whose entries are the newer ones)."""
        merged: dict[str, Any] = {"tokens": {}, "accounts": {}}
        for path in (self.path, self.fallback):
            if path is None:
                continue
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # absent or corrupt: a new token will be fetched and written
            if not isinstance(loaded, dict):
                continue
            if isinstance(loaded.get("tokens"), dict):
                merged["tokens"].update(loaded["tokens"])
            for origin, by_id in (loaded.get("accounts") or {}).items():
                if isinstance(by_id, dict):
                    merged["accounts"].setdefault(origin, {}).update(by_id)
        return merged

    def _read(self) -> dict[str, Any]:
        tokens = self._load_file().get("tokens")
        return dict(tokens) if isinstance(tokens, dict) else {}

    def _accounts(self) -> dict[str, dict[str, Any]]:
        accounts = self._load_file().get("accounts")
        if not isinstance(accounts, dict):
            return {}
        return {k: dict(v) for k, v in accounts.items() if isinstance(v, dict)}

    def _write(self, entries: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        kept: dict[str, dict[str, Any]] = {}
        for origin, by_id in accounts.items():
            alive = {tid: raw for tid, raw in by_id.items() if not _expired_long_ago(raw, now)}
            if alive:
                kept[origin] = alive
        target = self._target()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json(target, {"tokens": entries, "accounts": kept}, indent=1)


_token_id = token_id


def _expired_long_ago(raw: Any, now: datetime) -> bool:
    try:
        token = CachedToken.from_api(raw)
    except ValueError:
        return True
    # Kept a day past expiry, so that the error about a render's account can say "expired".
    return token.expires_at + timedelta(days=1) < now


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# -- the client id -----------------------------------------------------------------------------

CLIENT_ID_ENV = "NEMO_CLIENT_ID"
# What goes in the header: a uuid4, or the public skill's fallback "client-<seconds>-<random>".
_CLIENT_ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_client_id_lock = threading.Lock()
# The id of this process when no file could keep it (a read-only home): one id per process.
_unsaved_client_id: list[str] = []


def client_id(*, renew: bool = False) -> str:
    """The ``X-Client-Id`` to sign in with: ``$NEMO_CLIENT_ID`` if set, else the one kept in
    :func:`skill.paths.client_id_path` (shared with other NemoVideo skills), else a new uuid4
    written there (mode 0600; jiggle's data dir when the config dir cannot be written).

    ``renew``: the service refused the id (HTTP 400 on the anonymous-token call): a new one
    replaces the kept one (an id from ``$NEMO_CLIENT_ID`` is not written anywhere).
    """
    from_env = os.environ.get(CLIENT_ID_ENV, "").strip()
    with _client_id_lock:
        if from_env and _CLIENT_ID_SHAPE.match(from_env):
            if not renew:
                return from_env
            return _fresh_unsaved()
        places = [client_id_path(), data_dir() / "client_id"]
        if not renew:
            for place in places:
                kept = _read_client_id(place)
                if kept is not None:
                    return kept
            if _unsaved_client_id:
                return _unsaved_client_id[0]
        fresh = str(uuid.uuid4())
        for place in places:
            try:
                return _write_client_id(place, fresh, replace=renew)
            except OSError:
                continue  # read-only: the next place
        _log_unsaved()
        _unsaved_client_id[:] = [fresh]
        return fresh


def _fresh_unsaved() -> str:
    fresh = str(uuid.uuid4())
    _unsaved_client_id[:] = [fresh]
    return fresh


def _read_client_id(place: Path) -> str | None:
    try:
        text = place.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return text if _CLIENT_ID_SHAPE.match(text) else None


def _write_client_id(place: Path, value: str, *, replace: bool) -> str:
    """Write ``value`` to ``place`` (0600). Without ``replace``, an id another process wrote
    meanwhile wins (and is returned), so two processes starting at once share one id."""
    place.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temp = tempfile.mkstemp(dir=place.parent, prefix=".client_id.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, f"{value}\n".encode("ascii"))
        os.fsync(handle)
        os.close(handle)
        handle = -1
        if replace:
            os.replace(temp, place)
            return value
        try:
            os.link(temp, place)  # fails if the file appeared meanwhile
        except FileExistsError:
            kept = _read_client_id(place)
            if kept is not None:
                return kept
            os.replace(temp, place)  # an unusable id is there: ours replaces it
            return value
        return value
    finally:
        if handle >= 0:
            os.close(handle)
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _log_unsaved() -> None:
    import logging

    logging.getLogger("skill.client").info(
        "could not keep the client id in %s; using one for this run", client_id_path().parent
    )
