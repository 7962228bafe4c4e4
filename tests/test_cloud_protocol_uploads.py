"""Issue 12, items 1, 2, 3, 5, 6 and 7: the cloud protocol as NemoVideo's public sources show it
(docs/_sources_uploads.md), for uploads, the client id, 400s, language tags and 403s.

Two kinds of server, both real HTTP on loopback: the local backend (the emulator, which now
checks these shapes too), and a small recording server that answers as the public sources show
and keeps what the client sent, for the shapes the emulator does not produce.
"""

from __future__ import annotations

import io
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pillow_heif
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skill.client import NemoClient
from skill.client.auth import TokenCache
from skill.errors import (
    ApiError,
    AuthError,
    InputError,
    MissingClientId,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from skill.local.server import LocalBackend
from skill.manifest import attribution_headers
from skill.paths import client_id_path, config_dir
from tests._loopback import serve
from tests.conftest import LOCAL_BACKEND_TEST_KNOBS

TOKEN = "nmv_usr_uploadprotocol0001"
SID = "5529798706024415232"


# -- the recording server ----------------------------------------------------------------------


@dataclass
class Script:
    """What the recording server answers, and what it was sent."""

    reject_client_ids: int = 0  # anonymous-token calls answered 400 "missing X-Client-Id"
    expire_once: bool = False  # the next credits call answers 1001
    credits_status: int = 200  # 400 / 403 answer the credits call with that status
    client_ids: list[str] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    url_uploads: list[dict[str, Any]] = field(default_factory=list)
    file_parts: list[tuple[str, str, bytes]] = field(default_factory=list)
    credit_calls: int = 0
    chat_posts: int = 0


class Current:
    script = Script()


@pytest.fixture
def emulator(local_backend_module: LocalBackend) -> Iterator[LocalBackend]:
    """The backend this module shares, with no faults armed; each client is a new account."""
    local_backend_module.clear_faults()
    yield local_backend_module
    local_backend_module.clear_faults()


def _cloud_app() -> Starlette:
    async def anonymous_token(request: Request) -> JSONResponse:
        script = Current.script
        script.client_ids.append(request.headers.get("x-client-id", ""))
        if script.reject_client_ids > 0:
            script.reject_client_ids -= 1
            return JSONResponse({"code": 400, "message": "Missing X-Client-Id"}, status_code=400)
        n = len(script.client_ids)
        data = {
            "token": f"nmv_usr_recorded{n:04d}",
            "user_id": "anon_recorded",
            "credits": 100,
            "expires_at": "2099-01-01T00:00:00Z",
        }
        return JSONResponse({"code": 0, "message": "success", "data": data})

    async def session(request: Request) -> JSONResponse:
        Current.script.sessions.append(await request.json())
        data = {"task_id": "task_1", "session_id": SID, "user_id": "anon_recorded"}
        return JSONResponse({"code": 0, "data": data})

    async def upload(request: Request) -> JSONResponse:
        script = Current.script
        files: list[dict[str, Any]] = []
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            script.url_uploads.append(body)
            files = [
                {"filename": "x.jpg", "file_type": "image", "cdn_url": u} for u in body["urls"]
            ]
        else:
            async with request.form() as form:
                for part in form.getlist("files"):
                    assert isinstance(part, UploadFile)
                    content = await part.read()
                    script.file_parts.append(
                        (part.filename or "", part.content_type or "", content)
                    )
                    files.append(
                        {
                            "filename": part.filename,
                            "file_type": "image",
                            "cdn_url": f"https://cdn.example/{part.filename}",
                        }
                    )
        return JSONResponse({"code": 0, "data": {"files": files, "session_state_applied": True}})

    async def credits(request: Request) -> JSONResponse:
        script = Current.script
        script.credit_calls += 1
        if script.expire_once:
            script.expire_once = False
            return JSONResponse({"code": 1001, "message": "token expired"}, status_code=401)
        if script.credits_status == 400:
            body = {"code": 400, "message": "Bad request: unknown query parameter 'x'"}
            return JSONResponse(body, status_code=400)
        if script.credits_status == 403:
            body = {"code": 403, "message": "Forbidden: token lacks scope 'read'"}
            return JSONResponse(body, status_code=403)
        return JSONResponse({"code": 0, "data": {"available": 90, "frozen": 10, "total": 100}})

    async def state(request: Request) -> JSONResponse:
        return JSONResponse({"code": 0, "data": {"session_id": SID, "state": {"draft": {}}}})

    async def run_sse(request: Request) -> JSONResponse:
        Current.script.chat_posts += 1
        body = {"code": 400, "message": "Bad request: the message is longer than 4000 characters"}
        return JSONResponse(body, status_code=400)

    return Starlette(
        routes=[
            Route("/api/auth/anonymous-token", anonymous_token, methods=["POST"]),
            Route("/api/tasks/me/with-session/nemo_agent", session, methods=["POST"]),
            Route("/api/upload-video/nemo_agent/me/{sid}", upload, methods=["POST"]),
            Route("/api/credits/balance/simple", credits, methods=["GET"]),
            Route("/api/state/nemo_agent/me/{sid}/latest", state, methods=["GET"]),
            Route("/run_sse", run_sse, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def cloud_origin() -> Iterator[str]:
    with serve(_cloud_app()) as base:
        yield base


@pytest.fixture
def script(cloud_origin: str) -> Script:
    Current.script = Script()
    return Current.script


@pytest.fixture(autouse=True)
def _no_client_id_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEMO_CLIENT_ID", raising=False)


def _cloud_client(origin: str, **options: Any) -> NemoClient:
    return NemoClient(origin, sleep=lambda s: None, **options)


# -- 1. URL uploads carry "source_type": "url" --------------------------------------------------


def test_url_uploads_send_source_type_url(script: Script, cloud_origin: str) -> None:
    with _cloud_client(cloud_origin, token=TOKEN) as client:
        media = client.upload(SID, ["https://example.com/cat.jpg"])
    assert script.url_uploads == [{"urls": ["https://example.com/cat.jpg"], "source_type": "url"}]
    assert [m.url for m in media] == ["https://example.com/cat.jpg"]


def test_the_emulator_requires_source_type_and_the_client_sends_it(tmp_path: Path) -> None:
    photo = tmp_path / "cat.png"
    Image.new("RGB", (40, 30), (200, 80, 20)).save(photo)
    with LocalBackend(**LOCAL_BACKEND_TEST_KNOBS) as backend:
        with NemoClient(backend.base_url, token="", sleep=lambda s: None) as client:
            session = client.create_session()
            (sent,) = client.upload(session, [photo])
            assert sent.url is not None
            # By URL: the emulator fetches loopback http:// (its own download origin here).
            (media,) = client.upload(session, [sent.url])
            assert (media.width, media.height) == (40, 30)
            token = client._bearer()
        headers = {**attribution_headers(), "Authorization": f"Bearer {token}"}
        bare = httpx.post(
            f"{backend.base_url}/api/upload-video/nemo_agent/me/{session.id}",
            json={"urls": [sent.url]},
            headers=headers,
        )
    assert bare.json()["code"] == 4000
    assert '"source_type": "url"' in bare.json()["message"]


# -- 2. HTTP 400 means "missing X-Client-Id" on the anonymous-token call only -------------------


def test_a_400_on_sign_in_is_answered_with_a_new_client_id_once(
    script: Script, cloud_origin: str
) -> None:
    script.reject_client_ids = 1
    with _cloud_client(cloud_origin) as client:
        assert client.credits().available == 90
    first, second = script.client_ids
    assert first
    assert second
    assert first != second
    # The new id replaces the refused one on disk: the next sign-in sends it.
    assert client_id_path().read_text().strip() == second


def test_a_400_elsewhere_is_reported_as_the_body_says_and_never_resent(
    script: Script, cloud_origin: str
) -> None:
    with _cloud_client(cloud_origin, token=TOKEN) as client:
        with pytest.raises(ApiError) as chat:
            list(client.stream_chat(SID, "make it bounce", snapshot=False))
        script.credits_status = 400
        with pytest.raises(ApiError) as credits:
            client.credits()
    assert script.chat_posts == 1  # the chat message went once
    assert script.credit_calls == 1
    for caught in (chat, credits):
        assert not isinstance(caught.value, MissingClientId | ServerError)
        assert caught.value.http_status == 400
    assert "longer than 4000 characters" in chat.value.human()
    assert "unknown query parameter" in credits.value.human()


def test_the_emulator_s_400_on_chat_is_not_taken_for_a_missing_client_id(
    emulator: LocalBackend,
) -> None:
    with NemoClient(emulator.base_url, token="", sleep=lambda s: None) as client:
        session = client.create_session()
        emulator.inject("400@chat*2")
        with pytest.raises(ApiError) as caught:
            list(client.stream_chat(session, "make it bounce", snapshot=False))
    assert not isinstance(caught.value, MissingClientId)
    assert emulator.armed_faults == ["400@chat"]  # one request: nothing was sent again


# -- 3. The client id: NEMO_CLIENT_ID, else ~/.config/nemovideo/client_id, kept -----------------


def test_the_client_id_is_kept_0600_and_reused_after_the_token_expires(
    script: Script, cloud_origin: str, tmp_path: Path
) -> None:
    with _cloud_client(cloud_origin) as client:
        client.credits()
        script.expire_once = True
        client.credits()  # 1001: a new anonymous token, with the same client id
    kept = client_id_path()
    assert kept == config_dir() / "client_id"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Another run (another token cache) sends the same id too.
    other_cache = TokenCache(tmp_path / "other" / "tokens.json")
    with _cloud_client(cloud_origin, token_cache=other_cache) as client:
        client.credits()
    assert len(script.client_ids) == 3
    assert set(script.client_ids) == {kept.read_text().strip()}


def test_nemo_client_id_wins_and_an_existing_file_is_shared(
    script: Script, cloud_origin: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Another NemoVideo skill wrote the file the way the public skill does (echo id > file).
    client_id_path().parent.mkdir(parents=True)
    client_id_path().write_text("client-1763950000-4242\n")
    with _cloud_client(cloud_origin) as client:
        client.credits()
    monkeypatch.setenv("NEMO_CLIENT_ID", "0b0e7a7e-1d3c-4d5e-9f00-0123456789ab")
    with _cloud_client(cloud_origin, token_cache=TokenCache(tmp_path / "t.json")) as client:
        client.credits()
    assert script.client_ids == ["client-1763950000-4242", "0b0e7a7e-1d3c-4d5e-9f00-0123456789ab"]
    assert client_id_path().read_text().strip() == "client-1763950000-4242"


def test_the_emulator_sees_one_client_id_across_runs(tmp_path: Path) -> None:
    # One free token per client id: a second run with the same id is refused (429), which
    # only happens when the id is kept rather than made anew each run.
    knobs = {**LOCAL_BACKEND_TEST_KNOBS, "tokens_per_client": 1, "tokens_per_ip": None}
    with LocalBackend(**knobs) as backend:
        with NemoClient(backend.base_url, token="", sleep=lambda s: None) as client:
            client.credits()
        other = TokenCache(tmp_path / "other.json")
        with (
            NemoClient(backend.base_url, token="", token_cache=other, sleep=lambda s: None) as c,
            pytest.raises(RateLimited),
        ):
            c.credits()


# -- 5. HEIC goes to the cloud as JPEG ----------------------------------------------------------


def _heic(path: Path) -> Path:
    """A 64x32 HEIC photo whose EXIF says "rotate 90° clockwise" (a phone's portrait shot)."""
    pillow_heif.register_heif_opener()
    image = Image.new("RGB", (64, 32), (220, 40, 40))
    image.paste((40, 40, 220), (0, 0, 32, 32))  # left half blue: turned, it is the top half
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, format="HEIF", exif=exif.tobytes(), quality=90)
    return path


def _quality_95_tables() -> Any:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", quality=95)
    return Image.open(io.BytesIO(out.getvalue())).quantization  # type: ignore[attr-defined]


def test_heic_is_sent_to_the_cloud_as_an_upright_quality_95_jpeg(
    script: Script, cloud_origin: str, tmp_path: Path
) -> None:
    photo = _heic(tmp_path / "turned.heic")
    with _cloud_client(cloud_origin, token=TOKEN, convert_heic=True) as client:
        (media,) = client.upload(SID, [photo])
    ((name, mime, content),) = script.file_parts
    assert (name, mime, media.filename) == ("turned.jpg", "image/jpeg", "turned.jpg")
    assert content[:3] == b"\xff\xd8\xff"
    sent = Image.open(io.BytesIO(content))
    assert sent.size == (32, 64)  # the orientation is in the pixels now
    assert sent.getexif().get(0x0112, 1) == 1
    top = sent.convert("RGB").getpixel((16, 8))
    assert isinstance(top, tuple)
    assert top[2] > 150 > top[0]  # blue on top, as the phone showed it
    assert sent.quantization == _quality_95_tables()  # type: ignore[attr-defined]
    assert photo.exists()  # the user's file is untouched


def test_heic_conversion_is_for_the_cloud_and_says_what_to_install(
    script: Script,
    cloud_origin: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator: LocalBackend,
) -> None:
    assert NemoClient("https://mega-api-prod.nemovideo.ai", token=TOKEN).convert_heic
    photo = _heic(tmp_path / "turned.heic")
    with NemoClient(emulator.base_url, token="", sleep=lambda s: None) as local:
        assert not local.convert_heic
        (media,) = local.upload(local.create_session(), [photo])  # the emulator takes HEIC
        assert media.filename == "turned.heic"
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # HEIC support not installed
    with (
        _cloud_client(cloud_origin, token=TOKEN, convert_heic=True) as client,
        pytest.raises(InputError) as caught,
    ):
        client.upload(SID, [photo])
    assert "image-to-video-ai-jiggle[local]" in caught.value.human()
    assert "pillow-heif" in caught.value.human()
    assert script.file_parts == []  # nothing was sent


# -- 6. Language tags are BCP-47 -----------------------------------------------------------------


def test_sessions_are_created_with_bcp47_language_tags(
    script: Script, cloud_origin: str, emulator: LocalBackend
) -> None:
    with _cloud_client(cloud_origin, token=TOKEN) as client:
        for language in ("zh", "zh-Hant", "en", "zh-TW", "zh-Hans", "ja"):
            client.create_session(language)
    sent = [body["language"] for body in script.sessions]
    assert sent == ["zh-CN", "zh-TW", "en", "zh-TW", "zh-CN", "ja"]
    with NemoClient(emulator.base_url, token="", sleep=lambda s: None) as local:
        for language in ("zh-CN", "zh-TW"):
            assert local.create_session(language).id  # the emulator takes the tags


# -- 7. HTTP 403 is an auth or plan refusal, not a server problem --------------------------------


def test_a_403_is_a_permission_error_with_its_own_code(script: Script, cloud_origin: str) -> None:
    script.credits_status = 403
    with _cloud_client(cloud_origin, token=TOKEN) as client, pytest.raises(AuthError) as caught:
        client.credits()
    error = caught.value
    assert isinstance(error, PermissionDenied)
    assert not isinstance(error, ServerError)
    assert (error.code, error.exit_code, error.http_status) == ("permission_denied", 3, 403)
    assert "token lacks scope 'read'" in error.human()
    assert "scope" in error.human("zh") or "权限" in error.human("zh")
    assert script.credit_calls == 1  # not retried as if the server were down


def test_the_emulator_answers_403_for_a_missing_scope(emulator: LocalBackend) -> None:
    with NemoClient(emulator.base_url, token="", sleep=lambda s: None) as client:
        client.credits()
        emulator.inject("403@credits")
        with pytest.raises(PermissionDenied) as caught:
            client.credits()
    assert "'read' scope" in caught.value.human()


# -- the emulator checks the attribution headers ---------------------------------------------


def test_the_emulator_refuses_api_calls_without_the_attribution_headers(
    emulator: LocalBackend,
) -> None:
    base = emulator.base_url
    got = httpx.post(f"{base}/api/auth/anonymous-token", headers={"X-Client-Id": "a"}).json()
    bearer = {"Authorization": f"Bearer {got['data']['token']}"}
    bare = httpx.get(f"{base}/api/credits/balance/simple", headers=bearer)
    assert bare.status_code == 403
    assert "X-Skill-Source" in bare.json()["message"]
    partial = {**attribution_headers(), **bearer}
    del partial["X-Skill-Platform"]
    refused = httpx.get(f"{base}/api/credits/balance/simple", headers=partial)
    assert refused.json()["data"]["missing_headers"] == ["X-Skill-Platform"]
    full = httpx.get(
        f"{base}/api/credits/balance/simple", headers={**attribution_headers(), **bearer}
    )
    assert full.json()["code"] == 0
    export = httpx.post(f"{base}/api/render/proxy/lambda", json={}, headers=bearer)
    assert export.status_code == 402  # an export keeps the documented 402


def test_a_403_names_the_scope_the_token_lacks() -> None:
    from skill.client._envelope import unwrap
    from skill.errors import PermissionDenied

    body = b'{"code": 403, "message": "Forbidden", "data": {"required_scope": "render"}}'
    with pytest.raises(PermissionDenied) as caught:
        unwrap(403, body)
    assert "it needs the 'render' scope" in caught.value.human("en")
    assert caught.value.exit_code == 3
