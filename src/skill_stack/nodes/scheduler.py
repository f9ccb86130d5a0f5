"""The ``scheduler`` node: language goals as the ExecuteTask action, run as skills, amended by corrections.

A goal's instruction is planned against the latest perceived scene and the
skill library (``planner`` parameter: embedded, vlm or http), then each step
runs as an ExecuteSkill goal on this robot's skill server; after each step the
scene is observed again and a failed step is re-planned (``max_replans``).
Feedback carries the plan, the step in progress, the state and a sentence.
Text on ``corrections`` amends the running goal ("a bit to the left", "no, the
blue one", "wait" / "continue", "cancel"); text with source ``teleop`` is an intervention teleop made, logged
without being parsed; each is logged to
``corrections_log_dir`` (docs/corrections_dataset.md). With
``require_approval`` the plan waits for the ``approve_plan`` service
(std_srvs/SetBool: true runs it, false rejects it). A quadrotor's camera sees
little of its field: its scheduler remembers what it has seen, surveys the
field when an instruction names something not seen yet, and flies over an
object out of view before a step on it (scheduler/field.py). A driver fault
(``driver_status`` ERROR, or a skill stopped by one) fails the task with the
driver's reason, never re-planned, and no task starts until it clears.

One goal at a time: a second goal while one runs is rejected (ROS 2 goal
rejection carries no reason, so the reason is logged); the client may cancel
the running goal and send again. All the logic lives in scheduler/ (plain
Python); this node only wires it to ROS.
"""

import re
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_srvs.srv import SetBool

from skill_stack.action import ExecuteSkill, ExecuteTask
from skill_stack.msg import Correction, PlanStep, Scene
from skill_stack.nodes.convert import image_to_numpy
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.robot_links import LINKS
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.nodes.scene_convert import msg_to_scene
from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.correction_log import CorrectionLog
from skill_stack.scheduler.field import FieldMemory, FieldSearch, needs_survey
from skill_stack.scheduler.plan import Plan, RobotState, Step
from skill_stack.scheduler.planning import PLANNERS, make_planner
from skill_stack.scheduler.runner import TaskRunner
from skill_stack.skills.library import EMBODIMENTS, skills
from skill_stack.skills.quadrotor import default_config

SKILL_SERVER_WAIT_S = 10.0  # for the skill server to answer a goal (or to get ready) before the step fails
NOT_READY = re.compile(r'rejected: no .* yet|.*skill server refused the goal \(busy\)')  # worth a retry
FIRST_SCENE_WAIT_S = 10.0  # how long a goal waits for perception's first scene
BUSY = 'the skill server refused the goal (busy)'  # it is still ending the previous skill
# How the skill server says a driver fault stopped or refused a skill: '<skill>: stopped: arm driver: <reason>'.
DRIVER_FAULT = re.compile(rf"\b(?:{'|'.join(EMBODIMENTS)}) driver: .+")


class SchedulerNode(Node):
    def __init__(self):
        super().__init__('scheduler')
        route_python_logging(self)
        self.embodiment = declare(self, 'embodiment', 'arm', f"the robot's kind: {', '.join(EMBODIMENTS)}")
        if self.embodiment not in LINKS:
            raise ValueError(f"parameter 'embodiment' must be one of {sorted(LINKS)}, got '{self.embodiment}'")
        planner = declare(self, 'planner', 'embedded', f"plan backend: {', '.join(PLANNERS)}")
        model = declare(self, 'planner_model', '', 'vlm: local model directory or Hugging Face id in the cache; '
                                                   'http: the served model name')
        url = declare(self, 'planner_url', '', 'http: base URL of an OpenAI-compatible server, e.g. '
                                               'http://localhost:8000/v1')
        key_env = declare(self, 'planner_api_key_env', '', 'http: environment variable holding the API key '
                                                           '(never logged); empty for none')
        self.max_replans = declare(self, 'max_replans', 2, 're-plans after failed steps before the goal fails')
        self.require_approval = declare(self, 'require_approval', False,
                                        'wait for approve_plan (std_srvs/SetBool) before running a plan')
        self.approval_timeout = declare(self, 'approval_timeout_s', 120.0, 'how long a plan waits for approval')
        self.skill_timeout = declare(self, 'skill_timeout_s', 60.0, 'longest a single skill may run')
        log_dir = declare(self, 'corrections_log_dir', 'corrections',
                          'directory of the correction log (JSON lines + PNG); empty turns logging off')
        if planner not in PLANNERS:
            raise ValueError(f"parameter 'planner' must be one of {', '.join(PLANNERS)}, got '{planner}'")
        if self.max_replans < 0:
            raise ValueError(f"parameter 'max_replans' must be >= 0, got {self.max_replans}")
        for name in ('approval_timeout_s', 'skill_timeout_s'):
            if not self.get_parameter(name).value > 0.0:
                raise ValueError(f"parameter '{name}' must be positive, got {self.get_parameter(name).value}")
        config = {}
        if planner == 'vlm':
            config = {'model': model}
        elif planner == 'http':
            config = {'base_url': url, 'model': model, 'api_key_env': key_env}
        try:
            self.planner = make_planner(planner, **config)
        except (ValueError, OSError) as exc:
            raise ValueError(f"parameter 'planner' ({planner}): {exc}") from exc

        self._lock = threading.Lock()
        self._scene: Optional[PerceivedScene] = None
        self._image: Optional[Image] = None
        self._first_scene = threading.Event()
        self._held: Optional[str] = None  # the object the last successful grasping skill took
        self._approval: Optional[bool] = None
        self._approval_event = threading.Event()
        self._driver_fault: Optional[str] = None  # from driver_status while it is ERROR
        self._step_fault: Optional[str] = None  # a driver fault a skill of the running task was stopped by
        self._awaiting_approval = False
        group = ReentrantCallbackGroup()
        self.link = LINKS[self.embodiment](self, group, 'world', commands=False)
        self.create_subscription(Scene, 'scene', self.on_scene, 5, callback_group=group)
        self.create_subscription(Image, 'camera/color/image_raw', self.on_image, QoSProfile(depth=1),
                                 callback_group=group)
        self.create_subscription(Correction, 'corrections', self.on_correction, 10, callback_group=group)
        self.create_subscription(DiagnosticStatus, 'driver_status', self.on_status, 10, callback_group=group)
        self.create_service(SetBool, 'approve_plan', self.on_approve, callback_group=group)
        self.skill_client = ActionClient(self, ExecuteSkill, 'execute_skill', callback_group=group)
        self.skills = skills()
        execute_step, self.field, self._survey_stop = self.execute_step, None, threading.Event()
        if self.embodiment == 'quadrotor':
            self.field = FieldMemory()
            self.search = FieldSearch(self.field, default_config(), self.execute_step, live_scene=self.live_scene,
                                      position=self._position, airborne=lambda: self.robot_state().airborne,
                                      say=self.get_logger().info)
            execute_step = self.search.execute_step
        self._surveying = False
        self.runner = TaskRunner(
            self.planner, self.skills, execute_step=execute_step, observe=self.observe,
            robot_state=self.robot_state, feedback=self.feedback,
            approve=self.approve if self.require_approval else None, max_replans=self.max_replans,
            log=CorrectionLog(Path(log_dir).expanduser()) if log_dir else None, image=self.rgb,
            fault=self.driver_fault)
        self._goal_handle = None
        self.server = ActionServer(self, ExecuteTask, 'execute_task', execute_callback=self.execute,
                                   goal_callback=self.on_goal, cancel_callback=self.on_cancel,
                                   callback_group=group)
        self.get_logger().info(f'scheduler ready: {self.embodiment}, {planner} planner'
                               f"{', plans need approval' if self.require_approval else ''}")

    # -- inputs -----------------------------------------------------------

    def on_scene(self, msg: Scene) -> None:
        scene = msg_to_scene(msg)
        with self._lock:
            self._scene = scene
        if self.field is not None:
            self.field.update(scene)
        self._first_scene.set()

    def on_status(self, msg: DiagnosticStatus) -> None:
        fault = f'{self.embodiment} driver: {msg.message}' if msg.level == DiagnosticStatus.ERROR else None
        with self._lock:
            self._driver_fault = fault

    def driver_fault(self) -> Optional[str]:
        """The driver's fault now, or the one a skill of this task was stopped by (its status may come later)."""
        with self._lock:
            return self._driver_fault or self._step_fault

    def on_image(self, msg: Image) -> None:
        with self._lock:
            self._image = msg

    def observe(self) -> PerceivedScene:
        self._first_scene.wait(FIRST_SCENE_WAIT_S)  # a goal sent right after start-up waits for perception
        with self._lock:
            scene = self._scene
        if self.field is not None:
            return self.field.scene(scene)  # what the camera sees now and what it saw before
        return scene if scene is not None else PerceivedScene(objects=[], status='no scene from perception yet')

    def live_scene(self) -> Optional[PerceivedScene]:
        with self._lock:
            return self._scene

    def _position(self) -> Optional[np.ndarray]:
        robot = self.link.observation()
        return None if robot is None else robot.position

    def rgb(self) -> Optional[np.ndarray]:
        with self._lock:
            msg = self._image
        if msg is None or msg.encoding != 'rgb8':
            return None
        try:
            return image_to_numpy(msg)
        except ValueError:
            return None

    def robot_state(self) -> RobotState:
        robot = self.link.observation()
        if robot is None:
            return RobotState(embodiment=self.embodiment, name=self.get_namespace().strip('/'))
        with self._lock:
            held = self._held if self.link.holding(robot) else None
        return RobotState(embodiment=self.embodiment, name=self.get_namespace().strip('/'),
                          holding=held, airborne=bool(robot.airborne), position=tuple(robot.position.tolist()))

    def on_correction(self, msg: Correction) -> None:
        if msg.source == 'teleop':  # an intervention teleop already made: logged, not parsed as language
            self.runner.record_intervention(msg.text, msg.source)
            self.get_logger().info(f"intervention logged: '{msg.text[:120]}'")
            return
        ack = self.runner.correct(msg.text, msg.source or 'operator')
        self.get_logger().info(f"correction '{msg.text[:80]}': {ack.outcome}: {ack.message}")

    # -- approval ---------------------------------------------------------

    def approve(self, plan: Plan, cancel_event: threading.Event) -> bool:
        """Block the goal until approve_plan answers, the goal is cancelled, or approval times out."""
        with self._lock:
            self._approval, self._awaiting_approval = None, True
            self._approval_event.clear()
        deadline = time.monotonic() + self.approval_timeout
        try:
            while not cancel_event.is_set() and time.monotonic() < deadline:
                if self._approval_event.wait(0.05):
                    return bool(self._approval)
            return False
        finally:
            with self._lock:
                self._awaiting_approval = False

    def on_approve(self, request, response):
        with self._lock:
            waiting = self._awaiting_approval
            if waiting:
                self._approval = bool(request.data)
                self._approval_event.set()
        response.success = waiting
        response.message = (('plan approved' if request.data else 'plan rejected') if waiting
                            else 'no plan is waiting for approval')
        return response

    # -- the task action ----------------------------------------------------

    def on_goal(self, goal) -> GoalResponse:
        if self.runner.active or self._surveying:
            self.get_logger().warning(f"goal '{goal.instruction[:80]}' rejected: a task is already running "
                                      '(cancel it first)')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_cancel(self, goal_handle) -> CancelResponse:
        self._survey_stop.set()
        self.runner.cancel()
        return CancelResponse.ACCEPT

    def execute(self, goal_handle):
        request = goal_handle.request
        self._goal_handle = goal_handle
        robot = request.robot.strip()
        with self._lock:
            self._step_fault = None
        try:
            if robot and robot not in (self.embodiment, self.get_namespace().strip('/')):
                return self._end(goal_handle, False, f"this scheduler drives the {self.embodiment} "
                                                     f"'{self.get_namespace().strip('/')}', not '{robot}'", [])
            if fault := self.driver_fault():  # before a quadrotor's survey flies anywhere
                return self._end(goal_handle, False, f'cannot start: {fault}', [])
            try:
                problem = self._survey_if_needed(request.instruction)
                if problem:
                    return self._end(goal_handle, False, problem, [])
                result = self.runner.run(request.instruction, self.embodiment)
            except Exception as exc:  # noqa: BLE001 - a goal must end with a result, never take the node down
                self.get_logger().error(f'task failed with an error: {exc!r}')
                return self._end(goal_handle, False, f'internal error: {exc}', [])
            return self._end(goal_handle, result.success, result.message, result.steps)
        finally:
            self._goal_handle = None

    def _survey_if_needed(self, instruction: str) -> str:
        """A quadrotor that cannot plan ``instruction`` from what it has seen, and has not surveyed its field
        yet, surveys it first (scheduler/field.py); '' to go on and plan, else why the goal ends."""
        if self.field is None or self.field.surveyed:
            return ''
        result = self.planner.plan(instruction, self.observe(), self.runner.catalog, self.robot_state())
        if result.ok or not needs_survey(result.reason):
            return ''
        self.get_logger().info(f'cannot plan from what I have seen ({result.reason}): surveying the field')
        self._survey_stop.clear()
        self._surveying = True
        try:
            ok, message = self.search.survey(
                self._survey_stop, lambda text: self.feedback(Plan(instruction=instruction), -1, 'planning', text))
        finally:
            self._surveying = False
        self.get_logger().info(message)
        return '' if ok else ('cancelled' if self._survey_stop.is_set() else message)

    def _end(self, goal_handle, success: bool, message: str, steps):
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        if success:  # one call site per severity: rclpy refuses to change a call site's severity
            self.get_logger().info(f'task: {message}')
        else:
            self.get_logger().warning(f'task: {message}')
        return ExecuteTask.Result(success=success, message=message, steps=[_plan_step(s) for s in steps])

    def feedback(self, plan: Plan, index: int, state: str, text: str) -> None:
        handle = self._goal_handle
        if handle is None:
            return
        handle.publish_feedback(ExecuteTask.Feedback(plan=[_plan_step(s) for s in plan.steps],
                                                     current_step=int(index), state=state, text=text))

    # -- one step: an ExecuteSkill goal -----------------------------------------

    def execute_step(self, step: Step, stop: threading.Event) -> Tuple[bool, str]:
        """Run one skill on the skill server; cancel it as soon as ``stop`` is set. A server still starting
        (no robot state or scene yet) or still ending a cancelled skill is given SKILL_SERVER_WAIT_S."""
        deadline = time.monotonic() + SKILL_SERVER_WAIT_S
        while True:
            ok, message = self._run_skill(step, stop)
            if ok or not NOT_READY.match(message) or time.monotonic() > deadline or stop.wait(0.2):
                break
        fault = None if ok else DRIVER_FAULT.search(message)
        if fault is not None:
            with self._lock:
                self._step_fault = fault.group(0)
        skill = self.skills.get(step.skill)
        if skill is not None and skill.takes_hold:
            with self._lock:  # a failed grasp leaves no known held object (not an older one)
                self._held = step.args.get('object') if ok else None
        return ok, message

    def _run_skill(self, step: Step, stop: threading.Event) -> Tuple[bool, str]:
        if not self.skill_client.wait_for_server(timeout_sec=SKILL_SERVER_WAIT_S):
            return False, 'no skill server (execute_skill) is running'
        goal = ExecuteSkill.Goal(skill=step.skill, robot=self.embodiment, args_json=step.args_json())
        # Not interrupted by ``stop``: a goal the server accepts must be known, to be cancelled.
        handle = _wait(self.skill_client.send_goal_async(goal), threading.Event(), SKILL_SERVER_WAIT_S)
        if handle is None:
            return False, 'the skill server did not answer'
        if not handle.accepted:
            return False, f'{step.skill}: {BUSY}'
        result_future = handle.get_result_async()
        outcome = _wait(result_future, stop, self.skill_timeout)
        if outcome is None:
            cancel = handle.cancel_goal_async()
            _wait(cancel, threading.Event(), 5.0)
            outcome = _wait(result_future, threading.Event(), 5.0)
            if stop.is_set():
                return False, f'{step.skill}: stopped' + (f' ({outcome.result.message})' if outcome else '')
            return False, f'{step.skill}: no result within {self.skill_timeout:g} s; cancelled'
        return bool(outcome.result.success), outcome.result.message


def _wait(future, stop: threading.Event, timeout: float):
    """The future's result, or None when ``stop`` is set or ``timeout`` passes first (never spins)."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    deadline = time.monotonic() + timeout
    while not done.is_set():
        if stop.is_set() or time.monotonic() > deadline:
            return None
        done.wait(0.01)
    return future.result()


def _plan_step(step: Step) -> PlanStep:
    return PlanStep(skill=step.skill, args_json=step.args_json(), status=step.status, message=step.message)


def main() -> int:
    return run_node(SchedulerNode, 'scheduler', threads=6)


if __name__ == '__main__':
    sys.exit(main())
