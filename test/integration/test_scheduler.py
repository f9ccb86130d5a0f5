"""ExecuteTask end to end on the simulated arm stack: language goal -> plan -> skills -> sim, with corrections.

One stack serves the module; each test puts the scene back with sim/reset. Success is judged on the
simulator's ground truth (sim/get_world_state), which the stack itself never reads.
"""

import json
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from action_msgs.srv import CancelGoal
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient

from skill_stack.action import ExecuteTask
from skill_stack.msg import Correction, Scene
from skill_stack.scheduler.correction_log import read_corrections
from skill_stack.srv import GetWorldState, ResetScene

from repo_paths import CLI, FIXTURES
from ros_helpers import call, spin_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENE = FIXTURES / 'scenes' / 'two_cubes_bowl.yaml'


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('corrections')
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(101, 200)),  # noqa: S311 - isolation only
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', ROS_LOG_DIR=str(log_dir / 'ros_log'))
    saved = {k: os.environ.get(k) for k in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE')}
    os.environ.update({k: env[k] for k in saved})
    output = (log_dir / 'stack.log').open('w')  # the stack's own log, kept for a failing test's report
    proc = subprocess.Popen([str(CLI), 'launch', 'arm_stack', f'scene:={SCENE}'], env=env, cwd=log_dir,
                            stdout=output, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('task_test')
    client = ActionClient(node, ExecuteTask, '/arm/execute_task')
    poses, scenes = [], []
    node.create_subscription(PoseStamped, '/arm/ee_pose', lambda m: poses.append((time.monotonic(), m)), 10)
    node.create_subscription(Scene, '/arm/scene', scenes.append, 5)
    corrections = node.create_publisher(Correction, '/arm/corrections', 10)
    try:
        assert client.wait_for_server(timeout_sec=120), 'no execute_task server'
        assert spin_until(node, lambda: poses and scenes, 90), 'no ee pose or scene'
        yield {'node': node, 'client': client, 'poses': poses, 'scenes': scenes, 'corrections': corrections,
               'log_dir': log_dir}
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


@pytest.fixture
def ros(stack):
    """The stack with the scene as the file says and a fresh perceived scene."""
    node = stack['node']
    answer = call(node, ResetScene, '/arm/sim/reset', ResetScene.Request(), timeout=60)
    assert answer.success, answer.message
    stack['scenes'].clear()
    assert spin_until(node, lambda: len(stack['scenes']) >= 3, 30), 'no scene after the reset'
    spin_until(node, lambda: False, 1.0)  # the scheduler and the skill server have had these scenes too
    return stack


def world(node):
    return json.loads(call(node, GetWorldState, '/arm/sim/get_world_state', GetWorldState.Request()).world_json)


def in_bowl(state, name, bowl='green_bowl'):
    obj, target = np.array(state['objects'][name]['position']), np.array(state['objects'][bowl]['position'])
    return float(np.hypot(*(obj[:2] - target[:2]))) < 0.06 and obj[2] < 0.08


def ee(ros):
    p = ros['poses'][-1][1].pose.position
    return np.array([p.x, p.y, p.z])


def send(ros, instruction, feedback=None):
    node = ros['node']
    future = ros['client'].send_goal_async(ExecuteTask.Goal(instruction=instruction), feedback_callback=feedback)
    assert spin_until(node, future.done, 30)
    handle = future.result()
    assert handle.accepted
    return handle


def wait_executing(ros, handle, feedback):
    """Until the task runs a skill; a task that ends first fails the test with its own reason."""
    done = handle.get_result_async()
    assert spin_until(ros['node'], lambda: done.done() or any(f.state == 'executing' for f in feedback), 60)
    if done.done():
        pytest.fail(f'the task ended before executing: {done.result().result.message}')


def result(ros, handle, timeout=180):
    future = handle.get_result_async()
    assert spin_until(ros['node'], future.done, timeout), 'no task result'
    return future.result()


def correct(ros, text):
    msg = Correction(text=text, source='test')
    msg.header.stamp = ros['node'].get_clock().now().to_msg()
    ros['corrections'].publish(msg)


def test_two_step_instruction_puts_the_red_cube_in_the_bowl(ros):
    states = []
    outcome = result(ros, send(ros, 'pick up the red cube and then put it in the green bowl',
                               lambda m: states.append((m.feedback.state, len(m.feedback.plan)))))
    assert outcome.result.success, outcome.result.message
    assert [s.skill for s in outcome.result.steps] == ['pick', 'place']
    assert all(s.status == 'succeeded' for s in outcome.result.steps)
    assert {'planning', 'executing'} <= {s for s, _ in states}
    truth = world(ros['node'])
    assert in_bowl(truth, 'red_cube')
    assert not in_bowl(truth, 'blue_cube')


def test_a_failed_step_is_replanned_and_the_task_still_succeeds(ros):
    node = ros['node']
    feedback = []
    handle = send(ros, 'put the red cube in the bowl', lambda m: feedback.append(m.feedback))
    wait_executing(ros, handle, feedback)
    spin_until(node, lambda: False, 1.0)
    # The skill is interrupted from outside (a cancel of every ExecuteSkill goal): the attempt fails.
    call(node, CancelGoal, '/arm/execute_skill/_action/cancel_goal', CancelGoal.Request())
    outcome = result(ros, handle)
    assert outcome.result.success, outcome.result.message
    assert any(s.status == 'failed' for s in outcome.result.steps), [s.status for s in outcome.result.steps]
    assert any(f.state == 'replanning' for f in feedback)
    assert in_bowl(world(node), 'red_cube')


def test_no_the_blue_one_puts_the_blue_cube_in_the_bowl(ros):
    node = ros['node']
    feedback = []
    handle = send(ros, 'put the red cube in the bowl', lambda m: feedback.append(m.feedback))
    wait_executing(ros, handle, feedback)
    spin_until(node, lambda: False, 0.8)
    correct(ros, 'no, the blue one')
    outcome = result(ros, handle)
    assert outcome.result.success, outcome.result.message
    truth = world(node)
    assert in_bowl(truth, 'blue_cube'), truth
    assert not in_bowl(truth, 'red_cube'), truth
    # The correction was logged (config/scheduler.yaml: corrections_log_dir, relative to the working directory).
    logged = [r for r in read_corrections(ros['log_dir'] / 'corrections') if r.text == 'no, the blue one']
    assert logged
    assert logged[0].outcome == 'amended'
    assert logged[0].load_image() is not None


def test_wait_holds_the_arm_until_continue(ros):
    node = ros['node']
    feedback = []
    handle = send(ros, 'pick up the red cube', lambda m: feedback.append(m.feedback))
    wait_executing(ros, handle, feedback)
    spin_until(node, lambda: False, 0.8)
    correct(ros, 'wait')
    spin_until(node, lambda: False, 0.5)
    held = ee(ros)
    spin_until(node, lambda: False, 2.0)
    assert np.linalg.norm(ee(ros) - held) < 0.003, 'the arm moved while paused'
    correct(ros, 'continue')
    outcome = result(ros, handle)
    assert outcome.result.success, outcome.result.message


def test_cancel_stops_the_arm(ros):
    node = ros['node']
    feedback = []
    handle = send(ros, 'put the red cube in the bowl', lambda m: feedback.append(m.feedback))
    wait_executing(ros, handle, feedback)
    spin_until(node, lambda: False, 0.8)
    cancel = handle.cancel_goal_async()
    assert spin_until(node, cancel.done, 10)
    outcome = result(ros, handle, 30)
    assert outcome.status == GoalStatus.STATUS_CANCELED
    assert not outcome.result.success
    spin_until(node, lambda: False, 0.3)
    stopped = ee(ros)
    spin_until(node, lambda: False, 1.5)
    assert np.linalg.norm(ee(ros) - stopped) < 0.003


@pytest.mark.parametrize(('instruction', 'reason'), [
    ('', 'empty'),
    ('   ', 'empty'),
    ('put the red cube in the bowl ' * 400, 'long'),
    ('mets le cube rouge dans le bol', ''),
    ('qwzx plorf vnnk', ''),
    ('pick up the purple elephant', 'elephant'),
    ('fly to the door', ''),
])
def test_bad_instructions_fail_clearly_and_nothing_moves(ros, instruction, reason):
    before = ee(ros)
    outcome = result(ros, send(ros, instruction), 60)
    assert not outcome.result.success
    assert outcome.result.message
    assert reason.lower() in outcome.result.message.lower()
    spin_until(ros['node'], lambda: False, 0.3)
    assert np.linalg.norm(ee(ros) - before) < 0.003
