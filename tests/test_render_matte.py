"""The subject's refined edge and unmixed colour, measured on synthetic pictures whose
foreground and background are known exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage import measure

from skill.local.render._cv import cv2
from skill.local.render._matte import refine_alpha, unmix_foreground
from tests._pictures import HEIGHT as _H
from tests._pictures import WIDTH as _W
from tests._pictures import lumpy_blob, wall


def _subject_photo() -> tuple[NDArray[np.uint8], NDArray[np.float32], NDArray[np.float32]]:
    """A red lumpy subject with an anti-aliased edge over a textured background: the photo,
    the true alpha (0..1) and the true background."""
    alpha = lumpy_blob(240, 320, 120, 170, scale=4)
    back = wall("grain").astype(np.float32)
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
