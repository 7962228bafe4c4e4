"""``LocalBackend``: the API and download origins served by uvicorn in a background thread.

Both servers share one event loop in one thread; the render queue has its own worker threads.
Ports are bound as asked (0: any free port) and read back after start-up. Stopping ends the
open chat streams first, so uvicorn's graceful shutdown has nothing to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from skill.errors import BackendUnreachable
from skill.local.server.api import build_api_app
from skill.local.server.chat import IntentionalCut
from skill.local.server.config import ServerConfig
from skill.local.server.downloads import build_download_app
from skill.local.server.faults import FaultBook
from skill.local.server.guards import HostGuard
from skill.local.server.service import Service
from skill.local.server.store import Store
from skill.redact import install_log_redaction

__all__ = ["LocalBackend"]

_START_TIMEOUT = 15.0
_ANY_ADDRESS = {"0.0.0.0", "::", ""}


class _DropIntentionalCuts(logging.Filter):
    """A fault that drops a connection on purpose is not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, IntentionalCut):
                return False
            group = getattr(exc, "exceptions", None)
            if group and any(isinstance(e, IntentionalCut) for e in group):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def _install_log_filters() -> None:
    install_log_redaction()
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropIntentionalCuts) for f in logger.filters):
        logger.addFilter(_DropIntentionalCuts())


class LocalBackend:
    """The NemoVideo API on loopback, with faults on demand.

    ``data_dir``: keep tokens, sessions, media and renders there across restarts (default: a
    temporary directory, removed on stop). ``faults``: a fault spec armed from the start.
    Other keywords are :class:`ServerConfig` knobs (``chat_delay``, ``seed``,
    ``default_duration``...) plus ``host``, ``port``, ``download_port``, ``heartbeat_style``
    (``mixed``, ``json``, ``comment``, ``empty`` or ``event``) and ``log_level``.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        faults: str | None = None,
        heartbeat_interval: float = 5.0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        download_port: int = 0,
        heartbeat_style: str = "mixed",
        log_level: str = "warning",
        access_log: bool = False,
        **knobs: Any,
    ) -> None:
        # Lists are welcome here; the frozen config keeps tuples (folders resolved now).
        if "file_roots" in knobs:
            knobs["file_roots"] = tuple(Path(p).expanduser().resolve() for p in knobs["file_roots"])
        if "allowed_hosts" in knobs:
            knobs["allowed_hosts"] = tuple(str(h) for h in knobs["allowed_hosts"])
        self.config = ServerConfig(
            data_dir=Path(data_dir) if data_dir is not None else None,
            heartbeat_interval=heartbeat_interval,
            **knobs,
        )
        self._faults = FaultBook(faults)
        self._host = host
        self._ports = (port, download_port)
        self._heartbeat_style = heartbeat_style
        self._log_level = log_level
        self._access_log = access_log
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[uvicorn.Server] = []
        self._service: Service | None = None
        self._failure: BaseException | None = None
        self.base_url = ""
        self.download_base_url = ""

    # -- faults -----------------------------------------------------------------------------

    def inject(self, spec: str) -> None:
        """Arm more faults now (docs/local-backend.md has the grammar)."""
        self._faults.inject(spec)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def armed_faults(self) -> list[str]:
        return self._faults.armed()

    @property
    def data_dir(self) -> Path:
        """Where this backend keeps its files (a temporary directory without ``data_dir``)."""
        if self._service is None:
            raise RuntimeError("the backend is not running")
        return self._service.store.root

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> LocalBackend:
        if self._thread is not None:
            return self
        _install_log_filters()
        root = self.config.data_dir
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="jiggle-backend-")
            root = Path(self._tmp.name)
        root.mkdir(parents=True, exist_ok=True)
        service = Service(
            self.config, Store(root), self._faults, heartbeat_style=self._heartbeat_style
        )
        self._service = service
        # Only loopback Host names, the allowed ones, and the address asked to bind (an IP the
        # operator chose is no rebinding risk) reach the apps.
        allowed = [*self.config.allowed_hosts]
        if self._host not in _ANY_ADDRESS:
            allowed.append(self._host)
        apps = (
            HostGuard(build_api_app(service), allowed),
            HostGuard(build_download_app(service), allowed),
        )
        self._servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    host=self._host,
                    port=port,
                    log_level=self._log_level,
                    log_config=None,
                    access_log=self._access_log,
                    lifespan="off",
                    ws="none",
                    timeout_graceful_shutdown=max(1, int(self.config.graceful_shutdown)),
                )
            )
            for app, port in zip(apps, self._ports, strict=True)
        ]
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name="jiggle-local-backend", daemon=True
        )
        self._thread.start()
        deadline_ok = started.wait(_START_TIMEOUT)
        if (
            self._failure is not None
            or not deadline_ok
            or not all(s.started for s in self._servers)
        ):
            why = self._failure
            self.stop()
            detail = f"{type(why).__name__}: {why}" if why else "start-up timed out"
            raise BackendUnreachable(
                f"the local backend could not start on {self._host} ({detail})",
                origin=f"{self._host}:{self._ports[0]}",
            )
        api_port, download_port = (self._bound_port(s) for s in self._servers)
        host = "127.0.0.1" if self._host in _ANY_ADDRESS else self._host
        host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{host}:{api_port}"
        self.download_base_url = f"http://{host}:{download_port}"
        service.download_base = self.download_base_url
        service.queue.resume_unfinished()
        return self

    @staticmethod
    def _bound_port(server: uvicorn.Server) -> int:
        sockets = server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    def _serve(self, started: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            tasks = [asyncio.create_task(s.serve()) for s in self._servers]
            while not all(s.started for s in self._servers):
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.01)
            started.set()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run(main())
        except BaseException as exc:  # uvicorn exits on a port it cannot bind
            self._failure = exc
        finally:
            started.set()

    def stop(self) -> None:
        """End the open streams, stop both servers, stop the render workers."""
        service, loop, thread = self._service, self._loop, self._thread
        if service is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(service.closing.set)
        for server in self._servers:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=self.config.graceful_shutdown + 10)
        if service is not None:
            service.queue.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._thread = None
        self._loop = None
        self._servers = []

    def __enter__(self) -> LocalBackend:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url or "not running"
        return f"LocalBackend({where})"
