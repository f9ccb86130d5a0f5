"""ExecuteSkill end to end on the simulated arm stack: perception -> learned policy -> driver."""

import json
import re
import signal
import subprocess
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient

from skill_stack.action import ExecuteSkill
from skill_stack.msg import Scene
from skill_stack.srv import ListSkills

from repo_paths import CLI
from ros_helpers import call, spin_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def arm_stack(ros_env):
    proc = subprocess.Popen([str(CLI), 'launch', 'arm_stack'], env=ros_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('skill_test')
    client = ActionClient(node, ExecuteSkill, '/arm/execute_skill')
    scenes, poses = [], []
    node.create_subscription(Scene, '/arm/scene', scenes.append, 5)
    node.create_subscription(PoseStamped, '/arm/ee_pose', poses.append, 10)
    assert client.wait_for_server(timeout_sec=90), 'no execute_skill server'
    assert spin_until(node, lambda: scenes and poses, 60), 'no scene or ee pose'
    # Ready when the server has state and a scene: an unreachable point is then refused for that reason.
    deadline = time.monotonic() + 60
    while 'yet' in result(node, send(node, client, 'reach', {'point': [3.0, 0.0, 0.3]})).result.message:
        assert time.monotonic() < deadline, 'the skill server never got robot state and a scene'
        spin_until(node, lambda: False, 0.5)
    yield node, client, poses
    node.destroy_node()
    rclpy.try_shutdown()
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output


def send(node, client, skill, args, feedback=None):
    goal = ExecuteSkill.Goal(skill=skill, args_json=json.dumps(args))
    future = client.send_goal_async(goal, feedback_callback=feedback)
    assert spin_until(node, future.done, 30)
    handle = future.result()
    assert handle.accepted
    return handle


def result(node, handle, timeout=60):
    future = handle.get_result_async()
    assert spin_until(node, future.done, timeout), 'no result'
    return future.result()


def test_pick_the_red_cube(arm_stack):
    node, client, _ = arm_stack
    phases = []
    handle = send(node, client, 'pick', {'object': 'the red cube'}, lambda m: phases.append(m.feedback.phase))
    outcome = result(node, handle)
    assert outcome.status == GoalStatus.STATUS_SUCCEEDED, outcome.result.message
    assert outcome.result.success
    assert {'approach', 'lift'} <= set(phases)


@pytest.mark.parametrize(('skill', 'args', 'message'), [
    ('fly', {}, "rejected: unknown skill 'fly'"),
    ('pick', {}, "rejected: pick: missing argument 'object'"),
    ('pick', {'object': 'the purple elephant'}, "rejected: pick: argument 'object': no match"),
    ('push', {'object': 'red cube', 'direction': 0.0, 'distance': 2.0}, 'above the maximum'),
])
def test_goals_that_do_not_fit_are_rejected_with_the_reason(arm_stack, skill, args, message):
    node, client, poses = arm_stack
    before = poses[-1].pose.position
    outcome = result(node, send(node, client, skill, args))
    assert outcome.status == GoalStatus.STATUS_ABORTED
    assert message in outcome.result.message
    after = poses[-1].pose.position
    assert abs(after.x - before.x) + abs(after.y - before.y) + abs(after.z - before.z) < 0.002  # nothing moved


def test_cancel_stops_the_arm_within_100_ms(arm_stack):
    node, client, poses = arm_stack
    handle = send(node, client, 'reach', {'point': [0.45, -0.25, 0.25]})
    spin_until(node, lambda: False, 0.6)  # let it move
    moving = np.array([poses[-1].pose.position.x, poses[-1].pose.position.y, poses[-1].pose.position.z])
    cancel = handle.cancel_goal_async()
    assert spin_until(node, cancel.done, 10)
    cancelled_at = time.monotonic()
    outcome = result(node, handle)
    assert outcome.status == GoalStatus.STATUS_CANCELED
    held_after_ms = int(re.search(r'robot held (\d+) ms after the cancel', outcome.result.message).group(1))
    assert held_after_ms < 100, outcome.result.message
    # The hold was commanded within 100 ms; from then on the arm is at rest where it was.
    spin_until(node, lambda: time.monotonic() - cancelled_at > 0.3, 2.0)
    start = np.array([poses[-1].pose.position.x, poses[-1].pose.position.y, poses[-1].pose.position.z])
    spin_until(node, lambda: time.monotonic() - cancelled_at > 1.3, 3.0)
    end = np.array([poses[-1].pose.position.x, poses[-1].pose.position.y, poses[-1].pose.position.z])
    assert np.linalg.norm(end - start) < 0.003
    assert np.linalg.norm(end - moving) < 0.15  # held near where it was cancelled, not at the target


def test_list_skills(arm_stack):
    node, _, _ = arm_stack
    skills = {s['name']: s for s in json.loads(call(node, ListSkills, '/arm/list_skills',
                                                         ListSkills.Request()).skills_json)}
    assert set(skills) == {'reach', 'pick', 'place', 'push'}
    assert [a['name'] for a in skills['place']['args']] == ['object', 'target', 'point', 'offset']
