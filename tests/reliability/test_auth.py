"""Accounts and tokens (issue 11, items 2 and 7): a render stays with the account that made it,
the token cache is shared safely by processes, and a token that cannot be sent or saved is
said plainly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from skill.client import NemoClient, RenderJob
from skill.errors import RenderAccountUnavailable
from skill.local.server import LocalBackend
from skill.paths import config_dir
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS, repo_root

EDIT = "make it bounce for 1 second"


@pytest.fixture
def backend() -> Iterator[LocalBackend]:
    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "tokens_per_client": None, "tokens_per_ip": None}
    with LocalBackend(**knobs) as server:
        yield server


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "cat.png"
    picture = Image.new("RGB", (160, 160), "navy")
    picture.paste("orange", (50, 40, 110, 130))
    picture.save(path)
    return path


def _submitted(client: NemoClient, photo: Path) -> RenderJob:
    session = client.create_session()
    client.upload(session, [photo])
    list(client.stream_chat(session, EDIT))
    return client.export(session)


def _jiggle(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skill", *args],
        env=env,
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _env(backend: LocalBackend | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEMO_TOKEN"}
    if backend is not None:
        env["NEMO_API_BASE"] = backend.base_url
    env.update(extra)
    return env


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_a_1001_while_polling_keeps_the_render_and_jiggle_resume_downloads_it(
    backend: LocalBackend, photo: Path, tmp_path: Path
) -> None:
    with NemoClient(backend.base_url, sleep=lambda s: None, poll_interval=0.05) as client:
        job = _submitted(client, photo)
        owner = client.tokens.load(backend.base_url)
        assert owner is not None
        assert job.owner_user_id == owner.user_id
        assert job.owner_token_id
        assert job.owner_token_id not in owner.token
        backend.inject("1001@poll*2")
        with pytest.raises(RenderAccountUnavailable) as caught:
            client.wait(job)
    message = caught.value.human()
    assert job.id in message
    assert f"jiggle resume {job.id}" in message
    assert caught.value.exit_code == 3
    # The job file names the account, never the token.
    jobs_file = client.jobs.path.read_text()
    assert owner.user_id
    assert owner.user_id in jobs_file
    assert owner.token not in jobs_file

    out = tmp_path / "resumed.mp4"
    done = _jiggle("resume", job.id, "-o", str(out), "--json", env=_env(backend))
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(e["event"] == "result" for e in _events(done.stdout))
    assert out.stat().st_size > 1000
    assert client.jobs.get(job.id) is None


def test_a_render_whose_account_token_is_dead_says_so_and_no_new_account_is_made(
    backend: LocalBackend, photo: Path
) -> None:
    with NemoClient(backend.base_url, sleep=lambda s: None, poll_interval=0.05) as client:
        job = _submitted(client, photo)
        backend.inject("expire-token@poll")
        with pytest.raises(RenderAccountUnavailable) as first:
            client.wait(job)
        assert first.value.details["why"] == "refused"
        # The next try (a `jiggle resume`) says the same and spends no new anonymous token.
        store = backend._service.store if backend._service else None
        assert store is not None
        tokens_before = len(store.tokens)
        with (
            NemoClient(backend.base_url, sleep=lambda s: None) as later,
            pytest.raises(RenderAccountUnavailable) as again,
        ):
            later.resume(job.id)
        assert len(store.tokens) == tokens_before
    assert "can't be renewed for the same account" in again.value.human()
    assert "export the project again" in again.value.human()
    assert job.id in again.value.human("zh")


def test_a_render_polled_by_a_later_process_uses_its_own_account(
    backend: LocalBackend, photo: Path
) -> None:
    """Another account became the one in use (a 1001 elsewhere renewed it): the render is
    still polled and fetched with the token of the account that made it."""
    with NemoClient(backend.base_url, sleep=lambda s: None, poll_interval=0.05) as client:
        job = _submitted(client, photo)
        backend.inject("1001@credits")
        client.credits()  # renews the token in use: a new anonymous account
        assert client._user_id != job.owner_user_id
    with NemoClient(backend.base_url, sleep=lambda s: None, poll_interval=0.05) as later:
        resumed = later.wait(later.resume(job.id))
        assert resumed.status == "completed"


def test_two_first_runs_at_once_share_one_anonymous_account(
    backend: LocalBackend, tmp_path: Path
) -> None:
    store = backend._service.store if backend._service else None
    assert store is not None
    # Sign-in is slowed down (a 429 waited out by the first process), so the second starts
    # while the first is still signing in.
    backend.inject("429=1@auth*2")
    env = _env(backend, NEMO_CONFIG_DIR=str(tmp_path / "config"))
    command = [sys.executable, "-m", "skill", "credits", "--json"]
    runs = [
        subprocess.Popen(
            command, env=env, cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, out + err
    assert len(store.tokens) == 1  # one anonymous account, reused by both
    cache = json.loads((tmp_path / "config" / "jiggle-token.json").read_text())
    assert len(cache["tokens"]) == 1
    assert sum(len(ids) for ids in cache["accounts"].values()) == 1


def test_a_non_ascii_nemo_token_is_refused_before_any_request(backend: LocalBackend) -> None:
    store = backend._service.store if backend._service else None
    assert store is not None
    run = _jiggle("credits", "--json", env=_env(backend, NEMO_TOKEN="nmv_usr_tökén"))
    assert run.returncode == 3
    assert "Traceback" not in run.stderr + run.stdout
    (error,) = [e for e in _events(run.stdout) if e["event"] == "error"]
    assert error["code"] == "bad_token"
    assert "NEMO_TOKEN" in error["text"]
    assert len(store.tokens) == 0  # nothing was sent, not even a sign-in


def _read_only_config(tmp_path: Path) -> Path:
    folder = tmp_path / "ro-config"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        return folder  # not root: the permission holds
    (folder / "probe").unlink()
    folder.chmod(0o755)
    # Root writes anywhere: a folder that cannot be made (its parent is a file) stands in.
    parent = tmp_path / "a-file"
    parent.write_text("")
    return parent / "config"


def test_a_read_only_config_folder_is_named_when_the_token_cannot_be_saved(
    backend: LocalBackend, tmp_path: Path
) -> None:
    folder = _read_only_config(tmp_path)
    (tmp_path / "data-parent").mkdir()
    data = _read_only_config(tmp_path / "data-parent")  # nowhere else to keep it either
    env = _env(backend, NEMO_CONFIG_DIR=str(folder), JIGGLE_DATA_DIR=str(data))
    run = _jiggle("credits", "--json", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    warnings = [e for e in _events(run.stdout) if e.get("code") == "token_not_saved"]
    assert warnings, run.stdout
    assert str(folder) in warnings[0]["text"]
    assert "could not be saved" in warnings[0]["text"]
    assert config_dir() != folder
