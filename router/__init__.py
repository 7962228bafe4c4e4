"""The utterance router: what the user wants, and what the backend's GUI language means.

>>> from router import classify
>>> classify("check my credits and then export").actions
(<Action.CREDITS: 'credits'>, <Action.EXPORT: 'export'>)
"""

from router.gui import GuiAction, GuiKind, translate_gui
from router.intent import Action, Intent, classify

__all__ = ["Action", "GuiAction", "GuiKind", "Intent", "classify", "translate_gui"]
