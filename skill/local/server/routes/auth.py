"""Tokens and credits: the free anonymous token, the claim token, the balance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from skill.local.server.envelope import ApiFailure, ok
from skill.local.server.routes import service
from skill.local.server.service import iso_time
from skill.local.server.store import Token, User, new_id
from skill.protocol import CLIENT_ID

__all__ = ["anonymous_token", "claim_token", "credits"]


async def anonymous_token(request: Request) -> Response:
    svc = service(request)
    store, config = svc.store, svc.config
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
    svc = service(request)
    call = svc.begin(request, "auth")
    svc.authenticate(call)
    await svc.read_json(request, required=False)
    return ok({"claim_token": new_id("clm_", 24), "expires_in": 604800})


async def credits(request: Request) -> Response:
    svc = service(request)
    call = svc.begin(request, "credits")
    user = svc.authenticate(call)
    with svc.store.lock:
        data = {
            "available": user.available,
            "frozen": user.frozen,
            "total": user.available + user.frozen,
        }
    return ok(data)
