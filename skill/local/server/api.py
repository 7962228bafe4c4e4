"""The API origin: every endpoint of the contract (nemo-api.md), with its canonical shapes."""

from __future__ import annotations

import asyncio
import copy
import random
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from skill.local.server import draft as drafts
from skill.local.server.chat import Turn, stream_turn
from skill.local.server.downloads import file_response
from skill.local.server.envelope import EXCEPTION_HANDLERS, ApiFailure, ok
from skill.local.server.media import check_upload
from skill.local.server.service import (
    ATTRIBUTION,
    Call,
    Service,
    iso_time,
    public_render_id,
    scoped_render_id,
)
from skill.local.server.store import Media, RenderJob, Session, Token, User, new_id
from skill.local.server.upload import (
    discard,
    is_loopback,
    move_into,
    receive_multipart,
    receive_urls,
    url_list,
)
from skill.protocol import CLIENT_ID, ApiCode, Endpoint

__all__ = ["build_api_app"]

_RENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

Handler = Callable[[Request], Awaitable[Response]]


def _session_language(code: str) -> str:
    """en, zh-Hans or zh-Hant, from a BCP-47 code (zh-TW and zh-HK write traditional)."""
    code = code.lower()
    if not code.startswith("zh"):
        return "en"
    return "zh-Hant" if code.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")) else "zh-Hans"


def build_api_app(svc: Service) -> Starlette:
    """The API origin: every endpoint of the contract."""
    store, config = svc.store, svc.config

    async def index(request: Request) -> Response:
        return ok({"service": "jiggle local backend", "download_origin": svc.download_base})

    async def anonymous_token(request: Request) -> Response:
        svc.begin(request, "auth")
        client_id = request.headers.get(CLIENT_ID, "").strip()
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
                        headers={"Retry-After": str(wait)},
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
                "expires_at": iso_time(token.expires_at),
            }
        )

    async def claim_token(request: Request) -> Response:
        call = svc.begin(request, "auth")
        svc.authenticate(call)
        await svc.read_json(request, required=False)
        return ok({"claim_token": new_id("clm_", 24), "expires_in": 604800})

    async def create_session(request: Request) -> Response:
        call = svc.begin(request, "session")
        user = svc.authenticate(call)
        body = await svc.read_json(request, required=False)
        language = str(body.get("language") or "en")
        session = Session(
            session_id=str(10**18 + secrets.randbelow(9 * 10**18)),
            task_id=uuid.uuid4().hex,
            user_id=user.user_id,
            task_name=str(body.get("task_name") or "project")[:200],
            language=_session_language(language),
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
        if call.fired("sse-404") is not None:
            # What an ADK server answers for a session its session service does not know.
            return JSONResponse({"detail": "Session not found"}, status_code=404)
        user = svc.authenticate(call)
        body = await svc.read_json(request)
        message = body.get("new_message")
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise ApiFailure(
                ApiCode.BAD_REQUEST,
                'new_message.parts must be a list like [{"text": "make it bounce"}].',
            )
        text = "".join(str(p.get("text") or "") for p in parts if not p.get("thought"))
        session = svc.session(call, body.get("session_id"))
        # sse-error: an errorCode event; sse-system-error: current ADK's "Error: ..." event.
        error = call.fired("sse-error") or call.fired("sse-system-error")
        director = svc.director
        plan = director.plan(text)  # pure: read outside the lock
        with store.lock:
            if user.available < config.chat_cost:
                raise svc.out_of_credits(user)
            session.turns += 1
            lang = director.language(plan, session.language)
            session.language = director.session_language(plan, session.language)
            music = store.newest_media(session, "audio")
            audio = (music.media_id, music.filename) if music is not None else None
            outcome = None
            if error is None:
                if plan.understood:  # a message it could not act on costs nothing
                    user.available -= config.chat_cost
                if plan.kind == "edit":
                    outcome = director.execute(plan, session, audio=audio)
                store.save_accounts()
            store.save_session(session)
            look = director.look(session)
            rng = random.Random(f"{config.seed}:{session.turns}")
        meta = {"jiggle": {"turn": plan.kind, "understood": plan.understood}}
        if error is not None:
            turn = Turn(
                [],
                [],
                director.preface(lang, rng),
                None,
                error="The assistant hit an internal error and changed nothing. Send your "
                "message again.",
                system_error=error.name == "sse-system-error",
            )
        elif outcome is not None:
            # The embedded default always answers in words; a client can be tested against
            # the cloud's wordless edit turns with the sse-silent fault.
            speak = call.fired("sse-silent") is None
            turn = Turn(
                outcome.edits,
                outcome.results,
                director.preface(lang, rng) if speak else None,
                director.closing(plan, outcome, lang) if speak else None,
                meta=meta,
            )
        else:
            turn = Turn([], [], None, director.answer(plan, look, lang), meta=meta)
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
            received = await receive_multipart(
                request,
                incoming,
                config.max_upload_bytes,
                idle=config.body_timeout,
                deadline=config.upload_deadline,
            )
        elif content_type.startswith("application/json"):
            body = await svc.read_json(request)
            received = await receive_urls(
                url_list(body),
                incoming,
                config.max_upload_bytes,
                local=is_loopback(request.client.host if request.client else None),
                file_roots=config.file_roots,
                forbidden=(store.root,),  # never another account's uploads or renders
                idle=config.body_timeout,
                deadline=config.upload_deadline,
            )
        else:
            raise ApiFailure(
                ApiCode.BAD_REQUEST,
                "Send multipart/form-data with one or more 'files' parts, or JSON "
                '{"urls": [...], "source_type": "url"}.',
            )
        if not received:
            raise ApiFailure(
                ApiCode.BAD_REQUEST, "The request has no files: add one or more 'files' parts."
            )
        try:  # by content: the type, a photo's pixel count (before decoding), a full decode
            infos = [
                await asyncio.to_thread(
                    check_upload, item.path, item.filename, max_pixels=config.max_image_pixels
                )
                for item in received
            ]
        except BaseException:
            discard(received)
            raise
        files: list[dict[str, Any]] = []
        with store.lock:
            for item, info in zip(received, infos, strict=True):
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
                    # A new photo starts a new edit history: undo never brings back an old photo.
                    session.undo.clear()
                    session.redo.clear()
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
                {
                    "id": public_render_id(j),
                    "url": svc.render_url(j),
                    "duration": j.duration,
                    "size": j.size,
                }
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
        if any(not request.headers.get(name, "").strip() for name in ATTRIBUTION):
            raise ApiFailure(402)
        body = await svc.read_json(request)
        session = svc.session(call, body.get("sessionId", body.get("session_id")))
        render_id = body.get("id") or f"render_{int(time.time() * 1000)}"
        if not isinstance(render_id, str) or not _RENDER_ID.match(render_id):
            raise ApiFailure(
                ApiCode.BAD_REQUEST,
                "The render id must be letters, digits, '_', '-' or '.', like "
                "render_1763950000123.",
            )
        draft = body.get("draft")
        with store.lock:
            existing = svc.find_render(user, render_id)  # ids are per account
            if existing is not None:
                if existing.session_id == session.session_id:
                    return ok(svc.job_json(existing))  # a retried export: the same job
                raise ApiFailure(
                    4009, f"The render id {render_id} is taken; use a new one.", status=409
                )
            if not isinstance(draft, dict) or not draft.get("t"):
                draft = copy.deepcopy(session.draft)
            svc.check_draft(user, draft)  # its media are this user's, its numbers sane
            has_image = store.newest_media(session, "image") is not None
            if drafts.video_segment(draft) is None or not has_image:
                raise ApiFailure(
                    ApiCode.BAD_REQUEST,
                    "Nothing to render yet: upload a photo to this session, then export.",
                )
            if user.available < config.export_cost:
                raise svc.out_of_credits(user)
            user.available -= config.export_cost
            user.frozen += config.export_cost
            job = RenderJob(
                id=scoped_render_id(user.user_id, render_id),
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
        job = svc.find_render(call.user, render_id)
        if job is None:
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
                    ApiCode.BAD_REQUEST,
                    f"Render {request.path_params['rid']} is {job.status}, not completed: poll "
                    "it until completed.",
                )
            path = store.path_of(job.output)
        return file_response(path, f"{public_render_id(job)}.mp4", call)

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(path, handler, methods=[method])

    routes = [
        route("/", index, "GET"),
        route(Endpoint.ANONYMOUS_TOKEN, anonymous_token, "POST"),
        route(Endpoint.CLAIM_TOKEN, claim_token, "POST"),
        route(Endpoint.CREATE_SESSION, create_session, "POST"),
        route(Endpoint.CHAT, run_sse, "POST"),
        route(Endpoint.UPLOAD, upload, "POST"),
        route(Endpoint.CREDITS, credits, "GET"),
        route(Endpoint.STATE, state, "GET"),
        route(Endpoint.RENDER, export, "POST"),
        route(Endpoint.RENDER_JOB, poll, "GET"),
        route(Endpoint.RENDER_CANCEL, cancel, "POST"),
        route(Endpoint.RENDER_DOWNLOAD, proxy_download, "GET"),
    ]
    return Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
