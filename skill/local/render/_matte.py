"""The subject's side of the cut: its edge and its colour there.

The mask was found at a few hundred pixels across, so its outline is off by several canvas
pixels: :func:`refine_alpha` snaps it onto the photo's own edges (a colour guided filter), so
hair and fur edges get partial alpha and move with the subject. :func:`unmix_foreground` takes
the old background out of the partly transparent edge pixels, so a soft edge carries none of
it when it moves over the rebuilt plate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["refine_alpha", "unmix_foreground"]

_ALPHA_BAND = 8  # pixels either side of the rough outline where the true edge may lie
_ALPHA_SCALE = 2  # the guided filter runs at half size
_ALPHA_RADIUS = 4  # its box radius, in those half-size pixels
_ALPHA_EPS = 1e-3  # its regularisation: small, so the alpha follows the photo's edges
_ALPHA_TIGHTEN = (0.2, 0.8)  # the alpha's ramp is re-stretched from this range to 0..1
_UNMIX_SURE = 0.3  # alpha above which the unmixed colour is trusted as it is
_UNMIX_REACH = 6  # pixels beyond the alpha's edge the subject's colour is carried

Image = NDArray[np.uint8]
Mask = NDArray[np.uint8]


# -- the subject's edge -----------------------------------------------------------------------


def refine_alpha(rgb: Image, core: Mask) -> Image:
    """The rough subject mask ``core`` (0/1) as an alpha (0..255) on the photo's own edges.

    The mask was found at a few hundred pixels across, so its outline is off by several
    pixels. Within a band that wide either side of it, a guided filter with the photo's
    colour as guide re-draws the edge: where the photo has an edge the alpha steps there;
    hair and fur get partial values that follow their strands. Deeper inside the alpha is
    255, further out 0, whatever the photo looks like.
    """
    height, width = core.shape
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _ALPHA_BAND + 1,) * 2)
    core = (core > 0).astype(np.uint8)
    sure = cv2.erode(core, kernel, borderType=cv2.BORDER_REPLICATE)
    maybe = cv2.dilate(core, kernel)
    alpha: Image = sure * np.uint8(255)
    bx, by, bw, bh = cv2.boundingRect(maybe)
    if bw == 0:
        return alpha
    pad = (_ALPHA_RADIUS + 2) * _ALPHA_SCALE
    x0, y0 = max(0, bx - pad), max(0, by - pad)
    x1, y1 = min(width, bx + bw + pad), min(height, by + bh + pad)
    size = (max(2, (x1 - x0) // _ALPHA_SCALE), max(2, (y1 - y0) // _ALPHA_SCALE))
    guide = cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    # The rough guess: the mask, its edge softened across the band.
    rough = cv2.GaussianBlur(core[y0:y1, x0:x1].astype(np.float32), (0, 0), _ALPHA_BAND / 2)
    src = cv2.resize(rough, size, interpolation=cv2.INTER_AREA)
    colour = guide.astype(np.float32) * np.float32(1 / 255)
    # One pass moves the edge onto the photo's; the tightening below sharpens it there.
    snapped = np.clip(_guided_filter_colour(colour, src, _ALPHA_RADIUS, _ALPHA_EPS), 0, 1)
    big = cv2.resize(snapped, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    # Where the photo shows no edge (a plain backdrop) the filter keeps the rough guess's wide
    # ramp: a faint halo that would travel with the subject. Tighten every ramp around its
    # middle; a true edge is already steep and barely changes.
    lo, hi = _ALPHA_TIGHTEN
    big = np.clip((big - lo) / (hi - lo), 0.0, 1.0)
    big = big * big * (3 - 2 * big)
    edge = np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8)
    band = (maybe[y0:y1, x0:x1] > 0) & (sure[y0:y1, x0:x1] == 0)
    alpha[y0:y1, x0:x1][band] = edge[band]
    return alpha


def _box(a: NDArray[np.float32], radius: int) -> NDArray[np.float32]:
    out: NDArray[np.float32] = cv2.boxFilter(
        a, -1, (2 * radius + 1,) * 2, borderType=cv2.BORDER_REFLECT
    )
    return out


def _guided_filter_colour(
    guide: NDArray[np.float32], src: NDArray[np.float32], radius: int, eps: float
) -> NDArray[np.float32]:
    """He, Sun and Tang's guided filter with a colour guide: ``src`` made locally a linear
    function of the guide's three channels, so it steps wherever the colour does (an edge
    between two colours of equal brightness included, which a grey guide misses)."""
    mean_i = _box(guide, radius)  # (h, w, 3)
    mean_p = _box(src, radius)
    cov_ip = _box(guide * src[:, :, None], radius) - mean_i * mean_p[:, :, None]
    # The guide's 3x3 covariance per pixel, regularised; solved by the adjugate.
    var = {}
    for i in range(3):
        for j in range(i, 3):
            var[i, j] = (
                _box(guide[:, :, i] * guide[:, :, j], radius) - mean_i[:, :, i] * mean_i[:, :, j]
            )
    e = np.float32(eps)
    s00, s01, s02 = var[0, 0] + e, var[0, 1], var[0, 2]
    s11, s12, s22 = var[1, 1] + e, var[1, 2], var[2, 2] + e
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    cx, cy, cz = cov_ip[:, :, 0], cov_ip[:, :, 1], cov_ip[:, :, 2]
    a = np.empty_like(guide)
    a[:, :, 0] = (c00 * cx + c01 * cy + c02 * cz) / det
    a[:, :, 1] = (c01 * cx + c11 * cy + c12 * cz) / det
    a[:, :, 2] = (c02 * cx + c12 * cy + c22 * cz) / det
    b = mean_p - (a * mean_i).sum(axis=2)
    result: NDArray[np.float32] = (_box(a, radius) * guide).sum(axis=2) + _box(b, radius)
    return result.astype(np.float32)


# -- the subject's colour ---------------------------------------------------------------------


def unmix_foreground(rgb: Image, alpha: Image, plate: Image) -> Image:
    """The subject's own colour: where ``alpha`` is partial, the plate's share taken out.

    The photo is ``I = a F + (1 - a) B``; with ``B`` the clean plate, ``F = (I - (1 - a) B) / a``.
    Below ``_UNMIX_SURE`` that division amplifies any error in ``B``, so there the colour
    leans towards the nearest surer pixels' (and beyond the edge is theirs alone): the
    layer's edge is resampled with its alpha, and the clear pixels next to it must carry
    the subject's colour too, not the old background.
    """
    out = rgb.copy()
    soft = alpha < 255
    grown = cv2.dilate(
        (alpha > 0).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=_UNMIX_REACH
    )
    bx, by, bw, bh = cv2.boundingRect(grown & soft.astype(np.uint8))
    if bw == 0:
        return out
    x0, y0 = max(0, bx - 1), max(0, by - 1)
    x1, y1 = min(rgb.shape[1], bx + bw + 1), min(rgb.shape[0], by + bh + 1)
    a = alpha[y0:y1, x0:x1].astype(np.float32)[:, :, None] * np.float32(1 / 255)
    image = rgb[y0:y1, x0:x1].astype(np.float32)
    back = plate[y0:y1, x0:x1].astype(np.float32)
    unmixed = np.clip((image - (1 - a) * back) / np.maximum(a, np.float32(1e-3)), 0, 255)
    # The sure pixels' colour, carried outwards to each pixel from its nearest sure one.
    unsure = (a[:, :, 0] < _UNMIX_SURE).astype(np.uint8)
    if unsure.all():
        return out
    _, labels = cv2.distanceTransformWithLabels(
        unsure, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    sure_at = np.flatnonzero(unsure.ravel() == 0)
    carried = unmixed.reshape(-1, 3)[sure_at[labels.ravel() - 1]].reshape(unmixed.shape)
    weight = np.clip(a / np.float32(_UNMIX_SURE), 0, 1)
    colour = carried + (unmixed - carried) * weight
    box_soft = soft[y0:y1, x0:x1] & (grown[y0:y1, x0:x1] > 0)
    out[y0:y1, x0:x1][box_soft] = np.clip(colour[box_soft] + 0.5, 0, 255).astype(np.uint8)
    return out
