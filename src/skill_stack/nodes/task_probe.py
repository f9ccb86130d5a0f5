"""Measure the scheduler on a running arm stack: goal to first motion command, correction to changed command.

Used by ``skill-stack bench --only scheduler``. Each trial resets the scene,
sends "reach the yellow sphere" as an ExecuteTask goal and times (a) from the
goal's acceptance to the first ``ee_pose_command`` the skill server sends, and
(b) after "a bit to the left" on ``corrections``, from the correction to the
first command of the amended skill (the skill server's next goal reaching
EXECUTING, then its first command), then cancels the task.
"""

import statistics
import threading
import time
from typing import Dict, List, Optional

import rclpy
from action_msgs.msg import GoalStatus, GoalStatusArray
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from skill_stack.action import ExecuteTask
from skill_stack.msg import Correction
from skill_stack.nodes.skill_probe import wait_future
from skill_stack.srv import ResetScene

INSTRUCTION = 'reach the yellow sphere'
CORRECTION = 'a bit to the left'


class TaskProbe(Node):
    def __init__(self, namespace: str = 'arm'):
        super().__init__('task_probe', namespace=namespace)
        self.lock = threading.Lock()
        self.commands: List[float] = []
        self.executing: Dict[bytes, float] = {}  # skill goal id -> when it was first seen executing
        self.client = ActionClient(self, ExecuteTask, 'execute_task')
        self.reset = self.create_client(ResetScene, 'sim/reset')
        self.corrections = self.create_publisher(Correction, 'corrections', 10)
        self.create_subscription(PoseStamped, 'ee_pose_command', self.on_command, 50)
        self.create_subscription(GoalStatusArray, 'execute_skill/_action/status', self.on_status, 10)

    def on_command(self, msg: PoseStamped) -> None:
        with self.lock:
            self.commands.append(time.monotonic())

    def on_status(self, msg: GoalStatusArray) -> None:
        now = time.monotonic()
        with self.lock:
            for status in msg.status_list:
                if status.status == GoalStatus.STATUS_EXECUTING:
                    self.executing.setdefault(bytes(status.goal_info.goal_id.uuid), now)

    def first_command_after(self, t: float) -> Optional[float]:
        with self.lock:
            return next((c for c in self.commands if c > t), None)

    def first_goal_after(self, t: float) -> Optional[float]:
        with self.lock:
            return min((s for s in self.executing.values() if s > t), default=None)


def _poll(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.002)
    return None


def measure(namespace: str = 'arm', trials: int = 5) -> Dict[str, float]:
    rclpy.init()
    probe = TaskProbe(namespace)
    executor = MultiThreadedExecutor(num_threads=3)
    executor.add_node(probe)
    threading.Thread(target=executor.spin, daemon=True).start()
    try:
        if not probe.client.wait_for_server(timeout_sec=120.0) or not probe.reset.wait_for_service(timeout_sec=60):
            raise RuntimeError('no execute_task server or sim/reset service within 120 s')
        time.sleep(5.0)  # the first scenes and robot state reach the scheduler and the skill server
        to_motion, to_amended = [], []
        for _ in range(trials):
            wait_future(probe.reset.call_async(ResetScene.Request()), 60.0)
            time.sleep(1.0)  # fresh scenes after the reset
            handle = wait_future(probe.client.send_goal_async(ExecuteTask.Goal(instruction=INSTRUCTION)), 30.0)
            accepted = time.monotonic()
            if not handle.accepted:
                raise RuntimeError('the scheduler rejected the benchmark goal')
            first = _poll(lambda: probe.first_command_after(accepted), 20.0)  # noqa: B023 - read at once
            if first is None:
                raise RuntimeError(f'no motion command within 20 s of "{INSTRUCTION}"')
            to_motion.append(first - accepted)
            time.sleep(0.4)
            sent = time.monotonic()
            msg = Correction(text=CORRECTION, source='bench')
            msg.header.stamp = probe.get_clock().now().to_msg()
            probe.corrections.publish(msg)
            started = _poll(lambda: probe.first_goal_after(sent), 5.0)  # noqa: B023
            amended = _poll(lambda: probe.first_command_after(started), 5.0) if started else None  # noqa: B023
            if amended is not None:
                to_amended.append(amended - sent)
            wait_future(handle.cancel_goal_async(), 10.0)
            wait_future(handle.get_result_async(), 30.0)
        if not to_amended:
            raise RuntimeError(f'"{CORRECTION}" never led to an amended skill')
        return {
            'goal_to_first_motion_s_p50': statistics.median(to_motion),
            'goal_to_first_motion_s_max': max(to_motion),
            'correction_to_command_ms_p50': statistics.median(to_amended) * 1e3,
            'correction_to_command_ms_max': max(to_amended) * 1e3,
            'correction_trials_amended': len(to_amended) / trials,
        }
    finally:
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()
