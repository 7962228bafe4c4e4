"""Find the subject: what moves, as opposed to the background that must stay still.

Tried in order, the first plausible answer wins:

1. the photo's own transparency (a cut-out product shot);
2. MediaPipe's selfie segmentation (people), run through ``cv2.dnn`` from the vendored model;
3. a plain background: pixels far in colour from the photo's border;
4. GrabCut started from a centred rectangle (most single-subject photos);
5. a soft centred ellipse, when nothing else is convincing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2

__all__ = ["Subject", "find_subject"]

WORK_SIDE = 320  # long side of the picture the subject is looked for in
_MODEL = "models/selfie_segmentation.tflite"
_MIN_AREA, _MAX_AREA = 0.03, 0.85  # a plausible subject covers this much of the photo
_GRABCUT_SIDE = 160  # GrabCut's cost grows fast with size; its outline is refined later anyway
_GRABCUT_MIN_AREA = 0.10  # smaller than this, GrabCut has latched onto a detail
# Outlines sure enough to cut the subject out and move it over a filled background. GrabCut's
# and the centred guess are not: there the whole photo is warped, with no second layer.
_SEPARABLE = frozenset({"transparency", "person", "plain background"})
_SEPARABLE_MAX_AREA = 0.6  # a subject filling more of the photo leaves no background to fill


@dataclass(frozen=True)
class Subject:
    """The subject as a probability map (float32, 0..1) at the size it was found in."""

    probability: NDArray[np.float32]
    method: str

    @property
    def separable(self) -> bool:
        """Whether the outline is sure, and leaves enough background, to move it as a layer."""
        area = float(np.mean(self.probability > 0.5))
        return self.method in _SEPARABLE and area <= _SEPARABLE_MAX_AREA


def _work_size(height: int, width: int) -> tuple[int, int]:
    scale = WORK_SIDE / max(height, width)
    return max(8, round(width * scale)), max(8, round(height * scale))


def _keep_main_parts(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The largest connected part, and any other part at least a fifth its size."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= areas.max() / 5) + 1
    kept: NDArray[np.uint8] = np.isin(labels, keep).astype(np.uint8)
    return kept


def _area_ok(mask: NDArray[np.uint8]) -> bool:
    return _MIN_AREA <= float(mask.mean()) <= _MAX_AREA


def _from_alpha(alpha: NDArray[np.uint8], size: tuple[int, int]) -> Subject | None:
    small = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    if not _area_ok((small > 127).astype(np.uint8)):
        return None
    return Subject(small.astype(np.float32) / 255.0, "transparency")


def _selfie(rgb: NDArray[np.uint8]) -> Subject | None:
    """Person segmentation; accepted only when the model is sure of most pixels."""
    model = resources.files(__package__).joinpath(_MODEL).read_bytes()
    # A network per call: cv2.dnn nets are not safe to share between threads.
    net = cv2.dnn.readNetFromTFLite(np.frombuffer(model, dtype=np.uint8))
    net.setInput(cv2.dnn.blobFromImage(rgb, 1 / 255.0, (256, 256), swapRB=False))
    out = net.forward().reshape(256, 256).astype(np.float32)
    # A clear person leaves few pixels the model is unsure of (only along the outline).
    if float(np.mean((out > 0.1) & (out < 0.9))) > 0.08:
        return None
    height, width = rgb.shape[:2]
    prob = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = _keep_main_parts((prob > 0.5).astype(np.uint8))
    if not _area_ok(mask):
        return None
    return Subject(prob * mask, "person")


def _plain_background(rgb: NDArray[np.uint8]) -> Subject | None:
    """Subject on a plain backdrop: whatever differs clearly from the border's colour."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    height, width = lab.shape[:2]
    band = max(2, round(0.04 * min(height, width)))
    border = np.concatenate(
        [
            lab[:band].reshape(-1, 3),
            lab[-band:].reshape(-1, 3),
            lab[:, :band].reshape(-1, 3),
            lab[:, -band:].reshape(-1, 3),
        ]
    )
    colour = np.median(border, axis=0)
    spread = float(np.median(np.linalg.norm(border - colour, axis=1)))
    if spread > 6.0:  # the border is busy: not a plain backdrop
        return None
    distance = np.linalg.norm(lab - colour, axis=2)
    mask = (distance > max(14.0, 4.0 * spread)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = _fill_holes(_keep_main_parts(mask))
    if not _area_ok(mask):
        return None
    return Subject(mask.astype(np.float32), "plain background")


def _fill_holes(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Close interior holes (a white shirt on a white wall stays part of the subject)."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    holes = (flood[1:-1, 1:-1] == 0).astype(np.uint8)
    filled: NDArray[np.uint8] = mask | holes
    return filled


def _grabcut(rgb: NDArray[np.uint8]) -> Subject | None:
    """GrabCut from a centred rectangle: the usual framing of a single subject."""
    scale = _GRABCUT_SIDE / max(rgb.shape[:2])
    full_size = (rgb.shape[1], rgb.shape[0])
    rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    height, width = rgb.shape[:2]
    rect = (
        round(0.10 * width),
        round(0.06 * height),
        round(0.80 * width),
        round(0.92 * height),
    )
    labels = np.zeros((height, width), np.uint8)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    try:
        cv2.grabCut(bgr, labels, rect, background, foreground, 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None
    mask = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = _fill_holes(_keep_main_parts(mask))
    if not _GRABCUT_MIN_AREA <= float(mask.mean()) <= _MAX_AREA or _boxy(mask):
        return None
    prob = cv2.resize(mask.astype(np.float32), full_size, interpolation=cv2.INTER_LINEAR)
    return Subject(prob, "centred cut-out")


def _boxy(mask: NDArray[np.uint8]) -> bool:
    """Whether the mask nearly fills its bounding box: GrabCut returned its starting rectangle."""
    _, _, width, height = cv2.boundingRect(mask)
    return bool(float(mask.sum()) > 0.9 * width * height)


def _ellipse(height: int, width: int) -> Subject:
    """The last resort: a soft ellipse over the middle, resting on the lower edge."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2, height * 0.58
    rx, ry = width * 0.34, height * 0.42
    distance = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    prob = np.clip(1.5 - distance, 0.0, 1.0).astype(np.float32)
    return Subject(prob, "centre")


def find_subject(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8] | None = None) -> Subject:
    """The subject of ``rgb`` (any size), as a probability map at the work size."""
    size = _work_size(*rgb.shape[:2])
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if alpha is not None:
        found = _from_alpha(alpha, size)
        if found is not None:
            return found
    for finder in (_selfie, _plain_background, _grabcut):
        found = finder(small)
        if found is not None:
            return found
    return _ellipse(size[1], size[0])
