"""RGB to YUV 4:2:0 with the BT.709 matrix in TV range, the colour the MP4 is tagged with."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["Planes", "planes_to_rgb", "rgb_to_planes", "rgb_to_yuv444"]

_KR, _KB = 0.2126, 0.0722  # BT.709 luma weights
_KG = 1.0 - _KR - _KB
_MATRIX = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (1 - _KB) / 2, -_KG / (1 - _KB) / 2, 0.5],
        [0.5, -_KG / (1 - _KR) / 2, -_KB / (1 - _KR) / 2],
    ]
)
# TV range: Y in 16..235, Cb/Cr in 16..240 around 128.
_SCALE = np.diag([219 / 255, 224 / 255, 224 / 255])
_AFFINE = np.hstack([_SCALE @ _MATRIX, [[16.0], [128.0], [128.0]]]).astype(np.float32)

Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]


def rgb_to_yuv444(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Full-resolution Y, Cb, Cr as three channels."""
    yuv: NDArray[np.uint8] = cv2.transform(rgb, _AFFINE)
    return yuv


def rgb_to_planes(rgb: NDArray[np.uint8]) -> Planes:
    """Y at full size; Cb and Cr averaged over 2x2 blocks (even width and height required)."""
    height, width = rgb.shape[:2]
    yuv = rgb_to_yuv444(rgb)
    half = cv2.resize(yuv[:, :, 1:], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return (
        np.ascontiguousarray(yuv[:, :, 0]),
        np.ascontiguousarray(half[:, :, 0]),
        np.ascontiguousarray(half[:, :, 1]),
    )


_INVERSE = np.linalg.inv(np.vstack([_AFFINE, [0.0, 0.0, 0.0, 1.0]]))[:3].astype(np.float32)


def planes_to_rgb(i420: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """An I420 picture, shape (height * 3 / 2, width), back to RGB with the same matrix."""
    height, width = i420.shape[0] * 2 // 3, i420.shape[1]
    y = i420[:height]
    u = i420[height : height + height // 4].reshape(height // 2, width // 2)
    v = i420[height + height // 4 :].reshape(height // 2, width // 2)
    size = (width, height)
    yuv = cv2.merge(
        [
            y,
            cv2.resize(u, size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(v, size, interpolation=cv2.INTER_LINEAR),
        ]
    )
    rgb: NDArray[np.uint8] = cv2.transform(yuv, _INVERSE)
    return rgb
