"""Upload checks: type by content (magic bytes), size limit, clear errors; progress reading."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from skill.client.uploads import MAX_UPLOAD_BYTES, ProgressReader, split_inputs, validate
from skill.errors import FileNotFound, FileTooLarge, InputError, UnsupportedFile


def _photo(path: Path, fmt: str) -> Path:
    pixels = np.asarray(data.astronaut())  # type: ignore[no-untyped-call]
    Image.fromarray(pixels[:64, :64]).save(path, format=fmt)
    return path


@pytest.mark.parametrize(
    ("fmt", "kind", "mime"),
    [
        ("JPEG", "jpg", "image/jpeg"),
        ("PNG", "png", "image/png"),
        ("GIF", "gif", "image/gif"),
        ("WEBP", "webp", "image/webp"),
    ],
)
def test_images_are_recognised_by_content(tmp_path: Path, fmt: str, kind: str, mime: str) -> None:
    # The name lies on purpose: the content decides.
    checked = validate(_photo(tmp_path / "photo.bin", fmt))
    assert (checked.kind, checked.mime, checked.file_type) == (kind, mime, "image")


def test_png_named_jpg_is_sent_as_png(tmp_path: Path) -> None:
    assert validate(_photo(tmp_path / "cat.jpg", "PNG")).mime == "image/png"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "mov"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom", "m4a"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "avi"),
        (b"ID3\x03\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm", "webm"),
        (b"\xff\xf1\x50\x80\x00\x1f\xfc", "aac"),
    ],
)
def test_videos_and_audio_by_signature(tmp_path: Path, head: bytes, kind: str) -> None:
    path = tmp_path / "clip.dat"
    path.write_bytes(head + b"\x00" * 256)
    assert validate(path).kind == kind


def test_text_named_jpg_is_refused_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"%PDF-1.7 this is a pdf")
    with pytest.raises(UnsupportedFile) as caught:
        validate(path)
    assert "cat.jpg" in caught.value.human()
    assert "looks like pdf" in caught.value.human()
    assert "jpg png gif webp" in caught.value.human()


def test_empty_missing_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedFile, match="empty"):
        validate(empty)
    with pytest.raises(FileNotFound) as caught:
        validate(tmp_path / "nope.png")
    assert "nope.png" in caught.value.human("zh")
    with pytest.raises(InputError, match="is a folder") as folder:
        validate(tmp_path)
    assert not isinstance(folder.value, FileNotFound)


def test_over_200_mb_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = _photo(tmp_path / "huge.png", "PNG")
    with path.open("r+b") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no 200 MB written to disk
    with pytest.raises(FileTooLarge) as caught:
        validate(path)
    assert "200 MB" in caught.value.human()
    assert "(200 MB)" in caught.value.human()


def test_split_inputs_keeps_order() -> None:
    paths, urls = split_inputs(["a.jpg", "https://x/y.png", Path("b.png"), "http://z/w.gif"])
    assert paths == [Path("a.jpg"), Path("b.png")]
    assert urls == ["https://x/y.png", "http://z/w.gif"]


def test_progress_reader_counts_and_undoes_on_rewind() -> None:
    counted: list[int] = []
    reader = ProgressReader(io.BytesIO(b"x" * 1000), counted.append)
    assert reader.read(600) == b"x" * 600
    assert reader.read(600) == b"x" * 400
    reader.seek(0)
    assert counted == [600, 400, -1000]
    assert reader.tell() == 0
    assert reader.read() == b"x" * 1000


def test_progress_reader_exposes_the_file_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    with path.open("rb") as raw:
        reader = ProgressReader(raw, lambda n: None)
        assert os.fstat(reader.fileno()).st_size == 3
