"""The API origin: every endpoint of the contract (nemo-api.md), with its canonical shapes.

The handlers live in :mod:`skill.local.server.routes`, one module per resource; this module
puts them in the route table and hands them the shared :class:`Service` on ``app.state``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from skill.local.server.envelope import EXCEPTION_HANDLERS
from skill.local.server.routes import index
from skill.local.server.routes.auth import anonymous_token, claim_token, credits
from skill.local.server.routes.chat import run_sse
from skill.local.server.routes.renders import cancel, export, poll, proxy_download
from skill.local.server.routes.sessions import create_session, state
from skill.local.server.routes.uploads import upload
from skill.local.server.service import Service
from skill.protocol import Endpoint

__all__ = ["build_api_app"]

ROUTES = [
    Route("/", index, methods=["GET"]),
    Route(Endpoint.ANONYMOUS_TOKEN, anonymous_token, methods=["POST"]),
    Route(Endpoint.CLAIM_TOKEN, claim_token, methods=["POST"]),
    Route(Endpoint.CREATE_SESSION, create_session, methods=["POST"]),
    Route(Endpoint.CHAT, run_sse, methods=["POST"]),
    Route(Endpoint.UPLOAD, upload, methods=["POST"]),
    Route(Endpoint.CREDITS, credits, methods=["GET"]),
    Route(Endpoint.STATE, state, methods=["GET"]),
    Route(Endpoint.RENDER, export, methods=["POST"]),
    Route(Endpoint.RENDER_JOB, poll, methods=["GET"]),
    Route(Endpoint.RENDER_CANCEL, cancel, methods=["POST"]),
    Route(Endpoint.RENDER_DOWNLOAD, proxy_download, methods=["GET"]),
]


def build_api_app(svc: Service) -> Starlette:
    """The API origin: every endpoint of the contract, served by ``svc``."""
    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS)
    app.state.service = svc
    return app
