"""The local director: the "AI" of the local backend, which turns chat messages into edits.

Understanding is split from execution. :meth:`Director.plan` reads a message into a
:class:`Plan` of typed :class:`Step` s (pure: no draft, no I/O); :meth:`Director.execute`
resolves them against a session's draft, makes one tool call (:class:`Edit`) per setting that
changes and keeps the undo history; the replies say what really changed, in the user's script.

>>> from skill.local.server.director import Director
>>> [(s.setting, s.op, s.value) for s in Director().plan("not bounce, wobble, 2s longer").steps]
[('motion', 'keep', 'bounce'), ('motion', 'set', 'wobble'), ('duration', 'increase', 2.0)]
"""

from skill.local.server.director._director import Director
from skill.local.server.director._execute import Edit, Editable, Look, Outcome, Workspace
from skill.local.server.director._parse import Op, Plan, Setting, Step
from skill.local.server.director._reply import Replies

__all__ = [
    "Director",
    "Edit",
    "Editable",
    "Look",
    "Op",
    "Outcome",
    "Plan",
    "Replies",
    "Setting",
    "Step",
    "Workspace",
]
