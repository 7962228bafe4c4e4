"""The wire facts of the NemoVideo agent API (``nemo-api.md``), stated once.

The business codes, the HTTP status each travels with, the header names, the endpoint paths,
the service's URLs and the media it takes (formats, extensions, MIME types, kinds and the
signatures that tell them by content). The client and the local backend both read them from
here; neither imports the other. The media table is ``data/protocol.yaml``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from skill._data import load_yaml

__all__ = [
    "ACCEPTED_FORMATS",
    "APP",
    "ATTRIBUTION_HEADERS",
    "AUTHORIZATION",
    "CLAIM_URL",
    "CLIENT_ID",
    "HTTP_STATUS",
    "MAX_UPLOAD_MB",
    "REGISTER_URL",
    "SKILL_PLATFORM",
    "SKILL_SOURCE",
    "SKILL_VERSION",
    "ApiCode",
    "Endpoint",
    "MediaFormat",
    "media_extensions",
    "media_formats",
    "sniff",
]


class ApiCode(IntEnum):
    """The ``code`` of a response envelope (nemo-api.md, "Error codes")."""

    SUCCESS = 0
    TOKEN_EXPIRED = 1001
    SESSION_NOT_FOUND = 1002
    OUT_OF_CREDITS = 2001
    BAD_REQUEST = 4000
    UNSUPPORTED_FILE = 4001
    FILE_TOO_LARGE = 4002
    FORBIDDEN = 4003


# The HTTP status each business code travels with (docs/design.md, "Faults"); the others travel
# with the status their answer names.
HTTP_STATUS: dict[int, int] = {
    ApiCode.TOKEN_EXPIRED: 401,
    ApiCode.SESSION_NOT_FOUND: 404,
    ApiCode.OUT_OF_CREDITS: 403,
    ApiCode.UNSUPPORTED_FILE: 415,
    ApiCode.FILE_TOO_LARGE: 413,
}

# Headers. The three X-Skill-* are the attribution every API request carries.
AUTHORIZATION = "Authorization"
CLIENT_ID = "X-Client-Id"
SKILL_SOURCE = "X-Skill-Source"
SKILL_VERSION = "X-Skill-Version"
SKILL_PLATFORM = "X-Skill-Platform"
ATTRIBUTION_HEADERS = (SKILL_SOURCE, SKILL_VERSION, SKILL_PLATFORM)

# Where an anonymous user out of credits claims more: a claim link, else the registration page.
CLAIM_URL = "https://nemovideo.com/workspace/claim?ct={claim_token}"
REGISTER_URL = "https://nemovideo.com/register?bind={user_id}"

APP = "nemo_agent"
MAX_UPLOAD_MB = 200


class Endpoint:
    """The endpoint paths, as route templates: ``{app}`` is :data:`APP`, ``{user}`` is ``me``."""

    ANONYMOUS_TOKEN = "/api/auth/anonymous-token"
    CLAIM_TOKEN = "/api/auth/claim-token"
    CREATE_SESSION = "/api/tasks/{user}/with-session/{app}"
    CHAT = "/run_sse"
    UPLOAD = "/api/upload-video/{app}/{user}/{sid}"
    CREDITS = "/api/credits/balance/simple"
    STATE = "/api/state/{app}/{user}/{sid}/latest"
    RENDER = "/api/render/proxy/lambda"
    RENDER_JOB = "/api/render/proxy/lambda/{rid}"
    RENDER_CANCEL = "/api/render/proxy/lambda/{rid}/cancel"
    RENDER_DOWNLOAD = "/api/render/proxy/{rid}/download"


MediaKind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class MediaFormat:
    """A format the service takes: its name, kind, MIME type and file-name extensions."""

    name: str
    kind: MediaKind
    mime: str
    extensions: tuple[str, ...]


def _table() -> dict[str, Any]:
    return load_yaml("skill", "data/protocol.yaml")


@functools.cache
def media_formats() -> dict[str, MediaFormat]:
    """Every accepted format by name, in the order messages list them."""
    return {
        name: MediaFormat(name, entry["kind"], str(entry["mime"]), tuple(entry["extensions"]))
        for name, entry in _table()["formats"].items()
    }


def media_extensions(*kinds: MediaKind) -> frozenset[str]:
    """The file-name extensions (``.jpg``, lowercase) of the accepted formats of ``kinds``
    (all kinds when none is given)."""
    return frozenset(
        extension
        for media in media_formats().values()
        if not kinds or media.kind in kinds
        for extension in media.extensions
    )


ACCEPTED_FORMATS = " ".join(media_formats())
"""The accepted formats as messages list them: ``mp4 mov avi ... aac``."""


def _sync_kind(head: bytes) -> str | None:
    """``adts`` or ``mpeg`` for bytes that start with an MPEG audio frame header."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x03
    return "adts" if layer == 0 else "mpeg"


def _matches(entry: dict[str, Any], head: bytes) -> bool:
    if "sync" in entry:
        return _sync_kind(head) == str(entry["sync"])
    for offset, hexbytes in entry.get("magic", []):
        wanted = bytes.fromhex(hexbytes)
        if head[offset : offset + len(wanted)] != wanted:
            return False
    brands = entry.get("brands")
    if brands is not None and head[8:12].decode("latin-1") not in brands:
        return False
    contains = entry.get("contains")
    return not contains or str(contains).encode() in head[:64]


def sniff(head: bytes) -> MediaFormat | None:
    """The accepted format whose signature ``head`` (a file's first few KB) has, else None.

    Not ``filetype``'s guess: it knows fewer HEIC brands, MP4 brands and MPEG audio headers."""
    for entry in _table()["signatures"]:
        if _matches(entry, head):
            return media_formats()[str(entry["format"])]
    return None
