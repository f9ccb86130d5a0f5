"""The teleop node without a robot: gamepad events and keys reach the core; parameters are validated."""

import time

import numpy as np
import pytest
import rclpy
from rclpy.parameter import Parameter

from skill_stack.nodes.teleop import TeleopNode
from skill_stack.teleop.core import Pose
from skill_stack.teleop.joystick import JS_EVENT_AXIS, JS_EVENT_BUTTON, JsEvent


@pytest.fixture
def context(ros_env):
    rclpy.init()
    yield
    rclpy.try_shutdown()


def test_gamepad_events_drive_the_target_and_buttons_close_the_gripper(context):
    node = TeleopNode(namespace='/arm', embodiment='arm')
    try:
        node.teleop.observe(Pose((0.4, 0.0, 0.3), (0.0, 1.0, 0.0, 0.0), 0.085))
        node.gamepad_events([JsEvent(0, -32767, JS_EVENT_AXIS, 4), JsEvent(0, 1, JS_EVENT_BUTTON, 0)])  # up, A
        for _ in range(5):
            time.sleep(0.05)
            node._tick()
        target = node.teleop.target
        assert target.position[2] > 0.3
        np.testing.assert_allclose(target.position[:2], [0.4, 0.0])
        assert target.grip == 0.0
        node.gamepad_events([JsEvent(0, 0, JS_EVENT_AXIS, 4)])  # centred
        time.sleep(0.2)
        node._tick()
        assert node.teleop.target is None
        assert node.messages[-1].startswith('teleop: end-effector moved by')
        node.correct('a bit higher')
        assert node.messages[-1] == 'correction sent: "a bit higher"'
        assert node.key('x').kind == 'unknown'
    finally:
        node.destroy_node()


def test_keys_without_robot_state_say_so(context):
    node = TeleopNode(namespace='/hand', embodiment='hand')
    try:
        assert node.key('w').kind == 'move'
        assert node.messages[-1].startswith('no robot state yet')
    finally:
        node.destroy_node()


@pytest.mark.parametrize(('name', 'value', 'match'), [
    ('embodiment', 'boat', "'embodiment' must be one of"), ('rate_hz', 0.0, "'rate_hz'"),
    ('key_hold_s', float('nan'), "'key_hold_s'"), ('takeoff_height', -1.0, "'takeoff_height'")])
def test_bad_parameters_are_refused_by_name(context, name, value, match):
    with pytest.raises(ValueError, match=match):
        TeleopNode(parameter_overrides=[Parameter(name, value=value)])
