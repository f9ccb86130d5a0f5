"""Perception on the running arm simulation: every object found within 2 cm, grounding answers."""

import json
import signal
import subprocess

import numpy as np
import pytest
import rclpy

from skill_stack.msg import Scene
from skill_stack.srv import GetWorldState, Ground

from repo_paths import CLI, REPO
from ros_helpers import call, spin_until

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(ros_env):
    procs = [subprocess.Popen([str(CLI), 'launch', name, *args], env=ros_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for name, args in (('sim_arm', []), ('perception', ['namespace:=arm']))]
    rclpy.init()
    node = rclpy.create_node('perception_test')
    yield node
    node.destroy_node()
    rclpy.try_shutdown()
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, output


def test_every_object_found_within_2cm_and_grounding(stack):
    scenes = []
    stack.create_subscription(Scene, '/arm/scene', scenes.append, 10)
    assert spin_until(stack, lambda: len(scenes) >= 3, 90), 'no scene published'
    scene = scenes[-1]
    assert scene.status == 'ok', scene.status

    truth = json.loads(call(stack, GetWorldState, '/arm/sim/get_world_state', GetWorldState.Request()).world_json)
    assert len(scene.objects) == len(truth['objects']), [(o.color, o.label) for o in scene.objects]
    found = {o.id: np.array([o.pose.position.x, o.pose.position.y, o.pose.position.z]) for o in scene.objects}
    for name, pose in truth['objects'].items():
        true_position = np.array(pose['position'])
        errors = {oid: float(np.linalg.norm(p[:2] - true_position[:2])) for oid, p in found.items()}
        best = min(errors, key=errors.get)
        assert errors[best] < 0.02, f'{name}: nearest perceived object {best} is {errors[best]:.3f} m away'

    answer = call(stack, Ground, '/arm/ground', Ground.Request(text='the cube left of the bowl'))
    assert answer.status == 'matched', answer.message
    cube = answer.objects[0].pose.position
    assert np.linalg.norm(np.array([cube.x, cube.y]) - np.array(truth['objects']['red_cube']['position'][:2])) < 0.02

    answer = call(stack, Ground, '/arm/ground', Ground.Request(text='the purple elephant'))
    assert answer.status == 'no_match'


@pytest.mark.parametrize(('params', 'message'), [
    (['models.detector:=yolo'], 'detector'),
    (['models.detector:=owlv2', 'models.detector_model:=/no/such/owlv2'], '/no/such/owlv2'),
    (['camera_quaternion:=[0.5, 0.5, 0.0, 0.0]'], "parameter 'camera_quaternion' must be a unit quaternion"),
    (['embodiment:=boat'], "parameter 'embodiment' must be arm, hand or quadrotor"),
])
def test_bad_parameters_stop_the_node_at_start_up_with_the_name(ros_env, params, message):
    exe = REPO / 'install' / 'skill_stack' / 'lib' / 'skill_stack' / 'perception'
    args = [a for p in params for a in ('-p', p)]
    result = subprocess.run([str(exe), '--ros-args', *args], env=ros_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr + result.stdout
