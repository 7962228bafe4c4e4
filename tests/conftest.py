"""Shared fixtures. Every test runs with its own config and data dirs, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("NEMO_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("JIGGLE_DATA_DIR", str(home / "data"))
    monkeypatch.delenv("NEMO_TOKEN", raising=False)
    monkeypatch.delenv("NEMO_API_BASE", raising=False)
    monkeypatch.delenv("SKILL_SOURCE", raising=False)
    monkeypatch.delenv("JIGGLE_BACKEND", raising=False)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
