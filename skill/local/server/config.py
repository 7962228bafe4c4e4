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

    The guards (docs/local-backend.md, "Limits and guards"):

    - ``allowed_hosts``: ``Host`` names accepted besides the loopback ones (``localhost``,
      ``127.0.0.1``, ``[::1]``, any port); any other ``Host`` is refused with HTTP 421 (a web
      page cannot reach the server by DNS rebinding).
    - ``file_roots``: the folders ``file://`` upload URLs may read from (symlinks resolved),
      for loopback clients only; none by default (``file://`` refused).
    - ``max_image_pixels``: the largest photo accepted, in pixels (read from the header, before
      any decoding).
    - ``max_title_chars``: the longest title a draft may carry.
    - ``max_json_bytes`` / ``max_json_depth``: the size and nesting of a JSON request body.
    - ``body_timeout``: seconds a request body may stall (no byte arriving); a JSON body must
      arrive entirely within it.
    - ``upload_deadline``: seconds an upload (multipart body, or the server's own download of
      an upload URL) may take in all.
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
    allowed_hosts: tuple[str, ...] = ()
    file_roots: tuple[Path, ...] = ()
    max_image_pixels: int = 50_000_000
    max_title_chars: int = 200
    max_json_bytes: int = 1024 * 1024
    max_json_depth: int = 32
    body_timeout: float = 30.0
    upload_deadline: float = 3600.0
    clock: Callable[[], float] = field(default=time.time, compare=False)
