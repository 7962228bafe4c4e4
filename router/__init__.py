"""The utterance router: what the user wants, and what the backend's GUI language means.

>>> from router import classify
>>> classify("check my credits and then export").actions
(<Action.CREDITS: 'credits'>, <Action.EXPORT: 'export'>)
"""

from router._text import fold, fold_with_offsets
from router._typos import TypoFixer
from router.gui import GuiAction, GuiKind, translate_gui
from router.intent import Action, Intent, classify

__all__ = [
    "Action",
    "GuiAction",
    "GuiKind",
    "Intent",
    "TypoFixer",
    "classify",
    "fold",
    "fold_with_offsets",
    "translate_gui",
]
