"""Test photos with ground truth: real ones from ``skimage.data`` and synthetic ones.

Each maker writes one photo into a folder and returns a :class:`KnownPhoto`: the path and what
the test knows about it. Real photos come with a hand-annotated subject box (fractions of the
photo); synthetic ones with their exact subject mask and, where the photo has one, their exact
background (the photo as it would be without the subject), so a test can tell what the renderer
should show where the subject used to be.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2 as _cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from skimage import data

# OpenCV's stubs lose each array's dtype; typed as Any, the arrays here carry their own types.
cv2: Any = _cv2

__all__ = [
    "PHOTO_MAKERS",
    "KnownPhoto",
    "astronaut",
    "camera",
    "chelsea_3x2",
    "coffee_4x3",
    "flower_on_green",
    "grey_on_grey",
    "logo_rgba",
    "make_photo",
    "plain_product",
    "rocket",
    "textured_character",
    "transparent_character",
]

RGB = NDArray[np.uint8]
Mask = NDArray[np.float32]

_JPEG_QUALITY = 92


@dataclass(frozen=True)
class KnownPhoto:
    """A photo on disk and its ground truth, all in the photo's own pixels.

    ``rgb`` is the photo as the renderer sees it (decoded from the file; a transparent photo's
    colour channels, unflattened). ``subject`` is 0..1: exact for synthetic photos and alpha,
    a filled box for hand-annotated real photos (``exact_mask`` False). ``background`` is the
    photo without the subject, known only for synthetic photos with an opaque background.
    """

    name: str
    path: Path
    rgb: RGB
    subject: Mask
    exact_mask: bool
    background: RGB | None = None
    alpha: NDArray[np.uint8] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


# -- helpers ------------------------------------------------------------------------------------


FractionBox = tuple[float, float, float, float]


def _box_mask(shape: tuple[int, int], *boxes: FractionBox) -> Mask:
    """Filled boxes given as fractions (x0, y0, x1, y1) of a photo of ``shape`` (h, w)."""
    height, width = shape
    mask = np.zeros((height, width), np.float32)
    for box in boxes:
        x0, y0 = round(box[0] * width), round(box[1] * height)
        x1, y1 = round(box[2] * width), round(box[3] * height)
        mask[y0:y1, x0:x1] = 1.0
    return mask


def _as_uint8(image: NDArray[Any]) -> RGB:
    out: RGB = np.clip(np.asarray(image, np.float64) + 0.5, 0, 255).astype(np.uint8)
    return out


def _jpeg_round_trip(rgb: RGB) -> RGB:
    """What ``rgb`` becomes once saved as this module's JPEGs and decoded again.

    JPEG codes 16x16 blocks independently and deterministically, so the photo's blocks that
    hold no subject pixel decode exactly like the same blocks of the bare background: passing
    the background through the same round trip makes it the exact truth away from the subject.
    """
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return np.asarray(image.convert("RGB"), np.uint8).copy()


def _save_jpeg(rgb: RGB, path: Path) -> RGB:
    Image.fromarray(rgb).save(path, format="JPEG", quality=_JPEG_QUALITY)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.uint8).copy()


def _blur(image: NDArray[Any], sigma: float) -> NDArray[np.float32]:
    """Gaussian blur across the picture (never across colour channels), in float32."""
    out: NDArray[np.float32] = cv2.GaussianBlur(
        np.asarray(image, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT
    )
    return out


def _soft(mask: NDArray[np.bool_], sigma: float) -> Mask:
    """A hard mask with a soft (blurred) edge, as a photographed outline has."""
    soft: Mask = np.clip(_blur(mask, sigma), 0.0, 1.0).astype(np.float32)
    return soft


def _composite(background: RGB, colour: NDArray[np.float64], alpha: Mask) -> RGB:
    weight = alpha[:, :, None].astype(np.float64)
    return _as_uint8(background * (1.0 - weight) + colour * weight)


# -- synthetic pieces -----------------------------------------------------------------------


def _textured_background(width: int, height: int, seed: int) -> RGB:
    """A park-like wall: sky-to-ground grade, a sideways grade, faint bricks and fine grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    v, u = yy / height, xx / width
    top, ground = np.array([150.0, 172.0, 196.0]), np.array([96.0, 124.0, 86.0])
    img = top * (1 - v[..., None]) + ground * v[..., None]
    img += (18.0 * (u - 0.5))[..., None] * np.array([1.0, 0.8, 0.5])
    bricks = ((yy % 36) < 3) | (((xx + 40 * ((yy // 36) % 2)) % 80) < 3)
    img -= 14.0 * bricks[..., None]
    blotches = _blur(rng.normal(0, 1, (height, width)), 9) * 60
    img += blotches[..., None] * np.array([0.8, 1.0, 0.7])
    grain = _blur(rng.normal(0, 5.0, (height, width, 3)), 0.7)
    return _as_uint8(img + grain)


def _character_mask(width: int, height: int) -> NDArray[np.bool_]:
    """A body (an ellipse cut by the lower edge) with a round head: it stands on the edge."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx = 0.5 * width
    body_rx, body_ry = 0.15 * width, 0.36 * height
    body_cy = height - 0.26 * height
    body = ((xx - cx) / body_rx) ** 2 + ((yy - body_cy) / body_ry) ** 2 <= 1
    head_r = 0.085 * width
    head_cy = body_cy - body_ry - 0.55 * head_r
    head = (xx - cx) ** 2 + (yy - head_cy) ** 2 <= head_r**2
    out: NDArray[np.bool_] = body | head
    return out


def _character_colour(width: int, height: int, seed: int) -> NDArray[np.float64]:
    """A red-orange fabric: stripes, a sheen and grain (so optical flow can follow it)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.array([206.0, 72.0, 48.0])
    stripes = 22.0 * np.sin(xx / 7.0 + yy / 23.0)
    sheen = 30.0 * np.exp(-(((xx - 0.45 * width) / (0.08 * width)) ** 2))
    grain = rng.normal(0, 6.0, (height, width))
    shade = (stripes + sheen + grain)[..., None] * np.array([1.0, 0.6, 0.4])
    colour: NDArray[np.float64] = base + shade
    return colour


def _grey_character_colour(width: int, height: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    level = 70.0 + 18.0 * np.sin(xx / 7.0 + yy / 23.0) + rng.normal(0, 6.0, (height, width))
    colour: NDArray[np.float64] = np.repeat(level[..., None], 3, axis=2)
    return colour


# -- real photos ----------------------------------------------------------------------------


def _real(name: str, folder: Path, rgb: RGB, *boxes: FractionBox) -> KnownPhoto:
    path = folder / f"{name}.jpg"
    decoded = _save_jpeg(np.ascontiguousarray(rgb), path)
    mask = _box_mask(decoded.shape[:2], *boxes)
    return KnownPhoto(name, path, decoded, mask, exact_mask=False)


def astronaut(folder: Path) -> KnownPhoto:
    """Eileen Collins (a person), square: her box from her hair to the lower edge, and the
    helmet she holds (part of her for any segmentation) in the lower right corner."""
    pixels = np.asarray(data.astronaut(), np.uint8)  # type: ignore[no-untyped-call]
    return _real("astronaut", folder, pixels, (0.02, 0.03, 0.72, 1.0), (0.55, 0.65, 1.0, 1.0))


def chelsea_3x2(folder: Path) -> KnownPhoto:
    """Chelsea the cat, cropped to exactly 3:2 (450x300); the cat fills the frame."""
    pixels = np.asarray(data.chelsea(), np.uint8)[:, :450]  # type: ignore[no-untyped-call]
    return _real("chelsea-3x2", folder, pixels, (0.0, 0.0, 1.0, 1.0))


def coffee_4x3(folder: Path) -> KnownPhoto:
    """The coffee cup on its saucer, cropped to 4:3 (532x399) around the cup."""
    pixels = np.asarray(data.coffee(), np.uint8)[:399, 34:566]  # type: ignore[no-untyped-call]
    return _real("coffee-4x3", folder, pixels, (0.03, 0.0, 0.95, 0.97))


def camera(folder: Path) -> KnownPhoto:
    """The cameraman (grey, square): the man, his camera and the tripod."""
    grey = np.asarray(data.camera(), np.uint8)  # type: ignore[no-untyped-call]
    return _real("camera", folder, np.repeat(grey[..., None], 3, axis=2), (0.0, 0.12, 0.72, 1.0))


def rocket(folder: Path) -> KnownPhoto:
    """A rocket on its pad at dusk: a small subject in a wide scene."""
    pixels = np.asarray(data.rocket(), np.uint8)  # type: ignore[no-untyped-call]
    return _real("rocket", folder, pixels, (0.45, 0.3, 0.55, 0.97))


def logo_rgba(folder: Path) -> KnownPhoto:
    """scikit-image's logo made a cut-out: an RGBA PNG, its disc opaque, the white around it
    (the part of the white reached from the corners) transparent."""
    rgb = np.ascontiguousarray(np.asarray(data.logo(), np.uint8)[:, :, :3])  # type: ignore[no-untyped-call]
    light = (rgb.min(axis=2) > 200).astype(np.uint8)
    _, labels = cv2.connectedComponents(light, connectivity=4)
    corners = {int(labels[y, x]) for y in (0, -1) for x in (0, -1)} - {0}
    outside = np.isin(labels, sorted(corners)).astype(np.uint8)
    # One pixel more, so the anti-aliased light fringe of the disc goes too.
    outside = cv2.dilate(outside, np.ones((3, 3), np.uint8))
    alpha = _as_uint8(_blur(1.0 - outside.astype(np.float32), 0.7) * 255.0)
    path = folder / "logo.png"
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
    subject = (alpha.astype(np.float32) / 255).astype(np.float32)
    return KnownPhoto("logo", path, rgb, subject, exact_mask=True, alpha=alpha)


# -- synthetic photos -----------------------------------------------------------------------


def textured_character(folder: Path, width: int = 1200, height: int = 900) -> KnownPhoto:
    """(a) A soft-edged red character standing on the lower edge of a textured, graded park
    wall, as a JPEG (4:3 by default); the background is known exactly (see ``_jpeg_round_trip``).
    """
    background = _jpeg_round_trip(_textured_background(width, height, seed=3))
    alpha = _soft(_character_mask(width, height), sigma=1.5)
    photo = _composite(background, _character_colour(width, height, seed=4), alpha)
    path = folder / "textured-character.jpg"
    decoded = _save_jpeg(photo, path)
    return KnownPhoto("textured-character", path, decoded, alpha, True, background=background)


def _character_png(
    name: str, folder: Path, background: RGB, colour: NDArray[np.float64]
) -> KnownPhoto:
    """The character in ``colour`` over ``background`` (its size), saved exactly as a PNG."""
    height, width = background.shape[:2]
    alpha = _soft(_character_mask(width, height), sigma=1.5)
    photo = _composite(background, colour, alpha)
    path = folder / f"{name}.png"
    Image.fromarray(photo).save(path)
    return KnownPhoto(name, path, photo, alpha, True, background=background)


def plain_product(folder: Path, width: int = 1200, height: int = 800) -> KnownPhoto:
    """(b) The same character on a plain off-white backdrop (a product shot), a 3:2 PNG."""
    rng = np.random.default_rng(5)
    backdrop = np.array([236.0, 232.0, 224.0]) + rng.normal(0, 1.0, (height, width, 3))
    colour = _character_colour(width, height, seed=6)
    return _character_png("plain-product", folder, _as_uint8(backdrop), colour)


def transparent_character(folder: Path, width: int = 800, height: int = 1000) -> KnownPhoto:
    """(c) The character alone, over nothing: an RGBA PNG whose alpha is its outline."""
    alpha = _soft(_character_mask(width, height), sigma=1.0)
    colour = _as_uint8(_character_colour(width, height, seed=7))
    alpha8 = _as_uint8(alpha * 255.0)
    rgba = np.dstack([colour * (alpha8[..., None] > 0), alpha8])
    path = folder / "transparent-character.png"
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(path)
    subject = (alpha8.astype(np.float32) / 255).astype(np.float32)
    return KnownPhoto("transparent-character", path, colour, subject, exact_mask=True, alpha=alpha8)


def grey_on_grey(folder: Path, width: int = 1200, height: int = 900) -> KnownPhoto:
    """(d) A dark grey character on a textured light grey wall, every pixel R = G = B.

    Nothing in it has colour, so any chroma the video shows (at the canvas edge, say) is the
    renderer's own. Saved as PNG: a JPEG would add no colour either, but PNG keeps it exact.
    """
    textured = _textured_background(width, height, seed=8).astype(np.float64)
    luma = textured @ np.array([0.2126, 0.7152, 0.0722])
    background = _as_uint8(np.repeat(luma[..., None], 3, axis=2))
    colour = _grey_character_colour(width, height, seed=9)
    return _character_png("grey-on-grey", folder, background, colour)


def flower_on_green(folder: Path, width: int = 1200, height: int = 800) -> KnownPhoto:
    """(e) A pink flower (petals round a yellow heart, on a stem) over blurred foliage: it has
    a head-and-body outline of sorts but is no person. A 3:2 JPEG, background known exactly."""
    rng = np.random.default_rng(10)
    leaves = _blur(rng.normal(0, 1, (height, width)), 14) * 900
    green = np.array([70.0, 130.0, 60.0]) + leaves[..., None] * np.array([0.5, 1.0, 0.4])
    background = _jpeg_round_trip(_as_uint8(green))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = 0.5 * width, 0.38 * height
    angle = np.arctan2(yy - cy, xx - cx)
    radius = np.hypot(xx - cx, yy - cy)
    petal_reach = 0.16 * height * (0.55 + 0.45 * np.abs(np.cos(3 * angle)))  # six petals
    petals = radius <= petal_reach
    heart = radius <= 0.055 * height
    stem = (np.abs(xx - cx) <= 0.012 * width) & (yy >= cy)
    alpha = _soft(petals | heart | stem, sigma=1.5)
    colour = np.empty((height, width, 3))
    colour[:] = np.array([232.0, 110.0, 170.0])
    colour[heart] = np.array([240.0, 200.0, 40.0])
    colour[stem & ~petals] = np.array([40.0, 100.0, 30.0])
    colour += rng.normal(0, 5.0, (height, width, 1))
    photo = _composite(background, colour, alpha)
    path = folder / "flower-on-green.jpg"
    decoded = _save_jpeg(photo, path)
    return KnownPhoto("flower-on-green", path, decoded, alpha, True, background=background)


PHOTO_MAKERS: dict[str, Callable[[Path], KnownPhoto]] = {
    "astronaut": astronaut,
    "chelsea-3x2": chelsea_3x2,
    "coffee-4x3": coffee_4x3,
    "camera": camera,
    "rocket": rocket,
    "logo": logo_rgba,
    "textured-character": textured_character,
    "plain-product": plain_product,
    "transparent-character": transparent_character,
    "grey-on-grey": grey_on_grey,
    "flower-on-green": flower_on_green,
}


def make_photo(name: str, folder: Path) -> KnownPhoto:
    """The photo called ``name`` (a key of :data:`PHOTO_MAKERS`), written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return PHOTO_MAKERS[name](folder)
