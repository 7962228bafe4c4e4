"""Text folding: what the router matches against, and which language the user writes in."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from router._tables import load_table

Language = Literal["en", "zh"]

# Placeholders left where quoted text and file names were (private-use code points, never
# typed by anyone, and no word character in ASCII mode).
QUOTED = "\ue000"
FILE = "\ue001"

_PAIRS: list[str] = str(load_table("hant.yaml")["pairs"]).split()
_HANT_TO_HANS: dict[int, str] = {ord(p[0]): p[1] for p in _PAIRS if len(p) == 2 and p[0] != p[1]}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]")
# Runs of spaces, and any other blank: a single space is left alone.
_SPACES = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")
_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff])")
# An apostrophe inside a word goes ("don't" -> "dont"): patterns need not spell both forms.
_APOSTROPHE = re.compile(r"['’`´](?<=[a-z].)(?=[a-z])")
_QUOTED_SPANS = re.compile(
    r"\"[^\"\n]*(?:\"|$)"
    r"|“[^”\n]*(?:”|$)"
    r"|‘[^’\n]*(?:’|$)"
    r"|「[^」\n]*(?:」|$)"
    r"|『[^』\n]*(?:』|$)"
    r"|《[^》\n]*(?:》|$)"
    # A single quote not right after a letter or digit: the lookbehind comes after the
    # quote so every branch starts with a literal, which lets re skip ahead fast.
    r"|'(?<![a-z0-9]')[^'\n]+'(?![a-z0-9])"
)
_STRAY_QUOTES = re.compile(r"[\"'`´“”‘’「」『』《》]")
_TAB_OR_DOUBLE_SPACE = re.compile(r"[\t\r\f\v]|  ")


def fold(text: str) -> str:
    """NFKC, lower case, traditional -> simplified, one space between words.

    Full-width letters and punctuation become ASCII ("ＥＸＰＯＲＴ！" -> "export!"), control and
    zero-width characters become spaces, and spaces inside Chinese text go ("导 出" -> "导出").
    """
    if text.isascii():  # the common case: ASCII is its own NFKC form, and has no Chinese
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", text).lower().translate(_HANT_TO_HANS)
        text = _SPACE_BETWEEN_HAN.sub("", text)
    if not text.isprintable():
        text = _CONTROL.sub(" ", text)
    if _TAB_OR_DOUBLE_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    return text


def mask_quotes(text: str) -> str:
    """Quoted text becomes one placeholder: "add a title \\"Export Sale\\"" is about a title."""
    if _STRAY_QUOTES.search(text) is None:
        return text
    text = _APOSTROPHE.sub("", text)
    text = _QUOTED_SPANS.sub(f" {QUOTED} ", text)
    return _SPACES.sub(" ", _STRAY_QUOTES.sub(" ", text))


def language(folded: str) -> Language:
    """ "zh" when the message has any Chinese outside quotes (or only Chinese inside them)."""
    if folded.isascii():
        return "en"
    outside = _QUOTED_SPANS.sub(" ", folded)
    if _HAN.search(outside):
        return "zh"
    if not re.search(r"[a-z]", outside) and _HAN.search(folded):
        return "zh"
    return "en"


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Like :func:`fold` (without collapsing spaces), plus where each folded character came from.

    ``offsets[i]`` is the index in ``text`` of the character that produced folded character
    ``i``, so a match in the folded text can be cut out of the original words.
    """
    if text.isascii():  # lower case and spaces for control characters keep every offset
        folded = text.lower()
        if not folded.isprintable():
            folded = _CONTROL.sub(" ", folded)
        return folded, list(range(len(text)))
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():
            folded = char.lower()
        else:
            folded = unicodedata.normalize("NFKC", char).lower().translate(_HANT_TO_HANS)
        if not folded.isprintable():
            folded = _CONTROL.sub(" ", folded)
        out.append(folded)
        offsets.extend([index] * len(folded))
    return "".join(out), offsets
