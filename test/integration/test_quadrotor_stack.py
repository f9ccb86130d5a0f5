"""The quadrotor stack end to end over ROS: language goal -> survey, plan -> skills -> simulated quadrotor.

One stack (launch/quadrotor_stack.launch.yaml) serves the module and the tests run in order on it:
the first goal finds the field unseen and surveys it (scheduler/field.py) before landing; the later
ones plan from what was seen. Outcomes are judged on the simulator's ground truth
(sim/get_world_state), which the stack itself never reads.
"""

import json
import math
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient

from skill_stack.action import ExecuteTask
from skill_stack.srv import GetWorldState

from repo_paths import CLI
from ros_helpers import spin_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GREEN_PAD = np.array([3.0, -1.5])  # config/scenes/quadrotor_pads.yaml
_CLIENTS = {}
TASK_TIMEOUT_S = 600.0  # the survey flies ~45 m at up to 1 m/s; a loaded machine runs the sim slower


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('quadrotor_stack')
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(201, 230)),  # noqa: S311 - isolation only
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', ROS_LOG_DIR=str(log_dir / 'ros_log'))
    saved = {k: os.environ.get(k) for k in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE')}
    os.environ.update({k: env[k] for k in saved})
    output = (log_dir / 'stack.log').open('w')
    proc = subprocess.Popen([str(CLI), 'launch', 'quadrotor_stack'], env=env, cwd=log_dir,
                            stdout=output, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('quadrotor_task_test')
    client = ActionClient(node, ExecuteTask, '/quadrotor/execute_task')
    try:
        assert client.wait_for_server(timeout_sec=120), 'no execute_task server'
        assert spin_until(node, lambda: _vehicle(node) is not None, 60), 'no world state'
        spin_until(node, lambda: False, 5.0)  # perception, the skill server and the scheduler have state
        yield {'node': node, 'client': client, 'log_dir': log_dir}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        output.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        assert proc.returncode == 0, (log_dir / 'stack.log').read_text()[-5000:]


def _vehicle(node):
    """The quadrotor's true position (judging only)."""
    client = _CLIENTS.get(node) or _CLIENTS.setdefault(
        node, node.create_client(GetWorldState, '/quadrotor/sim/get_world_state'))
    assert client.wait_for_service(timeout_sec=30), 'no sim/get_world_state'
    future = client.call_async(GetWorldState.Request())
    assert spin_until(node, future.done, 30), 'sim/get_world_state did not answer'
    answer = future.result()
    return np.array(json.loads(answer.world_json)['robots']['quadrotor']['position'])


def _send(stack, instruction):
    node, client = stack['node'], stack['client']
    feedback = []
    future = client.send_goal_async(ExecuteTask.Goal(instruction=instruction),
                                    feedback_callback=lambda f: feedback.append(f.feedback.text))
    assert spin_until(node, future.done, 30), 'no goal response'
    handle = future.result()
    assert handle.accepted
    return handle, handle.get_result_async(), feedback


def _log(stack):
    return (stack['log_dir'] / 'stack.log').read_text()[-4000:]


def test_land_on_the_green_pad_surveys_then_lands_on_it(stack, record_property):
    node = stack['node']
    start = time.monotonic()
    _, result, feedback = _send(stack, 'land on the green pad')
    assert spin_until(node, result.done, TASK_TIMEOUT_S), f'no result; feedback {feedback[-3:]}\n{_log(stack)}'
    outcome = result.result()
    assert outcome.result.success, f'{outcome.result.message}\n{_log(stack)}'
    position = _vehicle(node)
    error = float(np.linalg.norm(position[:2] - GREEN_PAD))
    record_property('landing_error_m', round(error, 3))
    record_property('goal_to_landed_s', round(time.monotonic() - start, 1))
    assert any('surveying the field' in text for text in feedback), feedback
    assert error < 0.15, f'landed at {position.round(3).tolist()}, {error:.3f} m from the green pad'
    assert position[2] < 0.1, position


def test_a_cancel_mid_flight_leaves_it_hovering(stack, record_property):
    node = stack['node']
    odometry = []  # times the cancel (ground truth is slower to ask for); judging uses ground truth
    node.create_subscription(Odometry, '/quadrotor/odom', lambda m: odometry.append(m.pose.pose.position), 10)
    assert spin_until(node, lambda: odometry, 30), 'no odometry'
    start = odometry[-1]
    handle, result, _ = _send(stack, 'fly to the blue pad')  # 5.7 m from the green pad

    def flying_sideways():
        here = odometry[-1]
        return here.z > 0.6 and math.hypot(here.x - start.x, here.y - start.y) > 0.5

    assert spin_until(node, flying_sideways, 120), _log(stack)
    cancel = handle.cancel_goal_async()
    assert spin_until(node, cancel.done, 30)
    assert spin_until(node, result.done, 60), 'the cancelled goal did not end'
    assert result.result().status == GoalStatus.STATUS_CANCELED, result.result().result.message
    spin_until(node, lambda: False, 1.5)  # brake
    held = _vehicle(node)
    samples = []
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:  # past the driver's 3 s watchdog landing, were nothing streamed
        samples.append(_vehicle(node))
        spin_until(node, lambda: False, 0.25)
    drift = max(float(np.linalg.norm(s - held)) for s in samples)
    record_property('hold_drift_m', round(drift, 3))
    assert min(s[2] for s in samples) > held[2] - 0.15, (held, samples)
    assert drift < 0.3, f'drifted {drift:.2f} m from {held.round(2).tolist()} while holding'


def test_an_impossible_request_fails_with_a_reason_and_the_vehicle_stays(stack):
    node = stack['node']
    before = _vehicle(node)
    _, result, _ = _send(stack, 'land on the purple pad')
    assert spin_until(node, result.done, 60), 'no result'
    outcome = result.result().result
    assert not outcome.success
    assert 'purple' in outcome.message, outcome.message
    spin_until(node, lambda: False, 2.0)
    after = _vehicle(node)
    assert float(np.linalg.norm(after - before)) < 0.15, (before, after)
