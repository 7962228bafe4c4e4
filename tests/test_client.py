"""NemoClient against the real local backend over HTTP: every method, error code and fault."""

from __future__ import annotations

import itertools
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.client import NemoClient, Session
from skill.errors import (
    BackendUnreachable,
    ConnectionLost,
    ExportBlockedByPlan,
    FileTooLarge,
    JiggleError,
    OutOfCredits,
    RateLimited,
    RenderFailed,
    ServerError,
    StreamError,
    TokenExpired,
    UnsupportedFile,
)
from skill.local.server import LocalBackend

EDIT = "make this image jiggle and bounce with a subtle looping motion"


class Sleeps:
    """An injected sleep that records what it was asked to wait and waits nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def backend(local_backend_module: LocalBackend) -> Iterator[LocalBackend]:
    local_backend_module.clear_faults()
    yield local_backend_module
    local_backend_module.clear_faults()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(backend: LocalBackend, sleeps: Sleeps) -> Iterator[NemoClient]:
    with NemoClient(backend.base_url, sleep=sleeps, stream_read_timeout=1.0) as c:
        yield c


@pytest.fixture
def sound(tmp_path: Path) -> Path:
    """A short WAV made here: an accepted upload that needs no image decoder."""
    import wave

    path = tmp_path / "beep.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 8000)
    return path


def test_anonymous_token_is_fetched_cached_private_and_reused(
    backend: LocalBackend, client: NemoClient
) -> None:
    client.ensure_token()
    cache = client.tokens.path
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    cached = client.tokens.load(backend.base_url)
    assert cached is not None
    assert cached.user_id
    assert cached.user_id.startswith("anon_")
    with NemoClient(backend.base_url) as second:
        second.ensure_token()
        assert second._token == cached.token  # reused, not a new anonymous token
    assert "nmv" not in repr(client)
    assert cached.token not in repr(client)


def test_user_token_from_the_environment_is_used_and_never_replaced(
    backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEMO_TOKEN", "nmv_usr_notknownbythebackend")
    with NemoClient(backend.base_url) as client, pytest.raises(TokenExpired) as caught:
        client.credits()
    assert "NEMO_TOKEN" in caught.value.human()
    assert caught.value.details["user_token"] is True
    assert not client.tokens.path.exists()


def test_session_credits_and_empty_state(client: NemoClient) -> None:
    session = client.create_session(language="zh")
    assert (session.language, bool(session.id), bool(session.task_id)) == ("zh", True, True)
    credits = client.credits()
    assert credits.total == credits.available + credits.frozen
    assert credits.available > 0
    state = client.state(session)
    assert state.session_id == session.id
    assert state.canvas
    assert state.timeline.summary().startswith("Timeline (")


def test_chat_turn_streams_text_once(client: NemoClient) -> None:
    session = client.create_session()
    events = list(client.stream_chat(session, "hello, what can you do?"))
    text = "".join(e.text for e in events if e.kind == "text")
    assert text.strip()
    assert any(e.kind == "heartbeat" for e in events)
    # No sentence is shown twice (partial deltas and the final full text).
    sentences = [s for s in text.split(". ") if len(s) > 10]
    assert len(sentences) == len(set(sentences))


def test_upload_sound_file_and_url(client: NemoClient, sound: Path) -> None:
    session = client.create_session()
    progress: list[tuple[int, int]] = []
    media = client.upload(
        session, [sound], progress=lambda sent, total: progress.append((sent, total))
    )
    assert [m.filename for m in media] == ["beep.wav"]
    assert media[0].url
    assert progress[-1] == (sound.stat().st_size, sound.stat().st_size)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(progress))
    assert media[0].url is not None
    again = client.upload(session, [media[0].url])
    assert len(again) == 1


@pytest.mark.parametrize(
    ("fault", "error"), [("4001@upload", UnsupportedFile), ("4002@upload", FileTooLarge)]
)
def test_upload_errors_from_the_service(
    backend: LocalBackend, client: NemoClient, sound: Path, fault: str, error: type[JiggleError]
) -> None:
    session = client.create_session()
    backend.inject(fault)
    with pytest.raises(error) as caught:
        client.upload(session, [sound])
    assert caught.value.human()
    assert caught.value.human("zh")


def test_1001_gets_a_new_anonymous_token_and_retries(
    backend: LocalBackend, client: NemoClient
) -> None:
    client.ensure_token()
    first = client._token
    backend.inject("1001@credits")
    assert client.credits().available >= 0
    assert client._token != first
    cached = client.tokens.load(backend.base_url)
    assert cached is not None
    assert cached.token == client._token


def test_expire_token_is_recovered(backend: LocalBackend, client: NemoClient) -> None:
    client.ensure_token()
    revoked = client._token
    backend.inject("expire-token")
    credits = client.credits()
    assert credits.total == credits.available + credits.frozen
    assert client._token not in (None, revoked)
    cached = client.tokens.load(backend.base_url)
    assert cached is not None
    assert cached.token == client._token


def test_1002_replaces_the_session_in_place(backend: LocalBackend, sleeps: Sleeps) -> None:
    replaced: list[Session] = []
    with NemoClient(backend.base_url, sleep=sleeps, on_session_replaced=replaced.append) as c:
        session = c.create_session(language="zh")
        old = session.id
        backend.inject("1002@state")
        state = c.state(old)
        assert session.id != old
        assert session.previous_ids == [old]
        assert session.language == "zh"
        assert state.session_id == session.id
        assert c.resolve_session(old) == session.id
        assert replaced == [session]


def test_lose_session_is_recovered_for_chat(backend: LocalBackend, client: NemoClient) -> None:
    session = client.create_session()
    old = session.id
    backend.inject("lose-session")
    events = list(client.stream_chat(session, "hello"))
    assert session.id != old
    assert any(e.kind == "text" for e in events)


def test_2001_carries_a_claim_link_for_anonymous_users(
    backend: LocalBackend, client: NemoClient
) -> None:
    session = client.create_session()
    backend.inject("2001@chat")
    with pytest.raises(OutOfCredits) as caught:
        list(client.stream_chat(session, "hello"))
    url = caught.value.register_url
    assert url is not None
    assert url.startswith("https://nemovideo.com/workspace/claim?ct=clm_")
    assert url in caught.value.human()
    assert client._token is not None
    assert client._token not in url


def test_400_on_sign_in_regenerates_the_client_id(
    backend: LocalBackend, client: NemoClient
) -> None:
    backend.inject("400@auth")
    client.ensure_token()
    assert client._token


def test_429_waits_retry_after_then_retries_once(
    backend: LocalBackend, client: NemoClient, sleeps: Sleeps
) -> None:
    client.ensure_token()
    backend.inject("429=2@credits")
    client.credits()
    assert 2.0 in sleeps.calls
    # One retry policy (issue 11): a 429 is retried up to the policy's count, then reported.
    backend.inject(f"429=3@credits*{client.retry.attempts}")
    with pytest.raises(RateLimited) as caught:
        client.credits()
    assert caught.value.retry_after == 3.0
    assert "3 seconds" in caught.value.human()


def test_429_with_a_long_retry_after_is_reported_without_waiting(
    backend: LocalBackend, client: NemoClient, sleeps: Sleeps
) -> None:
    client.ensure_token()
    backend.inject("429=3600@credits")
    with pytest.raises(RateLimited) as caught:
        client.credits()
    assert caught.value.retry_after == 3600.0
    assert sleeps.calls == []


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors_on_gets_are_retried(
    backend: LocalBackend, client: NemoClient, sleeps: Sleeps, status: str
) -> None:
    client.ensure_token()
    backend.inject(f"{status}@credits")
    credits = client.credits()
    assert credits.total == credits.available + credits.frozen
    assert len(sleeps.calls) == 1  # one failed attempt, one backoff, then the answer
    backend.inject(f"{status}@credits*inf")
    with pytest.raises(ServerError) as caught:
        client.credits()
    assert caught.value.http_status == int(status)
    backend.clear_faults()


def test_post_is_not_retried_on_server_error(backend: LocalBackend, client: NemoClient) -> None:
    client.ensure_token()
    backend.inject("500@session")
    with pytest.raises(ServerError):
        client.create_session()
    assert client.create_session().id


def test_sse_cut_reads_state_and_does_not_resend(backend: LocalBackend, client: NemoClient) -> None:
    session = client.create_session()
    backend.inject("sse-cut=3")
    with pytest.raises(ConnectionLost) as caught:
        list(client.stream_chat(session, EDIT))
    lost = caught.value
    assert lost.state is not None
    assert lost.details["during"] == "chat"
    assert "not sent again" in lost.human()
    assert "不会被执行两次" in lost.human("zh")


def test_sse_stall_counts_as_lost(backend: LocalBackend, client: NemoClient) -> None:
    session = client.create_session()
    backend.inject("sse-stall=3")
    with pytest.raises(ConnectionLost):
        list(client.stream_chat(session, "hello"))


def test_sse_malformed_frame_is_skipped(backend: LocalBackend, client: NemoClient) -> None:
    session = client.create_session()
    backend.inject("sse-malformed")
    events = list(client.stream_chat(session, "hello"))
    assert any(e.kind == "text" and e.text for e in events)


def test_sse_error_becomes_a_stream_error(backend: LocalBackend, client: NemoClient) -> None:
    session = client.create_session()
    backend.inject("sse-error")
    kinds: list[str] = []
    with pytest.raises(StreamError):
        kinds.extend(e.kind for e in client.stream_chat(session, "hello"))
    assert "error" in kinds


def test_402_on_export_is_explained_and_the_job_forgotten(
    backend: LocalBackend, client: NemoClient, tmp_path: Path
) -> None:
    session = client.create_session()
    client.upload(session, [_photo(tmp_path)])  # a draft with a segment: an export is sent
    backend.inject("402@export")
    with pytest.raises(ExportBlockedByPlan) as caught:
        client.export(session)
    assert "subscription" in caught.value.human()
    assert client.jobs.list() == []


def test_unreachable_backend(sleeps: Sleeps) -> None:
    with (
        NemoClient(
            "http://127.0.0.1:9", token="nmv_usr_unreachable01", sleep=sleeps, retries=2
        ) as c,
        pytest.raises(BackendUnreachable) as caught,
    ):
        c.credits()
    assert "127.0.0.1:9" in caught.value.human()
    assert len(sleeps.calls) == 2  # retried with backoff


def _records_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records) + caplog.text


def test_a_whole_session_never_shows_the_token(
    backend: LocalBackend,
    sleeps: Sleeps,
    sound: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[Any] = []
    with NemoClient(backend.base_url, sleep=sleeps, stream_read_timeout=1.0) as client:
        client.ensure_token()
        token = client._token
        assert token
        session = client.create_session()
        outputs += [repr(client), repr(session), client.credits(), client.upload(session, [sound])]
        outputs += list(client.stream_chat(session, "hello"))
        outputs.append(client.state(session))
        backend.inject("1001@credits")
        outputs.append(client.credits())
        new_token = client._token
        for fault in ("sse-cut", "2001@chat", "sse-error"):
            backend.inject(fault)
            try:
                list(client.stream_chat(session, "hello"))
            except Exception as exc:  # every error's every rendering
                outputs += [str(exc), repr(exc), exc.args, getattr(exc, "human", str)("zh")]
        print(*outputs)
    captured = capsys.readouterr()
    everything = captured.out + captured.err + _records_of(caplog) + repr(outputs)
    assert caplog.records
    for secret in (token, new_token):
        assert secret is not None
        assert secret not in everything


def _photo(tmp_path: Path) -> Path:
    from PIL import Image
    from skimage import data

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path)  # type: ignore[no-untyped-call]
    return path


def _decode(path: Path) -> tuple[int, int, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, stream.codec_context.width, stream.codec_context.height


@pytest.mark.slow
def test_photo_to_mp4_end_to_end_without_showing_the_token(
    backend: LocalBackend,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with NemoClient(backend.base_url, poll_interval=0.2, first_poll_delay=0.2) as client:
        session = client.create_session()
        media = client.upload(session, [_photo(tmp_path)])
        assert (media[0].width, media[0].height) == (512, 512)
        list(client.stream_chat(session, EDIT))
        turn = client.changes(session)
        video = turn.state.timeline.tracks[0].segments[0]
        assert (video.motion, video.loop) == ("jiggle", True)
        statuses: list[str] = []
        job = client.export(session, progress=lambda j: statuses.append(j.status))
        assert [j.id for j in client.jobs.list()] == [job.id]
        client.wait(job, progress=lambda j: statuses.append(j.status))
        assert statuses[-1] == "completed"
        assert job.output_url
        assert not client._transport.same_origin(job.output_url)  # a CDN-like origin
        backend.inject("download-cut")
        received: list[int] = []
        out = client.download(job, tmp_path / "out.mp4", lambda n, t: received.append(n))
        assert out.stat().st_size == job.output_size
        assert client.jobs.list() == []
        frames, width, height = _decode(out)
        assert frames > 10
        assert (width, height) == (1080, 1920)
        token = client._token
        print(repr(client), session, media, turn.summary(), job)
    captured = capsys.readouterr()
    assert token
    assert caplog.records
    assert token not in captured.out + captured.err + caplog.text


def test_render_fail_fault(backend: LocalBackend, client: NemoClient, tmp_path: Path) -> None:
    session = client.create_session()
    client.upload(session, [_photo(tmp_path)])
    backend.inject("render-fail")
    client.poll_interval = client.first_poll_delay = 0.05
    with pytest.raises(RenderFailed) as caught:
        client.wait(client.export(session))
    assert caught.value.reason
    assert client.jobs.list() == []


def test_upload_retried_after_1001_sends_the_whole_file_again(
    backend: LocalBackend, client: NemoClient, sound: Path
) -> None:
    session = client.create_session()
    backend.inject("1001@upload")
    progress: list[int] = []
    media = client.upload(session, [sound], progress=lambda sent, total: progress.append(sent))
    assert [m.filename for m in media] == ["beep.wav"]
    assert progress[-1] == sound.stat().st_size
    assert min(progress) >= 0


def test_429_on_chat_waits_and_retries(
    backend: LocalBackend, client: NemoClient, sleeps: Sleeps
) -> None:
    session = client.create_session()
    backend.inject("429=4@chat")
    events = list(client.stream_chat(session, "hello"))
    assert 4.0 in sleeps.calls
    assert any(e.kind == "text" for e in events)


def test_1001_twice_gives_up_after_one_new_token(backend: LocalBackend, client: NemoClient) -> None:
    client.ensure_token()
    backend.inject("1001@credits*2")
    with pytest.raises(TokenExpired) as caught:
        client.credits()
    assert "new free token" in caught.value.human()
