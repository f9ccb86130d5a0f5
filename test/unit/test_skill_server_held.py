"""The skill server's held-object bookkeeping: an object still seen where it was taken from, with the robot
gone, was not taken (a grip can close on nothing that comes along)."""

import numpy as np

from skill_stack.nodes.skill_server import left_behind
from skill_stack.perception.types import PerceivedObject, PerceivedScene


def _cube(obj_id, x, y, z):
    return PerceivedObject(id=obj_id, label='box', color='red', position=np.array([x, y, z]),
                           quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.full(3, 0.04), confidence=0.9,
                           keypoints=[], affordances={'graspable': 0.9})


def test_an_object_left_on_the_table_is_not_held():
    taken = _cube('obj_1', 0.0, 0.0, 0.02)
    scene = PerceivedScene(objects=[_cube('obj_1', 0.002, 0.0, 0.02)], status='ok')
    assert left_behind(taken, np.array([0.0, 0.0, 0.12]), scene)


def test_a_lifted_object_or_one_out_of_view_is_still_held():
    taken = _cube('obj_1', 0.0, 0.0, 0.02)
    carried = np.array([0.0, 0.0, 0.12])
    assert not left_behind(taken, carried, PerceivedScene(objects=[], status='ok'))  # hidden by the fingers
    assert not left_behind(taken, carried, PerceivedScene(objects=[_cube('obj_1', 0.0, 0.0, 0.11)], status='ok'))
    assert not left_behind(taken, carried, PerceivedScene(objects=[_cube('obj_2', 0.0, 0.0, 0.02)], status='ok'))
    # The robot has barely moved yet: too early to tell.
    assert not left_behind(taken, np.array([0.0, 0.0, 0.03]),
                           PerceivedScene(objects=[_cube('obj_1', 0.0, 0.0, 0.02)], status='ok'))
