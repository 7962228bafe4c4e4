"""Timing shared by the benchmarks: the median over rounds of the mean time per call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["ROUNDS", "per_call"]

ROUNDS = 7


def per_call(function: Callable[[str], object], corpus: Sequence[str], repeat: int) -> float:
    """Median over :data:`ROUNDS` rounds of the mean seconds per call of ``function`` on each
    message of ``corpus``, ``repeat`` times a round."""
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(repeat):
            for text in corpus:
                function(text)
        rounds.append((time.perf_counter() - start) / (repeat * len(corpus)))
    return statistics.median(rounds)
