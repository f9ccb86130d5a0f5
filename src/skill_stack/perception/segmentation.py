"""Object segmentation in the image: what stands above the support plane, and flat things that differ in colour.

Two kinds of segment:

- *solid*: pixels higher than `min_height` above the plane, split into objects
  at depth discontinuities (an object in front of another is nearer by at
  least the gap between them), so objects that overlap in the image but not in
  space come apart, and where the colour class changes (a black can right in
  front of a purple ball is continuous in depth at its top edge, but not in
  colour). The cut pixels are then handed back to the neighbour they are
  continuous with in depth and colour, so no object loses its outline.
- *flat*: pixels on the plane (within `min_height`) whose colour differs from
  the surface, away from any solid: pads, mats, markers too thin for depth.
  Specks that depth noise lifts above `min_height` but that make no solid
  count as flat too, so noise does not punch a pad full of holes.

Everything works on whole images with OpenCV and numpy; a segment is the list
of its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from skill_stack.perception.colors import pixel_color_classes

REATTACH_PASSES = 4  # cut pixels are handed back up to this many pixels away from an uncut one


@dataclass
class Segment:
    """One connected group of pixels that may be an object."""

    rows: np.ndarray  # (N,) int pixel rows
    cols: np.ndarray  # (N,) int pixel columns
    flat: bool  # found by colour on the plane, not by height
    bbox: tuple[int, int, int, int]  # u0, v0, u1, v1 (inclusive)
    touches_border: bool  # reaches the image edge, so it may be cut off

    @property
    def size(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class SegmentationParams:
    """Thresholds of segmentation, in metres unless named in pixels."""

    min_height: float = 0.008  # m above the plane for a pixel to be part of a solid
    flat_tolerance: float = 0.004  # m below the plane still accepted for flat things (depth noise)
    edge_abs: float = 0.012  # m: neighbouring depths further apart than this (plus edge_rel * depth) ...
    edge_rel: float = 0.01  # ... are a discontinuity between two surfaces
    min_pixels: int = 40  # smaller groups are noise or slivers of occluded objects
    flat_margin: int = 4  # px kept clear around solids, so their bases do not become flat segments


def depth_edges(depth: np.ndarray, abs_tol: float, rel_tol: float) -> np.ndarray:
    """Boolean image: pixels with a 4-neighbour at a depth discontinuity (both sides are marked)."""
    tol_right = abs_tol + rel_tol * np.minimum(depth[:, 1:], depth[:, :-1])
    tol_down = abs_tol + rel_tol * np.minimum(depth[1:, :], depth[:-1, :])
    jump_right = np.abs(depth[:, 1:] - depth[:, :-1]) > tol_right
    jump_down = np.abs(depth[1:, :] - depth[:-1, :]) > tol_down
    edges = np.zeros(depth.shape, bool)
    edges[:, 1:] |= jump_right
    edges[:, :-1] |= jump_right
    edges[1:, :] |= jump_down
    edges[:-1, :] |= jump_down
    return edges


def color_edges(classes: np.ndarray) -> np.ndarray:
    """Boolean image: pixels with a 4-neighbour of another colour class (both sides; class 0 = no object)."""
    right = (classes[:, 1:] != classes[:, :-1]) & (classes[:, 1:] > 0) & (classes[:, :-1] > 0)
    down = (classes[1:, :] != classes[:-1, :]) & (classes[1:, :] > 0) & (classes[:-1, :] > 0)
    edges = np.zeros(classes.shape, bool)
    edges[:, 1:] |= right
    edges[:, :-1] |= right
    edges[1:, :] |= down
    edges[:-1, :] |= down
    return edges


def _reattach(labels: np.ndarray, pixels: np.ndarray, depth: np.ndarray, classes: np.ndarray,
              params: SegmentationParams) -> None:
    """Give each cut pixel the label of the 4-neighbour of its colour class nearest in depth, in place."""
    height, width = labels.shape
    flat_labels, flat_depth, flat_classes = labels.reshape(-1), depth.reshape(-1), classes.reshape(-1)
    for _ in range(REATTACH_PASSES):  # later passes reach pixels whose only continuous neighbours were cut too
        pixels = pixels[flat_labels[pixels] == 0]
        if len(pixels) == 0:
            return
        rows, cols = np.divmod(pixels, width)
        best_label = np.zeros(len(pixels), np.int32)
        best_gap = np.full(len(pixels), np.inf, np.float32)
        own, own_class = flat_depth[pixels], flat_classes[pixels]
        tolerance = params.edge_abs + params.edge_rel * own
        for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            neighbour = np.where(inside, r * width + c, 0)
            label = np.where(inside, flat_labels[neighbour], 0)
            gap = np.abs(flat_depth[neighbour] - own)
            better = (label > 0) & (gap < tolerance) & (gap < best_gap) & (flat_classes[neighbour] == own_class)
            best_label[better], best_gap[better] = label[better], gap[better]
        flat_labels[pixels] = best_label


def _segments(labels: np.ndarray, flat: bool, min_pixels: int) -> list[Segment]:
    """Pixel lists of the labels (> 0) with at least `min_pixels` pixels."""
    height, width = labels.shape
    pixels = np.flatnonzero(labels > 0)  # faster on a bool image than on the labels themselves
    ids = labels.reshape(-1)[pixels]
    counts = np.bincount(ids)
    segments = []
    for label in np.flatnonzero(counts >= min_pixels):
        if label == 0:
            continue
        rows, cols = np.divmod(pixels[ids == label], width)
        u0, u1, v0, v1 = int(cols.min()), int(cols.max()), int(rows.min()), int(rows.max())
        border = u0 == 0 or v0 == 0 or u1 == width - 1 or v1 == height - 1
        segments.append(Segment(rows=rows, cols=cols, flat=flat, bbox=(u0, v0, u1, v1), touches_border=border))
    return segments


def segment(rgb: np.ndarray, depth: np.ndarray, heights: np.ndarray, valid: np.ndarray,
            surface_differs: np.ndarray | None, exclude: np.ndarray | None = None,
            params: SegmentationParams = SegmentationParams()) -> list[Segment]:
    """Solid and flat segments of one frame.

    rgb: HxWx3 uint8; depth: float32 metres, 0 where `valid` is False;
    heights: float32 metres above the support plane per pixel;
    surface_differs: pixels whose colour is not the support's, or None to find no flat segments;
    exclude: pixels that are known not to be objects (the robot, as the caller knows it), or None.
    """
    keep = valid if exclude is None else valid & ~exclude
    solid = keep & (heights > params.min_height)
    classes = np.zeros(depth.shape, np.int8)
    above = np.flatnonzero(solid)
    classes.reshape(-1)[above] = pixel_color_classes(rgb.reshape(-1, 3)[above])
    edges = depth_edges(depth, params.edge_abs, params.edge_rel)
    edges |= color_edges(classes)
    core = (solid & ~edges).view(np.uint8)
    _, labels = cv2.connectedComponents(core, connectivity=4, ltype=cv2.CV_32S)
    _reattach(labels, np.flatnonzero(solid & edges), depth, classes, params)
    segments = _segments(labels, False, params.min_pixels)
    if surface_differs is None:
        return segments
    # Specks above min_height too small to be a solid (depth noise on a pad) stay candidates for flat
    # things, and only real solids push them away.
    solids = np.zeros(depth.shape, np.uint8)
    for seg in segments:
        solids[seg.rows, seg.cols] = 1
    low = (heights <= params.min_height) | ((heights <= 2.0 * params.min_height) & ~solids.view(bool))
    flat = keep & surface_differs & low & (heights > -params.flat_tolerance)
    if flat.any():
        size = 2 * params.flat_margin + 1
        near_solid = cv2.dilate(solids, np.ones((size, size), np.uint8)).view(bool)
        _, labels = cv2.connectedComponents((flat & ~near_solid).view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        segments += _segments(labels, True, params.min_pixels)
    return segments
