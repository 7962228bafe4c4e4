"""Small synthetic pictures whose every pixel is known: walls to rebuild, shapes to cut out."""

from __future__ import annotations

from typing import Any

import cv2 as _cv2
import numpy as np
from numpy.typing import NDArray

# OpenCV's stubs lose each array's dtype; typed as Any, the arrays here carry their own types.
cv2: Any = _cv2

__all__ = ["HEIGHT", "WIDTH", "lumpy_blob", "wall"]

HEIGHT, WIDTH = 640, 480
_H, _W = HEIGHT, WIDTH


def wall(kind: str, seed: int = 1) -> NDArray[np.uint8]:
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


def lumpy_blob(cx: float, cy: float, rx: float, ry: float, scale: int = 1) -> NDArray[np.float32]:
    """A lumpy ellipse (a subject's footprint), anti-aliased when ``scale`` > 1."""
    yy, xx = np.mgrid[0 : _H * scale, 0 : _W * scale] / scale
    angle = np.arctan2(yy - cy, xx - cx)
    radius = np.hypot((xx - cx) / rx, (yy - cy) / ry)
    inside = (radius <= 1 + 0.12 * np.sin(3 * angle) + 0.05 * np.cos(5 * angle)).astype(np.float32)
    shape: NDArray[np.float32] = cv2.resize(inside, (_W, _H), interpolation=cv2.INTER_AREA)
    return shape
