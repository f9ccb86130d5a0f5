"""Pixels to the world with depth: where a detector's box or a VLM's point is in 3D.

A box also holds background (the table behind and below a mug), so depth is
taken as the median over the box's central half, and only pixels within a band
of that depth count as the object.  A point is lifted with the median depth of a
small window, since a single pixel on an edge may have no return.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.colors import name_color
from skill_stack.perception.types import CameraModel, Keypoint, PerceivedObject

MIN_POINTS = 12  # fewer object pixels than this and the box is not lifted


def _check(depth: np.ndarray, camera: CameraModel) -> np.ndarray:
    problem = camera.validate()
    if problem is not None:
        raise ValueError(problem)
    depth = np.asarray(depth)
    if depth.shape != (camera.height, camera.width):
        raise ValueError(f'depth image is {depth.shape[1]}x{depth.shape[0]} but the camera model is '
                         f'{camera.width}x{camera.height}')
    return depth.astype(np.float64, copy=False)


def back_project(camera: CameraModel, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
    """World points (N, 3) of pixel centres (u right, v down) at depth z along the optical axis."""
    u, v, z = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (u, v, z))
    cam = np.stack([(u - camera.cx) / camera.fx * z, (v - camera.cy) / camera.fy * z, z], axis=1)
    pose = np.asarray(camera.world_from_camera, dtype=float)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def _valid(depth: np.ndarray) -> np.ndarray:
    return np.isfinite(depth) & (depth > 0)


def depth_at(depth: np.ndarray, u: float, v: float, radius: int = 2) -> Optional[float]:
    """Median valid depth in the (2r+1)-pixel window around (u, v), or None if none is valid."""
    col, row = round(float(u)), round(float(v))
    height, width = depth.shape
    if not (0 <= col < width and 0 <= row < height):
        return None
    window = depth[max(row - radius, 0):row + radius + 1, max(col - radius, 0):col + radius + 1]
    values = window[_valid(window)]
    return float(np.median(values)) if values.size else None


def lift_pixel(u: float, v: float, depth: np.ndarray, camera: CameraModel, radius: int = 2) -> Optional[np.ndarray]:
    """The world point (3,) seen at pixel (u, v), or None where there is no depth."""
    depth = _check(depth, camera)
    z = depth_at(depth, u, v, radius)
    if z is None:
        return None
    return back_project(camera, [u], [v], [z])[0]


def lift_point(u: float, v: float, depth: np.ndarray, camera: CameraModel, *, name: str,
               confidence: float = 1.0, radius: int = 2) -> Optional[Keypoint]:
    """A keypoint named ``name`` at the world point seen at pixel (u, v), or None where there is no depth."""
    position = lift_pixel(u, v, depth, camera, radius)
    if position is None:
        return None
    pixel = (round(float(u)), round(float(v)))
    return Keypoint(name=name, position=position, confidence=float(confidence), pixel=pixel)


def lift_box(box: Sequence[float], depth: np.ndarray, camera: CameraModel, *, support_height: Optional[float] = None,
             band: float = 0.03) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(centre, extent, world points, (rows, cols)) of the object in a pixel box, or None without enough depth.

    Object pixels are those within ``band`` (or half the box's metric width, if larger) of the median
    depth of the box's central half, and above the support plane when its height is known.
    """
    depth = _check(depth, camera)
    height, width = depth.shape
    u0, v0, u1, v1 = (float(b) for b in box)
    c0, c1 = int(np.clip(np.floor(u0), 0, width)), int(np.clip(np.ceil(u1), 0, width))
    r0, r1 = int(np.clip(np.floor(v0), 0, height)), int(np.clip(np.ceil(v1), 0, height))
    if c1 - c0 < 1 or r1 - r0 < 1:
        return None
    region = depth[r0:r1, c0:c1]
    qh, qw = (r1 - r0) // 4, (c1 - c0) // 4
    inner = region[qh:(r1 - r0) - qh, qw:(c1 - c0) - qw]
    inner_values = inner[_valid(inner)]
    if inner_values.size == 0:
        return None
    z_med = float(np.median(inner_values))
    metric_width = (c1 - c0) / camera.fx * z_med
    keep = _valid(region) & (np.abs(region - z_med) <= max(band, 0.5 * metric_width))
    rows, cols = np.nonzero(keep)
    rows, cols = rows + r0, cols + c0
    points = back_project(camera, cols, rows, depth[rows, cols])
    if support_height is not None:
        above = points[:, 2] > support_height + 0.003
        points, rows, cols = points[above], rows[above], cols[above]
    if len(points) < MIN_POINTS:
        return None
    lo, hi = np.percentile(points, 3, axis=0), np.percentile(points, 97, axis=0)
    if support_height is not None:
        lo[2] = support_height  # the object rests on the support; its bottom is hidden from the camera
    return (lo + hi) / 2, hi - lo, points, np.stack([rows, cols])


def lift_detection(label: str, score: float, box: Sequence[float], rgb: np.ndarray, depth: np.ndarray,
                   camera: CameraModel, *, object_id: str, support_height: Optional[float] = None
                   ) -> Optional[PerceivedObject]:
    """A detector's box as a perceived object: 3D centre and extent from depth, colour from its pixels.

    Orientation is not estimated (identity quaternion, world-axis extent); keypoints are the
    centre and the top.  None when the box has too little valid depth.
    """
    rgb = np.asarray(rgb)
    if rgb.shape[:2] != np.asarray(depth).shape:
        raise ValueError(f'colour image is {rgb.shape[1]}x{rgb.shape[0]} but depth is '
                         f'{np.asarray(depth).shape[1]}x{np.asarray(depth).shape[0]}')
    lifted = lift_box(box, depth, camera, support_height=support_height)
    if lifted is None:
        return None
    center, extent, points, (rows, cols) = lifted
    color, _ = name_color(rgb[rows, cols].reshape(-1, 3))
    u0, v0, u1, v1 = (round(float(b)) for b in box)
    top = np.array([center[0], center[1], center[2] + extent[2] / 2])
    keypoints = [Keypoint(name='center', position=center.copy(), confidence=float(score),
                          pixel=((u0 + u1) // 2, (v0 + v1) // 2)),
                 Keypoint(name='top', position=top, direction=np.array([0.0, 0.0, -1.0]), confidence=float(score))]
    return PerceivedObject(id=object_id, label=label, color=color, position=center, quaternion=np.array([1.0, 0, 0, 0]),
                           extent=extent, confidence=float(score), keypoints=keypoints, bbox=(u0, v0, u1, v1),
                           num_points=len(points))


def detections_to_objects(detections: Iterable, rgb: np.ndarray, depth: np.ndarray, camera: CameraModel, *,
                          id_prefix: str = 'det', support_height: Optional[float] = None) -> List[PerceivedObject]:
    """Lift each detection (label, score, box) to an object with id ``{id_prefix}_{i}``; those without depth drop."""
    objects = []
    for det in detections:
        obj = lift_detection(det.label, det.score, det.box, rgb, depth, camera,
                             object_id=f'{id_prefix}_{len(objects)}', support_height=support_height)
        if obj is not None:
            objects.append(obj)
    return objects
