"""``jiggle chat``: the interactive chat, on top of the skill host.

    jiggle chat [--backend cloud|local] [--lang en|zh]

A prompt-toolkit REPL in a terminal (history, completion of commands and paths, a bottom
toolbar, progress bars); plain line input on a dumb terminal or a pipe, with the same
behaviour. See ``docs/repl.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from skill.repl._completion import ReplCompleter
from skill.repl._line import COMMANDS, EXIT_WORDS, Command, Message, parse_line, tokenize
from skill.repl._loop import ChatHost, Repl, history_path
from skill.repl._view import ReplyView

__all__ = [
    "COMMANDS",
    "EXIT_WORDS",
    "ChatHost",
    "Command",
    "Message",
    "Repl",
    "ReplCompleter",
    "ReplyView",
    "history_path",
    "is_interactive_terminal",
    "parse_line",
    "run",
    "tokenize",
]

_LOG_FILE = "chat.log"


def is_interactive_terminal() -> bool:
    """A real terminal on both ends that can take prompt-toolkit (not ``TERM=dumb``)."""
    term = os.environ.get("TERM", "")
    return sys.stdin.isatty() and sys.stdout.isatty() and term not in ("dumb", "unknown")


def _log_to_file() -> None:
    # A traceback printed over the prompt helps no one: the chat's log goes to a file in the
    # data dir (tokens masked), where a bug report can quote it.
    from skill.paths import data_dir
    from skill.redact import RedactingFilter, install_log_redaction

    path = data_dir() / _LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)  # warnings and errors: the root's default level
    install_log_redaction()


def run(args: argparse.Namespace) -> int:
    """The ``chat`` subcommand's handler."""
    from skill.host import SkillHost

    _log_to_file()

    language = getattr(args, "lang", None)
    json_lines = bool(getattr(args, "json", False))
    with SkillHost(backend=args.backend, language=language) as host:
        if is_interactive_terminal() and not json_lines:
            repl = Repl.terminal(host, language=language)
        else:
            repl = Repl.plain(
                host,
                language=language,
                stdin=sys.stdin,
                stdout=sys.stdout,
                interactive=sys.stdin.isatty(),
                json_lines=json_lines,
            )
        return repl.run()
