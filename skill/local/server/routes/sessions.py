"""Sessions: create one, read its state (the draft, its media, its finished renders)."""

from __future__ import annotations

import copy
import secrets
import uuid

from starlette.requests import Request
from starlette.responses import Response

from skill.local.server import draft as drafts
from skill.local.server.envelope import ok
from skill.local.server.routes import service
from skill.local.server.service import public_render_id
from skill.local.server.store import Session

__all__ = ["create_session", "state"]


def _session_language(code: str) -> str:
    """en, zh-Hans or zh-Hant, from a BCP-47 code (zh-TW and zh-HK write traditional)."""
    code = code.lower()
    if not code.startswith("zh"):
        return "en"
    return "zh-Hant" if code.startswith(("zh-hant", "zh-tw", "zh-hk", "zh-mo")) else "zh-Hans"


async def create_session(request: Request) -> Response:
    svc = service(request)
    store, config = svc.store, svc.config
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


async def state(request: Request) -> Response:
    svc = service(request)
    store = svc.store
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
