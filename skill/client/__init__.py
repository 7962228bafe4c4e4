"""The NemoVideo API client: the only code in jiggle that speaks HTTP.

``NemoClient`` covers every endpoint of nemo-api.md for the cloud and the local backend alike;
``JobStore`` keeps pending renders on disk; ``TokenCache`` the anonymous tokens. See
docs/client.md.
"""

from __future__ import annotations

from skill.client._client import DEFAULT_BASE_URL, NemoClient
from skill.client.auth import CachedToken, TokenCache
from skill.client.jobs import JobStore
from skill.client.models import (
    ChatEvent,
    ChatEventKind,
    Credits,
    DownloadProgress,
    MediaInfo,
    RenderJob,
    RenderProgress,
    RenderStatus,
    Session,
    SessionState,
    TurnChanges,
    UploadProgress,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "CachedToken",
    "ChatEvent",
    "ChatEventKind",
    "Credits",
    "DownloadProgress",
    "JobStore",
    "MediaInfo",
    "NemoClient",
    "RenderJob",
    "RenderProgress",
    "RenderStatus",
    "Session",
    "SessionState",
    "TokenCache",
    "TurnChanges",
    "UploadProgress",
]
