"""The knobs of the local backend, in one frozen value shared by every part of the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """How the local backend behaves. The defaults are the offline product's; tests shrink
    the delays and the default duration.

    - ``data_dir``: where tokens, sessions, media and renders live; ``None`` means a temporary
      directory removed at shutdown (nothing survives a restart).
    - ``heartbeat_interval``: seconds between heartbeats while a chat turn works.
    - ``chat_delay``: the director's thinking time before it answers (heartbeats meanwhile).
    - ``seed``: which of the reply's wordings each turn takes (deterministic).
    - ``render_queue_delay``: seconds a render job stays ``pending`` before it starts.
    - ``default_duration``: seconds of a new session's draft.
    - ``clock``: wall-clock time in seconds, replaceable to test token expiry.
    """

    data_dir: Path | None = None
    heartbeat_interval: float = 5.0
    chat_delay: float = 0.0
    seed: int = 0
    render_queue_delay: float = 0.0
    render_workers: int = 1
    default_duration: float = 5.0
    starting_credits: int = 100
    chat_cost: int = 1
    export_cost: int = 10
    token_lifetime: float = 7 * 24 * 3600.0
    tokens_per_client: int | None = 10
    tokens_per_ip: int | None = 10
    max_upload_bytes: int = 200 * 1024 * 1024
    graceful_shutdown: float = 2.0
    clock: Callable[[], float] = field(default=time.time, compare=False)
