"""Compositing without artefacts: one smooth warp where the subject is not separable, clean
layer edges where it is, measured on the frames themselves (no encoder in between)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage import data

from skill.local.render._compose import Compositor
from skill.local.render._cv import cv2
from skill.local.render._layout import Scene, compose_scene
from skill.local.render._motion import Motion, plan_loop
from skill.local.render._subject import find_subject

pytestmark = pytest.mark.slow

_CANVAS = (540, 960)  # half of 1080x1920: the same geometry, a quarter of the pixels


def _scene(name: str) -> tuple[Scene, bool]:
    rgb = np.ascontiguousarray(getattr(data, name)())  # skimage's sample photos
    subject = find_subject(rgb)
    return compose_scene(rgb, subject.probability, _CANVAS), subject.separable


def _luma(planes: NDArray[np.uint8], height: int) -> NDArray[np.float32]:
    return planes[:height].astype(np.float32)


def _unexplained(source: NDArray[np.float32], frame: NDArray[np.float32]) -> NDArray[np.float32]:
    """What no smooth motion of ``source`` explains in ``frame``: the residual after undoing
    the dense optical flow between them. A doubled edge (two layers slightly apart, blended)
    is not a motion of the photo, so it stays in the residual; a smooth warp does not."""
    flow = cv2.calcOpticalFlowFarneback(
        frame.astype(np.uint8), source.astype(np.uint8), None, 0.5, 3, 21, 3, 5, 1.1, 0
    )
    height, width = source.shape
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    back = cv2.remap(source, xs + flow[:, :, 0], ys + flow[:, :, 1], cv2.INTER_LINEAR)
    residual: NDArray[np.float32] = np.abs(back - frame)
    return residual


def _ring(scene: Scene, reach: int) -> NDArray[np.bool_]:
    """A band ``reach`` pixels either side of the subject's outline, inside the photo."""
    core = (scene.subject > 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)
    x0, y0, x1, y1 = scene.photo_box
    inside = np.zeros_like(core)
    inside[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8] = 1
    band: NDArray[np.bool_] = (cv2.dilate(core, kernel) > cv2.erode(core, kernel)) & (inside > 0)
    return band


def _ring_artefact(scene: Scene, layered: bool, intensity: str = "strong") -> float:
    """The worst frame's mean unexplained change along a ring around the subject's edge."""
    motion = Motion.build(plan_loop(1.5, 30), intensity)
    compositor = Compositor(
        scene.rgb, scene.subject, motion, photo_box=scene.photo_box, layered=layered
    )
    height = _CANVAS[1]
    still = Compositor(scene.rgb, np.zeros_like(scene.subject), motion, photo_box=scene.photo_box)
    source = _luma(still.frame(0), height)
    band = _ring(scene, 12)
    worst = 0.0
    for index in range(0, motion.plan.cycle_frames, 5):
        residual = _unexplained(source, _luma(compositor.frame(index), height))
        worst = max(worst, float(residual[band].mean()))
    return worst


def test_close_up_is_warped_whole_with_no_doubled_edge() -> None:
    scene, separable = _scene("chelsea")
    assert not separable  # a face filling the photo: nothing to cut out
    whole = _ring_artefact(scene, layered=False)
    # Cutting out the guessed ellipse and moving it over a filled plate doubles its edge: the
    # measure sees that clearly, and sees next to nothing when the photo is warped whole.
    ghost = _ring_artefact(scene, layered=True)
    assert ghost > 3 * whole
    assert whole < 4.0


def test_whole_warp_keeps_the_photo_edges_still() -> None:
    scene, _ = _scene("coffee")
    motion = Motion.build(plan_loop(1.5, 30), "strong")
    compositor = Compositor(
        scene.rgb, scene.subject, motion, photo_box=scene.photo_box, layered=False
    )
    height = _CANVAS[1]
    x0, y0, x1, y1 = scene.photo_box
    frames = np.stack(
        [_luma(compositor.frame(i), height) for i in range(0, motion.plan.cycle_frames, 3)]
    )
    edges = np.concatenate(
        [
            frames[:, y0 : y0 + 6, x0:x1].reshape(len(frames), -1),
            frames[:, y1 - 6 : y1, x0:x1].reshape(len(frames), -1),
            frames[:, y0:y1, x0 : x0 + 6].reshape(len(frames), -1),
            frames[:, y0:y1, x1 - 6 : x1].reshape(len(frames), -1),
        ],
        axis=1,
    )
    middle = frames[:, (y0 + y1) // 2 - 40 : (y0 + y1) // 2 + 40, (x0 + x1) // 2 - 40 :]
    assert float(np.abs(middle - middle[0]).max()) > 20  # the subject moves
    assert float(np.abs(edges - edges[0]).max()) <= 2  # the photo's edges do not


def _red_rows_and_columns(
    picture: NDArray[np.uint8], width: int, height: int
) -> tuple[float, float, float]:
    """Top row, bottom row and the top third's centre column of the red blob (high Cr)."""
    cr = picture[height + height // 4 :].reshape(height // 2, width // 2)
    rows = np.flatnonzero((cr > 170).any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    upper = cr[top : top + (bottom - top) // 3] > 170
    return float(top), float(bottom), float(np.nonzero(upper)[1].mean())


@pytest.mark.parametrize("style", ["jiggle", "bounce", "wobble"])
def test_each_style_loops_seamlessly_and_moves_its_own_way(style: str) -> None:
    height, width = 480, 480
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.full((height, width, 3), (236, 232, 224), np.uint8)
    inside = ((xx - 240) / 100) ** 2 + ((yy - 300) / 160) ** 2 <= 1
    rgb[inside] = (200, 40, 60)
    subject = find_subject(rgb)
    assert subject.separable
    scene = compose_scene(rgb, subject.probability, (480, 480))
    motion = Motion.build(plan_loop(1.5, 30), "strong", style)
    compositor = Compositor(scene.rgb, scene.subject, motion, photo_box=scene.photo_box)
    cycle = motion.plan.cycle_frames
    frames = [compositor.frame(i) for i in range(cycle)]
    luma = np.stack([f[:height].astype(np.int16) for f in frames])
    steps = np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2))
    seam = float(np.abs(luma[-1] - luma[0]).mean())
    assert seam <= float(steps.max())
    measures = np.array([_red_rows_and_columns(f, width, height) for f in frames])
    rise = float(measures[:, 0].max() - measures[:, 0].min())  # the top's travel
    lean = float(measures[:, 2].max() - measures[:, 2].min())  # the top third's sideways travel
    assert float(np.abs(measures[:, 1] - measures[0, 1]).max()) <= 1  # the base stays down
    if style == "bounce":
        assert rise > 1.6 * lean
    elif style == "wobble":
        assert lean > 1.6 * rise
    else:
        assert 0.2 * lean < rise < 5 * lean


def test_background_around_a_cut_out_subject_stays_the_photos_own() -> None:
    """The plate is filled only under the subject: just outside its outline, the frames show
    the photo's own background, sharp (no blurred band of fill around the person)."""
    scene, separable = _scene("astronaut")
    assert separable  # the person model finds her
    motion = Motion.build(plan_loop(1.5, 30), "subtle")
    compositor = Compositor(scene.rgb, scene.subject, motion, photo_box=scene.photo_box)
    height = _CANVAS[1]
    still = Compositor(scene.rgb, np.zeros_like(scene.subject), motion, photo_box=scene.photo_box)
    source = _luma(still.frame(0), height)
    core = (scene.subject > 0.05).astype(np.uint8)
    near = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (41, 41)))
    clear = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (17, 17)))
    x0, y0, x1, y1 = scene.photo_box
    inside = np.zeros_like(core)
    inside[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8] = 1
    band = (near > 0) & (clear == 0) & (inside > 0)  # 8-20 px outside the outline
    assert band.sum() > 1000
    for index in range(0, motion.plan.cycle_frames, 9):
        change = np.abs(_luma(compositor.frame(index), height) - source)[band]
        assert float(change.mean()) < 1.5, index
