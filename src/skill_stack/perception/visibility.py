"""What the camera saw and what it could not: free space, occlusion, and the outline actually seen.

A depth image is also a map of empty space: wherever the camera measured a
surface at depth d along a ray, everything on that ray nearer than d is empty,
and everything further is hidden. Perception asks this three times:

- is the gap between two pieces hidden behind something (one object seen in
  parts between a hand's fingers) or seen through (two objects)?
- is the middle of an object's top empty (the opening of a bowl) or a surface?
- which parts of an object's outline are its real edge, and which are where
  something nearer cuts it off?
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from skill_stack.perception.geometry import pixels_to_world, project
from skill_stack.perception.types import CameraModel

SEEN_THROUGH, ON_SURFACE, HIDDEN, UNKNOWN = 1, 0, -1, 2


@dataclass
class Frame:
    """One frame's measurements, as segmentation left them."""

    depth: np.ndarray  # float32 metres along the optical axis, 0 where invalid
    valid: np.ndarray  # bool
    heights: np.ndarray  # float32 metres above the support plane
    camera: CameraModel
    min_height: float  # m above the plane where solids begin


def camera_depth(camera: CameraModel, points: np.ndarray) -> np.ndarray:
    """Depth along the optical axis of world points."""
    pose = np.asarray(camera.world_from_camera, float)
    return (np.atleast_2d(points) - pose[:3, 3]) @ pose[:3, 2]


def free_space(frame: Frame, points: np.ndarray, own: np.ndarray | None = None, margin: float = 0.01
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per world point: SEEN_THROUGH, ON_SURFACE, HIDDEN or UNKNOWN; and the flat pixel index it projects to.

    `own`: sorted flat pixel indices of the object asking; being behind its own
    surface is not being hidden by something else, so it counts as ON_SURFACE.
    """
    points = np.atleast_2d(points)
    pixels, inside = project(frame.camera, points)
    height, width = frame.depth.shape
    cols = np.clip(np.rint(pixels[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.rint(pixels[:, 1]).astype(int), 0, height - 1)
    index = rows * width + cols
    expected = camera_depth(frame.camera, points)
    measured = frame.depth.reshape(-1)[index]
    states = np.full(len(points), ON_SURFACE, np.int8)
    states[measured > expected + margin] = SEEN_THROUGH
    nearer = measured < expected - margin
    if own is not None and len(own):
        nearer &= ~_member(index, own)
    states[nearer] = HIDDEN
    states[~inside | ~frame.valid.reshape(-1)[index]] = UNKNOWN
    return states, index


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    position = np.clip(np.searchsorted(sorted_set, values), 0, len(sorted_set) - 1)
    return sorted_set[position] == values


def seen_outline(frame: Frame, pixel_index: np.ndarray, reach: int, tolerance: float = 0.01
                 ) -> tuple[np.ndarray, float]:
    """World points of an object's image outline where nothing nearer cuts it, and the share that is cut.

    An outline pixel is cut off when, within `reach` pixels, another solid
    thing is nearer than it by more than `tolerance`. The support itself never
    counts: the table in front of an object's foot is nearer but hides nothing.
    """
    height, width = frame.depth.shape
    rows, cols = np.divmod(pixel_index, width)
    pad = reach + 1
    r0, c0 = max(int(rows.min()) - pad, 0), max(int(cols.min()) - pad, 0)
    r1, c1 = min(int(rows.max()) + pad + 1, height), min(int(cols.max()) + pad + 1, width)
    own = np.zeros((r1 - r0, c1 - c0), np.uint8)
    own[rows - r0, cols - c0] = 1
    boundary = own.astype(bool) & ~cv2.erode(own, np.ones((3, 3), np.uint8), borderValue=0).astype(bool)
    depth = frame.depth[r0:r1, c0:c1]
    others = frame.valid[r0:r1, c0:c1] & (frame.heights[r0:r1, c0:c1] > frame.min_height) & ~own.astype(bool)
    occluder = np.where(others, depth, np.float32(np.inf)).astype(np.float32)
    nearest = cv2.erode(occluder, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8),
                        borderType=cv2.BORDER_REPLICATE)
    cut = boundary & (nearest < depth - tolerance)
    total = int(boundary.sum())
    if total == 0:
        return np.zeros((0, 3)), 0.0
    seen_rows, seen_cols = np.nonzero(boundary & ~cut)
    seen_rows, seen_cols = seen_rows + r0, seen_cols + c0
    points = pixels_to_world(frame.camera, seen_rows, seen_cols, frame.depth[seen_rows, seen_cols])
    return points, float(cut.sum()) / total


def gap_hidden(frame: Frame, point_a: np.ndarray, point_b: np.ndarray, owner: np.ndarray, labels: tuple[int, int],
               objects: np.ndarray, margin: float = 0.01, samples: int = 24) -> bool:
    """True when the straight 3D gap between two pieces is hidden from the camera by something not an object.

    Where the camera sees past a point of the gap, the gap is empty and the
    pieces are two things. The gap must be hidden behind something nearer, and
    that must not be an object itself (`objects[label]` False: the robot's
    fingers, say): two like-coloured objects behind a third stay two.
    owner: int image of piece labels (0: none); labels: the two pieces'.
    """
    t = np.linspace(0.0, 1.0, samples + 2)[1:-1, None]
    gap = point_a + t * (point_b - point_a)
    states, index = free_space(frame, gap, margin=margin)
    owners = owner.reshape(-1)[index]
    others = (owners != labels[0]) & (owners != labels[1])
    hidden = others & (states == HIDDEN)
    return bool(hidden.any() and not np.any(others & (states == SEEN_THROUGH)) and not np.any(objects[owners[hidden]]))
