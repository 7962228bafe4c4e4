"""The layers, and one frame of them: a still plate, the moving subject, the title on top.

Two ways to move the subject, chosen by whether it can be cut out:

* layered (a subject with an outline: a person, a pet or an object, transparency, a product on a
  plain backdrop): built once, the plate (the scene with the subject's whole footprint rebuilt
  from the photo around it, see :mod:`._plate`; for a transparent photo, its own backdrop) and
  the subject, its alpha snapped to the photo's edges and its edge colours unmixed from the old
  background, stored premultiplied. Per frame the subject's box is resampled along the soft
  body's field (:mod:`._deform`) and laid over the plate: ``out = subject + (1 - alpha) plate``.
* whole (nothing can be cut out: a landscape, a subject that fills the photo): the same field,
  gentler and with every region's stretch limited, resamples the photo itself.

Either way the field is zero at the edges where nothing may move (the photo's, the canvas's), it
is computed on a coarse grid and enlarged with ``cv2.resize``, samples beyond a layer repeat its
edge (never black), and pixels outside the resampled box are the plate's, the same every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2
from ._deform import Body, Rig, backward_maps, edge_window
from ._layout import Scene, extend_backdrop
from ._matte import refine_alpha, unmix_foreground
from ._motion import Motion
from ._plate import clean_plate
from ._yuv import rgb_to_planes

__all__ = ["Compositor", "Overlay"]

_GRID = 8  # luma pixels between displacement samples (chroma: half)
_HOLD = 2 * _GRID  # pixels next to a still edge that never move
_RAMP = 0.06  # ... then the motion eases in over this fraction of the subject's height
_HOLE_GROW = 0.008  # the rebuilt footprint reaches this fraction of the subject's height ...
_HOLE_GROW_MIN = 10  # ... or this many pixels beyond any alpha, whichever is more
_MAX_COVER = 0.92  # a subject covering more of the photo on show than this is not cut out
_WHOLE_ZOOM = 1.0  # the whole photo's beat: a zoom this share of the squash deep ...
_WHOLE_FADE = 0.4  # ... easing out over this share of the photo's side towards its edges
_WHOLE_STRETCH = 0.06  # ... stretching no region by more than this


@dataclass(frozen=True)
class Overlay:
    """A still RGBA picture (the title) and where its top-left corner goes on the canvas."""

    rgba: NDArray[np.uint8]
    x: int
    y: int


@dataclass(frozen=True)
class _Layer:
    """Planes over a box of the canvas: Y at full size; Cb, Cr, alpha at half size.

    A subject layer is premultiplied (colour times alpha), so resampling it mixes colour only
    with the subject's own; the title is straight alpha; the whole photo is opaque. The alpha
    that goes with Y is the half-size one enlarged (resampling a two-channel picture costs
    OpenCV several times one channel), except for a layer that never moves (the title), which
    keeps its sharp full-size ``still_alpha``.
    """

    luma: NDArray[np.uint8]  # (h, w)
    chroma: NDArray[np.uint8]  # (h/2, w/2, 4): Cb, Cr, alpha, unused (4 remap fastest)
    x0: int
    y0: int
    still_alpha: NDArray[np.uint8] | None = None

    @property
    def height(self) -> int:
        return int(self.luma.shape[0])

    @property
    def width(self) -> int:
        return int(self.luma.shape[1])

    def luma_alpha(self) -> NDArray[np.uint8]:
        if self.still_alpha is not None:
            return self.still_alpha
        enlarged: NDArray[np.uint8] = cv2.resize(
            self.chroma[:, :, 2], (self.width, self.height), interpolation=cv2.INTER_LINEAR
        )
        return enlarged


def _layer(
    rgb: NDArray[np.uint8],
    alpha: NDArray[np.uint8],
    x0: int,
    y0: int,
    *,
    premultiply: bool = False,
    still: bool = False,
) -> _Layer:
    y, u, v = rgb_to_planes(rgb)
    half = cv2.resize(alpha, (u.shape[1], u.shape[0]), interpolation=cv2.INTER_AREA)
    chroma = cv2.merge([u, v, half, np.zeros_like(half)])
    layer = _Layer(y, chroma, x0, y0, alpha if still else None)
    if premultiply:  # with the very alpha Y will be laid with, so the two cancel exactly
        y = cv2.multiply(y, layer.luma_alpha(), scale=1 / 255)
        u, v = cv2.multiply(u, half, scale=1 / 255), cv2.multiply(v, half, scale=1 / 255)
        layer = _Layer(y, cv2.merge([u, v, half, np.zeros_like(half)]), x0, y0)
    return layer


def _blend(dst: NDArray[np.uint8], src: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> None:
    """``dst = src * alpha + dst * (1 - alpha)`` in place, all uint8 (alpha 255 = opaque)."""
    kept = cv2.multiply(dst, cv2.bitwise_not(alpha), scale=1 / 255)
    cv2.add(kept, cv2.multiply(src, alpha, scale=1 / 255), dst=dst)


def _over(dst: NDArray[np.uint8], src: NDArray[np.uint8], alpha: NDArray[np.uint8]) -> None:
    """``dst = src + dst * (1 - alpha)`` in place: ``src`` is premultiplied."""
    kept = cv2.multiply(dst, cv2.bitwise_not(alpha), scale=1 / 255)
    cv2.add(kept, src, dst=dst)


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


class Compositor:
    """Frames of one render. Keeps nothing between frames: any order, any thread."""

    def __init__(
        self,
        scene: Scene,
        motion: Motion,
        *,
        overlay: Overlay | None = None,
        layered: bool = True,
        rigid_top: float = 0.0,
        backdrop: NDArray[np.float32] | None = None,
    ) -> None:
        """``backdrop``: the colour behind a transparent photo (its plate, known exactly)."""
        height, width = scene.rgb.shape[:2]
        self.width, self.height = width, height
        self.motion = motion
        self._photo_box = scene.photo_box
        inside = np.zeros((height, width), np.uint8)
        sx0, sy0, sx1, sy1 = scene.photo_box
        inside[sy0:sy1, sx0:sx1] = 1
        core = (scene.subject > 0.5).astype(np.uint8) & inside
        body = Body.of(core, rigid_top)
        # A subject filling (nearly) all the photo on show leaves no background to rebuild.
        covered = float(core[sy0:sy1, sx0:sx1].mean()) if sx1 > sx0 and sy1 > sy0 else 1.0
        self.layered = layered and body is not None and covered <= _MAX_COVER
        self._overlay = None if overlay is None else self._overlay_layer(overlay)
        self._layer: _Layer | None = None
        self._maps: NDArray[np.float32] | None = None
        plate = scene.rgb
        if self.layered and body is not None:
            self.motion = motion.fitted(*self._room(body, scene))
            # A cut-out's own alpha is exact; a found outline is snapped to the photo's edges.
            alpha = scene.alpha if scene.alpha is not None else refine_alpha(scene.rgb, core)
            alpha = alpha * inside
            box = self._reach_box(body, alpha)
            plate = self._rebuilt_plate(scene, alpha, backdrop)
            colour = unmix_foreground(scene.rgb, alpha, plate)
            x0, y0, x1, y1 = box
            self._layer = _layer(
                np.ascontiguousarray(colour[y0:y1, x0:x1]),
                np.ascontiguousarray(alpha[y0:y1, x0:x1]),
                x0,
                y0,
                premultiply=True,
            )
            self._maps = self._coarse_maps(self._layer, body)
        else:
            x0, y0, x1, y1 = _grid_box(sx0, sy0, sx1, sy1, width, height)
            opaque = np.full((y1 - y0, x1 - x0), 255, np.uint8)
            rgb = np.ascontiguousarray(scene.rgb[y0:y1, x0:x1])
            self._layer = _layer(rgb, opaque, x0, y0)
            self._maps = self._zoom_maps(self._layer)
        y, u, v = rgb_to_planes(plate)
        self._plate: NDArray[np.uint8] = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(
            -1, width
        )

    # -- built once ---------------------------------------------------------------------------

    def _room(self, body: Body, scene: Scene) -> tuple[float, float]:
        """Room above the subject and beside it on the photo, in subject heights.

        An edge the subject already touches (cut off by the photo or the canvas) gives no
        limit: the subject is held still there instead.
        """
        x, y, w, _h = cv2.boundingRect(body.mask)
        sx0, sy0, sx1, _sy1 = self._photo_box
        margin = _HOLD + _GRID
        up = (y - sy0 - margin) / body.height if y > sy0 + 2 else np.inf
        sides = [
            (x - sx0 - margin) / body.height if x > sx0 + 2 else np.inf,
            (sx1 - x - w - margin) / body.height if x + w < sx1 - 2 else np.inf,
        ]
        return float(up), float(min(sides))

    def _reach_box(self, body: Body, alpha: NDArray[np.uint8]) -> tuple[int, int, int, int]:
        """The box of the subject's alpha grown by how far the motion can carry it, in whole
        grid cells: its edges are clear, so repeating them beyond it repeats nothing."""
        x, y, w, h = cv2.boundingRect(alpha)
        reach = self.motion.reach()
        side = body.height * reach.side + 2 * _GRID
        up = body.height * reach.up + 2 * _GRID
        return _grid_box(
            int(x - side), int(y - up), int(x + w + side), y + h + _GRID, self.width, self.height
        )

    def _rebuilt_plate(
        self, scene: Scene, alpha: NDArray[np.uint8], backdrop: NDArray[np.float32] | None
    ) -> NDArray[np.uint8]:
        """The scene with the subject's whole footprint rebuilt from what surrounds it."""
        if backdrop is not None:  # known exactly: the whole canvas is that colour
            colour = np.clip(backdrop + 0.5, 0, 255).astype(np.uint8)
            return np.broadcast_to(colour, scene.rgb.shape).copy()
        body_height = max(1.0, float(cv2.boundingRect(alpha)[3]))
        grow = max(_HOLE_GROW_MIN, round(_HOLE_GROW * body_height))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)
        footprint = ((alpha > 0) | (scene.subject > 0.5)).astype(np.uint8)
        hole = cv2.dilate(footprint, kernel)
        # Only the photo itself is a source: never the blurred or extended canvas around it.
        x0, y0, x1, y1 = scene.source_box
        region = np.ascontiguousarray(scene.rgb[y0:y1, x0:x1])
        # Only as deep as the subject ever uncovers does the rebuilt background need texture.
        reach = self.motion.reach()
        reveal = grow + 2 * _GRID + round(body_height * max(reach.down, reach.side, reach.up))
        rebuilt = clean_plate(region, np.ascontiguousarray(hole[y0:y1, x0:x1]), reveal)
        if scene.seamless:  # the backdrop goes on from the rebuilt photo, subject-free
            return extend_backdrop(rebuilt, scene.source_box, (self.width, self.height))
        plate = scene.rgb.copy()
        plate[y0:y1, x0:x1] = rebuilt
        return plate

    def _coarse_maps(self, layer: _Layer, body: Body) -> NDArray[np.float32]:
        """Per cycle frame, where each coarse grid point samples the layer: (F, gh, gw, 2).

        Grid points sit where ``cv2.resize`` puts the centres of enlarged coarse pixels, so
        enlarging a frame's grid gives its full sampling map, in the layer's coordinates.
        """
        gw, gh = layer.width // _GRID, layer.height // _GRID
        grid_x = layer.x0 + _GRID * np.arange(gw, dtype=np.float64) + (_GRID - 1) / 2
        grid_y = layer.y0 + _GRID * np.arange(gh, dtype=np.float64) + (_GRID - 1) / 2
        ramp = max(2.0 * _GRID, _RAMP * body.height)
        window = edge_window(grid_x, grid_y, self._photo_box, ramp, _HOLD)
        frames = np.arange(self.motion.plan.cycle_frames, dtype=np.float64)
        maps = backward_maps(Rig(body, self.motion), grid_x, grid_y, window, frames)
        maps[..., 0] -= layer.x0
        maps[..., 1] -= layer.y0
        return maps

    def _zoom_maps(self, layer: _Layer) -> NDArray[np.float32]:
        """The whole photo's motion: a zoom on each beat about the middle of its lower edge,
        with a little sway, easing to nothing at the photo's edges (which stay put), and no
        region stretched by more than ``_WHOLE_STRETCH``: one gentle pulse, no funhouse.
        """
        motion = self.motion
        frames = np.arange(motion.plan.cycle_frames, dtype=np.float64)
        middle = np.array([0.6])
        beat = -motion.stretch(frames, middle)[:, 0]
        zoom = _WHOLE_ZOOM * motion.squash * (beat - beat.min()) / max(np.ptp(beat), 1e-9)
        sway = motion.shift(frames, middle)[:, 0] / max(motion.sway, 1e-9)
        x0, y0, x1, y1 = self._photo_box
        anchor_x, anchor_y = (x0 + x1) / 2, float(y1)
        gw, gh = layer.width // _GRID, layer.height // _GRID
        gx = layer.x0 + _GRID * np.arange(gw, dtype=np.float64) + (_GRID - 1) / 2
        gy = layer.y0 + _GRID * np.arange(gh, dtype=np.float64) + (_GRID - 1) / 2
        window = edge_window(gx, gy, self._photo_box, _WHOLE_FADE * min(x1 - x0, y1 - y0), _HOLD)
        # Backward: each point samples from nearer the anchor as the picture grows.
        moved = np.empty((len(frames), gh, gw, 2), np.float32)
        moved[..., 0] = -zoom[:, None, None] * (gx - anchor_x)[None, None, :]
        moved[..., 0] -= (zoom * sway * 0.5 * (x1 - x0))[:, None, None]
        moved[..., 1] = -zoom[:, None, None] * (gy - anchor_y)[None, :, None]
        moved *= window[None, :, :, None]
        stretch = (
            max(
                float(np.abs(np.diff(moved, axis=1)).max(initial=0.0)),
                float(np.abs(np.diff(moved, axis=2)).max(initial=0.0)),
            )
            / _GRID
        )
        if stretch > _WHOLE_STRETCH:
            moved *= np.float32(_WHOLE_STRETCH / stretch)
        identity = np.stack(np.meshgrid(gx - layer.x0, gy - layer.y0), axis=-1)
        maps: NDArray[np.float32] = (identity[None] + moved).astype(np.float32)
        return maps

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
        return _layer(np.ascontiguousarray(padded[:, :, :3]), alpha, x0, y0, still=True)

    # -- per frame ----------------------------------------------------------------------------

    def frame(self, index: int) -> NDArray[np.uint8]:
        """The I420 picture, shape (height * 3 / 2, width), of frame ``index`` of the loop."""
        out: NDArray[np.uint8] = self._plate.copy()
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
                self._lay(moved, planes, premultiplied=True)
            else:
                self._put(moved, planes)
        if self._overlay is not None:
            self._lay(self._overlay, planes, premultiplied=False)
        return out

    @staticmethod
    def _warp(layer: _Layer, coarse: NDArray[np.float32]) -> _Layer:
        h, w = layer.height, layer.width
        full = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        # Chroma sample c sits at luma position 2c + 0.5.
        half = cv2.resize((coarse - 0.5) * 0.5, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
        # Beyond the layer, its edge repeats: a zero border would bleed black (or green, in
        # chroma) into every pixel sampled near it.
        luma = cv2.remap(layer.luma, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        chroma = cv2.remap(
            layer.chroma, half, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return _Layer(luma, chroma, layer.x0, layer.y0)

    @staticmethod
    def _put(
        moved: _Layer, planes: tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
    ) -> None:
        """Write ``moved`` (the resampled photo) into the frame's planes as it is: no blend."""
        y0, x0, h, w = moved.y0, moved.x0, moved.height, moved.width
        planes[0][y0 : y0 + h, x0 : x0 + w] = moved.luma
        cy, cx = y0 // 2, x0 // 2
        planes[1][cy : cy + h // 2, cx : cx + w // 2] = moved.chroma[:, :, 0]
        planes[2][cy : cy + h // 2, cx : cx + w // 2] = moved.chroma[:, :, 1]

    @staticmethod
    def _lay(
        layer: _Layer,
        planes: tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]],
        *,
        premultiplied: bool,
    ) -> None:
        """Lay ``layer`` over the frame's planes."""
        y0, x0, h, w = layer.y0, layer.x0, layer.height, layer.width
        u, v, half_alpha, _ = cv2.split(layer.chroma)
        mix = _over if premultiplied else _blend
        mix(planes[0][y0 : y0 + h, x0 : x0 + w], layer.luma, layer.luma_alpha())
        cy, cx, ch, cw = y0 // 2, x0 // 2, h // 2, w // 2
        mix(planes[1][cy : cy + ch, cx : cx + cw], u, half_alpha)
        mix(planes[2][cy : cy + ch, cx : cx + cw], v, half_alpha)
