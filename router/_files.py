"""Local paths and http(s) URLs inside a message, cut out so the words around them can be read."""

from __future__ import annotations

import re

from router._text import FILE

# Formats the backend accepts (nemo-api.md §4) and the stills people have on their phones.
_MEDIA = r"(?:jpe?g|png|gif|webp|heic|heif|avif|bmp|tiff?|mp4|mov|m4v|avi|webm|mkv|mp3|wav|m4a|aac)"
_OPEN = "\"'“‘「『"
_CLOSE = "\"'”’」』"
_STOP = r"\s<>\"'|“”‘’「」『』，。！？、；）"

_FILES = re.compile(
    # A quoted path, which may hold spaces: "~/My Photos/cat 1.jpg", 'my cat.png'.
    rf"[{_OPEN}](?P<quoted>(?:~|\.{{1,2}})?[/\\][^{_CLOSE}\n]+"
    rf"|[A-Za-z]:\\[^{_CLOSE}\n]+"
    rf"|[^{_CLOSE}\n/\\]+\.{_MEDIA})[{_CLOSE}]"
    # A URL.
    rf"|(?P<url>\b(?:https?|file)://[^{_STOP}]+)"
    # A Windows path.
    rf"|(?P<windows>(?<!\w)[A-Za-z]:\\[^{_STOP}*?]+)"
    # A POSIX path: ~/x, ./x, ../x or /a/b (a bare "/word" is too often not a path). Spaces
    # may sit inside folder names ("/Users/me/My Photos/cat.jpg"), not in the file's own name.
    rf"|(?P<posix>(?<![\w/.:~-])(?:~|\.{{1,2}})?/"
    rf"(?:[^{_STOP}/]+(?: [^{_STOP}/.~][^{_STOP}/]*)*/)*[^{_STOP}/]+)"
    # A bare file name with a media extension: cat.jpg, IMG_0042.HEIC.
    rf"|(?P<bare>(?<![\w/\\.-])[A-Za-z0-9_\-][A-Za-z0-9_.\-]*\.{_MEDIA}\b)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}>"
# Every file the pattern finds has a slash, a backslash or an extension: a cheap first test.
_MAYBE = re.compile(r"[/\\]|\.[A-Za-z0-9]")
_MEDIA_NAME = re.compile(rf"\.{_MEDIA}$", re.IGNORECASE)


def extract_files(text: str) -> tuple[list[str], str]:
    """The paths and URLs in ``text`` in order, and ``text`` with each one replaced by FILE."""
    found: list[str] = []
    if _MAYBE.search(text) is None:
        return found, text

    def _take(match: re.Match[str]) -> str:
        quoted = match.group("quoted")
        if quoted is not None:
            found.append(quoted.strip())
            return f" {FILE} "
        value = match.group(0)
        if match.group("posix") is not None and not _is_path(value):
            return value
        kept = _strip_trailing(value)
        found.append(kept)
        return f" {FILE} {value[len(kept) :]}"

    return found, _FILES.sub(_take, text)


def _strip_trailing(value: str) -> str:
    """Sentence punctuation after a path is not part of it; a bracket the path opened is."""
    while value and value[-1] in _TRAILING:
        if value[-1] == ")" and value.count("(") >= value.count(")"):
            break
        value = value[:-1]
    return value


def _is_path(value: str) -> bool:
    """A POSIX-looking token that is really a path: rooted at ~ or ., two segments, or media."""
    value = _strip_trailing(value)
    if value.startswith(("~", ".")):
        return True
    return value.count("/") >= 2 or _MEDIA_NAME.search(value) is not None
