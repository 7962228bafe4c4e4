"""Small typos in the router's own keywords: "exprot" -> "export", "staus" -> "status".

Only words of five letters or more (``shortest``) are corrected, only towards a keyword listed
in ``typo_targets`` (intents.yaml), only at Damerau-Levenshtein distance 1 (one letter added,
dropped, changed, or two neighbours swapped), and never a real word from ``not_typos``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

_LETTERS = string.ascii_lowercase


class TypoFixer:
    """Rewrites near-miss keywords in a text to the keyword; everything else is left alone.

    Every string one edit away from a target is worked out once, when the tables load, so
    mending a message is one dictionary lookup per word.
    """

    def __init__(
        self, targets: Iterable[str], not_typos: Iterable[str], *, shortest: int = 5
    ) -> None:
        self._word = re.compile(rf"[a-z]{{{shortest},}}")
        targets = tuple(dict.fromkeys(targets))
        keep = frozenset(not_typos) | frozenset(targets)
        near: dict[str, str] = {}
        for target in targets:  # the first target listed wins a word near two of them
            for variant in _one_edit_away(target):
                if len(variant) >= shortest and variant not in keep:
                    near.setdefault(variant, target)
        self._near = near

    def fix(self, text: str) -> str:
        if self._near.keys().isdisjoint(self._word.findall(text)):
            return text
        return self._word.sub(lambda m: self._near.get(m.group(0), m.group(0)), text)


def _one_edit_away(word: str) -> set[str]:
    """Every lower-case string at Damerau-Levenshtein distance 1 from ``word``."""
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {a + b[1:] for a, b in cuts if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    changed = {a + c + b[1:] for a, b in cuts if b for c in _LETTERS}
    added = {a + c + b for a, b in cuts for c in _LETTERS}
    return (dropped | swapped | changed | added) - {word}
