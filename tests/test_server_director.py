"""The director through the real local backend: understanding, replies, undo, and what it costs.

The phrasing sets in tests/data were written without looking at the director's tables (their
headers say how); every entry runs through a real server here, as scripts/director_eval.py
runs them, and must leave the draft it expects.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import repo_root
from tests.test_server import Api, backend_with, events, texts, write_photo

_SETS = ("director_phrasings", "director_heldout", "director_blind")


def _eval_module() -> ModuleType:
    """scripts/director_eval.py, the scorer the phrasing sets are written for."""
    path = repo_root() / "scripts" / "director_eval.py"
    spec = importlib.util.spec_from_file_location("director_eval", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


_EVAL = _eval_module()
_ENTRIES = {
    name: _EVAL.load_entries(repo_root() / "tests" / "data" / f"{name}.yaml") for name in _SETS
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[Any]]:
    """Every entry of every set through one real backend, scored."""
    return {name: _EVAL.run(entries, baseline)[0] for name, (baseline, entries) in _ENTRIES.items()}


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, e.index) for name, (_, entries) in _ENTRIES.items() for e in entries],
    ids=[f"{name}-{e.index}" for name, (_, entries) in _ENTRIES.items() for e in entries],
)
def test_every_phrasing_leaves_the_draft_it_asks_for(
    outcomes: dict[str, list[Any]], name: str, index: int
) -> None:
    outcome = outcomes[name][index]
    entry = outcome.entry
    assert outcome.passed, f"{entry.say!r}: {'; '.join(outcome.reasons)} (reply: {outcome.reply})"


def test_the_sets_cover_every_category_and_language() -> None:
    for _, entries in _ENTRIES.values():
        assert {e.category for e in entries} == set(_EVAL.CATEGORIES)
    everything = [e for _, entries in _ENTRIES.values() for e in entries]
    assert len(everything) >= 500
    assert {e.lang for e in everything} == {"en", "zh-Hans", "zh-Hant", "mixed"}


# -- over the wire ------------------------------------------------------------------------------


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    with backend_with(data_dir=tmp_path / "data") as backend:
        api = Api(backend).login()
        yield api, write_photo(tmp_path / "cat.jpg")
        api.close()


def _turn(api: Api, sid: str, text: str) -> tuple[str, Mapping[str, Any], list[str]]:
    """The closing text, the closing event's customMetadata, and the tool calls of a turn."""
    evs = events(api.chat(sid, text)[1])
    closing = [t for partial, t in texts(evs) if not partial][-1]
    meta = next(ev.get("customMetadata", {}) for ev in evs if ev.get("turnComplete"))
    calls = [
        p["functionCall"]["name"]
        for ev in evs
        for p in ev["content"]["parts"]
        if "functionCall" in p
    ]
    return closing, meta, calls


def _draft(api: Api, sid: str) -> Any:
    """The session's draft, less the media URLs (their port changes with a restart)."""

    def without_src(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_src(v) for k, v in value.items() if k != "src"}
        if isinstance(value, list):
            return [without_src(v) for v in value]
        return value

    return without_src(api.state(sid)["state"]["draft"])


@pytest.mark.parametrize(
    ("session", "message", "words", "never"),
    [
        ("en", "bounce strongly, 3 seconds", ["Done!", "strong bounce", "3 seconds"], ["已"]),
        ("zh", "夸张弹跳，三秒", ["完成！", "夸张弹跳", "3秒", "点击导出"], ["設定", "匯出"]),
        ("zh", "誇張彈跳，三秒", ["完成！", "誇張彈跳", "長度設為3秒", "點擊匯出"], ["设置"]),
        # Characters both scripts share: the session's script (zh-TW writes traditional).
        ("zh-TW", "三秒", ["長度設為3秒"], ["时长"]),
        ("zh-CN", "三秒", ["时长设为3秒"], ["長度"]),
    ],
)
def test_replies_come_back_in_the_users_language_and_script(
    wire: tuple[Api, Path], session: str, message: str, words: list[str], never: list[str]
) -> None:
    api, photo = wire
    sid = api.session(session)
    assert api.upload(sid, photo).status_code == 200
    closing, meta, calls = _turn(api, sid, message)
    for word in words:
        assert word in closing
    for word in never:
        assert word not in closing
    assert meta == {"jiggle": {"turn": "edit", "understood": True}}
    assert calls


def test_the_first_instruction_is_acknowledged_as_what_the_photo_now_does(
    wire: tuple[Api, Path],
) -> None:
    api, photo = wire
    sid = api.session()
    api.upload(sid, photo)
    before = _draft(api, sid)
    closing, _, calls = _turn(api, sid, "make this image jiggle with a subtle looping motion")
    assert closing.startswith("Your photo now jiggles gently, looping seamlessly.")
    assert "Done" not in closing
    assert "already" not in closing
    assert calls == []  # nothing to change, nothing claimed
    assert _draft(api, sid) == before


@pytest.mark.parametrize(
    ("message", "turn", "words"),
    [
        ("make her smile", "cannot", ["can't change faces", "I can"]),
        ("把背景换成海边", "cannot", ["无法去掉或更换背景", "我可以"]),
        ("rends la vidéo carrée", "unknown", ["didn't understand", "I can animate"]),
        ("add a title", "question", ["What should the title say?"]),
    ],
)
def test_what_it_cannot_do_is_said_plainly_changes_nothing_and_costs_nothing(
    wire: tuple[Api, Path], message: str, turn: str, words: list[str]
) -> None:
    api, photo = wire
    sid = api.session()
    api.upload(sid, photo)
    before, credits = _draft(api, sid), api.credits()["available"]
    closing, meta, calls = _turn(api, sid, message)
    for word in words:
        assert word in closing
    assert meta == {"jiggle": {"turn": turn, "understood": False}}
    assert calls == []
    assert _draft(api, sid) == before
    assert api.credits()["available"] == credits
    _turn(api, sid, "bounce")  # an edit it acts on costs the chat credit
    assert api.credits()["available"] == credits - 1


def test_undo_and_redo_restore_the_draft_exactly_and_survive_a_restart(tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "cat.jpg")
    with backend_with(data_dir=tmp_path / "data") as backend:
        api = Api(backend).login()
        sid = api.session()
        api.upload(sid, photo)
        drafts = [_draft(api, sid)]
        for message in ("bounce strongly", 'title "Hi", 8 seconds', "square and add music"):
            _turn(api, sid, message)
            drafts.append(_draft(api, sid))
        closing, _, calls = _turn(api, sid, "undo")
        assert calls == ["undo"]
        assert closing.startswith("Undone:")
        assert _draft(api, sid) == drafts[2]
        token = api.token
        api.close()
    with backend_with(data_dir=tmp_path / "data") as backend:  # the history is on disk
        api = Api(backend)
        api.token = token
        _turn(api, sid, "undo twice")
        assert _draft(api, sid) == drafts[0]
        closing, _, _ = _turn(api, sid, "undo")
        assert closing.startswith("There's nothing to undo yet.")
        _turn(api, sid, "redo")
        assert _draft(api, sid) == drafts[1]
        _turn(api, sid, "撤销")
        assert _draft(api, sid) == drafts[0]
        _turn(api, sid, "重做")
        assert _draft(api, sid) == drafts[1]
        _turn(api, sid, "make it wobble")  # a new edit: what was undone cannot come back
        closing, _, _ = _turn(api, sid, "redo")
        assert closing.startswith("There's nothing to redo.")
        api.close()
