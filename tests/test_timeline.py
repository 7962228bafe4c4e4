"""The draft's short keys as a Timeline, and its summary in the seed's exact format."""

from __future__ import annotations

from typing import Any

import pytest

from skill.timeline import Timeline

SEED_DRAFT: dict[str, Any] = {
    "t": [
        {"tt": 0, "sg": [{"id": "v1", "st": 0, "d": 10000, "m": {"title": "city timelapse"}}]},
        {"tt": 1, "sg": [{"id": "a1", "st": 0, "d": 10000, "m": {"name": "Lo-fi", "volume": 35}}]},
        {"tt": 7, "sg": [{"id": "t1", "st": 0, "d": 3000, "m": {"text": "Urban Dreams"}}]},
    ],
    "d": 10000,
}
SEED_SUMMARY = (
    "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
    '3. Title: "Urban Dreams" (0-3s)'
)


def test_summary_is_the_seeds_example_exactly() -> None:
    assert Timeline.from_draft(SEED_DRAFT).summary() == SEED_SUMMARY


def test_summary_in_chinese() -> None:
    text = Timeline.from_draft(SEED_DRAFT).summary("zh")
    assert text.startswith("时间线（3 条轨道）：")
    assert "1. 视频：city timelapse（0-10秒）" in text
    assert "2. 背景音乐：Lo-fi（0-10秒，35%）" in text
    assert "3. 标题：“Urban Dreams”（0-3秒）" in text


def test_design_draft_shows_motion_and_fractional_volume() -> None:
    draft = {
        "t": [
            {
                "tt": 0,
                "sg": [
                    {
                        "id": "seg_1",
                        "st": 0,
                        "d": 5000,
                        "m": {
                            "name": "cat.jpg",
                            "motion": "bounce",
                            "intensity": "strong",
                            "loop": True,
                        },
                    }
                ],
            },
            {
                "tt": 1,
                "sg": [
                    {
                        "id": "seg_2",
                        "start": 500,
                        "duration": 4500,
                        "m": {"name": "Lo-fi", "volume": 0.4},
                    }
                ],
            },
        ],
        "d": 5000,
        "m": {"width": 1080, "height": 1920, "aspect": "9:16"},
    }
    timeline = Timeline.from_draft(draft)
    assert timeline.summary() == (
        "Timeline (2 tracks): 1. Video: cat.jpg (0-5s, bounce, strong, loop) "
        "2. BGM: Lo-fi (0.5-5s, 40%)"
    )
    assert timeline.tracks[0].segments[0].volume_percent is None
    assert timeline.tracks[1].segments[0].volume_percent == 40


@pytest.mark.parametrize(
    "draft",
    [None, {}, [], "draft", {"t": None}, {"t": "x"}, {"t": [None, 3, {"sg": "no"}]}],
)
def test_empty_or_malformed_drafts_summarise_without_failing(draft: Any) -> None:
    timeline = Timeline.from_draft(draft)
    assert timeline.summary().startswith("Timeline (")
    assert timeline.summary("zh").startswith("时间线")


def test_odd_fields_are_tolerated() -> None:
    draft = {
        "t": [
            {
                "tt": "0",
                "sg": [{"st": "1000", "m": {"src": "https://cdn.example/a/b/dog.png?x=1"}}],
            },
            {"tt": 9, "sg": [{"d": True, "m": "not a mapping"}]},
            {"sg": [{"id": 7, "e": 2000}]},
        ],
        "d": "4000",
    }
    timeline = Timeline.from_draft(draft)
    first = timeline.tracks[0].segments[0]
    assert (first.start_ms, first.duration_ms, first.name) == (1000, 3000, "dog.png")
    assert timeline.tracks[1].kind == "other"
    assert timeline.tracks[2].segments[0].end_ms == 2000
    assert timeline.summary() == (
        "Timeline (3 tracks): 1. Video: dog.png (1-4s) 2. Track: untitled (0-4s) "
        "3. Track: untitled (0-2s)"
    )


def test_one_track_is_singular() -> None:
    draft = {"t": [{"tt": 7, "sg": [{"st": 0, "d": 2500, "m": {"text": "Hi"}}]}]}
    assert Timeline.from_draft(draft).summary() == 'Timeline (1 track): 1. Title: "Hi" (0-2.5s)'


def test_changes_since_lists_added_changed_and_removed() -> None:
    before = Timeline.from_draft(SEED_DRAFT)
    after_draft: dict[str, Any] = {
        "t": [
            {
                "tt": 0,
                "sg": [
                    {
                        "id": "v1",
                        "st": 0,
                        "d": 10000,
                        "m": {"title": "city timelapse", "motion": "jiggle"},
                    }
                ],
            },
            {"tt": 7, "sg": [{"id": "t2", "st": 0, "d": 2000, "m": {"text": "New"}}]},
        ],
        "d": 10000,
    }
    changes = Timeline.from_draft(after_draft).changes_since(before)
    described = [c.describe() for c in changes]
    assert described == [
        "Video city timelapse: motion none → jiggle",
        'added Title: "New" (0-2s)',
        "removed BGM: Lo-fi",
        'removed Title: "Urban Dreams"',
    ]
    assert changes[0].describe("zh") == "视频 city timelapse：动效 无 → 抖动"


def test_no_changes_between_equal_timelines() -> None:
    timeline = Timeline.from_draft(SEED_DRAFT)
    assert timeline.changes_since(Timeline.from_draft(SEED_DRAFT)) == []
