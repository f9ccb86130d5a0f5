"""A driver fault seen by the skill server and the scheduler: the arm stack on the real-robot graph
(``arm_stack driver:=real``) with the in-memory arm and camera (test/fixtures/memory_backends.py)."""

import json
import signal
import subprocess
import time

import pytest
import rclpy
from rclpy.action import ActionClient
from std_srvs.srv import Trigger
from test_driver_link import driver_env, memory_robot

from skill_stack.action import ExecuteSkill, ExecuteTask

from repo_paths import CLI
from ros_helpers import call, spin_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINK_LOST = 'arm driver: link lost: memory arm: cable unplugged'


def run_goal(node, client, goal, timeout=90, starting=False):
    """The goal's result; ``starting``: a goal refused (the server still busy) reads as 'not accepted yet'."""
    sent = client.send_goal_async(goal)
    assert spin_until(node, sent.done, 30), 'the goal was not answered'
    handle = sent.result()
    if starting and not handle.accepted:
        return ExecuteSkill.Result(success=False, message='not accepted yet')
    assert handle.accepted
    done = handle.get_result_async()
    assert spin_until(node, done.done, timeout), 'no result'
    return done.result().result


def reach(point):
    return ExecuteSkill.Goal(skill='reach', args_json=json.dumps({'point': point}))


def test_a_lost_link_fails_the_skill_and_the_task_with_the_reason(ros_env, tmp_path):
    link = tmp_path / 'link'
    camera = tmp_path / 'camera.yaml'
    camera.write_text(json.dumps({'backend': {'type': 'fixtures.memory_backends'}}))
    proc = subprocess.Popen([str(CLI), 'launch', 'arm_stack', 'driver:=real',
                             f"robot_config:={memory_robot(tmp_path, 'arm.yaml', link)}", f'camera_config:={camera}'],
                            env=driver_env(ros_env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('fault_test')
    try:
        skills = ActionClient(node, ExecuteSkill, '/arm/execute_skill')
        tasks = ActionClient(node, ExecuteTask, '/arm/execute_task')
        assert skills.wait_for_server(timeout_sec=120), 'no execute_skill server'
        deadline = time.monotonic() + 120
        while 'yet' in (answer := run_goal(node, skills, reach([3.0, 0.0, 0.3]), starting=True)).message:
            assert time.monotonic() < deadline, f'the skill server never got robot state and a scene: {answer}'
            spin_until(node, lambda: False, 0.5)

        sent = skills.send_goal_async(reach([0.45, 0.25, 0.15]))
        assert spin_until(node, sent.done, 30)
        link.write_text('lost cable unplugged')  # while the arm moves toward the point
        done = sent.result().get_result_async()
        assert spin_until(node, done.done, 60)
        assert done.result().result.message == f'reach: stopped: {LINK_LOST}'

        assert run_goal(node, skills, reach([0.4, 0.0, 0.3])).message == f'rejected: {LINK_LOST}'
        assert tasks.wait_for_server(timeout_sec=60)
        deadline = time.monotonic() + 30  # a scheduler just started may not have heard driver_status yet
        while (task := run_goal(node, tasks, ExecuteTask.Goal(instruction='reach up'))).message != \
                f'cannot start: {LINK_LOST}':
            assert not task.success
            assert time.monotonic() < deadline, f'the scheduler never refused the task for the fault: {task.message}'

        link.unlink()
        assert call(node, Trigger, '/arm/reconnect', Trigger.Request()).success
        deadline = time.monotonic() + 30
        while 'driver' in (answer := run_goal(node, skills, reach([0.4, 0.0, 0.3]))).message:
            assert time.monotonic() < deadline, f'skills still refused after the reconnect: {answer.message}'
            spin_until(node, lambda: False, 0.5)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
