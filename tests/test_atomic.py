from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from skill._atomic import replacing, write_json


def test_write_json_replaces_the_file_with_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old", encoding="utf-8")
    write_json(target, {"name": "跳跳", "n": [1, 2]}, indent=1)
    assert json.loads(target.read_text(encoding="utf-8")) == {"name": "跳跳", "n": [1, 2]}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_write_json_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text('{"kept": true}', encoding="utf-8")
    with pytest.raises(TypeError):
        write_json(target, {"unserialisable": object()}, sync=False)
    assert json.loads(target.read_text(encoding="utf-8")) == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_replacing_moves_the_written_file_into_place(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    with replacing(target, suffix=".part") as temp:
        assert temp.parent == tmp_path
        assert temp.name.startswith(".clip.mp4.")
        assert temp.name.endswith(".part")
        temp.write_bytes(b"frames")
    assert target.read_bytes() == b"frames"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_replacing_removes_the_temporary_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"

    def encode_and_fail() -> None:
        with replacing(target) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("encoder stopped")

    with pytest.raises(RuntimeError, match="encoder stopped"):
        encode_and_fail()
    assert list(tmp_path.iterdir()) == []
