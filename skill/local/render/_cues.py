"""Where a photo's subject may be, before any cut: what stands out, and what is in focus.

Both are maps from 0 to 1 that seed GrabCut in :mod:`._subject` (numbers in
``data/subject.yaml``): the saliency (colour contrast to the photo's borders, the spectral
residual of Hou & Zhang 2007, a mild centre prior) and the focus (a sharp region over a soft
border: a pet or a product shot at a shallow depth of field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skill._data import load_yaml

from ._cv import cv2

__all__ = ["border_band", "focus_map", "saliency_map"]

Floats = NDArray[np.float32]


def _table() -> Mapping[str, Any]:
    return load_yaml("skill.local.render", "data/subject.yaml")


def border_band(height: int, width: int, fraction: float) -> NDArray[np.bool_]:
    """The ring of pixels within ``fraction`` of the shorter side from the photo's edges."""
    band = max(2, round(fraction * min(height, width)))
    ring = np.ones((height, width), bool)
    ring[band:-band, band:-band] = False
    return ring


def focus_map(rgb: NDArray[np.uint8], size: tuple[int, int]) -> Floats:
    """How sharp each neighbourhood is against the photo's most blurred border, 0..1.

    The local energy of the Laplacian, in log, from the border's blurred end (a low quantile
    of the border band: a shallow depth of field leaves the background soft) to the photo's
    sharpest. A photo sharp or blurred all over (noise, a flat wall) has no such span: zeros.
    """
    rule = _table()["focus"]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    height, width = grey.shape
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    sigma = float(rule["sigma"]) * max(height, width)
    energy = np.log(cv2.GaussianBlur(laplacian * laplacian, (0, 0), sigma) + 1e-5)
    ring = border_band(height, width, float(rule["border"]))
    low = float(np.quantile(energy[ring], float(rule["border_quantile"])))
    high = float(np.quantile(energy, float(rule["top_quantile"])))
    if high - low < float(rule["span_min"]):
        return np.zeros((size[1], size[0]), np.float32)
    sharp = np.clip((energy - low) / (high - low), 0.0, 1.0).astype(np.float32)
    out: Floats = cv2.resize(sharp, size, interpolation=cv2.INTER_AREA)
    return out


def saliency_map(rgb: NDArray[np.uint8]) -> Floats:
    """How much each pixel stands out, 0..1, at the small ``salient.side`` size.

    Mostly colour contrast to the border (the boundary prior): a pixel's Lab distance to each
    side's colours, taken at a low quantile (a subject may cross part of a side), and of the
    four the second smallest (it may stand on one side). The spectral residual (Hou & Zhang
    2007) favours the unexpected, and a mild centre prior the usual framing.
    """
    rule = _table()["salient"]
    height, width = rgb.shape[:2]
    scale = int(rule["side"]) / max(height, width)
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    sh, sw = lab.shape[:2]
    band = max(2, round(float(rule["border"]) * min(sh, sw)))
    pixels = lab.reshape(-1, 3)
    sides = []
    for side in (lab[:band], lab[-band:], lab[:, :band], lab[:, -band:]):
        samples = side.reshape(-1, 3)
        samples = samples[:: max(1, len(samples) // 64)]
        # Channel by channel: a (pixels, samples) array at a time, not (pixels, samples, 3).
        squared = np.zeros((pixels.shape[0], samples.shape[0]), np.float32)
        for channel in range(3):
            step = pixels[:, channel, None] - samples[None, :, channel]
            squared += step * step
        k = int(float(rule["quantile"]) * (samples.shape[0] - 1))
        sides.append(np.partition(squared, k, axis=1)[:, k])
    # Unlike the second-closest side: one side may be mostly subject (it stands on the edge).
    closest = np.sort(np.stack(sides), axis=0)[1]
    contrast = np.clip(np.sqrt(closest).reshape(sh, sw) / float(rule["contrast_scale"]), 0, 1)

    spectrum = np.fft.fft2(lab[:, :, 0])
    log_amplitude = np.log(np.abs(spectrum) + 1e-6).astype(np.float32)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    back = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    back = cv2.GaussianBlur(back.astype(np.float32), (0, 0), 0.04 * max(sh, sw))
    spectral = back / max(float(back.max()), 1e-12)

    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    centre = np.exp(-(((xx + 0.5) / sw - 0.5) ** 2 + ((yy + 0.5) / sh - 0.5) ** 2) / 0.245)
    weight, depth = float(rule["residual_weight"]), float(rule["centre_weight"])
    salient = contrast * (1 - weight + weight * spectral) * (1 - depth + depth * centre)
    out: Floats = salient.astype(np.float32)
    return out
