"""Photos in: every accepted format, orientation, transparency, and every way input goes bad."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif
import pytest
from PIL import Image

from skill.errors import FileNotFound, FileTooLarge, InputError, UnsupportedFile
from skill.local.render import probe_image, render
from skill.local.render._photo import load_photo


def _two_tone(width: int = 64, height: int = 32) -> Image.Image:
    """Left half blue, right half red: shows which way a photo was turned."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (0, 0, width // 2, height))
    return image


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize(
    ("name", "fmt", "kwargs"),
    [
        ("p.jpg", "jpeg", {}),
        ("p.png", "png", {}),
        ("p.webp", "webp", {"quality": 90}),
        ("p.gif", "gif", {}),
        ("p.heic", "heic", {"quality": 90}),
    ],
)
def test_accepted_formats_are_probed_by_content(
    tmp_path: Path, name: str, fmt: str, kwargs: dict[str, Any]
) -> None:
    pillow_heif.register_heif_opener()
    path = tmp_path / name
    _two_tone().save(path, **kwargs)
    disguised = path.rename(tmp_path / "no_extension")
    assert probe_image(disguised) == (fmt, 64, 32)


def test_jpeg_exif_rotation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "turned.jpg"
    _two_tone().save(path, exif=_exif(6), quality=95)
    assert probe_image(path) == ("jpeg", 32, 64)
    photo = load_photo(path, max_side=512)
    assert photo.rgb.shape[:2] == (64, 32)
    # Orientation 6: the stored picture's left (blue) edge becomes the top.
    assert photo.rgb[4, 16, 2] > 150
    assert photo.rgb[-4, 16, 0] > 150


def test_heic_rotation_is_applied_once(tmp_path: Path) -> None:
    pillow_heif.register_heif_opener()
    path = tmp_path / "turned.heic"
    _two_tone().save(path, exif=_exif(6), quality=95)
    fmt, width, height = probe_image(path)
    assert (fmt, width, height) == ("heic", 32, 64)
    photo = load_photo(path, max_side=512)
    assert photo.rgb.shape[:2] == (64, 32)  # turned once: upright, not back on its side
    assert photo.rgb[4, 16, 2] > 150
    assert photo.rgb[-4, 16, 0] > 150


def test_transparency_is_kept_as_the_outline(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    rgba.paste((250, 200, 0, 255), (20, 20, 60, 70))
    path = tmp_path / "cutout.png"
    rgba.save(path)
    photo = load_photo(path, max_side=512)
    assert photo.alpha is not None
    assert photo.alpha[40, 40] == 255
    assert photo.alpha[5, 5] == 0


def test_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    photo = load_photo(path, max_side=512)
    assert photo.rgb[20, 20, 0] > 200
    assert photo.rgb[20, 20, 2] < 50


def test_big_jpeg_is_decoded_reduced(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (90, 120, 150)).save(path, quality=80)
    photo = load_photo(path, max_side=1000)
    assert max(photo.rgb.shape[:2]) <= 2000
    assert photo.source_size == (4000, 3000)


def _png_header_only(path: Path, width: int, height: int) -> None:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, type[InputError], str]]:
    """Each bad input, the error it must raise, and a word its message must contain."""
    cases: dict[str, tuple[Path, type[InputError], str]] = {}
    cases["missing"] = (tmp_path / "nowhere.jpg", FileNotFound, "No such file")
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    cases["folder"] = (folder, InputError, "folder")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    cases["empty"] = (empty, InputError, "empty")
    text = tmp_path / "notes.jpg"
    text.write_text("just some words\n")
    cases["text"] = (text, UnsupportedFile, "text file")
    pdf = tmp_path / "scan.png"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    cases["pdf"] = (pdf, UnsupportedFile, "PDF")
    bmp = tmp_path / "old.bmp"
    _two_tone().save(bmp)
    cases["bmp"] = (bmp, UnsupportedFile, "BMP")
    truncated = tmp_path / "cut.jpg"
    _two_tone(640, 480).save(truncated, quality=90)
    truncated.write_bytes(truncated.read_bytes()[:700])
    cases["truncated"] = (truncated, InputError, "truncated or damaged")
    cut_webp = tmp_path / "cut.webp"
    _two_tone(640, 480).save(cut_webp, quality=90)
    cut_webp.write_bytes(cut_webp.read_bytes()[:40])
    cases["truncated webp"] = (cut_webp, InputError, "looks like a WEBP image but it is truncated")
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as fh:
        fh.truncate(201 * 2**20)  # sparse: no disk used
    cases["too large"] = (huge, FileTooLarge, "too large")
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 30000, 30000)
    cases["too many pixels"] = (bomb, InputError, "megapixels")
    return cases


def test_every_bad_input_names_the_file_and_leaves_no_output(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    for label, (path, error, words) in _bad_inputs(tmp_path).items():
        with pytest.raises(error) as caught:
            render(path, out_dir / "clip.mp4", duration=0.5, aspect="1:1")
        message = caught.value.human()
        assert path.name in message, label
        assert words in message, label
        assert caught.value.exit_code == 2, label
    leftovers = list(out_dir.iterdir()) if out_dir.exists() else []
    assert leftovers == []


def test_bad_options_are_refused_before_any_work(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    _two_tone().save(photo)
    for options in (
        {"intensity": "wild"},
        {"aspect": "4:3"},
        {"duration": 0.0},
        {"duration": float("nan")},
        {"duration": 600.0},
        {"fps": 0},
    ):
        with pytest.raises(InputError):
            render(photo, tmp_path / "x.mp4", **options)
    with pytest.raises(InputError, match="folder"):
        render(photo, tmp_path)
    assert not (tmp_path / "x.mp4").exists()


def test_bad_sound_file_is_named_and_leaves_no_output(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    _two_tone(200, 200).save(photo)
    sound = tmp_path / "song.mp3"
    sound.write_text("not really a song")
    with pytest.raises(UnsupportedFile, match=r"song\.mp3"):
        render(photo, tmp_path / "x.mp4", duration=0.5, aspect="1:1", audio=sound)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "song.mp3"]


def test_small_odd_photo_renders_a_valid_clip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8)).save(tmp_path / "tiny.png")
    result = render(tmp_path / "tiny.png", tmp_path / "tiny.mp4", duration=0.5, aspect="16:9")
    assert (result.width, result.height, result.frames) == (1920, 1080, 15)
    assert result.path.stat().st_size > 0
