"""How good the renderer's loops look, measured on decoded frames of real renders.

Every kind of photo (real ones from ``skimage.data``, synthetic ones with a known subject and
background, see ``_photos``) is rendered once per module at 9:16, decoded, and measured with
``_video_measures``; each test checks one figure against its threshold below. Run with ``-s``
to see every figure in a table at the end of the module.

The first tests check the measures themselves on fabricated frames: a ghost must be caught, a
clean fill must pass, and the optical flow must read a known shift.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from skill.local.render import RenderResult, render
from tests import _video_measures as vm
from tests._photos import KnownPhoto, make_photo, textured_character

pytestmark = pytest.mark.slow

# -- thresholds ---------------------------------------------------------------------------------

SEAM_MAX_RATIO = 1.5  # last->first step over the median frame step
FAR_REACH = 0.10  # "far" background: farther than this x the subject's height from it
FAR_LEVELS = 2  # luma levels a far background pixel may differ from the median frame
FAR_MAX_UNSTABLE = 0.005  # share of far background pixels that may exceed FAR_LEVELS
# Step / ridge across the old outline: at most this many luma levels above what the untouched
# background gives at the same places (a brick wall has steps of its own there) ...
GHOST_MAX_LEVELS = 4.0
GHOST_MAX_OVER_UNTOUCHED = 1.5  # ... and at most this x the untouched background's
GHOST_UNTOUCHED_FLOOR = 1.0  # levels: the untouched figure never counts as less than this
MOVING_LEVELS = 6  # |luma - median frame| above this is motion (after a 3x3 opening)
EDGE_PX = 2  # motion this close to the canvas edge counts as touching it
LEAVING_MAX_FRAMES = 0
EDGE_BAND = 8  # canvas pixels at the edge whose chroma a grey photo must keep neutral
EDGE_MAX_CHROMA = 4.0  # levels from 128
PHOTO_MIN_SHARE = 0.75  # of the 9:16 canvas showing the real photo (4:3 and 3:2 photos)
P95_RANGE = {"subtle": (0.015, 0.03), "strong": (0.08, 0.14)}  # of the subject's height
LAG_MIN_FRAMES = 2  # the top trails the lower body by at least this, at medium

DURATION = 2.0  # seconds: one whole cycle at 30 fps, quick to render and measure
FPS = 30
ASPECT = "9:16"


@dataclass(frozen=True)
class Case:
    """One render: which photo, how it moves, and which measures apply to it."""

    photo: str
    intensity: str = "medium"
    motion: str = "jiggle"
    share: bool = False  # a 4:3 or 3:2 photo: the real-photo share applies
    ghost: bool = False  # the background is known and differs in colour from the subject
    lag: bool = False  # an exact subject mask, medium jiggle

    @property
    def id(self) -> str:
        parts = [self.photo, self.intensity] + ([self.motion] if self.motion != "jiggle" else [])
        return "-".join(parts)


CASES = [
    Case("astronaut"),
    Case("chelsea-3x2", share=True),
    Case("coffee-4x3", share=True),
    Case("camera"),
    Case("rocket"),
    Case("logo"),
    Case("textured-character", share=True, ghost=True, lag=True),
    Case("textured-character", "subtle", ghost=True),
    Case("textured-character", "strong", ghost=True),
    Case("textured-character", "strong", "bounce", ghost=True),
    Case("textured-character", "medium", "wobble", ghost=True),
    Case("plain-product", share=True, ghost=True, lag=True),
    Case("transparent-character", lag=True),
    Case("grey-on-grey", share=True),
    Case("flower-on-green", share=True, ghost=True),
]
BY_ID = {case.id: case for case in CASES}
GREY_ID = Case("grey-on-grey").id
FLOWER_ID = Case("flower-on-green").id
DETERMINISM_ID = Case("textured-character").id
P95_IDS = {level: Case("textured-character", level).id for level in P95_RANGE}


def _ids(pick: Any) -> list[str]:
    return [case.id for case in CASES if pick(case)]


# -- rendering and measuring, once per case -----------------------------------------------------


@dataclass
class Figures:
    """What was measured on one render (see ``_video_measures`` for the definitions)."""

    result: RenderResult
    photo_box: vm.Box
    placement: vm.Placement
    seam: float
    far_unstable: float
    far_pixels: int
    leaving_frames: int
    leaving_pixels: int
    edge_chroma: float
    share: float
    p95: float | None = None
    lag: vm.LagReport | None = None
    ghost: vm.GhostReport | None = None
    notes: list[str] = field(default_factory=list)


def _geometry(
    result: RenderResult, photo: KnownPhoto, video: vm.DecodedVideo, rest: int
) -> tuple[vm.Box, vm.Placement, list[str]]:
    """The result's ``photo_box`` and ``placement``; where a renderer does not report them
    (or leaves them at their defaults), the placement is found by matching the photo to the
    rest frame and the box follows from it."""
    notes = []
    placement = getattr(result, "placement", None)
    if placement is None or tuple(placement) == (1.0, 0.0, 0.0):
        placement = vm.estimate_placement(photo.rgb, video.rgb(rest))
        notes.append("placement estimated")
    box = getattr(result, "photo_box", None)
    if box is None or tuple(box) == (0, 0, 0, 0):
        box = vm.photo_box_of(placement, photo.size, video.size)
        notes.append("photo_box estimated")
    scale, dx, dy = placement
    return (
        (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
        (float(scale), float(dx), float(dy)),
        notes,
    )


def _measure(case: Case, photo: KnownPhoto, result: RenderResult) -> Figures:
    video = vm.decode_video(result.path)
    median = vm.median_frame(video.luma)
    rest = vm.rest_frame_index(video.luma, median)
    box, placement, notes = _geometry(result, photo, video, rest)
    subject = vm.to_canvas(photo.subject, placement, video.size)
    far = vm.far_background_mask(subject, box, reach=FAR_REACH)
    leaving, worst = vm.frames_leaving_photo(
        video.luma, box, levels=MOVING_LEVELS, edge=EDGE_PX, median=median
    )
    figures = Figures(
        result=result,
        photo_box=box,
        placement=placement,
        seam=vm.seam_ratio(video.luma),
        far_unstable=vm.far_background_unstable(video.luma, far, levels=FAR_LEVELS, median=median),
        far_pixels=int(far.sum()),
        leaving_frames=leaving,
        leaving_pixels=worst,
        edge_chroma=vm.edge_chroma(video, band=EDGE_BAND),
        share=vm.photo_share(box, video.size),
        notes=notes,
    )
    if case.id in P95_IDS.values() or case.lag:
        flow = vm.subject_flow(video.luma, subject, vm.cycle_length(video.luma), rest)
        figures.p95 = vm.displacement_p95(flow)
        figures.lag = vm.follow_through_lag(flow)
    if case.ghost and photo.background is not None:
        background = vm.to_canvas(photo.background, placement, video.size)
        own = vm.to_canvas(photo.rgb, placement, video.size)
        figures.ghost = vm.ghost_measure(video, subject, background, own, box)
    return figures


class Renders:
    """Renders and measures each case the first time a test asks for it; keeps the figures
    (not the frames: a 9:16 clip decodes to hundreds of megabytes)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.photos: dict[str, KnownPhoto] = {}
        self.figures: dict[str, Figures] = {}

    def photo(self, name: str) -> KnownPhoto:
        if name not in self.photos:
            self.photos[name] = make_photo(name, self.folder / "photos")
        return self.photos[name]

    def render(self, case: Case, suffix: str = "") -> RenderResult:
        return render(
            self.photo(case.photo).path,
            self.folder / f"{case.id}{suffix}.mp4",
            intensity=case.intensity,
            motion=case.motion,
            aspect=ASPECT,
            duration=DURATION,
            fps=FPS,
        )

    def __getitem__(self, case_id: str) -> Figures:
        if case_id not in self.figures:
            case = BY_ID[case_id]
            self.figures[case_id] = _measure(case, self.photo(case.photo), self.render(case))
        return self.figures[case_id]


def _table(figures: dict[str, Figures]) -> str:
    """The figures of every case measured, one line each (printed at the module's end)."""

    def num(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        f"{'case':36} {'subject':17} {'seam':>5} {'far%':>6} {'leave':>5} {'chroma':>6} "
        f"{'share':>5} {'p95%':>5} {'lag':>3} {'ghost step/ref ridge/ref':>25}"
    ]
    for case_id, f in figures.items():
        ghost = (
            "-"
            if f.ghost is None
            else f"{f.ghost.step:.1f}/{f.ghost.step_ref:.1f} {f.ghost.ridge:.1f}/"
            f"{f.ghost.ridge_ref:.1f}"
        )
        subject = f"{f.result.subject}{'' if f.result.layered else ' (w)'}"
        lines.append(
            f"{case_id:36} {subject:17} {f.seam:5.2f} {100 * f.far_unstable:6.2f} "
            f"{f.leaving_frames:5d} {f.edge_chroma:6.0f} {f.share:5.2f} "
            f"{num(None if f.p95 is None else 100 * f.p95, '5.2f')} "
            f"{'-' if f.lag is None else f.lag.lag:>3} {ghost:>25}"
        )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Renders]:
    made = Renders(tmp_path_factory.mktemp("quality"))
    yield made
    print("\n" + _table(made.figures))


# -- the measures themselves, on fabricated frames ----------------------------------------------


def _video_of(frames: list[NDArray[np.uint8]]) -> vm.DecodedVideo:
    """RGB frames as if decoded: BT.709 TV-range planes, chroma averaged over 2x2 blocks."""
    lumas, cbs, crs = [], [], []
    for rgb in frames:
        ycc = vm.rgb_to_ycbcr(rgb)
        h, w = rgb.shape[:2]
        half = ycc.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
        lumas.append(np.rint(ycc[:, :, 0]))
        cbs.append(np.rint(half[:, :, 1]))
        crs.append(np.rint(half[:, :, 2]))
    return vm.DecodedVideo(
        np.stack(lumas).astype(np.int16),
        np.stack(cbs).astype(np.int16),
        np.stack(crs).astype(np.int16),
        30.0,
    )


def _squashed(image: NDArray[Any], factor: float) -> NDArray[np.float32]:
    """``image`` squashed vertically to ``factor`` of its height about its lower edge."""
    h, w = image.shape[:2]
    matrix = np.array([[1.0, 0.0, 0.0], [0.0, factor, (1 - factor) * h]])
    out: NDArray[np.float32] = vm.cv2.warpAffine(
        np.asarray(image, np.float32), matrix, (w, h), flags=vm.cv2.INTER_LINEAR
    )
    return out


def _over(under: NDArray[Any], colour: NDArray[Any], alpha: NDArray[Any]) -> NDArray[np.uint8]:
    weight = np.asarray(alpha, np.float32)[:, :, None]
    out = np.asarray(under, np.float32) * (1 - weight) + np.asarray(colour, np.float32) * weight
    result: NDArray[np.uint8] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return result


@pytest.fixture(scope="module")
def small_character(tmp_path_factory: pytest.TempPathFactory) -> KnownPhoto:
    return textured_character(tmp_path_factory.mktemp("small"), width=320, height=400)


def _ghost_video(photo: KnownPhoto, fill: str) -> vm.DecodedVideo:
    """The photo, then its subject squashed by 15 % over a filled background: the true one
    (``clean``), a flat patch of the background's mean colour in the old shape (``patch``),
    or the true one with a line of the subject's colour along the old outline (``line``)."""
    assert photo.background is not None
    old = photo.subject
    background = photo.background.astype(np.float32)
    if fill == "patch":
        flat = np.broadcast_to(background.reshape(-1, 3).mean(axis=0), background.shape)
        background = _over(background, flat, old).astype(np.float32)
    elif fill == "line":
        ring = ((old > 0.15) & (old < 0.85)).astype(np.float32)
        background = _over(background, photo.rgb, ring).astype(np.float32)
    moved = _over(background, _squashed(photo.rgb, 0.85), _squashed(old, 0.85))
    return _video_of([photo.rgb, moved])


@pytest.mark.parametrize("fill", ["patch", "line"])
def test_ghost_measure_catches_a_fabricated_ghost(small_character: KnownPhoto, fill: str) -> None:
    photo = small_character
    assert photo.background is not None
    box = (0, 0, photo.size[0], photo.size[1])
    report = vm.ghost_measure(
        _ghost_video(photo, fill), photo.subject, photo.background, photo.rgb, box
    )
    assert report.samples > 50  # the head's old top is uncovered
    assert not _ghost_passes(report), report


def test_ghost_measure_passes_a_true_background(small_character: KnownPhoto) -> None:
    photo = small_character
    assert photo.background is not None
    box = (0, 0, photo.size[0], photo.size[1])
    report = vm.ghost_measure(
        _ghost_video(photo, "clean"), photo.subject, photo.background, photo.rgb, box
    )
    assert report.samples > 50
    assert _ghost_passes(report), report


def test_flow_reads_a_known_squash(small_character: KnownPhoto) -> None:
    photo = small_character
    frames = [photo.rgb, _squashed(photo.rgb, 0.94).astype(np.uint8)]
    video = _video_of(frames)
    flow = vm.subject_flow(video.luma, photo.subject, rest=0)
    # Squashed about the lower edge, the head's top moves down 6 % of its height above it.
    _, y0, _, _ = vm.canvas_box_of_mask(photo.subject)
    top = np.abs(flow.flows[1, flow.pixels, 1]).max()
    assert top == pytest.approx(0.06 * (photo.size[1] - y0), rel=0.15)
    assert vm.displacement_p95(flow) > 0.02


def test_seam_ratio_of_a_clean_and_a_broken_loop() -> None:
    t = np.arange(30)
    base = np.zeros((30, 16, 16), np.int16)
    smooth = base + np.rint(40 + 20 * np.sin(2 * math.pi * t / 30)).astype(np.int16)[:, None, None]
    assert vm.seam_ratio(smooth) <= SEAM_MAX_RATIO
    ramp = base + (2 * t).astype(np.int16)[:, None, None]
    assert vm.seam_ratio(ramp) > 10


# -- the renders --------------------------------------------------------------------------------


def _ghost_passes(report: vm.GhostReport) -> bool:
    return report.worst_difference() <= GHOST_MAX_LEVELS and (
        report.worst_excess(GHOST_UNTOUCHED_FLOOR) <= GHOST_MAX_OVER_UNTOUCHED
    )


@pytest.mark.parametrize("case_id", _ids(lambda c: True))
def test_loop_seam_is_an_ordinary_step(renders: Renders, case_id: str) -> None:
    assert renders[case_id].seam <= SEAM_MAX_RATIO


@pytest.mark.parametrize("case_id", _ids(lambda c: True))
def test_far_background_stays_still(renders: Renders, case_id: str) -> None:
    figures = renders[case_id]
    assert figures.far_unstable <= FAR_MAX_UNSTABLE, f"of {figures.far_pixels} far pixels"


@pytest.mark.parametrize("case_id", _ids(lambda c: True))
def test_subject_stays_on_the_photo_and_off_the_canvas_edge(renders: Renders, case_id: str) -> None:
    figures = renders[case_id]
    assert figures.leaving_frames <= LEAVING_MAX_FRAMES, (
        f"up to {figures.leaving_pixels} moving pixels outside {figures.photo_box}"
    )


@pytest.mark.parametrize("case_id", _ids(lambda c: c.ghost))
def test_no_ghost_of_the_old_outline(renders: Renders, case_id: str) -> None:
    report = renders[case_id].ghost
    assert report is not None
    assert report.samples > 0, "the subject never uncovered its old outline"
    assert report.worst_difference() <= GHOST_MAX_LEVELS, report
    assert report.worst_excess(GHOST_UNTOUCHED_FLOOR) <= GHOST_MAX_OVER_UNTOUCHED, report


def test_grey_photo_keeps_the_canvas_edge_neutral(renders: Renders) -> None:
    assert renders[GREY_ID].edge_chroma <= EDGE_MAX_CHROMA


@pytest.mark.parametrize("case_id", _ids(lambda c: c.share))
def test_real_photo_fills_most_of_a_tall_canvas(renders: Renders, case_id: str) -> None:
    figures = renders[case_id]
    assert figures.share >= PHOTO_MIN_SHARE, f"photo box {figures.photo_box}"


@pytest.mark.parametrize("level", list(P95_RANGE))
def test_displacement_matches_the_intensity(renders: Renders, level: str) -> None:
    p95 = renders[P95_IDS[level]].p95
    assert p95 is not None
    low, high = P95_RANGE[level]
    assert low <= p95 <= high


@pytest.mark.parametrize("case_id", _ids(lambda c: c.lag))
def test_top_follows_through_behind_the_base(renders: Renders, case_id: str) -> None:
    lag = renders[case_id].lag
    assert lag is not None
    assert lag.lag >= LAG_MIN_FRAMES, f"lag {lag.lag} (correlation {lag.correlation:.2f})"


def test_flower_is_not_a_person(renders: Renders) -> None:
    assert renders[FLOWER_ID].result.subject != "person"


def test_same_photo_renders_the_same_frames(renders: Renders) -> None:
    first = renders[DETERMINISM_ID].result
    again = renders.render(BY_ID[DETERMINISM_ID], suffix="-again")
    assert vm.frames_identical(vm.decode_video(first.path), vm.decode_video(again.path))
