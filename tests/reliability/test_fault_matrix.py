"""Every fault of the local backend's grammar, at every endpoint it applies to, through the
Python API. Before the export (token, session, upload, chat, credits, state) the edit lands once
or the error is clear; from the export on (export, poll, download) the main job saves a video
that decodes, or fails with a clear error and nothing at the final path, never charged twice;
a cancel that meets a fault never loses the render.

One real backend serves the whole matrix; each case arms its one fault with a fresh client
(its own anonymous account, so credits are counted per case), then disarms what did not fire.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from skimage import data as samples

from skill.client import NemoClient
from skill.client.jobs import JobStore
from skill.errors import JiggleError
from skill.local.server import FAULT_NAMES, LocalBackend
from skill.local.server.faults import _APPLIES_TO
from skill.mcp.api import CallFailed, Jiggle
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

# Values for the faults that take one, small enough to keep the matrix fast.
_VALUES = {"429": "0", "sse-cut": "1", "sse-stall": "1", "download-cut": "4096"}
# What the user must get for each fault: a video, or this error code.
_FAILS_WITH = {
    "2001": "out_of_credits",
    "4001": "unsupported_file",
    "4002": "file_too_large",
    "402": "export_blocked_by_plan",
    "render-fail": "render_failed",
}
_CASES = [(name, endpoint) for name in FAULT_NAMES for endpoint in _APPLIES_TO[name]]
_BEFORE = [c for c in _CASES if c[1] in ("auth", "session", "chat", "upload", "credits", "state")]
_EXPORT = [c for c in _CASES if c[1] in ("export", "poll", "download")]
_CANCEL = [c for c in _CASES if c[1] == "cancel"]
assert len(_BEFORE) + len(_EXPORT) + len(_CANCEL) == len(_CASES)  # every case, once


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "tokens_per_client": None, "tokens_per_ip": None}
    with LocalBackend(data_dir=tmp_path_factory.mktemp("matrix-data"), **knobs) as server:
        yield server


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("matrix-photo") / "cat.jpg"
    picture = Image.fromarray(samples.chelsea())  # type: ignore[no-untyped-call]
    picture.thumbnail((240, 240))
    picture.save(path)
    return path


def _decodes(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return frames[0].width, frames[0].height, len(frames)


def _renders_of(backend: LocalBackend) -> dict[str, Any]:
    service = backend._service
    assert service is not None
    return dict(service.store.renders)


def _outcome(
    call: Any,
) -> tuple[list[Any], list[str], list[str]]:
    """The videos, error codes and messages of a Python API call."""
    try:
        result = call()
    except CallFailed as failed:
        return [], [failed.code], [failed.message]
    videos = list(getattr(result, "videos", []))
    failures = list(getattr(result, "failures", []))
    return videos, [f.code for f in failures], [f.message for f in failures]


def _arm(backend: LocalBackend, fault: str, endpoint: str) -> None:
    value = _VALUES.get(fault)
    backend.clear_faults()
    backend.inject(f"{fault}{'=' + value if value else ''}@{endpoint}")


def _clean(codes: list[str], messages: list[str], fault: str, succeeded: bool) -> None:
    """A failure is a clear error: its expected code, never a bug, never a traceback."""
    for message in messages:
        assert message.strip()
        assert "Traceback" not in message
    assert "bug" not in codes
    expected = _FAILS_WITH.get(fault)
    if expected is not None and not succeeded:
        assert codes == [expected], messages
    if not succeeded:
        assert codes, "no result and no error"


@pytest.mark.parametrize(("fault", "endpoint"), _BEFORE, ids=[f"{f}@{e}" for f, e in _BEFORE])
def test_a_fault_before_the_export_is_recovered_or_fails_cleanly(
    backend: LocalBackend, photo: Path, tmp_path: Path, fault: str, endpoint: str
) -> None:
    """Up to the edit (token, session, upload, chat, credits, state): the edit lands exactly
    once, or the error is clear. The export after it is the happy path, timed below."""
    _arm(backend, fault, endpoint)
    api = Jiggle(
        backend="local", base_url=backend.base_url, output_dir=tmp_path, poll_interval=0.05
    )
    try:
        _, codes, messages = _outcome(lambda: api.chat("make it bounce for 1 second", [photo]))
        sessions = api.state().sessions
    finally:
        api.close()
        backend.clear_faults()
    edited = [s for s in sessions if "bounce" in (s.summary or "")]
    _clean(codes, messages, fault, bool(edited))
    for session in edited:
        assert "0-1s" in (session.summary or "")  # the one edit, applied once


@pytest.mark.parametrize(("fault", "endpoint"), _EXPORT, ids=[f"{f}@{e}" for f, e in _EXPORT])
def test_a_fault_from_the_export_on_saves_the_video_or_fails_cleanly(
    backend: LocalBackend, photo: Path, tmp_path: Path, fault: str, endpoint: str
) -> None:
    """Export, poll, download: the whole main job, photo to MP4."""
    out = tmp_path / "videos"
    before = set(_renders_of(backend))
    _arm(backend, fault, endpoint)
    api = Jiggle(backend="local", base_url=backend.base_url, output_dir=out, poll_interval=0.05)
    try:
        videos, codes, messages = _outcome(
            lambda: api.animate([photo], "make it bounce for 1 second")
        )
        credits = api.credits().available or 0
    finally:
        api.close()
        backend.clear_faults()
    _clean(codes, messages, fault, bool(videos))
    if videos:
        (video,) = videos
        assert Path(video.path).parent == out
        width, height, frames = _decodes(Path(video.path))
        assert (width, height) == (1080, 1920)
        assert frames >= 20
    else:
        assert not (out.exists() and list(out.glob("*.mp4")))
    # Nothing is charged twice: one render at most for this one photo, besides a failed one
    # (its credits given back) that was resubmitted once with a new id (issue 12, item 8).
    new_renders = [r for rid, r in _renders_of(backend).items() if rid not in before]
    assert len([r for r in new_renders if r.status != "failed"]) <= 1
    assert len(new_renders) <= 2
    assert 100 - credits <= 10 + 5  # one export and a few chat turns at most


@pytest.mark.parametrize(("fault", "endpoint"), _CANCEL, ids=[f"{f}@{e}" for f, e in _CANCEL])
def test_a_fault_on_cancel_keeps_the_render_known(
    backend: LocalBackend, photo: Path, tmp_path: Path, fault: str, endpoint: str
) -> None:
    """A cancel that meets a fault is retried or fails clearly; the render is never lost:
    the client still knows it, and its credits come back once it is cancelled."""
    client = NemoClient(base_url=backend.base_url, jobs=JobStore(tmp_path / "jobs.json"))
    try:
        session = client.create_session()
        client.upload(session, [photo])
        job = client.export(session)
        _arm(backend, fault, endpoint)
        failures: list[JiggleError] = []
        cancelled = None
        for _ in range(2):  # the user tries again once
            try:
                cancelled = client.cancel(job)
                break
            except JiggleError as error:
                failures.append(error)
                backend.clear_faults()
        for failure in failures:
            assert failure.code != "bug"
            assert "Traceback" not in failure.human("en")
        if cancelled is not None:
            assert cancelled.status in ("cancelled", "completed")
        else:  # the account's token is gone for good: the render is still known, to resume
            assert [j.id for j in JobStore(tmp_path / "jobs.json").list()] == [job.id]
    finally:
        client.close()
        backend.clear_faults()
