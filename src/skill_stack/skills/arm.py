"""Arm skills: reach, pick, place and push, as keypoint-conditioned closed-loop policies.

Every arm skill shares one action space and one kind of observation:

- action: ``[dx, dy, dz, gripper]``: an end-effector position step in metres
  (clipped to `MAX_STEP` per control tick, 2 cm at 20 Hz) and a gripper bit
  (> 0.5 open fully, else close). The orientation is not learned: the gripper
  points straight down with a yaw fixed when the skill starts (the grasp axis
  of the object for pick, the push direction for push, the current yaw
  otherwise), kept in ``targets['yaw']``.
- observation: end-effector position (arm base frame), gripper width, a
  "holding" flag from the width, then the skill's target keypoints *relative
  to the end-effector* and its numeric arguments. There is no phase input: the
  policy reads the phase from the geometry and the gripper (KITE-style).

``keypoint_slots`` names the observation entries that come from keypoints; the
end-to-end baseline of `evaluate.py` is trained with those set to zero.
Success checks read only the robot observation and a perceived scene.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.perception.grounding import footprint_radius
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.skills.arm_env import MIN_EE_HEIGHT, down_quaternion, gripper_yaw
from skill_stack.skills.base import ArmCommand, Progress, RobotObservation, Skill, Targets, clip_norm
from skill_stack.skills.objects import find_object, keypoint
from skill_stack.skills.schema import ArgSpec, SkillArgumentError
from skill_stack.skills.sim_perception import wrap_half_turn

MAX_STEP = 0.02  # m per control tick (0.4 m/s at 20 Hz)
GRIPPER_OPEN = 0.085
CLOSED_WIDTH = 0.004  # below this the fingers met: nothing between them
HOLDING_MAX = 0.075  # between CLOSED_WIDTH and this, with the gripper commanded closed: something held
# Horizontal distance from the arm base at which the gripper can point straight down. Scenes may
# put objects anywhere on the table (sim/workspace.py); with the gripper vertical the IK finds no
# solution closer than about 0.34 m below 0.22 m height (elbow limit); higher up it reaches closer.
REACH_RADIUS = (0.2, 0.62)
WORKSPACE_LOW = np.array([-0.3, -0.7, MIN_EE_HEIGHT])
WORKSPACE_HIGH = np.array([0.75, 0.7, 0.4])
LIFT = 0.08  # m pick lifts the grasp point by
LIFT_SUCCESS = 0.04  # m the perceived object must have risen for pick to count
RETREAT = 0.08  # m above the release point place and push end at
CARRY_HEIGHT = 0.2  # m ee height place transports at, at least
PUSH_HEIGHT = 0.026  # ee height while pushing: the closed fingertips just over the table
PUSH_CLEARANCE = 0.03  # m between the fingers and the object before a push
FINGER_HALF_THICKNESS = 0.012  # the closed fingers' half-width in the push direction
REACH_TOLERANCE = 0.01
MAX_OFFSET = 0.3  # m, the longest target shift a correction may ask for
# Place at a free table point (``point``): the target radius the policy sees (a small pad's, as in training),
# how far from the point the object may rest for success, and the feasibility of a free spot in reach.
SPOT_RADIUS = 0.05  # m
SPOT_TOLERANCE = 0.03  # m
SPOT_SCORE = 0.9
ROOM_MARGIN = 0.01  # m between a placed object and a bowl's wall


OFFSET = ArgSpec('offset', 'point', 'shift of the target [dx, dy, dz] in the arm base frame, at most '
                 f'{MAX_OFFSET} m (what live corrections such as "a bit to the left" set)', required=False)


def offset(args: Dict[str, Any], skill: str) -> np.ndarray:
    """The ``offset`` argument as a vector (zero when absent); refused beyond `MAX_OFFSET`."""
    value = np.asarray(args.get('offset') or (0.0, 0.0, 0.0), float)
    if float(np.linalg.norm(value)) > MAX_OFFSET:
        raise SkillArgumentError(f"{skill}: argument 'offset' {value.tolist()} is longer than {MAX_OFFSET} m")
    return value


def min_radius(z: float) -> float:
    """The least horizontal distance from the base at which a top-down pose at height z is reachable."""
    return float(np.clip(0.36 - (z - 0.22) * 1.1, REACH_RADIUS[0] + 0.01, 0.36))


def into_reach(point: np.ndarray) -> np.ndarray:
    """``point`` moved radially into the top-down reachable region and the workspace box."""
    point = np.clip(np.asarray(point, float), WORKSPACE_LOW, WORKSPACE_HIGH)
    distance = float(math.hypot(point[0], point[1]))
    low, high = min_radius(float(point[2])), REACH_RADIUS[1]
    if distance < 1e-6:
        return np.array([low, 0.0, point[2]])
    if not low <= distance <= high:
        point[:2] *= float(np.clip(distance, low, high)) / distance
    return point


def reach_problem(point: np.ndarray, at_height: bool = True) -> Optional[str]:
    """Why a top-down gripper cannot get to ``point`` (arm base frame), or None when it can.

    Scenes may hold objects out of reach (sim/workspace.py), so this is where a task on
    one fails, naming the distance and the reach, before anything moves. The nearest
    reach is the one at the point's height, or with ``at_height`` False the nearest at any.
    """
    distance = float(math.hypot(point[0], point[1]))
    low = min_radius(float(point[2])) if at_height else REACH_RADIUS[0]
    if point[0] < 0.0:
        where = f'behind the arm base (x = {point[0]:.3f} m)'
    elif not low <= distance <= REACH_RADIUS[1]:
        where = f'{distance:.3f} m from the arm base'
    else:
        return None
    return (f'out of reach ({where}; a top-down gripper reaches {low:.2f}..{REACH_RADIUS[1]} m in front of the '
            f'base{" at this height" if at_height else ""})')


def check_reach(point: np.ndarray, skill: str, what: str) -> None:
    problem = reach_problem(point)
    if problem:
        raise SkillArgumentError(f'{skill}: {what} at {np.round(point, 3).tolist()} is {problem}')
    if point[2] > WORKSPACE_HIGH[2]:
        raise SkillArgumentError(f'{skill}: {what} at {np.round(point, 3).tolist()} is above the workspace '
                                 f'({WORKSPACE_HIGH[2]} m)')


class ArmSkill(Skill):
    """What the four arm skills share: the action space, the base observation and the command."""

    embodiment = 'arm'
    control_rate_hz = 20.0
    action_names = ('dx', 'dy', 'dz', 'gripper_open')
    base_slots = (('ee_x', False), ('ee_y', False), ('ee_z', False), ('gripper_width', False), ('holding', False))
    noise_dims = (0, 1, 2)
    demo_noise = 0.004  # m, upper bound of the per-episode noise on executed end-effector steps

    def base_observation(self, robot: RobotObservation) -> List[float]:
        width = float(robot.gripper_width)
        return [*np.asarray(robot.position, float).tolist(), width, float(CLOSED_WIDTH < width < HOLDING_MAX)]

    def command(self, action: np.ndarray, robot: RobotObservation, targets: Targets,
                args: Dict[str, Any]) -> ArmCommand:
        action = self.checked_action(action)
        step = clip_norm(action[:3], MAX_STEP)
        target = into_reach(np.asarray(robot.position, float) + step)
        width = GRIPPER_OPEN if action[3] > 0.5 else 0.0
        return ArmCommand(ee_position=target, ee_quaternion=down_quaternion(float(targets['yaw'][0])),
                          gripper_width=width)

    def validate_scene_object(self, obj: PerceivedObject, affordance: str, minimum: float = 0.3) -> None:
        score = obj.affordances.get(affordance, 0.0)
        if score < minimum:
            raise SkillArgumentError(f"{self.name}: '{obj.id}' ({obj.color} {obj.label}) is not {affordance} "
                                     f'(score {score:.2f})')


def _feasible_object(skill: ArmSkill, scene: PerceivedScene, ref: str, argument: str, affordance: str,
                     reachable: Optional[Callable[[PerceivedObject], Any]] = None
                     ) -> Tuple[float, str, Optional[PerceivedObject]]:
    """(affordance score, why, the object), or (0, why, None) when it is not in the scene or out of reach.

    ``reachable(obj)`` runs the reach checks of the skill's own targets() (raising SkillArgumentError), so the
    planner never rates feasible what the skill refuses when it starts; without it the object's centre is
    checked against the nearest reach at any height.
    """
    try:
        obj = find_object(scene, ref, skill.name, argument)
    except SkillArgumentError as err:
        return 0.0, str(err), None
    try:
        if reachable is not None:
            reachable(obj)
        else:
            problem = reach_problem(np.asarray(obj.position, float), at_height=False)
            if problem:
                raise SkillArgumentError(f"'{obj.id}' is {problem}")
    except SkillArgumentError as err:
        return 0.0, str(err), None
    score = float(obj.affordances.get(affordance, 0.0))
    return score, f"'{obj.id}' is {affordance} ({score:.2f})", obj


# --- reach -----------------------------------------------------------------------------------------


class ReachSkill(ArmSkill):
    name = 'reach'
    description = ('Move the gripper (pointing down) to a point: a keypoint of an object raised by a height, '
                   'or a point [x, y, z] in the arm base frame.')
    args = (
        ArgSpec('object', 'object', 'object whose keypoint to reach', required=False),
        ArgSpec('part', 'choice', 'which keypoint of the object', required=False, default='top',
                choices=('top', 'center', 'grasp', 'left', 'right', 'front', 'back', 'rim', 'opening')),
        ArgSpec('height', 'number', 'how far above the keypoint', required=False, default=0.05, minimum=0.0,
                maximum=0.3, unit='m'),
        ArgSpec('point', 'point', 'a point in the arm base frame instead of an object', required=False),
        OFFSET,
    )
    max_duration_s = 6.0
    slots = (('target_dx', True), ('target_dy', True), ('target_dz', True))

    def validate(self, args: Any) -> Dict[str, Any]:
        values = super().validate(args)
        if (values['object'] is None) == (values['point'] is None):
            raise SkillArgumentError("reach: give exactly one of 'object' and 'point'")
        return values

    def targets(self, args, scene, robot) -> Targets:
        obj = None if args.get('point') is not None else find_object(scene, args['object'], self.name, 'object')
        return {'goal': self._goal(args, obj), 'yaw': np.array([gripper_yaw(robot.quaternion)])}

    def _goal(self, args: Dict[str, Any], obj: Optional[PerceivedObject]) -> np.ndarray:
        """The gripper's goal: the point, or the object's keypoint raised by the height; refused out of reach."""
        if obj is None:
            goal = np.asarray(args['point'], float)
        else:
            goal = keypoint(obj, args.get('part') or 'top', self.name) + np.array([0, 0, args.get('height') or 0.0])
        goal = goal + offset(args, self.name)
        goal[2] = max(goal[2], MIN_EE_HEIGHT + 0.01)
        check_reach(goal, self.name, 'the target')
        return goal

    def feasibility(self, args, scene) -> Tuple[float, str]:
        if args.get('point') is not None:
            try:
                self._goal(args, None)
            except SkillArgumentError as err:
                return 0.0, str(err)
            return 1.0, 'the point is in reach'
        _, why, obj = _feasible_object(self, scene, args['object'], 'object', 'graspable',
                                       lambda o: self._goal(args, o))
        return (1.0 if obj is not None else 0.0), why

    def observation(self, robot, targets, args) -> np.ndarray:
        rel = targets['goal'] - robot.position
        return np.array(self.base_observation(robot) + rel.tolist(), np.float32)

    def progress(self, robot, targets, args) -> Progress:
        distance = float(np.linalg.norm(targets['goal'] - robot.position))
        return Progress('approach' if distance > REACH_TOLERANCE else 'done', max(0.0, 1.0 - distance / 0.5), distance)

    def finished(self, robot, targets, args) -> bool:
        return float(np.linalg.norm(targets['goal'] - robot.position)) < 0.006

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        distance = float(np.linalg.norm(targets['goal'] - robot.position))
        if distance <= REACH_TOLERANCE:
            return True, f'the gripper is {distance * 1000:.1f} mm from the target'
        return False, f'the gripper stopped {distance * 1000:.1f} mm from the target (tolerance 10 mm)'


# --- pick ------------------------------------------------------------------------------------------------


class PickSkill(ArmSkill):
    name = 'pick'
    takes_hold = True
    description = 'Grasp an object from above at its grasp keypoint and lift it 8 cm.'
    args = (ArgSpec('object', 'object', 'the object to pick up'),)
    max_duration_s = 10.0
    slots = (('grasp_dx', True), ('grasp_dy', True), ('grasp_dz', True), ('grasp_width', True),
             ('object_height', True))

    def targets(self, args, scene, robot) -> Targets:
        obj = find_object(scene, args['object'], self.name, 'object')
        self.validate_scene_object(obj, 'graspable')
        point, grasp = self._grasp_point(obj), obj.keypoint('grasp')
        if grasp.width > GRIPPER_OPEN - 0.01:
            raise SkillArgumentError(f"pick: '{obj.id}' is {grasp.width * 100:.1f} cm wide; the gripper opens "
                                     f'{GRIPPER_OPEN * 100:.1f} cm')
        yaw = wrap_half_turn(2.0 * math.atan2(obj.quaternion[3], obj.quaternion[0]))
        return {'grasp': point, 'width': np.array([grasp.width]), 'height': np.array([float(obj.extent[2])]),
                'center': np.asarray(obj.position, float).copy(), 'yaw': np.array([yaw])}

    def _grasp_point(self, obj: PerceivedObject) -> np.ndarray:
        """Where the fingers close: the grasp keypoint, no lower than the gripper goes; refused out of reach
        (the nearest reach is the one at that height)."""
        grasp = obj.keypoint('grasp')
        if grasp is None:
            raise SkillArgumentError(f"pick: '{obj.id}' has no grasp keypoint")
        point = np.asarray(grasp.position, float).copy()
        point[2] = max(point[2], MIN_EE_HEIGHT)
        check_reach(point, self.name, f"'{obj.id}'")
        return point

    def feasibility(self, args, scene) -> Tuple[float, str]:
        score, why, _ = _feasible_object(self, scene, args['object'], 'object', 'graspable', self._grasp_point)
        return score, why

    def observation(self, robot, targets, args) -> np.ndarray:
        rel = targets['grasp'] - robot.position
        return np.array(self.base_observation(robot) + rel.tolist()
                        + [float(targets['width'][0]), float(targets['height'][0])], np.float32)

    def held_offset(self, targets: Targets) -> np.ndarray:
        """The gripper closes at the grasp point: the centre sits where it was relative to that point."""
        return np.asarray(targets['center'], float) - np.asarray(targets['grasp'], float)

    def _holding(self, robot: RobotObservation, targets: Targets) -> bool:
        return CLOSED_WIDTH < robot.gripper_width < float(targets['width'][0]) + 0.01

    def progress(self, robot, targets, args) -> Progress:
        offset = targets['grasp'] - robot.position
        if self._holding(robot, targets):
            lifted = -offset[2]
            return Progress('lift', float(np.clip(0.6 + 0.4 * lifted / LIFT, 0.0, 1.0)), max(0.0, LIFT - lifted))
        distance = float(np.linalg.norm(offset))
        return Progress('approach' if distance > 0.01 else 'grasp', float(np.clip(0.5 - distance, 0.0, 0.5)),
                        distance)

    def finished(self, robot, targets, args) -> bool:
        return self._holding(robot, targets) and robot.position[2] - targets['grasp'][2] >= LIFT - 0.01

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        if robot.gripper_width <= CLOSED_WIDTH:
            return False, 'the gripper closed on nothing'
        try:
            obj = find_object(scene, args['object'], self.name, 'object')
        except SkillArgumentError as err:
            # Between the fingers an object is often hidden from the camera: then the
            # gripper's opening and the lift say it is held.
            raised = float(robot.position[2] - targets['grasp'][2])
            if self._holding(robot, targets) and raised >= LIFT_SUCCESS:
                return True, (f"held: the gripper holds something {robot.gripper_width * 100:.1f} cm wide "
                              f'{raised * 100:.1f} cm above the grasp point (the object is hidden from the camera)')
            return False, str(err)
        lifted = float(obj.position[2] - targets['center'][2])
        if lifted < LIFT_SUCCESS:
            return False, f"'{obj.id}' rose {lifted * 100:.1f} cm (needs {LIFT_SUCCESS * 100:.0f} cm)"
        return True, f"'{obj.id}' is held {lifted * 100:.1f} cm above where it was"


# --- place -------------------------------------------------------------------------------------------------


class PlaceSkill(ArmSkill):
    name = 'place'
    description = ('Put the held object on a support (a box, cylinder or pad top), into a container (a bowl) or '
                   'at a free point on the table, then open and retreat.')
    args = (ArgSpec('object', 'object', 'the held object'),
            ArgSpec('target', 'object', 'where to put it: a container or a support', required=False),
            ArgSpec('point', 'point', 'or a free spot [x, y, z] on the table instead of a target, z at the table '
                    'surface (the held object\'s bottom goes there)', required=False),
            OFFSET)
    max_duration_s = 12.0
    slots = (('place_dx', True), ('place_dy', True), ('place_dz', True), ('held_dx', True), ('held_dy', True),
             ('held_dz', True), ('target_radius', True), ('container', True))

    def validate(self, args: Any) -> Dict[str, Any]:
        values = super().validate(args)
        if (values['target'] is None) == (values['point'] is None):
            raise SkillArgumentError("place: give exactly one of 'target' and 'point'")
        return values

    def targets(self, args, scene, robot) -> Targets:
        held = find_object(scene, args['object'], self.name, 'object')
        shift = offset(args, self.name)
        if args.get('point') is not None:
            surface = _table_spot(np.asarray(args['point'], float) + shift)
        else:
            target = find_object(scene, args['target'], self.name, 'target')
            surface = self._surface_of(target, held, shift)
            if not np.any(shift):  # the bowl stays the target; only where in it changes
                surface['place'] = surface['place'] + _room_in(target, held, scene)
        check_reach(surface['place'], self.name, surface.pop('what'))
        bottom = keypoint(held, 'bottom', self.name)
        held_offset = bottom - robot.position
        centre_offset = np.asarray(held.position, float)[:2] - robot.position[:2]
        if (held_offset[2] > -0.005 or float(np.hypot(*centre_offset)) > 0.03
                or not CLOSED_WIDTH < robot.gripper_width < float(min(held.extent[0], held.extent[1])) + 0.01):
            raise SkillArgumentError(f"place: '{held.id}' is not between the closed fingers: is it held?")
        return {**surface, 'held_offset': held_offset, 'yaw': np.array([gripper_yaw(robot.quaternion)])}

    def _surface_of(self, target: PerceivedObject, held: PerceivedObject, shift: np.ndarray) -> Targets:
        """Where on (or into) ``target`` the held object's bottom goes, and the target's outline for success."""
        if held.id == target.id:
            raise SkillArgumentError('place: the object and the target are the same')
        container = target.affordances.get('container', 0.0) >= 0.5
        if not container:
            self.validate_scene_object(target, 'support')
        return {'place': keypoint(target, 'opening' if container else 'top', self.name) + shift,
                'what': f"'{target.id}'",
                'radius': np.array([float(min(target.extent[0], target.extent[1]) / 2.0)]),
                'container': np.array([1.0 if container else 0.0]),
                'target_center': np.asarray(target.position, float) + shift,
                'target_extent': np.asarray(target.extent, float).copy(),
                'target_quaternion': np.asarray(target.quaternion, float).copy()}

    def release_height(self, targets: Targets) -> float:
        """The ee z at which the held object's bottom is just over the support (or clears the rim)."""
        clearance = 0.015 if targets['container'][0] > 0.5 else 0.012
        return float(targets['place'][2] - targets['held_offset'][2] + clearance)

    def feasibility(self, args, scene) -> Tuple[float, str]:
        _held_score, why, held = _feasible_object(self, scene, args['object'], 'object', 'graspable')
        if held is None:
            return 0.0, why
        if args.get('point') is not None:
            return _spot_feasibility(np.asarray(args['point'], float), held, scene)
        try:
            target = find_object(scene, args['target'], self.name, 'target')
        except SkillArgumentError as err:
            return 0.0, str(err)
        score = max(target.affordances.get('container', 0.0), target.affordances.get('support', 0.0))
        if min(target.extent[0], target.extent[1]) < max(held.extent[0], held.extent[1]) * 0.9:
            score *= 0.3
        return float(score), f"'{target.id}' holds things with score {score:.2f}"

    def observation(self, robot, targets, args) -> np.ndarray:
        rel = targets['place'] - robot.position
        return np.array(self.base_observation(robot) + rel.tolist() + targets['held_offset'].tolist()
                        + [float(targets['radius'][0]), float(targets['container'][0])], np.float32)

    def progress(self, robot, targets, args) -> Progress:
        offset = targets['place'] - robot.position
        horizontal = float(np.hypot(offset[0], offset[1]))
        if robot.gripper_width > 0.06:
            return Progress('retreat', 0.9, -1.0)
        phase = 'transport' if horizontal > 0.01 else 'lower'
        return Progress(phase, float(np.clip(0.8 - horizontal, 0.0, 0.8)), horizontal)

    def finished(self, robot, targets, args) -> bool:
        return robot.gripper_width > 0.07 and robot.position[2] >= self.release_height(targets) + RETREAT - 0.01

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        try:
            held = find_object(scene, args['object'], self.name, 'object')
        except SkillArgumentError as err:
            return self._hidden_in_container(robot, scene, targets, args) or (False, str(err))
        if robot.gripper_width < 0.06:
            return False, 'the gripper did not let go'
        centre, extent = targets['target_center'], targets['target_extent']
        yaw = 2.0 * math.atan2(targets['target_quaternion'][3], targets['target_quaternion'][0])
        d = np.asarray(held.position[:2], float) - centre[:2]
        c, s = math.cos(yaw), math.sin(yaw)
        local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])
        inside = (abs(local[0]) <= extent[0] / 2.0 and abs(local[1]) <= extent[1] / 2.0
                  and float(np.hypot(*local)) <= max(extent[0], extent[1]) / 2.0)
        surface = float(targets['place'][2])
        bottom = float(held.position[2] - (held.extent[2] / 2.0))
        resting = bottom <= surface + 0.02
        where = 'in' if targets['container'][0] > 0.5 else 'on'
        if not inside:
            return False, f"'{held.id}' is {np.hypot(*d) * 100:.1f} cm from the target's centre, outside it"
        if not resting:
            return False, f"'{held.id}' is not resting {where} the target (bottom at {bottom:.3f} m)"
        return True, f"'{held.id}' is {where} the target, {np.hypot(*d) * 100:.1f} cm from its centre"


    def _hidden_in_container(self, robot, scene, targets, args) -> Optional[Tuple[bool, str]]:
        """Let go over a bowl that is still where it was, and the object seen nowhere else: it lies in the bowl,
        below the rim or seen as part of the bowl's filling (perception draws one outline for both)."""
        if targets['container'][0] < 0.5 or robot.gripper_width < 0.06 or args.get('target') is None:
            return None
        try:
            bowl = find_object(scene, args['target'], self.name, 'target')
        except SkillArgumentError:
            return None
        moved = float(np.linalg.norm(np.asarray(bowl.position[:2], float) - targets['target_center'][:2]))
        over = float(np.linalg.norm(robot.position[:2] - targets['target_center'][:2]))
        if moved > 0.03 or over > float(targets['radius'][0]):
            return None
        return True, f"'{args['object']}' is in the target, out of sight (let go {over * 100:.1f} cm from its centre)"


def _room_in(target: PerceivedObject, held: PerceivedObject, scene: PerceivedScene) -> np.ndarray:
    """Where in a bowl that already holds things the held object goes: the point of its opening furthest from
    what is in it (at the centre it would land on top of them and stand above the rim); zero when it is empty
    or not a bowl."""
    if target.affordances.get('container', 0.0) < 0.5:
        return np.zeros(3)
    centre = np.asarray(target.position, float)[:2]
    radius = float(min(target.extent[0], target.extent[1]) / 2.0)
    inside = [np.asarray(o.position, float)[:2] for o in scene.objects
              if o.id not in (target.id, held.id) and np.linalg.norm(np.asarray(o.position, float)[:2] - centre)
              < radius]
    ring = radius - footprint_radius(held) - ROOM_MARGIN
    if not inside or ring <= 0.0:
        return np.zeros(3)
    spots = [np.array([math.cos(a), math.sin(a)]) * ring for a in np.linspace(0.0, 2.0 * math.pi, 12, endpoint=False)]
    best = max(spots, key=lambda d: min(np.linalg.norm(centre + d - o) for o in inside))
    return np.array([best[0], best[1], 0.0])


def _table_spot(point: np.ndarray) -> Targets:
    """A free point on the table as a place target: to the policy it looks like a small pad (the training
    pads' radii), never a container; success asks for the object within `SPOT_TOLERANCE` of the point."""
    return {'place': point, 'what': 'the spot', 'radius': np.array([SPOT_RADIUS]), 'container': np.array([0.0]),
            'target_center': point.copy(), 'target_extent': np.array([2 * SPOT_TOLERANCE, 2 * SPOT_TOLERANCE, 0.0]),
            'target_quaternion': np.array([1.0, 0.0, 0.0, 0.0])}


def _spot_feasibility(point: np.ndarray, held: PerceivedObject, scene: PerceivedScene) -> Tuple[float, str]:
    """A table spot is feasible when in reach and no other object's footprint overlaps the held one's there."""
    problem = reach_problem(point)
    if problem:
        return 0.0, f'the spot is {problem}'
    for obj in scene.objects:
        room = footprint_radius(obj) + footprint_radius(held)
        if obj.id != held.id and float(np.hypot(*(np.asarray(obj.position, float)[:2] - point[:2]))) < room:
            return 0.0, f"the spot at {np.round(point, 3).tolist()} is taken by '{obj.id}'"
    return SPOT_SCORE, 'the spot on the table is free and in reach'


# --- push ----------------------------------------------------------------------------------------------------


class PushSkill(ArmSkill):
    name = 'push'
    description = ('Push an object across the table with the closed gripper: direction in degrees '
                   '(0 = away from the robot, +x; 90 = left, +y) and distance.')
    args = (ArgSpec('object', 'object', 'the object to push'),
            ArgSpec('direction', 'number', 'push direction about z, from +x (forward) toward +y (left)',
                    minimum=-180.0, maximum=180.0, unit='deg'),
            ArgSpec('distance', 'number', 'how far to push', minimum=0.03, maximum=0.2, unit='m'))
    max_duration_s = 12.0
    slots = (('object_dx', True), ('object_dy', True), ('object_dz', True), ('pre_dx', True), ('pre_dy', True),
             ('pre_dz', True), ('end_dx', True), ('end_dy', True), ('end_dz', True), ('dir_x', False),
             ('dir_y', False), ('distance', False))
    direction_tolerance_deg = 25.0
    distance_tolerance = 0.3

    @staticmethod
    def unit(args: Dict[str, Any]) -> np.ndarray:
        a = math.radians(float(args['direction']))
        return np.array([math.cos(a), math.sin(a), 0.0])

    def targets(self, args, scene, robot) -> Targets:
        obj = find_object(scene, args['object'], self.name, 'object')
        self.validate_scene_object(obj, 'pushable')
        unit = self.unit(args)
        centre = np.asarray(obj.position, float).copy()
        yaw = 2.0 * math.atan2(obj.quaternion[3], obj.quaternion[0])
        c, s = math.cos(yaw), math.sin(yaw)
        along_x, along_y = abs(unit[0] * c + unit[1] * s), abs(-unit[0] * s + unit[1] * c)
        if obj.label == 'box':
            half = min(obj.extent[0] / 2.0 / max(along_x, 1e-9), obj.extent[1] / 2.0 / max(along_y, 1e-9))
        else:
            half = float(obj.extent[0] / 2.0)
        back = half + FINGER_HALF_THICKNESS
        pre = centre - unit * (back + PUSH_CLEARANCE)
        end = centre + unit * (float(args['distance']) - back)
        pre[2] = end[2] = PUSH_HEIGHT
        for point, what in ((pre, 'the push start'), (end, 'the push end'),
                            (centre + unit * float(args['distance']), 'the pushed object')):
            check_reach(point, self.name, what)
        return {'object': centre, 'pre': pre, 'end': end, 'yaw': np.array([wrap_half_turn(float(
            math.atan2(unit[1], unit[0])))])}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        score, why, _ = _feasible_object(self, scene, args['object'], 'object', 'pushable')
        return score, why

    def observation(self, robot, targets, args) -> np.ndarray:
        p = robot.position
        unit = self.unit(args)
        return np.array(self.base_observation(robot) + (targets['object'] - p).tolist() + (targets['pre'] - p).tolist()
                        + (targets['end'] - p).tolist() + [unit[0], unit[1], float(args['distance'])], np.float32)

    def progress(self, robot, targets, args) -> Progress:
        line = targets['end'] - targets['pre']
        t = float(np.clip(np.dot(robot.position - targets['pre'], line) / max(float(line @ line), 1e-9), 0, 1))
        low = robot.position[2] < PUSH_HEIGHT + 0.02
        phase = 'push' if low and t > 0.0 else ('approach' if t < 0.5 else 'retreat')
        return Progress(phase, t, float(np.linalg.norm(targets['end'] - robot.position)))

    def finished(self, robot, targets, args) -> bool:
        retreat = targets['end'] + np.array([0.0, 0.0, RETREAT])
        return float(np.linalg.norm(retreat - robot.position)) < 0.02

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        try:
            obj = find_object(scene, args['object'], self.name, 'object')
        except SkillArgumentError as err:
            return False, str(err)
        moved = np.asarray(obj.position[:2], float) - targets['object'][:2]
        distance = float(np.linalg.norm(moved))
        wanted = float(args['distance'])
        angle = math.degrees(math.atan2(moved[1], moved[0])) if distance > 1e-6 else 180.0
        error = abs((angle - float(args['direction']) + 180.0) % 360.0 - 180.0)
        summary = f"'{obj.id}' moved {distance * 100:.1f} cm at {angle:.0f} deg (asked {wanted * 100:.1f} cm at " \
                  f"{float(args['direction']):.0f} deg)"
        if abs(distance - wanted) > self.distance_tolerance * wanted:
            return False, summary + ': distance off by more than 30%'
        if error > self.direction_tolerance_deg:
            return False, summary + f': direction off by {error:.0f} deg'
        return True, summary

