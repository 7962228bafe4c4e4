"""The response envelope of the contract, ``{"code", "message", "data"}``, and its errors.

Handlers raise :class:`ApiFailure`; the app turns it (and anything else that goes wrong) into an
error envelope, so a client never sees a traceback. Messages say what happened and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["ApiFailure", "error_response", "ok"]

# The HTTP status each business code travels with (docs/design.md, "Faults").
_HTTP_FOR_CODE = {1001: 401, 1002: 404, 2001: 403, 4001: 415, 4002: 413}

_DEFAULT_MESSAGES = {
    1001: "Token expired or invalid. Get a new one from POST /api/auth/anonymous-token.",
    1002: "Session not found. Create a new one with POST /api/tasks/me/with-session/nemo_agent.",
    2001: "Out of credits. Register to get more credits.",
    4001: "Unsupported file type. Send one of: mp4 mov avi webm mkv jpg png gif webp heic mp3 "
    "wav m4a aac.",
    4002: "File too large: the limit is 200 MB per file. Compress or trim it and upload again.",
    400: "Missing X-Client-Id header. Send a random UUID in X-Client-Id.",
    402: "Export blocked: the X-Skill-Source, X-Skill-Version and X-Skill-Platform headers are "
    "required (the free plan does not allow exports without them).",
    429: "Rate limited. Wait for Retry-After seconds, then retry once.",
    500: "Internal server error (injected or unexpected). Nothing was changed; try again.",
    502: "Bad gateway. Try again in a moment.",
    503: "Service unavailable. Try again in a moment.",
}


class ApiFailure(Exception):
    """An error the API answers with an envelope: business ``code``, HTTP ``status``."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        status: int | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message or _DEFAULT_MESSAGES.get(code, "Request failed.")
        self.status = status or _HTTP_FOR_CODE.get(code) or (code if 400 <= code < 600 else 422)
        self.data = dict(data) if data is not None else None
        self.headers = dict(headers or {})
        super().__init__(self.message)


def ok(data: Mapping[str, Any] | list[Any] | None, *, status: int = 200) -> JSONResponse:
    """A success envelope."""
    return JSONResponse({"code": 0, "message": "success", "data": data}, status_code=status)


def error_response(failure: ApiFailure) -> JSONResponse:
    """The error envelope for ``failure``."""
    return JSONResponse(
        {"code": failure.code, "message": failure.message, "data": failure.data},
        status_code=failure.status,
        headers=failure.headers,
    )
