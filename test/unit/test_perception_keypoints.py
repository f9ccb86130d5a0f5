"""Keypoints in the robot's terms (left = +y, front = -x) and affordance scores from shape and size."""

import math

import numpy as np
import pytest

from skill_stack.perception.affordances import affordances
from skill_stack.perception.geometry import Plane
from skill_stack.perception.keypoints import boundary_distance, object_keypoints
from skill_stack.perception.shapes import ShapeEstimate
from skill_stack.perception.types import AFFORDANCES, CameraModel

TABLE = Plane(normal=np.array([0.0, 0.0, 1.0]), offset=0.0)


def shape(label, center, extent, yaw=0.0):
    radius = min(extent[0], extent[1]) / 2.0
    return ShapeEstimate(label=label, center=np.array(center, float), yaw=yaw, extent=np.array(extent, float),
                         radius=radius, confidence=1.0)


def named(keypoints):
    return {k.name: k for k in keypoints}


def test_extremes_are_in_the_robots_directions():
    kp = named(object_keypoints(shape('box', [0.5, 0.1, 0.02], [0.06, 0.04, 0.04]), TABLE))
    assert kp['center'].position == pytest.approx([0.5, 0.1, 0.02])
    assert kp['top'].position == pytest.approx([0.5, 0.1, 0.04])
    assert kp['bottom'].position == pytest.approx([0.5, 0.1, 0.0])
    assert kp['left'].position == pytest.approx([0.5, 0.12, 0.02])  # +y
    assert kp['right'].position == pytest.approx([0.5, 0.08, 0.02])
    assert kp['front'].position == pytest.approx([0.47, 0.1, 0.02])  # towards the robot: -x
    assert kp['back'].position == pytest.approx([0.53, 0.1, 0.02])


def test_extremes_of_a_turned_box_lie_on_its_outline():
    box = shape('box', [0.0, 0.0, 0.02], [0.06, 0.02, 0.04], yaw=math.pi / 4)
    distance = boundary_distance(box, np.array([0.0, 1.0]))
    assert distance == pytest.approx(0.01 * math.sqrt(2))  # the short side is met first at 45 degrees
    assert boundary_distance(shape('cylinder', [0, 0, 0.02], [0.05, 0.05, 0.04]), np.array([1.0, 0.0])) == 0.025


def test_a_grasp_comes_from_above_and_opens_for_the_narrow_side():
    kp = named(object_keypoints(shape('box', [0.5, 0.0, 0.03], [0.07, 0.04, 0.06]), TABLE))
    grasp = kp['grasp']
    assert grasp.direction == pytest.approx([0.0, 0.0, -1.0])
    assert grasp.width == pytest.approx(0.04)
    assert grasp.position == pytest.approx([0.5, 0.0, 0.04])  # 2 cm below the 6 cm top
    side = kp['grasp_side']
    assert side.direction == pytest.approx([1.0, 0.0, 0.0])
    low = named(object_keypoints(shape('box', [0.5, 0.0, 0.01], [0.04, 0.04, 0.02]), TABLE))['grasp']
    assert low.position[2] == pytest.approx(0.01)  # a short object is taken at mid-height


def test_a_bowl_has_a_rim_and_an_opening_and_a_pad_no_grasp():
    bowl = named(object_keypoints(shape('bowl', [0.4, -0.2, 0.03], [0.16, 0.16, 0.06]), TABLE))
    assert bowl['opening'].position == pytest.approx([0.4, -0.2, 0.06])
    assert bowl['opening'].direction == pytest.approx([0.0, 0.0, -1.0])
    assert bowl['rim'].position == pytest.approx([0.32, -0.2, 0.06])  # the rim nearest the robot
    pad = named(object_keypoints(shape('pad', [0.3, 0.0, 0.0025], [0.12, 0.12, 0.005]), TABLE))
    assert 'grasp' not in pad
    assert 'rim' not in pad
    assert 'top' in pad


def test_keypoints_get_their_pixels_when_they_are_in_view():
    pose = np.eye(4)
    pose[:3, :3] = [[0, -1, 0], [-1, 0, 0], [0, 0, -1]]  # looking straight down, image x = -y world
    pose[:3, 3] = [0.5, 0.0, 1.0]
    camera = CameraModel(fx=500, fy=500, cx=319.5, cy=239.5, width=640, height=480, world_from_camera=pose)
    kp = named(object_keypoints(shape('box', [0.5, 0.0, 0.02], [0.04, 0.04, 0.04]), TABLE, camera))
    assert kp['center'].pixel == (320, 240)
    assert kp['left'].pixel[0] < kp['right'].pixel[0]  # +y is image left for this camera
    far = object_keypoints(shape('box', [5.0, 0.0, 0.02], [0.04, 0.04, 0.04]), TABLE, camera)
    assert all(k.pixel is None for k in far)


def test_affordances_follow_size_and_shape():
    cube = affordances('box', np.array([0.04, 0.04, 0.04]))
    assert set(cube) == set(AFFORDANCES)
    assert cube['graspable'] == 1.0
    assert cube['support'] == 1.0
    assert cube['rotatable'] == 1.0
    assert cube['container'] == 0.0
    assert cube['landable'] == 0.0
    wide = affordances('box', np.array([0.12, 0.10, 0.05]))
    assert wide['graspable'] == 0.0
    assert wide['rotatable'] == 0.0
    snug = affordances('box', np.array([0.08, 0.08, 0.05]))
    assert 0.0 < snug['graspable'] < 1.0
    bowl = affordances('bowl', np.array([0.16, 0.16, 0.06]))
    assert bowl['container'] == 1.0
    assert bowl['support'] == 0.0
    assert 0.0 < bowl['graspable'] < 1.0
    pad = affordances('pad', np.array([0.12, 0.12, 0.005]))
    assert pad['landable'] == 1.0
    assert pad['graspable'] == 0.0
    assert pad['pushable'] == 0.0
    ball = affordances('sphere', np.array([0.05, 0.05, 0.05]))
    assert ball['support'] == 0.0
    assert ball['pushable'] < cube['pushable']
    assert affordances('mug', np.array([0.08, 0.08, 0.1])) == dict.fromkeys(AFFORDANCES, 0.0)
    narrower_gripper = affordances('box', np.array([0.05, 0.05, 0.05]), gripper_width=0.05)
    assert narrower_gripper['graspable'] == 0.0
