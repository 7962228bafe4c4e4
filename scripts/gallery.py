"""Render a gallery of kinds of photo and write, per render, a contact sheet and a motion heat map.

    python scripts/gallery.py [OUT_DIR]        (default: docs/gallery/)

Each photo (a person, a cat's close-up, a product on a plain backdrop, a transparent cut-out, a
rocket on its pad, a cup on a table) is rendered at 9:16, medium jiggle; the person also as a
strong bounce and the cup as a jelly. For each render the folder gets ``NAME-sheet.png`` (the
renderer's preview: rest, deepest squash, highest stretch, widest sway) and ``NAME-heat.png``
(how much each pixel moves, glowing over the first frame), each kept under 400 KB. The photos
come from ``skimage.data`` (offline) or are drawn here; nothing is downloaded.
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

import cv2 as _cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

# OpenCV's stubs lose each array's dtype; typed as Any, the arrays here carry their own types.
cv2: Any = _cv2

RGB = NDArray[np.uint8]

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "gallery"
MAX_PNG_BYTES = 400_000
DURATION = 3.0  # seconds: whole cycles at 30 fps, quick to render


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
    """A rocket on its pad at dusk: a tall, thin subject in a wide scene."""
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
    Shot("product", product),
    Shot("cutout", cutout),
    Shot("scene", scene),
    Shot("cup", cup),
    Shot("cup-jelly", cup, "medium", "jelly"),
]


# -- pictures ---------------------------------------------------------------------------------


def shrink_png(path: Path) -> Path:
    """Re-save the PNG at ``path``; if over ``MAX_PNG_BYTES``, as 256 colours, then smaller,
    until under."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
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
    """Render ``shot`` at 9:16 (photo and video in ``work``) and write its contact sheet (the
    renderer's preview: rest, deepest squash, highest stretch, widest sway) and motion heat map
    into ``out``; their paths."""
    from skill.local.render import make_heat_map, make_preview, render

    result = render(
        shot.photo(work),
        work / f"{shot.name}.mp4",
        intensity=shot.intensity,
        motion=shot.motion,
        aspect="9:16",
        duration=DURATION,
    )
    sheet = shrink_png(make_preview(result, out / f"{shot.name}-sheet.png"))
    heat = shrink_png(make_heat_map(result, out / f"{shot.name}-heat.png"))
    print(f"{shot.name:22} subject {result.subject:17} layered {result.layered!s:5}")
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
