"""The clean plate, measured on synthetic pictures whose background is known exactly."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from skill.local.render._cv import cv2
from skill.local.render._plate import clean_plate
from tests._pictures import HEIGHT as _H
from tests._pictures import WIDTH as _W
from tests._pictures import lumpy_blob, wall


def _hole() -> NDArray[np.uint8]:
    return (lumpy_blob(240, 340, 130, 200) > 0).astype(np.uint8)


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
    truth = wall(kind)
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
    # (as the video's ghost measure: at most 4 levels above what the true background gives
    # at the same places, a fill that continues the pattern has the pattern's own steps)
    step, untouched = _step(plate, hole), _step(truth, hole)
    assert step <= untouched + 4.0
    assert step <= 1.5 * untouched
    ring = _band(hole, 30) > 0
    seen = deep & (cv2.erode(hole, np.ones((3, 3), np.uint8), iterations=reveal // 2) == 0)
    ratio = _roughness(plate, seen) / _roughness(truth, ring)
    assert 0.5 < ratio < 2.0


# Known gap: each piece of the edge copies with one offset, and a band cell takes its nearest
# piece's, so a lone thin line met at some slants shows doubled or broken near the old
# outline. Strict: these start failing (and so need unmarking) the day that is fixed.
_LINE_GAP = pytest.mark.xfail(
    strict=True, reason="per-piece copy offsets break a lone thin line at some slants"
)


@pytest.mark.parametrize(
    "slope",
    [
        pytest.param(0.0, marks=_LINE_GAP),
        0.35,
        pytest.param(-0.6, marks=_LINE_GAP),
    ],
)
def test_plate_continues_a_straight_line_across_the_edge(slope: float) -> None:
    """A thin dark line on a plain wall, crossing the hole's edge: in the revealed band it
    carries straight on where it truly lies (no jump, no bend, no reflected "V")."""
    photo = np.full((_H, _W, 3), 180, np.uint8)
    hole = _hole()
    x0 = 20.0
    ys = np.arange(_H, dtype=np.float64)
    centre_y = 300 + slope * (np.arange(_W) - x0)  # the line, y as a function of x
    yy = ys[:, None]
    dark = np.clip(1.5 - np.abs(yy - centre_y[None, :]), 0, 1)
    photo = np.clip(photo - 100 * dark[:, :, None], 0, 255).astype(np.uint8)
    photo[hole > 0] = (250, 30, 200)
    reveal = 48
    plate = clean_plate(photo, hole, reveal)
    luma = _luma(plate)
    dist = cv2.distanceTransform(hole, cv2.DIST_L2, 3)
    errors = []
    for x in range(_W):
        true_y = centre_y[x]
        row = round(float(true_y))
        if not 20 <= row < _H - 20 or not 3 <= dist[row, x] <= reveal / 2:
            continue
        window = np.arange(row - 12, row + 13)
        darkness = np.clip(180 - luma[window, x], 0, None)
        assert darkness.max() > 40, (x, row)  # the line is there, not faded out
        found = float((window * darkness).sum() / darkness.sum())
        errors.append(abs(found - true_y))
    assert len(errors) > 10
    assert float(np.mean(errors)) < 1.0
    assert float(np.max(errors)) < 2.5


def test_plate_keeps_a_plain_backdrop_plain() -> None:
    photo = np.full((_H, _W, 3), (236, 232, 224), np.uint8)
    hole = _hole()
    photo[hole > 0] = (20, 40, 200)
    plate = clean_plate(photo, hole)
    assert int(np.abs(plate.astype(np.int16) - (236, 232, 224)).max()) <= 2


def test_plate_is_deterministic_and_handles_edges() -> None:
    truth = wall("grain")
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
