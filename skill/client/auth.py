"""The token cache: anonymous tokens kept per API origin until they expire.

The service caps anonymous tokens per IP (10 per 7 days), so a token is reused until it
expires. The file lives in the NemoVideo config dir (``skill.paths.config_dir()``), created
with mode 0600 under a temporary name and renamed over the old one, so a reader never sees a
half-written file and no other user can read it even for an instant.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from skill._atomic import write_json
from skill.paths import config_dir
from skill.redact import register_secret

__all__ = ["CachedToken", "TokenCache"]

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


class TokenCache:
    """Tokens by API origin in one JSON file, e.g. the cloud's and a local backend's."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / _FILE_NAME

    def load(self, origin: str) -> CachedToken | None:
        """The unexpired cached token for ``origin``, if any."""
        try:
            token = CachedToken.from_api(self._read().get(origin))
        except ValueError:
            return None  # no entry, or one without a token
        return None if token.expired() else token

    def save(self, origin: str, token: CachedToken) -> None:
        entries = self._read()
        entries[origin] = {
            "token": token.token,
            "user_id": token.user_id,
            "expires_at": token.expires_at.isoformat(),
        }
        self._write(entries)

    def forget(self, origin: str) -> None:
        entries = self._read()
        if entries.pop(origin, None) is not None:
            self._write(entries)

    def _read(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # absent or corrupt: a new token will be fetched and the file rewritten
        tokens = loaded.get("tokens") if isinstance(loaded, dict) else None
        return dict(tokens) if isinstance(tokens, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json(self.path, {"tokens": entries}, indent=1)
