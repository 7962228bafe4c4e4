"""Quality measures of a rendered loop, computed only from its decoded frames.

Where a measure needs ground truth, it is what the test itself knows: the photo it made, the
subject's known mask or box, and where the result says the photo sits on the canvas
(``photo_box``, ``placement``). Nothing here reads the renderer's internals; colour conversion
is BT.709 in TV range, what the MP4s are tagged with, reimplemented here on purpose.

Conventions: ``luma`` is (frames, height, width) int16; ``cb``/``cr`` are (frames, height/2,
width/2) int16; a "mask" is float32 0..1 or bool, canvas-sized unless its name says photo;
a box is (x0, y0, x1, y1), end-exclusive, in canvas pixels; ``placement`` is (scale, dx, dy):
the photo's continuous point (x, y) (top-left corner origin) lands at (x*scale+dx, y*scale+dy).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2 as _cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "Box",
    "DecodedVideo",
    "GhostReport",
    "LagReport",
    "Placement",
    "SubjectFlow",
    "canvas_box_of_mask",
    "contact_sheet",
    "cycle_length",
    "decode_video",
    "displacement_p95",
    "edge_chroma",
    "estimate_placement",
    "far_background_mask",
    "far_background_unstable",
    "follow_through_lag",
    "frames_identical",
    "frames_leaving_photo",
    "ghost_measure",
    "median_frame",
    "motion_heat_map",
    "photo_box_of",
    "photo_share",
    "rest_frame_index",
    "rgb_to_ycbcr",
    "seam_ratio",
    "subject_flow",
    "to_canvas",
    "ycbcr_to_rgb",
]

# OpenCV's stubs lose each array's dtype; typed as Any, the arrays here carry their own types.
cv2: Any = _cv2

Box = tuple[int, int, int, int]
Placement = tuple[float, float, float]
Luma = NDArray[np.int16]
FloatMask = NDArray[np.float32]
BoolMask = NDArray[np.bool_]
RGB = NDArray[np.uint8]

# BT.709 in TV range: Y 16..235, Cb/Cr 16..240 around 128.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_YCBCR = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (1 - _KB) / 2, -_KG / (1 - _KB) / 2, 0.5],
        [0.5, -_KG / (1 - _KR) / 2, -_KB / (1 - _KR) / 2],
    ]
) * np.array([[219 / 255], [224 / 255], [224 / 255]])
_OFFSET = np.array([16.0, 128.0, 128.0])


# -- decoding -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedVideo:
    """Every frame's planes as decoded (no colour conversion): Y full size, Cb and Cr half."""

    luma: Luma
    cb: Luma
    cr: Luma
    fps: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the canvas."""
        return int(self.luma.shape[2]), int(self.luma.shape[1])

    def rgb(self, index: int) -> RGB:
        """Frame ``index`` as RGB (chroma enlarged bilinearly, BT.709 TV range undone)."""
        return ycbcr_to_rgb(self.luma[index], self.cb[index], self.cr[index])


def decode_video(path: str | os.PathLike[str]) -> DecodedVideo:
    """All frames of the MP4 at ``path`` as yuv420p planes, in display order."""
    lumas, cbs, crs = [], [], []
    with av.open(str(Path(path))) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        for frame in container.decode(video=0):
            planes = np.asarray(frame.to_ndarray(format="yuv420p"), np.uint8)
            h, w = frame.height, frame.width
            lumas.append(planes[:h])
            cbs.append(planes[h : h + h // 4].reshape(h // 2, w // 2))
            crs.append(planes[h + h // 4 :].reshape(h // 2, w // 2))
    return DecodedVideo(
        np.stack(lumas).astype(np.int16),
        np.stack(cbs).astype(np.int16),
        np.stack(crs).astype(np.int16),
        fps,
    )


def rgb_to_ycbcr(rgb: NDArray[Any]) -> NDArray[np.float32]:
    """Full-resolution Y, Cb, Cr (float, BT.709 TV range) of an RGB picture, shape (h, w, 3)."""
    out: NDArray[np.float32] = (np.asarray(rgb, np.float32) @ _YCBCR.T.astype(np.float32)) + (
        _OFFSET.astype(np.float32)
    )
    return out


def ycbcr_to_rgb(luma: NDArray[Any], cb: NDArray[Any], cr: NDArray[Any]) -> RGB:
    """RGB from Y (full size) and Cb, Cr (half size), BT.709 TV range."""
    height, width = luma.shape
    size = (width, height)
    up_cb = cv2.resize(np.asarray(cb, np.float32), size, interpolation=cv2.INTER_LINEAR)
    up_cr = cv2.resize(np.asarray(cr, np.float32), size, interpolation=cv2.INTER_LINEAR)
    yuv = np.dstack([np.asarray(luma, np.float32), up_cb, up_cr]) - _OFFSET
    rgb = yuv @ np.linalg.inv(_YCBCR).T
    out: RGB = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    return out


def median_frame(luma: Luma) -> NDArray[np.float32]:
    """The per-pixel median over all frames (computed a band of rows at a time: less memory)."""
    out = np.empty(luma.shape[1:], np.float32)
    for top in range(0, luma.shape[1], 64):
        out[top : top + 64] = np.median(luma[:, top : top + 64], axis=0)
    return out


def cycle_length(luma: Luma) -> int:
    """The smallest period p (a divisor of the frame count) with frame i equal to frame i + p
    for every i: one motion cycle. The whole clip's length when it never repeats exactly."""
    count = len(luma)
    for period in range(1, count):
        if count % period or not np.array_equal(luma[period], luma[0]):
            continue  # a cheap test first: only a whole cycle can bring frame 0 back exactly
        if np.array_equal(luma[period:], luma[:-period]):
            return period
    return count


def rest_frame_index(luma: Luma, median: NDArray[np.float32] | None = None) -> int:
    """The frame with the smallest mean |luma - median frame|: the subject nearest its rest.
    (``median``: ``median_frame(luma)`` if already known.)"""
    median = median_frame(luma) if median is None else median
    distances = [float(np.abs(frame - median).mean()) for frame in luma]
    return int(np.argmin(distances))


# -- geometry: photo to canvas ------------------------------------------------------------------


def _affine(placement: Placement) -> NDArray[np.float64]:
    """warpAffine's matrix for ``placement`` (pixel centres at +0.5 on both sides)."""
    scale, dx, dy = placement
    return np.array([[scale, 0.0, 0.5 * scale + dx - 0.5], [0.0, scale, 0.5 * scale + dy - 0.5]])


def to_canvas(
    image: NDArray[Any], placement: Placement, canvas: tuple[int, int], *, linear: bool = True
) -> NDArray[np.float32]:
    """A photo-sized picture or mask drawn where ``placement`` puts it on a canvas (w, h),
    float32, zero outside the photo."""
    flags = cv2.INTER_LINEAR if linear else cv2.INTER_NEAREST
    out: NDArray[np.float32] = cv2.warpAffine(
        np.asarray(image, np.float32),
        _affine(placement),
        canvas,
        flags=flags,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return out


def photo_box_of(placement: Placement, photo: tuple[int, int], canvas: tuple[int, int]) -> Box:
    """The canvas pixels the photo (w, h) covers under ``placement``, clipped to the canvas."""
    scale, dx, dy = placement
    x0, y0 = max(0, round(dx)), max(0, round(dy))
    x1 = min(canvas[0], round(dx + photo[0] * scale))
    y1 = min(canvas[1], round(dy + photo[1] * scale))
    return x0, y0, x1, y1


def estimate_placement(photo_rgb: RGB, frame_rgb: RGB) -> Placement:
    """Where the photo sits in a frame, found by matching SIFT features (scale and shift only).

    A stand-in for ``RenderResult.placement`` when a renderer does not report it: give it a
    frame where the subject is near rest (its background matches the photo one to one).
    """
    # A low contrast threshold: a photo's fine texture, not only its corners, is worth matching.
    sift = cv2.SIFT_create(contrastThreshold=0.005)
    # Both pictures at most about 1000 px across (enough features, and faster); the points
    # found are mapped back to full size below.
    shrink = min(1.0, 1000.0 / max(photo_rgb.shape[:2]))
    photo_grey = cv2.resize(
        cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2GRAY),
        None,
        fx=shrink,
        fy=shrink,
        interpolation=cv2.INTER_AREA,
    )
    frame_grey = cv2.resize(
        cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2GRAY),
        None,
        fx=0.5,
        fy=0.5,
        interpolation=cv2.INTER_AREA,
    )
    kp_photo, des_photo = sift.detectAndCompute(photo_grey, None)
    kp_frame, des_frame = sift.detectAndCompute(frame_grey, None)
    if des_photo is None or des_frame is None:
        raise ValueError("no features to match the photo to the frame")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_photo, des_frame, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 8:
        raise ValueError(f"only {len(good)} features matched the photo to the frame")
    src = (np.array([kp_photo[m.queryIdx].pt for m in good], np.float64) + 0.5) / shrink - 0.5
    dst = np.array([kp_frame[m.trainIdx].pt for m in good], np.float64) * 2 + 0.5
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0
    )
    if matrix is None:
        raise ValueError("the photo's features fit no placement in the frame")
    keep = inliers.ravel().astype(bool)
    # Refit scale and shift alone on the inliers (least squares): no rotation in a render.
    s_pts, d_pts = src[keep], dst[keep]
    s_centre, d_centre = s_pts.mean(axis=0), d_pts.mean(axis=0)
    spread = float(((s_pts - s_centre) ** 2).sum())
    scale = float(((s_pts - s_centre) * (d_pts - d_centre)).sum()) / max(spread, 1e-9)
    shift = d_centre - scale * s_centre  # in OpenCV's pixel-centre coordinates
    # Continuous coordinates are OpenCV's plus 0.5 on both sides.
    return scale, float(shift[0] + 0.5 - 0.5 * scale), float(shift[1] + 0.5 - 0.5 * scale)


def canvas_box_of_mask(mask: NDArray[Any]) -> Box:
    """The bounding box of ``mask > 0.5`` (end-exclusive); all zeros for an empty mask."""
    rows = np.flatnonzero((np.asarray(mask) > 0.5).any(axis=1))
    cols = np.flatnonzero((np.asarray(mask) > 0.5).any(axis=0))
    if len(rows) == 0:
        return 0, 0, 0, 0
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _box_mask(box: Box, canvas: tuple[int, int]) -> BoolMask:
    inside = np.zeros((canvas[1], canvas[0]), bool)
    inside[box[1] : box[3], box[0] : box[2]] = True
    return inside


# -- 2. the loop seam ---------------------------------------------------------------------------


def seam_ratio(luma: Luma) -> float:
    """mean |last frame - first frame| over the median, over consecutive pairs, of the mean
    |frame i+1 - frame i|: 1 means the jump back to the start is an ordinary step."""
    steps = [float(np.abs(luma[i + 1] - luma[i]).mean()) for i in range(len(luma) - 1)]
    seam = float(np.abs(luma[0] - luma[-1]).mean())
    return seam / max(float(np.median(steps)), 1e-6)


# -- 3. far background --------------------------------------------------------------------------


def far_background_mask(
    subject: NDArray[Any],
    photo_box: Box,
    *,
    reach: float = 0.10,
    exclude: BoolMask | None = None,
) -> BoolMask:
    """Canvas pixels inside ``photo_box`` farther than ``reach`` x the subject's height from
    the subject (``subject > 0.5``, canvas-sized), minus ``exclude`` (a title, say)."""
    canvas = (subject.shape[1], subject.shape[0])
    core = (np.asarray(subject) > 0.5).astype(np.uint8)
    _, y0, _, y1 = canvas_box_of_mask(core)
    height = max(1, y1 - y0)
    # Distance to the nearest subject pixel (the transform measures to the nearest zero).
    distance = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5)
    far: BoolMask = (distance > reach * height) & _box_mask(photo_box, canvas)
    if exclude is not None:
        far &= ~exclude
    return far


def far_background_unstable(
    luma: Luma,
    region: BoolMask,
    *,
    levels: int = 2,
    median: NDArray[np.float32] | None = None,
) -> float:
    """The fraction of ``region``'s pixels whose luma, in any frame, differs from the median
    frame's by more than ``levels``. 0.0 for an empty region."""
    if not region.any():
        return 0.0
    median = median_frame(luma) if median is None else median
    unstable = np.zeros(region.shape, bool)
    for frame in luma:
        unstable |= np.abs(frame - median) > levels
    return float(unstable[region].mean())


# -- 4. ghosts of the old outline ---------------------------------------------------------------


@dataclass(frozen=True)
class GhostReport:
    """What the video shows across the subject's old outline where the subject has left it.

    ``step``: mean |mean luma 2..6 px inside - mean luma 2..6 px outside| over those places
    (a flat off-colour patch in the old shape); ``ridge``: mean over them of the strongest
    |luma(k) - (luma(k-3) + luma(k+3)) / 2| for k within 3 px of the outline (a thin line
    along the old edge). ``*_ref``: the same on the known background at the same places:
    what an untouched background gives. ``samples``: (frame, outline point) pairs measured;
    ``uncovered``: their share of all pairs.
    """

    step: float
    ridge: float
    step_ref: float
    ridge_ref: float
    samples: int
    uncovered: float

    def worst_difference(self) -> float:
        """The larger of step and ridge minus its reference, in luma levels."""
        return max(self.step - self.step_ref, self.ridge - self.ridge_ref)

    def worst_excess(self, floor: float = 1.0) -> float:
        """The larger of step/ridge over its reference (with ``floor`` for plain backgrounds)."""
        return max(self.step / max(self.step_ref, floor), self.ridge / max(self.ridge_ref, floor))


_PROFILE = np.arange(-14, 15)  # samples along the outward normal, in canvas pixels
_INSIDE = (_PROFILE >= -6) & (_PROFILE <= -2)
_OUTSIDE = (_PROFILE >= 2) & (_PROFILE <= 6)
# Where "uncovered" is decided: every sample the step and ridge read and as far again beyond
# (a soft edge of the moved subject a few pixels off is still the subject, not a ghost), but
# the ones nearest the outline (there a line of the old edge may lie: what the ridge must see).
_CLASSIFY = (np.abs(_PROFILE) >= 2) & (np.abs(_PROFILE) <= 12)
_RIDGE_AT = np.flatnonzero(np.abs(_PROFILE) <= 3)


def _outline_points(
    subject: NDArray[Any], photo_box: Box, *, step: int = 2
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points on the subject's outline (``subject`` = 0.5), every ``step`` px, with unit outward
    normals; none within 10 px of the photo box's sides (there the outline is the photo's)."""
    core = (np.asarray(subject) > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(core, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2)), np.zeros((0, 2))
    points = np.concatenate([c.reshape(-1, 2) for c in contours])[::step].astype(np.float64)
    x0, y0, x1, y1 = photo_box
    margin = 10
    keep = (
        (points[:, 0] >= x0 + margin)
        & (points[:, 0] < x1 - margin)
        & (points[:, 1] >= y0 + margin)
        & (points[:, 1] < y1 - margin)
    )
    points = points[keep]
    smooth = cv2.GaussianBlur(np.asarray(subject, np.float32), (0, 0), 2.0)
    gy, gx = np.gradient(smooth)
    ix, iy = points[:, 0].astype(int), points[:, 1].astype(int)
    normal = -np.stack([gx[iy, ix], gy[iy, ix]], axis=1).astype(np.float64)
    length = np.linalg.norm(normal, axis=1)
    good = length > 1e-4
    return points[good], normal[good] / length[good, None]


def _sample(image: NDArray[Any], xs: NDArray[np.float64], ys: NDArray[np.float64]) -> Any:
    """Bilinear samples of a single-channel ``image`` at (xs, ys) (pixel centres at integers)."""
    out = cv2.remap(
        np.asarray(image, np.float32),
        xs.astype(np.float32),
        ys.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(out, np.float64)


def _ridge(profiles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per profile, the strongest |p(k) - (p(k-3) + p(k+3)) / 2| within 3 px of the outline."""
    at = _RIDGE_AT
    dip = profiles[:, at] - 0.5 * (profiles[:, at - 3] + profiles[:, at + 3])
    out: NDArray[np.float64] = np.abs(dip).max(axis=1)
    return out


def _step(profiles: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = np.abs(
        profiles[:, _INSIDE].mean(axis=1) - profiles[:, _OUTSIDE].mean(axis=1)
    )
    return out


_CHROMA_APART = 8.0  # levels: a subject this close in colour to its background is not judged


def ghost_measure(
    video: DecodedVideo,
    subject: NDArray[Any],
    background_rgb: NDArray[Any],
    photo_rgb: NDArray[Any],
    photo_box: Box,
) -> GhostReport:
    """Luma steps and lines across the subject's old outline, where it has moved away.

    ``subject``: the known mask on the canvas (its rest outline); ``background_rgb``: the known
    background on the canvas; ``photo_rgb``: the photo itself on the canvas (the subject's own
    colour just inside each place of its outline). A place counts only where that colour
    differs clearly from the background's there (a green stem on green leaves cannot tell), and,
    in a frame, when every sample 2..12 px inside and outside it is nearer the known background's
    chroma there than the subject's: the subject has left (and is not next to it either), so
    whatever shows there stands for background. A flat off-colour
    patch (a fill that does not match) gives a step across the old outline that the known
    background does not have; a line of old edge colour gives a ridge on it.
    """
    points, normals = _outline_points(subject, photo_box)
    xs = points[:, 0:1] + normals[:, 0:1] * _PROFILE[None, :]
    ys = points[:, 1:2] + normals[:, 1:2] * _PROFILE[None, :]
    known = rgb_to_ycbcr(background_rgb)
    ref = _sample(known[:, :, 0], xs, ys)
    bg_cb = _sample(known[:, :, 1], xs, ys)[:, _CLASSIFY]
    bg_cr = _sample(known[:, :, 2], xs, ys)[:, _CLASSIFY]
    own = rgb_to_ycbcr(photo_rgb)
    inside = _CLASSIFY & (_PROFILE < 0)
    own_cb = np.median(_sample(own[:, :, 1], xs, ys)[:, inside], axis=1)[:, None]
    own_cr = np.median(_sample(own[:, :, 2], xs, ys)[:, inside], axis=1)[:, None]
    judged = (np.hypot(own_cb - bg_cb, own_cr - bg_cr) >= _CHROMA_APART).all(axis=1)
    # Chroma sample c sits at luma position 2c + 0.5.
    hx, hy = (xs - 0.5) / 2, (ys - 0.5) / 2
    steps, ridges, step_refs, ridge_refs = [], [], [], []
    ref_step, ref_ridge = _step(ref), _ridge(ref)
    total = 0
    for index in range(len(video.luma)):
        cb = _sample(video.cb[index], hx, hy)[:, _CLASSIFY]
        cr = _sample(video.cr[index], hx, hy)[:, _CLASSIFY]
        to_bg = np.hypot(cb - bg_cb, cr - bg_cr)
        to_subject = np.hypot(cb - own_cb, cr - own_cr)
        left = (to_bg < to_subject).all(axis=1) & judged
        total += len(left)
        if not left.any():
            continue
        profiles = _sample(video.luma[index], xs[left], ys[left])
        steps.append(_step(profiles))
        ridges.append(_ridge(profiles))
        step_refs.append(ref_step[left])
        ridge_refs.append(ref_ridge[left])
    if not steps:
        return GhostReport(0.0, 0.0, 0.0, 0.0, 0, 0.0)
    samples = sum(len(s) for s in steps)
    return GhostReport(
        step=float(np.concatenate(steps).mean()),
        ridge=float(np.concatenate(ridges).mean()),
        step_ref=float(np.concatenate(step_refs).mean()),
        ridge_ref=float(np.concatenate(ridge_refs).mean()),
        samples=samples,
        uncovered=samples / max(total, 1),
    )


# -- 5. the subject leaving the photo -----------------------------------------------------------


def frames_leaving_photo(
    luma: Luma,
    photo_box: Box,
    *,
    levels: int = 6,
    edge: int = 2,
    median: NDArray[np.float32] | None = None,
) -> tuple[int, int]:
    """(frames with moving pixels outside ``photo_box`` or within ``edge`` px of the canvas
    edge, the most such pixels in one frame). Moving: |luma - median frame| > ``levels``,
    after a 3x3 opening (so lone codec specks do not count)."""
    median = median_frame(luma) if median is None else median
    height, width = luma.shape[1:]
    allowed = _box_mask(photo_box, (width, height))
    allowed[:edge] = False
    allowed[-edge:] = False
    allowed[:, :edge] = False
    allowed[:, -edge:] = False
    kernel = np.ones((3, 3), np.uint8)
    count, worst = 0, 0
    for frame in luma:
        moving = (np.abs(frame - median) > levels).astype(np.uint8)
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, kernel)
        outside = int(np.count_nonzero(moving[~allowed]))
        count += outside > 0
        worst = max(worst, outside)
    return count, worst


# -- 6. chroma at the canvas edge ---------------------------------------------------------------


def edge_chroma(video: DecodedVideo, *, band: int = 8) -> float:
    """max |Cb - 128|, |Cr - 128| over the outer ``band`` canvas pixels of every frame (the
    chroma planes' outer ``band / 2`` samples)."""
    half = band // 2
    worst = 0.0
    for plane in (video.cb, video.cr):
        rim = np.ones(plane.shape[1:], bool)
        rim[half:-half, half:-half] = False
        worst = max(worst, float(np.abs(plane[:, rim] - 128).max()))
    return worst


# -- 7. real-photo share ------------------------------------------------------------------------


def photo_share(photo_box: Box, canvas: tuple[int, int]) -> float:
    """``photo_box``'s area over the canvas's."""
    x0, y0, x1, y1 = photo_box
    return max(0, x1 - x0) * max(0, y1 - y0) / (canvas[0] * canvas[1])


# -- 8. determinism -----------------------------------------------------------------------------


def frames_identical(a: DecodedVideo, b: DecodedVideo) -> bool:
    """Whether two videos decode to byte-equal planes, frame for frame."""
    return all(
        x.shape == y.shape and x.tobytes() == y.tobytes()
        for x, y in ((a.luma, b.luma), (a.cb, b.cb), (a.cr, b.cr))
    )


# -- 9. and 10. motion, by optical flow ---------------------------------------------------------

_FLOW_SCALE = 2  # flow at half size: as exact as full size here (checked), four times faster

# Why DIS and not Farneback: on these frames (photos enlarged about 2x, so gently varying
# texture), cv2.calcOpticalFlowFarneback read a known (5, 10) px shift of a decoded frame as
# (0.07, 0.03) at full size and (2.5, 5.3) at a quarter; DIS (medium preset) read (5.00, 10.00),
# and a known 6 % squash to within 0.1 px at half size, in 30 ms a frame.


@dataclass(frozen=True)
class SubjectFlow:
    """Optical flow over the subject, from its rest frame to every frame of one cycle.

    ``flows`` (frames, h, w, 2) are in canvas pixels, sampled every ``_FLOW_SCALE`` canvas
    pixels over ``window``; ``pixels`` marks the subject there (its mask > 0.5, dilated by 2 %
    of its height); ``box`` is the subject's canvas box, ``rest`` the reference frame.
    """

    flows: NDArray[np.float32]
    window: Box
    pixels: BoolMask
    box: Box
    rest: int

    @property
    def height(self) -> int:
        """The subject's height on the canvas, in pixels."""
        return max(1, self.box[3] - self.box[1])

    def rows(self) -> NDArray[np.float64]:
        """The canvas row of each flow row's centre."""
        centres = np.arange(self.pixels.shape[0], dtype=np.float64) + 0.5
        out: NDArray[np.float64] = self.window[1] + _FLOW_SCALE * centres
        return out


def subject_flow(
    luma: Luma, subject: NDArray[Any], cycle: int | None = None, rest: int | None = None
) -> SubjectFlow:
    """Dense optical flow (DIS) from the rest frame (``rest``, by default ``rest_frame_index``)
    to each frame of the first ``cycle`` frames, over the subject's box grown by 20 % of its
    height on every side."""
    frames = luma[: cycle or len(luma)]
    canvas = (luma.shape[2], luma.shape[1])
    box = canvas_box_of_mask(subject)
    x0, y0, x1, y1 = box
    pad = round(0.2 * (y1 - y0))
    window = (
        max(0, x0 - pad),
        max(0, y0 - pad),
        min(canvas[0], x1 + pad),
        min(canvas[1], y1 + pad),
    )
    wx0, wy0, wx1, wy1 = window
    size = ((wx1 - wx0) // _FLOW_SCALE, (wy1 - wy0) // _FLOW_SCALE)

    def small(picture: NDArray[Any]) -> NDArray[np.uint8]:
        crop = np.clip(picture[wy0:wy1, wx0:wx1], 0, 255).astype(np.uint8)
        out: NDArray[np.uint8] = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        return out

    rest = rest_frame_index(frames) if rest is None else rest % len(frames)
    reference = small(frames[rest])
    flows = np.empty((len(frames), size[1], size[0], 2), np.float32)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for index, frame in enumerate(frames):
        flows[index] = dis.calc(reference, small(frame), None) * _FLOW_SCALE
    core = (np.asarray(subject)[wy0:wy1, wx0:wx1] > 0.5).astype(np.uint8)
    grow = max(1, round(0.02 * (y1 - y0)))
    core = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    pixels: BoolMask = cv2.resize(core, size, interpolation=cv2.INTER_NEAREST) > 0
    return SubjectFlow(flows, window, pixels, box, rest)


def displacement_p95(flow: SubjectFlow) -> float:
    """p95 of the optical-flow displacement from the rest frame, over the subject's pixels in
    every frame of the cycle pooled, over the subject's height on the canvas."""
    magnitudes = np.hypot(flow.flows[..., 0], flow.flows[..., 1])[:, flow.pixels]
    return float(np.percentile(magnitudes, 95)) / flow.height


@dataclass(frozen=True)
class LagReport:
    """The follow-through lag and the band signals it came from (mean flow per frame)."""

    lag: int  # frames the top's motion trails the lower band's (circular over one cycle)
    correlation: float  # normalised cross-correlation at that lag
    top: NDArray[np.float64]  # (cycle, 2): mean (dx, dy) of the top band
    base: NDArray[np.float64]


def follow_through_lag(flow: SubjectFlow) -> LagReport:
    """How many frames the top of the subject trails its lower part, over one cycle.

    The mean flow (dx, dy) per frame is taken over the top band (the top 20 % of the subject's
    height) and a low band (20..35 % of the height up from its base, which does move), within
    the subject. The lag is the circular shift s (|s| <= n/4, n frames) maximising
    sum_f <top(f), base(f - s)> with each signal's mean removed: positive when the top follows.
    A cycle holds two beats and the bounce repeats every beat, so a shift of a whole beat
    (n/2) matches too: a follow-through is a fraction of a beat, and the search stays within
    half of one.
    """
    _, y0, _, y1 = flow.box
    height = flow.height
    rows = flow.rows()[:, None]
    top_band = flow.pixels & (rows < y0 + 0.2 * height)
    base_band = flow.pixels & (rows >= y1 - 0.35 * height) & (rows < y1 - 0.2 * height)
    top = flow.flows[:, top_band].mean(axis=1).astype(np.float64)
    base = flow.flows[:, base_band].mean(axis=1).astype(np.float64)
    top_c, base_c = top - top.mean(axis=0), base - base.mean(axis=0)
    norm = max(float(np.sqrt((top_c**2).sum() * (base_c**2).sum())), 1e-12)
    count = len(top)
    shifts = np.arange(-(count // 4), count // 4 + 1)
    scores = [float((top_c * np.roll(base_c, s, axis=0)).sum()) / norm for s in shifts]
    best = int(np.argmax(scores))
    return LagReport(int(shifts[best]), scores[best], top, base)


# -- pictures: heat map and contact sheet -------------------------------------------------------


def motion_heat_map(luma: Luma, first_rgb: RGB, *, cycle: int | None = None) -> RGB:
    """Per-pixel temporal std of luma over one cycle, INFERNO-coloured, blended over the first
    frame: still pixels show the photo, moving ones glow in proportion to how much they move
    (full colour at the 99th percentile of the moving pixels' std, or 8 levels if higher)."""
    frames = luma[: cycle or len(luma)].astype(np.float32)
    std = frames.std(axis=0)
    moving = std[std > 1.0]
    top = max(8.0, float(np.percentile(moving, 99))) if moving.size else 8.0
    level = np.clip(std / top, 0.0, 1.0)
    coloured = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    heat = cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB).astype(np.float32)
    weight = np.clip(level * 2.0, 0.0, 0.85)[..., None]
    photo = first_rgb.astype(np.float32) * 0.6  # dimmed so the glow stands out
    out: RGB = np.clip(photo * (1 - weight) + heat * weight + 0.5, 0, 255).astype(np.uint8)
    return out


def contact_sheet(
    frames: Sequence[RGB], captions: Sequence[str], *, thumb_height: int = 360
) -> RGB:
    """``frames`` side by side, each scaled to ``thumb_height``, with its caption below."""
    gap, caption_h = 8, 26
    thumbs = []
    for picture in frames:
        h, w = picture.shape[:2]
        size = (max(1, round(w * thumb_height / h)), thumb_height)
        thumbs.append(cv2.resize(picture, size, interpolation=cv2.INTER_AREA))
    width = sum(t.shape[1] for t in thumbs) + gap * (len(thumbs) + 1)
    sheet = Image.new("RGB", (width, thumb_height + 2 * gap + caption_h), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(16)
    x = gap
    for thumb, caption in zip(thumbs, captions, strict=True):
        sheet.paste(Image.fromarray(thumb), (x, gap))
        centre = x + thumb.shape[1] / 2
        draw.text(
            (centre, gap + thumb_height + 5), caption, fill=(210, 210, 215), font=font, anchor="ma"
        )
        x += thumb.shape[1] + gap
    return np.asarray(sheet, np.uint8).copy()
