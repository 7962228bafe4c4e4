"""The one place that speaks HTTP: httpx clients, timeouts, and httpx's errors mapped at the edge.

Nothing outside ``skill.client`` sees an httpx type: every ``httpx.HTTPError`` becomes a
``skill.errors.TransportError`` here, raised ``from None`` so that no request (and no header)
rides along in a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from skill.client._envelope import unwrap
from skill.errors import (
    BackendUnreachable,
    ConnectionLost,
    InputError,
    JiggleError,
    RequestTimeout,
    TransportError,
)

__all__ = ["Transport", "map_transport_error"]

_log = logging.getLogger("skill.client")

# Short connect everywhere; reads sized per call (the chat stream gets its own, see NemoClient).
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
UPLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=300.0, write=120.0, pool=10.0)


def map_transport_error(exc: httpx.HTTPError, *, origin: str, during: str | None) -> JiggleError:
    """The jiggle error for an httpx failure; the message names the origin, never a header."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return BackendUnreachable(origin=origin)
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(during=during)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return InputError(f"not a usable address: {origin}")
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return ConnectionLost(type(exc).__name__, during=during)
    return TransportError(type(exc).__name__, during=during)


class Transport:
    """An httpx client bound to the API origin, with the attribution headers on every request.

    ``send`` makes one try: it returns the unwrapped ``data`` (or the open response of a
    stream) and raises typed errors. Whether to try again is the client's retry policy's call.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = str(httpx.URL(self.base_url).copy_with(path="/", query=None)).rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers),
            timeout=DEFAULT_TIMEOUT,
            follow_redirects=False,
        )
        # Sent by the caller to the API origin only (its own download endpoint).
        self.attribution = dict(headers)
        # Downloads go to a CDN origin: no attribution and no token by default, and a hook that
        # strips both from any request (a redirect too) that is not for the API origin.
        self.downloads = httpx.Client(
            headers={"Accept-Encoding": "identity"},
            timeout=httpx.Timeout(60.0, connect=10.0),
            follow_redirects=True,
            event_hooks={"request": [self._only_what_the_cdn_needs]},
        )

    def close(self) -> None:
        self._http.close()
        self.downloads.close()

    def _only_what_the_cdn_needs(self, request: httpx.Request) -> None:
        """Off the API origin a download carries no Authorization and no ``X-Skill-*``."""
        if self.same_origin(str(request.url)):
            return
        for name in list(request.headers.keys()):
            if name.lower() == "authorization" or name.lower().startswith("x-skill-"):
                del request.headers[name]

    def same_origin(self, url: str) -> bool:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return False
        own = httpx.URL(self.base_url)
        return (target.scheme, target.host, target.port) == (own.scheme, own.host, own.port)

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        during: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """One try: the unwrapped data, or a typed error. Retries are the caller's decision
        (``NemoClient._call`` with the client's :class:`~skill.client._retry.RetryPolicy`);
        a :class:`BackendUnreachable` means the request was never sent."""
        try:
            return self._send_once(method, path, headers, stream=stream, **kwargs)
        except httpx.HTTPError as exc:
            _log.debug("%s %s failed (%s)", method, path, type(exc).__name__)
            raise map_transport_error(exc, origin=self.origin, during=during) from None

    def _send_once(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        *,
        stream: bool,
        **kwargs: Any,
    ) -> Any:
        started = time.perf_counter()
        request = self._http.build_request(method, path, headers=headers, **kwargs)
        response = self._http.send(request, stream=stream)
        if stream and response.status_code == 200 and _is_event_stream(response):
            _log.debug("%s %s -> 200 (stream)", method, path)
            return response
        try:
            body = response.read()
        finally:
            response.close()
        elapsed = (time.perf_counter() - started) * 1000
        _log.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed)
        return unwrap(response.status_code, body, retry_after=response.headers.get("retry-after"))


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")
