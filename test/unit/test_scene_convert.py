"""Perception results survive the trip through the Scene message unchanged."""

import numpy as np
import pytest
from std_msgs.msg import Header

from skill_stack.nodes.scene_convert import msg_to_scene, scene_to_msg
from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene


def test_scene_round_trip():
    cube = PerceivedObject(
        id='obj_0', label='box', color='red', position=np.array([0.5, 0.1, 0.02]),
        quaternion=np.array([0.96, 0.0, 0.0, 0.28]), extent=np.array([0.04, 0.04, 0.04]), confidence=0.9,
        keypoints=[Keypoint('grasp', np.array([0.5, 0.1, 0.04]), np.array([0.0, 0.0, -1.0]), 0.04, 0.8, (320, 240)),
                   Keypoint('center', np.array([0.5, 0.1, 0.02]))],
        affordances={'graspable': 0.9, 'pushable': 0.7})
    scene = PerceivedScene(objects=[cube], status='ok', support_height=0.0)
    back = msg_to_scene(scene_to_msg(scene, Header(frame_id='world')))
    [obj] = back.objects
    assert (obj.id, obj.label, obj.color) == ('obj_0', 'box', 'red')
    assert obj.position == pytest.approx(cube.position)
    assert obj.quaternion == pytest.approx(cube.quaternion)
    assert obj.keypoint('grasp').pixel == (320, 240)
    assert obj.keypoint('grasp').width == pytest.approx(0.04)
    assert obj.keypoint('center').pixel is None
    assert obj.affordances == pytest.approx(cube.affordances)
    assert back.support_height == 0.0


def test_empty_scene_keeps_its_status():
    scene = PerceivedScene(objects=[], status='depth image is all zeros', support_height=None)
    back = msg_to_scene(scene_to_msg(scene, Header()))
    assert back.objects == []
    assert back.status == 'depth image is all zeros'
    assert back.support_height is None
