"""The state and the common steps behind every endpoint of the local backend.

Every API request goes through the same steps: fire the faults armed for it (an error fault
ends it there), check the bearer token, find the session; the handlers in ``api.py`` then do
their work. ``Service`` also writes the URLs and JSON shapes that several endpoints share.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from skill.errors import InputError
from skill.local.server.config import ServerConfig
from skill.local.server.director import Director
from skill.local.server.envelope import ApiFailure
from skill.local.server.faults import FaultBook, FaultRule
from skill.local.server.renders import RenderQueue
from skill.local.server.store import Media, RenderJob, Session, Store, Token, User
from skill.manifest import Manifest, attribution_headers

__all__ = ["ATTRIBUTION", "Call", "Service", "iso_time", "read_json_object"]

_ERROR_FAULTS = {"1001", "1002", "2001", "4001", "4002", "400", "402", "429", "500", "502", "503"}
_FAULT_HEADER = "x-jiggle-fault"
_REGISTER_URL = "https://nemovideo.com/register?bind={user_id}"
# The header names the service requires, taken from the manifest module (values do not matter).
ATTRIBUTION = tuple(
    name.lower() for name in attribution_headers(Manifest("x", "0.0.0", "", None), platform="x")
)


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
            raise ApiFailure(4000, f"Bad X-Jiggle-Fault header: {exc.detail}") from None
        for rule in fired:
            if rule.name in _ERROR_FAULTS:
                code = int(rule.name)
                headers = {}
                if code == 429:
                    headers["Retry-After"] = f"{rule.value if rule.value is not None else 1:g}"
                raise ApiFailure(code, status=code if code < 1000 else None, headers=headers)
        return Call(request, endpoint, fired)

    def authenticate(self, call: Call) -> User:
        scheme, _, value = call.request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiFailure(
                1001,
                "Missing bearer token: send 'Authorization: Bearer <token>' (get a free token "
                "from POST /api/auth/anonymous-token).",
            )
        with self.store.lock:
            token = self.store.tokens.get(value.strip())
            if token is not None and call.fired("expire-token"):
                token.revoked = True
                self.store.save_accounts()
            if token is None or token.revoked or token.expires_at <= self.config.clock():
                raise ApiFailure(1001)
            user = self.store.users[token.user_id]
        call.token, call.user = token, user
        return user

    def session(self, call: Call, session_id: Any) -> Session:
        with self.store.lock:
            session = self.store.sessions.get(str(session_id))
            if session is not None and call.fired("lose-session"):
                self.store.forget_session(session.session_id)
                session = None
            if session is None or call.user is None or session.user_id != call.user.user_id:
                raise ApiFailure(
                    1002,
                    f"Session {str(session_id)[:40]!r} not found. Create a new one with POST "
                    "/api/tasks/me/with-session/nemo_agent.",
                )
            return session

    def out_of_credits(self, user: User) -> ApiFailure:
        return ApiFailure(
            2001,
            "Out of credits. Register to get more: " + _REGISTER_URL.format(user_id=user.user_id),
            data={"user_id": user.user_id, "available": user.available, "frozen": user.frozen},
        )

    # -- URLs -------------------------------------------------------------------------------

    def media_url(self, media: Media) -> str:
        return f"{self.download_base}/m/{media.key}/{media.filename}"

    def render_url(self, job: RenderJob) -> str:
        return f"{self.download_base}/r/{job.key}/{job.id}.mp4"

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
        data: dict[str, Any] = {"id": job.id, "status": job.status, "progress": job.progress}
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


async def read_json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        if required:
            raise ApiFailure(4000, "The request body is empty; send a JSON object.")
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ApiFailure(4000, f"The request body is not valid JSON ({exc.args[0]}).") from None
    if not isinstance(value, dict):
        raise ApiFailure(4000, "The request body must be a JSON object.")
    return value
