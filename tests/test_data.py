from __future__ import annotations

import sys
from pathlib import Path

import pytest

from skill._data import load_yaml


def test_load_yaml_reads_a_packaged_table_once() -> None:
    first = load_yaml("skill", "data/errors.yaml")
    assert "_phrases" in first
    assert load_yaml("skill", "data/errors.yaml") is first


def test_load_yaml_refuses_a_table_that_is_not_a_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "listtable"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "table.yaml").write_text("- one\n- two\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(TypeError, match=r"listtable/table\.yaml holds list"):
            load_yaml("listtable", "table.yaml")
    finally:
        sys.modules.pop("listtable", None)
