"""The response envelope of the contract, ``{"code", "message", "data"}``, and its errors.

Handlers raise :class:`ApiFailure`; the app turns it (and anything else that goes wrong) into an
error envelope, so a client never sees a traceback. Messages say what happened and what to do.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skill._data import load_yaml
from skill.local.server.chat import IntentionalCut
from skill.protocol import ACCEPTED_FORMATS, HTTP_STATUS, ApiCode

__all__ = ["EXCEPTION_HANDLERS", "ApiFailure", "error_response", "ok"]

_log = logging.getLogger("skill.local.server")


@functools.cache
def _default_messages() -> dict[int, str]:
    loaded = load_yaml("skill.local.server", "messages.yaml")
    return {
        int(code): str(message).replace("{formats}", ACCEPTED_FORMATS)
        for code, message in loaded.items()
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
        self.message = message or _default_messages().get(code, "Request failed.")
        self.status = status or HTTP_STATUS.get(code) or (code if 400 <= code < 600 else 422)
        self.data = dict(data) if data is not None else None
        self.headers = dict(headers or {})
        super().__init__(self.message)


def ok(data: Mapping[str, Any] | list[Any] | None, *, status: int = 200) -> JSONResponse:
    """A success envelope."""
    return JSONResponse(
        {"code": ApiCode.SUCCESS, "message": "success", "data": data}, status_code=status
    )


def error_response(failure: ApiFailure) -> JSONResponse:
    """The error envelope for ``failure``."""
    return JSONResponse(
        {"code": failure.code, "message": failure.message, "data": failure.data},
        status_code=failure.status,
        headers=failure.headers,
    )


async def _on_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiFailure)
    return error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    hint = {
        404: f"No endpoint {request.method} {request.url.path}. See docs/local-backend.md.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        {"code": exc.status_code, "message": hint, "data": None}, status_code=exc.status_code
    )


async def _on_bug(request: Request, exc: Exception) -> Response:
    if isinstance(exc, IntentionalCut):  # a fault dropping the connection, after the response began
        return Response(status_code=500)
    _log.error("unexpected error on %s %s: %r", request.method, request.url.path, exc)
    return error_response(
        ApiFailure(500, f"Internal error ({type(exc).__name__}). Nothing was changed; try again.")
    )


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiFailure: _on_failure,
    HTTPException: _on_http_error,
    Exception: _on_bug,
}
