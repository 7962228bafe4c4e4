"""Uploads: files sent as multipart parts or named by URL, checked by content, then kept."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from skill.local.server import draft as drafts
from skill.local.server.envelope import ApiFailure, ok
from skill.local.server.media import MediaInfo, check_upload
from skill.local.server.routes import service
from skill.local.server.service import Service
from skill.local.server.store import Media, Session, new_id
from skill.local.server.upload import (
    Received,
    discard,
    is_loopback,
    move_into,
    receive_multipart,
    receive_urls,
    url_list,
)
from skill.protocol import ApiCode

__all__ = ["upload"]


async def _receive(svc: Service, request: Request) -> list[Received]:
    """The request's files, written below the media folder's ``.incoming``."""
    store, config = svc.store, svc.config
    incoming = store.media_dir / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return await receive_multipart(
            request,
            incoming,
            config.max_upload_bytes,
            idle=config.body_timeout,
            deadline=config.upload_deadline,
        )
    if content_type.startswith("application/json"):
        body = await svc.read_json(request)
        return await receive_urls(
            url_list(body),
            incoming,
            config.max_upload_bytes,
            local=is_loopback(request.client.host if request.client else None),
            file_roots=config.file_roots,
            forbidden=(store.root,),  # never another account's uploads or renders
            idle=config.body_timeout,
            deadline=config.upload_deadline,
        )
    raise ApiFailure(
        ApiCode.BAD_REQUEST,
        "Send multipart/form-data with one or more 'files' parts, or JSON "
        '{"urls": [...], "source_type": "url"}.',
    )


def _keep(
    svc: Service, session: Session, received: list[Received], infos: list[MediaInfo]
) -> list[dict[str, Any]]:
    """Move the checked files into place as the session's media (the caller holds the lock)."""
    store = svc.store
    files: list[dict[str, Any]] = []
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
    return files


async def upload(request: Request) -> Response:
    svc = service(request)
    store, config = svc.store, svc.config
    call = svc.begin(request, "upload")
    svc.authenticate(call)
    session = svc.session(call, request.path_params["sid"])
    received = await _receive(svc, request)
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
    with store.lock:
        files = _keep(svc, session, received, infos)
        store.save_accounts()
        store.save_session(session)
    return ok({"files": files, "session_state_applied": True})
