"""The background behind the subject, rebuilt once, and the subject's edge and colour.

What the subject uncovers when it squashes or sways must look like the rest of the
background: the same brightness, the same grain, no trace of the old outline. So the plate
is rebuilt *entirely* from pixels outside the subject's footprint, in two parts:

* structure: the photo at 1/``_COARSE`` size, the footprint inpainted there (cheap however
  large the hole), enlarged again;
* grain: the photo's own detail (photo minus that structure) mirrored across the hole's
  edge, each hole pixel taking the detail at its reflection in the nearest known pixel.
  A reflection is locally an isometry, so the texture keeps its scale, contrast and
  orientation along the edge, and it joins the untouched photo with no seam.

Then the subject's side: :func:`refine_alpha` snaps the rough mask's edge onto the photo's
own (a colour guided filter), and :func:`unmix_foreground` takes the old background out of
the partly transparent edge pixels, so a soft edge carries none of it when it moves.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["clean_plate", "refine_alpha", "unmix_foreground"]

_COARSE = 16  # the structure is rebuilt at 1/16 size; detail finer than that is copied
_RELAX = 16  # Jacobi steps at that size
_RELAX_COARSE = 64  # ... and at each coarser level of its pyramid
_BLOCK = 16  # the copied blocks are twice this across and overlap by half
_REACH_TRIES = 6  # lengths tried (in blocks beyond the nearest clean pixel) for each copy
_RING = 6  # pixels of known ring outside the hole that the copies are aligned with
_ALIGN = 8  # pixels a sector's shift may be nudged by, either way, to align its texture
_ALIGN_SAMPLES = 400  # ring pixels compared per sector
_MIRROR_FULL = 3.0  # up to this deep into the hole the detail is mirrored alone
_MIRROR_DEEP = 10.0  # ... fading to copied blocks alone by this depth
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


def clean_plate(rgb: Image, hole: Mask) -> Image:
    """``rgb`` with every pixel of ``hole`` (0/1) rebuilt from the pixels outside it only.

    Pixels outside ``hole`` come back bit-identical. The hole is expected to cover the
    subject's whole footprint, soft edge and all: nothing in it is ever used.
    """
    height, width = hole.shape
    out = rgb.copy()
    hole = (hole > 0).astype(np.uint8)
    hx, hy, hw, hh = cv2.boundingRect(hole)
    if hw == 0:
        return out
    if hw == width and hh == height and hole.all():
        raise ValueError("the hole covers the whole picture: nothing to rebuild it from")
    # Work on the hole's box and enough around it for every copy to come from inside.
    margin = min(hw, hh) // 2 + 8 * _BLOCK
    x0, y0 = max(0, hx - margin), max(0, hy - margin)
    x1, y1 = min(width, hx + hw + margin), min(height, hy + hh + margin)
    box_rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    box_hole = np.ascontiguousarray(hole[y0:y1, x0:x1])
    structure = _structure(box_rgb, box_hole)
    detail = cv2.subtract(box_rgb, structure, dtype=cv2.CV_16S)  # the grain, signed
    # Only the hole's own box is rebuilt: ``(hx, hy)`` relative to the work box.
    inner = (hx - x0, hy - y0, hw, hh)
    grain = _grain(detail, box_hole, inner)
    ix, iy = inner[0], inner[1]
    base = structure[iy : iy + hh, ix : ix + hw].astype(np.float32)
    filled = np.clip(base + grain + np.float32(0.5), 0, 255).astype(np.uint8)
    where = hole[hy : hy + hh, hx : hx + hw] > 0
    out[hy : hy + hh, hx : hx + hw][where] = filled[where]
    return out


def _structure(rgb: Image, hole: Mask) -> Image:
    """The picture's coarse structure everywhere, the hole's a smooth membrane over it.

    A Gaussian pyramid (a clean low-pass: what is left above it, the detail, holds all the
    stripes and grain, not an aliased share of them) of the known pixels alone, normalised
    by their share; at 1/``_COARSE`` size a pixel counts as known only if none of its
    footprint is hole, so no subject colour leaks in. The hole is filled there with the
    harmonic (smoothest) surface through its rim: a gradient carries straight through, a lit
    patch fades out gently, and no average colour sits as a flat blob.
    """
    known = (1 - hole).astype(np.float32)
    colour = rgb.astype(np.float32) * known[:, :, None]
    sizes: list[tuple[int, int]] = []
    while (1 << len(sizes)) < _COARSE and min(colour.shape[:2]) > 8:
        sizes.append((colour.shape[1], colour.shape[0]))
        colour, known = cv2.pyrDown(colour), cv2.pyrDown(known)
    small: NDArray[np.float32] = (colour / np.maximum(known, 1e-6)[:, :, None]).astype(np.float32)
    clean = (known > 0.9999).astype(np.float32)
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


def _grain(
    detail: NDArray[np.int16], hole: Mask, inner: tuple[int, int, int, int]
) -> NDArray[np.float32]:
    """The fine detail for the hole's box ``inner`` (x, y, w, h in ``detail``), from outside.

    Two sources, crossfaded by depth. Along the edge, each pixel mirrors the detail across
    it (see :func:`_mirror_sources`): a reflection matches the outside texture exactly at the
    edge, so there is no seam. Deeper in, a reflection would turn the texture (bricks laid at
    the angle of the outline) and fold it along the hole's spine, so there overlapping
    blocks are copied *straight* from outside (:func:`_block_offsets`), feathered together.
    """
    ix, iy, iw, ih = inner
    dist, labels = cv2.distanceTransformWithLabels(
        hole, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    flat_hole = hole.ravel() > 0
    nearest = np.flatnonzero(~flat_hole)[labels.ravel() - 1]  # label k: k-th known pixel
    depth = dist[iy : iy + ih, ix : ix + iw]
    blocks, weight = _blocks(detail, hole, inner, dist, nearest)
    # Renormalise where some blocks found no clean source; where none did, mirror alone.
    mirror_share = np.clip((_MIRROR_DEEP - depth) / (_MIRROR_DEEP - _MIRROR_FULL), 0, 1)
    mirror_share[weight < 0.05] = 1.0
    grain: NDArray[np.float32] = (blocks / np.maximum(weight, 0.05)[:, :, None]).astype(np.float32)
    need = (mirror_share > 0) & (hole[iy : iy + ih, ix : ix + iw] > 0)
    ys, xs = np.nonzero(need)
    source = _mirror_sources(hole, nearest, ys + iy, xs + ix)
    mirrored = detail.reshape(-1, 3)[source].astype(np.float32)
    share = mirror_share[ys, xs][:, None]
    grain[ys, xs] = mirrored * share + grain[ys, xs] * (1 - share)
    return grain


def _blocks(
    detail: NDArray[np.int16],
    hole: Mask,
    inner: tuple[int, int, int, int],
    dist: NDArray[np.float32],
    nearest: NDArray[np.intp],
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Detail copied in half-overlapping ``2 * _BLOCK`` squares over ``inner``, each from a
    clean square straight outward, with sin² windows that sum to one: the weighted sum and
    the weight found (below one where a square found no source)."""
    ix, iy, iw, ih = inner
    step = _BLOCK
    offsets, valid = _block_offsets(detail, hole, inner, dist, nearest)
    ny, nx = valid.shape
    # Pixel y of the box lies in blocks y // step and y // step + 1, at these weights.
    rise_y = np.sin(np.pi * ((np.arange(ih) % step) + 0.5) / (2 * step)) ** 2
    rise_x = np.sin(np.pi * ((np.arange(iw) % step) + 0.5) / (2 * step)) ** 2
    cell_y, cell_x = np.arange(ih) // step, np.arange(iw) // step
    grid_x, grid_y = np.meshgrid(
        np.arange(ix, ix + iw, dtype=np.float32), np.arange(iy, iy + ih, dtype=np.float32)
    )
    total = np.zeros((ih, iw, 3), np.float32)
    weight = np.zeros((ih, iw), np.float32)
    for dy in (0, 1):
        wy = (rise_y if dy else 1 - rise_y).astype(np.float32)
        rows = np.minimum(cell_y + dy, ny - 1)
        for dx in (0, 1):
            wx = (rise_x if dx else 1 - rise_x).astype(np.float32)
            cols = np.minimum(cell_x + dx, nx - 1)
            ok = valid[rows[:, None], cols[None, :]]
            w = np.outer(wy, wx) * ok
            shift = offsets[rows[:, None], cols[None, :]]
            copied = cv2.remap(
                detail,
                grid_x + shift[:, :, 1],
                grid_y + shift[:, :, 0],
                cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_REFLECT,
            )
            total += copied * w[:, :, None]
            weight += w
    return total, weight


def _block_offsets(
    detail: NDArray[np.int16],
    hole: Mask,
    inner: tuple[int, int, int, int],
    dist: NDArray[np.float32],
    nearest: NDArray[np.intp],
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Per block of ``inner``, a shift (dy, dx) to a clean square of the same size, and
    whether one was found.

    Block (i, j) is centred on ``(iy + i * _BLOCK, ix + j * _BLOCK)`` and reaches ``_BLOCK``
    either way. The shift points from the centre to its nearest known pixel and beyond,
    its direction rounded to one of 16 and its length the same for all blocks of that
    direction, so neighbouring blocks mostly share one (and their copies join seamlessly);
    turned or lengthened a few times until the square it lands on has no hole pixel in it.
    """
    height, width = hole.shape
    ix, iy, iw, ih = inner
    step = _BLOCK
    ny, nx = ih // step + 2, iw // step + 2
    cy = iy + step * np.arange(ny)
    cx = ix + step * np.arange(nx)
    cyc, cxc = np.clip(cy, 0, height - 1), np.clip(cx, 0, width - 1)
    centre = (cyc[:, None] * width + cxc[None, :]).ravel()
    depth = dist.ravel()[centre]
    qy, qx = np.divmod(nearest[centre], width)
    away_y = (qy - cyc.repeat(nx)).astype(np.float64)
    away_x = (qx - np.tile(cxc, ny)).astype(np.float64)
    # Where the centre is itself known, point away from the hole's depth instead.
    grad_y, grad_x = np.gradient(dist[cyc[:, None], cxc[None, :]].astype(np.float64))
    shallow = depth < 1
    away_y[shallow], away_x[shallow] = -grad_y.ravel()[shallow], -grad_x.ravel()[shallow]
    sector = np.round(np.arctan2(away_y, away_x) / (np.pi / 8)).astype(np.intp) % 16
    angle = sector * (np.pi / 8)
    # One length per direction, enough for its deepest block: one shift for the whole sector.
    deepest = np.zeros(16)
    np.maximum.at(deepest, sector, depth)
    sector_reach = np.ceil((deepest + 1.5 * step) / step) * step
    sector_angle = np.arange(16) * (np.pi / 8)
    shift = np.stack(
        [
            np.round(sector_reach * np.sin(sector_angle)),
            np.round(sector_reach * np.cos(sector_angle)),
        ],
        axis=1,
    ).astype(np.intp)
    used = np.zeros(16, bool)
    used[sector[depth > 0]] = True
    shift += _align(detail, hole, inner, sector.reshape(ny, nx), shift, used)
    reach = sector_reach[sector]
    # Each block's rectangle (clipped to the work box), and the hole's integral image.
    top, left = (cy - step).repeat(nx), np.tile(cx - step, ny)
    bottom, right = top + 2 * step, left + 2 * step
    top, left = np.maximum(top, 0), np.maximum(left, 0)
    bottom, right = np.minimum(bottom, height), np.minimum(right, width)
    integral = cv2.integral(hole)
    offsets = np.zeros((ny * nx, 2), np.float32)
    found = np.zeros(ny * nx, bool)
    for grow in range(_REACH_TRIES):
        for turn in (0, 1, -1, 2, -2, 3, -3):
            todo = ~found
            if not todo.any():
                break
            if grow == 0 and turn == 0:  # the sector's own shift, aligned with the texture
                dy, dx = shift[sector, 0], shift[sector, 1]
            else:
                a = angle + turn * (np.pi / 8)
                length = reach + grow * step
                dy = np.round(length * np.sin(a)).astype(np.intp)
                dx = np.round(length * np.cos(a)).astype(np.intp)
            t, b, lt, rt = top + dy, bottom + dy, left + dx, right + dx
            inside = (t >= 0) & (lt >= 0) & (b <= height) & (rt <= width)
            t, b = np.clip(t, 0, height), np.clip(b, 0, height)
            lt, rt = np.clip(lt, 0, width), np.clip(rt, 0, width)
            dirty = integral[b, rt] - integral[t, rt] - integral[b, lt] + integral[t, lt]
            good = todo & inside & (dirty == 0)
            offsets[good, 0], offsets[good, 1] = dy[good], dx[good]
            found |= good
    return offsets.reshape(ny, nx, 2), found.reshape(ny, nx)


def _align(
    detail: NDArray[np.int16],
    hole: Mask,
    inner: tuple[int, int, int, int],
    sector: NDArray[np.intp],
    shift: NDArray[np.intp],
    used: NDArray[np.bool_],
) -> NDArray[np.intp]:
    """Per sector, a nudge of up to ``_ALIGN`` pixels to its shift that best repeats the
    texture along the hole's rim: the nudge under which the known ring just outside the
    hole (in that sector) looks most like itself shifted. Copies made with it then continue
    the stripes, bricks or grain across the old outline instead of breaking them there.
    """
    height, width = hole.shape
    ix, iy, _, _ = inner
    step = _BLOCK
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _RING + 1,) * 2)
    ring_y, ring_x = np.nonzero(cv2.dilate(hole, kernel) - hole)
    luma = detail.sum(axis=2, dtype=np.int32).ravel()
    flat_hole = hole.ravel() > 0
    ny, nx = sector.shape
    owner = sector[
        np.clip(np.round((ring_y - iy) / step).astype(np.intp), 0, ny - 1),
        np.clip(np.round((ring_x - ix) / step).astype(np.intp), 0, nx - 1),
    ]
    span = np.arange(-_ALIGN, _ALIGN + 1, 2)
    nudge_y, nudge_x = (a.ravel() for a in np.meshgrid(span, span, indexing="ij"))
    nudges = np.zeros((16, 2), np.intp)
    for s in np.flatnonzero(used):
        mine = np.flatnonzero(owner == s)
        if len(mine) < 16:
            continue
        mine = mine[:: max(1, len(mine) // _ALIGN_SAMPLES)]
        py, px = ring_y[mine], ring_x[mine]
        ty = py[None, :] + shift[s, 0] + nudge_y[:, None]
        tx = px[None, :] + shift[s, 1] + nudge_x[:, None]
        inside = (ty >= 0) & (ty < height) & (tx >= 0) & (tx < width)
        at = np.clip(ty, 0, height - 1) * width + np.clip(tx, 0, width - 1)
        usable = inside & ~flat_hole[at]
        misfit = np.abs(luma[at] - luma[py * width + px][None, :]) * usable
        count = usable.sum(axis=1)
        score = misfit.sum(axis=1) / np.maximum(count, 1)
        score[count < len(mine) // 2] = np.inf  # a nudge that mostly lands in the hole
        if np.isfinite(score).any():
            best = int(np.argmin(score))
            nudges[s] = nudge_y[best], nudge_x[best]
    return nudges


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
