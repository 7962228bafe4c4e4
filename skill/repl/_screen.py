"""Where the chat writes: a styled terminal through prompt-toolkit, or plain text lines.

A :class:`Screen` writes text as it comes (no newline added, flushed at once, so streamed chat
text appears as it arrives). Only a styled screen can redraw the current line in place, which
is what a progress bar needs; on a plain one the view prints progress as separate lines.
"""

from __future__ import annotations

from typing import Protocol, TextIO

from prompt_toolkit.output import Output
from prompt_toolkit.styles import Attrs, Style

__all__ = ["STYLE", "PlainScreen", "Screen", "TerminalScreen"]

# One class per kind of thing the chat shows; the toolbar's classes are prompt-toolkit's own.
STYLE = Style.from_dict(
    {
        "status": "italic #888888",
        "error": "bold #ff5f5f",
        "result": "bold #5fd75f",
        "suggestion": "#d7af00",
        "progress": "#5fafff",
        "progress.bar": "#5fafff",
        "banner": "bold",
        "example": "#d7af00",
        "hint": "#888888",
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "bottom-toolbar.key": "bg:#303030 #888888",
        "bottom-toolbar.value": "bg:#303030 bold #ffffff",
    }
)


class Screen(Protocol):
    """The surface replies are written on."""

    @property
    def styled(self) -> bool:
        """Whether this screen shows colours and can redraw the current line."""
        ...

    def write(self, text: str, style: str = "") -> None:
        """Write ``text`` (newlines included by the caller) and flush."""
        ...

    def redraw_line(self, text: str, style: str = "") -> None:
        """Replace the current line with ``text`` (styled screens only)."""
        ...


class TerminalScreen:
    """A prompt-toolkit :class:`~prompt_toolkit.output.Output`: colours, in-place progress.

    Writes go straight to the output with the style's attributes set around them: a streamed
    reply is hundreds of tiny pieces, and ``print_formatted_text`` costs milliseconds each.
    """

    styled = True

    def __init__(self, output: Output) -> None:
        self._output = output
        self._depth = output.get_default_color_depth()
        self._attrs: dict[str, Attrs] = {}

    def write(self, text: str, style: str = "") -> None:
        output = self._output
        if style:
            attrs = self._attrs.get(style)
            if attrs is None:
                attrs = self._attrs[style] = STYLE.get_attrs_for_style_str(style)
            output.set_attributes(attrs, self._depth)
        # Replies are written between prompts, with the terminal in cooked mode: it turns "\n"
        # into "\r\n" itself. (Output.write also neutralises escape sequences in the text.)
        output.write(text)
        if style:
            output.reset_attributes()
        output.flush()

    def redraw_line(self, text: str, style: str = "") -> None:
        self._output.write_raw("\r")
        self._output.erase_end_of_line()
        self.write(text, style)


class PlainScreen:
    """A text stream (a dumb terminal, a pipe): words only, no escape sequences."""

    styled = False

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str, style: str = "") -> None:
        self._stream.write(text)
        self._stream.flush()

    def redraw_line(self, text: str, style: str = "") -> None:
        self.write("\n" + text)
