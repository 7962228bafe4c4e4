"""Fit the photo to the canvas: real photo on most of it, the subject whole with room to move.

The photo is cropped to cover the canvas ("cover") around the subject, unless that would cut the
subject (with the room its motion needs) and a smaller scale, at which real photo still fills
``_MIN_FILL`` of the canvas, would not: then it is shrunk just enough. What the photo leaves
uncovered is the photo mirrored past its edge, blurred and dimmed; a photo whose background is
plain (or transparent) instead has that backdrop continued over the whole canvas, so the subject
stands on one seamless colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2
from ._motion import Reach

__all__ = ["Scene", "compose_scene", "extend_backdrop", "flatten", "paper_colour"]

_MIN_FILL = 0.75  # the least share of the canvas that is real photo
_SIDE_MARGIN = 0.04  # of the canvas width, kept free on each side of the subject and its sway
_TOP_MARGIN = 0.05  # of the canvas height, above the subject and its stretch
_BOTTOM_MARGIN = 0.03
_KEEP_TOP = 0.3  # the upper share of the subject whose width the crop keeps whole
_GROUNDED = 0.97  # a subject reaching this far down may stand on the photo's lower edge ...
_BASE_ROWS = 0.01  # ... if in the photo's lowest rows (this share of its height) ...
_BASE_SHARE = 0.2  # ... it spans at least this share of its own width
_SNAP = 0.92  # a scale this close to "cover" is taken as "cover"
_MAX_ENLARGE = 2.0  # a seamless backdrop allows enlarging past "cover", up to this factor
_BAR_DIM = 0.85  # bars: the photo's edge continued, blurred and dimmed this much
_BAR_BLUR = 0.08  # ... with a Gaussian sigma this fraction of the canvas's long side


@dataclass(frozen=True)
class Scene:
    """The still canvas, where the photo and the subject are on it, and how it got there."""

    rgb: NDArray[np.uint8]
    subject: NDArray[np.float32]  # probability, canvas-sized
    # Where the photo is on the canvas (x0, y0, x1, y1), and so where the subject may move:
    # the whole canvas when its plain backdrop goes on seamlessly over all of it.
    photo_box: tuple[int, int, int, int]
    source_box: tuple[int, int, int, int]  # where the photo's own pixels are
    placement: tuple[float, float, float]  # (scale, dx, dy): photo (x, y) -> canvas x*s+dx, ...
    seamless: bool  # the backdrop was extended (plain or transparent background)
    alpha: NDArray[np.uint8] | None = None  # a cut-out's own alpha, canvas-sized


def flatten(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A see-through photo over a pale tint of its own average colour (no dark fringes)."""
    weight = alpha.astype(np.float32)[:, :, None] / 255.0
    flat = rgb.astype(np.float32) * weight + paper_colour(rgb, alpha) * (1.0 - weight)
    out: NDArray[np.uint8] = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    return out


def paper_colour(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The backdrop a transparent photo is shown on: a pale tint of its own average colour."""
    seen = alpha > 127
    mean = rgb[seen].mean(axis=0) if seen.any() else np.full(3, 128.0)
    paper: NDArray[np.float32] = (0.22 * mean + 0.78 * 250.0).astype(np.float32)
    return paper


class _Keep(NamedTuple):
    """What must stay whole on the canvas, in fractions of the photo, and where its middle is."""

    x0: float
    y0: float
    x1: float
    y1: float
    centre_x: float
    grounded: bool  # cut by the photo's lower edge: it stands on it


def _subject_box(prob: NDArray[np.float32], whole: bool = False) -> _Keep | None:
    """The box that must stay whole on the canvas.

    Its height is the subject's; its width is that of the subject's upper part (``_KEEP_TOP``
    of its height: a head, a face, shoulders), which a crop must never cut. Lower down the
    subject may reach past the canvas's sides, as a bust does past the photo's own. A crop is
    centred on that upper part's mass (a face, not the middle of a wide body). ``whole``: all
    of the subject is kept, centred on its box (on a seamless backdrop nothing need be cut).
    """
    mask = prob > 0.5
    ys = np.flatnonzero(mask.any(axis=1))
    height, width = prob.shape
    if len(ys) == 0:
        return None
    top, bottom = int(ys[0]), int(ys[-1]) + 1
    kept = bottom if whole else top + max(1, round(_KEEP_TOP * (bottom - top)))
    columns = mask[top:kept].sum(axis=0)
    xs = np.flatnonzero(columns)
    left, right = float(xs[0]), float(xs[-1] + 1)
    centre = (
        (left + right) / 2
        if whole
        else float((columns * (np.arange(width) + 0.5)).sum() / columns.sum())
    )
    cut = int(mask[-max(1, round(_BASE_ROWS * height)) :].any(axis=0).sum())
    grounded = bottom >= _GROUNDED * height and cut >= _BASE_SHARE * (right - left)
    return _Keep(
        left / width, top / height, right / width, bottom / height, centre / width, grounded
    )


def _fill_scale(photo: tuple[int, int], canvas: tuple[int, int], share: float) -> float:
    """The smallest scale at which the photo covers ``share`` of the canvas."""
    width, height = photo
    cw, ch = canvas
    lo, hi = min(cw / width, ch / height), max(cw / width, ch / height)
    for _ in range(40):
        mid = (lo + hi) / 2
        covered = min(cw, width * mid) * min(ch, height * mid) / (cw * ch)
        lo, hi = (mid, hi) if covered < share else (lo, mid)
    return hi


def _scale(
    photo: tuple[int, int],
    canvas: tuple[int, int],
    box: _Keep | None,
    reach: Reach,
    seamless: bool,
) -> float:
    """The photo's scale: the subject and its reach whole on the canvas, the canvas covered.

    The reach counts only as far as the photo has room for it (the subject never moves past
    the photo's own edge, so shrinking the photo could not make more), and a margin only on
    sides where the canvas, not the photo, bounds it.
    """
    width, height = photo
    cw, ch = canvas
    cover = max(cw / width, ch / height)
    if box is None:
        return cover
    x0, y0, x1, y1 = box.x0 * width, box.y0 * height, box.x1 * width, box.y1 * height
    sub_h = y1 - y0
    up = min(reach.up * sub_h, y0)
    left, right = min(reach.side * sub_h, x0), min(reach.side * sub_h, width - x1)
    margin_x = (left < x0) + (right < width - x1)
    margin_y = (up < y0) * _TOP_MARGIN + (y1 < _GROUNDED * height) * _BOTTOM_MARGIN
    fits = min(
        cw * (1 - margin_x * _SIDE_MARGIN) / max(1e-6, x1 - x0 + left + right),
        ch * (1 - margin_y) / max(1e-6, sub_h + up),
    )
    if seamless:
        return min(fits, cover * _MAX_ENLARGE)
    if fits >= _SNAP * cover:  # nearly whole at "cover": a thin bar would look like a mistake
        return cover
    # Shrunk to keep the subject whole, but never below the least share of real photo (a
    # subject too wide even then is cut at the canvas's sides, the least it can be).
    return max(fits, _fill_scale(photo, canvas, _MIN_FILL))


def _offset(size: float, canvas: int, centre: float, want: float, clamp: bool) -> int:
    """Where the photo starts on one axis: the subject's centre near ``want``, no gaps."""
    if not clamp:
        return round(want - centre)
    if size <= canvas:
        return round((canvas - size) / 2)
    return round(float(np.clip(want - centre, canvas - size, 0)))


def extend_backdrop(
    placed: NDArray[np.uint8],
    box: tuple[int, int, int, int],
    canvas: tuple[int, int],
    *,
    plain: bool = True,
) -> NDArray[np.uint8]:
    """The canvas around the photo ``placed`` at ``box``, continuing the photo outwards.

    The edge's colours go on, softened wide: a plain backdrop continues as itself (and a
    speck on its edge does not draw a streak across the canvas).
    Otherwise (``plain`` false) the bar is blurred more and dimmed: the photo going on out of
    focus. Only the outermost row or column is repeated, so the subject never shows in a bar
    (as it would in a blurred copy of the photo, or a mirror of it).
    """
    cw, ch = canvas
    x0, y0, x1, y1 = box
    if (x0, y0, x1, y1) == (0, 0, cw, ch):
        return placed
    out = cv2.copyMakeBorder(placed, y0, ch - y1, x0, cw - x1, cv2.BORDER_REPLICATE)
    sigma = _BAR_BLUR * max(cw, ch)
    # Blurred small (cheap), then enlarged: the blur is wide anyway.
    small = cv2.resize(out, (max(8, cw // 8), max(8, ch // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, sigma / 8), borderType=cv2.BORDER_REFLECT)
    soft = cv2.resize(small, (cw, ch), interpolation=cv2.INTER_LINEAR)
    if not plain:
        soft = cv2.convertScaleAbs(soft, alpha=_BAR_DIM)
    soft[y0:y1, x0:x1] = placed
    return np.asarray(soft, np.uint8)


def compose_scene(
    rgb: NDArray[np.uint8],
    prob: NDArray[np.float32],
    canvas: tuple[int, int],
    reach: Reach,
    *,
    seamless: bool = False,
    alpha: NDArray[np.uint8] | None = None,
) -> Scene:
    """Place ``rgb`` (subject probability ``prob``, any size) on a canvas of ``canvas`` (w, h).

    ``reach`` is how far the motion carries the subject (fractions of its height); ``seamless``
    extends the photo's own plain backdrop instead of showing a blurred copy in any gap;
    ``alpha``, a cut-out's own transparency (photo-sized), is placed along with it.
    """
    cw, ch = canvas
    height, width = rgb.shape[:2]
    box = _subject_box(prob, whole=seamless)
    scale = _scale((width, height), canvas, box, reach, seamless)
    pw, ph = width * scale, height * scale
    if box is None:
        ox, oy = _offset(pw, cw, pw / 2, cw / 2, True), _offset(ph, ch, ph / 2, ch / 2, True)
    else:
        sub_h = (box.y1 - box.y0) * ph
        grounded = box.grounded
        ox = _offset(pw, cw, box.centre_x * pw, cw / 2, not seamless)
        if grounded:  # the subject stands on the photo's lower edge: keep that edge down
            oy = round(ch - ph)
        else:
            top = ch * _TOP_MARGIN + reach.up * sub_h
            want = (top + ch * (1 - _BOTTOM_MARGIN)) / 2
            oy = _offset(ph, ch, (box.y0 + box.y1) / 2 * ph, want, not seamless)
    vx0, vy0 = max(0, ox), max(0, oy)
    vx1, vy1 = min(cw, ox + round(pw)), min(ch, oy + round(ph))
    placed = _place(rgb, scale, (ox, oy), (vx0, vy0, vx1, vy1))
    source_box = (vx0, vy0, vx1, vy1)
    canvas_rgb = extend_backdrop(placed, source_box, canvas, plain=seamless)
    subject = np.zeros((ch, cw), np.float32)
    subject[vy0:vy1, vx0:vx1] = cv2.warpAffine(
        prob,
        _affine(width / prob.shape[1], (0, 0), scale, (ox - vx0, oy - vy0)),
        (vx1 - vx0, vy1 - vy0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    photo_box = (0, 0, cw, ch) if seamless else source_box
    placement = (scale, float(ox), float(oy))
    placed_alpha = None
    if alpha is not None:
        placed_alpha = np.zeros((ch, cw), np.uint8)
        placed_alpha[vy0:vy1, vx0:vx1] = _place(alpha, scale, (ox, oy), (vx0, vy0, vx1, vy1))
    return Scene(canvas_rgb, subject, photo_box, source_box, placement, seamless, placed_alpha)


def _place(
    rgb: NDArray[np.uint8], scale: float, origin: tuple[int, int], view: tuple[int, int, int, int]
) -> NDArray[np.uint8]:
    """The part of the photo that lands on the canvas (``view``), drawn at ``scale``.

    Only that part is read, box-filtered most of the way down first when shrinking a lot, so
    linear sampling does not alias.
    """
    height, width = rgb.shape[:2]
    ox, oy = origin
    vx0, vy0, vx1, vy1 = view
    cx0, cy0 = max(0, int((vx0 - ox) / scale)), max(0, int((vy0 - oy) / scale))
    cx1 = min(width, int(np.ceil((vx1 - ox) / scale)) + 1)
    cy1 = min(height, int(np.ceil((vy1 - oy) / scale)) + 1)
    src = rgb[cy0:cy1, cx0:cx1]
    step = max(1, int(1.0 / scale / 1.5))
    if step >= 2:
        src = cv2.resize(
            src,
            (max(1, src.shape[1] // step), max(1, src.shape[0] // step)),
            interpolation=cv2.INTER_AREA,
        )
    flags = cv2.INTER_LINEAR if scale < 1.0 else cv2.INTER_CUBIC
    placed: NDArray[np.uint8] = cv2.warpAffine(
        src,
        _affine(step, (cx0, cy0), scale, (ox - vx0, oy - vy0)),
        (vx1 - vx0, vy1 - vy0),
        flags=flags,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return placed


def _affine(
    pixel: float, origin: tuple[int, int], scale: float, shift: tuple[int, int]
) -> NDArray[np.float64]:
    """warpAffine's matrix for a source whose pixels are ``pixel`` photo pixels wide, starting
    at photo pixel ``origin``, drawn at ``scale`` and moved by ``shift`` (pixel centres kept)."""
    step = pixel * scale
    tx = (origin[0] + 0.5 * pixel) * scale + shift[0] - 0.5
    ty = (origin[1] + 0.5 * pixel) * scale + shift[1] - 0.5
    return np.array([[step, 0.0, tx], [0.0, step, ty]])
