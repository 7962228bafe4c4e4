"""Tab completion in the chat: the REPL's commands, ``/lang``'s choices, and file paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from skill.repl._line import COMMANDS, tokenize

__all__ = ["ReplCompleter"]

_LANGUAGES = ("en", "zh")
# Characters a bare (unquoted) path must escape so that it reads back as one word.
_NEEDS_ESCAPE = frozenset(" \t'\"\\")


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in _NEEDS_ESCAPE else ch for ch in text)


class ReplCompleter(Completer):
    """Completes ``/commands`` at the start of a line and paths anywhere.

    While typing, a word is completed as a path only when it looks like one (it holds a ``/``,
    starts with ``~`` or ``.``, or opens a quote), so prose is left alone; Tab completes any
    word as a path. Completed paths keep the word's quoting: escaped spaces in a bare word,
    plain text inside quotes.
    """

    def __init__(self, describe: Callable[[str], str] | None = None) -> None:
        self._describe = describe or (lambda name: "")
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        stripped = text.lstrip()
        if stripped.startswith("/") and not any(ch.isspace() for ch in stripped):
            yield from self._commands(stripped[1:])
            if stripped == "/":
                return  # a lone slash asks for the commands, not the root folder
        elif stripped.startswith("/lang") and stripped.split()[0] == "/lang":
            yield from self._languages(stripped)
            return
        yield from self._path_completions(text, complete_event)

    def _commands(self, typed: str) -> Iterable[Completion]:
        if "/" in typed:
            return
        for name in COMMANDS:
            if name.startswith(typed.lower()):
                yield Completion(
                    "/" + name,
                    start_position=-(len(typed) + 1),
                    display_meta=self._describe(name),
                )

    def _languages(self, typed: str) -> Iterable[Completion]:
        words = typed.split()
        current = words[1] if len(words) > 1 and not typed[-1].isspace() else ""
        if len(words) > 2 or (len(words) == 2 and typed[-1].isspace()):
            return
        for lang in _LANGUAGES:
            if lang.startswith(current):
                yield Completion(lang, start_position=-len(current))

    def _path_completions(self, text: str, event: CompleteEvent) -> Iterable[Completion]:
        tokens = tokenize(text, partial=True)
        at_word_end = bool(tokens) and not (text[-1].isspace() and not tokens[-1].open_quote)
        if not at_word_end:
            if not event.completion_requested:
                return
            value, in_quotes = "", False
        else:
            token = tokens[-1]
            value, in_quotes = token.value, bool(token.open_quote)
            looks_like_path = in_quotes or value.startswith(("/", "~", ".")) or "/" in value
            if not looks_like_path and not event.completion_requested:
                return
        for found in self._paths.get_completions(Document(value), event):
            addition = found.text
            if found.display_text.endswith("/") and not addition.endswith("/"):
                addition += "/"  # so the next Tab goes on into the folder
            yield Completion(
                addition if in_quotes else _escape(addition),
                start_position=0,
                display=found.display_text,
            )
