"""Render a gallery of kinds of photo and write, per render, a contact sheet and a motion heat map.

    python scripts/gallery.py [OUT_DIR]        (default: docs/gallery/)

Each photo (a person, a cat, a product on a plain backdrop, a transparent cut-out, a scene with
no single subject, a cup on a table) is rendered at 9:16, medium jiggle; the person also as a
strong bounce and the cat as a wobble. For each render the folder gets ``NAME-sheet.png`` (six
frames over one motion cycle) and ``NAME-heat.png`` (how much each pixel moves over the cycle,
glowing over the first frame), each kept under 400 KB. The photos come from ``skimage.data``
(offline) or are drawn here; nothing is downloaded.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2 as _cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

# OpenCV's stubs lose each array's dtype; typed as Any, the arrays here carry their own types.
cv2: Any = _cv2

RGB = NDArray[np.uint8]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "gallery"
SHEET_FRAMES = 6
THUMB_HEIGHT = 400  # contact sheet thumbnails, pixels
HEAT_HEIGHT = 640  # heat map, pixels
MAX_PNG_BYTES = 400_000
DURATION = 3.0  # seconds: whole cycles at 30 fps, quick to render

# BT.709, TV range: what the renderer's MP4s are tagged with.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_TO_YCBCR = np.array(
    [
        [_KR, _KG, _KB],
        [-_KR / (1 - _KB) / 2, -_KG / (1 - _KB) / 2, 0.5],
        [0.5, -_KG / (1 - _KR) / 2, -_KB / (1 - _KR) / 2],
    ]
) * np.array([[219 / 255], [224 / 255], [224 / 255]])
_FROM_YCBCR = np.linalg.inv(_TO_YCBCR)
_OFFSET = np.array([16.0, 128.0, 128.0])


# -- photos -------------------------------------------------------------------------------------


def _skimage(name: str) -> RGB:
    from skimage import data

    pixels = np.asarray(getattr(data, name)(), np.uint8)
    return pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)


def _save_jpeg(rgb: RGB, path: Path) -> Path:
    Image.fromarray(np.ascontiguousarray(rgb[:, :, :3])).save(path, quality=92)
    return path


def person(folder: Path) -> Path:
    """NASA's portrait of astronaut Eileen Collins."""
    return _save_jpeg(_skimage("astronaut"), folder / "person.jpg")


def cat(folder: Path) -> Path:
    """Chelsea the cat: a close-up that fills the frame."""
    return _save_jpeg(_skimage("chelsea"), folder / "cat.jpg")


def scene(folder: Path) -> Path:
    """A rocket on its pad at dusk: a wide scene with no single large subject."""
    return _save_jpeg(_skimage("rocket"), folder / "scene.jpg")


def cup(folder: Path) -> Path:
    """A coffee cup on a wooden table, seen from above."""
    return _save_jpeg(_skimage("coffee"), folder / "cup.jpg")


def _character(width: int, height: int) -> tuple[NDArray[np.float32], RGB]:
    """A soft-edged red figure (body and head) standing on the lower edge, and its colours."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, body_cy = 0.5 * width, 0.74 * height
    body = ((xx - cx) / (0.15 * width)) ** 2 + ((yy - body_cy) / (0.36 * height)) ** 2 <= 1
    head_r = 0.085 * width
    head = (xx - cx) ** 2 + (yy - (body_cy - 0.36 * height - 0.55 * head_r)) ** 2 <= head_r**2
    alpha = cv2.GaussianBlur((body | head).astype(np.float32), (0, 0), 1.5)
    rng = np.random.default_rng(4)
    shade = 22.0 * np.sin(xx / 7.0 + yy / 23.0) + rng.normal(0, 6.0, (height, width))
    colour = np.array([206.0, 72.0, 48.0]) + shade[..., None] * np.array([1.0, 0.6, 0.4])
    return alpha, np.clip(colour + 0.5, 0, 255).astype(np.uint8)


def product(folder: Path) -> Path:
    """The red figure on a plain off-white backdrop: a product shot."""
    width, height = 1200, 800
    alpha, colour = _character(width, height)
    backdrop = np.full((height, width, 3), (236.0, 232.0, 224.0))
    weight = alpha[..., None]
    photo = backdrop * (1 - weight) + colour * weight
    path = folder / "product.png"
    Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8)).save(path)
    return path


def cutout(folder: Path) -> Path:
    """scikit-image's logo as a cut-out: the white around its disc made transparent."""
    rgb = np.ascontiguousarray(_skimage("logo")[:, :, :3])
    light = (rgb.min(axis=2) > 200).astype(np.uint8)
    _, labels = cv2.connectedComponents(light, connectivity=4)
    corners = sorted({int(labels[y, x]) for y in (0, -1) for x in (0, -1)} - {0})
    outside = cv2.dilate(np.isin(labels, corners).astype(np.uint8), np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(1.0 - outside.astype(np.float32), (0, 0), 0.7)
    alpha8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    path = folder / "cutout.png"
    Image.fromarray(np.dstack([rgb, alpha8]), "RGBA").save(path)
    return path


@dataclass(frozen=True)
class Shot:
    """One gallery entry: a photo maker and how to move it."""

    name: str
    photo: Callable[[Path], Path]
    intensity: str = "medium"
    motion: str = "jiggle"


SHOTS = [
    Shot("person", person),
    Shot("person-strong-bounce", person, "strong", "bounce"),
    Shot("cat", cat),
    Shot("cat-wobble", cat, "medium", "wobble"),
    Shot("product", product),
    Shot("cutout", cutout),
    Shot("scene", scene),
    Shot("cup", cup),
]


# -- decoding and pictures ----------------------------------------------------------------------


def decode(path: Path) -> tuple[NDArray[np.uint8], list[RGB]]:
    """Every frame's luma (frames, h, w), and every frame as RGB (BT.709, TV range undone)."""
    lumas, pictures = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            planes = np.asarray(frame.to_ndarray(format="yuv420p"), np.uint8)
            h, w = frame.height, frame.width
            luma = planes[:h]
            cb = planes[h : h + h // 4].reshape(h // 2, w // 2)
            cr = planes[h + h // 4 :].reshape(h // 2, w // 2)
            size = (w, h)
            ycc = np.dstack(
                [
                    luma.astype(np.float32),
                    cv2.resize(cb.astype(np.float32), size, interpolation=cv2.INTER_LINEAR),
                    cv2.resize(cr.astype(np.float32), size, interpolation=cv2.INTER_LINEAR),
                ]
            )
            rgb = (ycc - _OFFSET) @ _FROM_YCBCR.T
            lumas.append(luma)
            pictures.append(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))
    return np.stack(lumas), pictures


def cycle_length(luma: NDArray[np.uint8]) -> int:
    """The smallest whole period after which the frames repeat exactly (one motion cycle)."""
    count = len(luma)
    for period in range(1, count):
        if count % period or not np.array_equal(luma[period], luma[0]):
            continue
        if np.array_equal(luma[period:], luma[:-period]):
            return period
    return count


def contact_sheet(pictures: list[RGB], captions: list[str]) -> RGB:
    """The pictures side by side at ``THUMB_HEIGHT``, each captioned below."""
    gap, caption_h = 8, 26
    thumbs = [
        cv2.resize(
            p,
            (round(p.shape[1] * THUMB_HEIGHT / p.shape[0]), THUMB_HEIGHT),
            interpolation=cv2.INTER_AREA,
        )
        for p in pictures
    ]
    width = sum(t.shape[1] for t in thumbs) + gap * (len(thumbs) + 1)
    sheet = Image.new("RGB", (width, THUMB_HEIGHT + 2 * gap + caption_h), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(16)
    x = gap
    for thumb, caption in zip(thumbs, captions, strict=True):
        sheet.paste(Image.fromarray(thumb), (x, gap))
        at = (x + thumb.shape[1] / 2, gap + THUMB_HEIGHT + 5)
        draw.text(at, caption, fill=(210, 210, 215), font=font, anchor="ma")
        x += thumb.shape[1] + gap
    return np.asarray(sheet, np.uint8).copy()


def heat_map(luma: NDArray[np.uint8], first: RGB) -> RGB:
    """Per-pixel temporal std of luma over the frames, INFERNO-coloured over the first frame
    (dimmed): still pixels show the photo, moving ones glow (full at the moving pixels' 99th
    percentile, or at 8 levels if that is higher)."""
    std = luma.astype(np.float32).std(axis=0)
    moving = std[std > 1.0]
    top = max(8.0, float(np.percentile(moving, 99))) if moving.size else 8.0
    level = np.clip(std / top, 0.0, 1.0)
    coloured = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    heat = cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB).astype(np.float32)
    weight = np.clip(level * 2.0, 0.0, 0.85)[..., None]
    blended = first.astype(np.float32) * 0.6 * (1 - weight) + heat * weight
    out: RGB = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    height, width = out.shape[:2]
    small: RGB = cv2.resize(
        out, (round(width * HEAT_HEIGHT / height), HEAT_HEIGHT), interpolation=cv2.INTER_AREA
    )
    return small


def save_small_png(picture: RGB, path: Path) -> Path:
    """Save as PNG; if over ``MAX_PNG_BYTES``, as a 256-colour PNG, then smaller, until under."""
    image = Image.fromarray(picture)
    while True:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        if buffer.tell() > MAX_PNG_BYTES:
            buffer = io.BytesIO()
            image.quantize(256, dither=Image.Dither.NONE).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_PNG_BYTES or image.width < 200:
            path.write_bytes(buffer.getvalue())
            return path
        image = image.resize(
            (image.width * 4 // 5, image.height * 4 // 5), Image.Resampling.LANCZOS
        )


# -- the gallery --------------------------------------------------------------------------------


def render_shot(shot: Shot, work: Path, out: Path) -> list[Path]:
    """Render ``shot`` at 9:16 (photo and video in ``work``) and write its contact sheet and
    heat map into ``out``; their paths."""
    from skill.local.render import render

    result = render(
        shot.photo(work),
        work / f"{shot.name}.mp4",
        intensity=shot.intensity,
        motion=shot.motion,
        aspect="9:16",
        duration=DURATION,
    )
    luma, pictures = decode(result.path)
    cycle = cycle_length(luma)
    picks = [round(i * cycle / SHEET_FRAMES) for i in range(SHEET_FRAMES)]
    captions = [f"{index / result.fps:.2f} s" for index in picks]
    sheet = save_small_png(
        contact_sheet([pictures[i] for i in picks], captions), out / f"{shot.name}-sheet.png"
    )
    heat = save_small_png(heat_map(luma[:cycle], pictures[0]), out / f"{shot.name}-heat.png")
    print(
        f"{shot.name:22} subject {result.subject:17} layered {result.layered!s:5} "
        f"cycle {cycle} frames"
    )
    return [sheet, heat]


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    written: list[Path] = []
    # Photos and videos are scratch: only the small PNGs belong in the gallery.
    with tempfile.TemporaryDirectory(prefix="jiggle-gallery-") as scratch:
        for shot in SHOTS:
            written += render_shot(shot, Path(scratch), out)
    for path in written:
        print(f"{path}  ({path.stat().st_size // 1000} KB)")
    print(f"{len(SHOTS)} renders in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
