"""The ``skill_server`` node: the ExecuteSkill action, running learned skills closed-loop.

A goal names a skill and its arguments (JSON). It is checked against the
skill's schema and grounded in the latest perceived scene before anything
moves; a goal that does not fit ends at once with ``success: false`` and a
message starting "rejected:" (ROS 2 goal rejection carries no reason, so the
reason travels in the result). Then the skill's policy runs at its control rate
on the robot state the drivers publish, its commands go to the driver's
topics, feedback reports phase, progress and distance, and cancel holds the
robot at once. A non-finite policy output, or driver refusals in a row, stop
the robot and abort the goal. A driver fault (``driver_status`` ERROR: the
link to the device lost, or the device faulted) ends the running skill at
once with the driver's reason, and new goals are rejected with it until the
driver reports no error (after its ``reconnect`` service).
"""

import json
import sys
import threading
import time
from typing import List, Optional

import numpy as np
import torch
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from skill_stack.action import ExecuteSkill
from skill_stack.msg import Scene
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.robot_links import LINKS
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.nodes.scene_convert import msg_to_scene
from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene
from skill_stack.skills.evaluate import checkpoint_path
from skill_stack.skills.library import EMBODIMENTS, skills
from skill_stack.skills.objects import find_object
from skill_stack.skills.policy import load_checkpoint
from skill_stack.skills.schema import SkillArgumentError
from skill_stack.srv import ListSkills

SETTLE_S = 0.5  # after the policy finishes, before success is judged (the scene catches up)
MAX_REFUSALS = 3  # driver refusals in a row that stop a skill


class SkillServer(Node):
    def __init__(self):
        super().__init__('skill_server')
        route_python_logging(self)
        self.frame_id = declare(self, 'frame_id', 'world', 'frame of commands and of the scene')
        self.embodiment = declare(self, 'embodiment', 'arm', f"the robot's kind: {', '.join(EMBODIMENTS)}")
        self.scene_timeout_s = declare(self, 'scene_timeout_s', 3.0,
                                       'a skill stops and holds the robot when perception sends no scene this long')
        if not self.scene_timeout_s > 0.0:
            raise ValueError(f"parameter 'scene_timeout_s' must be > 0, got {self.scene_timeout_s}")
        if self.embodiment not in LINKS:
            raise ValueError(f"parameter 'embodiment' must be one of {sorted(LINKS)}, got '{self.embodiment}'")
        self.skills = skills(self.embodiment)
        torch.set_num_threads(1)  # a 0.5 ms MLP: more threads only contend with the other nodes (33 ms seen)
        self.policies = {}
        for name in self.skills:
            path = checkpoint_path(name)
            if not path.is_file():
                raise ValueError(f"no checkpoint for skill '{name}' at {path}; run `skill-stack train {name}`")
            self.policies[name], _ = load_checkpoint(path)

        self._lock = threading.Lock()
        self._scene: Optional[PerceivedScene] = None
        self._scene_at = 0.0  # when the latest scene arrived (monotonic)
        self._driver_message = ''
        self._driver_fault: Optional[str] = None  # '<embodiment> driver: <reason>' while driver_status is ERROR
        self._busy = False
        self._cancel_at: Optional[float] = None
        # What the robot holds, as seen when it took hold, and its centre relative to the robot:
        # held objects are often hidden from the camera by the fingers.
        self._held: Optional[tuple[PerceivedObject, np.ndarray]] = None
        self.wake = threading.Event()  # ends a control tick's wait early (cancel, shutdown)
        group = ReentrantCallbackGroup()
        self.link = LINKS[self.embodiment](self, group, self.frame_id)
        self.create_subscription(Scene, 'scene', self.on_scene, 5, callback_group=group)
        self.create_subscription(DiagnosticStatus, 'driver_status', self.on_status, 10, callback_group=group)
        self.create_service(ListSkills, 'list_skills', self.on_list, callback_group=group)
        self.server = ActionServer(self, ExecuteSkill, 'execute_skill', execute_callback=self.execute,
                                   goal_callback=self.on_goal, cancel_callback=self.on_cancel,
                                   callback_group=group)
        self.get_logger().info(f"{self.embodiment} skills ready: {', '.join(sorted(self.skills))}")

    # -- inputs -----------------------------------------------------------

    def on_scene(self, msg: Scene) -> None:
        with self._lock:
            self._scene = msg_to_scene(msg)
            self._scene_at = time.monotonic()

    def scene_age(self) -> float:
        """Seconds since perception's last scene (perception stopped or restarting when large)."""
        with self._lock:
            return time.monotonic() - self._scene_at

    def on_status(self, msg: DiagnosticStatus) -> None:
        fault = f'{self.embodiment} driver: {msg.message}' if msg.level == DiagnosticStatus.ERROR else None
        with self._lock:
            self._driver_message = msg.message
            changed, self._driver_fault = fault != self._driver_fault, fault
        if changed and fault:
            self.get_logger().error(f'{fault}: skills stop and new ones are refused until it clears')
            self.wake.set()  # the running skill stops now, not at its next tick
        elif changed:
            self.get_logger().info(f'{self.embodiment} driver: ok again; skills accepted')

    def driver_fault(self) -> Optional[str]:
        with self._lock:
            return self._driver_fault

    def robot(self):
        return self.link.observation()

    def scene(self) -> Optional[PerceivedScene]:
        """The latest perceived scene, plus the held object where the camera cannot see it."""
        with self._lock:
            scene, held = self._scene, self._held
        robot = self.robot()
        if scene is None or held is None or robot is None:
            return scene
        if not self.link.holding(robot):
            with self._lock:
                self._held = None  # let go
            return scene
        obj, offset = held
        merged = with_held(scene, obj, robot.position + offset)
        if merged is None:
            with self._lock:
                self._held = None  # the grip closed on nothing that came along
            return scene
        return merged

    def on_list(self, request, response):
        response.skills_json = json.dumps([s.describe() for s in self.skills.values()])
        return response

    # -- action -----------------------------------------------------------

    def on_goal(self, goal) -> GoalResponse:
        """One skill at a time on one robot: a second goal while one runs is refused."""
        with self._lock:
            if self._busy:
                self.get_logger().warning(f"goal '{goal.skill}' refused: a skill is already running")
                return GoalResponse.REJECT
            self._busy = True
            self._cancel_at = None
            self.wake.clear()
        return GoalResponse.ACCEPT

    def on_cancel(self, goal_handle) -> CancelResponse:
        """Accept, and wake the control loop so it holds the robot now rather than at its next tick."""
        with self._lock:
            self._cancel_at = time.monotonic()
        self.wake.set()
        return CancelResponse.ACCEPT

    def execute(self, goal_handle):
        try:
            return self._execute(goal_handle)
        except Exception as exc:  # noqa: BLE001 - a goal ends with a result and a held robot, never a crash
            self.get_logger().error(f'skill failed with an error: {exc!r}')
            self.link.hold(self.robot())
            return self._end(goal_handle, False, f'{goal_handle.request.skill}: internal error: {exc}; robot held')
        finally:
            with self._lock:
                self._busy = False

    def _execute(self, goal_handle):
        request = goal_handle.request
        skill = self.skills.get(request.skill)
        if skill is None:
            return self._end(goal_handle, False, f"rejected: unknown skill '{request.skill}'; "
                                                 f"skills: {', '.join(sorted(self.skills))}")
        try:
            args = skill.validate(json.loads(request.args_json or '{}'))
        except json.JSONDecodeError as exc:
            return self._end(goal_handle, False, f'rejected: args_json is not valid JSON: {exc}')
        except SkillArgumentError as exc:
            return self._end(goal_handle, False, f'rejected: {exc}')
        if fault := self.driver_fault():
            return self._end(goal_handle, False, f'rejected: {fault}')
        robot, scene = self.robot(), self.scene()
        if robot is None:
            return self._end(goal_handle, False, f'rejected: no robot state yet ({self.link.needs})')
        if scene is None:
            return self._end(goal_handle, False, 'rejected: no scene from perception yet')
        if self.scene_age() > self.scene_timeout_s:
            return self._end(goal_handle, False, f'rejected: no scene from perception for {self.scene_age():.1f} s '
                                                 '(is perception running?)')
        try:
            targets = skill.targets(args, scene, robot)
        except SkillArgumentError as exc:
            return self._end(goal_handle, False, f'rejected: {exc}')

        policy = self.policies[skill.name]
        tick = _Ticker(skill.control_rate_hz, self.wake)
        refusals, last_message = 0, self._driver_message
        budget = _Budget(skill.max_duration_s, robot.stamp)
        while not budget.spent(robot.stamp):
            if goal_handle.is_cancel_requested:
                return self._cancelled(goal_handle, skill.name)
            if fault := self.driver_fault():  # the driver has stopped the device already
                return self._end(goal_handle, False, f'{skill.name}: stopped: {fault}')
            if self.scene_age() > self.scene_timeout_s:
                self.link.hold(self.robot())
                return self._end(goal_handle, False, f'{skill.name}: stopped: no scene from perception for '
                                                     f'{self.scene_age():.1f} s (is perception running?); robot held')
            robot = self.robot()
            action = policy.act(skill.observation(robot, targets, args))[0]
            if not np.all(np.isfinite(action)):
                self.link.hold(robot)
                return self._end(goal_handle, False, f'{skill.name}: stopped: the policy output a non-finite '
                                                     f'action {action.tolist()}; robot held')
            self.link.send(skill.command(action, robot, targets, args))
            message = self._driver_message
            if 'refused' in message and message != last_message:
                refusals += 1
                if refusals >= MAX_REFUSALS:
                    self.link.hold(robot)
                    return self._end(goal_handle, False, f'{skill.name}: stopped: the driver refused '
                                                         f'{refusals} commands: {message}')
            else:
                refusals = 0
            last_message = message
            progress = skill.progress(robot, targets, args)
            goal_handle.publish_feedback(ExecuteSkill.Feedback(
                phase=progress.phase, progress=float(progress.progress),
                distance_to_target=float(progress.distance)))
            if skill.finished(robot, targets, args):
                break
            tick.wait()
        else:
            self.link.hold(self.robot())
            return self._end(goal_handle, False, f'{skill.name}: timed out after {skill.max_duration_s:g} s')
        settled = time.monotonic()
        for _ in range(round(SETTLE_S * skill.control_rate_hz)):
            if goal_handle.is_cancel_requested:
                return self._cancelled(goal_handle, skill.name)
            if fault := self.driver_fault():
                return self._end(goal_handle, False, f'{skill.name}: stopped: {fault}')
            tick.wait()
        # Success is judged on a scene perception made after the motion ended, never on an older one.
        while self.scene_age() > time.monotonic() - settled:
            if goal_handle.is_cancel_requested:
                return self._cancelled(goal_handle, skill.name)
            if fault := self.driver_fault():
                return self._end(goal_handle, False, f'{skill.name}: stopped: {fault}')
            if time.monotonic() - settled > self.scene_timeout_s:
                self.link.hold(self.robot())
                return self._end(goal_handle, False, f'{skill.name}: no scene from perception for '
                                                     f'{self.scene_age():.1f} s to judge it (is perception running?)')
            tick.wait()
        robot = self.robot()
        now = self.scene()
        swapped = changed_identity(scene, now, [args[a.name] for a in skill.args if a.kind == 'object'
                                                and isinstance(args.get(a.name), str)])
        if swapped:
            self.link.hold(robot)
            return self._end(goal_handle, False, f'{skill.name}: cannot judge it: perception {swapped} (restarted, '
                                                 'or lost track of it); robot held')
        ok, reason = skill.success(robot, now, targets, args)
        if ok and skill.takes_hold:
            self._remember_held(skill, args, targets, scene, robot)
        return self._end(goal_handle, ok, f'{skill.name}: {reason}')

    def _remember_held(self, skill, args, targets, before: PerceivedScene, robot) -> None:
        """Keep the object just taken, with its centre relative to the robot: where the skill says it sits,
        else where the camera sees it now."""
        taken = find_object(before, args['object'], skill.name, 'object')
        offset = skill.held_offset(targets)
        if offset is None:
            try:
                offset = find_object(self.scene(), args['object'], skill.name, 'object').position - robot.position
            except SkillArgumentError:
                offset = taken.position - robot.position
        with self._lock:
            self._held = (taken, np.asarray(offset, float))

    def _cancelled(self, goal_handle, skill: str):
        """Hold the robot where it is and end the goal as cancelled, saying how soon it was held."""
        self.link.hold(self.robot())
        with self._lock:
            cancel_at = self._cancel_at
        goal_handle.canceled()
        after = '' if cancel_at is None else f' {(time.monotonic() - cancel_at) * 1000.0:.0f} ms after the cancel'
        message = f'{skill}: cancelled; robot held{after}'
        self.get_logger().info(message)
        return ExecuteSkill.Result(success=False, message=message)

    def _end(self, goal_handle, success: bool, message: str):
        if success:
            self.get_logger().info(message)
            goal_handle.succeed()
        else:
            self.get_logger().warning(message)
            goal_handle.abort()
        return ExecuteSkill.Result(success=success, message=message)

    def destroy_node(self):
        self.wake.set()  # ends the wait of a goal that is executing
        return super().destroy_node()


def changed_identity(before: PerceivedScene, after: Optional[PerceivedScene], ids: List[str]) -> str:
    """What perception now calls by one of ``ids`` that is not what it called so when the skill started (an
    object's colour never changes: a respawned perception numbers its objects afresh), or ''."""
    if after is None:
        return ''
    then = {o.id: o for o in before.objects}
    for obj in after.objects:
        old = then.get(obj.id)
        if obj.id in ids and old is not None and old.color != obj.color:
            return f"now calls '{obj.id}' a {obj.color} {obj.label}; it was the {old.color} {old.label}"
    return ''


LEFT_BEHIND_M = 0.015  # seen this close to where it was taken from, with the robot gone: it stayed behind
HELD_MATCH_M = 0.03  # what perception sees this close to where the held object should be is that object ...
HELD_SAME_COLOR_M = 0.07  # ... and what it sees of the held object's colour this close (a sliver's centre is off)


def with_held(scene: PerceivedScene, taken: PerceivedObject, position: np.ndarray) -> Optional[PerceivedScene]:
    """The scene with the held object ``taken`` where the robot carries it (``position``), under its own id,
    label and colour; None when it was left behind.

    Between the fingers the object is mostly hidden: perception may miss it, track it under its id, or see a
    sliver of it (or of the fingers) as a new object under another id and another shape.  What it sees near
    the held position is that object, so such a view gives way to the remembered one; containers and pads
    there stay (the held object is lowered into or onto them)."""
    def held_view(o: PerceivedObject) -> bool:
        distance = float(np.linalg.norm(o.position - position))
        return o.label not in ('bowl', 'pad') and (
            distance < HELD_MATCH_M or (o.color == taken.color and distance < HELD_SAME_COLOR_M))

    near = [o for o in scene.objects if held_view(o)]
    if any(o.id == taken.id for o in near):
        return scene  # perception tracks it where it is held
    if left_behind(taken, position, scene):
        return None
    shift = position - taken.position
    moved = PerceivedObject(
        id=taken.id, label=taken.label, color=taken.color, position=position, quaternion=taken.quaternion,
        extent=taken.extent, confidence=taken.confidence, affordances=dict(taken.affordances),
        keypoints=[Keypoint(k.name, k.position + shift, k.direction, k.width, k.confidence)
                   for k in taken.keypoints])
    # Held, the object goes where the robot goes: a view of it elsewhere under the same id (partly hidden by
    # the fingers, perception/tracking.py) or near it under another id is replaced.
    others = [o for o in scene.objects if o.id != taken.id and all(o is not n for n in near)]
    return PerceivedScene(objects=[*others, moved], status=scene.status, support_height=scene.support_height,
                          stamp=scene.stamp)


def left_behind(taken: PerceivedObject, held_position: np.ndarray, scene: PerceivedScene) -> bool:
    """Whether perception still sees the object (same id) where it was taken from while the robot, which
    would carry it, has moved away: then the robot does not hold it, whatever its fingers say."""
    if np.linalg.norm(held_position - taken.position) < 2.0 * LEFT_BEHIND_M:
        return False
    return any(o.id == taken.id and np.linalg.norm(o.position - taken.position) < LEFT_BEHIND_M
               for o in scene.objects)


class _Budget:
    """A skill's time limit in the robot's own time (its state stamps: simulated time in simulation), so a
    loaded machine that slows the simulator does not cut skills short; a wall-clock cap of three times the
    limit still ends a goal whose robot state stops advancing."""

    def __init__(self, limit_s: float, robot_stamp: float):
        self.limit_s = limit_s
        self.start_stamp = robot_stamp
        self.wall_deadline = time.monotonic() + 3.0 * limit_s

    def spent(self, robot_stamp: float) -> bool:
        return robot_stamp - self.start_stamp >= self.limit_s or time.monotonic() >= self.wall_deadline


class _Ticker:
    """Paces the control loop of an executing goal (its own executor thread) to a fixed rate.

    rclpy's Rate relies on a timer callback that a busy executor may not run in
    time; this waits on an event instead, so a cancel or node shutdown ends the wait at once.
    """

    def __init__(self, rate_hz: float, wake: threading.Event):
        self.period = 1.0 / rate_hz
        self.wake = wake
        self.next = time.monotonic() + self.period

    def wait(self) -> None:
        self.wake.wait(max(0.0, self.next - time.monotonic()))
        self.next = max(self.next + self.period, time.monotonic())


def main() -> int:
    return run_node(SkillServer, 'skill_server', threads=4)


if __name__ == '__main__':
    sys.exit(main())
