"""The API origin's handlers, grouped by resource; ``api.py`` puts them in its route table.

Each handler is a plain Starlette endpoint: it finds the shared ``Service`` on the app
(``service(request)``), takes the request through the service's common steps (faults, the
bearer token, the session) and does its own work.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from skill.local.server.envelope import ok
from skill.local.server.service import Service

__all__ = ["index", "service"]


def service(request: Request) -> Service:
    """The ``Service`` behind the app that received ``request``."""
    svc: Service = request.app.state.service
    return svc


async def index(request: Request) -> Response:
    return ok(
        {"service": "jiggle local backend", "download_origin": service(request).download_base}
    )
