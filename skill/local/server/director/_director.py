"""The director: understanding (:func:`parse`) and execution (:func:`execute`), then words."""

from __future__ import annotations

import random

from skill.local.server.director._execute import Editable, Look, Outcome, execute, look_of
from skill.local.server.director._parse import Plan, parse
from skill.local.server.director._reply import Replies

__all__ = ["Director"]

_HANT_SESSIONS = ("zh-hant", "zh-tw", "zh-hk", "zh-mo")


class Director:
    """Plans chat turns, runs them on a session's draft, and writes the replies."""

    def __init__(self) -> None:
        self._replies: dict[str, Replies] = {}

    def plan(self, message: str) -> Plan:
        """What ``message`` asks for. Pure: the same message always gives the same plan."""
        return parse(message)

    def language(self, plan: Plan, session_lang: str) -> str:
        """The language and script to answer in: the message's, else the session's."""
        session = session_lang.lower()
        if plan.script in ("zh-Hans", "zh-Hant", "en"):
            return plan.script
        if session.startswith(_HANT_SESSIONS):
            return "zh-Hant"
        if plan.script == "" and not session.startswith("zh"):
            return "en"
        return "zh-Hans"

    def session_language(self, plan: Plan, session_lang: str) -> str:
        """The session's language after ``plan``: a Chinese message keeps its script."""
        if plan.script in ("zh-Hans", "zh-Hant", "en"):
            return plan.script
        if plan.script == "zh" and not session_lang.lower().startswith("zh"):
            return "zh-Hans"
        return session_lang

    def execute(
        self, plan: Plan, target: Editable, *, audio: tuple[str, str] | None = None
    ) -> Outcome:
        """Run ``plan`` on ``target`` (its draft, style and history), in place."""
        return execute(plan, target, audio=audio)

    def replies(self, lang: str) -> Replies:
        """The reply texts in ``lang`` (en, zh-Hans, zh-Hant)."""
        if lang not in self._replies:
            self._replies[lang] = Replies(lang)
        return self._replies[lang]

    def preface(self, lang: str, rng: random.Random) -> str:
        return self.replies(lang).preface(rng)

    def closing(self, plan: Plan, outcome: Outcome, lang: str) -> str:
        """The words that end a turn that ran steps."""
        replies = self.replies(lang)
        return replies.edit(plan, outcome) + replies.cannot_too(plan) + replies.asked_too(plan)

    def answer(self, plan: Plan, look: Look, lang: str) -> str:
        """The reply to a turn without steps (export, chat, cannot, a question, not understood)."""
        return self.replies(lang).answer(plan, look)

    @staticmethod
    def look(target: Editable) -> Look:
        return look_of(target.draft, target.style)
