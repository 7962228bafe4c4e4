"""Reading a response body: the envelope variants of nemo-api.md, and its errors as exceptions.

Canonical ``{"code": 0, "message": "success", "data": {...}}``; tolerated ``msg`` for
``message``, ``{"success": bool, "data": ..., "error": {...} | "..."}``, and bodies with no
envelope at all (a render poll's top-level ``status``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from skill.client._retry import parse_retry_after
from skill.errors import JiggleError, RateLimited, ServerError, error_for_api_code
from skill.protocol import HTTP_STATUS, ApiCode

__all__ = ["unwrap"]

_MAX_DETAIL = 200
_CONTRACT_RATE_WAIT = 30.0
_FILE_CODES = (ApiCode.UNSUPPORTED_FILE, ApiCode.FILE_TOO_LARGE)
_FILE_STATUSES = tuple(HTTP_STATUS[code] for code in _FILE_CODES)


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _message(payload: Mapping[str, Any]) -> str | None:
    for key in ("message", "msg", "detail", "error_message", "errorMessage"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value[:_MAX_DETAIL]
    error = payload.get("error")
    if isinstance(error, str) and error:
        return error[:_MAX_DETAIL]
    if isinstance(error, Mapping):
        return _message(error)
    return None


def _error(
    api_code: int | None,
    status: int,
    detail: str | None,
    retry_after: str | None,
    data: Any = None,
) -> JiggleError:
    if api_code in _FILE_CODES or status in _FILE_STATUSES:
        # The file errors have their own wording; name the file the service names.
        name = data.get("filename") if isinstance(data, Mapping) else None
        return error_for_api_code(api_code, status, None, **({"path": str(name)} if name else {}))
    if status == 429 or api_code == 429:
        # Seconds or an HTTP date; 0 means "now". Without one, the contract's 30 s.
        seconds = parse_retry_after(retry_after)
        return RateLimited(
            detail,
            api_code=api_code,
            http_status=status,
            retry_after=_CONTRACT_RATE_WAIT if seconds is None else seconds,
        )
    if detail and detail.lower() in ("success", "ok"):
        detail = None
    extra: dict[str, Any] = {}
    scope = data.get("required_scope") if isinstance(data, Mapping) else None
    if status == 403 and isinstance(scope, str) and scope.isprintable() and len(scope) < 40:
        extra["scope"] = scope  # named in PermissionDenied's message
    return error_for_api_code(api_code, status, detail, **extra)


def unwrap(status: int, body: bytes, *, retry_after: str | None = None) -> Any:
    """The ``data`` of a successful response; raises the typed error of a failed one."""
    try:
        payload: Any = json.loads(body) if body.strip() else None
    except ValueError:
        payload = None
        if status < 400:
            raise ServerError(
                "the service answered with something that is not JSON", http_status=status
            ) from None
    if isinstance(payload, Mapping):
        code = _as_code(payload.get("code"))
        if code is not None:
            if code == ApiCode.SUCCESS and status < 400:
                return payload.get("data")
            if code != ApiCode.SUCCESS:
                raise _error(code, status, _message(payload), retry_after, payload.get("data"))
        elif isinstance(payload.get("success"), bool):
            if payload["success"] and status < 400:
                return payload.get("data")
            error = payload.get("error")
            code = _as_code(error.get("code")) if isinstance(error, Mapping) else None
            raise _error(code, status, _message(payload), retry_after, payload.get("data"))
        if status < 400:
            return payload  # no envelope: the body is the data
        raise _error(None, status, _message(payload), retry_after)
    if status < 400:
        return payload
    raise _error(None, status, None, retry_after)
