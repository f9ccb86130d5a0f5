"""Shape, pose and size of one object from its 3D points above the support plane.

Works in the plane's frame (z up from the plane) on the points a camera sees
of a resting object, which is never the whole surface: the top and the faces
turned to the camera, less whatever stands in front. The cues are chosen to
survive that:

- *height* above the plane: a pad is thin;
- the *top view* (footprint): vertical sides project onto the outline, and the
  top is seen from above, so the outline is complete for boxes, cylinders,
  pads and bowls. A rectangle fills its minimum-area rectangle, a circle its
  minimum enclosing circle; the minimum enclosing circle stays right even
  when up to half of the outline is hidden;
- the *outline actually seen* (`ImageEvidence.outline`), when something in
  front hides part of it: its pieces lie on a circle or on a rectangle's
  sides, however much is missing;
- *concavity*: the camera sees past the middle of a bowl's opening into the
  bowl (`ImageEvidence.visibility`), where the middle of a solid's top is a
  surface; without that, a bowl's middle is far below its rim;
- *sphere fit*: a sphere resting on the plane has its centre one radius up, so
  x^2 + y^2 + z^2 = 2 x cx + 2 y cy + 2 z r - (cx^2 + cy^2) is linear in
  (cx, cy, r, cx^2 + cy^2); a residual near the depth noise with 2r close to
  the height means a ball. Its top view is incomplete (the back is unseen),
  so a ball's centre comes from this fit, not from the outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from skill_stack.perception.geometry import Plane, quantile


@dataclass(frozen=True)
class ShapeParams:
    """Thresholds of the shape decisions (metres, or fractions as noted)."""

    pad_max_height: float = 0.015  # m: anything flatter is a pad (a contract pad is 5 mm thick)
    bowl_min_drop: float = 0.45  # middle at least this fraction of the height below the rim: a bowl
    sphere_max_residual: float = 0.08  # RMS residual of the sphere fit, as a fraction of its radius ...
    noise_factor: float = 1.4  # ... added in quadrature to this many times the depth noise (the plane's RMS)
    sphere_height_tolerance: float = 0.2  # |2r - height| at most this fraction of the height
    max_points: int = 4000  # points kept per object for fitting (evenly subsampled above this)


@dataclass
class ShapeEstimate:
    """What the points say: label, centre (world), yaw, full extent along the object's axes, and why."""

    label: str
    center: np.ndarray  # (3,) world frame, centre of the bounding box
    yaw: float  # radians about the plane normal; 0 for round shapes
    extent: np.ndarray  # (3,) x along yaw, y, height
    radius: float  # footprint radius for round shapes, half the smaller side for boxes
    confidence: float
    features: dict = field(default_factory=dict)


def plane_frame(plane: Plane) -> tuple[np.ndarray, np.ndarray]:
    """(R, origin) of a frame on the plane whose z is the plane normal and x follows world x."""
    z = plane.normal / np.linalg.norm(plane.normal)
    x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    if np.linalg.norm(x) < 1e-6:
        x = np.array([0.0, 1.0, 0.0]) - z[1] * z
    x /= np.linalg.norm(x)
    rotation = np.column_stack([x, np.cross(z, x), z])  # columns: plane axes in the world
    origin = -plane.offset * z  # the point of the plane nearest the world origin
    return rotation, origin


def fit_resting_sphere(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Centre (3,), radius and RMS residual of a sphere resting on z = 0 through plane-frame points."""
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    a = np.column_stack([2.0 * x, 2.0 * y, 2.0 * z, -np.ones_like(x)])
    b = x * x + y * y + z * z
    solution, *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy, r = solution[:3]
    r = abs(float(r))
    centre = np.array([cx, cy, r])
    residual = float(np.sqrt(np.mean((np.linalg.norm(points - centre, axis=1) - r) ** 2)))
    return centre, r, residual


def fit_circle(xy: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Centre (2,), radius and RMS residual of the least-squares (Kasa) circle through 2D points."""
    x, y = xy[:, 0], xy[:, 1]
    a = np.column_stack([2.0 * x, 2.0 * y, np.ones_like(x)])
    (cx, cy, k), *_ = np.linalg.lstsq(a, x * x + y * y, rcond=None)
    radius = math.sqrt(max(k + cx * cx + cy * cy, 0.0))
    centre = np.array([cx, cy])
    residual = float(np.sqrt(np.mean((np.linalg.norm(xy - centre, axis=1) - radius) ** 2)))
    return centre, radius, residual


def rectangle_residual(xy: np.ndarray, steps: int = 45) -> float:
    """RMS distance of 2D outline points to the sides of their best-fitting rectangle.

    Tries `steps` orientations over 90 degrees; at each, the sides are the
    lines through the points' extremes, and each point counts its distance to
    the nearest side. Points on the visible sides of a partly hidden box fit
    the box's sides at its true orientation; no orientation fits an arc.
    """
    angles = np.linspace(0.0, math.pi / 2.0, steps, endpoint=False)[:, None]
    u = xy[:, 0] * np.cos(angles) + xy[:, 1] * np.sin(angles)
    v = -xy[:, 0] * np.sin(angles) + xy[:, 1] * np.cos(angles)
    distance = np.minimum(np.minimum(u - u.min(axis=1, keepdims=True), u.max(axis=1, keepdims=True) - u),
                          np.minimum(v - v.min(axis=1, keepdims=True), v.max(axis=1, keepdims=True) - v))
    return float(np.sqrt((distance ** 2).mean(axis=1).min()))


@dataclass
class ImageEvidence:
    """What the image adds to an object's points: where its outline is really seen, and free space.

    outline: (M, 3) world points of the object's image outline where nothing
    nearer hides it (the outline parts next to an occluder are left out);
    occluded_share: the share of the outline next to an occluder;
    visibility: world points -> +1 where the camera sees past the point (free
    space), 0 where the point is on a seen surface, -1 where something else
    hides it, 2 where nothing is known (outside the image, no depth).
    """

    outline: np.ndarray | None = None
    occluded_share: float = 0.0
    visibility: Callable[[np.ndarray], np.ndarray] | None = None


def _footprint(xy: np.ndarray) -> dict:
    """Top-view outline measures: hull area, minimum-area rectangle, minimum enclosing circle."""
    pts = np.ascontiguousarray(xy, dtype=np.float32)
    hull = cv2.convexHull(pts)
    area = float(cv2.contourArea(hull))
    (rx, ry), (rw, rh), angle = cv2.minAreaRect(pts)
    (ccx, ccy), cr = cv2.minEnclosingCircle(pts)
    rect_area = max(rw * rh, 1e-12)
    circle_area = max(math.pi * cr * cr, 1e-12)
    return {'area': area, 'rect_center': np.array([rx, ry]), 'rect_size': (float(rw), float(rh)),
            'rect_angle': math.radians(angle), 'circle_center': np.array([ccx, ccy]), 'circle_radius': float(cr),
            'rect_fill': area / rect_area, 'circle_fill': area / circle_area}


def _subsample(points: np.ndarray, limit: int) -> np.ndarray:
    if len(points) <= limit:
        return points
    return points[np.linspace(0, len(points) - 1, limit).astype(int)]


def _round_outline(foot: dict, outline_xy: np.ndarray | None, occluded_share: float, xy: np.ndarray,
                   flat: bool, clear_ratio: float = 0.7) -> tuple[bool, np.ndarray | None, float]:
    """Round or rectangular top view, and the circle of a round shape seen in part.

    When much of the outline is hidden, fill ratios mislead (a pad half behind a
    finger fills its rectangle); then the seen outline decides: does it lie on a
    circle or on the sides of a rectangle, clearly (residuals differ by
    `clear_ratio`)? A short arc fits both; then a flat thing is taken for a
    pad (round is what flat things of the scene contract are) and a solid is
    left to the fill ratios.
    """
    by_fill = foot['circle_fill'] >= foot['rect_fill']
    if occluded_share < 0.1 or outline_xy is None or len(outline_xy) < 12:
        return by_fill, None, 0.0
    centre, radius, circle_rms = fit_circle(outline_xy)
    rect_rms = rectangle_residual(outline_xy)
    plausible = radius < 0.2 and np.linalg.norm(centre - xy.mean(axis=0)) < radius
    if plausible and circle_rms < clear_ratio * rect_rms:
        round_shape = True
    elif rect_rms < clear_ratio * circle_rms or not plausible:
        round_shape = False
    else:
        round_shape = True if flat else by_fill
    return round_shape, (centre if round_shape and plausible else None), (radius if round_shape else 0.0)


def _concave(local: np.ndarray, centre_xy: np.ndarray, radius: float, top: float, to_world: Callable,
             evidence: ImageEvidence, params: ShapeParams) -> tuple[bool, float]:
    """Whether the middle of the object's top is empty (a bowl), and how sure (0..1).

    Asked of the image first: the camera sees past the middle of a bowl's
    opening into it, but not past the top of a solid. Where the middle is hidden
    (behind a finger, say), the points decide: a bowl's middle is far below its rim.
    """
    if evidence.visibility is not None:
        angles = np.linspace(0.0, 2.0 * math.pi, 8, endpoint=False)
        ring = 0.3 * radius * np.column_stack([np.cos(angles), np.sin(angles)])
        probes = np.vstack([[0.0, 0.0], ring]) + centre_xy
        states = evidence.visibility(to_world(np.column_stack([probes, np.full(len(probes), top)])))
        known = (states == 0) | (states == 1)
        if known.any():
            share = float(np.mean(states[known] == 1))
            return share >= 0.5, abs(share - 0.5) * 2.0 * min(1.0, known.sum() / 3.0)
    heights = local[:, 2]
    middle = np.linalg.norm(local[:, :2] - centre_xy, axis=1) < 0.4 * radius
    if middle.sum() < 3:
        return False, 0.3  # nothing seen there, and nothing says why: assume a solid
    drop = (top - float(np.median(heights[middle]))) / max(top, 1e-6)
    return drop > params.bowl_min_drop, min(1.0, abs(drop - params.bowl_min_drop) / 0.3)


def estimate_shape(world_points: np.ndarray, plane: Plane, flat: bool = False,
                   params: ShapeParams = ShapeParams(), evidence: ImageEvidence | None = None
                   ) -> ShapeEstimate | None:
    """Label, pose and extent of one object from its world points; None with fewer than 10 points."""
    if len(world_points) < 10:
        return None
    evidence = evidence or ImageEvidence()
    rotation, origin = plane_frame(plane)

    def to_world(local_points: np.ndarray) -> np.ndarray:
        return local_points @ rotation.T + origin

    local = _subsample((np.asarray(world_points, float) - origin) @ rotation, params.max_points)
    heights = local[:, 2]
    top = quantile(heights, 0.995)
    xy = local[:, :2]
    foot = _footprint(xy)
    outline_xy = None if evidence.outline is None else ((evidence.outline - origin) @ rotation)[:, :2]
    round_shape, circle_centre, circle_radius = _round_outline(foot, outline_xy, evidence.occluded_share, xy,
                                                               flat or top < params.pad_max_height)
    centre_xy, radius = foot['circle_center'], foot['circle_radius']
    if circle_centre is not None:
        centre_xy, radius = circle_centre, circle_radius
    features = {'height': top, 'rect_fill': foot['rect_fill'], 'circle_fill': foot['circle_fill'],
                'round': round_shape, 'occluded_share': evidence.occluded_share}

    if flat or top < params.pad_max_height:
        label = 'pad' if round_shape else 'box'
        margin = min(1.0, (params.pad_max_height - top) / params.pad_max_height + 0.5) if not flat else 1.0
    else:
        concave, sureness = _concave(local, centre_xy, radius, top, to_world, evidence, params)
        features['concave'] = concave
        if concave:
            label, margin = 'bowl', 0.5 + 0.5 * sureness
        else:
            sphere_centre, sphere_r, residual = fit_resting_sphere(local)
            relative = residual / max(sphere_r, 1e-6)
            height_error = abs(2.0 * sphere_r - top) / max(top, 1e-6)
            features.update(sphere_residual=relative, sphere_height_error=height_error)
            # Depth noise alone leaves a residual of about its own size, however round the ball;
            # a can as tall as it is wide misses the sphere by about a fifth of its radius.
            allowed = math.hypot(params.sphere_max_residual, params.noise_factor * plane.rms / max(sphere_r, 1e-6))
            if relative < allowed and height_error < params.sphere_height_tolerance:
                label = 'sphere'
                margin = min(1.0, 0.5 + (allowed - relative) / allowed)
                centre_xy, radius = sphere_centre[:2], sphere_r
            else:
                label = 'cylinder' if round_shape else 'box'
                margin = min(1.0, 0.5 + abs(foot['circle_fill'] - foot['rect_fill']) * 2.0)
    yaw = 0.0
    if label == 'box':
        centre_xy = foot['rect_center']
        width, length = foot['rect_size']
        yaw = foot['rect_angle']
        if width < length:  # x extent along yaw is the longer side
            width, length, yaw = length, width, yaw + math.pi / 2.0
        yaw = (yaw + math.pi / 2.0) % math.pi - math.pi / 2.0  # a box is the same turned by pi
        extent = np.array([width, length, top])
        radius = min(width, length) / 2.0
    elif label == 'sphere':
        extent = np.array([2.0 * radius, 2.0 * radius, 2.0 * radius])
        top = 2.0 * radius
    else:
        extent = np.array([2.0 * radius, 2.0 * radius, top])
    centre_local = np.array([centre_xy[0], centre_xy[1], top / 2.0])
    centre = rotation @ centre_local + origin
    yaw_world = yaw + math.atan2(rotation[1, 0], rotation[0, 0])
    return ShapeEstimate(label=label, center=centre, yaw=yaw_world, extent=extent, radius=float(radius),
                         confidence=float(np.clip(margin, 0.0, 1.0)), features=features)
