"""Measure a running skill server through ROS: control rate under load, and how fast a cancel stops the arm.

Used by ``skill-stack bench --only skill_server`` against the arm stack (sim with
its camera, perception and the skill server all running, as in use). It sends
reach goals back and forth like any action client and listens to what the
server commands (``ee_pose_command``) and what the arm does (``ee_pose``):

- control rate: commands per second while a goal runs (the skill's rate is 20 Hz),
  and the share of command periods within 10% of the skill's period;
- cancel: from the cancel request to the arm at rest (end-effector slower than
  1 cm/s), and the server's own figure from its result message.
"""

import json
import re
import statistics
import threading
import time
from typing import Dict, List, Tuple

import numpy as np
import rclpy
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from skill_stack.action import ExecuteSkill
from skill_stack.msg import Scene

REST_SPEED = 0.01  # m/s under which the arm counts as stopped
POINTS = ([0.42, -0.22, 0.22], [0.42, 0.22, 0.22])  # reach targets, 0.44 m apart


class SkillProbe(Node):
    def __init__(self, namespace: str = 'arm'):
        super().__init__('skill_probe', namespace=namespace)
        self.lock = threading.Lock()
        self.commands: List[float] = []
        self.poses: List[Tuple[float, np.ndarray]] = []
        self.images: List[float] = []
        self.scenes: List[float] = []
        self.client = ActionClient(self, ExecuteSkill, 'execute_skill')
        self.create_subscription(PoseStamped, 'ee_pose_command', lambda m: self._stamp(self.commands), 50)
        self.create_subscription(PoseStamped, 'ee_pose', self.on_pose, 50)
        self.create_subscription(Image, 'camera/color/image_raw', lambda m: self._stamp(self.images), 2)
        self.create_subscription(Scene, 'scene', lambda m: self._stamp(self.scenes), 5)

    def _stamp(self, into: List[float]) -> None:
        with self.lock:
            into.append(time.monotonic())

    def on_pose(self, msg: PoseStamped) -> None:
        p = msg.pose.position
        with self.lock:
            self.poses.append((time.monotonic(), np.array([p.x, p.y, p.z])))

    def clear(self) -> None:
        with self.lock:
            self.commands.clear()
            self.poses.clear()
            self.images.clear()
            self.scenes.clear()


def wait_future(future, timeout: float):
    """The result of a future an executor in another thread completes; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not future.done():
        if time.monotonic() > deadline:
            raise TimeoutError('no answer from the stack')
        time.sleep(0.002)
    return future.result()


def _send(probe: SkillProbe, point) -> object:
    goal = ExecuteSkill.Goal(skill='reach', args_json=json.dumps({'point': point}))
    handle = wait_future(probe.client.send_goal_async(goal), 30.0)
    if not handle.accepted:
        raise RuntimeError('the skill server refused a reach goal')
    return handle


def _rate(times: List[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _rest_time(poses: List[Tuple[float, np.ndarray]], after: float) -> float:
    """Seconds from ``after`` until the arm's speed stays under REST_SPEED (over 50 ms windows)."""
    samples = [(t, p) for t, p in poses if t >= after - 0.05]
    for i, (t, p) in enumerate(samples):
        later = [(u, q) for u, q in samples[i + 1:] if u - t >= 0.05]
        if not later:
            break
        u, q = later[0]
        if t >= after and float(np.linalg.norm(q - p)) / (u - t) < REST_SPEED:
            return t - after
    return float('nan')


def _wait_until_moved(probe: SkillProbe, distance: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with probe.lock:
            poses = list(probe.poses)
        if len(poses) > 1 and float(np.linalg.norm(poses[-1][1] - poses[0][1])) >= distance:
            return
        time.sleep(0.005)
    raise RuntimeError(f'the arm did not move {distance} m within {timeout} s of a reach goal')


def measure(namespace: str = 'arm', goals: int = 6, cancels: int = 6) -> Dict[str, float]:
    """``goals`` full reach goals for the control rate, then ``cancels`` goals cancelled mid-motion."""
    rclpy.init()
    probe = SkillProbe(namespace)
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(probe)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        if not probe.client.wait_for_server(timeout_sec=90.0):
            raise RuntimeError('no execute_skill server within 90 s')
        deadline = time.monotonic() + 90.0
        while True:  # ready when a goal is not refused for lack of state or scene
            result = wait_future(_send(probe, POINTS[0]).get_result_async(), 60.0)
            if 'yet' not in result.result.message:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f'the skill server is not ready: {result.result.message}')
            time.sleep(0.5)
        rates, in_tolerance, camera, scene = [], [], [], []
        for i in range(goals):
            probe.clear()
            result = wait_future(_send(probe, POINTS[(i + 1) % 2]).get_result_async(), 60.0)
            with probe.lock:
                commands, images, scenes = list(probe.commands), list(probe.images), list(probe.scenes)
            periods = np.diff(commands)
            rates.append(_rate(commands))
            in_tolerance.append(float(np.mean(np.abs(periods - 0.05) <= 0.005)) if len(periods) else 0.0)
            camera.append(_rate(images))
            scene.append(_rate(scenes))
            if not result.result.success:
                raise RuntimeError(f'reach failed during the benchmark: {result.result.message}')
        to_rest, server_ms = [], []
        for _ in range(cancels):
            wait_future(_send(probe, POINTS[0]).get_result_async(), 60.0)  # from the start point
            probe.clear()
            handle = _send(probe, POINTS[1])
            _wait_until_moved(probe, 0.1, 5.0)  # mid-motion, at speed
            cancelled_at = time.monotonic()
            wait_future(handle.cancel_goal_async(), 10.0)
            result = wait_future(handle.get_result_async(), 10.0)
            time.sleep(0.5)
            if result.status != GoalStatus.STATUS_CANCELED:
                raise RuntimeError(f'cancel did not cancel: {result.result.message}')
            with probe.lock:
                poses = list(probe.poses)
            to_rest.append(_rest_time(poses, cancelled_at))
            found = re.search(r'held (\d+) ms after the cancel', result.result.message)
            if found:
                server_ms.append(float(found.group(1)))
        return {
            'control_rate_hz': statistics.median(rates),
            'control_periods_within_10pct': statistics.median(in_tolerance),
            'camera_rate_hz_during_skills': statistics.median(camera),
            'scene_rate_hz_during_skills': statistics.median(scene),
            'cancel_to_rest_ms_p50': float(np.nanmedian(to_rest) * 1e3),
            'cancel_to_rest_ms_max': float(np.nanmax(to_rest) * 1e3),
            'cancel_to_hold_command_ms_p50': statistics.median(server_ms) if server_ms else float('nan'),
        }
    finally:
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()
