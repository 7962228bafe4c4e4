"""The state and the common steps behind every endpoint of the local backend.

Every API request goes through the same steps: fire the faults armed for it (an error fault
ends it there), check the bearer token, find the session; the handlers in ``routes/`` then do
their work. ``Service`` also writes the URLs and JSON shapes that several endpoints share.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from skill.errors import InputError
from skill.local.server.config import ServerConfig
from skill.local.server.director import Director
from skill.local.server.envelope import ApiFailure
from skill.local.server.faults import FAULT_NAMES, FaultBook, FaultRule, scope_refusal
from skill.local.server.renders import RenderQueue
from skill.local.server.store import Media, RenderJob, Session, Store, Token, User
from skill.local.server.upload import timed_stream
from skill.protocol import ATTRIBUTION_HEADERS, AUTHORIZATION, REGISTER_URL, ApiCode

__all__ = [
    "ATTRIBUTION",
    "Call",
    "Service",
    "iso_time",
    "owner_of",
    "public_render_id",
    "read_json_object",
    "scoped_render_id",
]

# The faults named by a code: the request fails with that business code or HTTP status.
_ERROR_FAULTS = frozenset(name for name in FAULT_NAMES if name.isdigit())
_FAULT_HEADER = "x-jiggle-fault"
# The attribution headers every API request carries (lowercase, as Starlette reads them).
ATTRIBUTION = tuple(name.lower() for name in ATTRIBUTION_HEADERS)


_MEDIA_KEY = re.compile(r"/m/([A-Za-z0-9]+)/")
# Render ids are chosen by clients, so they are kept per account: the store's key is
# "<user id>~<render id>" ("~" is never in either), the client only ever sees its own id.
_SCOPE = "~"


def scoped_render_id(user_id: str, render_id: str) -> str:
    return f"{user_id}{_SCOPE}{render_id}"


def public_render_id(job: RenderJob) -> str:
    """The id the client chose (jobs saved before ids were scoped have it as is)."""
    prefix = f"{job.user_id}{_SCOPE}"
    return job.id[len(prefix) :] if job.id.startswith(prefix) else job.id


def owner_of(store: Store, media: Media) -> str | None:
    """The user id whose session holds ``media`` (``None`` when that session is gone)."""
    session = store.sessions.get(media.session_id)
    return session.user_id if session is not None else None


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Call:
    """One API request on its way through the service."""

    request: Request
    endpoint: str
    faults: list[FaultRule]
    token: Token | None = None
    user: User | None = None

    def fired(self, name: str) -> FaultRule | None:
        return next((rule for rule in self.faults if rule.name == name), None)


@dataclass
class Service:
    """The state behind both apps: the store, the faults, the director and the render queue."""

    config: ServerConfig
    store: Store
    faults: FaultBook
    director: Director = field(default_factory=Director)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    download_base: str = ""
    heartbeat_style: str = "mixed"
    queue: RenderQueue = field(init=False)

    def __post_init__(self) -> None:
        self.queue = RenderQueue(self.store, self.config)

    # -- the common steps -------------------------------------------------------------------

    def begin(self, request: Request, endpoint: str) -> Call:
        """Fire this request's faults; an error fault ends the request here."""
        try:
            fired = self.faults.take(endpoint, request.headers.get(_FAULT_HEADER))
        except InputError as exc:
            raise ApiFailure(
                ApiCode.BAD_REQUEST, f"Bad X-Jiggle-Fault header: {exc.detail}"
            ) from None
        for rule in fired:
            if rule.name in _ERROR_FAULTS:
                code = int(rule.name)
                headers = {}
                if code == 429:
                    headers["Retry-After"] = f"{rule.value if rule.value is not None else 1:g}"
                if code == 403:  # a token without the scope this endpoint needs
                    message, data = scope_refusal(endpoint)
                    raise ApiFailure(403, message, status=403, data=data)
                raise ApiFailure(code, status=code if code < 1000 else None, headers=headers)
        return Call(request, endpoint, fired)

    def authenticate(self, call: Call) -> User:
        scheme, _, value = call.request.headers.get(AUTHORIZATION, "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiFailure(
                ApiCode.TOKEN_EXPIRED,
                "Missing bearer token: send 'Authorization: Bearer <token>' (get a free token "
                "from POST /api/auth/anonymous-token).",
            )
        with self.store.lock:
            token = self.store.tokens.get(value.strip())
            if token is not None and call.fired("expire-token"):
                token.revoked = True
                self.store.save_accounts()
            if token is None or token.revoked or token.expires_at <= self.config.clock():
                raise ApiFailure(ApiCode.TOKEN_EXPIRED)
            user = self.store.users[token.user_id]
        self.check_attribution(call)
        call.token, call.user = token, user
        return user

    def check_attribution(self, call: Call) -> None:
        """Every API request carries the three ``X-Skill-*`` headers (NemoVideo SKILL.md §3:
        "Missing them will cause auth failures or export 402"): without them, HTTP 403 naming
        the missing ones. An export answers 402 instead (its handler); the API's download
        fallback is a plain link and needs none."""
        if call.endpoint in ("export", "download"):
            return
        missing = [n for n in ATTRIBUTION if not call.request.headers.get(n, "").strip()]
        if missing:
            named = ", ".join(name.title() for name in missing)
            raise ApiFailure(
                403,
                f"Missing attribution header(s) {named}: every API request must carry "
                "X-Skill-Source, X-Skill-Version and X-Skill-Platform.",
                status=403,
                data={"missing_headers": [name.title() for name in missing]},
            )

    def session(self, call: Call, session_id: Any) -> Session:
        with self.store.lock:
            session = self.store.sessions.get(str(session_id))
            if session is not None and call.fired("lose-session"):
                self.store.forget_session(session.session_id)
                session = None
            if session is None or call.user is None or session.user_id != call.user.user_id:
                raise ApiFailure(
                    ApiCode.SESSION_NOT_FOUND,
                    f"Session {str(session_id)[:40]!r} not found. Create a new one with POST "
                    "/api/tasks/me/with-session/nemo_agent.",
                )
            return session

    async def read_json(self, request: Request, *, required: bool = True) -> dict[str, Any]:
        """The request's JSON object, within this server's size, nesting and time limits."""
        return await read_json_object(
            request,
            required=required,
            max_bytes=self.config.max_json_bytes,
            max_depth=self.config.max_json_depth,
            timeout=self.config.body_timeout,
        )

    def find_render(self, user: User | None, render_id: str) -> RenderJob | None:
        """The user's render of that (client-chosen) id; never another account's."""
        if user is None:
            return None
        with self.store.lock:
            job = self.store.renders.get(scoped_render_id(user.user_id, render_id))
            if job is None:  # saved before render ids were scoped
                job = self.store.renders.get(render_id)
            return job if job is not None and job.user_id == user.user_id else None

    def check_draft(self, user: User, draft: dict[str, Any]) -> None:
        """Refuse (4003, HTTP 403) a draft naming media that is not ``user``'s, and (4000) one
        whose numbers or title the renderer must not take. Nothing is charged either way."""
        from skill.local.server.draft import check_draft, media_refs

        why = check_draft(draft, max_title=self.config.max_title_chars)
        if why is not None:
            raise ApiFailure(
                ApiCode.BAD_REQUEST, f"Cannot render: {why}. Fix the draft and export again."
            )
        store = self.store
        with store.lock:
            for media_id, src in media_refs(draft):
                named: list[Media | None] = []
                if media_id is not None:
                    named.append(store.media.get(media_id))
                found = _MEDIA_KEY.search(src or "")
                if found is not None:
                    key = found.group(1)
                    by_key = next((m for m in store.media.values() if m.key == key), None)
                    if by_key is not None:
                        named.append(by_key)
                for media in named:
                    if media is None or owner_of(store, media) != user.user_id:
                        raise ApiFailure(
                            ApiCode.FORBIDDEN,
                            "Cannot render: the draft names media that is not in your account "
                            f"({(media_id or 'a file')[:40]}). Upload the file to your session "
                            "and export again; nothing was charged.",
                            status=403,
                        )

    def out_of_credits(self, user: User) -> ApiFailure:
        return ApiFailure(
            ApiCode.OUT_OF_CREDITS,
            "Out of credits. Register to get more: " + REGISTER_URL.format(user_id=user.user_id),
            data={"user_id": user.user_id, "available": user.available, "frozen": user.frozen},
        )

    # -- URLs -------------------------------------------------------------------------------

    def media_url(self, media: Media) -> str:
        return f"{self.download_base}/m/{media.key}/{media.filename}"

    def render_url(self, job: RenderJob) -> str:
        return f"{self.download_base}/r/{job.key}/{public_render_id(job)}.mp4"

    def media_json(self, media: Media) -> dict[str, Any]:
        info: dict[str, Any] = {
            "filename": media.filename,
            "file_type": media.file_type,
            "cdn_url": self.media_url(media),
            "width": media.width,
            "height": media.height,
            "hash": media.hash,
            "size": media.size,
            "media_id": media.media_id,
        }
        if media.duration is not None:
            info["duration"] = media.duration
        return info

    def job_json(self, job: RenderJob) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": public_render_id(job),
            "status": job.status,
            "progress": job.progress,
        }
        if job.status == "completed":
            data["output"] = {
                "url": self.render_url(job),
                "duration": job.duration,
                "size": job.size,
                "format": "mp4",
            }
            if job.subject:  # the local renderer's own word on what it moved
                data["output"]["subject"] = job.subject
        elif job.reason:
            data["reason"] = job.reason
        return data


async def read_json_object(
    request: Request,
    *,
    required: bool = True,
    max_bytes: int = 1024 * 1024,
    max_depth: int = 32,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """The request's JSON object body: at most ``max_bytes``, nested at most ``max_depth``
    deep, numbers finite, all of it arriving within ``timeout`` seconds (else 413, 4000, 408)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _body_too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    stream = timed_stream(request.stream(), idle=timeout, deadline=timeout)
    async for chunk in stream:
        size += len(chunk)
        if size > max_bytes:
            raise _body_too_large(max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        if required:
            raise ApiFailure(ApiCode.BAD_REQUEST, "The request body is empty; send a JSON object.")
        return {}
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        value = None
        too_deep = True
    except ValueError as exc:
        raise ApiFailure(
            ApiCode.BAD_REQUEST, f"The request body is not valid JSON ({exc.args[0]})."
        ) from None
    else:
        too_deep = _depth(value) > max_depth
    if too_deep:
        raise ApiFailure(
            ApiCode.BAD_REQUEST,
            f"The request body is nested too deeply (at most {max_depth} levels).",
        )
    if not isinstance(value, dict):
        raise ApiFailure(ApiCode.BAD_REQUEST, "The request body must be a JSON object.")
    return value


def _body_too_large(limit: int) -> ApiFailure:
    return ApiFailure(
        ApiCode.BAD_REQUEST,
        f"The request body is larger than {limit // 1024} KB, the limit for JSON.",
        status=413,
    )


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value
