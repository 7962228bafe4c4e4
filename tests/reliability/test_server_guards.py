"""The local backend's guards (issue 11, items 7-9, 11, 12), over real HTTP on loopback.

Each test is what a user (or an attacker) would do, and asserts what the user expects: a clear
error naming the file, nothing charged, nothing of the server's disk or other accounts shown.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from skill.local.server import LocalBackend
from skill.manifest import attribution_headers
from tests.test_server import Api, backend_with, write_photo

_CREDITS = {"available": 100, "frozen": 0, "total": 100}


@pytest.fixture(scope="module")
def backend() -> Iterator[LocalBackend]:
    with backend_with(tokens_per_client=None, tokens_per_ip=None) as server:
        yield server


@pytest.fixture
def api(backend: LocalBackend) -> Iterator[Api]:
    client = Api(backend).login()
    yield client
    client.close()


def _upload_url(sid: str) -> str:
    return f"/api/upload-video/nemo_agent/me/{sid}"


def _media_count(api: Api, sid: str) -> int:
    return len(api.state(sid)["state"]["video_infos"])


def _export(api: Api, sid: str, **body: Any) -> Any:
    return api.http.post(
        "/api/render/proxy/lambda", json={"sessionId": sid, **body}, headers=api.auth
    )


def _poll_until_done(api: Api, render_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = api.http.get(f"/api/render/proxy/lambda/{render_id}", headers=api.auth).json()
        if job["data"]["status"] in ("completed", "failed", "cancelled"):
            return dict(job["data"])
        time.sleep(0.05)
    raise AssertionError("the render never ended")


def _png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny real PNG whose header claims ``width`` x ``height`` (IHDR patched, CRC right)."""
    buffer = io.BytesIO()
    Image.new("1", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


# -- 7: what an upload must be ---------------------------------------------------------------


def test_a_truncated_jpeg_is_refused_at_upload_and_nothing_is_charged(
    api: Api, backend: LocalBackend, tmp_path: Path
) -> None:
    whole = write_photo(tmp_path / "whole.jpg").read_bytes()
    cut = tmp_path / "holiday.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    sid = api.session()
    response = api.upload(sid, cut)
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == 4001
    assert "holiday.jpg" in body["message"]
    assert "damaged or incomplete" in body["message"]
    assert str(backend.data_dir) not in response.text
    assert _media_count(api, sid) == 0
    assert api.credits() == _CREDITS
    # Nothing to render, so nothing can be charged for it either.
    assert _export(api, sid).json()["code"] == 4000
    assert api.credits() == _CREDITS


def test_a_huge_png_says_too_many_pixels_with_the_limit(api: Api, tmp_path: Path) -> None:
    sid = api.session()
    started = time.monotonic()
    huge = api.upload(sid, _png_with_size(tmp_path / "huge.png", 30000, 30000))
    assert time.monotonic() - started < 5
    assert huge.status_code == 415
    message = huge.json()["message"]
    assert "huge.png has too many pixels" in message
    assert "50 megapixels" in message
    assert "Decompression" not in message
    assert "not a supported file" not in message
    # Under Pillow's own cap but over ours: refused from the header, before any decoding (the
    # pixels are not even there: decoding would have said "damaged").
    big = api.upload(sid, _png_with_size(tmp_path / "big.png", 8000, 8000))
    assert big.status_code == 415
    assert "big.png has too many pixels (8000x8000, 64 megapixels)" in big.json()["message"]
    assert _media_count(api, sid) == 0


# -- 8: who may talk to the server and what file:// may read ---------------------------------


def test_only_loopback_host_names_are_served(backend: LocalBackend) -> None:
    api = Api(backend)
    port = backend.base_url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "192.168.1.20", "attacker.localhost.com"):
        refused = api.http.get("/", headers={"Host": host})
        assert refused.status_code == 421, host
        assert refused.json()["code"] == 421
        assert "--allow-host" in refused.json()["message"]
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert api.http.get("/", headers={"Host": host}).status_code == 200, host
    # The download origin is guarded too.
    assert (
        api.http.get(
            f"{backend.download_base_url}/m/x/y", headers={"Host": "evil.example"}
        ).status_code
        == 421
    )
    # A page of another origin calling from the browser is refused even with a good Host.
    page = api.http.get("/", headers={"Origin": "http://evil.example"})
    assert page.status_code == 403
    api.close()


def test_an_allowed_host_name_is_served() -> None:
    with backend_with(allowed_hosts=["studio.lan"]) as server:
        api = Api(server)
        assert api.http.get("/", headers={"Host": "studio.lan:8000"}).status_code == 200
        assert api.http.get("/", headers={"Host": "other.lan"}).status_code == 421
        api.close()


def test_file_urls_are_refused_unless_the_operator_allowed_a_folder(
    api: Api, tmp_path: Path
) -> None:
    sid = api.session()
    photo = write_photo(tmp_path / "cat.jpg")
    there = api.http.post(
        _upload_url(sid), json={"urls": [photo.as_uri()], "source_type": "url"}, headers=api.auth
    )
    missing = api.http.post(
        _upload_url(sid),
        json={"urls": [(tmp_path / "no.jpg").as_uri()], "source_type": "url"},
        headers=api.auth,
    )
    assert there.status_code == missing.status_code == 403
    # The same answer whether the file exists or not.
    assert there.json()["message"].replace("cat.jpg", "X") == missing.json()["message"].replace(
        "no.jpg", "X"
    )
    assert "--allow-files" in there.json()["message"]
    assert _media_count(api, sid) == 0


def test_file_urls_read_only_below_the_allowed_folders(tmp_path: Path) -> None:
    allowed = tmp_path / "photos"
    allowed.mkdir()
    outside = tmp_path / "private"
    outside.mkdir()
    inside = write_photo(allowed / "cat.jpg")
    secret = write_photo(outside / "secret.jpg")
    (allowed / "link.jpg").symlink_to(secret)
    # The server's own data lives inside the allowed folder: still never readable by URL.
    with backend_with(data_dir=allowed / "backend-data", file_roots=[allowed]) as server:
        api = Api(server).login()
        sid = api.session()

        def post(url: str) -> Any:
            return api.http.post(
                _upload_url(sid), json={"urls": [url], "source_type": "url"}, headers=api.auth
            )

        assert post(inside.as_uri()).json()["data"]["files"][0]["filename"] == "cat.jpg"
        refusals = [
            post(secret.as_uri()),
            post((allowed / "link.jpg").as_uri()),  # a symlink out of the folder
            post(f"file://{allowed}/../private/secret.jpg"),
            post((outside / "none.jpg").as_uri()),
        ]
        assert [r.status_code for r in refusals] == [403] * 4
        assert all("does not read that path" in r.json()["message"] for r in refusals)
        # Uploads and renders (any account's) are never readable, whatever folder is allowed.
        stored = next((server.data_dir / "media").rglob("cat.jpg"))
        assert post(stored.as_uri()).status_code == 403
        assert len(api.state(sid)["state"]["video_infos"]) == 1
        api.close()


# -- 9: a draft names only the user's own media; render ids are per account -------------------


def test_a_draft_naming_another_accounts_photo_is_refused_and_not_charged(
    backend: LocalBackend, tmp_path: Path
) -> None:
    alice, mallory = Api(backend).login(), Api(backend).login()
    alice_sid = alice.session()
    alice.upload(alice_sid, write_photo(tmp_path / "alice.jpg"))
    alice_draft = alice.state(alice_sid)["state"]["draft"]
    mallory_sid = mallory.session()
    mallory.upload(mallory_sid, write_photo(tmp_path / "mine.jpg"))
    by_id = _export(mallory, mallory_sid, draft=alice_draft)
    assert by_id.status_code == 403
    assert "not in your account" in by_id.json()["message"]
    # Only the URL, no media id: refused as well.
    by_src = json.loads(json.dumps(alice_draft))
    del by_src["t"][0]["sg"][0]["m"]["media_id"]
    assert _export(mallory, mallory_sid, draft=by_src).status_code == 403
    # A made-up media id is refused the same way.
    made_up = json.loads(json.dumps(alice_draft))
    made_up["t"][0]["sg"][0]["m"].update(media_id="m_nope", src="x")
    assert _export(mallory, mallory_sid, draft=made_up).status_code == 403
    assert mallory.credits() == _CREDITS
    assert mallory.state(mallory_sid)["state"]["generated_media"] == []
    alice.close()
    mallory.close()


def test_render_ids_are_per_account(backend: LocalBackend, tmp_path: Path) -> None:
    first, second = Api(backend).login(), Api(backend).login()
    for client in (first, second):
        sid = client.session()
        client.upload(sid, write_photo(tmp_path / "cat.jpg"))
        response = client.http.post(  # render-fail: fast, no need to render to compare ids
            "/api/render/proxy/lambda",
            json={"sessionId": sid, "id": "render_shared"},
            headers={**client.auth, "X-Jiggle-Fault": "render-fail"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["id"] == "render_shared"
    # Each polls its own job under the shared id, and gets its credits back for it.
    for client in (first, second):
        assert _poll_until_done(client, "render_shared")["status"] == "failed"
        assert client.credits() == _CREDITS
        client.close()


# -- 11: resource limits ---------------------------------------------------------------------


def _photo_session(api: Api, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    sid = api.session()
    assert api.upload(sid, write_photo(tmp_path / "cat.jpg")).status_code == 200
    return sid, api.state(sid)["state"]["draft"]


def test_draft_numbers_and_titles_out_of_range_are_refused_before_charging(
    api: Api, tmp_path: Path
) -> None:
    sid, draft = _photo_session(api, tmp_path)
    loud = json.loads(json.dumps(draft))
    loud["t"].append({"tt": 1, "sg": [{"id": "seg_9", "st": 0, "d": 2000, "m": {"volume": 1e300}}]})
    response = _export(api, sid, draft=loud)
    assert response.status_code == 422
    assert response.json()["code"] == 4000
    assert "volume" in response.json()["message"]
    assert "out of range" in response.json()["message"]
    titled = json.loads(json.dumps(draft))
    titled["t"].append(
        {"tt": 7, "sg": [{"id": "seg_8", "st": 0, "d": 2000, "m": {"text": "x" * 100_000}}]}
    )
    response = _export(api, sid, draft=titled)
    assert "at most 200" in response.json()["message"]
    # NaN and Infinity are not JSON numbers: refused while reading the body.
    raw = json.dumps({"sessionId": sid, "draft": draft}).replace('"d": 2000', '"d": Infinity')
    response = api.http.post(
        "/api/render/proxy/lambda",
        content=raw.replace('"fps": 30', '"fps": NaN'),
        headers={**api.auth, "Content-Type": "application/json"},
    )
    assert response.json()["code"] == 4000
    assert api.credits() == _CREDITS


def test_json_bodies_are_bounded_in_size_and_nesting(api: Api) -> None:
    deep = '{"language": "en", "x": ' + "[" * 200 + "]" * 200 + "}"
    response = api.http.post(
        "/api/tasks/me/with-session/nemo_agent",
        content=deep,
        headers={**api.auth, "Content-Type": "application/json"},
    )
    assert response.json()["code"] == 4000
    assert "nested too deeply" in response.json()["message"]
    big = api.http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "x" * (2 * 1024 * 1024)},
        headers=api.auth,
    )
    assert big.status_code == 413


def _stall(base_url: str, head: bytes, partial: bytes) -> tuple[float, bytes]:
    """Send ``head`` and part of the body, then nothing: how long until the server answers."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + partial)
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                break
        return time.monotonic() - started, answer


def test_a_stalled_request_body_times_out() -> None:
    with backend_with(body_timeout=0.5) as server:
        api = Api(server).login()
        sid = api.session()
        auth = f"Authorization: Bearer {api.token}\r\n".encode() + b"".join(
            f"{name}: {value}\r\n".encode() for name, value in attribution_headers().items()
        )
        json_head = (
            b"POST /api/tasks/me/with-session/nemo_agent HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + auth
            + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        waited, answer = _stall(server.base_url, json_head, b'{"lang')
        assert waited < 5
        assert answer.startswith(b"HTTP/1.1 408")
        upload_head = (
            f"POST {_upload_url(sid)} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
            + auth
            + b"Content-Type: multipart/form-data; boundary=xx\r\nContent-Length: 100000\r\n\r\n"
        )
        waited, answer = _stall(server.base_url, upload_head, b"--xx\r\n")
        assert waited < 5
        assert answer.startswith(b"HTTP/1.1 408")
        assert _media_count(api, sid) == 0
        api.close()


class _Dribble(BaseHTTPRequestHandler):
    """An endless body: a real JPEG head, then bytes forever (fast or slow)."""

    slow = False

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        try:
            self.wfile.write(b"\xff\xd8\xff\xe0")
            while True:
                self.wfile.write(b"x" if self.slow else b"x" * 65536)
                if self.slow:
                    self.wfile.flush()
                    time.sleep(0.05)
        except OSError:
            return

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def endless() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dribble)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_servers_own_download_of_an_upload_url_is_capped(endless: str) -> None:
    with backend_with(max_upload_bytes=1024 * 1024, upload_deadline=1.0) as server:
        api = Api(server).login()
        sid = api.session()
        started = time.monotonic()
        fast = api.http.post(
            _upload_url(sid),
            json={"urls": [f"{endless}/fast/a.jpg"], "source_type": "url"},
            headers=api.auth,
        )
        assert fast.status_code == 413  # cut at the limit
        assert fast.json()["code"] == 4002
        _Dribble.slow = True
        try:
            slow = api.http.post(
                _upload_url(sid),
                json={"urls": [f"{endless}/slow/b.jpg"], "source_type": "url"},
                headers=api.auth,
            )
        finally:
            _Dribble.slow = False
        assert slow.status_code == 408  # a body that never ends, slowly, is cut at the deadline
        assert time.monotonic() - started < 10
        assert _media_count(api, sid) == 0
        assert not list((server.data_dir / "media" / ".incoming").iterdir())
        api.close()


# -- 7 again: a render failure shows no server path ------------------------------------------


def test_a_render_failure_names_the_photo_not_the_servers_path(
    api: Api, backend: LocalBackend, tmp_path: Path
) -> None:
    sid, _ = _photo_session(api, tmp_path)
    media_id = api.state(sid)["state"]["video_infos"][0]["media_id"]
    stored = next((backend.data_dir / "media" / media_id).iterdir())
    stored.write_bytes(stored.read_bytes()[:2000])  # damaged on the server's disk after upload
    job = _export(api, sid).json()["data"]
    final = _poll_until_done(api, job["id"])
    assert final["status"] == "failed"
    assert str(backend.data_dir) not in final["reason"]
    assert "cat.jpg" in final["reason"]
    assert api.credits() == _CREDITS


# -- 12: downloads are never pages -----------------------------------------------------------


def test_an_uploaded_html_name_is_served_as_a_safe_attachment(api: Api, tmp_path: Path) -> None:
    evil = tmp_path / "evil.html"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(evil, "JPEG")
    evil.write_bytes(evil.read_bytes() + b"<script>alert(1)</script>")
    sid = api.session()
    info = api.upload(sid, evil).json()["data"]["files"][0]
    download = api.http.get(info["cdn_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith('attachment; filename="evil.html"')
