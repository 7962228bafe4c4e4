"""The director's understanding: a message read into a Plan, table-driven, plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.local.server.director import Director, Plan, Step

S = Step

# (message, kind, steps). The plan's steps must equal ``steps`` exactly.
EXACT: list[tuple[str, str, tuple[Step, ...]]] = [
    # keywords
    ("could you make it hop around", "edit", (S("motion", "set", "bounce"),)),
    ("wobble please", "edit", (S("motion", "set", "wobble"),)),
    ("jelly", "edit", (S("motion", "set", "jelly"),)),
    ("widescreen", "edit", (S("aspect", "set", "16:9"),)),
    ("portrait mode", "edit", (S("aspect", "set", "9:16"),)),
    ("switch to a square canvas", "edit", (S("aspect", "set", "1:1"),)),
    ("loop it forever", "edit", (S("loop", "set", True),)),
    ("only play it once", "edit", (S("loop", "set", False),)),
    ("put some music on", "edit", (S("music", "set", True),)),
    ("add background music please", "edit", (S("music", "set", True),)),
    ("animate it", "edit", (S("motion", "set", None),)),
    # typos
    ("wigle it pls", "edit", (S("motion", "set", "jiggle"),)),
    ("boucy", "edit", (S("motion", "set", "bounce"),)),
    ("make it jigglyyy", "edit", (S("motion", "set", "jiggle"),)),
    ("sqare canvas", "edit", (S("aspect", "set", "1:1"),)),
    # slang, emoji, "!!!"
    ("bounce!!!", "edit", (S("motion", "set", "bounce"), S("intensity", "set", "strong"))),
    ("wobble 💯", "edit", (S("motion", "set", "wobble"), S("intensity", "set", "strong"))),
    ("jelly af", "edit", (S("motion", "set", "jelly"), S("intensity", "set", "strong"))),
    (
        "make it bounce a little",
        "edit",
        (S("motion", "set", "bounce"), S("intensity", "set", "subtle")),
    ),
    # numbers
    ("nine seconds", "edit", (S("duration", "set", 9.0),)),
    ("make it fifteen secs", "edit", (S("duration", "set", 15.0),)),
    ("set the length to 12 seconds", "edit", (S("duration", "set", 12.0),)),
    ("volume 80 percent", "edit", (S("volume", "set", 80.0),)),
    ("make it last half a minute", "edit", (S("duration", "set", 30.0),)),
    ("十秒", "edit", (S("duration", "set", 10.0),)),
    ("一秒钟", "edit", (S("duration", "set", 1.0),)),
    ("音量百分之四十", "edit", (S("volume", "set", 40.0),)),
    # multi-edit
    (
        "wobble, widescreen, eight seconds, no loop",
        "edit",
        (
            S("motion", "set", "wobble"),
            S("aspect", "set", "16:9"),
            S("duration", "set", 8.0),
            S("loop", "set", False),
        ),
    ),
    (
        "bounce and add music and make it square",
        "edit",
        (S("motion", "set", "bounce"), S("music", "set", True), S("aspect", "set", "1:1")),
    ),
    (
        'jelly + title "Yum" + 4 seconds',
        "edit",
        (S("motion", "set", "jelly"), S("title", "set", "Yum"), S("duration", "set", 4.0)),
    ),
    # relative: increase, decrease, scale, binding to the nearest noun
    ("make it 3 seconds longer", "edit", (S("duration", "increase", 3.0),)),
    ("tack on 2 extra seconds", "edit", (S("duration", "increase", 2.0),)),
    ("cut 1 second", "edit", (S("duration", "decrease", 1.0),)),
    ("trim it down to 3 seconds", "edit", (S("duration", "set", 3.0),)),
    ("longer", "edit", (S("duration", "increase", None),)),
    ("the music is too quiet", "edit", (S("volume", "increase", None),)),
    ("reduce the volume", "edit", (S("volume", "decrease", None),)),
    ("tone it down", "edit", (S("intensity", "decrease", None),)),
    ("more", "edit", (S("intensity", "increase", None),)),
    ("halve the length", "edit", (S("duration", "scale", 0.5),)),
    ("triple the length", "edit", (S("duration", "scale", 3.0),)),
    ("halve the volume", "edit", (S("volume", "scale", 0.5),)),
    ("把时长翻倍", "edit", (S("duration", "scale", 2.0),)),
    ("再加长两秒", "edit", (S("duration", "increase", 2.0),)),
    ("音量大一点", "edit", (S("volume", "increase", None),)),
    (
        "make the music quieter but the video longer",
        "edit",
        (S("volume", "decrease", None), S("duration", "increase", None)),
    ),
    (
        "louder music, shorter clip",
        "edit",
        (S("volume", "increase", None), S("duration", "decrease", None)),
    ),
    (
        "more music volume, less motion",
        "edit",
        (S("volume", "increase", None), S("intensity", "decrease", None)),
    ),
    # negation, per clause
    ("not jiggle, jelly", "edit", (S("motion", "keep", "jiggle"), S("motion", "set", "jelly"))),
    (
        "do a bounce but don't add music",
        "edit",
        (S("motion", "set", "bounce"), S("music", "keep", None)),
    ),
    ("don't make it loop", "edit", (S("loop", "set", False),)),
    ("no loop", "edit", (S("loop", "set", False),)),
    ("no caption", "edit", (S("title", "remove", None),)),
    ("without music", "edit", (S("music", "remove", None),)),
    ("wobble but no music", "edit", (S("motion", "set", "wobble"), S("music", "remove", None))),
    ("不要抖动，要弹跳", "edit", (S("motion", "keep", "jiggle"), S("motion", "set", "bounce"))),
    ("别循环了", "edit", (S("loop", "set", False),)),
    ("not 6 seconds, 4", "edit", (S("duration", "keep", 6.0), S("duration", "set", 4.0))),
    ("bounce, actually jelly", "edit", (S("motion", "set", "jelly"),)),
    # text arguments
    ("headline: Flash Sale", "edit", (S("title", "set", "Flash Sale"),)),
    ("put the text Open Now on it", "edit", (S("title", "set", "Open Now"),)),
    ('caption it "Bounce Square"', "edit", (S("title", "set", "Bounce Square"),)),
    ("文字改成 新年快乐", "edit", (S("title", "set", "新年快乐"),)),
    (
        "不要音乐，加标题 你好",
        "edit",
        (S("music", "remove", None), S("title", "set", "你好")),
    ),
    # traditional Chinese
    ("加長三秒", "edit", (S("duration", "increase", 3.0),)),
    ("畫面改成橫屏", "edit", (S("aspect", "set", "16:9"),)),
    ("不要背景音樂", "edit", (S("music", "remove", None),)),
    ("循環播放", "edit", (S("loop", "set", True),)),
    ("標題：開幕特賣", "edit", (S("title", "set", "開幕特賣"),)),
    ("音量調到百分之六十", "edit", (S("volume", "set", 60.0),)),
    # undo / redo with counts
    ("revert", "edit", (S("history", "undo", 1),)),
    ("cmd+z", "edit", (S("history", "undo", 1),)),
    ("undo twice", "edit", (S("history", "undo", 2),)),
    ("go back two steps", "edit", (S("history", "undo", 2),)),
    ("undo three times", "edit", (S("history", "undo", 3),)),
    ("redo twice", "edit", (S("history", "redo", 2),)),
    ("撤销两步", "edit", (S("history", "undo", 2),)),
    ("撤銷三步", "edit", (S("history", "undo", 3),)),
    ("上一步", "edit", (S("history", "undo", 1),)),
    ("重做", "edit", (S("history", "redo", 1),)),
    ("恢復", "edit", (S("history", "restore", 1),)),
]


@pytest.mark.parametrize(("message", "kind", "steps"), EXACT)
def test_plan_steps(message: str, kind: str, steps: tuple[Step, ...]) -> None:
    plan = Director().plan(message)
    assert plan.kind == kind
    assert plan.steps == steps
    assert plan.understood
    assert not plan.export


# (message, steps the plan must contain, in any order). Word order in the message may put
# the intensity before the motion; execution puts them in a canonical order anyway.
SUBSET: list[tuple[str, tuple[Step, ...]]] = [
    ("subtle wobble", (S("motion", "set", "wobble"), S("intensity", "set", "subtle"))),
    ("輕輕搖擺", (S("motion", "set", "wobble"), S("intensity", "set", "subtle"))),
    ("go wild with the jelly", (S("motion", "set", "jelly"), S("intensity", "set", "strong"))),
    ("弹跳，夸张一点", (S("motion", "set", "bounce"), S("intensity", "set", "strong"))),
    (
        "jiggle strongly, loop it, add music",
        (
            S("motion", "set", "jiggle"),
            S("intensity", "set", "strong"),
            S("loop", "set", True),
            S("music", "set", True),
        ),
    ),
    ("add a title Summer Sale and make it bounce", (S("title", "set", "Summer Sale"),)),
]


@pytest.mark.parametrize(("message", "steps"), SUBSET)
def test_plan_contains_steps(message: str, steps: tuple[Step, ...]) -> None:
    plan = Director().plan(message)
    assert plan.kind == "edit"
    for step in steps:
        assert step in plan.steps


def test_too_loud_then_lower_it_is_about_the_volume() -> None:
    plan = Director().plan("way too loud, lower it")
    assert plan.steps
    assert {(s.setting, s.op) for s in plan.steps} == {("volume", "decrease")}


def test_too_loud_then_lower_it_lowers_once() -> None:
    assert Director().plan("too loud, lower it").steps == (S("volume", "decrease", None),)


@pytest.mark.parametrize(
    ("message", "step"),
    [
        ("make it slower", None),
        ("intensify it", S("intensity", "increase", None)),
    ],
)
def test_words_one_letter_from_an_edit_word(message: str, step: Step | None) -> None:
    plan = Director().plan(message)
    if step is None:
        assert plan.cannot == ("speed",)
    else:
        assert plan.steps == (step,)


# Export, alone and with edits.
@pytest.mark.parametrize(
    "message", ["export please", "render the clip now", "download the mp4", "导出", "幫我匯出"]
)
def test_export_alone(message: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "export"
    assert plan.export
    assert plan.understood
    assert plan.steps == ()


@pytest.mark.parametrize(
    ("message", "step"),
    [
        ("make it bounce and export", S("motion", "set", "bounce")),
        ("square, then download it", S("aspect", "set", "1:1")),
        ("加背景音乐然后导出", S("music", "set", True)),
        ("彈跳然後匯出", S("motion", "set", "bounce")),
    ],
)
def test_export_with_an_edit(message: str, step: Step) -> None:
    plan = Director().plan(message)
    assert plan.kind == "edit"
    assert plan.steps == (step,)
    assert plan.export


def test_a_negated_export_is_no_export() -> None:
    plan = Director().plan("make it bounce, don't export")
    assert plan.steps == (S("motion", "set", "bounce"),)
    assert not plan.export


# Out of scope: kind "cannot", not understood.
@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("make her wink", "face"),
        ("can she smile", "face"),
        ("我想要微笑", "face"),
        ("make the dog dance", "action"),
        ("make the camera zoom out", "camera"),
        ("pan across slowly", "camera"),
        ("镜头拉近", "camera"),
        ("change the backdrop to a beach", "background"),
        ("remove background", "background"),
        ("背景换成海滩", "background"),
        ("add a sepia filter", "filter"),
        ("加个滤镜", "filter"),
        ("use a bold font for the title", "text_style"),
        ("make the caption yellow", "text_style"),
        ("merge my photos into one video", "multi_photo"),
        ("两张照片放一起", "multi_photo"),
        ("add a narration", "voice"),
        ("加配音", "voice"),
        ("export in 4K", "resolution"),
        ("export it as a gif", "resolution"),
        ("speed it up", "speed"),
        ("快一点", "speed"),
    ],
)
def test_cannot(message: str, topic: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "cannot"
    assert topic in plan.cannot
    assert not plan.understood
    assert plan.steps == ()
    assert not plan.export


@pytest.mark.parametrize("message", ["background music", "换个背景音乐", "配上背景音樂"])
def test_background_music_is_music_not_a_background(message: str) -> None:
    plan = Director().plan(message)
    assert plan.cannot == ()
    assert plan.steps == (S("music", "set", True),)


def test_an_edit_with_an_out_of_scope_clause_keeps_the_edit() -> None:
    plan = Director().plan("bounce and zoom in")
    assert plan.steps == (S("motion", "set", "bounce"),)
    assert plan.cannot == ("camera",)
    assert plan.kind == "edit"
    assert not plan.understood


def test_black_and_white_is_a_filter() -> None:
    assert Director().plan("turn it black and white").cannot == ("filter",)


# Not understood.
@pytest.mark.parametrize(
    "message",
    ["fais-le rebondir s'il te plaît", "xqzv blorp", "lorem ipsum dolor", "qwerty"],
)
def test_unknown(message: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "unknown"
    assert not plan.understood
    assert plan.steps == ()
    assert plan.message == message


@pytest.mark.parametrize("message", ["", "   ", "\n"])
def test_an_empty_message_is_answered_with_help(message: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "chat"
    assert plan.chat == "help"
    assert plan.steps == ()
    assert not plan.export


@pytest.mark.parametrize(
    ("message", "chat"),
    [
        ("hello there", "greeting"),
        ("你好", "greeting"),
        ("thank you so much", "thanks"),
        ("谢谢", "thanks"),
        ("looks good", "praise"),
        ("what are my options", "help"),
        ("what does it look like now", "status"),
    ],
)
def test_chat(message: str, chat: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "chat"
    assert plan.chat == chat
    assert plan.understood


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("add a title", "title_text"),
        ("add a caption", "title_text"),
        ("加个标题", "title_text"),
        ("加個標題", "title_text"),
        ("set the length", "which_duration"),
        ("set the title", "which_title"),
    ],
)
def test_question(message: str, question: str) -> None:
    plan = Director().plan(message)
    assert plan.kind == "question"
    assert plan.question == question
    assert not plan.understood


@pytest.mark.parametrize(
    ("message", "script"),
    [("bounce", "en"), ("弹跳", "zh-Hans"), ("彈跳", "zh-Hant"), ("十秒", "zh")],
)
def test_plan_script(message: str, script: str) -> None:
    assert Director().plan(message).script == script


# -- properties ---------------------------------------------------------------------------------

_PIECES = [
    "bounce", "not", "title:", '"', "「", "」", "undo", "2", "seconds", "三", "秒", "百分之",
    "louder", "and", ",", "，", "!!!", "🔥", "export", "4k", "半分钟", "twice", "half", "music",
    "不要", "标题", "撤销", "两步", "x", " ",
]  # fmt: skip

_ANY_TEXT = st.one_of(
    st.text(),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=12),
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=6),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.lists(st.sampled_from(_PIECES), max_size=10).map(" ".join),
)


def _same(a: Plan, b: Plan) -> None:
    assert a == b
    assert a.kind == b.kind


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_any_text_gives_a_plan(message: str) -> None:
    plan = Director().plan(message)
    assert isinstance(plan, Plan)
    assert plan.message == message
    assert plan.kind in ("edit", "export", "cannot", "question", "chat", "unknown")
    assert plan.script in ("en", "zh-Hans", "zh-Hant", "zh", "")
    for step in plan.steps:
        assert isinstance(step, Step)


@settings(max_examples=200, deadline=None)
@given(_ANY_TEXT)
def test_planning_is_deterministic(message: str) -> None:
    _same(Director().plan(message), Director().plan(message))
    director = Director()
    _same(director.plan(message), director.plan(message))


def _values(plan: Plan) -> list[Any]:
    return [step.value for step in plan.steps]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([m for m, _, steps in EXACT if all(s.setting != "title" for s in steps)]))
def test_planning_ignores_surrounding_spaces(message: str) -> None:
    assert _values(Director().plan(f"  {message}  ")) == _values(Director().plan(message))


def test_trailing_spaces_do_not_change_the_title() -> None:
    plan = Director().plan("put the text Open Now on it  ")
    assert plan.steps == (S("title", "set", "Open Now"),)


@pytest.mark.parametrize(
    ("message", "question", "steps"),
    [
        ("bounce or wobble?", "which_motion", ()),
        ("弹跳还是摇摆", "which_motion", ()),
        ("either square or vertical", "which_aspect", ()),
        ("jiggle or bounce, 3 seconds", "which_motion", (S("duration", "set", 3.0),)),
    ],
)
def test_a_choice_left_open_is_asked_not_guessed(
    message: str, question: str, steps: tuple[Step, ...]
) -> None:
    plan = Director().plan(message)
    assert plan.question == question
    assert plan.steps == steps
    assert plan.understood is bool(steps)
