"""The local director's rule table and the draft edits it drives, in English and Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from skill.local.server import Director
from skill.local.server import draft as drafts


def photo_draft(seconds: float = 5.0) -> dict[str, Any]:
    draft = drafts.new_draft(seconds)
    drafts.place_photo(draft, name="cat.jpg", src="http://cdn/cat.jpg", media_id="m_1", style={})
    return draft


def plan_and_apply(
    director: Director, draft: dict[str, Any], message: str
) -> list[tuple[str, dict[str, Any]]]:
    plan = director.plan(message, draft=draft)
    for edit in plan.edits:
        drafts.apply_edit(draft, {}, edit.name, edit.args)
    return [(e.name, e.args) for e in plan.edits]


@pytest.mark.parametrize(
    ("message", "edits"),
    [
        (
            "make this image jiggle and bounce with a subtle looping motion",
            [("apply_motion", {"motion": "jiggle", "intensity": "subtle", "loop": True})],
        ),
        (
            "bounce like crazy",
            [("apply_motion", {"motion": "bounce", "intensity": "strong", "loop": True})],
        ),
        (
            "gentle wobble, play once",
            [("apply_motion", {"motion": "wobble", "intensity": "subtle", "loop": False})],
        ),
        (
            "弹跳，夸张一点",
            [("apply_motion", {"motion": "bounce", "intensity": "strong", "loop": True})],
        ),
        (
            "轻微抖动，不循环",
            [("apply_motion", {"motion": "jiggle", "intensity": "subtle", "loop": False})],
        ),
        ("5 seconds", [("set_duration", {"seconds": 5.0})]),
        ("十五秒", [("set_duration", {"seconds": 15.0})]),
        ("square please", [("set_aspect_ratio", {"aspect": "1:1"})]),
        ("landscape", [("set_aspect_ratio", {"aspect": "16:9"})]),
        ("竖屏", [("set_aspect_ratio", {"aspect": "9:16"})]),
        ("16:9", [("set_aspect_ratio", {"aspect": "16:9"})]),
        ('add the text "Summer 2025"', [("set_title", {"text": "Summer 2025"})]),
        ("标题「你好」", [("set_title", {"text": "你好"})]),
        ("remove the title", [("remove_title", {})]),
        ("add some music", [("add_bgm", {"volume": 35, "name": "Lo-fi"})]),
        ("加背景音乐", [("add_bgm", {"volume": 35, "name": "Lo-fi"})]),
        ("trim to 3 seconds", [("trim", {"seconds": 3.0})]),
        ("trim 2 seconds off", [("trim", {"by_seconds": 2.0})]),
        ("剪掉一秒", [("trim", {"by_seconds": 1.0})]),
    ],
)
def test_each_rule_in_english_and_chinese(
    message: str, edits: list[tuple[str, dict[str, Any]]]
) -> None:
    assert plan_and_apply(Director(), photo_draft(), message) == edits


def test_quoted_words_are_a_title_not_instructions() -> None:
    edits = plan_and_apply(Director(), photo_draft(), 'title "Bounce House"')
    assert edits == [("set_title", {"text": "Bounce House"})]


def test_more_and_less_step_the_intensity_but_not_for_music() -> None:
    director, draft = Director(), photo_draft()
    assert plan_and_apply(director, draft, "more!")[0][1]["intensity"] == "medium"
    assert plan_and_apply(director, draft, "even more")[0][1]["intensity"] == "strong"
    assert plan_and_apply(director, draft, "less")[0][1]["intensity"] == "medium"
    plan_and_apply(director, draft, "add music")
    assert plan_and_apply(director, draft, "music louder") == [("set_bgm_volume", {"volume": 50})]
    assert plan_and_apply(director, draft, "music at 20%") == [("set_bgm_volume", {"volume": 20})]
    assert plan_and_apply(director, draft, "remove the music") == [("remove_bgm", {})]
    assert all(t["tt"] != 1 for t in draft["t"])


def test_louder_steps_from_a_volume_a_client_sent_as_a_fraction() -> None:
    draft = photo_draft()
    draft["t"].append({"tt": 1, "sg": [{"id": "seg_9", "st": 0, "d": 5000, "m": {"volume": 0.4}}]})
    assert plan_and_apply(Director(), draft, "music louder") == [("set_bgm_volume", {"volume": 55})]
    assert drafts.summary(draft).endswith("(0-5s, 55%)")


def test_edits_keep_the_draft_consistent() -> None:
    director, draft = Director(), photo_draft()
    plan_and_apply(director, draft, 'bounce, 8 seconds, title "Hi", add music, 1:1')
    assert draft["d"] == 8000
    assert [t["tt"] for t in draft["t"]] == [0, 1, 7]
    durations = {t["tt"]: t["sg"][0]["d"] for t in draft["t"]}
    assert durations == {0: 8000, 1: 8000, 7: drafts.TITLE_MS}
    assert draft["m"] | {} == {"width": 1080, "height": 1080, "aspect": "1:1", "fps": 30}
    plan_and_apply(director, draft, "trim to 2 seconds")
    assert {t["tt"]: t["sg"][0]["d"] for t in draft["t"]} == {0: 2000, 1: 2000, 7: 2000}
    assert drafts.summary(draft) == (
        "Timeline (3 tracks): 1. Video: cat.jpg (0-2s, bounce, subtle) 2. BGM: Lo-fi (0-2s, 35%) "
        '3. Title: "Hi" (0-2s)'
    )
    settings = drafts.read_settings(draft)
    assert (settings.motion, settings.aspect, settings.duration, settings.title) == (
        "bounce",
        "1:1",
        2.0,
        "Hi",
    )
    assert settings.bgm
    assert settings.bgm_volume == pytest.approx(0.35)


def test_read_settings_tolerates_client_variants() -> None:
    draft = {
        "t": [
            {
                "tt": 0,
                "sg": [
                    {"start": 0, "duration": 4000, "m": {"media_id": "m_9", "intensity": "extreme"}}
                ],
            },
            {"tt": 1, "sg": [{"m": {"volume": 0.5}}]},
        ],
        "m": {"width": 1920, "height": 1080},
    }
    settings = drafts.read_settings(draft)
    assert settings.media_id == "m_9"
    assert settings.duration == 4.0
    assert settings.aspect == "16:9"
    assert settings.intensity == "subtle"  # unknown values fall back to the default
    assert settings.bgm_volume == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("message", "kind", "lang"),
    [
        ("hello", "greeting", "en"),
        ("你好", "greeting", "zh"),
        ("export 1080p MP4", "export", "en"),
        ("导出", "export", "zh"),
        ("show tracks", "status", "en"),
        ("what can you do?", "help", "en"),
        ("tell me a joke", "unknown", "en"),
        ("", "help", "en"),
    ],
)
def test_turns_that_edit_nothing(message: str, kind: str, lang: str) -> None:
    director = Director()
    plan = director.plan(message, draft=photo_draft())
    assert (plan.kind, plan.lang, plan.edits) == (kind, lang, ())
    answer = director.answer(plan, draft=photo_draft(), photo="cat.jpg")
    assert answer
    if kind in ("export", "status", "help", "unknown"):
        assert ("Export" in answer) or ("导出" in answer)


def test_replies_say_what_changed_and_the_next_step() -> None:
    director = Director()
    plan = director.plan("夸张弹跳3秒", draft=photo_draft())
    results = [drafts.apply_edit(photo_draft(), {}, e.name, e.args) for e in plan.edits]
    text = director.done(plan, results, has_photo=True)
    assert text.startswith("完成！")
    assert "夸张弹跳" in text
    assert "3秒" in text
    assert "点击导出" in text
    english = director.plan("square", draft=photo_draft())
    reply = director.done(
        english, [{"status": "ok", "aspect": "1:1", "width": 1080, "height": 1080}], has_photo=False
    )
    assert "1:1 (1080×1080)" in reply
    assert "Upload" in reply
