"""The layers, and one frame of them: a still plate, the warped subject, the title on top.

Two ways to move the subject, chosen by how sure the outline is:

* layered (a confident mask: a person, transparency, a plain backdrop): built once, the plate
  (the scene with the subject's place filled in under its alpha from background pixels well
  clear of it, so what the subject uncovers when it squashes is plausible background, while
  the photo's own background around it stays untouched) and the subject cut out, its edge colours
  taken from inside the outline (no ring of the old background carried along). Per frame, only
  the subject's box is resampled and laid over the plate with the *warped* alpha.
* whole (no separable subject: a close-up, a guessed centre): one smooth displacement field,
  the subject's motion faded to zero towards the photo's edges and away from the subject,
  resamples the photo itself. Nothing is blended, so no edge can show twice; the edges stay.

Either way the field is computed on a coarse grid and enlarged with ``cv2.resize``, and pixels
outside the resampled box are the plate's, identical in every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2
from ._motion import Motion, smoothstep
from ._yuv import rgb_to_planes

__all__ = ["Compositor", "Overlay"]

_GRID = 8  # luma pixels between displacement samples (chroma: half)
_EDGE_GROW = 2  # pixels the opaque core reaches beyond the subject's outline
_EDGE_SOFT = 2.5  # Gaussian sigma of the soft edge
_FILL_GROW = 9  # pixels beyond the soft edge that are filled in behind the subject (at least)
_FILL_GROW_HEIGHT = 0.03  # ... or this fraction of the subject's height, if larger
_FILL_FAINT = 0.05  # probability above which a pixel may be subject: never a fill source
_FILL_SCALE = 4  # the fill is computed at a quarter of the size: a smooth guess anyway
_GUIDE_SCALE = 2  # the edge is snapped to the photo at half size
_GUIDE_RADIUS = 4  # box radius of the guided filter, in those half-size pixels
_GUIDE_EPS = 0.004  # its regularisation: smaller follows the photo's edges more closely
_FADE_EDGE = 0.2  # whole-photo warp: fades out over this fraction of the photo's side
_FADE_SUBJECT = 0.45  # ... and over this fraction of the subject's size away from it


@dataclass(frozen=True)
class Overlay:
    """A still RGBA picture (the title) and where its top-left corner goes on the canvas."""

    rgba: NDArray[np.uint8]
    x: int
    y: int


@dataclass(frozen=True)
class _Layer:
    """Straight-alpha planes over a box of the canvas: Y at full size; Cb, Cr, alpha at half."""

    luma: NDArray[np.uint8]  # (h, w)
    chroma: NDArray[np.uint8]  # (h/2, w/2, 4): Cb, Cr, alpha, unused (4 remap fastest)
    x0: int
    y0: int

    @property
    def height(self) -> int:
        return int(self.luma.shape[0])

    @property
    def width(self) -> int:
        return int(self.luma.shape[1])


def _layer(rgb: NDArray[np.uint8], alpha: NDArray[np.uint8], x0: int, y0: int) -> _Layer:
    y, u, v = rgb_to_planes(rgb)
    half = cv2.resize(alpha, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_AREA)
    return _Layer(y, cv2.merge([u, v, half, np.zeros_like(half)]), x0, y0)


def _blend(dst: NDArray[np.uint8], src: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> None:
    """``dst = src * alpha + dst * (1 - alpha)`` in place, all uint8 (alpha 255 = opaque)."""
    kept = cv2.multiply(dst, cv2.bitwise_not(alpha), scale=1 / 255)
    cv2.add(kept, cv2.multiply(src, alpha, scale=1 / 255), dst=dst)


def _grid_box(
    x0: int, y0: int, x1: int, y1: int, width: int, height: int
) -> tuple[int, int, int, int]:
    """The box grown to whole grid cells, kept on the canvas (whose sides are multiples)."""
    x0, y0 = x0 - x0 % _GRID, y0 - y0 % _GRID
    x1, y1 = x1 + (-x1) % _GRID, y1 + (-y1) % _GRID
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width - width % _GRID, x1), min(height - height % _GRID, y1)
    return x0, y0, x1, y1


def _even_box(
    x0: int, y0: int, x1: int, y1: int, width: int, height: int
) -> tuple[int, int, int, int]:
    """The box grown to even edges (chroma is half size) and clipped to the canvas."""
    x0, y0 = max(0, x0 - x0 % 2), max(0, y0 - y0 % 2)
    x1, y1 = min(width, x1 + x1 % 2), min(height, y1 + y1 % 2)
    return x0, y0, x1, y1


def _push_pull_fill(rgb: NDArray[np.uint8], hole: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Fill ``hole`` smoothly from its surroundings: average down a pyramid, then back up.

    Each level averages only known pixels; on the way up, unknown pixels take the coarser
    level's colour. Fast, and with no streaks: right for a background seen only at its edges.
    """
    known = (1.0 - hole.astype(np.float32))[:, :, None]
    levels = [(rgb.astype(np.float32) * known, known)]
    while min(levels[-1][0].shape[:2]) > 4:
        colour, weight = levels[-1]
        colour = cv2.pyrDown(colour)
        weight = cv2.pyrDown(weight)
        levels.append((colour, weight.reshape(colour.shape[0], colour.shape[1], 1)))
    filled = levels[-1][0] / np.maximum(levels[-1][1], 1e-6)
    for colour, weight in reversed(levels[:-1]):
        up = cv2.pyrUp(filled, dstsize=(colour.shape[1], colour.shape[0]))
        mix = np.clip(weight * 1.5, 0.0, 1.0)
        own = colour / np.maximum(weight, 1e-6)
        filled = own * mix + up * (1.0 - mix)
    out: NDArray[np.uint8] = np.clip(filled + 0.5, 0, 255).astype(np.uint8)
    return out


def _guided_filter(
    guide: NDArray[np.float32], src: NDArray[np.float32], radius: int, eps: float
) -> NDArray[np.float32]:
    """He, Sun and Tang's guided filter (grey guide): ``src`` smoothed along ``guide``'s edges."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(a: NDArray[np.float32]) -> NDArray[np.float32]:
        out: NDArray[np.float32] = cv2.boxFilter(a, -1, size, borderType=cv2.BORDER_REFLECT)
        return out

    mean_g, mean_s = mean(guide), mean(src)
    var_g = mean(guide * guide) - mean_g * mean_g
    cov = mean(guide * src) - mean_g * mean_s
    a: NDArray[np.float32] = (cov / (var_g + np.float32(eps))).astype(np.float32)
    b: NDArray[np.float32] = mean_s - a * mean_g
    result: NDArray[np.float32] = mean(a) * guide + mean(b)
    return result


class Compositor:
    """Frames of one render. Keeps nothing between frames: any order, any thread."""

    def __init__(
        self,
        scene_rgb: NDArray[np.uint8],
        subject: NDArray[np.float32],
        motion: Motion,
        *,
        photo_box: tuple[int, int, int, int] | None = None,
        overlay: Overlay | None = None,
        layered: bool = True,
    ) -> None:
        height, width = scene_rgb.shape[:2]
        self.width, self.height = width, height
        self.motion = motion
        # The subject never reaches past the photo onto the blurred backdrop.
        inside = np.zeros((height, width), np.uint8)
        bx0, by0, bx1, by1 = photo_box or (0, 0, width, height)
        inside[by0:by1, bx0:bx1] = 1
        self._photo_box = (bx0, by0, bx1, by1)
        core = (subject > 0.5).astype(np.uint8) & inside
        bx, by, bw, bh = cv2.boundingRect(core)
        self.still = bw == 0 or bh == 0
        if self.still:
            self.base_y, self.top_y, self.axis_x = height, 0, width / 2
        else:
            self.base_y, self.top_y = by + bh, by
            # The axis is where the subject stands: the centre of its lower half.
            lower = cv2.moments(core[by + bh // 2 : by + bh], binaryImage=True)
            self.axis_x = lower["m10"] / lower["m00"] if lower["m00"] else bx + bw / 2
        self.subject_height = max(1, self.base_y - self.top_y)
        self.layered = layered and not self.still
        self._overlay = None if overlay is None else self._overlay_layer(overlay)
        self._layer: _Layer | None = None
        self._maps: NDArray[np.float32] | None = None
        plate = scene_rgb
        if self.layered:
            alpha = self._edge_alpha(scene_rgb, core) * inside
            faint = ((subject > _FILL_FAINT) | (alpha > 0)).astype(np.uint8) & inside
            plate = self._fill_behind(scene_rgb, faint, alpha, inside)
            self._layer = self._subject_layer(scene_rgb, alpha)
            self._maps = self._coarse_maps(self._layer)
        elif not self.still:
            self._layer = self._photo_layer(scene_rgb)
            self._maps = self._faded(self._layer, self._coarse_maps(self._layer), core)
        y, u, v = rgb_to_planes(plate)
        self._plate = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(-1, width)

    # -- built once ---------------------------------------------------------------------------

    @staticmethod
    def _soft_alpha(core: NDArray[np.uint8]) -> NDArray[np.uint8]:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _EDGE_GROW + 1,) * 2)
        grown = cv2.dilate(core * 255, kernel)
        alpha: NDArray[np.uint8] = cv2.GaussianBlur(grown, (0, 0), _EDGE_SOFT)
        return alpha

    def _fill_behind(
        self,
        rgb: NDArray[np.uint8],
        core: NDArray[np.uint8],
        alpha: NDArray[np.uint8],
        inside: NDArray[np.uint8],
    ) -> NDArray[np.uint8]:
        """The scene with the subject's place filled from its surroundings.

        ``core`` is every pixel that may be subject, however faintly: those, and a margin
        around them, are never a source of the fill, so no stray hair or outline colour is
        smeared into the background. The fill replaces the photo in proportion to the subject's
        own alpha: everything the subject can uncover lies under it, and the photo's real
        background around it stays as it is, sharp, instead of a blurred band.
        """
        grow = max(_FILL_GROW, _FILL_GROW_HEIGHT * self.subject_height)
        reach = (_EDGE_GROW + int(3 * _EDGE_SOFT) + grow) / _FILL_SCALE
        small_size = (max(8, self.width // _FILL_SCALE), max(8, self.height // _FILL_SCALE))
        small = cv2.resize(rgb, small_size, interpolation=cv2.INTER_AREA)
        small_core = (cv2.resize(core, small_size, interpolation=cv2.INTER_AREA) > 0).astype(
            np.uint8
        )
        side = 2 * round(reach) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        small_hole = cv2.dilate(small_core, kernel)
        filled = _push_pull_fill(small, small_hole)
        big = cv2.resize(filled, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        weight = (alpha * inside).astype(np.float32)[:, :, None] * np.float32(1 / 255)
        mixed = rgb.astype(np.float32) + (big.astype(np.float32) - rgb) * weight
        plate: NDArray[np.uint8] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        return plate

    def _edge_alpha(self, rgb: NDArray[np.uint8], core: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The subject's alpha, its soft edge snapped to the photo's own edges.

        The mask was found at a few hundred pixels across, so its outline is off by several
        canvas pixels: a guided filter (the photo's luma as guide) moves the soft edge onto
        the real one, so no ring of the old background travels with the subject.
        """
        rough = self._soft_alpha(core)
        bx, by, bw, bh = cv2.boundingRect(rough)
        x0, y0, x1, y1 = bx, by, bx + bw, by + bh
        grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
        size = (max(8, bw // _GUIDE_SCALE), max(8, bh // _GUIDE_SCALE))
        guide = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        src = cv2.resize(rough[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
        snapped = _guided_filter(guide, src.astype(np.float32) / 255, _GUIDE_RADIUS, _GUIDE_EPS)
        big = cv2.resize(snapped, (bw, bh), interpolation=cv2.INTER_LINEAR)
        alpha = np.zeros_like(rough)
        alpha[y0:y1, x0:x1] = np.clip(big * 255 + 0.5, 0, 255).astype(np.uint8)
        # Deep inside stays opaque; far outside stays clear whatever the guide says.
        alpha[cv2.erode(core, np.ones((9, 9), np.uint8)) > 0] = 255
        alpha[rough == 0] = 0
        return alpha

    def _photo_layer(self, rgb: NDArray[np.uint8]) -> _Layer:
        """The whole photo on the canvas and a grid cell around it (its alpha is not used)."""
        bx0, by0, bx1, by1 = self._photo_box
        x0, y0, x1, y1 = _grid_box(
            bx0 - _GRID, by0 - _GRID, bx1 + _GRID, by1 + _GRID, self.width, self.height
        )
        opaque = np.full((y1 - y0, x1 - x0), 255, np.uint8)
        return _layer(np.ascontiguousarray(rgb[y0:y1, x0:x1]), opaque, x0, y0)

    def _faded(
        self, layer: _Layer, maps: NDArray[np.float32], core: NDArray[np.uint8]
    ) -> NDArray[np.float32]:
        """``maps`` with the motion faded out towards the photo's edges and away from the subject.

        Blending each grid point's displacement towards none keeps the field smooth; at the
        photo's edges the displacement is exactly zero, so they never move or smear.
        """
        gh, gw = maps.shape[1:3]
        gx: NDArray[np.float64] = (
            layer.x0 + _GRID * np.arange(gw, dtype=np.float64) + (_GRID - 1) / 2
        )
        gy: NDArray[np.float64] = (
            layer.y0 + _GRID * np.arange(gh, dtype=np.float64) + (_GRID - 1) / 2
        )
        bx0, by0, bx1, by1 = self._photo_box

        def edge(at: NDArray[np.float64], lo: int, hi: int) -> NDArray[np.float64]:
            reach = max(1.0, _FADE_EDGE * (hi - lo))
            # Exactly still for the outer two grid cells, then easing in.
            return smoothstep((np.minimum(at - lo, hi - at) - 2 * _GRID) / reach)

        window = np.outer(edge(gy, by0, by1), edge(gx, bx0, bx1))
        # Near the subject: its coarse outline, blurred wide, full strength inside.
        coarse = cv2.resize(
            core[layer.y0 : layer.y0 + gh * _GRID, layer.x0 : layer.x0 + gw * _GRID].astype(
                np.float32
            ),
            (gw, gh),
            interpolation=cv2.INTER_AREA,
        )
        _, _, bw, bh = cv2.boundingRect(core)
        sigma = max(1.0, _FADE_SUBJECT * max(bw, bh) / _GRID / 2)
        near = smoothstep(2.0 * cv2.GaussianBlur(coarse, (0, 0), sigma).astype(np.float64))
        weight = (window * near).astype(np.float32)[None, :, :, None]
        identity = np.empty((gh, gw, 2), np.float32)
        identity[:, :, 0] = (gx - layer.x0)[None, :]
        identity[:, :, 1] = (gy - layer.y0)[:, None]
        faded: NDArray[np.float32] = identity[None] + weight * (maps - identity[None])
        return faded

    def _overlay_layer(self, overlay: Overlay) -> _Layer:
        h, w = overlay.rgba.shape[:2]
        x0, y0, x1, y1 = _even_box(
            overlay.x, overlay.y, overlay.x + w, overlay.y + h, self.width, self.height
        )
        padded = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        sx, sy = overlay.x - x0, overlay.y - y0
        part = overlay.rgba[: y1 - y0 - sy, : x1 - x0 - sx]
        padded[sy : sy + part.shape[0], sx : sx + part.shape[1]] = part
        alpha = np.ascontiguousarray(padded[:, :, 3])
        return _layer(np.ascontiguousarray(padded[:, :, :3]), alpha, x0, y0)

    def _subject_layer(self, rgb: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> _Layer:
        """The subject's box, grown by how far the motion can carry it, in whole grid cells."""
        ax, ay, aw, ah = cv2.boundingRect(alpha)
        motion = self.motion
        reach = self.subject_height * (motion.squash * 1.6 + motion.sway * 1.3 + motion.hop) + 6
        x0, y0, x1, y1 = _grid_box(
            int(ax - reach), int(ay - reach), int(ax + aw + reach), ay + ah, self.width, self.height
        )
        return _layer(
            np.ascontiguousarray(rgb[y0:y1, x0:x1]),
            np.ascontiguousarray(alpha[y0:y1, x0:x1]),
            x0,
            y0,
        )

    def _coarse_maps(self, layer: _Layer) -> NDArray[np.float32]:
        """Per cycle frame, where each coarse grid point samples the layer: (F, gh, gw, 2).

        Grid points sit where ``cv2.resize`` puts the centres of enlarged coarse pixels, so
        enlarging a frame's grid gives its full sampling map, in the layer's coordinates.
        """
        gw, gh = layer.width // _GRID, layer.height // _GRID
        gx = layer.x0 + _GRID * np.arange(gw) + (_GRID - 1) / 2
        gy = layer.y0 + _GRID * np.arange(gh) + (_GRID - 1) / 2
        frames = np.arange(self.motion.plan.cycle_frames, dtype=np.float64)
        hs = float(self.subject_height)
        # Heights where the motion is sampled: a little below the base to above the layer.
        u_table = np.linspace(-0.05, (self.base_y - layer.y0) / hs + 0.1, 96)
        strain = self.motion.stretch(frames, u_table)  # (F, U)
        shift = self.motion.shift(frames, u_table) * hs  # pixels
        # How high each source height ends up: (1 + strain) integrated up from the base,
        # then lifted by the hop.
        steps = np.diff(u_table)[None, :] * (1 + 0.5 * (strain[:, 1:] + strain[:, :-1]))
        heights = u_table[0] + np.concatenate(
            [np.zeros((len(frames), 1)), np.cumsum(steps, axis=1)], axis=1
        )
        heights += self.motion.lift(frames, u_table)
        u_out = (self.base_y - gy) / hs
        below = u_out < 0  # under the base: still
        maps = np.empty((len(frames), gh, gw, 2), np.float32)
        for f in range(len(frames)):
            u_src = np.interp(u_out, heights[f], u_table)
            e = np.interp(u_src, u_table, strain[f])
            d = np.interp(u_src, u_table, shift[f])
            u_src[below], e[below], d[below] = u_out[below], 0.0, 0.0
            # Sideways: undo the widening (width x 1 / (1 + strain)) about the axis, then sway.
            src_x = self.axis_x + (gx[None, :] - self.axis_x - d[:, None]) * (1 + e[:, None])
            src_y = self.base_y - u_src * hs
            maps[f, :, :, 0] = src_x - layer.x0
            maps[f, :, :, 1] = (src_y - layer.y0)[:, None]
        return maps

    # -- per frame ----------------------------------------------------------------------------

    def frame(self, index: int) -> NDArray[np.uint8]:
        """The I420 picture, shape (height * 3 / 2, width), of frame ``index`` of the loop."""
        out = self._plate.copy()
        h, w = self.height, self.width
        planes = (
            out[:h],
            out[h : h + h // 4].reshape(h // 2, w // 2),
            out[h + h // 4 :].reshape(h // 2, w // 2),
        )
        if self._layer is not None and self._maps is not None:
            coarse = self._maps[index % self.motion.plan.cycle_frames]
            moved = self._warp(self._layer, coarse)
            if self.layered:
                self._lay(self._layer, moved, planes)
            else:
                self._put(moved, planes)
        if self._overlay is not None:
            self._lay(self._overlay, self._overlay, planes)
        return out

    @staticmethod
    def _warp(layer: _Layer, coarse: NDArray[np.float32]) -> _Layer:
        h, w = layer.height, layer.width
        full = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        # Chroma sample c sits at luma position 2c + 0.5.
        half = cv2.resize((coarse - 0.5) * 0.5, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
        luma = cv2.remap(layer.luma, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        chroma = cv2.remap(
            layer.chroma, half, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        return _Layer(luma, chroma, layer.x0, layer.y0)

    @staticmethod
    def _put(
        moved: _Layer, planes: tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
    ) -> None:
        """Write ``moved`` (the resampled photo) into the frame's planes as it is: no blend.

        The outer half grid cell is left alone: there ``cv2.resize`` holds the map constant
        instead of continuing it, and the motion has faded to nothing there anyway.
        """
        m = _GRID // 2
        y0, x0, h, w = moved.y0, moved.x0, moved.height, moved.width
        planes[0][y0 + m : y0 + h - m, x0 + m : x0 + w - m] = moved.luma[m:-m, m:-m]
        c, cy, cx, ch, cw = m // 2, y0 // 2, x0 // 2, h // 2, w // 2
        planes[1][cy + c : cy + ch - c, cx + c : cx + cw - c] = moved.chroma[c:-c, c:-c, 0]
        planes[2][cy + c : cy + ch - c, cx + c : cx + cw - c] = moved.chroma[c:-c, c:-c, 1]

    @staticmethod
    def _lay(
        layer: _Layer,
        moved: _Layer,
        planes: tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]],
    ) -> None:
        """Blend ``moved`` (``layer`` after warping, or itself) over the frame's planes."""
        y0, x0, h, w = layer.y0, layer.x0, layer.height, layer.width
        u, v, half_alpha, _ = cv2.split(moved.chroma)
        alpha = cv2.resize(half_alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        _blend(planes[0][y0 : y0 + h, x0 : x0 + w], moved.luma, alpha)
        cy, cx, ch, cw = y0 // 2, x0 // 2, h // 2, w // 2
        _blend(planes[1][cy : cy + ch, cx : cx + cw], u, half_alpha)
        _blend(planes[2][cy : cy + ch, cx : cx + cw], v, half_alpha)
