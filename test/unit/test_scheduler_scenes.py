"""Scenes the scheduler tests plan in: an arm's table, a hand's bench, a quadrotor's field.

Objects carry the affordances and keypoints perception gives them, and sit where
each robot can work (checked below with the skills' own feasibility), so the
tests exercise the real skill library.
"""

from __future__ import annotations

import numpy as np
import pytest

from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene
from skill_stack.skills import library

AFFORDANCES = {
    'box': {'graspable': 0.9, 'pushable': 0.9, 'support': 0.6, 'rotatable': 0.8},
    'sphere': {'graspable': 0.8, 'pushable': 0.7, 'rotatable': 0.9},
    'cylinder': {'graspable': 0.85, 'pushable': 0.6, 'support': 0.5, 'rotatable': 0.8},
    'bowl': {'container': 0.95, 'graspable': 0.2, 'pushable': 0.3},
    'pad': {'landable': 0.95, 'support': 0.7},
}
EXTENTS = {'box': (0.04, 0.04, 0.04), 'sphere': (0.04, 0.04, 0.04), 'cylinder': (0.04, 0.04, 0.06),
           'bowl': (0.12, 0.12, 0.05), 'pad': (0.2, 0.2, 0.005)}


def obj(oid: str, label: str, color: str, x: float, y: float, size: float = 1.0) -> PerceivedObject:
    extent = np.array(EXTENTS[label]) * size
    centre = np.array([x, y, extent[2] / 2])
    top = centre + np.array([0.0, 0.0, extent[2] / 2])
    keypoints = [Keypoint('center', centre.copy()), Keypoint('top', top),
                 Keypoint('grasp', centre.copy(), width=float(extent[0]))]
    if label == 'bowl':
        keypoints.append(Keypoint('opening', top.copy()))
    return PerceivedObject(id=oid, label=label, color=color, position=centre, quaternion=np.array([1.0, 0, 0, 0]),
                           extent=extent, confidence=0.95, keypoints=keypoints, affordances=dict(AFFORDANCES[label]))


def scene(*objects: PerceivedObject) -> PerceivedScene:
    return PerceivedScene(objects=list(objects))


def table() -> PerceivedScene:
    """An arm's table: red and blue cubes, a green ball, a blue and a yellow bowl, all within reach."""
    return scene(obj('obj_0', 'box', 'red', 0.40, 0.15), obj('obj_1', 'box', 'blue', 0.45, -0.15),
                 obj('obj_2', 'sphere', 'green', 0.37, 0.02), obj('obj_3', 'bowl', 'blue', 0.50, 0.05),
                 obj('obj_4', 'bowl', 'yellow', 0.30, -0.25))


def bench() -> PerceivedScene:
    """A hand's bench, under the palm: red and blue cubes and a green ball."""
    return scene(obj('obj_0', 'box', 'red', 0.05, 0.08), obj('obj_1', 'box', 'blue', 0.08, -0.06),
                 obj('obj_2', 'sphere', 'green', -0.04, 0.0))


def field() -> PerceivedScene:
    """A quadrotor's field: red and green landing pads."""
    return scene(obj('pad_0', 'pad', 'red', 1.5, 0.5, size=3), obj('pad_1', 'pad', 'green', -1.0, 1.0, size=3))


def airfield() -> PerceivedScene:
    """A quadrotor's field of four pads, red, green, blue and yellow, none at the take-off point (the origin)."""
    return scene(*field().objects, obj('pad_2', 'pad', 'blue', 0.5, -1.5, size=3),
                 obj('pad_3', 'pad', 'yellow', -1.5, -1.0, size=3))


SCENES = {'arm': table, 'hand': bench, 'quadrotor': field}


def skills():
    return library.skills()


@pytest.mark.parametrize(('skill', 'arg', 'embodiment'), [
    ('pick', 'object', 'arm'), ('grasp', 'object', 'hand'), ('land', 'target', 'quadrotor')])
def test_every_object_is_workable_where_it_stands(skill, arg, embodiment):
    """Test scenes must not fail plans for geometry: each graspable or landable object is feasible."""
    tool = library.make_skill(skill)
    wanted = 'landable' if embodiment == 'quadrotor' else 'graspable'
    for o in SCENES[embodiment]().objects:
        if o.affordances.get(wanted, 0.0) >= 0.5:
            score, why = tool.feasibility({arg: o.id}, SCENES[embodiment]())
            assert score > 0.5, why
