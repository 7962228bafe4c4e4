"""The background behind the subject, rebuilt once.

What the subject uncovers when it squashes or sways must look like the rest of the
background: the same brightness, the same grain and texture, no trace of the old outline. So
the plate is rebuilt *entirely* from pixels outside the subject's footprint:

* structure: the photo's colour and light at 1/``_COARSE`` size, the footprint filled there
  with the smoothest surface through its rim (a gradient carries straight on through);
* detail: everything finer (texture, grain, out-of-focus blobs), copied in blocks from
  outside, each piece of the edge with the offset whose copy best continues the ring just
  outside it (a brick wall stays a brick wall), as deep as the motion can ever uncover;
  deeper in, which nothing uncovers, the detail fades out.

The subject's own edge and colour are :mod:`._matte`'s.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["clean_plate"]

_COARSE = 32  # the structure (colour, light) is rebuilt at 1/32 size; finer is copied
_STRUCTURE_SUPPORT = 0.1  # a small pixel with this share of known photo under it is known
_RELAX = 16  # Jacobi steps at that size
_RELAX_COARSE = 64  # ... and at each coarser level of its pyramid
_DETAIL_FADE = 0.35  # the rebuilt detail fades out over the last 35 % of its depth
_BOX_MARGIN = 8  # extra pixels of ring around the hole the work box keeps
_TILE = 128  # the band is blended in tiles this big (a multiple of _CELL)
_SEGMENT = 32  # the edge is matched in pieces this long, each with its own copy offset
_CELL = 16  # the band takes one offset per square this size, blended into its neighbours'
_SEARCH_SCALE = 4  # the offsets are searched at 1/4 size first, then refined at full size
_SHORTEST = 24.0  # pixels outwards (along the edge's normal) a copy comes from, at least ...
_LONGEST = 104.0  # ... and at most (a pattern's period up to ~80 pixels is found)
_SLANT = 0.8  # ... and up to this x as far sideways (a line crossing the edge at a slant)
_REACH = round(_LONGEST * 1.3) + 8  # so the work box's ring holds every copy's source
_SLANT_COST = 0.05  # matching cost of a slanted copy (per unit slant): straight wins ties
_LENGTH_BONUS = 0.05  # ... and a longer one (grain repeats less often deep in the band)
_NOISE_FLOOR = 8.0  # squared levels added to a ring's energy (a plain ring matches anything)
_RING = 4  # pixels of the ring outside the hole matched at full size
_REFINE = 2  # pixels either way the full-size search looks round the coarse winner
_NORMAL_SMOOTH = 12.0  # pixels of blur of the hole whose slope says which way is out
_SEEN = 0.05  # a band pixel whose copies are mostly from the hole gets no detail

Image = NDArray[np.uint8]
Mask = NDArray[np.uint8]


def _candidates() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The coarse search's offsets: (along the normal, across it), in whole small pixels."""
    along, across = [], []
    for length in range(round(_SHORTEST / _SEARCH_SCALE), round(_LONGEST / _SEARCH_SCALE) + 1):
        side = int(_SLANT * length)
        for shift in range(-side, side + 1):
            along.append(length * _SEARCH_SCALE)
            across.append(shift * _SEARCH_SCALE)
    return np.array(along, np.float64), np.array(across, np.float64)


_CANDIDATES = _candidates()


# -- the plate --------------------------------------------------------------------------------


def clean_plate(rgb: Image, hole: Mask, reveal: int | None = None) -> Image:
    """``rgb`` with every pixel of ``hole`` (0/1) rebuilt from the pixels outside it only.

    ``reveal``: how deep into the hole anything is ever seen (the motion's reach, in pixels);
    the copied detail fills that band, a smooth inpaint the rest. None: detail everywhere.
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
    # Work on the hole's box and the ring around it the copies reach into.
    margin = round(min(depth_limit, max(hw, hh) / 2)) + _BOX_MARGIN + _REACH
    x0, y0 = max(0, hx - margin), max(0, hy - margin)
    x1, y1 = min(width, hx + hw + margin), min(height, hy + hh + margin)
    box_rgb = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    box_hole = np.ascontiguousarray(hole[y0:y1, x0:x1])
    dist = cv2.distanceTransform(box_hole, cv2.DIST_L2, 3)
    # Detail alone near the edge, easing into the smooth fill by ``depth_limit``.
    share = np.clip((depth_limit - dist) / np.float32(_DETAIL_FADE * depth_limit), 0.0, 1.0)
    share = share * share * (3 - 2 * share)
    structure = _structure(box_rgb, box_hole)
    detail = box_rgb.astype(np.float32) - structure
    grain = _copied_detail(detail, box_hole, dist, depth_limit)
    fill = structure.astype(np.float32) + grain * share[:, :, None]
    box_out = box_rgb.copy()
    np.copyto(box_out, np.clip(fill + 0.5, 0, 255).astype(np.uint8), where=box_hole[:, :, None] > 0)
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


def _copied_detail(
    detail: NDArray[np.float32], hole: Mask, dist: NDArray[np.float32], depth_limit: float
) -> NDArray[np.float32]:
    """The detail to lay over the structure in ``hole``'s band ``depth_limit`` deep: blocks of
    the detail outside, each copied from where the pattern it continues lies.

    The edge is cut into pieces ``_SEGMENT`` long; each piece's offset outwards is the one
    whose copy best matches the ring just outside it (:func:`_segment_offsets`): a brick
    wall's lattice, a line's own direction. Every ``_CELL`` square of the band takes its
    nearest piece's offset, repeated as often as it must be to land outside the hole (a
    pattern repeated by its own period is itself again), and the cells' copies blend
    bilinearly into each other. Zero where nothing outside can be copied.
    """
    height, width = hole.shape
    grain = np.zeros((height, width, 3), np.float32)
    luma = cv2.cvtColor(detail, cv2.COLOR_RGB2GRAY)
    seg_offsets = _segment_offsets(luma, hole)
    if seg_offsets is None:
        return grain
    size = _CELL
    gh, gw = -(-height // size), -(-width // size)
    cy = np.minimum(np.arange(gh) * size + size // 2, height - 1)
    cx = np.minimum(np.arange(gw) * size + size // 2, width - 1)
    padded = np.zeros((gh * size, gw * size), np.uint8)
    padded[:height, :width] = hole
    any_hole = padded.reshape(gh, size, gw, size).max(axis=(1, 3)) > 0
    centre = dist[cy[:, None], cx[None, :]]
    band = any_hole & (centre <= depth_limit + size)
    if not band.any():
        return grain
    iy, ix = np.nonzero(band)
    py, px = cy[iy].astype(np.float64), cx[ix].astype(np.float64)
    depth = centre[iy, ix].astype(np.float64)
    # Each cell's nearest point outside: down the distance's slope from its centre.
    up = np.clip(py - 1, 0, height - 1).astype(np.intp)
    down = np.clip(py + 1, 0, height - 1).astype(np.intp)
    left = np.clip(px - 1, 0, width - 1).astype(np.intp)
    right = np.clip(px + 1, 0, width - 1).astype(np.intp)
    slope_y = dist[down, px.astype(np.intp)] - dist[up, px.astype(np.intp)]
    slope_x = dist[py.astype(np.intp), right] - dist[py.astype(np.intp), left]
    norm = np.maximum(np.hypot(slope_y, slope_x), 1e-6)
    ay = np.clip(py - depth * slope_y / norm, 0, height - 1)
    ax = np.clip(px - depth * slope_x / norm, 0, width - 1)
    offsets = seg_offsets[(ay // _SEGMENT).astype(np.intp), (ax // _SEGMENT).astype(np.intp)]
    # How many times each cell's offset is repeated: the fewest that take it (its centre
    # and corners) outside the hole.
    half = size // 2
    points_y = py[:, None] + np.array([0, -half, -half, half - 1, half - 1])[None, :]
    points_x = px[:, None] + np.array([0, -half, half - 1, -half, half - 1])[None, :]
    points_y = np.clip(points_y, 0, height - 1)
    points_x = np.clip(points_x, 0, width - 1)
    needed = hole[points_y.astype(np.intp), points_x.astype(np.intp)] > 0
    shortest = max(1.0, float(np.hypot(offsets[:, 0], offsets[:, 1]).min()))
    repeats = np.arange(1, int((depth_limit + 2 * size) / min(shortest, _SHORTEST)) + 2)
    sy = points_y[:, :, None] + offsets[:, 0, None, None] * repeats[None, None, :]
    sx = points_x[:, :, None] + offsets[:, 1, None, None] * repeats[None, None, :]
    on = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
    landed = on & (
        hole[np.clip(sy, 0, height - 1).astype(np.intp), np.clip(sx, 0, width - 1).astype(np.intp)]
        == 0
    )
    score = (landed | ~needed[:, :, None]).sum(axis=1)  # (cells, repeats)
    pick = np.argmax(score, axis=1)
    usable = (landed & needed[:, :, None]).sum(axis=1)[np.arange(len(pick)), pick] > 0
    usable |= ~needed.any(axis=1)
    # An absent cell copies from far off the picture: nothing.
    far = float(min(4 * (height + width), 30000))
    cell_dy = np.full((gh + 2, gw + 2), far, np.float32)
    cell_dx = np.full((gh + 2, gw + 2), far, np.float32)
    cell_dy[iy + 1, ix + 1] = np.where(usable, offsets[:, 0] * repeats[pick], far)
    cell_dx[iy + 1, ix + 1] = np.where(usable, offsets[:, 1] * repeats[pick], far)
    # Only the tiles the band touches are blended, each on its own (a person's band is a
    # thin loop round a box as big as the picture).
    known = (hole == 0).astype(np.float32)
    source = cv2.merge([detail * known[:, :, None], known])
    limit = np.float32(far)
    cell_dx, cell_dy = np.minimum(cell_dx, limit), np.minimum(cell_dy, limit)
    offsets_up = cv2.merge([cell_dx, cell_dy]).astype(np.int16)
    offsets_up = np.repeat(np.repeat(offsets_up, size, axis=0), size, axis=1)
    cells = _TILE // size
    tiles = np.zeros((-(-gh // cells), -(-gw // cells)), bool)
    tiles[iy // cells, ix // cells] = True
    for ty, tx in zip(*np.nonzero(tiles), strict=True):
        ry0, rx0 = int(ty) * _TILE, int(tx) * _TILE
        ry1, rx1 = min(height, ry0 + _TILE), min(width, rx0 + _TILE)
        total = _blended_copies(source, offsets_up, (rx0, ry0, rx1, ry1), size)
        weight = total[:, :, 3:]
        seen = weight > _SEEN
        grain[ry0:ry1, rx0:rx1] = np.where(seen, total[:, :, :3] / np.maximum(weight, _SEEN), 0.0)
    return grain


def _blended_copies(
    source: NDArray[np.float32],
    offsets_up: NDArray[np.int16],
    box: tuple[int, int, int, int],
    size: int,
) -> NDArray[np.float32]:
    """Over ``box`` (x0, y0, x1, y1), each pixel's copies by its four nearest cells'
    offsets (``offsets_up``: every cell's, one per pixel, padded by a cell on each side),
    blended bilinearly by its place between their centres: colour x weight, and weight."""
    rx0, ry0, rx1, ry1 = box
    rh, rw = ry1 - ry0, rx1 - rx0
    half = size // 2
    grid_x, grid_y = np.meshgrid(
        np.arange(rx0, rx1, dtype=np.int16), np.arange(ry0, ry1, dtype=np.int16)
    )
    base = cv2.merge([grid_x, grid_y])
    fy = ((np.arange(ry0, ry1) + half) % size + 0.5).astype(np.float32) / size
    fx = ((np.arange(rx0, rx1) + half) % size + 0.5).astype(np.float32) / size
    ones = np.ones((rh, rw), np.float32)
    wy1, wx1 = ones * fy[:, None], ones * fx[None, :]
    wy0, wx0 = 1 - wy1, 1 - wx1
    rows = []
    for a in (0, 1):
        pair = []
        for b in (0, 1):
            top, lft = ry0 + half + a * size, rx0 + half + b * size
            maps = cv2.add(base, offsets_up[top : top + rh, lft : lft + rw])
            pair.append(
                cv2.remap(source, maps, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
            )
        rows.append(cv2.blendLinear(pair[0], pair[1], wx0, wx1))
    total: NDArray[np.float32] = cv2.blendLinear(rows[0], rows[1], wy0, wy1)
    return total


def _segment_offsets(luma: NDArray[np.float32], hole: Mask) -> NDArray[np.float64] | None:
    """For each ``_SEGMENT`` square of the picture, the offset (dy, dx) outwards whose copy of
    the detail best continues the ring just outside the hole there: None if there is no ring.

    A coarse search at 1/``_SEARCH_SCALE`` size over offsets ``_SHORTEST`` to ``_LONGEST``
    along the edge's normal and up to ``_SLANT`` x as far along it (a line crossing the edge
    at a slant carries on along itself), scored by the squared difference on the ring
    relative to its own energy (grain matches nothing: there the straightest, longest
    offset wins); then a search at full size round the winner.
    """
    height, width = hole.shape
    scale = _SEARCH_SCALE
    size = (max(1, width // scale), max(1, height // scale))
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small_known = (small_hole <= 0).astype(np.uint8)
    small_luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    soft = cv2.GaussianBlur(small_hole, (0, 0), _NORMAL_SMOOTH / scale)
    ring = small_known & cv2.dilate(1 - small_known, np.ones((3, 3), np.uint8), iterations=2)
    ys, xs = np.nonzero(ring)
    if len(ys) == 0:
        return None
    seg_h, seg_w = -(-height // _SEGMENT), -(-width // _SEGMENT)
    seg = (ys * scale // _SEGMENT) * seg_w + xs * scale // _SEGMENT
    order = np.argsort(seg, kind="stable")
    ys, xs, seg = ys[order], xs[order], seg[order]
    segs, starts, counts = np.unique(seg, return_index=True, return_counts=True)
    inverse = np.repeat(np.arange(len(segs)), counts)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)[ys, xs].astype(np.float64)
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)[ys, xs].astype(np.float64)
    ny = -np.bincount(inverse, gy, len(segs))
    nx = -np.bincount(inverse, gx, len(segs))
    norm = np.hypot(ny, nx)
    flat = norm < 1e-9
    ny = np.where(flat, -1.0, ny / np.maximum(norm, 1e-9))
    nx = np.where(flat, 0.0, nx / np.maximum(norm, 1e-9))
    along, across = _CANDIDATES
    lq, tq = along / scale, across / scale
    vy = np.round(lq[None, :] * ny[:, None] + tq[None, :] * nx[:, None]).astype(np.intp)
    vx = np.round(lq[None, :] * nx[:, None] - tq[None, :] * ny[:, None]).astype(np.intp)
    cost = _ring_cost(small_luma, small_known, ys, xs, inverse, starts, counts, vy, vx)
    cost += _SLANT_COST * np.abs(across)[None, :] / along[None, :]
    cost -= _LENGTH_BONUS * (along / along.max())[None, :]
    best = np.argmin(cost, axis=1)
    # Round the winner at full size.
    fine_y = vy[np.arange(len(segs)), best] * scale
    fine_x = vx[np.arange(len(segs)), best] * scale
    known = (hole == 0).astype(np.uint8)
    full_ring = known & cv2.dilate(hole, np.ones((3, 3), np.uint8), iterations=_RING)
    fy, fx = np.nonzero(full_ring[::2, ::2])
    fy, fx = fy * 2, fx * 2
    lookup = np.full(seg_h * seg_w, -1, np.intp)
    lookup[segs] = np.arange(len(segs))
    which = lookup[(fy // _SEGMENT) * seg_w + fx // _SEGMENT]
    keep = which >= 0
    fy, fx, which = fy[keep], fx[keep], which[keep]
    order = np.argsort(which, kind="stable")
    fy, fx, which = fy[order], fx[order], which[order]
    present, fstarts, fcounts = np.unique(which, return_index=True, return_counts=True)
    step = np.arange(-_REFINE, _REFINE + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(step, step, indexing="ij"))
    cand_y = fine_y[present][:, None] + dy[None, :]
    cand_x = fine_x[present][:, None] + dx[None, :]
    inv = np.repeat(np.arange(len(present)), fcounts)
    fine_cost = _ring_cost(luma, known, fy, fx, inv, fstarts, fcounts, cand_y, cand_x)
    fine_best = np.argmin(fine_cost, axis=1)
    fine_y[present] = cand_y[np.arange(len(present)), fine_best]
    fine_x[present] = cand_x[np.arange(len(present)), fine_best]
    # Every square of the picture takes its nearest piece's offset.
    have = np.ones(seg_h * seg_w, np.uint8)
    have[segs] = 0
    _, labels = cv2.distanceTransformWithLabels(
        have.reshape(seg_h, seg_w), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    at = np.flatnonzero(have == 0)[labels.ravel() - 1]
    index = lookup[at]
    offsets = np.stack([fine_y[index], fine_x[index]], axis=-1).astype(np.float64)
    result: NDArray[np.float64] = offsets.reshape(seg_h, seg_w, 2)
    return result


def _ring_cost(
    luma: NDArray[np.float32],
    known: NDArray[np.uint8],
    ys: NDArray[np.intp],
    xs: NDArray[np.intp],
    inverse: NDArray[np.intp],
    starts: NDArray[np.intp],
    counts: NDArray[np.intp],
    vy: NDArray[np.intp],
    vx: NDArray[np.intp],
) -> NDArray[np.float64]:
    """(pieces, candidates): how badly each candidate offset's copy matches each piece's ring
    (``ys``, ``xs``, sorted by piece; ``inverse`` their piece): the mean squared difference
    over the ring's energy, plus the share of the ring whose copy would come from the hole."""
    height, width = luma.shape
    sy = ys[:, None] + vy[inverse]
    sx = xs[:, None] + vx[inverse]
    on = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
    source = np.clip(sy, 0, height - 1) * width + np.clip(sx, 0, width - 1)
    valid = on & (known.ravel()[source] > 0)
    value = luma[ys, xs].astype(np.float32)
    err = np.square(value[:, None] - luma.ravel()[source]) * valid
    sums = np.add.reduceat(err, starts, axis=0).astype(np.float64)
    hits = np.add.reduceat(valid, starts, axis=0).astype(np.float64)
    energy = np.add.reduceat(np.square(value).astype(np.float64), starts) / counts
    mse = sums / np.maximum(hits, 1.0)
    share_missing = 1.0 - hits / counts[:, None]
    cost: NDArray[np.float64] = mse / (2 * energy[:, None] + _NOISE_FLOOR) + share_missing
    return cost
