"""Find the subject: what moves, as opposed to the background that must stay still.

Tried in order, the first plausible answer wins (numbers in ``data/subject.yaml``):

1. ``transparency``: the photo's own alpha (a cut-out product shot);
2. ``person``: MediaPipe's selfie segmentation, run through ``cv2.dnn`` from the vendored model,
   accepted only when it is sure of its pixels *and* the mask is shaped like a person: a head
   narrower than the body, and the body standing on the photo's lower edge (a portrait, a
   selfie) or a figure taller than wide. The model also answers for flowers, cats and cups;
   those are round blobs floating in the photo, and fall through to the finders below;
3. ``plain background``: pixels far in colour from a plain border;
4. ``salient object`` by focus: a sharp region over a soft border (a pet, a product at a
   shallow depth of field, which may fill the frame and share its colours) seeds GrabCut;
   kept when much of the border is soft and the cut is compact;
5. ``salient object`` by colour: a saliency estimate (colour contrast to the border in Lab,
   modulated by the spectral residual of Hou & Zhang 2007 and a mild centre prior) seeds
   GrabCut: sure subject at its strongest part, probable around it;
   the cut is kept only if it stays on the salient region, is not the whole photo, and holds
   most of the salient blob or is one clear part (not scattered pieces: a cat's eyes);
6. ``none``: nothing convincing. The probability map is all zeros.

A salient object's cut (from a 128-px picture) then has its outline redrawn at the work size by
local colour, which also joins thin parts it lost (a rocket's nose cone against the sky).

Every random choice is seeded (GrabCut's GMMs start from k-means on OpenCV's RNG, which is per
thread): the same photo gives the same bytes, whatever ran before it and in whichever thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skill._data import load_yaml

from ._cues import border_band, focus_map, saliency_map
from ._cv import cv2

__all__ = ["Subject", "find_subject"]

_MODEL = "models/selfie_segmentation.tflite"
_EDGE_SIGMA = 0.8  # work-size pixels of softness along the outline

Mask = NDArray[np.uint8]
Floats = NDArray[np.float32]


def _table() -> Mapping[str, Any]:
    return load_yaml("skill.local.render", "data/subject.yaml")


@dataclass(frozen=True)
class Subject:
    """The subject as a probability map (float32, 0..1) at the size it was found in."""

    probability: Floats
    method: str

    @property
    def separable(self) -> bool:
        """Whether it can be cut out and moved as a layer: found, and leaving background."""
        area = float(np.mean(self.probability > 0.5))
        return self.method != "none" and 0.0 < area <= float(_table()["separable_max_area"])


def _work_size(height: int, width: int) -> tuple[int, int]:
    scale = int(_table()["work_side"]) / max(height, width)
    return max(8, round(width * scale)), max(8, round(height * scale))


def _area_ok(mask: Mask) -> bool:
    bounds = _table()["area"]
    return float(bounds["min"]) <= float(mask.mean()) <= float(bounds["max"])


def _disc(size: int) -> Mask:
    kernel: Mask = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return kernel


def _keep_main_parts(mask: Mask) -> Mask:
    """The largest connected part, and any other part at least a fifth its size."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= areas.max() / 5) + 1
    kept: Mask = np.isin(labels, keep).astype(np.uint8)
    return kept


def _fill_holes(mask: Mask) -> Mask:
    """Close interior holes (a white shirt on a white wall stays part of the subject)."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = padded.copy()
    cv2.floodFill(flood, None, (0, 0), 1)
    holes = (flood[1:-1, 1:-1] == 0).astype(np.uint8)
    filled: Mask = mask | holes
    return filled


def _clean(mask: Mask) -> Mask:
    """Specks and hairlines opened away, the main parts kept, their holes filled."""
    opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disc(3))
    return _fill_holes(_keep_main_parts(opened))


def _soft(mask: Mask, size: tuple[int, int]) -> Floats:
    """A clean 0/1 mask at ``size`` (w, h), soft only along its outline."""
    prob = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    prob = cv2.GaussianBlur(prob, (0, 0), _EDGE_SIGMA)
    out: Floats = np.clip(prob, 0.0, 1.0).astype(np.float32)
    return out


def _local_mean(values: Floats, weight: Floats, sigma: float) -> tuple[Floats, Floats]:
    """Each pixel's weighted mean of ``values`` (h, w or h, w, c) over the pixels ``weight``
    selects, in a Gaussian of ``sigma`` pixels around it (a normalised convolution); and the
    Gaussian's share on them (near zero: none near, the mean means nothing)."""
    total: Floats = cv2.GaussianBlur(weight, (0, 0), sigma)
    weighted = values * (weight if values.ndim == 2 else weight[:, :, None])
    blurred = cv2.GaussianBlur(weighted, (0, 0), sigma).reshape(values.shape)
    share = np.maximum(total, 1e-6)
    mean: Floats = blurred / (share if values.ndim == 2 else share[:, :, None])
    return mean, total


def _refine(rgb: NDArray[np.uint8], mask: Mask) -> Mask:
    """The outline redrawn at the work size, and thin parts that continue the subject joined.

    The salient finders cut at 128 px: the outline is coarse and thin parts are lost (a rocket's
    nose cone behind a dark band, an ear tip). Within ``core`` of the outline a pixel is subject
    when its colour is closer to the subject's nearby (its eroded core's, locally averaged) than
    to the background's nearby (beyond ``far``); out to ``far``, when it differs clearly from a
    plain local background (by several times that background's own variation: a cone against
    the sky joins, a table's wood next to a saucer of its colour does not). Only what is
    connected to the core joins; holes are filled, specks opened away. Where no background is
    near (the photo's edge), the first answer stands; and the whole refinement is dropped when
    it loses much of the first answer or grows it by much.
    """
    rule = _table()["refine"]
    height, width = mask.shape
    side = max(height, width)
    far = max(2, round(float(rule["far"]) * side))
    inset = max(1, round(float(rule["core"]) * side))
    x, y, w, h = cv2.boundingRect(mask)
    margin = 2 * far + 2  # the band and the background that decides it: enough for speed
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    crop = mask[y0:y1, x0:x1]
    core = cv2.erode(crop, _disc(2 * inset + 1))
    near = cv2.dilate(crop, _disc(2 * inset + 1)) > 0
    reach = cv2.dilate(crop, _disc(2 * far + 1)) > 0
    outside = (~reach).astype(np.float32)
    if not core.any() or not outside.any():
        return mask
    rgb_crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    lab = cv2.cvtColor(rgb_crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    sigma = float(rule["sigma"]) * side
    fore, fore_share = _local_mean(lab, core.astype(np.float32), sigma)
    back, back_share = _local_mean(lab, outside, sigma)
    to_fore = np.sum((lab - fore) ** 2, axis=2)
    to_back = np.sum((lab - back) ** 2, axis=2)
    spread, _ = _local_mean(to_back, outside, sigma)  # the background's own variance there
    level = np.maximum(
        float(rule["contrast_min"]) ** 2, float(rule["contrast_spread"]) ** 2 * spread
    )
    joins = ((to_fore < to_back) & near) | (to_back > level)
    known = (fore_share > float(rule["share_min"])) & (back_share > float(rule["share_min"]))
    joins = np.where(known, joins & reach, crop > 0) | (core > 0)
    _, labels = cv2.connectedComponents(joins.astype(np.uint8), connectivity=8)
    attached = np.unique(labels[core > 0])
    refined = np.zeros_like(mask)
    refined[y0:y1, x0:x1] = _fill_holes(np.isin(labels, attached[attached > 0]).astype(np.uint8))
    refined = _clean(refined)
    area = float(mask.sum())
    kept = float((refined & mask).sum()) / area
    if kept < float(rule["keep_min"]) or float(refined.sum()) > float(rule["grow_max"]) * area:
        return mask
    return refined


def _outlined(rgb: NDArray[np.uint8], mask: Mask) -> Subject:
    """A salient object from its clean mask at the GrabCut size, refined at ``rgb``'s size."""
    height, width = rgb.shape[:2]
    grown = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    mask = (grown > 0.5).astype(np.uint8)
    refined = _refine(rgb, mask)
    return Subject(_soft(refined if _area_ok(refined) else mask, (width, height)), "salient object")


def _from_alpha(alpha: Mask, size: tuple[int, int]) -> Subject | None:
    small = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    if not _area_ok((small > 127).astype(np.uint8)):
        return None  # fully opaque (or nearly empty): the alpha says nothing
    return Subject(small.astype(np.float32) / 255.0, "transparency")


def _person_shaped(mask: Mask) -> bool:
    """A head narrower than the body, over a body on the lower edge or a standing figure."""
    rule = _table()["person"]
    _, y, width, height = cv2.boundingRect(mask)
    rows = mask[y : y + height].sum(axis=1)
    widest = float(rows.max())
    head = float(rows[: max(1, round(height * float(rule["head_top"])))].max())
    if head > float(rule["head_max"]) * widest:
        return False
    base = float(mask[-3:].max(axis=0).sum())  # where the mask meets the lower edge
    stands = base >= float(rule["base_min"]) * widest
    return stands or height >= float(rule["figure_aspect"]) * width


def _selfie(rgb: NDArray[np.uint8]) -> Subject | None:
    """A person: the model sure of its pixels, and the mask shaped like one."""
    rule = _table()["person"]
    model = resources.files(__package__).joinpath(_MODEL).read_bytes()
    # A network per call: cv2.dnn nets are not safe to share between threads.
    net = cv2.dnn.readNetFromTFLite(np.frombuffer(model, dtype=np.uint8))
    net.setInput(cv2.dnn.blobFromImage(rgb, 1 / 255.0, (256, 256), swapRB=False))
    out = net.forward().reshape(256, 256).astype(np.float32)
    # A clear person leaves few pixels the model is unsure of (only along the outline).
    if float(np.mean((out > 0.1) & (out < 0.9))) > float(rule["unsure_max"]):
        return None
    height, width = rgb.shape[:2]
    prob = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = _clean((prob > 0.5).astype(np.uint8))
    if not _area_ok(mask) or float(prob[mask > 0].mean()) < float(rule["inside_min"]):
        return None
    if not _person_shaped(mask):
        return None
    return Subject(_soft(mask, (width, height)), "person")


def _plain_background(rgb: NDArray[np.uint8]) -> Subject | None:
    """Subject on a plain backdrop: whatever differs clearly from the border's colour."""
    rule = _table()["plain"]
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    height, width = lab.shape[:2]
    border = lab[border_band(height, width, float(rule["border"]))]
    colour = np.median(border, axis=0)
    spread = float(np.median(np.linalg.norm(border - colour, axis=1)))
    if spread > float(rule["spread_max"]):  # the border is busy: not a plain backdrop
        return None
    distance = np.linalg.norm(lab - colour, axis=2)
    mask = (distance > max(float(rule["distance_min"]), 4.0 * spread)).astype(np.uint8)
    mask = _clean(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disc(5)))
    if not _area_ok(mask):
        return None
    return Subject(_soft(mask, (width, height)), "plain background")


def _largest(mask: Mask) -> Mask:
    """The largest connected part of ``mask`` (all zeros if none)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros_like(mask)
    biggest: Mask = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    return biggest


def _seed_labels(salient: Floats) -> tuple[Mask, Mask]:
    """GrabCut's starting labels, and the salient blob they grow from.

    Sure subject: the eroded core of the largest strongly salient part; probable subject: the
    salient blob around it; sure background: the border band where nothing stands out.
    """
    rule = _table()["salient"]
    height, width = salient.shape
    peak = float(salient.max())
    level = max(float(rule["seed_min"]), float(rule["seed_share"]) * peak)
    blob = _largest((salient >= level).astype(np.uint8))
    core = _largest((salient >= float(rule["core_share"]) * peak).astype(np.uint8) & blob)
    core = cv2.erode(core, _disc(3))
    labels = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    labels[salient >= level] = cv2.GC_PR_FGD
    labels[core > 0] = cv2.GC_FGD
    ring = border_band(height, width, float(rule["border"]))
    labels[ring & (salient < float(rule["background_max"]))] = cv2.GC_BGD
    return labels, blob


def _salient_object(rgb: NDArray[np.uint8]) -> Subject | None:
    """GrabCut seeded by saliency: sure at its strongest part, probable on the salient blob."""
    rule = _table()["salient"]
    height, width = rgb.shape[:2]
    scale = int(rule["grabcut_side"]) / max(height, width)
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    salient = cv2.resize(saliency_map(rgb), size, interpolation=cv2.INTER_LINEAR)
    labels, blob = _seed_labels(salient)
    if not _area_ok(blob) or not (labels == cv2.GC_BGD).any():
        return None
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    cv2.setRNGSeed(int(rule["seed"]))  # per thread, right before the call that draws from it
    try:
        cv2.grabCut(
            bgr,
            labels,
            None,
            background,
            foreground,
            int(rule["iterations"]),
            cv2.GC_INIT_WITH_MASK,
        )
    except cv2.error:
        return None
    mask = _clean(((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8))
    if not _area_ok(mask) or _boxy(mask, float(rule["boxy_fill"])):
        return None
    grown = cv2.dilate((salient >= float(rule["seed_min"]) / 2).astype(np.uint8), _disc(9)) > 0
    inside = float(np.mean(grown[mask > 0]))
    recall = float(np.mean(mask[blob > 0] > 0))
    lift = float(salient[mask > 0].mean()) - float(salient[mask == 0].mean())
    # Most of the salient region, or one clear whole (a rocket under a glowing horizon); not
    # scattered pieces of it (a cat's two eyes, a few coins of many).
    whole = cv2.connectedComponents(mask)[0] == 2 and lift >= float(rule["lift_min"])
    if inside < float(rule["overlap_min"]) or not (recall >= float(rule["recall_min"]) or whole):
        return None
    return _outlined(rgb, mask)


def _compactness(mask: Mask) -> float:
    """4 pi area / perimeter squared: 1 for a disc, small for a ragged or stringy shape."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(contour, True) for contour in contours)
    return float(4 * np.pi * mask.sum() / max(perimeter, 1.0) ** 2)


def _in_focus(rgb: NDArray[np.uint8]) -> Subject | None:
    """A sharp subject over a soft background (a pet, a product at a shallow depth of field).

    It may fill the frame and share the background's colours, so colour contrast misses it.
    The sharp region (Otsu on the focus map) seeds GrabCut: its eroded inside sure subject,
    the soft region away from it sure background. Kept only when much of the border is soft
    and the cut is a compact whole (a busy sharp scene gives a ragged one).
    """
    rule = _table()["focus"]
    height, width = rgb.shape[:2]
    scale = int(_table()["salient"]["grabcut_side"]) / max(height, width)
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    sharp = focus_map(rgb, size)
    ring = border_band(size[1], size[0], float(rule["border"]))
    soft = sharp < float(rule["soft_max"])
    if not sharp.any() or float(np.mean(soft[ring])) < float(rule["soft_border_min"]):
        return None
    level, _ = cv2.threshold(
        (sharp * 255).astype(np.uint8), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU
    )
    region = _clean(
        cv2.morphologyEx((sharp * 255 > level).astype(np.uint8), cv2.MORPH_CLOSE, _disc(5))
    )
    if not _area_ok(region):
        return None
    labels = np.full(region.shape, cv2.GC_PR_BGD, np.uint8)
    labels[region > 0] = cv2.GC_PR_FGD
    labels[cv2.erode(region, _disc(int(rule["core_erode"]))) > 0] = cv2.GC_FGD
    labels[(cv2.dilate(region, _disc(5)) == 0) & soft] = cv2.GC_BGD
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    cv2.setRNGSeed(int(_table()["salient"]["seed"]))
    try:
        cv2.grabCut(
            cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
            labels,
            None,
            np.zeros((1, 65), np.float64),
            np.zeros((1, 65), np.float64),
            int(_table()["salient"]["iterations"]),
            cv2.GC_INIT_WITH_MASK,
        )
    except cv2.error:
        return None
    mask = _clean(((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8))
    if not _area_ok(mask) or _boxy(mask, float(_table()["salient"]["boxy_fill"])):
        return None
    if _compactness(mask) < float(rule["compact_min"]):
        return None
    return _outlined(rgb, mask)


def _boxy(mask: Mask, fill: float) -> bool:
    """Whether the mask is a box spanning the photo: no subject, just the frame's content."""
    _, _, width, height = cv2.boundingRect(mask)
    spans = width >= 0.95 * mask.shape[1] and height >= 0.95 * mask.shape[0]
    return bool(spans and float(mask.sum()) > fill * width * height)


def find_subject(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8] | None = None) -> Subject:
    """The subject of ``rgb`` (any size), as a probability map at the work size.

    ``method`` says which finder answered; ``none`` (an all-zero map) when nothing did.
    """
    size = _work_size(*rgb.shape[:2])
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if alpha is not None:
        found = _from_alpha(alpha, size)
        if found is not None:
            return found
    for finder in (_selfie, _plain_background, _in_focus, _salient_object):
        found = finder(small)
        if found is not None:
            return found
    return Subject(np.zeros((size[1], size[0]), np.float32), "none")
