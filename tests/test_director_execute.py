"""The director's plans run on a real draft: arithmetic, limits, tool calls, the history."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.local.server import draft as drafts
from skill.local.server.director import Director, Outcome, Plan, Step, Workspace


def session(seconds: float = 5.0, *, photo: bool = True) -> Workspace:
    return Workspace.with_photo(seconds, photo=photo)


def run(target: Workspace, message: str) -> Outcome:
    director = Director()
    return director.execute(director.plan(message), target)


def state(target: Workspace) -> tuple[dict[str, Any], dict[str, Any]]:
    return copy.deepcopy(target.draft), copy.deepcopy(target.style)


def duration(target: Workspace) -> float:
    return drafts.read_settings(target.draft).duration


# -- relative arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "message", "end"),
    [
        (4.0, "one more second", 5.0),
        (8.0, "half as long", 4.0),
        (3.0, "twice as long", 6.0),
        (5.0, "2 seconds longer", 7.0),
        (5.0, "make it 2 seconds shorter", 3.0),
        (6.0, "triple the length", 18.0),
        (5.0, "再加长两秒", 7.0),
        (5.0, "set it to 9 seconds", 9.0),
        (5.0, "half a minute", 30.0),
    ],
)
def test_length_arithmetic(start: float, message: str, end: float) -> None:
    target = session(start)
    outcome = run(target, message)
    assert duration(target) == end
    assert outcome.after.duration == end
    assert outcome.before.duration == start
    assert [e.name for e in outcome.edits] == ["set_duration"]


def test_longer_without_a_number_adds_a_step() -> None:
    target = session(4.0)
    run(target, "longer")
    assert duration(target) > 4.0


def test_louder_raises_the_volume() -> None:
    target = session()
    run(target, "add music")
    before = Director.look(target).volume
    outcome = run(target, "louder")
    assert outcome.after.volume > before
    assert [e.name for e in outcome.edits] == ["set_bgm_volume"]
    quieter = run(target, "quieter")
    assert quieter.after.volume < outcome.after.volume


def test_louder_without_music_adds_music_above_the_default() -> None:
    target = session()
    outcome = run(target, "louder")
    assert outcome.after.music
    assert outcome.after.volume > drafts.DEFAULT_VOLUME
    assert [e.name for e in outcome.edits] == ["add_bgm"]


def test_intensity_steps_up_and_down() -> None:
    target = session()
    assert run(target, "stronger").after.intensity == "medium"
    assert run(target, "stronger").after.intensity == "strong"
    assert run(target, "stronger").edits == []  # already the strongest
    assert run(target, "tone it down").after.intensity == "medium"


# -- limits --------------------------------------------------------------------------------------


def test_a_huge_length_is_clamped_to_the_longest() -> None:
    target = session()
    outcome = run(target, "make it 1000 seconds")
    assert duration(target) == drafts.MAX_MS / 1000
    assert outcome.limited == "longest"
    assert outcome.edits[0].args == {"seconds": drafts.MAX_MS / 1000}


def test_a_tiny_length_is_clamped_to_the_shortest() -> None:
    target = session()
    outcome = run(target, "0.1 seconds")
    assert duration(target) == drafts.MIN_MS / 1000
    assert outcome.limited == "shortest"


def test_shortening_below_the_minimum_stops_at_the_shortest() -> None:
    target = session(2.0)
    outcome = run(target, "10 seconds shorter")
    assert duration(target) == drafts.MIN_MS / 1000
    assert outcome.limited == "shortest"


def test_volume_stays_between_0_and_100() -> None:
    target = session()
    run(target, "music at 90%")
    for _ in range(3):
        run(target, "louder")
    assert Director.look(target).volume == 100
    run(target, "volume 5%")
    run(target, "quieter")
    assert Director.look(target).volume == 0


# -- what changes, in what order -----------------------------------------------------------------


@pytest.mark.parametrize("message", ["jiggle", "5 seconds", "vertical", "loop it", "no title"])
def test_an_edit_that_changes_nothing_makes_no_call_and_no_history(message: str) -> None:
    target = session(5.0)
    start = state(target)
    outcome = run(target, message)
    assert outcome.edits == []
    assert outcome.results == []
    assert not outcome.changed
    assert target.undo == []
    assert state(target) == start


def test_edit_order_is_canonical() -> None:
    target = session()
    outcome = run(target, 'add music, title "Hi", square, 7 seconds, bounce strongly')
    assert [e.name for e in outcome.edits] == [
        "apply_motion",
        "set_duration",
        "set_aspect_ratio",
        "set_title",
        "add_bgm",
    ]
    assert outcome.edits[0].args == {"motion": "bounce", "intensity": "strong", "loop": True}
    assert len(outcome.results) == len(outcome.edits)
    assert all(r["status"] == "ok" for r in outcome.results)
    assert len(target.undo) == 1  # one turn, one history entry


def test_order_does_not_depend_on_word_order() -> None:
    a, b = session(), session()
    first = run(a, "square and 7 seconds and jelly")
    second = run(b, "jelly, 7 seconds, square")
    assert [e.name for e in first.edits] == [e.name for e in second.edits]
    assert a.draft == b.draft


def test_keep_steps_are_reported_not_applied() -> None:
    target = session()
    outcome = run(target, "not bounce, wobble")
    assert outcome.after.motion == "wobble"
    assert outcome.kept == ["motion"]


def test_motion_without_a_photo_is_kept_in_the_style() -> None:
    target = session(photo=False)
    outcome = run(target, "bounce")
    assert target.style["motion"] == "bounce"
    assert outcome.results[0]["status"] == "pending"
    assert outcome.after.photo is None
    assert outcome.after.motion == "bounce"


def test_music_uses_the_uploaded_audio() -> None:
    target = session()
    director = Director()
    outcome = director.execute(director.plan("add music"), target, audio=("a_9", "song.mp3"))
    assert outcome.edits[0].args == {
        "volume": drafts.DEFAULT_VOLUME,
        "media_id": "a_9",
        "name": "song.mp3",
    }


# -- undo, redo, restore -------------------------------------------------------------------------


def test_undo_and_redo() -> None:
    target = session()
    start = state(target)
    run(target, "bounce")
    bounced = state(target)
    run(target, "square")
    squared = state(target)
    undone = run(target, "undo")
    assert undone.history == "undone"
    assert state(target) == bounced
    assert run(target, "undo").history_steps == 1
    assert state(target) == start
    assert run(target, "undo").history == "nothing_to_undo"
    assert state(target) == start
    assert run(target, "redo twice").history_steps == 2
    assert state(target) == squared
    assert run(target, "redo").history == "nothing_to_redo"


def test_undo_with_a_count() -> None:
    target = session()
    start = state(target)
    for message in ("bounce", "square", "7 seconds"):
        run(target, message)
    outcome = run(target, "撤销三步")
    assert outcome.history_steps == 3
    assert state(target) == start
    assert len(target.redo) == 3


def test_undo_more_than_the_history_stops_at_the_start() -> None:
    target = session()
    start = state(target)
    run(target, "bounce")
    outcome = run(target, "undo 3 times")
    assert outcome.history_steps == 1
    assert state(target) == start


def test_restore_redoes_after_an_undo_else_undoes() -> None:
    target = session()
    start = state(target)
    run(target, "jelly")
    jelly = state(target)
    run(target, "撤销")
    assert run(target, "恢复").history == "redone"
    assert state(target) == jelly
    assert run(target, "恢复").history == "undone"
    assert state(target) == start


def test_a_new_edit_clears_the_redo_history() -> None:
    target = session()
    run(target, "bounce")
    run(target, "undo")
    assert target.redo
    run(target, "square")
    assert target.redo == []
    assert run(target, "redo").history == "nothing_to_redo"


def test_an_unchanged_edit_keeps_the_redo_history() -> None:
    target = session()
    run(target, "bounce")
    run(target, "undo")
    run(target, "5 seconds")  # already 5 seconds
    assert run(target, "redo").history == "redone"


# -- properties ----------------------------------------------------------------------------------

EDITS = [
    "bounce", "wobble strongly", "jelly", "jiggle gently", "make it bounce!!!", "square",
    "widescreen", "vertical", "play once", "loop it", "3 seconds", "2 seconds longer",
    "make it shorter", "twice as long", "half as long", "add music", "remove the music",
    "louder", "quieter", "music at 20%", 'title "Sale"', "title: Hello There", "no title",
    "stronger", "tone it down", "不要弹跳，要摇摆", "十秒", "加背景音乐", "標題「夏日」",
    "make it 1000 seconds", "not bounce, wobble", "bounce and export",
]  # fmt: skip

SET_ONLY = [m for m in EDITS if all(s.op == "set" for s in Director().plan(m).steps)]


def test_the_set_only_list_is_not_empty() -> None:
    assert len(SET_ONLY) >= 10


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), min_size=1, max_size=8), st.booleans())
def test_undo_as_many_times_restores_the_start(messages: list[str], photo: bool) -> None:
    target = session(photo=photo)
    start = state(target)
    for message in messages:
        run(target, message)
    for _ in messages:
        run(target, "undo")
    assert state(target) == start
    assert target.undo == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), max_size=4), st.sampled_from(EDITS))
def test_undo_then_redo_gives_back_the_edit(history: list[str], message: str) -> None:
    target = session()
    for earlier in history:
        run(target, earlier)
    before = state(target)
    outcome = run(target, message)
    after = state(target)
    run(target, "undo")
    if outcome.changed:
        assert state(target) == before
    run(target, "redo")
    assert state(target) == after


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), max_size=4), st.sampled_from(SET_ONLY))
def test_set_plans_are_idempotent(history: list[str], message: str) -> None:
    target = session()
    for earlier in history:
        run(target, earlier)
    director = Director()
    plan: Plan = director.plan(message)
    assert all(step.op == "set" for step in plan.steps)
    director.execute(plan, target)
    once = state(target)
    undo_depth = len(target.undo)
    again = director.execute(plan, target)
    assert again.edits == []
    assert not again.changed
    assert state(target) == once
    assert len(target.undo) == undo_depth


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), min_size=1, max_size=6))
def test_each_changing_turn_adds_one_history_entry(messages: list[str]) -> None:
    target = session()
    changed = 0
    for message in messages:
        changed += run(target, message).changed
        assert len(target.undo) == changed
    assert drafts.MIN_MS / 1000 <= duration(target) <= drafts.MAX_MS / 1000


def test_step_values_are_plain_data() -> None:
    step = Director().plan("2 seconds longer").steps[0]
    assert step == Step("duration", "increase", 2.0)
