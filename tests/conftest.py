"""Shared fixtures. Every test runs with its own config and data dirs, never the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from skill.local.server import LocalBackend


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


# The local backend, tuned for tests: fast heartbeats, 2-second drafts (short renders).
LOCAL_BACKEND_TEST_KNOBS: dict[str, Any] = {"heartbeat_interval": 0.05, "default_duration": 2.0}


@pytest.fixture
def local_backend() -> Iterator[LocalBackend]:
    """A fresh LocalBackend (empty state, no faults) for one test."""
    from skill.local.server import LocalBackend

    with LocalBackend(**LOCAL_BACKEND_TEST_KNOBS) as backend:
        yield backend


@pytest.fixture(scope="module")
def local_backend_module() -> Iterator[LocalBackend]:
    """One LocalBackend shared by a test module (no token cap); clear faults you inject."""
    from skill.local.server import LocalBackend

    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "tokens_per_client": None, "tokens_per_ip": None}
    with LocalBackend(**knobs) as backend:
        yield backend
