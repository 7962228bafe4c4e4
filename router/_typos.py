"""Small typos in the router's own keywords: "exprot" -> "export", "staus" -> "status".

Only words of five letters or more are corrected, only towards a keyword listed in
``typo_targets`` (intents.yaml), only at Damerau-Levenshtein distance 1 (one letter added,
dropped, changed, or two neighbours swapped), and never a real word from ``not_typos``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

_SHORTEST = 5
_WORD = re.compile(rf"[a-z]{{{_SHORTEST},}}")
_LETTERS = string.ascii_lowercase


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
    """Rewrites near-miss keywords in a text to the keyword; everything else is left alone.

    Every string one edit away from a target is worked out once, when the tables load, so
    mending a message is one dictionary lookup per word.
    """

    def __init__(self, targets: Iterable[str], not_typos: Iterable[str]) -> None:
        targets = tuple(dict.fromkeys(targets))
        keep = frozenset(not_typos) | frozenset(targets)
        near: dict[str, str] = {}
        for target in targets:  # the first target listed wins a word near two of them
            for variant in _one_edit_away(target):
                if len(variant) >= _SHORTEST and variant not in keep:
                    near.setdefault(variant, target)
        self._near = near

    def fix(self, text: str) -> str:
        if self._near.keys().isdisjoint(_WORD.findall(text)):
            return text
        return _WORD.sub(lambda m: self._near.get(m.group(0), m.group(0)), text)


def _one_edit_away(word: str) -> set[str]:
    """Every lower-case string at Damerau-Levenshtein distance 1 from ``word``."""
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {a + b[1:] for a, b in cuts if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    changed = {a + c + b[1:] for a, b in cuts if b for c in _LETTERS}
    added = {a + c + b for a, b in cuts for c in _LETTERS}
    return (dropped | swapped | changed | added) - {word}
