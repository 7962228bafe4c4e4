"""Renders: export a draft, poll the job, cancel it, download the finished video."""

from __future__ import annotations

import copy
import re
import time

from starlette.requests import Request
from starlette.responses import Response

from skill.local.server import draft as drafts
from skill.local.server.downloads import file_response
from skill.local.server.envelope import ApiFailure, ok
from skill.local.server.routes import service
from skill.local.server.service import (
    ATTRIBUTION,
    Call,
    Service,
    public_render_id,
    scoped_render_id,
)
from skill.local.server.store import RenderJob, new_id
from skill.protocol import ApiCode

__all__ = ["cancel", "export", "poll", "proxy_download"]

_RENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


async def export(request: Request) -> Response:
    svc = service(request)
    store, config = svc.store, svc.config
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
            "The render id must be letters, digits, '_', '-' or '.', like render_1763950000123.",
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


def _begin(request: Request, endpoint: str) -> tuple[Service, Call]:
    """The service and the authenticated call, for the endpoints that name a render."""
    svc = service(request)
    call = svc.begin(request, endpoint)
    svc.authenticate(call)
    return svc, call


def _job(svc: Service, call: Call, render_id: str) -> RenderJob:
    job = svc.find_render(call.user, render_id)
    if job is None:
        raise ApiFailure(
            4004, f"No render {render_id[:100]!r}. Check the id, or export again.", status=404
        )
    return job


async def poll(request: Request) -> Response:
    svc, call = _begin(request, "poll")
    with svc.store.lock:
        job = _job(svc, call, request.path_params["rid"])
        if call.fired("render-fail") and job.status in ("pending", "rendering"):
            job.doomed = True
        return ok(svc.job_json(job))


async def cancel(request: Request) -> Response:
    svc, call = _begin(request, "cancel")
    with svc.store.lock:
        job = _job(svc, call, request.path_params["rid"])
        svc.queue.cancel(job)
        return ok(svc.job_json(job))


async def proxy_download(request: Request) -> Response:
    svc, call = _begin(request, "download")
    store = svc.store
    with store.lock:
        job = _job(svc, call, request.path_params["rid"])
        if job.status != "completed" or job.output is None:
            raise ApiFailure(
                ApiCode.BAD_REQUEST,
                f"Render {request.path_params['rid']} is {job.status}, not completed: poll "
                "it until completed.",
            )
        path = store.path_of(job.output)
    return file_response(path, f"{public_render_id(job)}.mp4", call)
