"""The background behind the subject, rebuilt once, and the subject's edge and colour.

What the subject uncovers when it squashes or sways must look like the rest of the
background: the same brightness, the same grain and texture, no trace of the old outline. So
the plate is rebuilt *entirely* from pixels outside the subject's footprint:

* structure: the photo's colour and light at 1/``_COARSE`` size, the footprint filled there
  with the smoothest surface through its rim (a gradient carries straight on through);
* detail: everything finer (texture, grain, out-of-focus blobs), each pixel taking the detail
  at its reflection in the nearest pixel outside, as deep as the motion can ever uncover. A
  reflection is continuous at the edge (no seam, no line along the old outline) and keeps the
  texture's scale and contrast; deeper in, which nothing uncovers, the detail fades out.

Then the subject's side: :func:`refine_alpha` snaps the rough mask's edge onto the photo's
own (a colour guided filter), and :func:`unmix_foreground` takes the old background out of
the partly transparent edge pixels, so a soft edge carries none of it when it moves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["clean_plate", "refine_alpha", "unmix_foreground"]

_COARSE = 32  # the structure (colour, light) is rebuilt at 1/32 size; finer is reflected
_STRUCTURE_SUPPORT = 0.1  # a small pixel with this share of known photo under it is known
_RELAX = 16  # Jacobi steps at that size
_RELAX_COARSE = 64  # ... and at each coarser level of its pyramid
_MIRROR_FADE = 0.35  # the rebuilt detail fades out over the last 35 % of its depth
_MIRROR_FULL = 3.0  # up to this deep the detail is reflected alone (no seam at the edge)
_MIRROR_DEEP = 10.0  # ... then copied straight from further out, alone from this depth
_NORMAL_SMOOTH = 12.0  # pixels of blur of the hole whose slope says which way is out
_MIRROR_MARGIN = 8  # extra pixels of ring around the hole the work box keeps
_BOUNCES = 4  # reflections tried when the first lands in the hole again (a thin strip)
_ALPHA_BAND = 8  # pixels either side of the rough outline where the true edge may lie
_ALPHA_SCALE = 2  # the guided filter runs at half size
_ALPHA_RADIUS = 4  # its box radius, in those half-size pixels
_ALPHA_EPS = 1e-3  # its regularisation: small, so the alpha follows the photo's edges
_ALPHA_PASSES = 2  # passes of it
_ALPHA_TIGHTEN = (0.2, 0.8)  # the alpha's ramp is re-stretched from this range to 0..1
_UNMIX_SURE = 0.3  # alpha above which the unmixed colour is trusted as it is
_UNMIX_REACH = 6  # pixels beyond the alpha's edge the subject's colour is carried

Image = NDArray[np.uint8]
Mask = NDArray[np.uint8]


# -- the plate --------------------------------------------------------------------------------


def clean_plate(rgb: Image, hole: Mask, reveal: int | None = None) -> Image:
    """``rgb`` with every pixel of ``hole`` (0/1) rebuilt from the pixels outside it only.

    ``reveal``: how deep into the hole anything is ever seen (the motion's reach, in pixels);
    the reflection fills that band, a smooth inpaint the rest. None: reflect everywhere.
    Pixels outside ``hole`` come back bit-identical; nothing in the hole is ever used.
    """
    height, width = hole.shape
    out = rgb.copy()
    hole = (hole > 0).astype(np.uint8)
    hx, hy, hw, hh = cv2.boundingRect(hole)
    if hw == 0:
        return out
    if hole.all():  # nothing to rebuild from: a neutral grey, not a crash
        out[:] = 128
        return out
    depth_limit = float(max(hw, hh)) if reveal is None else float(max(4, reveal))
    # Work on the hole's box and the ring around it the reflections reach into.
    margin = round(min(depth_limit, max(hw, hh) / 2)) + _MIRROR_MARGIN
    x0, y0 = max(0, hx - margin), max(0, hy - margin)
    x1, y1 = min(width, hx + hw + margin), min(height, hy + hh + margin)
    box_rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    box_hole = np.ascontiguousarray(hole[y0:y1, x0:x1])
    if box_hole.all():  # the ring is off the picture: widen to all of it
        x0, y0, x1, y1 = 0, 0, width, height
        box_rgb, box_hole = rgb, hole
    dist, labels = cv2.distanceTransformWithLabels(
        box_hole, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    nearest = np.flatnonzero(box_hole.ravel() == 0)[labels.ravel() - 1]
    ys, xs = np.nonzero(box_hole)
    depth = dist[ys, xs]
    # Reflection alone near the edge, easing into the smooth fill by ``depth_limit``.
    share = np.clip((depth_limit - depth) / (_MIRROR_FADE * depth_limit), 0.0, 1.0)
    share = (share * share * (3 - 2 * share))[:, None]
    structure = _structure(box_rgb, box_hole)
    detail = (box_rgb.astype(np.float32) - structure).reshape(-1, 3)
    mirrored = detail[_mirror_sources(box_hole, nearest, ys, xs)]
    # Deeper than a few pixels a reflection would turn a pattern (bricks, stripes) into a
    # zigzag: there the detail is copied straight, from ``depth_limit`` further out along
    # the edge's normal, which moves a pattern without turning it.
    shifted, found = _shifted_sources(box_hole, ys, xs, depth_limit + _MIRROR_DEEP)
    straight = np.clip((depth - _MIRROR_FULL) / (_MIRROR_DEEP - _MIRROR_FULL), 0.0, 1.0)
    straight = (straight * found)[:, None]
    grain = mirrored + (detail[shifted] - mirrored) * straight
    fill = structure[ys, xs].astype(np.float32) + grain * share
    box_out = box_rgb.copy()
    box_out[ys, xs] = np.clip(fill + 0.5, 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = box_out
    return out


def _structure(rgb: Image, hole: Mask) -> Image:
    """The picture's coarse structure everywhere, the hole's a smooth membrane over it.

    A Gaussian pyramid (a clean low-pass: what is left above it, the detail, holds all the
    stripes and grain, not an aliased share of them) of the known pixels alone, normalised
    by their share (no subject colour leaks in: hole pixels weigh nothing); at 1/``_COARSE``
    size a pixel counts as known if enough of its footprint is, so right up to the hole the
    structure is the photo's own low-pass and the detail left above it has no step in it.
    The hole is filled there with the harmonic (smoothest) surface through its rim: a gradient
    carries straight through, a lit patch fades out gently, and no average colour sits as a
    flat blob.
    """
    known = (1 - hole).astype(np.float32)
    colour = rgb.astype(np.float32) * known[:, :, None]
    sizes: list[tuple[int, int]] = []
    while (1 << len(sizes)) < _COARSE and min(colour.shape[:2]) > 8:
        sizes.append((colour.shape[1], colour.shape[0]))
        colour, known = cv2.pyrDown(colour), cv2.pyrDown(known)
    small: NDArray[np.float32] = (colour / np.maximum(known, 1e-6)[:, :, None]).astype(np.float32)
    clean = (known > _STRUCTURE_SUPPORT).astype(np.float32)
    if not clean.any():  # no clean small pixel: the average of what is known, flat
        small[:] = rgb[hole == 0].mean(axis=0)
    else:
        small = _membrane(small, clean)
    for size in reversed(sizes[1:]):
        small = cv2.pyrUp(small, dstsize=size)
    big = np.clip(small + np.float32(0.5), 0, 255).astype(np.uint8)
    if sizes:
        big = cv2.pyrUp(big, dstsize=sizes[0])
    out: Image = big
    return out


def _membrane(
    colour: NDArray[np.float32], known: NDArray[np.float32], finest: bool = True
) -> NDArray[np.float32]:
    """Laplace's equation solved in the unknown pixels, the known ones fixed: coarse to fine.

    Each level down averages the known pixels only (a pixel at least half known counts as
    known there); the coarsest is filled with their mean; on the way up each level starts
    from the coarser answer and relaxes (Jacobi), more often where pixels are few and cheap.
    """
    if min(colour.shape[:2]) <= 4:
        if known.any():
            mean = (colour * known[:, :, None]).sum(axis=(0, 1)) / known.sum()
            colour = colour * known[:, :, None] + mean * (1 - known[:, :, None])
        return _relax(colour, known, _RELAX_COARSE)
    down_known = cv2.pyrDown(known)
    down = cv2.pyrDown(colour * known[:, :, None]) / np.maximum(down_known, 1e-6)[:, :, None]
    coarse = _membrane(down.astype(np.float32), (down_known > 0.5).astype(np.float32), False)
    start = cv2.pyrUp(coarse, dstsize=(colour.shape[1], colour.shape[0]))
    mixed = colour * known[:, :, None] + start * (1 - known[:, :, None])
    return _relax(mixed, known, _RELAX if finest else _RELAX_COARSE)


def _relax(
    colour: NDArray[np.float32], known: NDArray[np.float32], steps: int
) -> NDArray[np.float32]:
    kernel = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)
    fixed = colour * known[:, :, None]
    free = (1 - known)[:, :, None]
    for _ in range(steps):
        colour = fixed + cv2.filter2D(colour, -1, kernel, borderType=cv2.BORDER_REPLICATE) * free
    return colour


def _mirror_sources(
    hole: Mask, nearest: NDArray[np.intp], py: NDArray[np.intp], px: NDArray[np.intp]
) -> NDArray[np.intp]:
    """For hole pixels ``(py, px)``, the flat index of a known pixel to copy detail from.

    Each hole pixel ``p`` reflects in its nearest known pixel ``q``: ``2q - p``. Where that
    lands in the hole again (a thin strip of background between two parts of it), it is
    reflected again from there, a few times; off the picture it is mirrored at the border.
    What still finds nothing takes ``q`` itself.
    """
    height, width = hole.shape
    flat_hole = hole.ravel() > 0
    q = nearest[py * width + px]
    first = q
    pending = np.ones(len(q), bool)
    result: NDArray[np.intp] = q.copy()
    for _ in range(_BOUNCES):
        qy, qx = np.divmod(q, width)
        ry = _reflect_into(2 * qy - py, height)
        rx = _reflect_into(2 * qx - px, width)
        r = ry * width + rx
        landed = pending & ~flat_hole[r]
        result[landed] = r[landed]
        pending &= flat_hole[r]
        if not pending.any():
            break
        py, px, q = ry, rx, nearest[r]
    result[pending] = first[pending]
    return result


def _shifted_sources(
    hole: Mask, py: NDArray[np.intp], px: NDArray[np.intp], length: float
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """For hole pixels ``(py, px)``, the flat index of the pixel ``length`` away outwards, and
    1 where that one is known (else 0).

    "Outwards" is down the slope of the hole mask blurred wide: a direction that turns
    smoothly along the edge, so the copied texture bends gently round a curve instead of
    breaking up where the nearest edge pixel jumps.
    """
    height, width = hole.shape
    soft = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), _NORMAL_SMOOTH)
    dy = -cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)[py, px].astype(np.float64)
    dx = -cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)[py, px].astype(np.float64)
    norm = np.hypot(dy, dx)
    flat = norm < 1e-6
    norm[flat] = 1.0
    sy = _reflect_into(np.round(py + dy / norm * length).astype(np.intp), height)
    sx = _reflect_into(np.round(px + dx / norm * length).astype(np.intp), width)
    source = sy * width + sx
    found = ((hole.ravel()[source] == 0) & ~flat).astype(np.float64)
    return source, found


def _reflect_into(at: NDArray[np.intp], size: int) -> NDArray[np.intp]:
    """Coordinates mirrored at the picture's borders (``-1`` -> ``1``), then clamped."""
    at = np.abs(at)
    at = np.where(at > size - 1, 2 * (size - 1) - at, at)
    clamped: NDArray[np.intp] = np.clip(at, 0, size - 1)
    return clamped


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
    snapped = src
    # Twice: the first pass moves the edge most of the way, the second sharpens it there.
    for _ in range(_ALPHA_PASSES):
        snapped = np.clip(_guided_filter_colour(colour, snapped, _ALPHA_RADIUS, _ALPHA_EPS), 0, 1)
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
