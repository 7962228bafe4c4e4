"""What a line typed into the chat means: a command, or words for the assistant plus uploads.

Terminals paste a dropped file in several shapes, and people type paths by hand; all of these
are uploads, wherever they sit in the line, and the rest of the line is the instruction:

    /home/me/cat.jpg                     ~/Pictures/cat.jpg          ./cat.jpg   cat.jpg
    '/home/me/My Photos/cat.jpg'         "/home/me/My Photos/cat.jpg"
    /home/me/My\\ Photos/cat.jpg          file:///home/me/My%20Photos/cat.jpg
    https://example.com/cat.jpg

A quote only opens a quoted path at the start of a word, so "don't" stays a word.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from skill.protocol import media_extensions

__all__ = [
    "COMMANDS",
    "EXIT_WORDS",
    "MEDIA_SUFFIXES",
    "Command",
    "Message",
    "Token",
    "parse_line",
    "tokenize",
]

# The REPL's own commands, in the order /help lists them. Anything else goes to the assistant.
COMMANDS: tuple[str, ...] = (
    "help",
    "credits",
    "status",
    "export",
    "resume",
    "jobs",
    "lang",
    "exit",
)
# Whole lines that leave the chat, besides /exit and Ctrl-D.
EXIT_WORDS = frozenset({"exit", "quit", "退出", "/exit", "/quit", ":q"})
# What the backend accepts (nemo-api.md, "Upload"): a word ending so is meant as a file.
MEDIA_SUFFIXES = media_extensions()
_QUOTES = "'\""


@dataclass(frozen=True)
class Token:
    """One whitespace-separated word: as typed (``raw``) and as meant (``value``)."""

    raw: str
    value: str
    start: int
    quoted: bool = False  # quoted or backslash-escaped: the user marked it as one unit
    open_quote: str = ""  # the quote still open at the end of the line (for completion)


@dataclass(frozen=True)
class Command:
    """``/name argument``: one of :data:`COMMANDS`, or an unknown name to report."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class Message:
    """Words for the assistant and the files to upload with them.

    ``missing`` holds paths the user clearly meant as files that do not exist (or are not
    files): the REPL reports them and sends nothing, so nothing is half-done.
    """

    instruction: str
    attachments: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def tokenize(text: str, *, partial: bool = False) -> list[Token]:
    """Split ``text`` like a shell does for dropped paths, but forgiving of prose.

    An unclosed quote is an ordinary character, unless ``partial`` (the line is still being
    typed, for completion): then it opens a quoted word that runs to the end of the line.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        value: list[str] = []
        quoted = False
        open_quote = ""
        if text[i] in _QUOTES:
            closing = text.find(text[i], i + 1)
            if closing == -1 and partial:
                open_quote = text[i]
            elif closing != -1:
                value.append(text[i + 1 : closing])
                quoted = True
                i = closing + 1
        if open_quote:
            value.append(text[i + 1 :])
            tokens.append(Token(text[start:], "".join(value), start, False, open_quote))
            break
        while i < n and not text[i].isspace():
            if text[i] == "\\" and i + 1 < n:
                value.append(text[i + 1])
                quoted = True
                i += 2
            else:
                value.append(text[i])
                i += 1
        tokens.append(Token(text[start:i], "".join(value), start, quoted))
    return tokens


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.startswith("~")


def _file_reference(token: Token) -> tuple[str | None, bool]:
    """``(upload, exists)`` if the token names a file or a media URL, else ``(None, False)``."""
    value = token.value
    lowered = value.lower()
    if lowered.startswith("file://"):
        parts = urlsplit(value)
        path = unquote(parts.path)
        return path, os.path.isfile(path)
    if lowered.startswith(("http://", "https://")):
        url_path = unquote(urlsplit(value).path)
        return (value, True) if _suffix(url_path) in MEDIA_SUFFIXES else (None, False)
    path = os.path.expanduser(value)
    if os.path.isfile(path) and (
        _looks_like_path(value) or token.quoted or _suffix(value) in MEDIA_SUFFIXES
    ):
        return path, True
    # A path the user plainly meant (a separator or ~, and a media suffix) that is not there.
    if _looks_like_path(value) and _suffix(value) in MEDIA_SUFFIXES:
        return path, False
    return None, False


def _command(tokens: list[Token], text: str) -> Command | None:
    first = tokens[0]
    if text.strip().lower() in EXIT_WORDS:
        return Command("exit")
    if first.quoted or not first.value.startswith("/") or len(first.value) < 2:
        return None
    name = first.value[1:]
    # "/home/me/cat.jpg" is a path, not a command: commands have no second slash.
    if "/" in name or os.path.isfile(first.value):
        return None
    argument = text[first.start + len(first.raw) :].strip()
    return Command(name.lower(), argument)


def parse_line(text: str) -> Command | Message | None:
    """A command, a message (instruction + uploads), or ``None`` for a blank line."""
    tokens = tokenize(text)
    if not tokens:
        return None
    command = _command(tokens, text)
    if command is not None:
        return command
    words: list[str] = []
    attachments: list[str] = []
    missing: list[str] = []
    for token in tokens:
        reference, exists = _file_reference(token)
        if reference is None:
            words.append(token.raw)
        elif exists:
            attachments.append(reference)
        else:
            missing.append(reference)
    return Message(" ".join(words), tuple(attachments), tuple(missing))
