"""From image segments to objects: pieces of one object are joined, pieces of none are told apart.

Segmentation cuts at every depth and colour edge, which is right between two
objects but also cuts one object into pieces: a bowl's front wall from its
inside, a pad or a ball seen between a hand's fingers, a bowl's floor (flat,
found by colour) from its walls (found by height). Pieces of compatible colour
are one object when they

- touch in 3D (within `merge_distance`);
- or are apart only where something that is not an object hides the gap
  (within `bridge_distance`; see `visibility.gap_hidden`);
- or, for a flat piece, when its middle lies inside a solid piece's outline.

Whether a piece rests on the support - and so may be an object - is decided
here too: the robot's links and fingers hang above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
from scipy.spatial import cKDTree

from skill_stack.perception.geometry import quantile
from skill_stack.perception.segmentation import Segment
from skill_stack.perception.visibility import Frame, gap_hidden

ACHROMATIC = ('white', 'black')


@dataclass
class Piece:
    """Pixels of one or more segments with their 3D points, thought to be (part of) one thing."""

    segments: list[Segment]
    points: np.ndarray  # (N, 3) world
    heights: np.ndarray  # (N,) above the plane
    pixel_index: np.ndarray  # (N,) row * width + col of each point
    color: str
    flat: bool
    low: np.ndarray = field(init=False)  # (3,) corner of the points' bounding box
    high: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.low, self.high = self.points.min(axis=0), self.points.max(axis=0)


def rests(heights: np.ndarray, tolerance: float) -> bool:
    """Whether points reach down to the support: their lowest is near it, or in their lower half.

    The lower half, because an object partly hidden behind another shows only
    its top; the robot's fingers and links hang well clear of the table.
    """
    return quantile(heights, 0.01) <= max(tolerance, 0.5 * quantile(heights, 0.995))


def same_paint(a: str, b: str) -> bool:
    """Pieces of one object: the same name, or both without hue (a white bowl's shaded inside reads grey)."""
    return a == b or (a in ACHROMATIC and b in ACHROMATIC)


def join_pieces(pieces: list[Piece], frame: Frame, merge_distance: float, bridge_distance: float,
                rest_tolerance: float) -> list[Piece]:
    """Pieces of the same object joined (see the module's description)."""
    reach = max(merge_distance, bridge_distance)
    owner = np.zeros(frame.depth.shape, np.int32)
    for index, piece in enumerate(pieces):
        owner.reshape(-1)[piece.pixel_index] = index + 1
    is_object = np.array([False] + [rests(p.heights, rest_tolerance) for p in pieces])  # label 0: no piece

    def near(first: Piece, second: Piece, first_label: int, second_label: int) -> bool:
        # Only points within the other's reach can be nearest: small trees even for the robot's big pieces.
        mine = _within(first.points, second.low - reach, second.high + reach)
        theirs = _within(second.points, first.low - reach, first.high + reach)
        if len(mine) == 0 or len(theirs) == 0:
            return False
        tree = cKDTree(mine, balanced_tree=False, compact_nodes=False)  # built once, queried once: build fast
        distances, nearest = tree.query(theirs, k=1, distance_upper_bound=reach)
        closest = int(np.argmin(distances))
        gap = float(distances[closest])
        if not math.isfinite(gap):
            return False
        return gap <= merge_distance or gap_hidden(frame, mine[int(nearest[closest])], theirs[closest], owner,
                                                   (first_label, second_label), is_object)

    def inside(first: Piece, second: Piece, *_: int) -> bool:
        return _inside_outline(first, second, merge_distance)

    return _union(_union(pieces, near, reach), inside, merge_distance)


def _within(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return points[np.all((points >= low) & (points <= high), axis=1)]


def _union(pieces: list[Piece], same_object: Callable[[Piece, Piece, int, int], bool], reach: float) -> list[Piece]:
    """Pieces joined wherever `same_object(larger, smaller, larger_label, smaller_label)` says so.

    Only pairs of compatible colour whose 3D boxes come within `reach` are asked;
    a label is 1 + the index of the piece in `pieces`.
    """
    n = len(pieces)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if root(i) == root(j) or not same_paint(pieces[i].color, pieces[j].color):
                continue
            if np.any(pieces[i].low > pieces[j].high + reach) or np.any(pieces[j].low > pieces[i].high + reach):
                continue
            a, b = (i, j) if len(pieces[i].points) >= len(pieces[j].points) else (j, i)
            if same_object(pieces[a], pieces[b], a + 1, b + 1):
                parent[root(b)] = root(a)
    groups: dict[int, list[Piece]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(pieces[i])
    joined = []
    for members in groups.values():
        if len(members) == 1:
            joined.append(members[0])
            continue
        members.sort(key=lambda m: -len(m.points))  # the largest piece names the colour
        joined.append(Piece(segments=[s for m in members for s in m.segments],
                            points=np.concatenate([m.points for m in members]),
                            heights=np.concatenate([m.heights for m in members]),
                            pixel_index=np.concatenate([m.pixel_index for m in members]),
                            color=members[0].color, flat=all(m.flat for m in members)))
    return joined


def _inside_outline(solid: Piece, flat: Piece, tolerance: float) -> bool:
    """A flat piece whose middle lies within a solid piece's top-view outline (a bowl's floor)."""
    if solid.flat or not flat.flat:
        return False
    hull = cv2.convexHull(np.ascontiguousarray(solid.points[:, :2], np.float32))
    middle = flat.points[:, :2].mean(axis=0)
    return cv2.pointPolygonTest(hull, (float(middle[0]), float(middle[1])), True) >= -tolerance
