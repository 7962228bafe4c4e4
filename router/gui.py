"""``translate_gui``: the backend's point-and-click language, as things jiggle can do instead.

The backend agent talks as if the user had its web editor open: "Click Export to download",
"打开项目面板", "drag the title to 0:02". Each such phrase becomes a suggested
:class:`GuiAction`; nothing is executed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from router._data import Matcher, alternation
from router._tables import load_table
from router._text import fold_with_offsets

__all__ = ["GuiAction", "GuiKind", "translate_gui"]


class GuiKind(StrEnum):
    """What to do instead of a GUI gesture."""

    EXPORT = "export"
    SHOW_STATE = "show_state"
    SEND_EDIT = "send_edit"
    SHOW_TIMELINE = "show_timeline"


@dataclass(frozen=True, slots=True)
class GuiAction:
    """A suggested action, and ``phrase``, the words of the text that suggested it."""

    kind: GuiKind
    phrase: str


_TABLES = load_table("gui.yaml")
# Each rule twice: one Matcher for all rules says cheaply which can match at all, and the
# rule's alternation, run only then, finds the phrases with the rule's own order of preference.
_RULES: tuple[tuple[GuiKind, str, re.Pattern[str]], ...] = tuple(
    (GuiKind(rule["kind"]), str(index), pattern)
    for index, rule in enumerate(_TABLES["rules"])
    if (pattern := alternation(rule["match"])) is not None
)
_GATE = Matcher({str(index): rule["match"] for index, rule in enumerate(_TABLES["rules"])})
_NEGATION = re.compile(_TABLES["negation"], re.ASCII)
_APOSTROPHE = re.compile(r"(?<=[a-z])['’](?=[a-z])")


def translate_gui(text: str) -> list[GuiAction]:
    """The actions ``text`` suggests, in the order it mentions them, one per kind.

    >>> translate_gui("Done! Click Export to download your video.")
    [GuiAction(kind=<GuiKind.EXPORT: 'export'>, phrase='Click Export')]
    """
    if not isinstance(text, str) or not text:
        return []
    folded, offsets = fold_with_offsets(text)
    # Same length as ``folded``: "don't" -> "don t" keeps every offset in place.
    folded = _APOSTROPHE.sub(" ", folded)
    found: list[tuple[int, int, GuiKind]] = []
    taken: list[tuple[int, int]] = []
    possible = _GATE.labels(folded)
    for kind, label, pattern in _RULES:
        if label not in possible:
            continue
        for match in pattern.finditer(folded):
            start, end = match.span()
            if start == end or any(start < e and s < end for s, e in taken):
                continue
            if _NEGATION.search(folded[max(0, start - 40) : start]):
                continue
            taken.append((start, end))
            found.append((start, end, kind))
    actions: list[GuiAction] = []
    seen: set[GuiKind] = set()
    for start, end, kind in sorted(found):
        if kind in seen:
            continue
        seen.add(kind)
        phrase = text[offsets[start] : offsets[end - 1] + 1].strip()
        actions.append(GuiAction(kind=kind, phrase=phrase))
    return actions
