"""The clean plate, the refined edge and the unmixed colour, measured on synthetic pictures
whose background (and foreground) is known exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage import measure

from skill.local.render._cv import cv2
from skill.local.render._plate import clean_plate, refine_alpha, unmix_foreground

_H, _W = 640, 480


def _background(kind: str, seed: int = 1) -> NDArray[np.uint8]:
    """A colour gradient with fine noise, and bricks or diagonal stripes on top if asked."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:_H, 0:_W].astype(np.float32)
    base = np.stack(
        [60 + 120 * xx / _W, 90 + 80 * yy / _H, 150 - 60 * (xx + yy) / (_W + _H)], axis=-1
    )
    grain = cv2.GaussianBlur(rng.normal(0, 1, (_H, _W)).astype(np.float32), (0, 0), 1.2)
    texture = grain * 12 + rng.normal(0, 3, (_H, _W))
    if kind == "bricks":
        row = yy // 24
        mortar = ((yy % 24) < 3) | (((xx + np.where(row % 2 == 0, 0, 24)) % 48) < 3)
        texture = texture * 0.4 + np.where(mortar, -45.0, 0.0)
    elif kind == "stripes":
        texture = texture * 0.3 + 30 * np.sin(2 * np.pi * (xx * 0.8 + yy * 0.3) / 20)
    picture: NDArray[np.uint8] = np.clip(base + texture[:, :, None], 0, 255).astype(np.uint8)
    return picture


def _blob(cx: float, cy: float, rx: float, ry: float, scale: int = 1) -> NDArray[np.float32]:
    """A lumpy ellipse (a subject's footprint), anti-aliased when ``scale`` > 1."""
    yy, xx = np.mgrid[0 : _H * scale, 0 : _W * scale] / scale
    angle = np.arctan2(yy - cy, xx - cx)
    radius = np.hypot((xx - cx) / rx, (yy - cy) / ry)
    inside = (radius <= 1 + 0.12 * np.sin(3 * angle) + 0.05 * np.cos(5 * angle)).astype(np.float32)
    shape: NDArray[np.float32] = cv2.resize(inside, (_W, _H), interpolation=cv2.INTER_AREA)
    return shape


def _hole() -> NDArray[np.uint8]:
    return (_blob(240, 340, 130, 200) > 0).astype(np.uint8)


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    luma: NDArray[np.float32] = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return luma


def _band(mask: NDArray[np.uint8], width: int) -> NDArray[np.uint8]:
    kernel = np.ones((3, 3), np.uint8)
    band: NDArray[np.uint8] = cv2.dilate(mask, kernel, iterations=width) - mask
    return band


def _step(rgb: NDArray[np.uint8], hole: NDArray[np.uint8]) -> float:
    """Mean |inside - outside| along the hole's edge: luma averaged over 3 pixels either side
    of it, within a 25-pixel window of each edge pixel (a stripe's period: the texture itself
    averages out, what is left is a step in brightness)."""
    luma = _luma(rgb)
    inner = _band(1 - hole, 3).astype(np.float32)
    outer = _band(hole, 3).astype(np.float32)

    def local(band: NDArray[np.float32]) -> NDArray[np.float32]:
        total = cv2.boxFilter(luma * band, -1, (25, 25), normalize=False)
        count = cv2.boxFilter(band, -1, (25, 25), normalize=False)
        mean: NDArray[np.float32] = total / np.maximum(count, 1e-6)
        return mean

    edge = _band(1 - hole, 1) > 0
    return float(np.abs(local(inner) - local(outer))[edge].mean())


def _roughness(rgb: NDArray[np.uint8], where: NDArray[np.bool_]) -> float:
    """High-frequency energy: the standard deviation of the luma's Laplacian."""
    return float(cv2.Laplacian(_luma(rgb), cv2.CV_32F)[where].std())


@pytest.mark.parametrize("kind", ["grain", "bricks", "stripes"])
def test_plate_rebuilds_a_textured_background_with_no_seam(kind: str) -> None:
    truth = _background(kind)
    hole = _hole()
    photo = truth.copy()
    photo[hole > 0] = (250, 30, 200)  # the subject: nothing of it may show
    reveal = 48  # as deep as a motion uncovers: the texture must be right there
    plate = clean_plate(photo, hole, reveal)
    inside = hole > 0
    assert np.array_equal(plate[~inside], truth[~inside])
    # The colour is right where it matters (what the texture's placement cannot be).
    blur = (49, 25)  # one brick: what is left is the colour, not where the texture sits
    smooth = cv2.blur(plate.astype(np.float32), blur) - cv2.blur(truth.astype(np.float32), blur)
    deep = cv2.erode(hole, np.ones((9, 9), np.uint8)) > 0
    assert float(np.abs(smooth)[deep].mean()) < 6.0
    assert float(np.abs(plate.astype(np.float32) - truth)[inside].mean()) < 25.0
    # No magenta, no flat patch, no line along the old outline.
    assert int(plate[inside][:, 1].min()) > 20 or kind == "bricks"
    step, untouched = _step(plate, hole), _step(truth, hole)
    assert step <= 4.0
    assert step <= 1.5 * untouched
    ring = _band(hole, 30) > 0
    seen = deep & (cv2.erode(hole, np.ones((3, 3), np.uint8), iterations=reveal // 2) == 0)
    ratio = _roughness(plate, seen) / _roughness(truth, ring)
    assert 0.5 < ratio < 2.0


def test_plate_keeps_a_plain_backdrop_plain() -> None:
    photo = np.full((_H, _W, 3), (236, 232, 224), np.uint8)
    hole = _hole()
    photo[hole > 0] = (20, 40, 200)
    plate = clean_plate(photo, hole)
    assert int(np.abs(plate.astype(np.int16) - (236, 232, 224)).max()) <= 2


def test_plate_is_deterministic_and_handles_edges() -> None:
    truth = _background("grain")
    hole = _hole()
    assert np.array_equal(clean_plate(truth, hole), clean_plate(truth.copy(), hole.copy()))
    assert np.array_equal(clean_plate(truth, np.zeros_like(hole)), truth)
    # A subject standing on the bottom edge and touching a side.
    edge = np.zeros_like(hole)
    edge[300:, :200] = 1
    plate = clean_plate(truth, edge)
    assert np.array_equal(plate[edge == 0], truth[edge == 0])
    assert float(np.abs(plate.astype(np.float32) - truth)[edge > 0].mean()) < 20.0
    # Nothing to rebuild from: a neutral grey, not a crash.
    assert int(np.ptp(clean_plate(truth, np.ones_like(hole)))) == 0


def _subject_photo() -> tuple[NDArray[np.uint8], NDArray[np.float32], NDArray[np.float32]]:
    """A red lumpy subject with an anti-aliased edge over a textured background: the photo,
    the true alpha (0..1) and the true background."""
    alpha = _blob(240, 320, 120, 170, scale=4)
    back = _background("grain").astype(np.float32)
    red = np.array([200.0, 60.0, 50.0], np.float32)
    photo = alpha[:, :, None] * red + (1 - alpha[:, :, None]) * back
    return np.clip(photo + 0.5, 0, 255).astype(np.uint8), alpha, back


def _contour_distance(alpha: NDArray[np.float32], truth: NDArray[np.float32]) -> float:
    """Mean distance from ``alpha``'s 50 % contour to the true one."""
    contours: Any = measure.find_contours  # untyped
    found = np.vstack(contours(alpha, 0.5))
    true = np.vstack(contours(truth, 0.5))
    gaps = np.sqrt(((found[:, None, :] - true[None, :, :]) ** 2).sum(axis=-1)).min(axis=1)
    return float(gaps.mean())


@pytest.mark.parametrize("error", ["shifted", "grown", "shrunk"])
def test_refine_alpha_snaps_a_rough_mask_to_the_true_edge(error: str) -> None:
    photo, truth, _ = _subject_photo()
    mask = (truth > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))  # 4 pixels
    rough = {
        "shifted": cv2.warpAffine(
            mask, np.array([[1, 0, 3], [0, 1, -3]], np.float32), (_W, _H), flags=cv2.INTER_NEAREST
        ),
        "grown": cv2.dilate(mask, kernel),
        "shrunk": cv2.erode(mask, kernel),
    }[error]
    before = _contour_distance(rough.astype(np.float32), truth)
    alpha = refine_alpha(photo, rough)
    after = _contour_distance(alpha.astype(np.float32) / np.float32(255), truth)
    assert before > 2.5
    assert after < 1.5
    assert alpha[320, 240] == 255  # deep inside
    assert alpha[10, 10] == 0  # far outside
    assert alpha[_H - 10, _W - 10] == 0


def test_unmix_foreground_recovers_the_subject_colour_at_soft_edges() -> None:
    photo, truth, back = _subject_photo()
    # A wide soft edge: the photo mixes red and background over ~8 pixels.
    soft = cv2.GaussianBlur(truth, (0, 0), 3.0)
    red = np.array([200.0, 60.0, 50.0], np.float32)
    photo = np.clip(soft[:, :, None] * red + (1 - soft[:, :, None]) * back + 0.5, 0, 255)
    photo8 = photo.astype(np.uint8)
    alpha = np.clip(soft * 255 + 0.5, 0, 255).astype(np.uint8)
    plate = np.clip(back + 0.5, 0, 255).astype(np.uint8)
    colour = unmix_foreground(photo8, alpha, plate)
    partial = (alpha > 25) & (alpha < 230)
    assert partial.sum() > 1000
    error = np.abs(colour[partial].astype(np.float32) - red)
    assert float(error.mean()) < 3.0
    # Just beyond the edge the subject's colour is carried on, not the old background.
    faint = (alpha > 0) & (alpha <= 25)
    assert float(np.abs(colour[faint].astype(np.float32) - red).mean()) < 6.0
    opaque = alpha == 255
    assert np.array_equal(colour[opaque], photo8[opaque])
