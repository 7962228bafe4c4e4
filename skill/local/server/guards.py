"""Who may talk to the local backend: the ``Host`` (and ``Origin``) check in front of both apps.

A web page the user visits can point its own domain at 127.0.0.1 (DNS rebinding) and then call
the server from the browser; the browser then sends that domain as ``Host``. So only loopback
names (and the names the operator allows) are served; anything else gets HTTP 421 with the
usual error envelope. A browser request from a page of another origin (``Origin`` header naming
a host that is not allowed) is refused with 403.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HostGuard", "host_name", "is_loopback_name"]

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback_name(name: str | None) -> bool:
    """``localhost``, ``*.localhost``, or a loopback IP address (``127.0.0.1``, ``::1``...)."""
    if not name:
        return False
    name = name.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header value: no port, no brackets, lower case."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class HostGuard:
    """ASGI middleware: serve only requests whose ``Host`` is a loopback name or an allowed one."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {host_name(name) for name in allowed if name.strip()}

    def allows(self, name: str) -> bool:
        return is_loopback_name(name) or name in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host")
        # No Host at all (HTTP/1.0): no browser sends that, so no rebinding either.
        if host is not None and not self.allows(host_name(host)):
            await _refuse(
                send,
                421,
                f"This server answers only to localhost names, not {host_name(host)[:100]!r}. "
                "Use http://127.0.0.1:<port>, or start it with --allow-host NAME.",
            )
            return
        origin = headers.get("origin")
        if origin is not None:  # only browsers send it; "null" is a sandboxed or file: page
            origin_host = urllib.parse.urlsplit(origin).hostname or ""
            if not self.allows(host_name(origin_host)):
                await _refuse(
                    send, 403, f"Requests from web pages of {origin[:100]!r} are refused."
                )
                return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"code": status, "message": message, "data": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
