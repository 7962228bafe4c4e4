"""Fit the photo to the canvas: as large as the subject allows, over a blurred copy of itself.

The photo is scaled to cover the canvas when the subject (with room to move) still fits, and
shrunk towards fitting whole when it would not, so the subject is never cut off. Whatever the
photo leaves uncovered shows a blurred, enlarged, slightly dimmed copy of it: never black bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["Scene", "compose_scene", "flatten"]

_SIDE_MARGIN = 0.05  # of the canvas width, kept free on each side of the subject
_TOP_MARGIN = 0.07  # of the canvas height, above the subject: headroom for the stretch
_BOTTOM_MARGIN = 0.03
_BACKDROP_DIM = 0.78
_BACKDROP_BLUR = 0.035  # Gaussian sigma as a fraction of the canvas's long side


@dataclass(frozen=True)
class Scene:
    """The still canvas, and where the subject is on it."""

    rgb: NDArray[np.uint8]
    subject: NDArray[np.float32]  # probability, canvas-sized
    photo_box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the photo on the canvas


def flatten(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A see-through photo over a pale tint of its own average colour (no dark fringes)."""
    weight = alpha.astype(np.float32)[:, :, None] / 255.0
    seen = weight[:, :, 0] > 0.5
    mean = rgb[seen].mean(axis=0) if seen.any() else np.full(3, 128.0)
    paper = 0.22 * mean + 0.78 * 250.0
    flat = rgb.astype(np.float32) * weight + paper * (1.0 - weight)
    out: NDArray[np.uint8] = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    return out


def _subject_box(prob: NDArray[np.float32]) -> tuple[float, float, float, float]:
    """The subject's bounding box in fractions of the photo (x0, y0, x1, y1)."""
    ys, xs = np.nonzero(prob > 0.5)
    height, width = prob.shape
    if len(xs) == 0:
        return 0.2, 0.2, 0.8, 1.0
    return xs.min() / width, ys.min() / height, (xs.max() + 1) / width, (ys.max() + 1) / height


def _scale(
    photo: tuple[int, int], canvas: tuple[int, int], box: tuple[float, float, float, float]
) -> float:
    width, height = photo
    cw, ch = canvas
    cover = max(cw / width, ch / height)
    contain = min(cw / width, ch / height)
    bottom = 0.0 if box[3] > 0.97 else _BOTTOM_MARGIN
    room_w = cw * (1 - 2 * _SIDE_MARGIN)
    room_h = ch * (1 - _TOP_MARGIN - bottom)
    fits = min(
        room_w / max(1e-6, (box[2] - box[0]) * width),
        room_h / max(1e-6, (box[3] - box[1]) * height),
    )
    return max(contain, min(cover, fits))


def _offset(size: int, canvas: int, centre: float, want: float) -> int:
    """Where the photo starts on one axis: the subject's centre near ``want``, no gaps."""
    if size <= canvas:
        return (canvas - size) // 2
    return round(float(np.clip(want - centre, canvas - size, 0)))


def _backdrop(rgb: NDArray[np.uint8], canvas: tuple[int, int]) -> NDArray[np.uint8]:
    """The photo blurred, enlarged to cover the canvas and dimmed a little (made small: cheap)."""
    cw, ch = canvas
    small_w, small_h = max(8, cw // 8), max(8, ch // 8)
    height, width = rgb.shape[:2]
    cover = max(small_w / width, small_h / height) * 1.08
    resized = cv2.resize(
        rgb,
        (max(1, round(width * cover)), max(1, round(height * cover))),
        interpolation=cv2.INTER_AREA,
    )
    y0 = (resized.shape[0] - small_h) // 2
    x0 = (resized.shape[1] - small_w) // 2
    crop = resized[y0 : y0 + small_h, x0 : x0 + small_w]
    sigma = _BACKDROP_BLUR * max(small_w, small_h)
    blurred = cv2.GaussianBlur(crop, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    dimmed = cv2.convertScaleAbs(blurred, alpha=_BACKDROP_DIM)
    out: NDArray[np.uint8] = cv2.resize(dimmed, (cw, ch), interpolation=cv2.INTER_CUBIC)
    return out


def compose_scene(
    rgb: NDArray[np.uint8], prob: NDArray[np.float32], canvas: tuple[int, int]
) -> Scene:
    """Place ``rgb`` (subject probability ``prob``, any size) on a canvas of ``canvas`` (w, h)."""
    cw, ch = canvas
    height, width = rgb.shape[:2]
    box = _subject_box(prob)
    scale = _scale((width, height), canvas, box)
    pw, ph = max(1, round(width * scale)), max(1, round(height * scale))
    centre_x = (box[0] + box[2]) / 2 * pw
    bottom = 0.0 if box[3] > 0.97 else _BOTTOM_MARGIN
    want_y = ch * (_TOP_MARGIN + (1 - _TOP_MARGIN - bottom) / 2)
    centre_y = (box[1] + box[3]) / 2 * ph
    if box[3] > 0.97:  # the subject stands on the photo's lower edge: keep that edge down
        want_y, centre_y = float(ch), float(ph)
    ox = _offset(pw, cw, centre_x, cw / 2)
    oy = _offset(ph, ch, centre_y, want_y)
    vx0, vy0 = max(0, ox), max(0, oy)
    vx1, vy1 = min(cw, ox + pw), min(ch, oy + ph)
    size = (vx1 - vx0, vy1 - vy0)
    shift = (ox - vx0, oy - vy0)
    # Only the part of the photo that lands on the canvas is read, box-filtered most of the
    # way down first when shrinking a lot, so linear sampling does not alias.
    cx0, cy0 = int((vx0 - ox) / scale), int((vy0 - oy) / scale)
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
    placed = cv2.warpAffine(
        src,
        _affine(step, (cx0, cy0), scale, shift),
        size,
        flags=flags,
        borderMode=cv2.BORDER_REPLICATE,
    )
    gaps = vx0 > 0 or vy0 > 0 or vx1 < cw or vy1 < ch
    canvas_rgb = _backdrop(rgb, canvas) if gaps else np.empty((ch, cw, 3), np.uint8)
    canvas_rgb[vy0:vy1, vx0:vx1] = placed
    subject = np.zeros((ch, cw), np.float32)
    subject[vy0:vy1, vx0:vx1] = cv2.warpAffine(
        prob,
        _affine(width / prob.shape[1], (0, 0), scale, shift),
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return Scene(canvas_rgb, subject, (vx0, vy0, vx1, vy1))


def _affine(
    pixel: float, origin: tuple[int, int], scale: float, shift: tuple[int, int]
) -> NDArray[np.float64]:
    """warpAffine's matrix for a source whose pixels are ``pixel`` photo pixels wide, starting
    at photo pixel ``origin``, drawn at ``scale`` and moved by ``shift`` (pixel centres kept)."""
    step = pixel * scale
    tx = (origin[0] + 0.5 * pixel) * scale + shift[0] - 0.5
    ty = (origin[1] + 0.5 * pixel) * scale + shift[1] - 0.5
    return np.array([[step, 0.0, tx], [0.0, step, ty]])
