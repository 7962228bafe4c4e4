"""The two Starlette apps of the local backend: the API origin and the download origin.

Every API endpoint goes through the same steps: fire the faults armed for it, check the bearer
token, then do its work; whatever goes wrong becomes an error envelope, never a traceback.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from skill.errors import InputError
from skill.local.server import draft as drafts
from skill.local.server.chat import IntentionalCut, Turn, stream_turn
from skill.local.server.config import ServerConfig
from skill.local.server.director import Director
from skill.local.server.envelope import ApiFailure, error_response, ok
from skill.local.server.faults import FaultBook, FaultRule
from skill.local.server.media import inspect_media
from skill.local.server.renders import RenderQueue
from skill.local.server.store import Media, RenderJob, Session, Store, Token, User, new_id
from skill.local.server.upload import discard, move_into, receive_multipart, receive_urls
from skill.manifest import Manifest, attribution_headers

__all__ = ["Service", "build_api_app", "build_download_app"]

_log = logging.getLogger("skill.local.server")
_ERROR_FAULTS = {"1001", "1002", "2001", "4001", "4002", "400", "402", "429", "500", "502", "503"}
_RENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FAULT_HEADER = "x-jiggle-fault"
_REGISTER_URL = "https://nemovideo.com/register?bind={user_id}"
# The header names the service requires, taken from the manifest module (values do not matter).
_ATTRIBUTION = tuple(
    name.lower() for name in attribution_headers(Manifest("x", "0.0.0", "", None), platform="x")
)


def _iso(timestamp: float) -> str:
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
        elif job.reason:
            data["reason"] = job.reason
        return data


async def _json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
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


Handler = Callable[[Request], Awaitable[Response]]


def build_api_app(svc: Service) -> Starlette:
    """The API origin: every endpoint of the contract."""
    store, config = svc.store, svc.config

    async def index(request: Request) -> Response:
        return ok({"service": "jiggle local backend", "download_origin": svc.download_base})

    async def anonymous_token(request: Request) -> Response:
        svc.begin(request, "auth")
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id:
            raise ApiFailure(400, "Missing X-Client-Id header: send a random UUID in X-Client-Id.")
        ip = request.client.host if request.client else "unknown"
        now = config.clock()
        with store.lock:
            recent = [t for t in store.tokens.values() if t.issued_at > now - config.token_lifetime]
            for attr, value, cap in (
                ("client_id", client_id, config.tokens_per_client),
                ("ip", ip, config.tokens_per_ip),
            ):
                mine = sorted(t.issued_at for t in recent if getattr(t, attr) == value)
                if cap is not None and len(mine) >= cap:
                    wait = int(mine[0] + config.token_lifetime - now) + 1
                    raise ApiFailure(
                        429,
                        f"Too many free tokens: {cap} per {attr.replace('_', ' ')} every 7 days. "
                        "Reuse the token you already have (it lasts 7 days), or register.",
                        data={"retry_after_seconds": wait},
                    )
            user = User(new_id("anon_", 16), config.starting_credits)
            token = Token(
                new_id("nmv_usr_", 32),
                user.user_id,
                client_id,
                ip,
                now,
                now + config.token_lifetime,
            )
            store.users[user.user_id] = user
            store.tokens[token.token] = token
            store.save_accounts()
        return ok(
            {
                "token": token.token,
                "user_id": user.user_id,
                "credits": user.available,
                "expires_at": _iso(token.expires_at),
            }
        )

    async def claim_token(request: Request) -> Response:
        call = svc.begin(request, "auth")
        svc.authenticate(call)
        await _json_object(request, required=False)
        return ok({"claim_token": new_id("clm_", 24), "expires_in": 604800})

    async def create_session(request: Request) -> Response:
        call = svc.begin(request, "session")
        user = svc.authenticate(call)
        body = await _json_object(request, required=False)
        language = str(body.get("language") or "en")
        session = Session(
            session_id=str(10**18 + secrets.randbelow(9 * 10**18)),
            task_id=uuid.uuid4().hex,
            user_id=user.user_id,
            task_name=str(body.get("task_name") or "project")[:200],
            language="zh" if language.lower().startswith("zh") else "en",
            created_at=config.clock(),
            draft=drafts.new_draft(config.default_duration),
        )
        with store.lock:
            store.sessions[session.session_id] = session
            store.save_session(session)
        return ok(
            {"task_id": session.task_id, "session_id": session.session_id, "user_id": user.user_id}
        )

    async def run_sse(request: Request) -> Response:
        call = svc.begin(request, "chat")
        user = svc.authenticate(call)
        body = await _json_object(request)
        message = body.get("new_message")
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise ApiFailure(
                4000, 'new_message.parts must be a list like [{"text": "make it bounce"}].'
            )
        text = "".join(str(p.get("text") or "") for p in parts if not p.get("thought"))
        session = svc.session(call, body.get("session_id"))
        error = call.fired("sse-error")
        with store.lock:
            if user.available < config.chat_cost:
                raise svc.out_of_credits(user)
            session.turns += 1
            audio = next(
                (
                    (store.media[m].media_id, store.media[m].filename)
                    for m in reversed(session.media)
                    if m in store.media and store.media[m].file_type == "audio"
                ),
                None,
            )
            plan = svc.director.plan(
                text,
                session_lang=session.language,
                draft=session.draft,
                style=session.style,
                audio=audio,
            )
            results: list[Mapping[str, Any]] = []
            if error is None:
                user.available -= config.chat_cost
                for edit in plan.edits:
                    results.append(
                        drafts.apply_edit(session.draft, session.style, edit.name, edit.args)
                    )
                store.save_accounts()
            store.save_session(session)
            segment = drafts.video_segment(session.draft)
            photo = str((segment.get("m") or {}).get("name")) if segment else None
            rng = random.Random(f"{config.seed}:{session.turns}")
            draft_now = copy.deepcopy(session.draft)
        speak = plan.kind != "edit" or rng.random() >= config.no_text_ratio
        if error is not None:
            turn = Turn(
                plan,
                [],
                svc.director.preface(plan.lang, rng),
                None,
                error="The assistant hit an internal error and changed nothing. Send your "
                "message again.",
            )
        elif plan.kind == "edit":
            turn = Turn(
                plan,
                results,
                svc.director.preface(plan.lang, rng) if speak else None,
                svc.director.done(plan, results, has_photo=photo is not None) if speak else None,
            )
        else:
            turn = Turn(plan, [], None, svc.director.answer(plan, draft=draft_now, photo=photo))
        stream = stream_turn(
            turn,
            faults=call.faults,
            closing=svc.closing,
            chat_delay=config.chat_delay,
            heartbeat_interval=config.heartbeat_interval,
            heartbeat_style=svc.heartbeat_style,
        )
        return StreamingResponse(
            stream,
            media_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def upload(request: Request) -> Response:
        call = svc.begin(request, "upload")
        svc.authenticate(call)
        session = svc.session(call, request.path_params["sid"])
        incoming = store.media_dir / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        content_type = request.headers.get("content-type", "").lower()
        if content_type.startswith("multipart/form-data"):
            received = await receive_multipart(request, incoming, config.max_upload_bytes)
        elif content_type.startswith("application/json"):
            body = await _json_object(request)
            urls = body.get("urls")
            if not isinstance(urls, list) or not urls:
                raise ApiFailure(4000, 'Send JSON like {"urls": ["file:///path/photo.jpg"]}.')
            received = await receive_urls(urls, incoming, config.max_upload_bytes)
        else:
            raise ApiFailure(
                4000,
                "Send multipart/form-data with one or more 'files' parts, or JSON "
                '{"urls": [...]}.',
            )
        if not received:
            raise ApiFailure(4000, "The request has no files: add one or more 'files' parts.")
        infos = [await asyncio.to_thread(inspect_media, item.path) for item in received]
        for item, info in zip(received, infos, strict=True):
            if info is None:
                discard(received)
                raise ApiFailure(
                    4001,
                    f"{item.filename} is not a supported file (checked by its content). Send one "
                    "of: mp4 mov avi webm mkv jpg png gif webp heic mp3 wav m4a aac.",
                    data={"filename": item.filename},
                )
        files: list[dict[str, Any]] = []
        with store.lock:
            for item, info in zip(received, infos, strict=True):
                assert info is not None
                media_id = new_id("m_", 12)
                target = move_into(item, store.media_dir / media_id)
                media = Media(
                    media_id=media_id,
                    session_id=session.session_id,
                    filename=item.filename,
                    file_type=info.kind,
                    path=str(target.relative_to(store.root)),
                    key=new_id("", 20),
                    size=item.size,
                    hash=item.sha256,
                    width=info.width,
                    height=info.height,
                    duration=info.duration,
                )
                store.media[media_id] = media
                session.media.append(media_id)
                if media.file_type == "image":
                    # The newest photo is the active one: it replaces the video segment.
                    drafts.place_photo(
                        session.draft,
                        name=media.filename,
                        src=svc.media_url(media),
                        media_id=media_id,
                        style=session.style,
                    )
                    session.style = {}
                files.append(svc.media_json(media))
            store.save_accounts()
            store.save_session(session)
        return ok({"files": files, "session_state_applied": True})

    async def credits(request: Request) -> Response:
        call = svc.begin(request, "credits")
        user = svc.authenticate(call)
        with store.lock:
            data = {
                "available": user.available,
                "frozen": user.frozen,
                "total": user.available + user.frozen,
            }
        return ok(data)

    async def state(request: Request) -> Response:
        call = svc.begin(request, "state")
        svc.authenticate(call)
        session = svc.session(call, request.path_params["sid"])
        with store.lock:
            draft = copy.deepcopy(session.draft)
            segment = drafts.video_segment(draft)
            media_id = (segment.get("m") or {}).get("media_id") if segment else None
            if isinstance(media_id, str) and media_id in store.media:
                # The download origin's port can change across restarts: give today's URL.
                segment["m"]["src"] = svc.media_url(store.media[media_id])  # type: ignore[index]
            videos = [svc.media_json(store.media[m]) for m in session.media if m in store.media]
            generated = [
                {"id": j.id, "url": svc.render_url(j), "duration": j.duration, "size": j.size}
                for j in sorted(store.renders.values(), key=lambda j: j.created_at)
                if j.session_id == session.session_id and j.status == "completed"
            ]
        meta = draft.get("m") or {}
        return ok(
            {
                "session_id": session.session_id,
                "task_id": session.task_id,
                "state": {
                    "draft": draft,
                    "video_infos": videos,
                    "canvas_config": {
                        "width": meta.get("width", 1080),
                        "height": meta.get("height", 1920),
                    },
                    "generated_media": generated,
                },
            }
        )

    async def export(request: Request) -> Response:
        call = svc.begin(request, "export")
        user = svc.authenticate(call)
        if any(not request.headers.get(name, "").strip() for name in _ATTRIBUTION):
            raise ApiFailure(402)
        body = await _json_object(request)
        session = svc.session(call, body.get("sessionId", body.get("session_id")))
        render_id = body.get("id") or f"render_{int(time.time() * 1000)}"
        if not isinstance(render_id, str) or not _RENDER_ID.match(render_id):
            raise ApiFailure(
                4000,
                "The render id must be letters, digits, '_', '-' or '.', like "
                "render_1763950000123.",
            )
        draft = body.get("draft")
        with store.lock:
            existing = store.renders.get(render_id)
            if existing is not None:
                if existing.user_id == user.user_id and existing.session_id == session.session_id:
                    return ok(svc.job_json(existing))  # a retried export: the same job
                raise ApiFailure(
                    4009, f"The render id {render_id} is taken; use a new one.", status=409
                )
            if not isinstance(draft, dict) or not draft.get("t"):
                draft = copy.deepcopy(session.draft)
            has_image = any(
                m in store.media and store.media[m].file_type == "image" for m in session.media
            )
            if drafts.video_segment(draft) is None or not has_image:
                raise ApiFailure(
                    4000, "Nothing to render yet: upload a photo to this session, then export."
                )
            if user.available < config.export_cost:
                raise svc.out_of_credits(user)
            user.available -= config.export_cost
            user.frozen += config.export_cost
            job = RenderJob(
                id=render_id,
                session_id=session.session_id,
                user_id=user.user_id,
                status="pending",
                progress=5,
                created_at=config.clock(),
                draft=draft,
                key=new_id("", 20),
                frozen=config.export_cost,
                doomed=call.fired("render-fail") is not None,
            )
            store.renders[job.id] = job
            store.save_render(job)
            store.save_accounts()
            answer = svc.job_json(job)  # as submitted: the worker may start it at once
        svc.queue.submit(job.id)
        return ok(answer)

    def _job(call: Call, render_id: str) -> RenderJob:
        job = store.renders.get(render_id)
        if job is None or call.user is None or job.user_id != call.user.user_id:
            raise ApiFailure(
                4004, f"No render {render_id[:100]!r}. Check the id, or export again.", status=404
            )
        return job

    async def poll(request: Request) -> Response:
        call = svc.begin(request, "poll")
        svc.authenticate(call)
        with store.lock:
            job = _job(call, request.path_params["rid"])
            if call.fired("render-fail") and job.status in ("pending", "rendering"):
                job.doomed = True
            return ok(svc.job_json(job))

    async def cancel(request: Request) -> Response:
        call = svc.begin(request, "cancel")
        svc.authenticate(call)
        with store.lock:
            job = _job(call, request.path_params["rid"])
            svc.queue.cancel(job)
            return ok(svc.job_json(job))

    async def proxy_download(request: Request) -> Response:
        call = svc.begin(request, "download")
        svc.authenticate(call)
        with store.lock:
            job = _job(call, request.path_params["rid"])
            if job.status != "completed" or job.output is None:
                raise ApiFailure(
                    4000,
                    f"Render {job.id} is {job.status}, not completed: poll it until completed.",
                )
            path = store.path_of(job.output)
        return _file_response(path, f"{job.id}.mp4", call)

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, handler, methods=[method])

    routes = [
        route("/", index, "GET"),
        route("/api/auth/anonymous-token", anonymous_token, "POST"),
        route("/api/auth/claim-token", claim_token, "POST"),
        route("/api/tasks/{user}/with-session/{app}", create_session, "POST"),
        route("/run_sse", run_sse, "POST"),
        route("/api/upload-video/{app}/{user}/{sid}", upload, "POST"),
        route("/api/credits/balance/simple", credits, "GET"),
        route("/api/state/{app}/{user}/{sid}/latest", state, "GET"),
        route("/api/render/proxy/lambda", export, "POST"),
        route("/api/render/proxy/lambda/{rid}", poll, "GET"),
        route("/api/render/proxy/lambda/{rid}/cancel", cancel, "POST"),
        route("/api/render/proxy/{rid}/download", proxy_download, "GET"),
    ]
    return Starlette(routes=routes, exception_handlers=_EXCEPTION_HANDLERS)


def build_download_app(svc: Service) -> Starlette:
    """The download origin (a CDN stand-in): rendered videos and uploaded media, no token,
    Range requests supported."""
    store = svc.store

    async def rendered(request: Request) -> Response:
        call = svc.begin(request, "download")
        key = request.path_params["key"]
        with store.lock:
            job = next((j for j in store.renders.values() if j.key == key), None)
            if job is None or job.status != "completed" or job.output is None:
                raise ApiFailure(
                    4004, "No such video here. Poll the render for its URL.", status=404
                )
            path = store.path_of(job.output)
        return _file_response(path, f"{job.id}.mp4", call)

    async def uploaded(request: Request) -> Response:
        call = svc.begin(request, "download")
        key = request.path_params["key"]
        with store.lock:
            media = next((m for m in store.media.values() if m.key == key), None)
            if media is None:
                raise ApiFailure(4004, "No such file here.", status=404)
            path = store.path_of(media.path)
        return _file_response(path, media.filename, call)

    routes = [
        Route("/r/{key}/{name}", rendered, methods=["GET", "HEAD"]),
        Route("/m/{key}/{name}", uploaded, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes, exception_handlers=_EXCEPTION_HANDLERS)


class _CutFileResponse(FileResponse):
    """A file response that drops the connection after ``cut_after`` body bytes."""

    def __init__(self, path: Path, *, cut_after: int, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.cut_after = cut_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = self.cut_after

        async def limited(message: Message) -> None:
            nonlocal budget
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if len(body) >= budget:
                    await send(
                        {"type": "http.response.body", "body": body[:budget], "more_body": True}
                    )
                    raise IntentionalCut("download-cut")
                budget -= len(body)
            await send(message)

        await super().__call__(scope, receive, limited)


def _file_response(path: Path, filename: str, call: Call) -> Response:
    media_type = "video/mp4" if filename.endswith(".mp4") else None
    cut = call.fired("download-cut")
    if cut is None:
        return FileResponse(
            path, media_type=media_type, filename=filename, content_disposition_type="inline"
        )
    size = path.stat().st_size
    cut_after = int(cut.value) if cut.value is not None else size // 2
    return _CutFileResponse(
        path,
        cut_after=cut_after,
        media_type=media_type,
        filename=filename,
        content_disposition_type="inline",
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


_EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiFailure: _on_failure,
    HTTPException: _on_http_error,
    Exception: _on_bug,
}
