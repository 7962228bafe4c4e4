"""The local renderer end to end: real renders, decoded and measured."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from skimage import data

from skill.local.render import RenderResult, make_preview, render
from skill.local.render._title import title_overlay

pytestmark = pytest.mark.slow


def _luma_frames(path: Path) -> NDArray[np.int16]:
    with av.open(str(path)) as container:
        planes = [
            frame.to_ndarray(format="yuv420p")[: frame.height].astype(np.int16)
            for frame in container.decode(video=0)
        ]
    return np.stack(planes)


def _write_tone(path: Path, seconds: float, rate: int = 44100) -> None:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * math.pi * 440 * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(tone.tobytes())


def _blob_photo(path: Path) -> None:
    """A red textured blob standing on the lower edge of a plain wall, a busy patch far off
    (up and to the right of it, where a crop around the blob still shows it)."""
    rng = np.random.default_rng(7)
    height, width = 900, 900
    img = np.full((height, width, 3), (236, 232, 224), np.float32)
    img += rng.normal(0, 1.2, img.shape)
    yy, xx = np.mgrid[0:height, 0:width]
    inside = ((xx - 450) / 190) ** 2 + ((yy - 560) / 300) ** 2 <= 1
    stripes = 25 * np.sin(xx / 6.0)[..., None]
    img[inside] = (np.array([200, 40, 60]) + stripes)[inside]
    checker = ((xx // 12 + yy // 12) % 2)[..., None] * 120 + 60
    patch = (yy >= 200) & (yy < 280) & (xx >= 680) & (xx < 760)
    img[patch] = np.broadcast_to(checker, img.shape)[patch]
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


@pytest.fixture(scope="module")
def astronaut_render(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    folder = tmp_path_factory.mktemp("astronaut")
    photo = folder / "astronaut.jpg"
    pixels = data.astronaut()  # type: ignore[no-untyped-call]
    Image.fromarray(pixels).save(photo, quality=92)
    tone = folder / "tone.wav"
    _write_tone(tone, 1.3)
    return render(
        photo,
        folder / "out" / "astronaut.mp4",
        intensity="medium",
        aspect="1:1",
        duration=3.0,
        title="太空 Day",
        audio=tone,
        audio_volume=0.5,
    )


@pytest.fixture(scope="module")
def blob_renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderResult]:
    folder = tmp_path_factory.mktemp("blob")
    photo = folder / "blob.png"
    _blob_photo(photo)
    return {
        level: render(photo, folder / f"{level}.mp4", intensity=level, aspect="1:1", duration=1.6)
        for level in ("subtle", "strong")
    }


def test_stream_is_tagged_h264_yuv420p_with_exact_frames_and_duration(
    astronaut_render: RenderResult,
) -> None:
    result = astronaut_render
    assert result.path.is_file()
    assert (result.width, result.height, result.frames) == (1080, 1080, 90)
    with av.open(str(result.path)) as container:
        video = container.streams.video[0]
        context = video.codec_context
        assert context.name == "h264"
        assert (context.width, context.height) == (1080, 1080)
        assert context.pix_fmt == "yuv420p"
        assert int(context.colorspace) == 1  # BT.709 matrix, as _yuv converts
        assert int(context.color_primaries) == 1
        assert int(context.color_trc) == 1
        assert int(context.color_range) == 1  # TV range
        assert video.average_rate == 30
        assert video.duration is not None
        assert video.time_base is not None
        assert float(video.duration * video.time_base) == pytest.approx(3.0, abs=1e-6)
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == 90


def test_moov_comes_before_media_data(astronaut_render: RenderResult) -> None:
    head = astronaut_render.path.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


def test_sound_is_aac_looped_to_the_clip(astronaut_render: RenderResult) -> None:
    with av.open(str(astronaut_render.path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        samples = np.concatenate(
            [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
        )
        assert audio.duration is not None
        assert audio.time_base is not None
        seconds = float(audio.duration * audio.time_base)
    assert seconds == pytest.approx(3.0, abs=0.05)
    # The 1.3 s tone plays through the whole clip (looped), scaled to about half volume.
    assert 0.08 < float(np.abs(samples).max()) < 0.25
    late = samples[int(len(samples) * 0.8) :]
    assert float(np.sqrt(np.mean(late**2))) > 0.03


def test_loop_seam_is_like_any_other_frame_step(astronaut_render: RenderResult) -> None:
    frames = _luma_frames(astronaut_render.path)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    seam = float(np.abs(frames[0] - frames[-1]).mean())
    assert steps.max() > 0.2  # it moves
    assert seam <= float(steps.max())
    assert seam <= 2 * float(np.median(steps)) + 0.5


def test_background_far_from_the_subject_stays_still(blob_renders: dict[str, RenderResult]) -> None:
    result = blob_renders["strong"]
    frames = _luma_frames(result.path)
    # The busy patch, where the photo's placement puts it on the canvas.
    scale, dx, dy = result.placement
    x0, x1 = round(680 * scale + dx) + 2, round(760 * scale + dx) - 2
    y0, y1 = round(200 * scale + dy) + 2, round(280 * scale + dy) - 2
    assert 0 <= x0 < x1 <= result.width
    assert 0 <= y0 < y1 <= result.height
    corner = frames[:, y0:y1, x0:x1]
    assert float(corner.std()) > 20  # it really is textured
    change = np.abs(corner - corner[0]).max(axis=0)
    assert float(np.percentile(change, 99)) <= 4


def _blob_extent(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Height and area of the red blob in each frame (red: high Cr)."""
    heights, areas = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            planes = frame.to_ndarray(format="yuv420p")
            h = frame.height
            cr = planes[h + h // 4 :].reshape(h // 2, frame.width // 2)
            red = cr > 170
            rows = np.flatnonzero(red.any(axis=1))
            heights.append(float(rows[-1] - rows[0] + 1))
            areas.append(float(red.sum()))
    return np.array(heights), np.array(areas)


@pytest.mark.parametrize(
    ("level", "low", "high"), [("subtle", 0.012, 0.045), ("strong", 0.06, 0.2)]
)
def test_squash_amplitude_matches_intensity_with_area_kept(
    blob_renders: dict[str, RenderResult], level: str, low: float, high: float
) -> None:
    heights, areas = _blob_extent(blob_renders[level].path)
    rest = float(np.median(heights))
    squash = float(np.abs(heights / rest - 1).max())
    assert low <= squash <= high
    area_change = float(np.abs(areas / np.median(areas) - 1).max())
    assert area_change < 0.5 * squash  # squash and stretch, not shrink and grow


def test_preview_sheet_shows_four_frames(astronaut_render: RenderResult, tmp_path: Path) -> None:
    sheet = make_preview(astronaut_render, tmp_path / "sheet.png")
    with Image.open(sheet) as image:
        assert image.format == "PNG"
        assert image.width > 3 * image.height  # four square frames in a row
    from_path = make_preview(astronaut_render.path, tmp_path / "again.png")
    assert from_path.is_file()


def test_cjk_title_renders_real_glyphs() -> None:
    first = title_overlay("你", (1080, 1920))
    second = title_overlay("好", (1080, 1920))
    assert first is not None
    assert second is not None
    # Missing glyphs would all draw the same empty box.
    assert first.rgba.shape == second.rgba.shape
    assert np.abs(first.rgba[:, :, 3].astype(int) - second.rgba[:, :, 3]).sum() > 10_000
    assert title_overlay("   ", (1080, 1920)) is None


def test_long_title_wraps_inside_safe_margins() -> None:
    overlay = title_overlay(
        "A very long title that certainly needs more than one line", (1080, 1920)
    )
    assert overlay is not None
    ink = np.flatnonzero(overlay.rgba[:, :, 3].max(axis=0) > 128) + overlay.x
    assert ink.min() >= 0.06 * 1080
    assert ink.max() <= 0.94 * 1080
