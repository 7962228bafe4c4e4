"""A chat message, normalised once: folded, its title text cut out, numbers in digits.

Folding is the router's (NFKC, full-width to ASCII, lower case, traditional to simplified: one
table for the whole project). The text a user means as a title is taken out *before* anything
else reads the message, from the original characters (case and script kept), so its words
are never read as instructions. Then typos in edit words are mended, and number words become
digits ("three seconds" -> "3 seconds", "半分钟" -> "30秒", "百分之二十" -> "20%").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from router import TypoFixer, fold_with_offsets
from skill._data import load_yaml
from skill.local.server.director._lexicon import lexicon

# "zh": Chinese in characters both scripts share; "": no words at all (the session's language).
Script = Literal["en", "zh-Hans", "zh-Hant", "zh", ""]

# Where the title was: a private-use character no one types.
TITLE = "\ue000"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_RUNS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")

# -- the title, with or without quotes ---------------------------------------------------------

_QUOTES = re.compile(
    r"\"([^\"\n]+)\"|“([^”\n]+)”|‘([^’\n]+)’|「([^」\n]+)」|『([^』\n]+)』|《([^》\n]+)》"
    r"|(?<![a-z0-9])'([^'\n]+)'(?![a-z0-9])"
)


@dataclass(frozen=True)
class _TitleGrammar:
    """lexicon.yaml's ``title_text``, compiled."""

    start: tuple[re.Pattern[str], ...]
    fallback: tuple[re.Pattern[str], ...]
    tail: re.Pattern[str]
    cut: re.Pattern[str]

    @classmethod
    def load(cls, table: dict[str, str | list[str]]) -> _TitleGrammar:
        def compiled(pattern: str) -> re.Pattern[str]:
            return re.compile(
                pattern.replace("{en}", str(table["en"])).replace("{zh}", str(table["zh"]))
            )

        return cls(
            start=tuple(compiled(p) for p in table["start"]),
            fallback=tuple(compiled(p) for p in table["fallback"]),
            tail=compiled(str(table["tail"])),
            cut=compiled(str(table["break"])),
        )


@dataclass(frozen=True)
class Message:
    """One message, ready to be read."""

    original: str
    text: str  # folded, title masked, typos mended, numbers as digits
    script: Script
    title: str | None  # the title text as typed, if the message gives one


def _script(original: str, folded: str) -> Script:
    """Chinese in traditional characters ("zh-Hant"), simplified ones, or neither known."""
    if not _HAN.search(folded):
        return "en" if _LATIN.search(folded) else ""  # "???": no language of its own
    for char in original:
        if _HAN.match(char):
            nfkc = unicodedata.normalize("NFKC", char)
            if fold_with_offsets(nfkc)[0] != nfkc:
                return "zh-Hant"
    for char in folded:
        if _HAN.match(char) and char in _tables().simplified:
            return "zh-Hans"
    return "zh"


@dataclass(frozen=True)
class _Tables:
    typos: TypoFixer
    simplified: frozenset[str]
    number_words: dict[str, float]
    en_number: re.Pattern[str]
    en_bare_number: re.Pattern[str]
    titles: _TitleGrammar


@functools.cache
def _tables() -> _Tables:
    """The lexicon's typo targets, the number words and the title grammar, compiled once."""
    lexicon = load_yaml("skill.local.server.director", "lexicon.yaml")
    numbers = load_yaml("skill.local.server.director", "numbers.yaml")
    words: dict[str, float] = {str(k): float(v) for k, v in numbers["en"].items()}
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    bare = "|".join(sorted((w for w in words if words[w] >= 2 and " " not in w), key=len)[::-1])
    unit = r"(?:s|secs?|seconds?|mins?|minutes?|percent|%|times|steps?|x|秒)"
    en_number = re.compile(
        rf"\b((?:{alternatives})(?:[\s-]+(?:{alternatives}))*)(\s+and\s+a\s+half)?"
        rf"(?=\s*(?:(?:more|extra|less|fewer|additional|whole|full|long|short)\s+)?{unit}(?![a-z]))"
    )
    hant = load_yaml("router", "hant.yaml")["pairs"].split()
    simplified = frozenset(p[1] for p in hant if len(p) == 2 and p[0] != p[1])
    return _Tables(
        typos=TypoFixer(lexicon["typo_targets"], lexicon["not_typos"], shortest=4),
        simplified=simplified,
        number_words=words,
        en_number=en_number,
        en_bare_number=re.compile(rf"\b((?:{bare})(?:[\s-]+(?:{alternatives}))*)()\b"),
        titles=_TitleGrammar.load(lexicon["title_text"]),
    )


# -- numbers ---------------------------------------------------------------------------------

_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}  # fmt: skip
_ZH_NUMBER = r"[零一二两三四五六七八九十百千]+"
# Not before 步 / 次: "上一步" is "the last step", "播放一次" is "play once" (the lexicon lists
# its counts as words).
_ZH_BEFORE_UNIT = re.compile(
    rf"({_ZH_NUMBER})(?:点([零一二三四五六七八九]+))?(?=\s*(?:秒|分钟|分|倍|个?百分点))"
)
_ZH_PERCENT = re.compile(rf"百分之\s*({_ZH_NUMBER}|\d+(?:\.\d+)?)")
_MINUTES = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:minutes?|mins?|分钟|分(?!之|贝))(?![a-z])(?:\s+and\s+a\s+half|半)?"
)
_HALF_MINUTE = re.compile(r"\b(?:half a minute|a half minute|half minute|30 sec)\b|半分钟")
_A_UNIT = re.compile(r"\b(?:a|an|one single|a single)\s+(second|sec|minute|min)\b")


def _zh_value(raw: str) -> float:
    """A Chinese numeral: 三 3, 十二 12, 二十五 25, 一百 100, 两 2."""
    if raw.isdigit():
        return float(raw)
    total, current = 0, 0
    for char in raw:
        if char == "千":
            total += (current or 1) * 1000
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _ZH_DIGITS.get(char, 0)
    return float(total + current)


def _digits(value: float) -> str:
    return f"{value:g}"


def _en_numbers(text: str, tables: _Tables) -> str:
    def spell(match: re.Match[str]) -> str:
        whole = tables.number_words.get(match.group(1))
        if whole is not None:  # "a couple of", "a few"
            return _digits(whole + (0.5 if match.group(2) else 0.0))
        parts = re.split(r"[\s-]+", match.group(1))
        total, current = 0.0, 0.0
        for part in parts:
            value = tables.number_words.get(part)
            if value is None:
                return match.group(0)
            if value == 100:
                current = (current or 1) * 100
            elif value < 1 and current:  # "one and a half" is spelled with its own group
                current += value
            else:
                current += value
        total += current
        if match.group(2):
            total += 0.5
        return _digits(total)

    text = tables.en_number.sub(spell, text)
    # Without a unit, only words that cannot mean "a" or "this": "volume to sixty".
    return tables.en_bare_number.sub(spell, text)


def numbers_to_digits(text: str) -> str:
    """Number words and minutes as digits and seconds, in English and Chinese."""
    tables = _tables()
    if _HALF_MINUTE.search(text):
        text = _HALF_MINUTE.sub("30秒" if _HAN.search(text) else "30 seconds", text)
    text = _A_UNIT.sub(lambda m: "1 " + m.group(1), text)
    if _LATIN.search(text):
        text = _en_numbers(text, tables)
    if _HAN.search(text):
        text = _ZH_PERCENT.sub(lambda m: _digits(_zh_value(m.group(1))) + "%", text)
        text = _ZH_BEFORE_UNIT.sub(
            lambda m: _digits(_zh_value(m.group(1)) + (float("0." + "".join(
                str(_ZH_DIGITS[c]) for c in m.group(2))) if m.group(2) else 0.0)),
            text,
        )  # fmt: skip

    def minutes(match: re.Match[str]) -> str:
        seconds = float(match.group(1)) * 60 + (
            30 if match.group(0).endswith(("half", "半")) else 0
        )
        return _digits(seconds) + (" seconds" if match.group(0)[-1].isascii() else "秒")

    return _MINUTES.sub(minutes, text)


# -- the message ------------------------------------------------------------------------------


def _title(folded: str, offsets: list[int], original: str) -> tuple[str | None, str]:
    """The title text (from ``original``) and ``folded`` with it replaced by :data:`TITLE`."""
    quoted = _QUOTES.search(folded)
    if quoted is not None:
        group = next(i for i in range(1, 8) if quoted.group(i) is not None)
        start, end = quoted.start(group), quoted.end(group)
        text = original[offsets[start] : offsets[end - 1] + 1].strip()
        masked = folded[: quoted.start()] + f" {TITLE} " + folded[quoted.end() :]
        return (text or None), masked
    if any(topic == "text_style" for topic, _, _ in lexicon().cannot(folded)):
        return None, folded  # "make the title red" styles the title; it does not name one
    grammar = _tables().titles
    best: tuple[int, int] | None = None
    for patterns in (grammar.start, grammar.fallback):
        for pattern in patterns:
            match = pattern.search(folded)
            if match is not None and (best is None or match.start(1) < best[0]):
                best = (match.start(1), match.start())
        if best is not None:
            break
    if best is None:
        return None, folded
    start = best[0]
    end = len(folded)
    rest = folded[start:]
    for cut in grammar.cut.finditer(rest):
        after = rest[cut.end() :]
        if cut.start() > 0 and _reads_as_instruction(after):
            end = start + cut.start()
            break
    tail = grammar.tail.search(folded[start:end])
    if tail is not None and tail.start() > 0:
        end = start + tail.start()
    if end <= start:
        return None, folded
    text = original[offsets[start] : offsets[end - 1] + 1].strip()
    return (text or None), folded[:start] + f" {TITLE} " + folded[end:]


def _reads_as_instruction(text: str) -> bool:
    """Whether ``text`` (after a separator in a would-be title) holds edit words of its own."""
    return lexicon().has_instruction(text)


def _mend(folded: str, offsets: list[int]) -> tuple[str, list[int]]:
    """Typos in edit words mended ("titel" -> "title", "jelllly" -> "jelly"), with each
    character of a mended word pointing at its original word."""
    mended = _tables().typos.fix(_RUNS.sub(r"\1\1", folded))
    if mended == folded:
        return folded, offsets
    out: list[int] = []
    old_words = list(re.finditer(r"[a-z]+|[^a-z]", folded))
    new_words = list(re.finditer(r"[a-z]+|[^a-z]", mended))
    if len(old_words) != len(new_words):
        return folded, offsets
    for old, new in zip(old_words, new_words, strict=True):
        first, last = offsets[old.start()], offsets[old.end() - 1]
        span = new.end() - new.start()
        out.extend(first if i < span - 1 else last for i in range(span))
    return mended, out


def read(message: str) -> Message:
    """``message``, normalised for the parser."""
    folded, offsets = fold_with_offsets(message.rstrip())
    script = _script(message, folded)
    folded, offsets = _mend(folded, offsets)
    title, text = _title(folded, offsets, message)
    text = numbers_to_digits(text)
    text = _SPACES.sub(" ", text).strip()
    return Message(original=message, text=text, script=script, title=title)
