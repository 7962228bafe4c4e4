"""The title: bold Noto Sans CJK (any script) in white with a soft shadow, inside safe margins."""

from __future__ import annotations

import functools
import math
import unicodedata
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ._compose import Overlay

__all__ = ["title_overlay"]

_SAFE_SIDE = 0.08  # of the canvas width: clear of phone edges and app buttons
_SAFE_TOP = 0.09  # of the canvas height: clear of the status bar and app header
_FONT_SIZE = 0.075  # of the canvas's short side
_MIN_FONT_SIZE = 0.04
_MAX_LINES = 3
_WEIGHT = 760  # a firm bold on the font's 100..900 weight axis
# Face index in the collection, by script: kana -> Japanese, hangul -> Korean, else Chinese.
_FACE_JP, _FACE_KR, _FACE_SC = 0, 1, 2


@functools.cache
def _font_file() -> Path | None:
    try:
        package = resources.files("manimgx_fonts_cjk")
    except ModuleNotFoundError:
        return None
    path = Path(str(package.joinpath("NotoSansCJK-VF.otf.ttc")))
    return path if path.is_file() else None


def _face(text: str) -> int:
    names = [unicodedata.name(ch, "") for ch in text]
    if any(n.startswith(("HIRAGANA", "KATAKANA")) for n in names):
        return _FACE_JP
    if any(n.startswith("HANGUL") for n in names):
        return _FACE_KR
    return _FACE_SC


def _font(text: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _font_file()
    if path is None:  # without the font package: Pillow's own scalable font (Latin only)
        return ImageFont.load_default(size)
    font = ImageFont.truetype(str(path), size, index=_face(text))
    font.set_variation_by_axes([_WEIGHT])
    return font


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Greedy lines within ``width``: break at spaces, or anywhere in scripts without them."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        spaced = " " in paragraph.strip()
        tokens = paragraph.split(" ") if spaced else list(paragraph)
        joiner = " " if spaced else ""
        line = ""
        for token in tokens:
            candidate = f"{line}{joiner}{token}" if line else token
            if line and font.getlength(candidate) > width:
                lines.append(line)
                line = token
            else:
                line = candidate
        lines.append(line)
    return lines


def title_overlay(text: str, canvas: tuple[int, int]) -> Overlay | None:
    """The title as an RGBA overlay at the top of the canvas, or None for an empty title."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if not text:
        return None
    width, height = canvas
    room = round(width * (1 - 2 * _SAFE_SIDE))
    size = round(min(canvas) * _FONT_SIZE)
    floor = round(min(canvas) * _MIN_FONT_SIZE)
    while True:
        font = _font(text, size)
        lines = _wrap(text, font, room)
        if (len(lines) <= _MAX_LINES and all(font.getlength(ln) <= room for ln in lines)) or (
            size <= floor
        ):
            break
        size = max(floor, round(size * 0.9))
    lines = lines[:_MAX_LINES]
    spacing = round(size * 0.22)
    pad = round(size * 0.6)  # room for the shadow
    draw_probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = draw_probe.multiline_textbbox(
        (0, 0), "\n".join(lines), font=font, spacing=spacing, align="center", anchor="la"
    )
    text_w, text_h = math.ceil(box[2] - box[0]), math.ceil(box[3] - box[1])
    patch_w, patch_h = text_w + 2 * pad, text_h + 2 * pad
    origin = (pad - box[0], pad - box[1])
    shadow = Image.new("L", (patch_w, patch_h), 0)
    ImageDraw.Draw(shadow).multiline_text(
        origin,
        "\n".join(lines),
        font=font,
        fill=255,
        spacing=spacing,
        align="center",
        stroke_width=max(1, size // 14),
        stroke_fill=255,
    )
    shadow = shadow.filter(ImageFilter.GaussianBlur(size / 9))
    ink = Image.new("L", (patch_w, patch_h), 0)
    ImageDraw.Draw(ink).multiline_text(
        origin, "\n".join(lines), font=font, fill=255, spacing=spacing, align="center"
    )
    ink_a = np.asarray(ink, dtype=np.float32) / 255.0
    shadow_a = np.asarray(shadow, dtype=np.float32) / 255.0 * 0.65
    alpha = ink_a + shadow_a * (1.0 - ink_a)
    # White ink over a black shadow: straight colour is white where ink dominates.
    grey = np.where(alpha > 0, ink_a / np.maximum(alpha, 1e-6), 0.0) * 255.0
    rgba = np.empty((patch_h, patch_w, 4), np.uint8)
    rgba[:, :, :3] = np.clip(grey + 0.5, 0, 255).astype(np.uint8)[:, :, None]
    rgba[:, :, 3] = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    x = (width - patch_w) // 2
    y = max(0, round(height * _SAFE_TOP) - pad)
    return Overlay(rgba=rgba, x=x, y=y)
