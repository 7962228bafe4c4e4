"""The client's one retry policy: how often, how long apart, and for how long in all.

Every retry of the client goes through :class:`RetryPolicy`: transport errors and 5xx on
requests that are safe to repeat, 429 and 503 on any request (the server answered before doing
anything), a refused connection (nothing was sent). Waits grow exponentially with full jitter
(a random delay between 0 and ``min(cap, base * 2**n)``), except that a ``Retry-After`` the
server sent is honoured as given, in seconds or as an HTTP date (``Retry-After: 0`` retries at
once). ``deadline`` bounds the time one call may spend retrying: a wait that would end past it
is not started, and the last error is raised instead.

``attempts`` counts tries, the first one included; ``JIGGLE_RETRIES`` (or ``NemoClient(retries=
N)``) sets the number of retries after the first try.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from skill.errors import InputError

__all__ = [
    "DEFAULT_RETRIES",
    "RETRIES_ENV",
    "RetryPolicy",
    "RetryState",
    "parse_retry_after",
]

RETRIES_ENV = "JIGGLE_RETRIES"
DEFAULT_RETRIES = 5
_MAX_RETRIES = 100


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def retries_from_env() -> int:
    """``$JIGGLE_RETRIES`` as a count of retries; a bad value is a clear input error."""
    raw = os.environ.get(RETRIES_ENV, "").strip()
    if not raw:
        return DEFAULT_RETRIES
    if not raw.isdigit() or int(raw) > _MAX_RETRIES:
        raise InputError(
            f"{RETRIES_ENV}={raw!r} is not a number of retries: use a whole number from 0 to "
            f"{_MAX_RETRIES}"
        )
    return int(raw)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; waits ``rand() * min(cap, base * 2**(n-1))`` after the n-th
    failure (no ``rand()`` factor without ``jitter``), or the server's ``Retry-After``; no
    wait may end more than ``deadline`` seconds after the first try started.

    ``sleep``, ``clock`` and ``rand`` (a number in [0, 1)) are injectable, so tests measure
    waits, not time.
    """

    attempts: int = DEFAULT_RETRIES + 1
    base: float = 0.5
    cap: float = 15.0
    jitter: bool = True
    deadline: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    rand: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    @classmethod
    def with_retries(cls, retries: int | None = None, **options: object) -> RetryPolicy:
        """A policy of ``retries`` retries (default ``$JIGGLE_RETRIES``, else 5)."""
        count = retries_from_env() if retries is None else retries
        if count < 0:
            raise InputError("the number of retries cannot be negative")
        return cls(attempts=count + 1, **options)  # type: ignore[arg-type]

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    def backoff(self, failures: int) -> float:
        """The wait after ``failures`` failed tries when the server named none."""
        ceiling = min(self.cap, self.base * 2.0 ** max(0, failures - 1))
        return self.rand() * ceiling if self.jitter else ceiling

    def start(self) -> RetryState:
        return RetryState(self)


class RetryState:
    """One call's retries: ``next_delay()`` after each failure says how long to wait, or None
    when the call must give up (out of attempts, or the wait would pass the deadline)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.started = policy.clock()
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        self.failures += 1
        if self.failures >= self.policy.attempts:
            return None
        delay = self.policy.backoff(self.failures) if retry_after is None else retry_after
        elapsed = self.policy.clock() - self.started
        if elapsed + delay > self.policy.deadline:
            return None
        return delay

    def wait(self, delay: float) -> None:
        if delay > 0:
            self.policy.sleep(delay)

    def retry(self, retry_after: float | None = None) -> bool:
        """Wait for the next try and return True, or return False when it is time to give up."""
        delay = self.next_delay(retry_after)
        if delay is None:
            return False
        self.wait(delay)
        return True
