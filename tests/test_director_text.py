"""The director's normalisation: numbers as digits, the title cut out, typos mended, the script."""

from __future__ import annotations

import pytest

from skill.local.server.director._text import TITLE, numbers_to_digits, read


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("three seconds", "3 seconds"),
        ("make it seven seconds", "make it 7 seconds"),
        ("two and a half seconds", "2.5 seconds"),
        ("one and a half seconds", "1.5 seconds"),
        ("twenty five seconds", "25 seconds"),
        ("ten secs", "10 secs"),
        ("half a minute", "30 seconds"),
        ("one minute", "60 seconds"),
        ("a minute", "60 seconds"),
        ("fifty percent", "50 percent"),
        ("music at twenty percent", "music at 20 percent"),
        ("三秒", "3秒"),
        ("十二秒", "12秒"),
        ("二十五秒", "25秒"),
        ("两秒", "2秒"),
        ("半分钟", "30秒"),
        ("一分钟", "60秒"),
        ("百分之二十", "20%"),
        ("一百二十秒", "120秒"),
        ("音量百分之五十", "音量50%"),
    ],
)
def test_number_words_become_digits(text: str, digits: str) -> None:
    assert numbers_to_digits(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "上一步",  # "the last step", not one step
        "播放一次",  # "play once": the lexicon reads it as a word
        "回到上一步",
        "one more thing",  # no unit after the number word
        "make it bounce",
    ],
)
def test_words_that_only_look_like_numbers_stay(text: str) -> None:
    assert numbers_to_digits(text) == text


@pytest.mark.parametrize("text", ["a couple seconds", "a couple of seconds", "a few seconds"])
def test_multi_word_number_words_become_digits(text: str) -> None:
    assert numbers_to_digits(text)[0].isdigit()


def test_chinese_thousands_become_digits() -> None:
    assert numbers_to_digits("一千秒") == "1000秒"


def test_a_single_word_from_a_multi_word_entry_converts() -> None:
    assert numbers_to_digits("couple seconds") == "2 seconds"


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("title: Summer Vibes", "Summer Vibes"),
        ("Title: summer VIBES", "summer VIBES"),
        ("caption = Big News", "Big News"),
        ('add the caption "Hello World"', "Hello World"),
        ("title 'Grand Opening'", "Grand Opening"),
        ("add a title Summer Sale and make it bounce", "Summer Sale"),
        ("write GRAND OPENING on it", "GRAND OPENING"),
        ("caption Hello There", "Hello There"),
        ('title "Ünïcode Café"', "Ünïcode Café"),
        ("标题：新品上市", "新品上市"),
        ("加个标题 夏日快乐", "夏日快乐"),
        ("標題「夏日時光」", "夏日時光"),
        ("标题《开业大吉》", "开业大吉"),
    ],
)
def test_title_is_taken_from_the_original_text(message: str, title: str) -> None:
    read_ = read(message)
    assert read_.title == title
    assert TITLE in read_.text
    assert read_.original == message


def test_the_title_stops_before_the_next_instruction() -> None:
    message = read("add a title Summer Sale and make it bounce")
    assert message.title == "Summer Sale"
    assert "bounce" in message.text
    assert "summer" not in message.text


def test_title_words_are_not_read_as_instructions() -> None:
    message = read('title "Bounce Square"')
    assert message.title == "Bounce Square"
    assert "bounce" not in message.text
    assert "square" not in message.text


@pytest.mark.parametrize("message", ["make it bounce", "5 seconds", "make the title red", "弹跳"])
def test_no_title_when_none_is_given(message: str) -> None:
    assert read(message).title is None


@pytest.mark.parametrize(
    ("message", "word"),
    [
        ("boucne", "bounce"),
        ("make it boucne", "bounce"),
        ("sqare", "square"),
        ("wobbel", "wobble"),
        ("jelllly", "jelly"),
        ("make it jelllly", "jelly"),
        ("bounnnnce", "bounce"),
    ],
)
def test_typos_and_letter_runs_are_mended(message: str, word: str) -> None:
    assert word in read(message).text.split()


def test_a_mended_title_noun_still_finds_the_title() -> None:
    message = read("titel: x")
    assert message.title == "x"
    assert message.text.startswith("title")


@pytest.mark.parametrize("word", ["bounced", "second", "little", "once", "look", "more"])
def test_real_words_near_an_edit_word_are_not_mended(word: str) -> None:
    assert read(f"it {word}").text == f"it {word}"


def test_shave_is_not_mended_to_shake() -> None:
    assert "shave" in read("shave 2 seconds off").text


def test_text_is_folded_to_lower_case_and_simplified() -> None:
    assert read("MAKE IT BOUNCE").text == "make it bounce"
    assert read("彈跳").text == "弹跳"
    assert read("ｅｘｐｏｒｔ").text == "export"


def test_traditional_numerals_are_read_after_folding() -> None:
    assert read("兩百秒").text == "200秒"
    assert read("撤銷兩步").text == "撤销两步"  # a count stays a word


def test_spaces_are_collapsed() -> None:
    assert read("  make   it\n bounce  ").text == "make it bounce"


@pytest.mark.parametrize(
    ("message", "script"),
    [
        ("make it bounce", "en"),
        ("", ""),  # no words: the session decides
        ("???", ""),
        ("5 seconds 🔥", "en"),
        ("两秒", "zh-Hans"),
        ("弹跳", "zh-Hans"),
        ("抖动", "zh-Hans"),
        ("半分钟", "zh-Hans"),
        ("彈跳", "zh-Hant"),
        ("標題「夏日時光」", "zh-Hant"),
        ("撤銷兩步", "zh-Hant"),
        ("三秒", "zh"),
        ("十二秒", "zh"),
        ("百分之二十", "zh"),
        ("上一步", "zh"),
        ("make it 彈跳", "zh-Hant"),
    ],
)
def test_script_detection(message: str, script: str) -> None:
    assert read(message).script == script
