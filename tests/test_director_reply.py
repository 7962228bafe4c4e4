"""The director's replies: built from what a turn really did, in the user's own script."""

from __future__ import annotations

import pytest

from skill.local.server import draft as drafts
from skill.local.server.director import Director, Workspace

SIMPLIFIED_ONLY = ("设置", "时长", "画布", "视频", "导出", "没有", "撤销", "时间线")
TRADITIONAL_ONLY = ("設定", "長度", "畫布", "影片", "匯出", "沒有", "復原", "時間線")


def session(seconds: float = 5.0, *, photo: bool = True) -> Workspace:
    return Workspace.with_photo(seconds, photo=photo)


def say(target: Workspace, message: str, session_lang: str = "en") -> str:
    """The whole reply to ``message``, as a chat turn would give it."""
    director = Director()
    plan = director.plan(message)
    lang = director.language(plan, session_lang)
    if plan.steps:
        return director.closing(plan, director.execute(plan, target), lang)
    return director.answer(plan, director.look(target), lang)


# -- scripts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("彈跳", ("完成", "設定")),
        ("十秒", ("完成", "長度")),
        ("變成正方形", ("完成", "畫布")),
    ],
)
def test_a_traditional_message_gets_traditional_words(message: str, words: tuple[str, ...]) -> None:
    reply = say(session(), message, session_lang="zh-TW")
    for word in words:
        assert word in reply
    for word in SIMPLIFIED_ONLY:
        assert word not in reply


def test_a_traditional_message_in_an_english_session_is_answered_in_traditional() -> None:
    reply = say(session(), "彈跳", session_lang="en")
    assert reply.startswith("完成")
    assert "设置" not in reply
    assert "時間線" in reply


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("弹跳", ("完成", "设置")),
        ("十秒", ("完成", "时长")),
        ("变成正方形", ("完成", "画布")),
    ],
)
def test_a_simplified_message_gets_simplified_words(message: str, words: tuple[str, ...]) -> None:
    reply = say(session(), message, session_lang="zh-CN")
    for word in words:
        assert word in reply
    for word in TRADITIONAL_ONLY:
        assert word not in reply


@pytest.mark.parametrize(("session_lang", "script"), [("zh-TW", "zh-Hant"), ("zh-CN", "zh-Hans")])
def test_characters_common_to_both_scripts_follow_the_session(
    session_lang: str, script: str
) -> None:
    director = Director()
    plan = director.plan("十秒")
    assert plan.script == "zh"
    assert director.language(plan, session_lang) == script
    reply = say(session(), "十秒", session_lang=session_lang)
    assert ("長度" in reply) == (script == "zh-Hant")
    assert ("时长" in reply) == (script == "zh-Hans")


def test_an_english_message_gets_english() -> None:
    reply = say(session(), "make it bounce", session_lang="zh-CN")
    assert reply.startswith("Done!")
    assert "bounce" in reply
    assert not any("\u4e00" <= c <= "\u9fff" for c in reply)


def test_an_unchanged_traditional_request_uses_traditional_words() -> None:
    reply = say(session(5.0), "五秒", session_lang="zh-TW")
    assert "長度5秒" in reply
    assert "完成" not in reply
    assert "时长" not in reply


# -- "Done" only when the draft changed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "changes"),
    [
        ("make it bounce", True),
        ("square", True),
        ("7 seconds", True),
        ("add music", True),
        ("5 seconds", False),
        ("vertical", False),
        ("no title", False),
        ("no music", False),
    ],
)
def test_done_only_when_the_draft_changed(message: str, changes: bool) -> None:
    reply = say(session(5.0), message)
    assert reply.startswith("Done!") == changes
    if not changes:
        assert "Nothing changed" in reply or "Your photo now" in reply


@pytest.mark.parametrize(("message", "lang"), [("七秒", "zh-CN"), ("七秒", "zh-TW")])
def test_chinese_done_only_when_the_draft_changed(message: str, lang: str) -> None:
    target = session(5.0)
    assert say(target, message, lang).startswith("完成")
    assert "完成" not in say(target, message, lang)


def test_the_reply_names_the_old_and_new_length() -> None:
    reply = say(session(4.0), "one more second")
    assert "5 seconds" in reply
    assert "it was 4" in reply


@pytest.mark.parametrize("message", ["jiggle", "make it jiggle gently", "loop it"])
def test_an_unchanged_motion_request_after_upload_acknowledges_it(message: str) -> None:
    reply = say(session(), message)
    assert reply.startswith("Your photo now jiggles gently, looping seamlessly.")
    assert "Done" not in reply


def test_an_unchanged_motion_request_in_chinese() -> None:
    assert say(session(), "抖动", "zh-CN").startswith("你的照片现在轻微地抖动")
    assert say(session(), "抖動", "zh-TW").startswith("你的照片現在輕微地抖動")


def test_motion_before_a_photo_is_noted_for_the_upload() -> None:
    reply = say(session(photo=False), "bounce")
    assert "noted" in reply
    assert "Upload a photo" in reply


# -- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "words"),
    [("1000 seconds", "the longest"), ("两百秒", "最长"), ("兩百秒", "最長")],
)
def test_a_clamped_length_says_it_is_the_longest(message: str, words: str) -> None:
    reply = say(session(), message)
    assert words in reply
    assert "60" in reply


def test_a_clamped_short_length_says_it_is_the_shortest() -> None:
    assert "the shortest" in say(session(), "0.2 seconds")


def test_a_clamped_length_at_the_limit_still_says_it_is_the_longest() -> None:
    target = session()
    say(target, "1000 seconds")
    assert "longest" in say(target, "1000 seconds")


# -- undo and redo -------------------------------------------------------------------------------


def test_undo_says_what_it_went_back_to() -> None:
    target = session()
    say(target, "square")
    reply = say(target, "undo")
    assert reply.startswith("Undone: the canvas is 9:16.")
    assert "Done" not in reply


def test_undo_many_says_how_many_steps() -> None:
    target = session()
    say(target, "bounce")
    say(target, "square")
    reply = say(target, "undo twice")
    assert reply.startswith("Undone (2 steps):")
    assert "jiggles" in reply
    assert "9:16" in reply


def test_redo_says_what_came_back() -> None:
    target = session()
    say(target, 'title "Hi"')
    say(target, "undo")
    assert say(target, "redo").startswith('Redone: the title is "Hi".')


@pytest.mark.parametrize(
    ("message", "lang", "reply"),
    [
        ("undo", "en", "There's nothing to undo yet."),
        ("撤销", "zh-CN", "还没有可以撤销的操作。"),
        ("撤銷", "zh-TW", "還沒有可以復原的操作。"),
        ("redo", "en", "There's nothing to redo."),
    ],
)
def test_nothing_to_undo(message: str, lang: str, reply: str) -> None:
    assert say(session(), message, lang) == reply


def test_traditional_undo_uses_traditional_words() -> None:
    target = session()
    say(target, "十秒", "zh-TW")
    reply = say(target, "撤銷", "zh-TW")
    assert reply.startswith("已復原：長度5秒")
    assert "撤销" not in reply


# -- turns without steps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "lang", "cannot", "alternative"),
    [
        ("zoom in", "en", "I can't", "9:16"),
        ("make her smile", "en", "I can't", "jiggle"),
        ("export in 4K", "en", "I can't", "1080p MP4"),
        ("add a voiceover", "en", "I can't", "background music"),
        ("加个滤镜", "zh-CN", "无法", "设置动效"),
        ("镜头拉近", "zh-CN", "无法", "9:16"),
        ("加個濾鏡", "zh-TW", "無法", "設定動態"),
        ("4K匯出", "zh-TW", "無法", "1080p MP4"),
    ],
)
def test_cannot_replies_say_so_and_offer_an_alternative(
    message: str, lang: str, cannot: str, alternative: str
) -> None:
    reply = say(session(), message, lang)
    assert cannot in reply
    assert alternative in reply


def test_an_edit_with_an_out_of_scope_clause_does_the_edit_then_says_what_it_cannot() -> None:
    reply = say(session(), "square and zoom in")
    assert reply.startswith("Done!")
    assert "I can't move, zoom or crop the camera" in reply


@pytest.mark.parametrize(
    ("message", "lang", "echo"),
    [
        ("xqzv blorp", "en", 'I didn\'t understand "xqzv blorp"'),
        ("fais-le rebondir", "en", '"fais-le rebondir"'),
    ],
)
def test_unknown_replies_echo_the_message(message: str, lang: str, echo: str) -> None:
    reply = say(session(), message, lang)
    assert echo in reply
    assert "I can animate your photo" in reply


def test_a_long_unknown_message_is_shortened_in_the_echo() -> None:
    reply = say(session(), "q" * 200)
    assert "q" * 200 not in reply
    assert "…" in reply


@pytest.mark.parametrize(
    ("message", "lang", "words"),
    [
        ("add a title", "en", "What should the title say?"),
        ("加个标题", "zh-CN", "标题要写什么？"),
        ("加個標題", "zh-TW", "標題要寫什麼？"),
    ],
)
def test_a_title_without_text_is_a_question(message: str, lang: str, words: str) -> None:
    target = session()
    assert say(target, message, lang).startswith(words)
    assert drafts.read_settings(target.draft).title is None


@pytest.mark.parametrize(
    ("photo", "words"), [(True, "Your video is ready"), (False, "nothing to export yet")]
)
def test_export_replies(photo: bool, words: str) -> None:
    assert words in say(session(photo=photo), "export")


def test_status_says_every_setting() -> None:
    reply = say(session(), "status")
    for words in ("jiggles", "5 seconds", "9:16", "no title", "no music"):
        assert words in reply


def test_a_negated_value_does_not_contradict_the_change() -> None:
    reply = say(session(), "not bounce, wobble")
    assert "wobble" in reply
    assert "left the motion" not in reply
