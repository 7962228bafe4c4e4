"""NemoClient: every endpoint of nemo-api.md, with the recoveries the contract allows.

Recovery, once per call: 1001 -> a new anonymous token (unless the user gave the token) and a
retry; 1002 -> a new session and a retry; 429 -> wait ``Retry-After`` (or 30 s) and a retry;
HTTP 400 on the anonymous-token call -> a fresh ``X-Client-Id`` and a retry (on any other call
a 400 is reported as what its body says, never sent again). GETs are retried
with backoff on transport errors and 5xx; a POST that may have reached the server never is.

A replaced session (1002) is reported in three ways: the :class:`Session` object the client
handed out is updated in place (``session.id`` is the new id, ``session.previous_ids`` the old
ones), ``client.resolve_session(old_id)`` returns the current id, and the optional
``on_session_replaced(session)`` callback is called. Every method accepts an old id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from skill.client._retry import RetryPolicy
from skill.client._sse import SSEDecoder, SSEMessage, split_lines
from skill.client._transport import UPLOAD_TIMEOUT, Transport, map_transport_error
from skill.client.auth import CachedToken, TokenCache, client_id, token_id
from skill.client.chat import (
    DEFAULT_STREAM_IDLE_TIMEOUT,
    DEFAULT_TURN_TIMEOUT,
    STREAM_IDLE_TIMEOUT_ENV,
    TURN_TIMEOUT_ENV,
    ChatInterpreter,
    seconds_setting,
)
from skill.client.jobs import JobStore
from skill.client.models import (
    ChatEvent,
    Credits,
    DownloadProgress,
    MediaInfo,
    RenderJob,
    RenderProgress,
    Session,
    SessionState,
    TurnChanges,
    UploadProgress,
)
from skill.client.render import download_file
from skill.client.uploads import LocalFile, ProgressReader, for_cloud, split_inputs, validate
from skill.errors import (
    ApiError,
    BackendUnreachable,
    BadToken,
    Cancelled,
    ConnectionLost,
    DownloadFailed,
    EmptyDraft,
    JiggleError,
    MissingClientId,
    OutOfCredits,
    RateLimited,
    RenderAccountUnavailable,
    RenderFailed,
    RenderTimeout,
    RequestTimeout,
    ServerError,
    SessionNotFound,
    TokenExpired,
    TokenNotSaved,
    TurnTimeout,
)
from skill.manifest import Manifest, attribution_headers
from skill.paths import safe_name
from skill.protocol import APP, AUTHORIZATION, CLAIM_URL, CLIENT_ID, REGISTER_URL, Endpoint
from skill.redact import install_log_redaction, register_secret
from skill.timeline import TimelineChange

__all__ = ["DEFAULT_BASE_URL", "NemoClient"]

DEFAULT_BASE_URL = "https://mega-api-prod.nemovideo.ai"
_ME = "me"  # the user segment of the paths: the token says who
# The poll cap, one mechanism: wait() polls a render for at most this many seconds, then
# raises RenderTimeout (the render keeps running; `jiggle resume` picks it up). The public
# skill polls every 30 s, at most 10 times (nemovideo_skills SKILL.md v1.9, section 3.5 c):
# at the default 30 s cadence that is the same cap, about 10 polls.
PUBLIC_POLL_INTERVAL = 30.0
PUBLIC_MAX_POLLS = 10
DEFAULT_WAIT_DEADLINE = PUBLIC_POLL_INTERVAL * PUBLIC_MAX_POLLS

_log = logging.getLogger("skill.client")

SessionRef = Session | str


class NemoClient:
    """A client for the NemoVideo agent API (or the local backend, which speaks the same).

    ``base_url`` defaults to ``$NEMO_API_BASE`` or the NemoVideo cloud; ``token`` to
    ``$NEMO_TOKEN``, else a cached anonymous token, else a new one. ``sleep`` is what the client
    waits with (tests pass a no-op); ``poll_interval`` is the seconds between render polls, the
    first coming after ``first_poll_delay``. ``stream_read_timeout`` is how long the chat stream
    may be silent, no byte at all (heartbeats would count), before it counts as dropped
    (default ``$JIGGLE_STREAM_IDLE_TIMEOUT``, else 600 s); ``turn_timeout`` caps a whole chat
    turn (default ``$JIGGLE_TURN_TIMEOUT``, else 900 s). ``retries`` is how many
    times a failed request may be tried again (default ``$JIGGLE_RETRIES``, else 5), with
    ``sleep`` and ``clock``; ``retry_policy`` replaces the whole :class:`RetryPolicy`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 30.0,
        first_poll_delay: float = 5.0,
        stream_read_timeout: float | None = None,
        turn_timeout: float | None = None,
        still_working_interval: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        on_session_replaced: Callable[[Session], None] | None = None,
        token_cache: TokenCache | None = None,
        jobs: JobStore | None = None,
        manifest: Manifest | None = None,
        retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        convert_heic: bool | None = None,
    ) -> None:
        install_log_redaction("skill.client")
        chosen = base_url or os.environ.get("NEMO_API_BASE") or DEFAULT_BASE_URL
        given = token if token is not None else os.environ.get("NEMO_TOKEN")
        self._token: str | None = given.strip() if given and given.strip() else None
        if self._token is not None and not _sendable(self._token):
            source = "the token given to NemoClient" if token is not None else "NEMO_TOKEN"
            self._token = None
            raise BadToken(source=source)
        self.retry = retry_policy or RetryPolicy.with_retries(retries, sleep=sleep, clock=clock)
        self._user_token = self._token is not None
        register_secret(self._token)
        self._user_id: str | None = None
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.first_poll_delay = first_poll_delay
        self.stream_idle_timeout = seconds_setting(
            stream_read_timeout, STREAM_IDLE_TIMEOUT_ENV, DEFAULT_STREAM_IDLE_TIMEOUT
        )
        self.turn_timeout = seconds_setting(turn_timeout, TURN_TIMEOUT_ENV, DEFAULT_TURN_TIMEOUT)
        # A silent stream is given up at the idle timeout, or sooner at the turn's cap.
        self._stream_timeout = httpx.Timeout(
            min(self.stream_idle_timeout, self.turn_timeout), connect=10.0, write=30.0
        )
        self._still_working_interval = still_working_interval
        self._clock = clock
        self._on_session_replaced = on_session_replaced
        self.tokens = token_cache if token_cache is not None else TokenCache()
        self.jobs = jobs if jobs is not None else JobStore()
        self._transport = Transport(chosen, attribution_headers(manifest))
        # HEIC photos go to the cloud as JPEG (no public format list has HEIC); a backend on
        # loopback (the local one) takes them as they are. ``convert_heic`` decides otherwise.
        self.convert_heic = (
            convert_heic if convert_heic is not None else not _on_loopback(self.base_url)
        )
        self._token_lock = threading.RLock()
        self._owners: dict[str, str] = {}  # token id -> user id, for the tokens seen
        self._sessions: dict[str, Session] = {}
        self._aliases: dict[str, str] = {}
        self._last_state: dict[str, SessionState] = {}
        self._turn_before: dict[str, SessionState | None] = {}
        # Set when a new token could not be written to the token cache (a read-only folder).
        self.token_not_saved: TokenNotSaved | None = None

    # -- lifetime --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> NemoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        source = "user" if self._user_token else "anonymous"
        return f"NemoClient(base_url={self.base_url!r}, token=<{source}>)"

    # -- token -----------------------------------------------------------------------------

    def ensure_token(self) -> None:
        """Make sure a token is at hand: the user's, a cached one, or a new anonymous one."""
        self._bearer()

    @property
    def anonymous(self) -> bool:
        """True unless the user supplied a token for a registered account."""
        if self._user_id and self._user_id.startswith("anon_"):
            return True
        return not self._user_token

    def _bearer(self) -> str:
        """The token in use: the user's, the cached one, or a new anonymous one. Signing in
        holds the token cache's lock, so two processes starting at once share one account."""
        token = self._token
        if token is not None:
            return token
        with self._token_lock:
            if self._token is None:
                origin = self._transport.origin
                cached = self.tokens.load(origin)
                if cached is None:
                    with self.tokens.locked():
                        cached = self.tokens.load(origin)  # another process may have signed in
                        if cached is None:
                            cached = self._anonymous_token()
                            self._keep(cached)
                self._adopt(cached)
            assert self._token is not None
            return self._token

    def _keep(self, token: CachedToken) -> None:
        """Save a new token; a folder that cannot be written is said, not hidden."""
        try:
            self.tokens.save(self._transport.origin, token)
        except TokenNotSaved as exc:
            # Still usable for this run; the host says why the next run needs a new one.
            self.token_not_saved = exc
            _log.info("could not save the token in %s", exc.details.get("folder"))

    def _adopt(self, token: CachedToken) -> None:
        register_secret(token.token)
        self._token = token.token
        self._user_id = token.user_id or self._user_id
        if token.user_id:
            self._owners[token_id(token.token)] = token.user_id

    def _anonymous_token(self) -> CachedToken:
        """A new anonymous token (not saved here). Retried by the policy when the service
        answered without creating an account (429, 503, a refused connection) and once with a
        new ``X-Client-Id`` after a 400 (this call's "missing X-Client-Id"); never after the
        request may have created one. The client id is the kept one (:func:`client_id`), the
        same after a token expired."""
        retry = self.retry.start()
        fresh_client_id = False
        sent_id = client_id()
        while True:
            try:
                data = self._transport.send(
                    "POST",
                    Endpoint.ANONYMOUS_TOKEN,
                    headers={CLIENT_ID: sent_id},
                    during="sign-in",
                )
                token = CachedToken.from_api(data)
            except ValueError:
                raise ServerError("the anonymous-token answer carries no token") from None
            except ApiError as exc:
                if exc.http_status != 400 or exc.api_code not in (None, 0, 400):
                    if isinstance(exc, RateLimited | ServerError):
                        if not _retryable(exc, False) or not retry.retry(_server_wait(exc)):
                            raise
                        continue
                    raise
                if fresh_client_id:
                    raise MissingClientId(
                        exc.detail, api_code=exc.api_code, http_status=400
                    ) from None
                fresh_client_id = True
                sent_id = client_id(renew=True)
                continue
            except BackendUnreachable as exc:
                if not _retryable(exc, False) or not retry.retry(_server_wait(exc)):
                    raise
                continue
            _log.info("got a new anonymous token for %s", self._transport.origin)
            return token

    def _renew_token(self, rejected: str) -> None:
        """Replace a rejected anonymous token: by one another thread or process got meanwhile
        if there is one, else by a new anonymous token. The rejected one stays in the cache's
        accounts for the renders it owns."""
        with self._token_lock:
            if self._token not in (None, rejected):
                return  # another thread renewed it already
            origin = self._transport.origin
            with self.tokens.locked():
                cached = self.tokens.load(origin)
                if cached is None or cached.token == rejected:
                    self.tokens.forget(origin)
                    cached = self._anonymous_token()
                    self._keep(cached)
            self._token = None
            self._adopt(cached)

    # -- the token of a render's account ---------------------------------------------------

    def _owner_of_new_render(self, token: str) -> tuple[str | None, str]:
        """Who a render submitted with ``token`` belongs to: (user id, token id)."""
        tid = token_id(token)
        return self._owners.get(tid) or self._user_id, tid

    def _job_bearer(self, job: RenderJob, *, refused: str | None = None) -> str:
        """The token of the account that owns ``job``: the one in use if it is that account's,
        else one kept in the token cache. A render without a recorded owner (made by an older
        jiggle) uses the token in use. Raises :class:`RenderAccountUnavailable` when there is
        none that can be used; never spends a new anonymous token for a render."""
        if not job.owner_token_id:
            return self._bearer()
        current = self._token
        if current is None and not self._user_token:
            cached = self.tokens.load(self._transport.origin)
            current = cached.token if cached is not None else None
        if current is not None and current != refused:
            same_token = token_id(current) == job.owner_token_id
            owner = self._owners.get(token_id(current))
            if same_token or (job.owner_user_id and owner == job.owner_user_id):
                return current
        found = self.tokens.find(
            self._transport.origin, token_id=job.owner_token_id, user_id=job.owner_user_id
        )
        if found is not None and found.token != refused and not found.expired():
            register_secret(found.token)
            self._owners[token_id(found.token)] = found.user_id or ""
            return found.token
        if refused is not None:
            why = "refused"
        elif found is not None:
            why = "expired"
        else:
            why = "user_token" if job.owner_user_id is None or self._user_token else "missing"
        raise RenderAccountUnavailable(render_id=job.id, account=job.owner_user_id or "?", why=why)

    # -- the request loop with recovery ----------------------------------------------------

    def _call(
        self,
        method: str,
        path: Callable[[str | None], str],
        *,
        session: SessionRef | None = None,
        body: Callable[[str | None], dict[str, Any]] | None = None,
        idempotent: bool = False,
        resend_safe: bool = False,
        job: RenderJob | None = None,
        token_used: list[str] | None = None,
        stream: bool = False,
        during: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One request with the recoveries the contract allows and the client's retry policy.

        ``idempotent``: repeating it changes nothing (a GET), so a transport error or a 5xx is
        retried. ``resend_safe``: a POST the server de-duplicates (an export, by its render id)
        and that may be sent again after a cut. Anything else is sent again only when the
        server answered 429 or 503 (before doing anything) or the connection was refused.
        ``job``: the request is about a render, and goes with its owner's token.
        """
        recovered: set[str] = set()
        retry = self.retry.start()
        repeatable = idempotent or resend_safe
        session_id = self.resolve_session(session) if session is not None else None
        extra_headers = dict(kwargs.pop("headers", None) or {})
        refused: str | None = None
        while True:
            bearer = self._job_bearer(job, refused=refused) if job else self._bearer()
            headers = {AUTHORIZATION: f"Bearer {bearer}", **extra_headers}
            request_kwargs = dict(kwargs)
            if body is not None:
                request_kwargs["json"] = body(session_id)
            try:
                answer = self._transport.send(
                    method,
                    path(session_id),
                    headers=headers,
                    stream=stream,
                    during=during,
                    **request_kwargs,
                )
                if token_used is not None:
                    token_used.append(bearer)
                return answer
            except TokenExpired as exc:
                if job is not None and job.owner_token_id:
                    # The render's account: its token is kept (a later resume may work), and
                    # a new account's token would not see the render. Once more with the same
                    # token (a 1001 can pass), then with another token of that account.
                    if "token" not in recovered:
                        recovered.add("token")
                        continue
                    if refused is not None:
                        raise RenderAccountUnavailable(
                            render_id=job.id, account=job.owner_user_id or "?", why="refused"
                        ) from None
                    refused = bearer
                    continue
                if self._user_token or "token" in recovered:
                    raise TokenExpired(
                        exc.detail,
                        api_code=exc.api_code,
                        http_status=exc.http_status,
                        user_token=self._user_token,
                    ) from None
                recovered.add("token")
                _log.info("token expired or rejected; getting a new anonymous token")
                self._renew_token(bearer)
            except SessionNotFound:
                if session_id is None or "session" in recovered:
                    raise
                recovered.add("session")
                session_id = self._replace_session(session_id).id
            except OutOfCredits as exc:
                raise self._with_claim_link(exc, session_id) from None
            except (RateLimited, ServerError, BackendUnreachable) as exc:
                if not _retryable(exc, repeatable) or not retry.retry(_server_wait(exc)):
                    raise
                _log.info("%s %s failed (%s); retry %d", method, during, exc.code, retry.failures)
            except (ConnectionLost, RequestTimeout):
                if not repeatable or not retry.retry():
                    raise
                _log.info("%s %s was cut; retry %d", method, during, retry.failures)

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, language: str = "en") -> Session:
        """A new editing session. ``language`` is the reply language: "en", "zh" (simplified),
        "zh-Hant" (traditional) or any BCP-47 tag; the service is sent a BCP-47 tag as the
        public examples show ("en", "zh-CN", "zh-TW"), see :func:`api_language`."""
        data = self._call(
            "POST",
            lambda _: Endpoint.CREATE_SESSION.format(user=_ME, app=APP),
            json={"task_name": "project", "language": api_language(language)},
            during="session",
        )
        session = _session_from(data, language)
        self._sessions[session.id] = session
        self._user_id = session.user_id or self._user_id
        return session

    def resolve_session(self, session: SessionRef) -> str:
        """The current id of a session, following replacements after a 1002."""
        current = session.id if isinstance(session, Session) else str(session)
        seen: set[str] = set()
        while current in self._aliases and current not in seen:
            seen.add(current)
            current = self._aliases[current]
        return current

    def _replace_session(self, old_id: str) -> Session:
        session = self._sessions.get(old_id) or Session(id=old_id)
        fresh = self.create_session(session.language)
        self._sessions.pop(fresh.id, None)
        session.previous_ids.append(old_id)
        session.id, session.task_id = fresh.id, fresh.task_id
        session.user_id = fresh.user_id or session.user_id
        self._sessions[session.id] = session
        self._aliases[old_id] = session.id
        _log.info("session %s was lost on the server; continuing in %s", old_id, session.id)
        if self._on_session_replaced is not None:
            self._on_session_replaced(session)
        return session

    # -- chat ------------------------------------------------------------------------------

    def stream_chat(
        self,
        session_id: SessionRef,
        text: str,
        *,
        on_still_working: Callable[[], None] | None = None,
        raise_on_error: bool = True,
        snapshot: bool = True,
    ) -> Iterator[ChatEvent]:
        """Send one instruction and yield what the assistant does, as it happens.

        Text events carry only new text. ``on_still_working()`` is called after every
        ``still_working_interval`` (2 min) without text. An in-stream error is yielded as an
        "error" event and, once the stream ends, raised (unless ``raise_on_error`` is false).
        If the stream drops (no byte for ``stream_idle_timeout``), the state is read and
        :class:`ConnectionLost` raised with it and what was applied; past ``turn_timeout`` the
        same, as :class:`TurnTimeout`. The instruction is never sent again (an HTTP 404
        "Session not found" or a 1002 before the stream starts is the exception: a new session,
        and the message sent once more). With ``snapshot`` the state is read first, so that
        :meth:`changes` can tell what this turn did.
        """
        sid = self.resolve_session(session_id)
        if snapshot:
            with contextlib.suppress(JiggleError):
                self.state(sid)
            sid = self.resolve_session(sid)
        self._turn_before[sid] = self._last_state.get(sid)

        def body(current: str | None) -> dict[str, Any]:
            return {
                "app_name": APP,
                "user_id": _ME,
                "session_id": current,
                "new_message": {"role": "user", "parts": [{"text": text}]},
                "streaming": True,
            }

        started = self._clock()
        response: httpx.Response = self._call(
            "POST",
            lambda _: Endpoint.CHAT,
            session=sid,
            body=body,
            stream=True,
            during="chat",
            headers={"Accept": "text/event-stream", "Cache-Control": "no-store"},
            timeout=self._stream_timeout,
        )
        sid = self.resolve_session(sid)
        errors: list[JiggleError] = []
        try:
            for event in self._events(response, sid, on_still_working, started):
                if event.kind == "error" and event.error is not None:
                    errors.append(event.error)
                yield event
        finally:
            response.close()
        if errors and raise_on_error:
            first = errors[0]
            if isinstance(first, OutOfCredits):
                first = self._with_claim_link(first, sid)
            raise first

    def _events(
        self,
        response: httpx.Response,
        session_id: str,
        on_still_working: Callable[[], None] | None,
        started: float,
    ) -> Iterator[ChatEvent]:
        decoder, interpreter = SSEDecoder(), ChatInterpreter()
        last_text = self._clock()

        def interpret(message: SSEMessage) -> Iterator[ChatEvent]:
            # One clock read per message: the turn's cap (15 min), then "still working".
            nonlocal last_text
            now = self._clock()
            if now - started >= self.turn_timeout:
                raise self._lost(session_id, None, turn_cap=True)
            for event in interpreter.feed(message):
                if event.kind == "text" and event.text:
                    last_text = now
                elif (
                    on_still_working is not None and now - last_text >= self._still_working_interval
                ):
                    last_text = now
                    on_still_working()
                yield event

        try:
            for line in split_lines(response.iter_text()):
                message = decoder.decode(line)
                if message is not None:
                    yield from interpret(message)
        except httpx.HTTPError as exc:
            mapped = map_transport_error(exc, origin=self._transport.origin, during="chat")
            if isinstance(mapped, RequestTimeout) and self._clock() - started >= self.turn_timeout:
                raise self._lost(session_id, None, turn_cap=True) from None
            detail = (
                "no data within the read timeout" if isinstance(mapped, RequestTimeout) else None
            )
            raise self._lost(session_id, detail or mapped.detail) from None
        pending = decoder.pending()
        if pending is not None:
            # Closed without the blank line that ends a frame: complete JSON is kept, a
            # half-sent frame means the stream was cut.
            try:
                json.loads(pending.data)
            except ValueError:
                raise self._lost(session_id, "the stream ended in the middle of a frame") from None
            yield from interpret(pending)

    def _lost(
        self, session_id: str, detail: str | None, *, turn_cap: bool = False
    ) -> ConnectionLost:
        before = self._turn_before.get(session_id)
        try:
            state: SessionState | None = self.state(session_id)
        except JiggleError:
            state = None
        changes: tuple[TimelineChange, ...] = ()
        if state is not None and before is not None:
            changes = tuple(state.timeline.changes_since(before.timeline))
        compared = state is not None and before is not None
        if turn_cap:
            _log.warning("chat turn for %s ran past %g s", session_id, self.turn_timeout)
            return TurnTimeout(
                None,
                state=state,
                changes=changes,
                during="chat",
                compared=compared,
                minutes=f"{self.turn_timeout / 60:g}",
            )
        _log.warning("chat stream for %s dropped: %s", session_id, detail)
        return ConnectionLost(
            detail, state=state, changes=changes, during="chat", compared=compared
        )

    def changes(self, session_id: SessionRef) -> TurnChanges:
        """The state now and what the last chat turn changed (for turns that said nothing)."""
        sid = self.resolve_session(session_id)
        before = self._turn_before.get(sid)
        state = self.state(sid)
        changes = state.timeline.changes_since(before.timeline) if before is not None else []
        return TurnChanges(state=state, changes=tuple(changes))

    # -- upload, credits, state -------------------------------------------------------------

    def upload(
        self,
        session_id: SessionRef,
        files: Sequence[str | os.PathLike[str]],
        progress: UploadProgress | None = None,
    ) -> list[MediaInfo]:
        """Send photos (paths, checked first by content and size) and URLs to a session.

        Local files go in one streamed multipart request (memory does not grow with their
        size), then URLs as JSON; the result lists the files' media in that order.
        """
        if isinstance(files, str | os.PathLike):
            files = [files]
        paths, urls = split_inputs(files)
        checked = [validate(path) for path in paths]  # every file, before anything is sent
        with contextlib.ExitStack() as converted:
            if self.convert_heic and any(item.kind == "heic" for item in checked):
                folder = converted.enter_context(tempfile.TemporaryDirectory(prefix="jiggle-"))
                checked = for_cloud(checked, Path(folder))
            return self._upload_checked(session_id, checked, urls, progress)

    def _upload_checked(
        self,
        session_id: SessionRef,
        checked: list[LocalFile],
        urls: list[str],
        progress: UploadProgress | None,
    ) -> list[MediaInfo]:
        media: list[MediaInfo] = []

        def path_fn(sid: str | None) -> str:
            return Endpoint.UPLOAD.format(app=APP, user=_ME, sid=sid)

        if checked:
            total = sum(item.size for item in checked)
            sent = 0

            def on_read(count: int) -> None:
                nonlocal sent
                sent = max(0, min(total, sent + count))
                if progress is not None:
                    progress(sent, total)

            with contextlib.ExitStack() as stack:
                parts = [
                    (
                        "files",
                        (
                            item.path.name,
                            ProgressReader(stack.enter_context(item.path.open("rb")), on_read),
                            item.mime,
                        ),
                    )
                    for item in checked
                ]
                data = self._call(
                    "POST",
                    path_fn,
                    session=session_id,
                    files=parts,
                    timeout=UPLOAD_TIMEOUT,
                    during="upload",
                )
            media.extend(_media_from(data))
        if urls:
            data = self._call(
                "POST",
                path_fn,
                session=session_id,
                json={"urls": urls, "source_type": "url"},
                during="upload",
            )
            media.extend(_media_from(data))
        return media

    def credits(self) -> Credits:
        """The credit balance."""
        data = self._call("GET", lambda _: Endpoint.CREDITS, idempotent=True, during="credits")
        return Credits.from_api(data if isinstance(data, Mapping) else {})

    def state(self, session_id: SessionRef) -> SessionState:
        """The session's latest state: draft, timeline, media and canvas."""
        holder: dict[str, str] = {}

        def path(sid: str | None) -> str:
            holder["sid"] = str(sid)
            return Endpoint.STATE.format(app=APP, user=_ME, sid=sid)

        data = self._call("GET", path, session=session_id, idempotent=True, during="state")
        sid = holder["sid"]
        state = SessionState.from_api(data if isinstance(data, Mapping) else {}, sid)
        self._last_state[sid] = state
        return state

    # -- export ----------------------------------------------------------------------------

    def export(
        self,
        session_id: SessionRef,
        *,
        draft: Mapping[str, Any] | None = None,
        progress: RenderProgress | None = None,
        output_path: str | None = None,
    ) -> RenderJob:
        """Submit a render of the session's draft (read now unless given); returns the job.

        The job is written to the JobStore before it is submitted, so that it can be resumed
        after Ctrl-C or a crash; it leaves the store once downloaded, failed or cancelled.
        ``output_path`` (where the video is to be saved) is kept with it for ``resume``.
        """
        sid = self.resolve_session(session_id)
        if draft is None:
            state = self.state(sid)
            sid = self.resolve_session(sid)
            draft = state.draft
        if not has_content(draft):
            raise EmptyDraft()  # the draft has no track with segments: nothing is sent
        job = RenderJob(id=_new_render_id(), session_id=sid, output_path=output_path)
        job.owner_user_id, job.owner_token_id = self._owner_of_new_render(self._bearer())
        self.jobs.add(job)

        def body(current: str | None) -> dict[str, Any]:
            job.session_id = str(current)
            return {
                "id": job.id,
                "sessionId": current,
                "draft": dict(draft or {}),
                "output": {"format": "mp4", "quality": "high"},
            }

        used: list[str] = []
        try:
            # Sent again after a cut only with the same render id, which the service
            # de-duplicates: a render is never submitted (or charged) twice.
            data = self._call(
                "POST",
                lambda _: Endpoint.RENDER,
                session=sid,
                body=body,
                resend_safe=True,
                token_used=used,
                during="export",
            )
        except (ConnectionLost, RequestTimeout) as exc:
            # The server may have accepted it: keep the id so it can be resumed.
            raise ConnectionLost(exc.detail, during="export", render_id=job.id) from None
        except JiggleError:
            self.jobs.remove(job.id)
            raise
        if used:  # a new token during the submit: the render is that account's
            job.owner_user_id, job.owner_token_id = self._owner_of_new_render(used[-1])
        submitted_id = job.id
        job.update_from_api(data if isinstance(data, Mapping) else {})
        self.jobs.add(job, replaces=submitted_id)
        if progress is not None:
            progress(job)
        return job

    def resubmit(self, failed: RenderJob, progress: RenderProgress | None = None) -> RenderJob:
        """Submit the failed render's session again, as a new render with a new id (the
        public skill: "on failure, new id, retry once"). The draft is read anew; the output
        path is kept. The caller decides that it is the one retry, and says so."""
        if not failed.session_id:
            raise RenderFailed(
                failed.reason or "no reason given",
                reason=failed.reason or "no reason given",
                render_id=failed.id,
            )
        return self.export(failed.session_id, progress=progress, output_path=failed.output_path)

    def poll(self, job: RenderJob) -> RenderJob:
        """Check the render once; ``job`` is updated in place and returned."""
        data = self._call(
            "GET",
            lambda _: Endpoint.RENDER_JOB.format(rid=_segment(job.id)),
            idempotent=True,
            job=job,
            during="poll",
        )
        job.update_from_api(data if isinstance(data, Mapping) else {})
        if job.status == "completed" and self.jobs.get(job.id) is not None:
            self.jobs.update(job)  # remember the output URL for a later resume
        return job

    def wait(
        self,
        job: RenderJob,
        progress: RenderProgress | None = None,
        *,
        deadline: float | None = DEFAULT_WAIT_DEADLINE,
    ) -> RenderJob:
        """Poll until the render completes; raises RenderFailed, or Cancelled on Ctrl-C.

        The first check comes after ``first_poll_delay``, later ones every ``poll_interval``.
        After ``deadline`` seconds (:data:`DEFAULT_WAIT_DEADLINE`, 300: the public skill's
        10 polls at 30 s; None: no limit) it raises :class:`RenderTimeout`: the render keeps
        running and stays in the JobStore for ``jiggle resume``.
        """
        delay = min(self.first_poll_delay, self.poll_interval)
        started = self._clock()
        try:
            while job.status != "completed":
                if job.status == "failed":
                    self.jobs.remove(job.id)
                    raise RenderFailed(
                        job.reason or "no reason given",
                        reason=job.reason or "no reason given",
                        render_id=job.id,
                    )
                if job.status == "cancelled":
                    self.jobs.remove(job.id)
                    raise Cancelled()
                if deadline is not None:
                    left = deadline - (self._clock() - started)
                    if left <= 0:
                        raise RenderTimeout(render_id=job.id, seconds=f"{deadline:g}")
                    delay = min(delay, left)
                self._sleep(delay)
                delay = self.poll_interval
                self.poll(job)
                if progress is not None:
                    progress(job)
        except KeyboardInterrupt:
            raise Cancelled(render_id=job.id) from None
        return job

    def download(
        self,
        job: RenderJob,
        dest: str | os.PathLike[str],
        progress: DownloadProgress | None = None,
        *,
        overwrite: bool = True,
    ) -> Path:
        """Fetch the finished video to ``dest`` (a file, or a directory for ``<id>.mp4``).

        A CDN URL is fetched with neither the Authorization header nor the ``X-Skill-*``
        attribution; without one, or when the CDN answers a 4xx (an expired or refused link),
        the API's own ``/api/render/proxy/<id>/download`` is used, with the token (API origin
        only). Interrupted downloads resume with Range. The job leaves the
        JobStore once the file is complete. The render id is made a safe file name
        (:func:`skill.paths.safe_name`) before it names a file. ``overwrite=False``: an
        existing file is kept and the video takes the next free name (the path returned).
        """
        target = Path(dest)
        if target.is_dir():
            target = target / f"{safe_name(job.id, fallback='render')}.mp4"
        if job.status != "completed" or not job.output_url:
            self.poll(job)
        proxy = self.base_url + Endpoint.RENDER_DOWNLOAD.format(rid=_segment(job.id))
        url = job.output_url or proxy

        def fetch(source: str) -> Path:
            headers: dict[str, str] = {}
            if self._transport.same_origin(source):  # the token and attribution: API only
                headers = {
                    **self._transport.attribution,
                    AUTHORIZATION: f"Bearer {self._job_bearer(job)}",
                }
            return download_file(
                self._transport.downloads,
                source,
                target,
                render_id=job.id,
                headers=headers,
                expected_size=job.output_size,
                progress=progress,
                sleep=self._sleep,
                overwrite=overwrite,
            )

        try:
            try:
                path = fetch(url)
            except DownloadFailed as exc:
                status = exc.details.get("http_status")
                if url == proxy or not isinstance(status, int) or not 400 <= status < 500:
                    raise
                _log.info("the CDN answered HTTP %d for %s; using the API download", status, job.id)
                path = fetch(proxy)
        except KeyboardInterrupt:
            raise Cancelled(render_id=job.id) from None
        self.jobs.remove(job.id)
        return path

    def cancel(self, job: RenderJob) -> RenderJob:
        """Ask the server to stop the render; the job leaves the JobStore."""
        data = self._call(
            "POST",
            lambda _: Endpoint.RENDER_CANCEL.format(rid=_segment(job.id)),
            job=job,
            during="cancel",
        )
        job.update_from_api(data if isinstance(data, Mapping) else {})
        job.status = "cancelled"
        self.jobs.remove(job.id)
        return job

    def resume(self, render_id: str) -> RenderJob:
        """A render from the JobStore (or by id alone), checked once on the server."""
        job = self.jobs.get(render_id) or RenderJob(id=render_id, session_id="")
        return self.poll(job)

    # -- out of credits --------------------------------------------------------------------

    def _with_claim_link(self, exc: OutOfCredits, session_id: str | None) -> OutOfCredits:
        """Attach where an anonymous user gets more credits: a claim link, else register."""
        if exc.register_url or not self.anonymous:
            return exc
        url: str | None = None
        session = self._sessions.get(session_id or "")
        try:
            data = self._transport.send(
                "POST",
                Endpoint.CLAIM_TOKEN,
                headers={AUTHORIZATION: f"Bearer {self._bearer()}"},
                json={"task_id": session.task_id if session else None, "session_id": session_id},
                during="claim",
            )
            claim = data.get("claim_token") if isinstance(data, Mapping) else None
            if isinstance(claim, str) and claim:
                url = CLAIM_URL.format(claim_token=claim)
        except JiggleError as claim_error:
            _log.debug("no claim link (%s); using the registration link", claim_error.code)
        if url is None and self._user_id:
            url = REGISTER_URL.format(user_id=self._user_id)
        return OutOfCredits(
            exc.detail, api_code=exc.api_code, http_status=exc.http_status, register_url=url
        )


def has_content(draft: Mapping[str, Any] | None) -> bool:
    """Whether ``draft`` can be rendered: ``t`` has a track with non-empty ``sg`` (the public
    skill's pre-check before an export)."""
    tracks = draft.get("t") if isinstance(draft, Mapping) else None
    if not isinstance(tracks, list):
        return False
    return any(
        isinstance(track, Mapping) and isinstance(track.get("sg"), list) and track["sg"]
        for track in tracks
    )


def _segment(render_id: str) -> str:
    """A server-chosen id as one URL path segment: ``../x`` cannot reach another endpoint."""
    return quote(render_id, safe="")


_render_id_lock = threading.Lock()
_last_render_ms = 0


def _new_render_id() -> str:
    """``render_<ms>_<random>``: ordered by time, unique in this process even when a batch
    exports in the same ms, and across processes (agents export in parallel) by its random
    part."""
    global _last_render_ms
    with _render_id_lock:
        _last_render_ms = max(int(time.time() * 1000), _last_render_ms + 1)
        return f"render_{_last_render_ms}_{secrets.token_hex(3)}"


_TRADITIONAL_TAGS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


def api_language(language: str | None) -> str:
    """The BCP-47 tag a session is created with: Chinese as ``zh-CN`` (simplified) or
    ``zh-TW`` (traditional: zh-Hant, zh-TW, zh-HK, zh-MO), English and anything unusable as
    ``en``; another well-formed tag as given (``ja``, ``pt-BR``)."""
    tag = (language or "").strip().replace("_", "-")
    lowered = tag.lower()
    if not lowered or lowered.startswith("en"):
        return "en"
    if lowered == "zh" or lowered.startswith("zh-"):
        return "zh-TW" if lowered.startswith(_TRADITIONAL_TAGS) else "zh-CN"
    parts = tag.split("-")
    if not all(part.isascii() and part.isalnum() and 1 <= len(part) <= 8 for part in parts):
        return "en"
    return "-".join([parts[0].lower(), *(p.upper() if len(p) == 2 else p for p in parts[1:])])


def _session_from(data: Any, language: str) -> Session:
    raw: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    session_id = raw.get("session_id") or raw.get("sessionId")
    if not session_id:
        raise ServerError("the new session has no session_id")
    task_id = raw.get("task_id") or raw.get("taskId")
    user_id = raw.get("user_id")
    return Session(
        id=str(session_id),
        task_id=str(task_id) if task_id else None,
        language=language,
        user_id=str(user_id) if user_id else None,
    )


def _media_from(data: Any) -> list[MediaInfo]:
    raw: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    items = raw.get("files") or raw.get("uploaded_files") or []
    return [MediaInfo.from_api(item) for item in items if isinstance(item, Mapping)]


def _retryable(exc: JiggleError, repeatable: bool) -> bool:
    """Whether a failed try may be made again: the server said no before doing anything (429,
    503) or was never reached; or, for a request that is safe to repeat, any 5xx."""
    if isinstance(exc, RateLimited | BackendUnreachable):
        return True
    if isinstance(exc, ServerError) and exc.http_status is not None:
        return exc.http_status == 503 or (repeatable and exc.http_status >= 500)
    return False


def _server_wait(exc: JiggleError) -> float | None:
    """The wait the server asked for (``Retry-After``), if any."""
    return exc.retry_after if isinstance(exc, RateLimited) else None


def _on_loopback(base_url: str) -> bool:
    """Whether the API is served on this machine (the local backend)."""
    host = (httpx.URL(base_url).host or "").strip("[]").lower()
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def _sendable(token: str) -> bool:
    """A token goes in an HTTP header: printable ASCII, no spaces."""
    return all(0x21 <= ord(char) <= 0x7E for char in token)
