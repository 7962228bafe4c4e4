"""Which backend the host talks to: the NemoVideo cloud, or the embedded local backend.

``cloud`` (the default, as the skill promises) speaks to ``NEMO_API_BASE`` or NemoVideo's own
origin, with ``NEMO_TOKEN`` if the user set one. ``local`` starts :class:`LocalBackend` in this
process and points the client at it with a token of its own: the user's ``NEMO_TOKEN`` only ever
goes to the cloud origin. ``JIGGLE_BACKEND`` chooses the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skill import paths
from skill.errors import InputError

if TYPE_CHECKING:
    from skill.client import JobStore, NemoClient, Session, TokenCache

__all__ = ["BACKENDS", "Connection", "connect", "job_store", "resolve_backend"]

BACKENDS = ("cloud", "local")
# The embedded backend renders in seconds: poll it often. The cloud keeps the client's pace
# (the seed's 30 s).
_LOCAL_POLL_INTERVAL = 0.5
_LOCAL_FIRST_POLL = 0.25


def resolve_backend(name: str | None = None) -> str:
    """``name``, else ``$JIGGLE_BACKEND``, else ``cloud``; anything else is a clear input error."""
    chosen = (name or os.environ.get("JIGGLE_BACKEND") or "cloud").strip().lower()
    if chosen not in BACKENDS:
        raise InputError(f"unknown backend {chosen!r}: choose --backend cloud or --backend local")
    return chosen


@dataclass
class Connection:
    """A client bound to one backend, and the embedded server when there is one."""

    name: str
    client: NemoClient
    server: Any = None  # the LocalBackend this process started, if any

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.server is not None:
                self.server.__exit__(None, None, None)
                self.server = None


def job_store(name: str) -> JobStore:
    """The pending-render file of a backend: a local render id means nothing to the cloud."""
    from skill.client import JobStore

    if name == "local":
        return JobStore(paths.data_dir() / "jobs-local.json")
    return JobStore()


def _embedded_token_cache(folder: Path) -> TokenCache:
    """The token of the embedded backend kept in its data dir, under one fixed key."""
    from skill.client import TokenCache

    return TokenCache(folder / "client-token.json", key=_EMBEDDED)


_EMBEDDED = "embedded-local-backend"


def _local_data_dir() -> Path:
    # Sessions, renders and tokens of the embedded backend survive between commands, so that
    # `jiggle upload --backend local` then `jiggle export --backend local` work.
    return paths.data_dir() / "local-backend"


def connect(
    name: str,
    *,
    base_url: str | None = None,
    token: str | None = None,
    local_data_dir: Path | None = None,
    poll_interval: float | None = None,
    sleep: Callable[[float], None] | None = None,
    on_session_replaced: Callable[[Session], None] | None = None,
) -> Connection:
    """A :class:`Connection` to the backend ``name`` (``cloud`` or ``local``).

    With ``name="local"`` and a ``base_url``, the client talks to that already running local
    backend (as tests do) instead of starting one.
    """
    from skill.client import NemoClient

    options: dict[str, Any] = {"jobs": job_store(name)}
    if sleep is not None:
        options["sleep"] = sleep
    if on_session_replaced is not None:
        options["on_session_replaced"] = on_session_replaced
    if name == "cloud":
        if poll_interval is not None:
            options.update(poll_interval=poll_interval, first_poll_delay=poll_interval)
        # base_url None: the client takes $NEMO_API_BASE or NemoVideo's own origin.
        client = NemoClient(base_url=base_url, token=token, **options)
        return Connection(name="cloud", client=client)

    interval = poll_interval if poll_interval is not None else _LOCAL_POLL_INTERVAL
    options.update(poll_interval=interval, first_poll_delay=min(interval, _LOCAL_FIRST_POLL))
    server: Any = None
    if base_url is None:
        from skill.local.server import LocalBackend

        folder = local_data_dir or _local_data_dir()
        server = LocalBackend(data_dir=folder)
        server.__enter__()
        base_url = str(server.base_url)
        # The embedded backend listens on a new port each time, but its users and sessions
        # persist: keep one token for it whatever the port, or every command would be a new
        # user (and the backend caps new tokens, as the service does).
        options["token_cache"] = _embedded_token_cache(folder)
    try:
        # token "" rather than None: the client must not fall back to $NEMO_TOKEN, which is
        # the user's cloud credential; the local backend issues its own anonymous token.
        client = NemoClient(base_url=base_url, token=token or "", **options)
    except BaseException:
        if server is not None:
            server.__exit__(None, None, None)
        raise
    return Connection(name="local", client=client, server=server)
