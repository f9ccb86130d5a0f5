"""Segmentation on synthetic frames: objects come apart at depth and colour edges, pads come from colour."""

import numpy as np
import pytest

from skill_stack.perception.colors import SurfaceColor
from skill_stack.perception.segmentation import SegmentationParams, depth_edges, segment

GREY = (140, 140, 145)
RED, GREEN, BLACK, PURPLE = (217, 25, 25), (25, 166, 51), (13, 13, 13), (140, 51, 191)


class Frame:
    """A 1 m away grey table seen square-on; `put` adds boxes of a height, depth offset and colour."""

    def __init__(self, height: int = 80, width: int = 100):
        self.depth = np.full((height, width), 1.0, np.float32)
        self.heights = np.zeros((height, width), np.float32)
        self.rgb = np.empty((height, width, 3), np.uint8)
        self.rgb[:] = GREY

    def put(self, rows: slice, cols: slice, height: float, color, nearer: float | None = None) -> None:
        self.heights[rows, cols] = height
        self.depth[rows, cols] = 1.0 - (height if nearer is None else nearer)
        self.rgb[rows, cols] = color

    def segments(self, exclude=None, params=None):
        params = params or SegmentationParams()
        valid = self.depth > 0
        surface = SurfaceColor.fit(self.rgb[self.heights == 0])
        differs = surface.differs(self.rgb, valid & (np.abs(self.heights) < params.min_height))
        return segment(self.rgb, self.depth, self.heights, valid, differs, exclude, params)


def boxes(segments):
    return sorted((s.bbox, s.flat) for s in segments)


def test_two_objects_apart_on_the_table_are_two_segments():
    frame = Frame()
    frame.put(slice(10, 30), slice(10, 30), 0.04, RED)
    frame.put(slice(10, 30), slice(50, 70), 0.04, GREEN)
    assert boxes(frame.segments()) == [((10, 10, 29, 29), False), ((50, 10, 69, 29), False)]


def test_an_object_in_front_of_a_like_coloured_one_is_cut_off_at_the_depth_step():
    frame = Frame()
    frame.put(slice(10, 40), slice(10, 40), 0.04, RED)  # behind
    frame.put(slice(30, 60), slice(20, 50), 0.06, RED, nearer=0.10)  # in front, overlapping it in the image
    segments = frame.segments()
    assert len(segments) == 2
    # the cut pixels went back to the side they are continuous with: nothing is lost
    assert sum(s.size for s in segments) == int((frame.heights > 0).sum())


def test_touching_objects_of_different_paint_are_cut_at_the_colour_change():
    frame = Frame()
    frame.put(slice(10, 40), slice(10, 30), 0.05, BLACK)
    frame.put(slice(10, 40), slice(30, 50), 0.05, PURPLE)  # same depth, touching: only colour tells
    assert boxes(frame.segments()) == [((10, 10, 29, 39), False), ((30, 10, 49, 39), False)]


def test_a_pad_is_found_by_colour_and_an_objects_foot_is_not():
    frame = Frame()
    frame.put(slice(50, 70), slice(10, 40), 0.005, GREEN)  # a pad, 5 mm: too thin for depth alone
    frame.put(slice(10, 30), slice(60, 80), 0.04, RED)
    frame.put(slice(30, 32), slice(60, 80), 0.004, RED)  # the cube's foot, below min_height
    segments = frame.segments()
    flat = [s for s in segments if s.flat]
    assert [s.bbox for s in flat] == [(10, 50, 39, 69)]
    assert len(segments) == 2


def test_the_callers_mask_and_small_specks_are_not_objects():
    frame = Frame()
    frame.put(slice(10, 30), slice(10, 30), 0.04, RED)
    frame.put(slice(50, 55), slice(50, 55), 0.04, RED)  # 25 px: a speck
    exclude = np.zeros(frame.depth.shape, bool)
    assert len(frame.segments()) == 1
    exclude[10:30, 10:30] = True
    assert frame.segments(exclude=exclude) == []


def test_segments_touching_the_image_edge_say_so():
    frame = Frame()
    frame.put(slice(0, 20), slice(40, 60), 0.04, RED)
    (seg,) = frame.segments()
    assert seg.touches_border


def test_depth_edges_mark_both_sides_of_a_step_but_not_a_slope():
    depth = np.tile(np.linspace(1.0, 1.05, 20, dtype=np.float32), (10, 1))  # a slope of 2.6 mm per pixel
    assert not depth_edges(depth, 0.012, 0.01).any()
    depth[:, 10:] -= 0.1
    edges = depth_edges(depth, 0.012, 0.01)
    assert edges[:, 9].all()
    assert edges[:, 10].all()
    assert edges.sum() == 20


@pytest.mark.parametrize('min_pixels', [10, 1000])
def test_min_pixels(min_pixels):
    frame = Frame()
    frame.put(slice(10, 30), slice(10, 30), 0.04, RED)
    assert len(frame.segments(params=SegmentationParams(min_pixels=min_pixels))) == (1 if min_pixels < 400 else 0)
