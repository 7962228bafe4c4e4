"""Every failure a caller of jiggle handles differently, as one exception class each.

    JiggleError                      base; .code (stable, for --json), .exit_code, .human(lang)
    ├── ManifestError                SKILL.md missing or malformed
    ├── InputError                   the user's input is wrong; nothing was sent        exit 2
    │   ├── NotUnderstood            the editor did not act on the instruction (not understood,
    │   │                            out of scope, or a question back); nothing rendered
    │   ├── FileNotFound             a path that does not exist or is not a file
    │   ├── EmptyDraft               export of a draft with no track with segments (not sent)
    │   ├── UnsupportedFile          not a format we accept (also the API's 4001)
    │   └── FileTooLarge             over 200 MB (also the API's 4002)
    ├── ApiError                     the backend answered with an error; .api_code, .http_status
    │   ├── AuthError                                                                   exit 3
    │   │   ├── TokenExpired         1001: token expired or invalid
    │   │   ├── BadToken             a token that cannot be sent (NEMO_TOKEN not ASCII)
    │   │   ├── RenderAccountUnavailable  the account that owns a render has no usable token
    │   │   ├── MissingClientId      HTTP 400 on the anonymous-token call (elsewhere a 400 is an
    │   │   │                        ApiError that says what the body says)
    │   │   ├── PermissionDenied     HTTP 403: the token lacks the scope, or the plan the feature
    │   │   ├── OutOfCredits         2001; .register_url for anonymous users
    │   │   └── ExportBlockedByPlan  HTTP 402: the plan does not allow exports
    │   ├── SessionNotFound          1002
    │   ├── RateLimited              HTTP 429; .retry_after seconds
    │   ├── ServerError              HTTP 5xx, or an envelope the contract does not describe
    │   ├── StreamError              an error event inside the chat stream
    │   └── RenderFailed             the render job ended in "failed"; .reason
    ├── TransportError               the conversation with the backend broke         exit 4
    │   ├── BackendUnreachable       could not connect at all
    │   ├── ConnectionLost           dropped mid-request or mid-stream; .state, .applied tell
    │   │                            what landed (the instruction is never sent twice)
    │   └── RequestTimeout           no answer in time
    ├── RenderTimeout                wait() reached its deadline; the render keeps running  exit 4
    ├── DownloadFailed               the finished video could not be fetched or was incomplete
    ├── LocalFileError               a file on this machine cannot be written; .folder  exit 5
    │   ├── FolderNotWritable        read-only or not ours (an output, config or data folder)
    │   ├── DiskFull                 no space left (or over quota) where the file goes
    │   ├── NameTooLong              the file name is longer than the filesystem allows
    │   └── TokenNotSaved            the token cache cannot be written (said as a warning)
    └── Cancelled                    the user interrupted; a render keeps running and can be resumed

Messages live in ``skill/data/errors.yaml`` (English and Chinese, each with the next step to
take). No message ever includes the API token: ``details`` are formatted into fixed templates
and every rendered message passes through :func:`skill.redact.redact`.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from skill._data import load_yaml
from skill.protocol import ACCEPTED_FORMATS, HTTP_STATUS, MAX_UPLOAD_MB, ApiCode

__all__ = [
    "ApiError",
    "AuthError",
    "BackendUnreachable",
    "BadToken",
    "Cancelled",
    "ConnectionLost",
    "DiskFull",
    "DownloadFailed",
    "EmptyDraft",
    "ExportBlockedByPlan",
    "FileNotFound",
    "FileTooLarge",
    "FolderNotWritable",
    "InputError",
    "JiggleError",
    "LocalFileError",
    "ManifestError",
    "MissingClientId",
    "NameTooLong",
    "NotUnderstood",
    "OutOfCredits",
    "PermissionDenied",
    "RateLimited",
    "RenderAccountUnavailable",
    "RenderFailed",
    "RenderTimeout",
    "RequestTimeout",
    "ServerError",
    "SessionNotFound",
    "StreamError",
    "TokenExpired",
    "TokenNotSaved",
    "TransportError",
    "TurnTimeout",
    "UnsupportedFile",
    "error_for_api_code",
    "error_for_os_error",
    "phrase",
]


class Describable(Protocol):
    """A change to the project that can say itself in a language (see skill.timeline)."""

    def describe(self, lang: str = "en") -> str: ...


class _StateLike(Protocol):
    """What ConnectionLost needs of a session state: a timeline that summarises itself."""

    @property
    def timeline(self) -> Any: ...


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _catalogue() -> Mapping[str, Mapping[str, str]]:
    return load_yaml("skill", "data/errors.yaml")


def _lang_key(lang: str) -> str:
    return "zh" if lang.lower().startswith("zh") else "en"


def phrase(name: str, lang: str = "en", **fields: Any) -> str:
    """One of the catalogue's ``_phrases`` in ``lang``, with ``fields`` filled in."""
    entry: Any = _catalogue().get("_phrases", {}).get(name, {})
    assert isinstance(entry, dict)
    template = entry.get(_lang_key(lang)) or entry.get("en") or ""
    return str(template).format_map(_SafeDict(fields))


class JiggleError(Exception):
    """Base of every error jiggle raises on purpose.

    ``code`` is stable and machine-readable (the CLI's ``--json`` prints it); ``human(lang)``
    is the message for a person, with what to do next.
    """

    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = 1

    def __init__(self, detail: str | None = None, **details: Any) -> None:
        self.detail = detail
        self.details: dict[str, Any] = details
        super().__init__(self.human("en"))

    def human(self, lang: str = "en") -> str:
        """The message in ``lang`` ("en" or "zh"), with the next step."""
        from skill.redact import redact

        entry = _catalogue().get(self.code, {})
        template = entry.get(_lang_key(lang)) or entry.get("en") or ""
        fields = _SafeDict(
            formats=ACCEPTED_FORMATS,
            max_mb=MAX_UPLOAD_MB,
            detail=self.detail or "",
            detail_suffix=f": {self.detail.rstrip('.。 ')}" if self.detail else "",
            **self.details,
        )
        fields.update(self._fields(lang))
        text = template.format_map(fields).strip() if template else (self.detail or self.code)
        if self.detail and "{detail" not in template:
            text = f"{text} ({self.detail})" if template else self.detail
        return redact(text)

    def _fields(self, lang: str) -> dict[str, Any]:
        """Language-dependent template fields; subclasses assemble them from phrases."""
        return {}

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """A JSON-ready description: the stable code and the human message."""
        out: dict[str, Any] = {"code": self.code, "message": self.human(lang)}
        for key, value in self.details.items():
            if isinstance(value, str | int | float | bool) or value is None:
                out[key] = value
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r})"


class ManifestError(JiggleError):
    code = "manifest_invalid"
    exit_code = 2


class InputError(JiggleError):
    code = "bad_input"
    exit_code = 2


class NotUnderstood(InputError):
    """The backend's editor answered without acting; ``details["instruction"]`` is the message."""

    code = "not_understood"


class FileNotFound(InputError):
    code = "file_not_found"


class EmptyDraft(InputError):
    """An export refused before it is sent: the draft has no track with segments."""

    code = "empty_draft"


class _FileError(InputError):
    """A file the service will not take; ``details["path"]`` names it when known."""

    def _fields(self, lang: str) -> dict[str, Any]:
        return {} if self.details.get("path") else {"path": phrase("the_file", lang)}


class UnsupportedFile(_FileError):
    code = "unsupported_file"
    api_code = ApiCode.UNSUPPORTED_FILE


class FileTooLarge(_FileError):
    code = "file_too_large"
    api_code = ApiCode.FILE_TOO_LARGE


class ApiError(JiggleError):
    """The backend answered, with an error. ``api_code``/``http_status`` say which."""

    code = "api_error"
    exit_code = 4

    def __init__(
        self,
        detail: str | None = None,
        *,
        api_code: int | None = None,
        http_status: int | None = None,
        **details: Any,
    ) -> None:
        self.api_code = api_code
        self.http_status = http_status
        super().__init__(detail, **details)


class AuthError(ApiError):
    code = "auth_error"
    exit_code = 3


class TokenExpired(AuthError):
    """1001. ``details["user_token"]`` is true when the rejected token was the user's own."""

    code = "token_expired"

    def _fields(self, lang: str) -> dict[str, Any]:
        which = "token_user" if self.details.get("user_token") else "token_anonymous"
        return {"next_step": phrase(which, lang)}


class BadToken(AuthError):
    """A token that cannot be a token (e.g. ``NEMO_TOKEN`` with non-ASCII characters); refused
    before any request. ``details["source"]`` names where it came from."""

    code = "bad_token"


class RenderAccountUnavailable(AuthError):
    """A render belongs to an account whose token is gone, expired or refused, and no token of
    that account can be had: ``details["render_id"]``, ``details["why"]`` (``missing``,
    ``expired``, ``refused`` or ``user_token``)."""

    code = "render_account_unavailable"

    def _fields(self, lang: str) -> dict[str, Any]:
        why = str(self.details.get("why") or "missing")
        return {"why_text": phrase(f"render_account_{why}", lang)}


class MissingClientId(AuthError):
    code = "missing_client_id"


class PermissionDenied(AuthError):
    """HTTP 403: the service knows the token but it may not do this. Tokens carry scopes
    (``read``, ``write``, ``upload``, ``render``; anonymous ones only the first three), and a
    plan may not include a feature. ``details["scope"]`` names the scope when the body does."""

    code = "permission_denied"

    def _fields(self, lang: str) -> dict[str, Any]:
        scope = self.details.get("scope")
        return {"scope_text": phrase("scope_named", lang, scope=scope) if scope else ""}


class OutOfCredits(AuthError):
    """2001. ``register_url`` is where an anonymous user claims more credits."""

    code = "out_of_credits"

    @property
    def register_url(self) -> str | None:
        url = self.details.get("register_url")
        return str(url) if url else None

    def _fields(self, lang: str) -> dict[str, Any]:
        url = self.register_url
        if url:
            return {"next_step": phrase("credits_link", lang, register_url=url)}
        return {"next_step": phrase("credits_top_up", lang)}


class ExportBlockedByPlan(AuthError):
    code = "export_blocked_by_plan"


class SessionNotFound(ApiError):
    code = "session_not_found"


class RateLimited(ApiError):
    code = "rate_limited"

    @property
    def retry_after(self) -> float:
        value = self.details.get("retry_after")
        return 30.0 if value is None else float(value)

    def _fields(self, lang: str) -> dict[str, Any]:
        return {"retry_after": f"{self.retry_after:g}"}


class ServerError(ApiError):
    code = "server_error"


class StreamError(ApiError):
    code = "stream_error"


class RenderFailed(ApiError):
    code = "render_failed"

    @property
    def reason(self) -> str:
        return str(self.details.get("reason") or self.detail or "")


class TransportError(JiggleError):
    code = "transport_error"
    exit_code = 4


class BackendUnreachable(TransportError):
    code = "backend_unreachable"


class ConnectionLost(TransportError):
    """The connection dropped after the request may have reached the server.

    ``state`` is the session state read after the drop (None if it could not be read) and
    ``changes`` what the project gained since the last state the client had seen; ``applied``
    says both in words. ``details["during"]`` names the call (chat, upload, export, download).
    The client never resends the request that was cut.
    """

    code = "connection_lost"

    def __init__(
        self,
        detail: str | None = None,
        *,
        state: _StateLike | None = None,
        changes: Sequence[Describable] | None = None,
        **details: Any,
    ) -> None:
        self.state = state
        self.changes: tuple[Describable, ...] = tuple(changes or ())
        self.details = details
        if state is not None and "applied" not in details:
            details["applied"] = self.applied_text("en")
        super().__init__(detail, **details)

    @property
    def applied(self) -> str:
        """What landed before the drop, in English (``applied_text(lang)`` for others)."""
        return self.applied_text("en")

    def applied_text(self, lang: str = "en") -> str:
        if self.changes:
            listed = "; ".join(change.describe(lang) for change in self.changes)
            return phrase("applied_changes", lang, changes=listed).strip()
        if self.state is not None and self.details.get("compared"):
            return phrase("applied_nothing", lang).strip()
        if self.state is not None:
            summary = self.state.timeline.summary(lang)
            return phrase("applied_state", lang, summary=summary).strip()
        return ""

    def _fields(self, lang: str) -> dict[str, Any]:
        during = str(self.details.get("during") or "")
        render_id = self.details.get("render_id")
        applied = self.applied_text(lang)
        if not applied and during == "chat":
            applied = phrase("applied_unknown", lang).strip()
        if render_id:
            next_step = phrase("render_pending", lang, render_id=render_id)
        elif during == "chat":
            next_step = phrase("not_resent", lang)
        else:
            next_step = phrase("try_again", lang)
        return {
            "during": _during(during, lang),
            "applied": f"{applied} " if applied else "",
            "next_step": next_step,
        }


class TurnTimeout(ConnectionLost):
    """A chat turn ran past its cap (15 minutes by default) and the client stopped reading.

    Like :class:`ConnectionLost`, ``state`` and ``changes`` say what landed meanwhile;
    ``details["minutes"]`` is the cap. The instruction is never sent again.
    """

    code = "turn_timeout"


class RequestTimeout(TransportError):
    code = "timeout"

    def _fields(self, lang: str) -> dict[str, Any]:
        return {"during": _during(str(self.details.get("during") or ""), lang)}


def _during(what: str, lang: str) -> str:
    if not what:
        return ""
    specific = phrase(f"during_{what}", lang)
    return specific or phrase("during", lang, what=what)


class RenderTimeout(JiggleError):
    """``wait()`` gave up at its deadline; the render keeps running on the server."""

    code = "render_timeout"
    exit_code = 4


class DownloadFailed(JiggleError):
    code = "download_failed"
    exit_code = 4


class LocalFileError(JiggleError):
    """A file on this machine cannot be written: ``details["folder"]`` names the folder,
    ``details["render_id"]`` the render to resume once it is fixed (when there is one)."""

    code = "local_file_error"
    exit_code = 5

    def _fields(self, lang: str) -> dict[str, Any]:
        render_id = self.details.get("render_id")
        if render_id:
            return {"next_step": phrase("resume_after_fix", lang, render_id=render_id)}
        return {"next_step": phrase("try_again_after_fix", lang)}


class FolderNotWritable(LocalFileError):
    code = "folder_not_writable"


class DiskFull(LocalFileError):
    code = "disk_full"


class NameTooLong(LocalFileError):
    code = "name_too_long"


class TokenNotSaved(LocalFileError):
    """The token works for this run but could not be kept: the next run needs a new one."""

    code = "token_not_saved"


_ERRNO_CLASSES: dict[int, type[LocalFileError]] = {
    errno.EACCES: FolderNotWritable,
    errno.EPERM: FolderNotWritable,
    errno.EROFS: FolderNotWritable,
    errno.ENOSPC: DiskFull,
    errno.EDQUOT: DiskFull,
    errno.ENAMETOOLONG: NameTooLong,
}


def error_for_os_error(
    exc: OSError, *, folder: Any = None, cls: type[LocalFileError] | None = None, **details: Any
) -> JiggleError:
    """The user error for an OSError a user can fix (permissions, space, name length), naming
    the folder (``folder``, else the one of the file the error names). Any other OSError is a
    bug: ``exc`` itself is raised again."""
    from pathlib import Path

    chosen = cls or _ERRNO_CLASSES.get(exc.errno or -1)
    if chosen is None:
        raise exc
    if folder is None and exc.filename is not None:
        named = Path(os.fsdecode(exc.filename))
        try:
            folder = named if named.is_dir() else named.parent
        except OSError:
            folder = named.parent
    problem = os.strerror(exc.errno) if exc.errno else str(exc)
    return chosen(problem, folder=str(folder or "."), **details)


class Cancelled(JiggleError):
    """Ctrl-C. ``details["render_id"]`` names a render that keeps running and can be resumed."""

    code = "cancelled"
    exit_code = 130

    def _fields(self, lang: str) -> dict[str, Any]:
        render_id = self.details.get("render_id")
        if render_id:
            return {"next_step": phrase("resume", lang, render_id=render_id)}
        return {"next_step": phrase("stopped", lang)}


# The contract's business codes and HTTP statuses, mapped to the class a caller catches.
_BY_API_CODE: dict[int, type[ApiError]] = {
    ApiCode.TOKEN_EXPIRED: TokenExpired,
    ApiCode.SESSION_NOT_FOUND: SessionNotFound,
    ApiCode.OUT_OF_CREDITS: OutOfCredits,
}
# HTTP 400 is not here: it means a missing X-Client-Id on the anonymous-token call only (the
# client says so there); elsewhere it is an ApiError carrying what the body says.
_BY_HTTP_STATUS: dict[int, type[ApiError]] = {
    HTTP_STATUS[ApiCode.TOKEN_EXPIRED]: TokenExpired,
    402: ExportBlockedByPlan,
    403: PermissionDenied,
    429: RateLimited,
}


def _session_not_found(detail: str | None) -> bool:
    """``Session not found`` or ``Session not found: <id>``, as ADK's /run_sse says it."""
    return bool(detail) and str(detail).strip().lower().startswith("session not found")


def error_for_api_code(
    api_code: int | None, http_status: int | None, detail: str | None = None, **details: Any
) -> JiggleError:
    """The exception for an error envelope: the business code first, then the HTTP status."""
    no_code = api_code in (None, ApiCode.SUCCESS)
    if api_code == ApiCode.UNSUPPORTED_FILE or (
        no_code and http_status == HTTP_STATUS[ApiCode.UNSUPPORTED_FILE]
    ):
        return UnsupportedFile(detail, **details)
    if api_code == ApiCode.FILE_TOO_LARGE or (
        no_code and http_status == HTTP_STATUS[ApiCode.FILE_TOO_LARGE]
    ):
        return FileTooLarge(detail, **details)
    cls = _BY_API_CODE.get(api_code or -1)
    if cls is None and http_status == 404 and _session_not_found(detail):
        # An ADK server's own answer for an unknown session (FastAPI's {"detail": ...}).
        cls = SessionNotFound
    if cls is None and http_status is not None:
        cls = _BY_HTTP_STATUS.get(http_status)
        if cls is None and http_status >= 500:
            cls = ServerError
    if cls is None:
        client_side = http_status is not None and 400 <= http_status < 500
        cls = ApiError if api_code not in (None, 0) or client_side else ServerError
    return cls(detail, api_code=api_code, http_status=http_status, **details)
