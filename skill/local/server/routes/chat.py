"""The chat turn: ``/run_sse`` reads a message, lets the director act on it, streams the turn."""

from __future__ import annotations

import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from skill.local.server.chat import Turn, stream_turn
from skill.local.server.director import Director, Look, Outcome, Plan
from skill.local.server.envelope import ApiFailure
from skill.local.server.faults import FaultRule
from skill.local.server.routes import service
from skill.local.server.service import Call
from skill.protocol import ApiCode

__all__ = ["run_sse"]


def _message_text(body: dict[str, Any]) -> str:
    """The text of ``new_message`` (its thought parts left out)."""
    message = body.get("new_message")
    parts = message.get("parts") if isinstance(message, dict) else None
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise ApiFailure(
            ApiCode.BAD_REQUEST,
            'new_message.parts must be a list like [{"text": "make it bounce"}].',
        )
    return "".join(str(p.get("text") or "") for p in parts if not p.get("thought"))


def _turn(
    call: Call,
    director: Director,
    plan: Plan,
    *,
    outcome: Outcome | None,
    look: Look,
    lang: str,
    rng: random.Random,
    error: FaultRule | None,
) -> Turn:
    """What the turn will stream: the error, the edits with their words, or an answer."""
    meta = {"jiggle": {"turn": plan.kind, "understood": plan.understood}}
    if error is not None:
        return Turn(
            [],
            [],
            director.preface(lang, rng),
            None,
            error="The assistant hit an internal error and changed nothing. Send your "
            "message again.",
            system_error=error.name == "sse-system-error",
        )
    if outcome is not None:
        # The embedded default always answers in words; a client can be tested against
        # the cloud's wordless edit turns with the sse-silent fault.
        speak = call.fired("sse-silent") is None
        return Turn(
            outcome.edits,
            outcome.results,
            director.preface(lang, rng) if speak else None,
            director.closing(plan, outcome, lang) if speak else None,
            meta=meta,
        )
    return Turn([], [], None, director.answer(plan, look, lang), meta=meta)


async def run_sse(request: Request) -> Response:
    svc = service(request)
    store, config = svc.store, svc.config
    call = svc.begin(request, "chat")
    if call.fired("sse-404") is not None:
        # What an ADK server answers for a session its session service does not know.
        return JSONResponse({"detail": "Session not found"}, status_code=404)
    user = svc.authenticate(call)
    body = await svc.read_json(request)
    text = _message_text(body)
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
    turn = _turn(call, director, plan, outcome=outcome, look=look, lang=lang, rng=rng, error=error)
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
