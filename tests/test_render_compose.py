"""Compositing without artefacts, measured on the frames themselves (no encoder in between):
a cut-out subject over a rebuilt plate, a gentle whole-photo warp when there is no subject,
edges that stay still, and no colour bleeding in from beyond a layer."""

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
from skill.local.render._yuv import rgb_to_planes

pytestmark = pytest.mark.slow

_CANVAS = (540, 960)  # half of 1080x1920: the same geometry, a quarter of the pixels


def _luma(planes: NDArray[np.uint8], height: int) -> NDArray[np.float32]:
    return planes[:height].astype(np.float32)


def _chroma(planes: NDArray[np.uint8], width: int, height: int) -> NDArray[np.int16]:
    """Cb and Cr, (2, h/2, w/2), signed around 128."""
    quarter = height * width // 4
    flat = planes[height:].reshape(-1)
    cb = flat[:quarter].reshape(height // 2, width // 2)
    cr = flat[quarter:].reshape(height // 2, width // 2)
    return np.stack([cb, cr]).astype(np.int16) - 128


def _scene(rgb: NDArray[np.uint8], motion: Motion, canvas: tuple[int, int] = _CANVAS) -> Scene:
    subject = find_subject(rgb)
    return compose_scene(rgb, subject.probability, canvas, motion.reach())


def _flow(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    flow: NDArray[np.float32] = cv2.calcOpticalFlowFarneback(
        a.astype(np.uint8), b.astype(np.uint8), None, 0.5, 4, 31, 3, 7, 1.5, 0
    )
    return flow


def _landscape() -> NDArray[np.uint8]:
    """Sky, hills and a field, with texture: no subject to cut out."""
    rng = np.random.default_rng(3)
    height, width = 600, 900
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([120 + 0.1 * yy, 160 + 0.1 * yy, 230 - 0.05 * yy], axis=-1)
    ridge = 330 + 40 * np.sin(xx / 90) + 15 * np.sin(xx / 23)
    field = np.stack([70 + 0.08 * yy, 130 + 0.05 * yy, 60 + 0 * yy], axis=-1)
    field += 25 * np.sin(xx / 5 + yy / 7)[..., None]
    rgb = np.where((yy > ridge)[..., None], field, sky) + rng.normal(0, 3, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _no_subject(rgb: NDArray[np.uint8], motion: Motion) -> Scene:
    nothing = np.zeros(rgb.shape[:2], np.float32)
    return compose_scene(rgb, nothing, _CANVAS, motion.reach())


def test_without_a_subject_the_whole_photo_moves_gently_and_nothing_stretches() -> None:
    # Texture everywhere, with no repeats: optical flow is trustworthy on every part of it.
    noise = np.random.default_rng(5).integers(0, 256, (600, 900, 1)).astype(np.float32)
    rgb = np.repeat(cv2.GaussianBlur(noise, (0, 0), 2.5)[:, :, None], 3, axis=2)
    rgb = np.clip((rgb - 128) * 4 + 128, 0, 255).astype(np.uint8)
    motion = Motion.build(plan_loop(1.5, 30), "strong")
    scene = _no_subject(rgb, motion)
    compositor = Compositor(scene, motion, layered=False)
    height = _CANVAS[1]
    first = _luma(compositor.frame(0), height)
    worst_move, worst_stretch = 0.0, 0.0
    for index in range(3, motion.plan.cycle_frames, 4):
        flow = cv2.GaussianBlur(_flow(first, _luma(compositor.frame(index), height)), (0, 0), 4)
        inner = flow[20:-20, 20:-20]
        worst_move = max(worst_move, float(np.abs(inner).max()))
        # How much any region grows or shrinks: the flow's change across 32 px.
        change = max(
            float(np.abs(inner[32:] - inner[:-32]).max()),
            float(np.abs(inner[:, 32:] - inner[:, :-32]).max()),
        )
        worst_stretch = max(worst_stretch, change / 32)
    assert worst_move > 1.0  # it does move
    assert worst_stretch < 0.075  # a gentle pulse: no region stretched more than a few %


def test_whole_warp_never_shows_past_the_photo() -> None:
    """The bars around a photo that does not cover the canvas stay still, and no frame pulls
    their blur into the photo: the picture's edge rows keep the photo's own content."""
    rgb = _landscape()[:, :400]
    motion = Motion.build(plan_loop(1.5, 30), "strong")
    # A subject as wide as the photo: at 16:9 the photo is shrunk to keep it, leaving bars.
    wide = np.zeros(rgb.shape[:2], np.float32)
    wide[100:500] = 1.0
    scene = compose_scene(rgb, wide, (960, 540), motion.reach())
    compositor = Compositor(scene, motion, layered=False)
    x0, y0, x1, y1 = scene.photo_box
    assert x0 > 0  # there are bars
    frames = np.stack(
        [_luma(compositor.frame(i), 540) for i in range(0, motion.plan.cycle_frames, 3)]
    )
    assert float(np.abs(frames - frames[0]).max()) > 5  # the picture moves
    bars = np.concatenate([frames[:, :, : x0 - 1], frames[:, :, x1 + 1 :]], axis=2)
    assert float(np.abs(bars - bars[0]).max()) == 0
    # The photo's edge columns hold photo content: as bright as the photo, not the bars.
    edge = frames[:, y0 + 20 : y1 - 20, x0 + 1]
    inner = frames[0, y0 + 20 : y1 - 20, x0 + 1 : x0 + 40]
    assert float(np.abs(edge.mean(axis=0) - inner.mean(axis=1)).mean()) < 12


def _blob(colour: tuple[int, int, int], wall: tuple[int, int, int]) -> NDArray[np.uint8]:
    height, width = 480, 480
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.full((height, width, 3), wall, np.uint8)
    inside = ((xx - 240) / 100) ** 2 + ((yy - 300) / 160) ** 2 <= 1
    rgb[inside] = colour
    return rgb


def _red_rows_and_columns(
    picture: NDArray[np.uint8], width: int, height: int
) -> tuple[float, float, float]:
    """Top row, bottom row and the top third's centre column of the red blob (high Cr)."""
    cr = _chroma(picture, width, height)[1] + 128
    rows = np.flatnonzero((cr > 170).any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    upper = cr[top : top + (bottom - top) // 3] > 170
    return float(top), float(bottom), float(np.nonzero(upper)[1].mean())


@pytest.mark.parametrize("style", ["jiggle", "bounce", "wobble", "jelly"])
def test_each_style_loops_seamlessly_and_moves_its_own_way(style: str) -> None:
    height, width = 480, 480
    rgb = _blob((200, 40, 60), (236, 232, 224))
    subject = find_subject(rgb)
    assert subject.separable
    motion = Motion.build(plan_loop(1.5, 30), "strong", style)
    scene = compose_scene(rgb, subject.probability, (width, height), motion.reach())
    compositor = Compositor(scene, motion)
    cycle = motion.plan.cycle_frames
    frames = [compositor.frame(i) for i in range(cycle)]
    luma = np.stack([f[:height].astype(np.int16) for f in frames])
    steps = np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2))
    seam = float(np.abs(luma[-1] - luma[0]).mean())
    assert seam <= float(steps.max())
    measures = np.array([_red_rows_and_columns(f, width, height) for f in frames])
    rise = float(measures[:, 0].max() - measures[:, 0].min())  # the top's travel
    lean = float(measures[:, 2].max() - measures[:, 2].min())  # the top third's sideways travel
    assert float(np.abs(measures[:, 1] - measures[0, 1]).max()) <= 2  # the base stays down
    if style == "bounce":
        assert rise > 1.6 * lean
    elif style == "wobble":
        assert lean > 1.6 * rise
    else:
        assert 0.2 * lean < rise < 5 * lean


def test_background_beyond_the_rebuilt_footprint_stays_the_photos_own() -> None:
    """Only the subject's footprint is rebuilt: farther out the frames show the photo's own
    background, sharp and still (no band of fill around the person)."""
    rgb = np.ascontiguousarray(data.astronaut())  # type: ignore[no-untyped-call]
    motion = Motion.build(plan_loop(1.5, 30), "subtle")
    scene = _scene(rgb, motion)
    compositor = Compositor(scene, motion, rigid_top=0.3)
    height = _CANVAS[1]
    source = _luma(rgb_to_planes(scene.rgb)[0][None].repeat(1, 0)[0], height)
    core = (scene.subject > 0.05).astype(np.uint8)
    reach = round(0.06 * height)
    near = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 41,) * 2))
    clear = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    x0, y0, x1, y1 = scene.photo_box
    inside = np.zeros_like(core)
    inside[y0 + 8 : y1 - 8, x0 + 8 : x1 - 8] = 1
    band = (near > 0) & (clear == 0) & (inside > 0)
    assert band.sum() > 1000
    for index in range(0, motion.plan.cycle_frames, 9):
        change = np.abs(_luma(compositor.frame(index), height) - source)[band]
        assert float(change.max()) <= 1, index


def test_a_grey_subject_touching_the_canvas_edge_brings_no_colour_in() -> None:
    """Resampling with a zero border (and straight alpha) bled green into the canvas's sides."""
    rgb = _blob((90, 90, 90), (170, 170, 170))
    rgb[:, :] = np.where(np.arange(480)[None, :, None] < 0, 0, rgb)
    rgb[200:480, 130:350] = 90  # a grey body as wide as the layout lets it be
    motion = Motion.build(plan_loop(1.5, 30), "strong", "wobble")
    scene = _scene(rgb, motion, (480, 480))
    compositor = Compositor(scene, motion)
    for index in range(0, motion.plan.cycle_frames, 2):
        chroma = _chroma(compositor.frame(index), 480, 480)
        assert int(np.abs(chroma).max()) <= 1, index


def test_a_transparent_photos_subject_moves_over_its_own_backdrop_colour() -> None:
    backdrop = np.array([240.0, 236.0, 230.0], np.float32)
    rgb = _blob((30, 120, 200), (240, 236, 230))
    motion = Motion.build(plan_loop(1.5, 30), "strong", "bounce")
    scene = _scene(rgb, motion, (480, 480))
    compositor = Compositor(scene, motion, backdrop=backdrop)
    wall_y = rgb_to_planes(np.full((2, 2, 3), backdrop.astype(np.uint8), np.uint8))[0][0, 0]
    subject = scene.subject > 0.01
    for index in range(0, motion.plan.cycle_frames, 3):
        luma = compositor.frame(index)[:480].astype(np.int16)
        # Wherever the subject was but its colour is gone now (well clear of its moved
        # edge), the backdrop shows, exactly.
        near_wall = (np.abs(luma - int(wall_y)) < 20).astype(np.uint8)
        uncovered = subject & (cv2.erode(near_wall, np.ones((9, 9), np.uint8)) > 0)
        assert int(np.abs(luma[uncovered] - int(wall_y)).max(initial=0)) <= 1, index
