"""Small typos in the router's own keywords: "exprot" -> "export", "staus" -> "status".

Only words of five letters or more are corrected, only towards a keyword listed in
``typo_targets`` (intents.yaml), only at Damerau-Levenshtein distance 1 (one letter added,
dropped, changed, or two neighbours swapped), and never a real word from ``not_typos``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z]{5,}")


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance (optimal string alignment) between ``a`` and ``b`` <= 1."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


class TypoFixer:
    """Rewrites near-miss keywords in a text to the keyword; everything else is left alone."""

    def __init__(self, targets: Iterable[str], not_typos: Iterable[str]) -> None:
        self._targets = tuple(dict.fromkeys(targets))
        self._keep = frozenset(not_typos) | frozenset(self._targets)
        self._lookup = functools.lru_cache(maxsize=4096)(self._correct_word)

    def _correct_word(self, word: str) -> str:
        if word in self._keep:
            return word
        for target in self._targets:
            if within_one_edit(word, target):
                return target
        return word

    def fix(self, text: str) -> str:
        words = _WORD.findall(text)
        if all(self._lookup(word) == word for word in words):
            return text
        return _WORD.sub(lambda m: self._lookup(m.group(0)), text)
