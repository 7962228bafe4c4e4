"""The wire facts are stated once (``skill/protocol.py``), agree with the docs, and stay single."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from skill import protocol
from skill.client.uploads import validate
from skill.errors import UnsupportedFile
from skill.local.server.downloads import safe_media_type
from skill.local.server.envelope import ApiFailure
from skill.local.server.media import sniff
from skill.manifest import Manifest, attribution_headers
from skill.protocol import ACCEPTED_FORMATS, HTTP_STATUS, ApiCode, media_formats
from tests.conftest import repo_root

_SHARED_DOC = repo_root().parent / "shared" / "nemo-api.md"
_DOCS = repo_root() / "docs"

# A file head of each accepted format, written out here (not derived from the table).
_SAMPLES: dict[str, bytes] = {
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",
    "avi": b"RIFF\x24\x00\x00\x00AVI LIST",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm",
    "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    "mp3": b"ID3\x03\x00\x00\x00\x00\x00\x00",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "m4a": b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom",
    "aac": b"\xff\xf1\x50\x80\x00\x1f\xfc",
}


def test_every_format_has_a_sample_and_messages_list_them_all() -> None:
    assert set(_SAMPLES) == set(media_formats())
    assert ACCEPTED_FORMATS.split() == list(media_formats())
    assert ACCEPTED_FORMATS == "mp4 mov avi webm mkv jpg png gif webp heic mp3 wav m4a aac"


@pytest.mark.parametrize("name", list(_SAMPLES))
def test_every_format_is_accepted_by_the_client_and_the_local_backend(
    tmp_path: Path, name: str
) -> None:
    media = media_formats()[name]
    path = tmp_path / "no-extension"
    path.write_bytes(_SAMPLES[name] + b"\x00" * 256)
    checked = validate(path)  # the client's upload check
    assert (checked.kind, checked.mime, checked.file_type) == (name, media.mime, media.kind)
    assert sniff(path) == (name, media.kind)  # the local backend's
    assert safe_media_type(path) == media.mime
    assert all(ext.startswith(".") and ext == ext.lower() for ext in media.extensions)
    assert media.extensions[0] == f".{name}"


def test_a_refused_file_names_the_single_list(tmp_path: Path) -> None:
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"%PDF-1.7 not a photo")
    with pytest.raises(UnsupportedFile) as caught:
        validate(path)
    assert ACCEPTED_FORMATS in caught.value.human()
    assert ACCEPTED_FORMATS in ApiFailure(ApiCode.UNSUPPORTED_FILE).message
    assert sniff(path) is None


def test_extensions_by_kind() -> None:
    audio = protocol.media_extensions("audio")
    assert audio == {".mp3", ".wav", ".m4a", ".aac"}
    assert {".jpeg", ".heif"} <= protocol.media_extensions("image")
    assert protocol.media_extensions() == {
        ext for media in media_formats().values() for ext in media.extensions
    }


def test_http_statuses_match_the_local_backend_docs() -> None:
    text = (_DOCS / "local-backend.md").read_text(encoding="utf-8")
    for code, status in HTTP_STATUS.items():
        if code != ApiCode.SESSION_NOT_FOUND:  # documented as a 404 in the client docs
            assert f"{code}, HTTP {status}" in text, code
        assert ApiFailure(code).status == status


def test_codes_agree_with_the_docs() -> None:
    client_docs = (_DOCS / "client.md").read_text(encoding="utf-8")
    documented = {int(code) for code in re.findall(r"`(\d{4})`", client_docs)}
    assert documented <= set(ApiCode)
    if not _SHARED_DOC.is_file():
        pytest.skip("the shared API notes are not beside this checkout")
    shared = _SHARED_DOC.read_text(encoding="utf-8")
    table = {int(code) for code in re.findall(r"^\| `(\d+)` \|", shared, flags=re.MULTILINE)}
    file_codes = (ApiCode.UNSUPPORTED_FILE, ApiCode.FILE_TOO_LARGE)
    assert table == {code for code in ApiCode if code < ApiCode.BAD_REQUEST or code in file_codes}
    assert protocol.REGISTER_URL.format(user_id="<user_id>") in shared
    assert protocol.CLAIM_URL.format(claim_token="<claim_token>") in shared
    for header in (protocol.AUTHORIZATION, protocol.CLIENT_ID, *protocol.ATTRIBUTION_HEADERS):
        assert f"`{header}`" in shared
    # The cloud's public list is ours less HEIC (converted to JPEG before a cloud upload).
    listed = re.search(r"Accepted:\s*([a-z0-9 \n]+)\.", shared)
    assert listed is not None
    assert listed.group(1).split() == [f for f in ACCEPTED_FORMATS.split() if f != "heic"]
    for path in re.findall(r"`(?:GET|POST) (/[^`\s]+)`", shared):
        assert _route_of(path) in _endpoints(), path


def _endpoints() -> set[str]:
    return {value for key, value in vars(protocol.Endpoint).items() if key.isupper()}


def _route_of(path: str) -> str:
    """``/api/state/nemo_agent/me/<sid>/latest`` as its route template."""
    parts = []
    for part in path.split("/"):
        if part == protocol.APP:
            part = "{app}"
        elif part == "me":
            part = "{user}"
        elif part in ("<sid>", "<id>"):
            part = "{sid}" if part == "<sid>" else "{rid}"
        parts.append(part)
    return "/".join(parts)


def test_the_attribution_headers_come_from_the_protocol() -> None:
    headers = attribution_headers(Manifest("x", "1.0.0", "", None), platform="p")
    assert tuple(headers) == protocol.ATTRIBUTION_HEADERS


_CODE_VALUES = {code.value for code in ApiCode if code != ApiCode.SUCCESS}


def _modules_spelling_codes() -> dict[str, int]:
    """The skill/ modules with an API code as a bare integer (or the digits as a string)."""
    found: dict[str, int] = {}
    for path in sorted((repo_root() / "skill").rglob("*.py")):
        count = 0
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
                continue
            value = node.value
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, int) and value in _CODE_VALUES:
                count += 1
        if count:
            found[path.relative_to(repo_root()).as_posix()] = count
    return found


def test_api_codes_are_spelled_as_integers_in_at_most_two_modules() -> None:
    # skill/protocol.py states them; the fault names of the local backend ("1001@credits") are
    # the one other place. Everywhere else: ApiCode.
    found = _modules_spelling_codes()
    assert "skill/protocol.py" in found
    assert set(found) <= {"skill/protocol.py", "skill/local/server/faults.py"}, found
