"""Free space from depth, the outline actually seen, and joining the pieces of one object."""

import numpy as np
import pytest

from skill_stack.perception.geometry import pixels_to_world
from skill_stack.perception.grouping import Piece, join_pieces, rests
from skill_stack.perception.types import CameraModel
from skill_stack.perception.visibility import (
    HIDDEN,
    ON_SURFACE,
    SEEN_THROUGH,
    UNKNOWN,
    Frame,
    free_space,
    seen_outline,
)

# A camera 1 m above the table looking straight down: 2 mm per pixel on the table.
POSE = np.array([[0.0, -1.0, 0.0, 0.5], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
CAMERA = CameraModel(fx=500.0, fy=500.0, cx=99.5, cy=99.5, width=200, height=200, world_from_camera=POSE)


def table_frame() -> Frame:
    depth = np.ones((200, 200), np.float32)
    return Frame(depth=depth, valid=np.ones(depth.shape, bool), heights=np.zeros(depth.shape, np.float32),
                 camera=CAMERA, min_height=0.008)


def raise_block(frame: Frame, rows: slice, cols: slice, top: float) -> None:
    """Something `top` high over those pixels (seen from straight above, only its top shows)."""
    frame.depth[rows, cols] = 1.0 - top
    frame.heights[rows, cols] = top


def piece(frame: Frame, rows: slice, cols: slice, color: str = 'red') -> Piece:
    r, c = np.mgrid[rows, cols]
    r, c = r.ravel(), c.ravel()
    heights = frame.heights[r, c].copy()
    heights[0] = 0.0  # it stands on the table: its foot is seen
    return Piece(segments=[], points=pixels_to_world(CAMERA, r, c, frame.depth[r, c]), heights=heights,
                 pixel_index=r * 200 + c, color=color, flat=False)


def test_free_space_states():
    frame = table_frame()
    raise_block(frame, slice(0, 50), slice(0, 50), 0.5)  # something hanging half way up in one corner
    under = pixels_to_world(CAMERA, np.array([25]), np.array([25]), np.array([0.8]))[0]
    points = np.array([
        [0.5, 0.0, 0.2],  # above the bare table: the camera sees past it
        [0.5, 0.0, 0.0],  # on the table
        under,  # 0.2 m up, under the hanging thing: hidden
        [5.0, 0.0, 0.0],  # outside the image
    ])
    states, _ = free_space(frame, points)
    assert states.tolist() == [SEEN_THROUGH, ON_SURFACE, HIDDEN, UNKNOWN]


def test_the_outline_next_to_a_nearer_solid_is_cut_off():
    frame = table_frame()
    raise_block(frame, slice(80, 120), slice(80, 120), 0.03)
    block = piece(frame, slice(80, 120), slice(80, 120))
    outline, cut = seen_outline(frame, block.pixel_index, reach=2)
    assert cut == 0.0
    assert len(outline) == 4 * 39
    raise_block(frame, slice(80, 120), slice(120, 130), 0.3)  # something taller right next to one side
    outline, cut = seen_outline(frame, block.pixel_index, reach=2)
    assert cut == pytest.approx(0.25, abs=0.02)


@pytest.mark.parametrize(('between', 'joined'), [
    (None, False),  # the table shows between them: two objects
    ('finger', True),  # only something hanging above hides the gap: one object seen in two parts
    ('object', False),  # another object stands in front of the gap: it may hide two objects as well as one
])
def test_pieces_are_joined_only_across_what_is_not_an_object(between, joined):
    frame = table_frame()
    raise_block(frame, slice(100, 140), slice(100, 120), 0.03)
    raise_block(frame, slice(100, 140), slice(140, 160), 0.03)
    pieces = [piece(frame, slice(100, 140), slice(100, 120)), piece(frame, slice(100, 140), slice(140, 160))]
    if between == 'finger':
        raise_block(frame, slice(90, 150), slice(120, 140), 0.4)
        finger = piece(frame, slice(90, 150), slice(120, 140), color='black')
        finger.heights[:] = 0.4  # no foot: it hangs
        assert not rests(finger.heights, 0.02)
        pieces.append(finger)
    elif between == 'object':
        raise_block(frame, slice(90, 150), slice(120, 140), 0.2)
        can = piece(frame, slice(90, 150), slice(120, 140), color='black')
        can.heights[:] = np.linspace(0.0, 0.2, len(can.heights))  # its side, seen down to the table
        assert rests(can.heights, 0.02)
        pieces.append(can)
    result = join_pieces(pieces, frame, merge_distance=0.006, bridge_distance=0.08, rest_tolerance=0.02)
    reds = [p for p in result if p.color == 'red']
    assert len(reds) == (1 if joined else 2)


def test_touching_pieces_of_a_colour_are_one_and_of_two_colours_two():
    frame = table_frame()
    raise_block(frame, slice(100, 140), slice(100, 140), 0.03)
    left, right = piece(frame, slice(100, 140), slice(100, 120)), piece(frame, slice(100, 140), slice(120, 140))
    assert len(join_pieces([left, right], frame, 0.006, 0.08, 0.02)) == 1
    right.color = 'blue'
    assert len(join_pieces([left, right], frame, 0.006, 0.08, 0.02)) == 2
    left.color, right.color = 'white', 'black'  # no hue: a white thing's shaded side reads black
    assert len(join_pieces([left, right], frame, 0.006, 0.08, 0.02)) == 1


def test_a_flat_piece_inside_a_solids_outline_is_its_floor():
    frame = table_frame()
    raise_block(frame, slice(80, 120), slice(80, 120), 0.05)  # a bowl's rim ...
    frame.depth[86:114, 86:114], frame.heights[86:114, 86:114] = 1.0, 0.0  # ... around a hole ...
    frame.depth[90:110, 90:110], frame.heights[90:110, 90:110] = 0.996, 0.004  # ... with a floor in it
    rim = piece(frame, slice(80, 120), slice(80, 120))
    ring = rim.heights > 0.0
    ring[0] = True
    rim = Piece([], rim.points[ring], rim.heights[ring], rim.pixel_index[ring], 'red', False)
    floor = piece(frame, slice(90, 110), slice(90, 110))
    floor.flat = True
    (bowl,) = join_pieces([rim, floor], frame, 0.006, 0.08, 0.02)
    assert len(bowl.points) == len(rim.points) + len(floor.points)
    assert not bowl.flat
    floor.color = 'green'
    assert len(join_pieces([rim, floor], frame, 0.006, 0.08, 0.02)) == 2  # a green mat in a red ring
