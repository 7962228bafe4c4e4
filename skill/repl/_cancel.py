"""Ctrl-C stops the running operation, not the chat.

In a terminal, Ctrl-C is a SIGINT and Python raises ``KeyboardInterrupt`` in the main thread,
which the REPL catches around each operation. When prompt-toolkit reads a pipe instead (tests,
scripted sessions), Ctrl-C is just the byte ``\\x03``: :class:`KeyWatcher` reads the input while
an operation runs, turns that byte into the same interrupt, and hands every other key back to
the next prompt as type-ahead, so nothing typed early is lost.
"""

from __future__ import annotations

import select
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys

__all__ = ["Interrupter", "KeyWatcher"]

_POLL_SECONDS = 0.05
_SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Interrupter:
    """Delivers a Ctrl-C to the thread running an operation, as ``KeyboardInterrupt``.

    In the main thread a real SIGINT interrupts even a blocking read; elsewhere (no signals)
    the REPL checks :attr:`requested` between replies. A SIGINT this class sent that lands
    after the operation ended is swallowed; any other SIGINT behaves as usual.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        self._requested = False
        self._thread_id: int | None = None
        self._original: _SignalHandler = None
        self._installed = False

    @property
    def requested(self) -> bool:
        return self._requested

    def __enter__(self) -> Interrupter:
        with self._lock:
            self._active = True
            self._requested = False
            self._thread_id = threading.get_ident()
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._on_sigint)
            if not self._installed:
                self._original = previous
            self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._active = False
        # The handler stays installed (prompt-toolkit puts it back after each prompt) so that
        # a late self-sent SIGINT is swallowed; restore() removes it when the chat ends.

    def restore(self) -> None:
        """Put back the SIGINT handler found before the first operation (when leaving)."""
        if self._installed:
            signal.signal(signal.SIGINT, self._original)
            self._installed = False

    def request(self) -> None:
        """Ask the operation to stop (called from the key watcher's thread)."""
        with self._lock:
            self._requested = True
            if self._active and self._installed and self._thread_id is not None:
                signal.pthread_kill(self._thread_id, signal.SIGINT)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if not self._active and self._requested:
            return  # our own signal, arriving after the operation it was meant for ended
        raise KeyboardInterrupt


class KeyWatcher:
    """While active, reads ``input``: Ctrl-C calls ``on_cancel``, other keys become type-ahead."""

    def __init__(self, input: Input, on_cancel: Interrupter) -> None:
        self._input = input
        self._interrupter = on_cancel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._kept: list[KeyPress] = []

    def __enter__(self) -> KeyWatcher:
        try:
            self._input.fileno()
        except (NotImplementedError, OSError, AttributeError):
            return self  # nothing to watch (e.g. a dummy input)
        if self._input.closed:
            return self
        self._stop.clear()
        self._kept = []
        self._thread = threading.Thread(target=self._watch, name="jiggle-keys", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if self._kept:
            store_typeahead(self._input, self._kept)
            self._kept = []

    def _watch(self) -> None:
        fd = self._input.fileno()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([fd], [], [], _POLL_SECONDS)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            for key in self._input.read_keys():
                if key.key == Keys.ControlC:
                    self._interrupter.request()
                else:
                    self._kept.append(key)
            if self._input.closed:
                return
