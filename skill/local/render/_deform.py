"""The soft body: handles over the subject, moved by the motion, and the mesh they drive.

A lattice of handles covers the subject (rows up its height, columns across its width at each
row). Per frame each handle goes where the motion puts its height and side: squashed, swayed,
lifted, later the higher and the farther out it is. The picture between the handles follows by
moving least squares (Schaefer, McPhail and Warren 2006), a blend of its affine solution (smooth
squash and stretch) and its rigid one (as rigid as possible: features keep their shape instead
of being sheared strip by strip); a person's head is carried rigidly on the neck, so eyes never
stretch. The field is evaluated on a coarse grid, faded to exactly zero at the edges where the
subject must stay put (the photo's and the canvas's), and inverted (the frame is drawn by
sampling backwards) by a few fixed-point steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ._cv import cv2
from ._motion import Motion, smoothstep

__all__ = ["Body", "MovingLeastSquares", "Rig", "backward_maps", "edge_window"]

Array = NDArray[np.float64]

_ROWS = 7  # handle rows from the base to the top
_COLS = 5  # handles across the subject at each row
_INSET = 0.1  # the outer handles sit this far in from the row's edges (fraction of its width)
_TOP_ROW = 0.94  # the highest row, as a share of the height (the very top is a point)
_RIGIDITY = 0.55  # share of the rigid solution in the body (1: all rigid, 0: all affine)
_HEAD_TOP = 0.1  # the head's width is the widest row in this top share of a person
_HEAD_MIN, _HEAD_MAX = 0.12, 0.5  # the shoulders are looked for between these shares
_SHOULDERS = 1.6  # ... as the first row this many times wider than the head
_BODY_TAKES = 0.5  # the body's squash grows by neck ** -this (1: all the head's, 0: none)
_HEAD_EASE = 0.06  # share of the height over which the neck eases into the rigid head
_MLS_STEP = 2  # the field is solved every this many grid cells, then enlarged
_INVERT_STEPS = 3
_EPS = 1e-6


@dataclass(frozen=True)
class Body:
    """The subject as the motion sees it, in canvas pixels."""

    mask: NDArray[np.uint8]  # canvas-sized, 1 on the subject
    base_y: float
    top_y: float
    axis_x: float
    rigid_top: float = 0.0  # the top fraction of the height carried rigidly (a head)

    @property
    def height(self) -> float:
        return max(1.0, self.base_y - self.top_y)

    @classmethod
    def of(cls, mask: NDArray[np.uint8], rigid_top: float = 0.0) -> Body | None:
        """The body of a subject ``mask``; None when the mask is empty.

        ``rigid_top`` > 0 (a person): the head is carried rigidly, down to where the mask
        widens into shoulders, if it does (``rigid_top`` is the guess when it does not).
        """
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return None
        # The axis is where the subject stands: the centre of its lower half.
        lower = cv2.moments(mask[y + h // 2 : y + h], binaryImage=True)
        axis = lower["m10"] / lower["m00"] if lower["m00"] else x + w / 2
        if rigid_top > 0:
            rigid_top = _head_share_of(mask[y : y + h], rigid_top)
        return cls(mask, float(y + h), float(y), float(axis), rigid_top)


def _head_share_of(rows: NDArray[np.uint8], guess: float) -> float:
    """The share of a person's height, from the top, that is head (and neck): down to the
    first row clearly wider than the head, where the shoulders begin."""
    height = len(rows)
    widths = rows.sum(axis=1).astype(np.float64)
    head = float(widths[: max(1, round(_HEAD_TOP * height))].max())
    start, stop = round(_HEAD_MIN * height), round(_HEAD_MAX * height)
    wide = np.flatnonzero(widths[start:stop] > _SHOULDERS * head)
    if head <= 0 or len(wide) == 0:
        return guess
    return float((start + wide[0]) / height)


def _row_extent(mask: NDArray[np.uint8], y: float, band: int) -> tuple[float, float] | None:
    """The subject's left and right edge in a band of rows around ``y``."""
    top = max(0, round(y) - band)
    rows = mask[top : round(y) + band + 1]
    columns = np.flatnonzero(rows.any(axis=0)) if rows.size else np.array([])
    if len(columns) == 0:
        return None
    return float(columns[0]), float(columns[-1] + 1)


def _handles(body: Body) -> tuple[Array, Array, Array]:
    """Rest positions (K, 2), heights ``u`` and sides ``s`` of the handle lattice.

    ``s`` is measured against the subject's widest half-width, not the row's: handles on a
    narrow row (a head's crown) sit near the axis and move together, instead of spreading
    their part-wise lag over a few pixels and pinching the outline there.
    """
    rows: list[tuple[float, float, float]] = []
    band = max(2, round(body.height / _ROWS / 3))
    for u in np.linspace(0.0, _TOP_ROW, _ROWS):
        y = body.base_y - u * body.height
        extent = _row_extent(body.mask, min(y, body.base_y - 1), band)
        if extent is not None:
            rows.append((float(u), *extent))
    half = max(1.0, max((right - left) / 2 for _, left, right in rows)) if rows else 1.0
    points: list[tuple[float, float]] = []
    heights: list[float] = []
    sides: list[float] = []
    for u, left, right in rows:
        inset = _INSET * (right - left)
        for x in np.linspace(left + inset, right - inset, _COLS):
            points.append((float(x), body.base_y - u * body.height))
            heights.append(u)
            sides.append(float(np.clip((x - body.axis_x) / half, -1.0, 1.0)))
    return np.array(points), np.array(heights), np.array(sides)


def _rotation(angle: Array) -> tuple[Array, Array]:
    return np.cos(angle), np.sin(angle)


class Rig:
    """The handles' targets over a cycle, and the backward sampling maps they make."""

    def __init__(self, body: Body, motion: Motion) -> None:
        self.body, self.motion = body, motion
        self.rest, self.u, self.s = _handles(body)

    def targets(self, frames: Array) -> Array:
        """Where every handle is in each frame: shape (F, K, 2), canvas pixels."""
        body, motion = self.body, self.motion
        height = body.height
        neck = self.neck
        out = np.empty((len(frames), len(self.u), 2))
        table = np.linspace(0.0, 1.0, 41)
        for k, (u, s) in enumerate(zip(self.u, self.s, strict=True)):
            if u > neck:
                continue  # the head's handles: below, all at once
            here, sides = np.array([u]), np.array([float(s)])
            climbed = self._climb(frames, table, np.full_like(table, float(s)), neck)
            rise = np.array([np.interp(u, table, row) for row in climbed])
            strain = motion.stretch(frames, here, sides)[:, 0] * self.body_gain
            sway = motion.shift(frames, here, sides)[:, 0]
            x0 = self.rest[k, 0]
            # Narrower as it stretches, wider as it squashes: the area stays.
            out[:, k, 0] = body.axis_x + (x0 - body.axis_x) / (1 + strain) + sway * height
            out[:, k, 1] = body.base_y - rise * height
        head = self.u > neck
        if head.any():
            out[:, head] = self.carry_head(frames, self.rest[head])
        return out

    @property
    def neck(self) -> float:
        return 1.0 - self.body.rigid_top

    @property
    def body_gain(self) -> float:
        """How much more the body below a rigid head squashes: part of what the head does not."""
        return float(self.neck**-_BODY_TAKES)

    def carry_head(self, frames: Array, points: Array) -> Array:
        """Where ``points`` (N, 2) of the head are in each frame, (F, N, 2): carried rigidly on
        the neck, tilted as the neck leans, and as late as the top would be (the head's own
        follow-through)."""
        body, motion, neck = self.body, self.motion, self.neck
        late = frames - motion.lag * (1.0 - neck) * motion.plan.fps
        table = np.linspace(0.0, 1.0, 41)
        middle = np.array([0.0])
        climbed = self._climb(late, table, np.zeros_like(table), neck)
        rise = np.array([np.interp(neck, table, row) for row in climbed])
        sway = motion.shift(late, np.array([neck]), middle)[:, 0]
        below = motion.shift(late, np.array([neck - 0.1]), middle)[:, 0]
        cos, sin = _rotation(np.arctan2(sway - below, 0.1))
        dx = (points[:, 0] - body.axis_x)[None, :]
        dy = (points[:, 1] - (body.base_y - neck * body.height))[None, :]
        carried = np.empty((len(frames), len(points), 2))
        carried[..., 0] = (body.axis_x + sway * body.height)[:, None] + cos[:, None] * dx
        carried[..., 0] -= sin[:, None] * dy
        carried[..., 1] = (body.base_y - rise * body.height)[:, None] + sin[:, None] * dx
        carried[..., 1] += cos[:, None] * dy
        return carried

    def _climb(self, frames: Array, table: Array, sides: Array, neck: float) -> Array:
        """How high each height of ``table`` ends up, with the body below the neck taking the
        whole squash (the head above it keeps its size)."""
        strain = self.motion.stretch(frames, table, sides) * self.body_gain
        strain[:, table > neck] = 0.0
        steps = np.diff(table)[None, :] * (1 + 0.5 * (strain[:, 1:] + strain[:, :-1]))
        heights = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(steps, axis=1)], axis=1)
        result: Array = heights + self.motion.lift(frames, table, sides)
        return result


class MovingLeastSquares:
    """Moving least squares from fixed handles to moving ones, solved at fixed points.

    Everything that depends only on the rest handles and the points is computed once; for
    all frames at once, the affine part is then one matrix product and the rigid part one
    more (the handles' targets times a fixed (2K, 2G) matrix).
    """

    def __init__(self, handles: Array, points: Array) -> None:
        d2 = ((points[:, None, :] - handles[None, :, :]) ** 2).sum(axis=2) + _EPS
        weights = 1.0 / d2  # (G, K)
        self._norm = weights / weights.sum(axis=1, keepdims=True)
        p_star = self._norm @ handles  # (G, 2)
        p_hat = handles[None, :, :] - p_star[:, None, :]  # (G, K, 2)
        v = points - p_star  # (G, 2)
        # Affine: f(v) = (v - p*) M + q*, M = (sum w p^T p)^-1 sum w p^T q, linear in q.
        moment = np.einsum("gk,gki,gkj->gij", weights, p_hat, p_hat)
        moment[:, 0, 0] += _EPS
        moment[:, 1, 1] += _EPS
        row = np.einsum("gi,gij->gj", v, np.linalg.inv(moment))
        share = np.einsum("gj,gkj->gk", row, p_hat) * weights
        self._affine = share + self._norm * (1.0 - share.sum(axis=1, keepdims=True))
        # Rigid: f_r(v) = sum_k q^_k A_k, A_k = w_k [p^_k; -p^_k_perp] [v; -v_perp]^T.
        p_perp = np.stack([-p_hat[..., 1], p_hat[..., 0]], axis=-1)
        v_perp = np.stack([-v[:, 1], v[:, 0]], axis=-1)
        left = np.stack([p_hat, -p_perp], axis=2)  # (G, K, 2, 2): rows p^, -p^_perp
        right = np.stack([v, -v_perp], axis=1)  # (G, 2, 2): rows v, -v_perp
        rigid = np.einsum("gk,gkai,gaj->gkij", weights, left, right)  # (G, K, 2, 2)
        count = len(points)
        self._rigid = rigid.transpose(1, 2, 0, 3).reshape(2 * len(handles), 2 * count)
        self._rigid_sum = rigid.sum(axis=1)
        self._length = np.linalg.norm(v, axis=1, keepdims=True)
        self._points = points

    def displacement(self, targets: Array, rigidity: float) -> Array:
        """Forward displacement (F, G, 2) of every point, handles at ``targets`` (F, K, 2)."""
        frames = len(targets)
        affine = np.matmul(self._affine[None], targets)
        q_star = np.matmul(self._norm[None], targets)
        turned = (targets.reshape(frames, -1) @ self._rigid).reshape(frames, -1, 2)
        turned -= np.einsum("fgc,gcd->fgd", q_star, self._rigid_sum)
        size = np.linalg.norm(turned, axis=2, keepdims=True)
        rigid = self._length[None] * turned / np.maximum(size, _EPS) + q_star
        rigid = np.where(size > _EPS, rigid, q_star)
        mixed: Array = affine + rigidity * (rigid - affine)
        return mixed - self._points[None]


def backward_maps(
    rig: Rig,
    grid_x: Array,
    grid_y: Array,
    window: NDArray[np.float32],
    frames: Array,
) -> NDArray[np.float32]:
    """Per frame, where each grid point samples the still picture: (F, gh, gw, 2), canvas px.

    The forward field is solved on every ``_MLS_STEP``-th grid point, enlarged, faded by
    ``window`` (0 where nothing may move), then inverted by fixed-point steps.
    """
    gh, gw = len(grid_y), len(grid_x)
    sx, sy = grid_x[::_MLS_STEP], grid_y[::_MLS_STEP]
    px, py = np.meshgrid(sx, sy)
    points = np.stack([px.ravel(), py.ravel()], axis=1)
    solver = MovingLeastSquares(rig.rest, points)
    targets = rig.targets(frames)
    maps = np.empty((len(frames), gh, gw, 2), np.float32)
    xs, ys = np.meshgrid(grid_x, grid_y)
    identity = np.stack([xs, ys], axis=-1).astype(np.float32)
    solved = solver.displacement(targets, _RIGIDITY)
    if rig.body.rigid_top > 0:
        # The mesh keeps the head nearly rigid; this makes it exactly so (no squeezed face
        # where a deep squash of the body below pulls on it).
        share = _head_share(rig, points)[None, :, None]
        head = rig.carry_head(frames, points) - points[None]
        solved = solved + share * (head - solved)
    solved = solved.astype(np.float32)
    for f in range(len(frames)):
        coarse = solved[f].reshape(len(sy), len(sx), 2)
        field = _enlarge(coarse, sx, sy, grid_x, grid_y) * window[..., None]
        maps[f] = _invert(field, identity, grid_x, grid_y)
    return maps


def _head_share(rig: Rig, points: Array) -> Array:
    """How much of each point moves with the head: all of it above the neck, none below."""
    u = (rig.body.base_y - points[:, 1]) / rig.body.height
    share: Array = smoothstep((u - rig.neck) / _HEAD_EASE)
    return share


def _enlarge(
    coarse: NDArray[np.float32], sx: Array, sy: Array, grid_x: Array, grid_y: Array
) -> NDArray[np.float32]:
    """The field on every grid point, linearly between the solved ones."""
    map_x = np.interp(grid_x, sx, np.arange(len(sx), dtype=np.float64)).astype(np.float32)
    map_y = np.interp(grid_y, sy, np.arange(len(sy), dtype=np.float64)).astype(np.float32)
    mx, my = np.meshgrid(map_x, map_y)
    field: NDArray[np.float32] = cv2.remap(
        coarse, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return field


def _invert(
    field: NDArray[np.float32], identity: NDArray[np.float32], grid_x: Array, grid_y: Array
) -> NDArray[np.float32]:
    """The backward map g with g(v) + d(g(v)) = v, by fixed-point steps g <- v - d(g)."""
    step_x = grid_x[1] - grid_x[0] if len(grid_x) > 1 else 1.0
    step_y = grid_y[1] - grid_y[0] if len(grid_y) > 1 else 1.0
    back = identity - field
    for _ in range(_INVERT_STEPS - 1):
        at_x = ((back[..., 0] - grid_x[0]) / step_x).astype(np.float32)
        at_y = ((back[..., 1] - grid_y[0]) / step_y).astype(np.float32)
        moved = cv2.remap(field, at_x, at_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        back = identity - moved
    return back


def edge_window(
    grid_x: Array, grid_y: Array, still: tuple[int, int, int, int], ramp: float, hold: float
) -> NDArray[np.float32]:
    """1 inside, easing to exactly 0 within ``hold`` pixels of the box ``still``'s edges."""

    def along(at: Array, lo: int, hi: int) -> Array:
        return smoothstep((np.minimum(at - lo, hi - at) - hold) / max(1.0, ramp))

    x0, y0, x1, y1 = still
    window: NDArray[np.float32] = np.outer(along(grid_y, y0, y1), along(grid_x, x0, x1)).astype(
        np.float32
    )
    return window
