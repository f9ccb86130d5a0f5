"""A language task on a running stack, from the outside: what ``skill-stack run``, ``goal`` and ``eval`` share.

`TaskClient` is an ``ExecuteTask`` action client with the sim's ground-truth
services beside it (used only to report and judge, never by the stack). It owns
a node and a background executor, so its calls block the caller, not ROS.
A task's first motion is the first command any robot command topic carries
after the goal is accepted (the arm's pose, gripper or joint commands, the
hand's joint commands, the quadrotor's set-points).
"""

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import rclpy
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64

from skill_stack.action import ExecuteSkill, ExecuteTask
from skill_stack.msg import Correction, Scene
from skill_stack.srv import GetWorldState, ResetScene

# Every topic a robot command travels on (see nodes/device_interface.py), with its type.
COMMAND_TOPICS = (('ee_pose_command', PoseStamped), ('gripper_command', Float64), ('joint_commands', JointState),
                  ('setpoint_position', PoseStamped), ('setpoint_velocity', TwistStamped))

Feedback = Callable[[ExecuteTask.Feedback], None]


@dataclass
class TaskOutcome:
    """What became of one task: the scheduler's verdict, its plan and the world after it."""

    success: bool
    message: str
    plan: List[dict] = field(default_factory=list)     # [{skill, args, status, message}]
    world: dict = field(default_factory=dict)          # ground truth after the task (may be empty on a real robot)
    timings: Dict[str, Optional[float]] = field(default_factory=dict)
    timed_out: bool = False
    corrections_sent: List[Tuple[float, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        """The ``skill-stack run --json`` object (docs/architecture.md)."""
        return {'success': self.success, 'message': self.message, 'plan': self.plan, 'world': self.world,
                'timings': self.timings}


def plan_of(steps) -> List[dict]:
    """PlanStep messages as plain dicts; arguments parsed from their JSON."""
    out = []
    for step in steps:
        try:
            args = json.loads(step.args_json) if step.args_json else {}
        except json.JSONDecodeError:
            args = {'raw': step.args_json}
        out.append({'skill': step.skill, 'args': args, 'status': step.status, 'message': step.message})
    return out


def _namespace(namespace: str) -> str:
    name = namespace.strip().strip('/')
    if any(not (c.isalnum() or c in '_/') for c in name) or name[:1].isdigit():
        raise ValueError(f"namespace '{namespace}' is not a valid ROS namespace")
    return name


class TaskClient:
    """Send language goals and corrections to ``<namespace>/execute_task`` and read the sim's ground truth."""

    def __init__(self, namespace: str = 'arm', node_name: str = 'skill_stack_task_client'):
        self.namespace = _namespace(namespace)
        self._owns_context = not rclpy.ok()
        if self._owns_context:  # Ctrl-C must cancel the goal first, not shut ROS down under it
            rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        self.node = Node(node_name, namespace=self.namespace or None)
        self._lock = threading.Lock()
        self._motion_since: Optional[float] = None   # when the current task was accepted
        self._first_motion: Optional[float] = None
        self.scene_count = 0
        self._scene_stamp = 0.0  # sim time of the latest scene
        self._reset_stamp, self._new_world_scenes = -1.0, 0  # while a reset waits: the stamp before it
        self.launch_pid: Optional[int] = None  # the launch process, when the caller started the stack
        self.client = ActionClient(self.node, ExecuteTask, 'execute_task')
        self._skills = ActionClient(self.node, ExecuteSkill, 'execute_skill')
        self.corrections = self.node.create_publisher(Correction, 'corrections', 10)
        self._reset = self.node.create_client(ResetScene, 'sim/reset')
        self._world = self.node.create_client(GetWorldState, 'sim/get_world_state')
        for topic, kind in COMMAND_TOPICS:
            self.node.create_subscription(kind, topic, self._on_command, 20)
        self.node.create_subscription(Scene, 'scene', self._on_scene, 2)
        self._executor = MultiThreadedExecutor(num_threads=2)
        self._executor.add_node(self.node)
        self._spin = threading.Thread(target=self._executor.spin, daemon=True)
        self._spin.start()

    # -- plumbing ------------------------------------------------------------

    def _on_command(self, _msg) -> None:
        now = time.monotonic()
        with self._lock:
            if self._first_motion is None and self._motion_since is not None and now > self._motion_since:
                self._first_motion = now

    def _on_scene(self, msg) -> None:
        with self._lock:
            self.scene_count += 1
            self._scene_stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            if self._scene_stamp < self._reset_stamp:  # the first scenes of a reset world (sim time restarts)
                self._reset_stamp, self._new_world_scenes = -1.0, 0
            if self._reset_stamp < 0.0:
                self._new_world_scenes += 1

    def _where(self, name: str) -> str:
        return f"/{self.namespace}/{name}" if self.namespace else f'/{name}'

    @staticmethod
    def _wait(future, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while not future.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f'no answer from {what} within {timeout_s:g} s')
            time.sleep(0.005)
        return future.result()

    # -- public --------------------------------------------------------------

    def wait_ready(self, timeout_s: float = 60.0, need_sim: bool = True) -> None:
        """Until the scheduler, the skill server (its policies loaded), in simulation the sim services, and a
        first perceived scene are there."""
        deadline = time.monotonic() + timeout_s
        waits = [(f"the scheduler's {self._where('execute_task')} action",
                  lambda t: self.client.wait_for_server(timeout_sec=t)),
                 (f"the skill server's {self._where('execute_skill')} action",
                  lambda t: self._skills.wait_for_server(timeout_sec=t))]
        if need_sim:
            waits += [(f"the simulator's {self._where('sim/reset')} service",
                       lambda t: self._reset.wait_for_service(timeout_sec=t)),
                      (f"the simulator's {self._where('sim/get_world_state')} service",
                       lambda t: self._world.wait_for_service(timeout_sec=t))]
        for what, wait in waits:
            if not wait(max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f'{what} did not appear within {timeout_s:g} s; is the stack running?')
        while self.scene_count == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no scene from perception on {self._where('scene')} within {timeout_s:g} s")
            time.sleep(0.05)

    def has_sim(self, timeout_s: float = 2.0) -> bool:
        """Whether the simulator's ground-truth service is there (not on a real robot)."""
        return self._world.wait_for_service(timeout_sec=timeout_s)

    def reset(self, scene_path: str = '', settle_s: float = 1.0) -> None:
        """Rebuild the simulated world (from a scene file, or the current one) and let perception see it."""
        with self._lock:
            self._reset_stamp, self._new_world_scenes = max(self._scene_stamp, 1e-9), 0
        answer = self._wait(self._reset.call_async(ResetScene.Request(scene_path=scene_path)), 60.0, 'sim/reset')
        if not answer.success:
            raise RuntimeError(f'the simulator refused the reset: {answer.message}')
        # Perception lags on a loaded machine: wait for scenes of the new world (their sim time starts again),
        # not just any scenes, or the next task is planned on the old world's objects.
        deadline = time.monotonic() + settle_s + 10.0
        time.sleep(settle_s)
        while self._new_world_scenes < 2 and time.monotonic() < deadline:
            time.sleep(0.05)

    def world(self) -> dict:
        """The simulator's ground truth (objects, robot), for reports and judging only."""
        answer = self._wait(self._world.call_async(GetWorldState.Request()), 30.0, 'sim/get_world_state')
        return json.loads(answer.world_json or '{}')

    def correct(self, text: str, source: str = 'operator') -> None:
        msg = Correction(text=text, source=source)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.corrections.publish(msg)

    def run(self, instruction: str, corrections: Sequence[Tuple[float, str]] = (), timeout_s: float = 120.0,
            on_feedback: Optional[Feedback] = None, read_world: bool = True,
            stop: Optional[threading.Event] = None) -> TaskOutcome:
        """One goal to its end. Corrections go out SECONDS after acceptance; a timeout or ``stop`` cancels."""
        start = time.monotonic()
        last_feedback: Dict[str, object] = {}

        def feedback(msg) -> None:
            last_feedback['plan'] = msg.feedback.plan
            if on_feedback is not None:
                on_feedback(msg.feedback)

        goal = ExecuteTask.Goal(instruction=instruction)
        handle = self._wait(self.client.send_goal_async(goal, feedback_callback=feedback), 30.0, 'the scheduler')
        if not handle.accepted:
            return TaskOutcome(False, 'the scheduler rejected the goal (is another task running?)',
                               timings={'goal_to_first_motion_s': None, 'total_s': time.monotonic() - start})
        accepted = time.monotonic()
        with self._lock:
            self._motion_since, self._first_motion = accepted, None
        result_future = handle.get_result_async()
        pending = sorted(corrections)
        sent: List[Tuple[float, str]] = []
        timed_out = cancelled = False
        while not result_future.done():
            now = time.monotonic()
            while pending and now - accepted >= pending[0][0]:
                _, text = pending.pop(0)
                self.correct(text)
                sent.append((round(now - accepted, 3), text))
            if not cancelled and (now - accepted > timeout_s or (stop is not None and stop.is_set())):
                timed_out = now - accepted > timeout_s
                cancelled = True
                handle.cancel_goal_async()
                cancel_deadline = now + 30.0
            if cancelled and now > cancel_deadline:
                break
            time.sleep(0.01)
        end = time.monotonic()
        with self._lock:
            first, self._motion_since = self._first_motion, None
        timings = {'goal_to_first_motion_s': None if first is None else round(first - accepted, 4),
                   'total_s': round(end - start, 3)}
        if result_future.done():
            result = result_future.result().result
            success, message, plan = result.success, result.message, plan_of(result.steps)
        else:
            success, message = False, 'no result from the scheduler 30 s after the cancel'
            plan = plan_of(last_feedback.get('plan', []))
        if timed_out:
            success, message = False, f'timed out after {timeout_s:g} s ({message})'
        world = self.world() if read_world else {}
        return TaskOutcome(success, message, plan, world, timings, timed_out, sent)

    def close(self) -> None:
        self._executor.shutdown()
        self._spin.join(5.0)
        self.node.destroy_node()
        if self._owns_context:
            rclpy.try_shutdown()
