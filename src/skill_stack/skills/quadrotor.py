"""Quadrotor skills: take_off, fly_to, land and hover, as keypoint-conditioned closed-loop policies.

Every quadrotor skill shares one action space and one kind of observation:

- action: ``[dx, dy, dz]``, a position set-point *relative to the vehicle* (a
  "carrot", m), clipped to `MAX_STEP_XY` horizontally and `MAX_STEP_Z`
  vertically and kept inside the geofence; the flight controller's position
  loop flies toward it within its speed and tilt limits, so a carrot at full
  length means full speed and a carrot on the target means arrive and hold.
  ``land`` adds a fourth entry, ``land`` (> 0.5: hand over to the flight
  controller's landing, which descends at the current xy and disarms on
  touchdown). The heading is not learned: it stays as it was when the skill
  started (``targets['yaw']``).
- observation: height, world-frame velocity and an airborne flag (proprioception,
  from nav_msgs/Odometry and the driver's status), then the skill's target point
  *relative to the vehicle* (a perceived pad's top, a point argument, or where
  the vehicle was when the skill began), clipped to `OBS_RANGE`. No absolute
  x, y: the policies are the same anywhere in the field.

``keypoint_slots`` marks the target-relative entries (as the arm's reach does
for a point argument); the end-to-end baseline of `evaluate.py` is trained and
run with them zeroed, so it acts from proprioception alone. Success checks read
only the robot observation and a perceived scene.

Commands map onto the quadrotor's ROS interface (nodes/device_interface.py,
QuadrotorInterface) one to one: ``arm`` -> the ``arm`` service (SetBool true)
while driver_status says not armed; ``land`` -> the ``land`` service (Trigger),
no set-point that tick; otherwise ``position`` and ``yaw`` -> one
``setpoint_position`` PoseStamped (frame ``world``, yaw as a rotation about z).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.drivers.quadrotor import QuadrotorConfig, load_quadrotor_config, yaw_of
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.skills.base import Progress, QuadrotorCommand, RobotObservation, Skill, Targets
from skill_stack.skills.objects import find_object, keypoint
from skill_stack.skills.schema import ArgSpec, SkillArgumentError

MAX_STEP_XY = 0.7  # m: a carrot this long makes the position loop (gain 1.5 /s) ask for full speed (1 m/s)
MAX_STEP_Z = 0.35  # m: likewise for the 0.5 m/s vertical limit
OBS_RANGE_XY = 2.0  # m: farther targets are seen in their direction at this distance (the carrot saturates)
OBS_RANGE_Z = 2.0
STAND_HEIGHT = 0.08  # m: body origin above the ground when the vehicle stands on its legs (urdf/quadrotor.urdf)
LIFTOFF_HEIGHT = 0.05  # m above standing at which the vehicle counts as airborne (the flight controller's rule)
MAX_OFFSET = 1.0  # m, the longest target shift a correction may ask for
APPROACH_HEIGHT = 0.5  # m above the landing spot the land skill descends to before handing over to landing
LAND_READY_HEIGHT = 0.8  # m above the spot under which landing may start
LAND_READY_DISTANCE = 0.05  # m horizontally from the spot within which landing starts
LAND_READY_SPEED = 0.15  # m/s horizontal speed under which landing starts
LAND_TOLERANCE = 0.15  # m: a landing on a point (or "here") counts within this of it
ARRIVE_TOLERANCE = 0.15  # m: fly_to and take_off count as arrived within this (take_off: of the height, 0.1)
TAKEOFF_TOLERANCE = 0.1
TAKEOFF_DRIFT = 0.3  # m horizontal drift from the take-off point that take_off still counts as straight up
HOVER_TOLERANCE = 0.1  # m: hover must stay within this of its point for the whole duration
HOVER_SETTLE_S = 4.0  # s hover may take to brake and come back to its point before it gives up
SETTLED_SPEED = 0.25  # m/s: slower than this counts as holding (arrival, take-off, hover)


@functools.lru_cache(maxsize=1)
def default_config() -> QuadrotorConfig:
    """The driver's limits (config/quadrotor.yaml): the geofence every skill target must lie in."""
    return load_quadrotor_config()


def quadrotor_observation(position, quaternion, velocity, armed: bool, stamp: float,
                          landed: Optional[bool] = None) -> RobotObservation:
    """The robot observation from what ROS carries: nav_msgs/Odometry (``position``; ``quaternion`` w, x, y, z;
    ``velocity``, the twist's linear part, in the *body* frame as Odometry carries it) and the driver_status
    values ``armed`` and ``landed`` (the flight controller's land detector). Without ``landed`` the vehicle
    counts as airborne when armed and over `LIFTOFF_HEIGHT` above standing."""
    position = np.asarray(position, float).reshape(3).copy()
    quaternion = np.asarray(quaternion, float).reshape(4).copy()
    world_velocity = rotation_matrix(quaternion) @ np.asarray(velocity, float).reshape(3)
    if landed is None:
        landed = position[2] < STAND_HEIGHT + LIFTOFF_HEIGHT
    return RobotObservation(embodiment='quadrotor', position=position, quaternion=quaternion,
                            velocity=world_velocity, airborne=bool(armed) and not bool(landed), stamp=float(stamp))


def rotation_matrix(quaternion) -> np.ndarray:
    """Body-to-world rotation of a quaternion (w, x, y, z), normalised first."""
    w, x, y, z = np.asarray(quaternion, float) / max(float(np.linalg.norm(quaternion)), 1e-12)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def carrot(position: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """The action that flies from ``position`` toward ``goal``: the offset, clipped to the step limits."""
    step = np.asarray(goal, float) - np.asarray(position, float)
    return clip_step(step)


def clip_step(step: np.ndarray) -> np.ndarray:
    step = np.array(step, float)
    horizontal = float(math.hypot(step[0], step[1]))
    if horizontal > MAX_STEP_XY:
        step[:2] *= MAX_STEP_XY / horizontal
    step[2] = float(np.clip(step[2], -MAX_STEP_Z, MAX_STEP_Z))
    return step


def relative(point: np.ndarray, robot: RobotObservation) -> List[float]:
    """``point`` relative to the vehicle, clipped to the observation range (direction kept)."""
    rel = np.asarray(point, float) - robot.position
    horizontal = float(math.hypot(rel[0], rel[1]))
    if horizontal > OBS_RANGE_XY:
        rel[:2] *= OBS_RANGE_XY / horizontal
    rel[2] = float(np.clip(rel[2], -OBS_RANGE_Z, OBS_RANGE_Z))
    return rel.tolist()


def offset(args: Dict[str, Any], skill: str) -> np.ndarray:
    """The ``offset`` argument as a vector (zero when absent); refused beyond `MAX_OFFSET`."""
    value = np.asarray(args.get('offset') or (0.0, 0.0, 0.0), float)
    if float(np.linalg.norm(value)) > MAX_OFFSET:
        raise SkillArgumentError(f"{skill}: argument 'offset' {value.tolist()} is longer than {MAX_OFFSET} m")
    return value


def _offset_spec(frame_note: str = '') -> ArgSpec:
    return ArgSpec('offset', 'point', f'shift of the goal [dx, dy, dz] in the world frame, at most {MAX_OFFSET} m '
                   f'(what live corrections such as "a bit to the left" set){frame_note}', required=False)


class QuadrotorSkill(Skill):
    """What the four quadrotor skills share: the action space, the base observation, the command and the fence."""

    embodiment = 'quadrotor'
    control_rate_hz = 20.0
    action_names = ('dx', 'dy', 'dz')
    base_slots = (('z', False), ('vx', False), ('vy', False), ('vz', False), ('airborne', False))
    noise_dims = (0, 1, 2)
    demo_noise = 0.08  # m, upper bound of the per-episode noise on executed carrots
    #: the command asks to arm while the vehicle is on the ground (take_off only)
    arms = False

    def __init__(self, config: Optional[QuadrotorConfig] = None):
        self.config = config if config is not None else default_config()
        self.args = self.make_args(self.config)

    def make_args(self, config: QuadrotorConfig) -> Tuple[ArgSpec, ...]:
        return type(self).args

    # --- the geofence -----------------------------------------------------------------

    def fence_low(self) -> np.ndarray:
        c = self.config
        return np.array([c.fence_x_min, c.fence_y_min, c.fence_z_min])

    def fence_high(self) -> np.ndarray:
        c = self.config
        return np.array([c.fence_x_max, c.fence_y_max, c.fence_z_max])

    def inside_fence(self, point: np.ndarray) -> np.ndarray:
        """``point`` clamped into the geofence, ``fence_margin`` from the side walls and the ceiling."""
        margin = self.config.fence_margin
        low, high = self.fence_low(), self.fence_high()
        low[:2] += margin
        high -= margin
        return np.clip(np.asarray(point, float), low, high)

    def check_fence(self, point: np.ndarray, what: str, floor: bool = True) -> None:
        """SkillArgumentError naming the axis when ``point`` is outside the geofence (``floor``: z too)."""
        margin = self.config.fence_margin
        low, high = self.fence_low(), self.fence_high()
        for index, axis in enumerate('xyz'):
            if axis == 'z' and not floor:
                continue
            value = float(point[index])
            lo = low[index] + (margin if axis != 'z' else 0.0)
            hi = high[index] - margin
            if value < lo or value > hi:
                side = 'below' if value < lo else 'above'
                bound = lo if value < lo else hi
                extra = '; lower than that, land' if axis == 'z' and value < lo else ''
                raise SkillArgumentError(
                    f'{self.name}: {what} at {np.round(point, 2).tolist()} is outside the geofence: '
                    f'{axis}={value:.2f} m is {side} {bound:g} m{extra}')

    def require_airborne(self, robot: RobotObservation) -> None:
        if not robot.airborne:
            raise SkillArgumentError(f'{self.name}: the vehicle is not flying (on the ground at '
                                     f'z={robot.position[2]:.2f} m); take off first')

    # --- observation and command ------------------------------------------------------

    def base_observation(self, robot: RobotObservation) -> List[float]:
        v = np.asarray(robot.velocity, float)
        return [float(robot.position[2]), float(v[0]), float(v[1]), float(v[2]), float(robot.airborne)]

    def command(self, action: np.ndarray, robot: RobotObservation, targets: Targets,
                args: Dict[str, Any]) -> QuadrotorCommand:
        return self.setpoint_command(self.checked_action(action)[:3], robot, targets)

    def setpoint_command(self, step: np.ndarray, robot: RobotObservation, targets: Targets) -> QuadrotorCommand:
        """The position set-point ``step`` (clipped) from the vehicle, inside the geofence, at the start heading."""
        setpoint = self.inside_fence(np.asarray(robot.position, float) + clip_step(step))
        return QuadrotorCommand(position=setpoint, yaw=float(targets['yaw'][0]),
                                arm=bool(self.arms and not robot.airborne))

    def target_observation(self, robot: RobotObservation, point: np.ndarray) -> np.ndarray:
        return np.array(self.base_observation(robot) + relative(point, robot), np.float32)


def speed(robot: RobotObservation) -> float:
    return float(np.linalg.norm(robot.velocity))


def _heading(robot: RobotObservation) -> np.ndarray:
    return np.array([yaw_of(np.asarray(robot.quaternion, float))])


# --- take_off ------------------------------------------------------------------------------------------


class TakeOffSkill(QuadrotorSkill):
    name = 'take_off'
    description = ('Arm and climb straight up from the ground to a height (world z, m above the take-off ground) '
                   'and hover there.')
    max_duration_s = 12.0
    arms = True
    slots = (('target_dx', True), ('target_dy', True), ('target_dz', True))

    def make_args(self, config):
        return (ArgSpec('height', 'number', 'height to hover at, above the ground (inside the geofence)',
                        required=False, default=1.0, minimum=config.fence_z_min,
                        maximum=config.fence_z_max - config.fence_margin, unit='m'),)

    def targets(self, args, scene, robot) -> Targets:
        if robot.airborne:
            raise SkillArgumentError(f'take_off: already flying (z={robot.position[2]:.2f} m); use fly_to to change '
                                     'height')
        goal = np.array([robot.position[0], robot.position[1], float(args['height'])])
        self.check_fence(goal, 'the take-off point')
        return {'goal': goal, 'yaw': _heading(robot)}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        height = float(args.get('height') or 1.0)
        if not self.config.fence_z_min <= height <= self.config.fence_z_max - self.config.fence_margin:
            return 0.0, f'{height:g} m is outside the geofence heights'
        return 1.0, f'can climb to {height:g} m (if on the ground)'

    def observation(self, robot, targets, args) -> np.ndarray:
        return self.target_observation(robot, targets['goal'])

    def progress(self, robot, targets, args) -> Progress:
        error = float(targets['goal'][2] - robot.position[2])
        climbed = float(robot.position[2] - STAND_HEIGHT)
        total = max(float(targets['goal'][2]) - STAND_HEIGHT, 1e-6)
        phase = 'climb' if robot.airborne or climbed > 0.0 else 'arm'
        if robot.airborne and abs(error) < TAKEOFF_TOLERANCE:
            phase = 'hover'
        return Progress(phase, float(np.clip(climbed / total, 0.0, 1.0)), abs(error))

    def finished(self, robot, targets, args) -> bool:
        return (robot.airborne and abs(float(targets['goal'][2] - robot.position[2])) < 0.07
                and speed(robot) < 0.15)

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        error = float(robot.position[2] - targets['goal'][2])
        drift = float(np.hypot(*(robot.position[:2] - targets['goal'][:2])))
        summary = f'at z={robot.position[2]:.2f} m (asked {targets["goal"][2]:.2f} m), {drift:.2f} m from the ' \
                  f'take-off point, {speed(robot):.2f} m/s'
        if not robot.airborne:
            return False, f'not airborne: {summary}'
        if abs(error) > TAKEOFF_TOLERANCE:
            return False, f'{summary}: height off by more than {TAKEOFF_TOLERANCE} m'
        if drift > TAKEOFF_DRIFT:
            return False, f'{summary}: drifted more than {TAKEOFF_DRIFT} m sideways'
        if speed(robot) > SETTLED_SPEED:
            return False, f'{summary}: still moving'
        return True, f'hovering {summary}'


# --- fly_to ------------------------------------------------------------------------------------------


class FlyToSkill(QuadrotorSkill):
    name = 'fly_to'
    description = ('Fly to a height above an object (a landing pad: "the red pad") or to a point [x, y, z] in the '
                   'world frame, and hover there; offset shifts the goal.')
    args = (
        ArgSpec('target', 'object', 'object to fly above, e.g. "the red pad"', required=False),
        ArgSpec('point', 'point', 'goal [x, y, z] in the world frame (m), instead of target; flown to as given',
                required=False),
        ArgSpec('height', 'number', "how far above the target object's top (with 'target')", required=False,
                default=1.0, minimum=0.0, maximum=3.0, unit='m'),
        _offset_spec(),
    )
    max_duration_s = 20.0
    slots = (('goal_dx', True), ('goal_dy', True), ('goal_dz', True))

    def validate(self, args: Any) -> Dict[str, Any]:
        values = super().validate(args)
        if (values['target'] is None) == (values['point'] is None):
            raise SkillArgumentError("fly_to: give exactly one of 'target' and 'point'")
        return values

    def goal(self, args: Dict[str, Any], scene: PerceivedScene) -> np.ndarray:
        if args.get('point') is not None:
            goal = np.asarray(args['point'], float).copy()
        else:
            obj = find_object(scene, args['target'], self.name, 'target')
            goal = keypoint(obj, 'top', self.name) + np.array([0.0, 0.0, float(args.get('height') or 0.0)])
        return goal + offset(args, self.name)

    def targets(self, args, scene, robot) -> Targets:
        self.require_airborne(robot)
        goal = self.goal(args, scene)
        self.check_fence(goal, 'the goal')
        return {'goal': goal, 'yaw': _heading(robot)}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        try:
            goal = self.goal(args, scene)
            self.check_fence(goal, 'the goal')
        except SkillArgumentError as err:
            return 0.0, str(err)
        return 1.0, f'the goal {np.round(goal, 2).tolist()} is inside the geofence (if airborne)'

    def observation(self, robot, targets, args) -> np.ndarray:
        return self.target_observation(robot, targets['goal'])

    def progress(self, robot, targets, args) -> Progress:
        distance = float(np.linalg.norm(targets['goal'] - robot.position))
        phase = 'fly' if distance > ARRIVE_TOLERANCE else ('arrive' if speed(robot) > SETTLED_SPEED else 'hover')
        return Progress(phase, float(np.clip(1.0 - distance / 5.0, 0.0, 1.0)), distance)

    def finished(self, robot, targets, args) -> bool:
        return float(np.linalg.norm(targets['goal'] - robot.position)) < 0.1 and speed(robot) < 0.15

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        distance = float(np.linalg.norm(targets['goal'] - robot.position))
        summary = f'{distance:.3f} m from the goal at {speed(robot):.2f} m/s'
        if not robot.airborne:
            return False, f'not airborne, {summary}'
        if distance > ARRIVE_TOLERANCE:
            return False, f'{summary} (tolerance {ARRIVE_TOLERANCE} m)'
        if speed(robot) > SETTLED_SPEED:
            return False, f'{summary}: not holding there'
        return True, f'hovering {summary}'


# --- land ---------------------------------------------------------------------------------------------


class LandSkill(QuadrotorSkill):
    name = 'land'
    description = ('Land on a pad ("the green pad"), at a point [x, y, z] (on the ground under it), or where the '
                   'vehicle is when neither is given; the motors stop on touchdown.')
    args = (
        ArgSpec('target', 'object', 'a landing pad, e.g. "the green pad"', required=False),
        ArgSpec('point', 'point', 'land on the ground under [x, y, z] (world frame, m; z is ignored)',
                required=False),
        _offset_spec(' (dz is ignored: the vehicle lands on the surface)'),
    )
    action_names = ('dx', 'dy', 'dz', 'land')
    max_duration_s = 20.0
    slots = (('spot_dx', True), ('spot_dy', True), ('spot_dz', True))

    def validate(self, args: Any) -> Dict[str, Any]:
        values = super().validate(args)
        if values['target'] is not None and values['point'] is not None:
            raise SkillArgumentError("land: give at most one of 'target' and 'point' (neither: land where it is)")
        return values

    def pad(self, args: Dict[str, Any], scene: PerceivedScene) -> PerceivedObject:
        obj = find_object(scene, args['target'], self.name, 'target')
        score = obj.affordances.get('landable', 0.0)
        if score < 0.5:
            raise SkillArgumentError(f"land: '{obj.id}' ({obj.color} {obj.label}) is not a landing pad "
                                     f'(landable {score:.2f})')
        return obj

    def targets(self, args, scene, robot) -> Targets:
        self.require_airborne(robot)
        shift = offset(args, self.name)
        shift[2] = 0.0
        if args.get('target') is not None:
            obj = self.pad(args, scene)
            spot = keypoint(obj, 'top', self.name) + shift
            radius = float(min(obj.extent[0], obj.extent[1]) / 2.0)
            tolerance = max(radius, 0.05)
        elif args.get('point') is not None:
            spot = np.array([*np.asarray(args['point'], float)[:2], 0.0]) + shift
            tolerance = LAND_TOLERANCE
        else:
            spot = np.array([robot.position[0], robot.position[1], 0.0]) + shift
            tolerance = LAND_TOLERANCE
        self.check_fence(spot, 'the landing spot', floor=False)
        return {'spot': spot, 'tolerance': np.array([tolerance]), 'yaw': _heading(robot)}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        if args.get('target') is None:
            return 1.0, 'lands on the ground (if airborne)'
        try:
            obj = self.pad(args, scene)
            self.check_fence(keypoint(obj, 'top', self.name), f"'{obj.id}'", floor=False)
        except SkillArgumentError as err:
            return 0.0, str(err)
        return float(obj.affordances.get('landable', 0.0)), f"'{obj.id}' is a landing pad"

    def observation(self, robot, targets, args) -> np.ndarray:
        return self.target_observation(robot, targets['spot'])

    def command(self, action, robot, targets, args) -> QuadrotorCommand:
        action = self.checked_action(action)
        if action[3] > 0.5:
            return QuadrotorCommand(position=np.asarray(robot.position, float).copy(), yaw=float(targets['yaw'][0]),
                                    land=True)
        return self.setpoint_command(action[:3], robot, targets)

    def progress(self, robot, targets, args) -> Progress:
        spot = targets['spot']
        horizontal = float(np.hypot(*(spot[:2] - robot.position[:2])))
        height = float(robot.position[2] - spot[2] - STAND_HEIGHT)
        if not robot.airborne:
            return Progress('landed', 1.0, horizontal)
        phase = 'approach' if horizontal > LAND_READY_DISTANCE * 2 else 'descend'
        return Progress(phase, float(np.clip(0.8 - 0.1 * horizontal - 0.1 * height, 0.0, 0.9)), horizontal)

    def finished(self, robot, targets, args) -> bool:
        return not robot.airborne

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        spot = np.asarray(targets['spot'], float)
        if scene is not None and args.get('target') is not None:
            try:  # the pad as perception sees it now (pads do not move, but the camera has the last word)
                obj = self.pad(args, scene)
                shift = offset(args, self.name)
                spot = keypoint(obj, 'top', self.name) + np.array([shift[0], shift[1], 0.0])
            except SkillArgumentError:
                pass
        horizontal = float(np.hypot(*(spot[:2] - robot.position[:2])))
        tolerance = float(targets['tolerance'][0])
        height = float(robot.position[2] - spot[2])
        summary = f'{horizontal:.3f} m from the landing spot (tolerance {tolerance:.2f} m)'
        if robot.airborne:
            return False, f'still flying at z={robot.position[2]:.2f} m, {summary}'
        if height > STAND_HEIGHT + 0.12:
            return False, f'not on the surface: z={robot.position[2]:.2f} m, {summary}'
        if horizontal > tolerance:
            return False, f'landed {summary}: off target'
        return True, f'landed {summary}'


# --- hover --------------------------------------------------------------------------------------------


class HoverSkill(QuadrotorSkill):
    name = 'hover'
    description = ('Hold the position the vehicle is at when the skill starts for a duration (braking and coming '
                   'back first if it was moving).')
    args = (ArgSpec('duration', 'number', 'how long to hold the position', required=False, default=2.0,
                    minimum=0.0, maximum=30.0, unit='s'),)
    max_duration_s = 30.0 + HOVER_SETTLE_S + 1.0
    slots = (('hold_dx', True), ('hold_dy', True), ('hold_dz', True))

    def targets(self, args, scene, robot) -> Targets:
        self.require_airborne(robot)
        hold = self.inside_fence(np.asarray(robot.position, float))
        # hold_since: when the vehicle first settled at the point (NaN before); worst: the largest
        # deviation seen since. Updated by progress/finished, which the control loop calls every tick.
        return {'hold': hold, 'yaw': _heading(robot), 'start': np.array([robot.stamp]),
                'hold_since': np.array([math.nan]), 'worst': np.array([0.0])}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        return 1.0, 'hovers where it is (if airborne)'

    def observation(self, robot, targets, args) -> np.ndarray:
        return self.target_observation(robot, targets['hold'])

    @staticmethod
    def _track(robot: RobotObservation, targets: Targets) -> float:
        error = float(np.linalg.norm(targets['hold'] - robot.position))
        if math.isnan(targets['hold_since'][0]):
            if error < HOVER_TOLERANCE / 2.0 and speed(robot) < SETTLED_SPEED / 2.0:
                targets['hold_since'][0] = robot.stamp
                targets['worst'][0] = error
        else:
            targets['worst'][0] = max(float(targets['worst'][0]), error)
        return error

    def progress(self, robot, targets, args) -> Progress:
        error = self._track(robot, targets)
        since = float(targets['hold_since'][0])
        if math.isnan(since):
            return Progress('brake', 0.0, error)
        duration = max(float(args['duration']), 1e-6)
        return Progress('hold', float(np.clip((robot.stamp - since) / duration, 0.0, 1.0)), error)

    def finished(self, robot, targets, args) -> bool:
        self._track(robot, targets)
        since = float(targets['hold_since'][0])
        if math.isnan(since):
            return robot.stamp - float(targets['start'][0]) > float(args['duration']) + HOVER_SETTLE_S
        return robot.stamp - since >= float(args['duration'])

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        error = self._track(robot, targets)
        since = float(targets['hold_since'][0])
        if not robot.airborne:
            return False, 'not airborne'
        if math.isnan(since):
            return False, f'never settled at the hover point within {HOVER_SETTLE_S:g} s (now {error:.3f} m off)'
        held = robot.stamp - since
        worst = float(targets['worst'][0])
        summary = f'held {held:.1f} s (asked {float(args["duration"]):.1f} s), at most {worst:.3f} m off'
        if held < float(args['duration']) - 1e-6:
            return False, f'{summary}: not long enough'
        if worst > HOVER_TOLERANCE:
            return False, f'{summary}: beyond the {HOVER_TOLERANCE} m tolerance'
        return True, summary
