"""Dexterous hand skills: grasp, release and rotate, as keypoint-conditioned closed-loop policies.

The hand (urdf/hand.urdf) hangs palm-down from a wrist gantry (x, y, z slides
and a yaw joint); its fingers point along the palm's +x and the thumb sits on
its +y side. Every hand skill shares one action space and one kind of
observation:

- the **grasp site** is a point fixed in the palm frame, `GRASP_SITE`, between
  the pads of the index and middle fingers and the thumb where a pinch holds an
  object's centre. The skills move this point, not the palm, so "stay where
  the object is" is a zero step whatever the yaw does.
- action: ``[dx, dy, dz, dyaw, grip]``: a grasp-site step in the world frame
  (metres, clipped to `MAX_STEP` per control tick), a wrist yaw step (radians,
  clipped to `MAX_YAW_STEP`) and a grip bit (> 0.5 closes the fingers at once,
  else opens them gently, `OPEN_RATE` per tick). `command` turns it into wrist
  joint targets and the finger targets of a fixed two-pose synergy
  (`HAND_OPEN`, `HAND_CLOSED`): sixteen finger joints driven by one scalar
  keeps the action small and learnable, and the soft finger servos stop on the
  object, so the same closed pose pinches objects from 3 to 5 cm across.
- observation: the grasp site (world frame), the palm yaw as sine and cosine,
  the measured closure of the fingers along the synergy (0 open, 1 closed on
  nothing) and a "holding" flag from it, then the skill's target keypoints
  *relative to the grasp site* and its numeric arguments.

Everything here reads the hand's joint states (`hand_observation`) and a
perceived scene, never the simulator's ground truth.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.sim.robots import HAND_FINGER_JOINTS, HAND_JOINTS, HAND_WRIST_JOINTS
from skill_stack.skills.base import HandCommand, Progress, RobotObservation, Skill, Targets, clip_norm
from skill_stack.skills.objects import find_object
from skill_stack.skills.schema import ArgSpec, SkillArgumentError
from skill_stack.skills.sim_perception import wrap_half_turn

PALM_HEIGHT = 0.25  # m: palm frame z at wrist_z = 0 (urdf/hand.urdf, joint wrist_x origin)
# Palm frame: where a pinch holds an object's centre. The fingertip pads close at this depth
# below the palm, the thumb from -x, index and middle from +x (at y 0.04 and 0: 2 cm either side).
GRASP_SITE = np.array([0.05, 0.02, -0.07])
# The finger synergy, joints in HAND_FINGER_JOINTS order (index, middle, ring, thumb x joint0..3).
# Found by inverse kinematics of the pads (fingertip sphere centres) at the grasp site's depth:
# open puts the finger pads 5 cm in front of the site and the thumb pad 5 cm behind it (room for a
# 5 cm object and 1.3 cm to spare each side); closed puts them 1.2 cm in front and 1.7 cm behind,
# past any object's surface, so the soft servos (sim/robots.py) press on it with a moderate force.
# A harder squeeze lets the three fingers overpower the thumb and tilt the object.
HAND_OPEN = np.array((0.000, 0.554, 0.844, 0.960) * 3 + (1.220, 0.221, 1.204, 1.109))
HAND_CLOSED = np.array((0.000, 0.891, 1.013, 0.980) * 3 + (1.227, 0.763, 0.954, 1.077))
# Digits whose closure is measured: the ring finger closes beside the object and touches nothing.
_MEASURED_DIGITS = (0, 1, 3)  # index, middle, thumb
MAX_STEP = 0.01  # m of grasp-site travel per control tick (0.2 m/s at 20 Hz)
MAX_YAW_STEP = 0.08  # rad of wrist yaw per control tick (1.6 rad/s)
# Where the wrist may be sent: its travel (config/hand.yaml) less a margin, and a palm height that
# keeps the open fingertips off the table.
PALM_LOW = np.array([-0.195, -0.195, 0.085])
PALM_HIGH = np.array([0.195, 0.195, 0.39])
YAW_LIMIT = math.pi - 0.05
HOLD_CLOSURE = (0.15, 0.85)  # measured closure between these: the fingers stopped on something, it is held
OPEN_CLOSURE = 0.15  # below this the hand is open
OPEN_RATE = 0.1  # closure per control tick the fingers open by, at most
HAND_MAX_WIDTH = 0.05  # m across the pinch: wider objects do not fit between the open pads
HAND_MAX_HEIGHT = 0.08  # m: taller objects would reach the palm
GRASPABLE_SHAPES = ('box', 'cylinder', 'sphere')
MIN_GRASP_Z = 0.02  # m: the pads close at least this high, clear of the table
LIFT = 0.08  # m grasp lifts the grasp site by
LIFT_SUCCESS = 0.04  # m the perceived object must have risen for grasp to count
HELD_RADIUS = 0.04  # m: an object whose centre is this close to the grasp site, with the hand closed, is held
WITHDRAW = 0.03  # m release lifts the pads above the object's top
ROTATE_TOLERANCE_DEG = 15.0


# --- the hand's state -------------------------------------------------------------------------------


def yaw_quaternion(yaw: float) -> np.ndarray:
    return np.array([math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)])


def hand_observation(names: Sequence[str], positions: Sequence[float], stamp: float = 0.0) -> RobotObservation:
    """The hand as a skill sees it, from a joint state alone (what the skill server gets over ROS):
    the palm position from the wrist slides, its orientation from wrist_yaw, every joint in
    HAND_JOINTS order."""
    values = dict(zip(names, np.asarray(positions, float).tolist(), strict=True))
    missing = [name for name in HAND_JOINTS if name not in values]
    if missing:
        raise ValueError(f'hand joint state lacks {missing}')
    joints = np.array([values[name] for name in HAND_JOINTS], float)
    if not np.all(np.isfinite(joints)):
        raise ValueError(f'hand joint state is not finite: {joints.tolist()}')
    x, y, z, yaw = joints[:len(HAND_WRIST_JOINTS)]
    return RobotObservation(embodiment='hand', position=np.array([x, y, z + PALM_HEIGHT]),
                            quaternion=yaw_quaternion(yaw), joints=joints, stamp=float(stamp))


def palm_yaw(robot: RobotObservation) -> float:
    w, _x, _y, z = robot.quaternion
    return 2.0 * math.atan2(z, w)


def rotate_z(yaw: float, vector: np.ndarray) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    v = np.asarray(vector, float)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]])


def grasp_site(robot: RobotObservation, yaw: Optional[float] = None) -> np.ndarray:
    """The grasp site in the world: the palm plus `GRASP_SITE` turned by the palm's (or ``yaw``) yaw."""
    return np.asarray(robot.position, float) + rotate_z(palm_yaw(robot) if yaw is None else yaw, GRASP_SITE)


def closure(robot: RobotObservation) -> float:
    """How far the index, middle and thumb have closed along the synergy: 0 open, 1 closed on nothing;
    a held object stops them in between (about 0.3 for 5 cm, 0.6 for 3 cm)."""
    fingers = np.asarray(robot.joints, float)[len(HAND_WRIST_JOINTS):]
    if fingers.shape != HAND_OPEN.shape:
        return 0.0
    span = (HAND_CLOSED - HAND_OPEN).reshape(4, 4)
    moved = (fingers - HAND_OPEN).reshape(4, 4)
    per_digit = [float(moved[d] @ span[d] / (span[d] @ span[d])) for d in _MEASURED_DIGITS]
    return float(np.clip(np.mean(per_digit), -0.5, 1.5))


def holding(robot: RobotObservation) -> bool:
    return HOLD_CLOSURE[0] < closure(robot) < HOLD_CLOSURE[1]


def wrap_angle(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def object_yaw(obj: PerceivedObject) -> float:
    w, _x, _y, z = obj.quaternion
    return 2.0 * math.atan2(z, w)


# --- the shared skill ------------------------------------------------------------------------------------


class HandSkill(Skill):
    """What the three hand skills share: the action space, the base observation and the command."""

    embodiment = 'hand'
    control_rate_hz = 20.0
    action_names = ('dx', 'dy', 'dz', 'dyaw', 'grip')
    base_slots = (('site_x', False), ('site_y', False), ('site_z', False), ('yaw_sin', False), ('yaw_cos', False),
                  ('closure', False), ('holding', False))
    noise_dims = (0, 1, 2, 3)
    demo_noise = 0.003  # m, upper bound of the per-episode noise on executed grasp-site steps
    yaw_noise_per_m = 10.0  # rad of yaw-step noise per metre of step noise (0.003 m: 0.03 rad, 1.7 deg)

    def perturb(self, action: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
        """Demonstration noise (DART) on the grasp-site step and, scaled to radians, on the yaw step."""
        out = np.array(action, float)
        if sigma > 0.0:
            out[:3] += rng.normal(0.0, sigma, 3)
            out[3] += rng.normal(0.0, sigma * self.yaw_noise_per_m)
        return out

    def base_observation(self, robot: RobotObservation) -> list:
        yaw = palm_yaw(robot)
        return [*grasp_site(robot).tolist(), math.sin(yaw), math.cos(yaw), closure(robot), float(holding(robot))]

    def command(self, action: np.ndarray, robot: RobotObservation, targets: Targets,
                args: Dict[str, Any]) -> HandCommand:
        action = self.checked_action(action)
        step = clip_norm(action[:3], MAX_STEP)
        yaw = float(np.clip(palm_yaw(robot) + np.clip(action[3], -MAX_YAW_STEP, MAX_YAW_STEP), -YAW_LIMIT, YAW_LIMIT))
        palm = grasp_site(robot) + step - rotate_z(yaw, GRASP_SITE)
        palm = np.clip(palm, PALM_LOW, PALM_HIGH)
        if action[4] > 0.5:
            fingers = HAND_CLOSED
        else:
            # Open gently: a little past where the fingers are now, so a held object is let go of evenly
            # (snapping open kicks it, and a ball rolls away).
            fingers = HAND_OPEN + max(0.0, min(closure(robot), 1.0) - OPEN_RATE) * (HAND_CLOSED - HAND_OPEN)
        joints = {'wrist_x': float(palm[0]), 'wrist_y': float(palm[1]), 'wrist_z': float(palm[2] - PALM_HEIGHT),
                  'wrist_yaw': yaw}
        joints.update({name: float(v) for name, v in zip(HAND_FINGER_JOINTS, fingers, strict=True)})
        return HandCommand(joints=joints)

    # helpers shared by the skills

    def find(self, scene: PerceivedScene, ref: str, argument: str = 'object') -> PerceivedObject:
        return find_object(scene, ref, self.name, argument)

    def held_object(self, scene: PerceivedScene, robot: RobotObservation, ref: Optional[str]) -> PerceivedObject:
        """The object between the closed fingers (the one ``ref`` names, or the nearest), or a refusal."""
        site = grasp_site(robot)
        if ref is not None:
            obj = self.find(scene, ref)
            distance = float(np.linalg.norm(np.asarray(obj.position, float) - site))
            if not holding(robot) or distance > HELD_RADIUS:
                raise SkillArgumentError(f"{self.name}: '{obj.id}' is not held ({distance * 100:.1f} cm from the "
                                         f'grasp point, hand closure {closure(robot):.2f}); grasp it first')
            return obj
        if not holding(robot):
            raise SkillArgumentError(f'{self.name}: the hand holds nothing (closure {closure(robot):.2f})')
        near = sorted(scene.objects, key=lambda o: float(np.linalg.norm(np.asarray(o.position, float) - site)))
        if not near or float(np.linalg.norm(np.asarray(near[0].position, float) - site)) > HELD_RADIUS:
            raise SkillArgumentError(f'{self.name}: no perceived object between the fingers (none within '
                                     f'{HELD_RADIUS * 100:.0f} cm of the grasp point)')
        return near[0]

    def check_fits(self, obj: PerceivedObject) -> None:
        if obj.label not in GRASPABLE_SHAPES:
            raise SkillArgumentError(f"{self.name}: '{obj.id}' is a {obj.label}; the hand pinches boxes, cylinders "
                                     'and spheres')
        width = float(min(obj.extent[0], obj.extent[1]))
        if width > HAND_MAX_WIDTH:
            raise SkillArgumentError(f"{self.name}: '{obj.id}' is {width * 100:.1f} cm across; the hand's pinch "
                                     f'takes up to {HAND_MAX_WIDTH * 100:.0f} cm')
        if float(obj.extent[2]) > HAND_MAX_HEIGHT:
            raise SkillArgumentError(f"{self.name}: '{obj.id}' is {obj.extent[2] * 100:.1f} cm tall; the hand "
                                     f'takes objects up to {HAND_MAX_HEIGHT * 100:.0f} cm tall')

    @staticmethod
    def support(scene: Optional[PerceivedScene]) -> float:
        return float(scene.support_height) if scene is not None and scene.support_height is not None else 0.0


def _hand_fit(obj: PerceivedObject) -> float:
    """1 when the object fits the pinch with room, falling to 0 just past the limits."""
    width = float(min(obj.extent[0], obj.extent[1]))
    wide = float(np.clip((HAND_MAX_WIDTH + 0.008 - width) / 0.008, 0.0, 1.0))
    tall = float(np.clip((HAND_MAX_HEIGHT + 0.02 - float(obj.extent[2])) / 0.02, 0.0, 1.0))
    return wide * tall * (1.0 if obj.label in GRASPABLE_SHAPES else 0.0)


def _grasp_yaw(obj: PerceivedObject, current: float) -> float:
    """The palm yaw a grasp of ``obj`` takes: a box across its shorter side (perception's x is the longer
    one), whichever of the two ways round is nearer ``current``; anything round at ``current``."""
    if obj.label != 'box':
        return current
    yaw = current + wrap_half_turn(object_yaw(obj) + math.pi / 2.0 - current)
    if abs(yaw) > YAW_LIMIT:
        yaw -= math.copysign(math.pi, yaw)
    return yaw


def _in_travel(point: np.ndarray, yaw: float) -> bool:
    palm = np.asarray(point, float) - rotate_z(yaw, GRASP_SITE)
    return bool(np.all(np.abs(palm[:2]) <= PALM_HIGH[0]))


# --- grasp -----------------------------------------------------------------------------------------------


class GraspSkill(HandSkill):
    name = 'grasp'
    takes_hold = True
    description = ('Pinch an object (box, cylinder or sphere up to 5 cm across and 8 cm tall) between the thumb '
                   'and the fingers, at its centre height, and lift it 8 cm; the hand keeps holding it. Boxes '
                   'are taken across their shorter side.')
    args = (ArgSpec('object', 'object', 'the object to grasp'),)
    max_duration_s = 6.0
    slots = (('grasp_dx', True), ('grasp_dy', True), ('grasp_dz', True), ('yaw_error', True), ('width', True),
             ('height', True))

    def targets(self, args, scene, robot) -> Targets:
        obj = self.find(scene, args['object'])
        self.check_fits(obj)
        centre = np.asarray(obj.position, float).copy()
        point = centre.copy()
        point[2] = max(point[2], self.support(scene) + MIN_GRASP_Z)
        yaw = _grasp_yaw(obj, palm_yaw(robot))
        if not _in_travel(point, yaw):
            raise SkillArgumentError(f"grasp: '{obj.id}' at {np.round(centre, 3).tolist()} is out of the wrist's "
                                     f'travel (+-{PALM_HIGH[0]:.2f} m)')
        return {'grasp': point, 'center': centre, 'yaw': np.array([yaw]),
                'width': np.array([float(min(obj.extent[0], obj.extent[1]))]),
                'height': np.array([float(obj.extent[2])])}

    def held_offset(self, targets: Targets) -> np.ndarray:
        """Held, the object's grasp point is at the grasp site: its centre sits this far from the palm."""
        return rotate_z(float(targets['yaw'][0]), GRASP_SITE) + (targets['center'] - targets['grasp'])

    def feasibility(self, args, scene) -> Tuple[float, str]:
        try:
            obj = self.find(scene, args['object'])
        except SkillArgumentError as err:
            return 0.0, str(err)
        score = float(obj.affordances.get('graspable', 0.0)) * _hand_fit(obj)
        if not _in_travel(np.asarray(obj.position, float), _grasp_yaw(obj, 0.0)):
            return 0.0, f"'{obj.id}' is out of the wrist's travel"
        return score, f"'{obj.id}' fits the hand's pinch with score {score:.2f}"

    def observation(self, robot, targets, args) -> np.ndarray:
        rel = targets['grasp'] - grasp_site(robot)
        yaw_error = wrap_angle(float(targets['yaw'][0]) - palm_yaw(robot))
        return np.array(self.base_observation(robot) + rel.tolist()
                        + [yaw_error, float(targets['width'][0]), float(targets['height'][0])], np.float32)

    def progress(self, robot, targets, args) -> Progress:
        offset = targets['grasp'] - grasp_site(robot)
        if holding(robot):
            lifted = -float(offset[2])
            return Progress('lift', float(np.clip(0.6 + 0.4 * lifted / LIFT, 0.0, 1.0)), max(0.0, LIFT - lifted))
        distance = float(np.linalg.norm(offset))
        return Progress('approach' if distance > 0.01 else 'grasp', float(np.clip(0.5 - distance, 0.0, 0.5)), distance)

    def finished(self, robot, targets, args) -> bool:
        return holding(robot) and grasp_site(robot)[2] - targets['grasp'][2] >= LIFT - 0.01

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        if not holding(robot):
            return False, f'the hand holds nothing (closure {closure(robot):.2f})'
        try:
            obj = self.find(scene, args['object'])
        except SkillArgumentError as err:
            # The palm often hides what it holds from the camera: then the grip and the lift say it is held.
            raised = float(grasp_site(robot)[2] - targets['grasp'][2])
            if raised >= LIFT_SUCCESS:
                return True, (f'held: the hand grips something (closure {closure(robot):.2f}) '
                              f'{raised * 100:.1f} cm above the grasp point (the object is hidden from the camera)')
            return False, str(err)
        lifted = float(obj.position[2] - targets['center'][2])
        if lifted < LIFT_SUCCESS:
            return False, f"'{obj.id}' rose {lifted * 100:.1f} cm (needs {LIFT_SUCCESS * 100:.0f} cm)"
        off = float(np.linalg.norm(np.asarray(obj.position, float) - grasp_site(robot)))
        if off > HELD_RADIUS:
            return False, f"'{obj.id}' is {off * 100:.1f} cm from the grasp point: not in the hand"
        return True, f"'{obj.id}' is held {lifted * 100:.1f} cm above where it was"


# --- release ---------------------------------------------------------------------------------------------


class ReleaseSkill(HandSkill):
    name = 'release'
    description = ('Set the held object down on the table straight below where it is, open the hand and '
                   'withdraw the fingers above it. Without an object argument it releases whatever is between '
                   'the fingers.')
    args = (ArgSpec('object', 'object', 'the held object (default: whatever the hand holds)', required=False),)
    max_duration_s = 6.0
    slots = (('set_dz', True), ('clear_dz', True), ('height', True))

    def targets(self, args, scene, robot) -> Targets:
        obj = self.held_object(scene, robot, args.get('object'))
        site = grasp_site(robot)
        support = self.support(scene)
        height = float(obj.extent[2])
        bottom = float(obj.position[2]) - height / 2.0
        if bottom < support - 0.01:
            raise SkillArgumentError(f"release: '{obj.id}' is below the table ({bottom:.3f} m)")
        # grasp-site heights at which the object's bottom touches the table, and the pads clear its top
        set_z = float(site[2] - (bottom - support))
        clear_z = support + height + WITHDRAW
        return {'center': np.asarray(obj.position, float).copy(), 'set_z': np.array([set_z]),
                'clear_z': np.array([clear_z]), 'height': np.array([height]), 'support': np.array([support])}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        if args.get('object') is None:
            return 1.0, 'releases whatever the hand holds'
        try:
            obj = self.find(scene, args['object'])
        except SkillArgumentError as err:
            return 0.0, str(err)
        return 1.0, f"'{obj.id}' can be set down where it is"

    def observation(self, robot, targets, args) -> np.ndarray:
        z = float(grasp_site(robot)[2])
        return np.array([*self.base_observation(robot), z - float(targets['set_z'][0]),
                         z - float(targets['clear_z'][0]), float(targets['height'][0])], np.float32)

    def progress(self, robot, targets, args) -> Progress:
        z = float(grasp_site(robot)[2])
        if closure(robot) < OPEN_CLOSURE:
            left = max(0.0, float(targets['clear_z'][0]) - z)
            return Progress('withdraw' if left > 0.005 else 'done', 0.7 + 0.3 * float(np.clip(1.0 - left / 0.1, 0, 1)),
                            left)
        left = max(0.0, z - float(targets['set_z'][0]))
        return Progress('lower' if left > 0.003 else 'release', float(np.clip(0.6 - left * 5.0, 0.0, 0.6)), left)

    def finished(self, robot, targets, args) -> bool:
        return closure(robot) < OPEN_CLOSURE and grasp_site(robot)[2] >= float(targets['clear_z'][0]) - 0.005

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        if closure(robot) >= OPEN_CLOSURE:
            return False, f'the hand did not open (closure {closure(robot):.2f})'
        candidates = [o for o in scene.objects if args.get('object') is None or o.id == args['object']]
        if args.get('object') is not None and not candidates:
            try:
                candidates = [self.find(scene, args['object'])]
            except SkillArgumentError as err:
                return False, str(err)
        if not candidates:
            return False, 'no object in the scene'
        centre = targets['center']
        obj = min(candidates, key=lambda o: float(np.linalg.norm(np.asarray(o.position[:2], float) - centre[:2])))
        support = float(targets['support'][0])
        height = float(obj.extent[2])
        rest = float(obj.position[2]) - (support + height / 2.0)
        moved = float(np.linalg.norm(np.asarray(obj.position[:2], float) - centre[:2]))
        clearance = float(grasp_site(robot)[2]) - (support + height)
        if abs(rest) > 0.01:
            return False, f"'{obj.id}' is not resting upright on the table (centre {rest * 100:+.1f} cm off)"
        if moved > 0.03:
            return False, f"'{obj.id}' came down {moved * 100:.1f} cm from where it was held (allowed 3 cm)"
        if clearance < WITHDRAW - 0.01:
            return False, f'the fingers are {clearance * 100:.1f} cm above the object, not withdrawn'
        return True, f"'{obj.id}' is on the table {moved * 100:.1f} cm from where it was held; the hand is clear"


# --- rotate ----------------------------------------------------------------------------------------------


class RotateSkill(HandSkill):
    name = 'rotate'
    description = ('Turn a held box in the hand about the vertical axis (z) by an angle, counter-clockwise '
                   'seen from above for positive angles, keeping it where it is; start from a grasp (it does not '
                   'grasp by itself) and it ends still holding the object. Judged on the perceived yaw within '
                   f'{ROTATE_TOLERANCE_DEG:.0f} deg, which perception defines modulo a half turn (a box looks '
                   'the same turned by 180 deg), so only boxes can be rotated.')
    args = (ArgSpec('object', 'object', 'the held box'),
            ArgSpec('axis', 'choice', 'rotation axis: z is vertical', required=False, default='z', choices=('z',)),
            ArgSpec('angle', 'number', 'how far to turn, counter-clockwise seen from above', minimum=-90.0,
                    maximum=90.0, unit='deg'))
    max_duration_s = 5.0
    slots = (('center_dx', True), ('center_dy', True), ('center_dz', True), ('yaw_to_go', True))

    def targets(self, args, scene, robot) -> Targets:
        obj = self.held_object(scene, robot, args['object'])
        if obj.label != 'box':
            raise SkillArgumentError(f"rotate: '{obj.id}' is a {obj.label}; its turn about z cannot be perceived "
                                     '(rotate takes boxes)')
        yaw = palm_yaw(robot)
        goal = yaw + math.radians(float(args['angle']))
        if abs(goal) > YAW_LIMIT:
            raise SkillArgumentError(f"rotate: turning by {args['angle']:.0f} deg takes the wrist to "
                                     f'{math.degrees(goal):.0f} deg, past its limit of +-{math.degrees(YAW_LIMIT):.0f}')
        centre = np.asarray(obj.position, float).copy()
        offset = rotate_z(-yaw, centre - grasp_site(robot))  # where the object sits in the hand, palm frame
        return {'center': centre, 'offset': offset, 'yaw_goal': np.array([goal]),
                'object_yaw': np.array([object_yaw(obj)]),
                'rest_z': np.array([self.support(scene) + float(obj.extent[2]) / 2.0])}

    def feasibility(self, args, scene) -> Tuple[float, str]:
        try:
            obj = self.find(scene, args['object'])
        except SkillArgumentError as err:
            return 0.0, str(err)
        if obj.label != 'box':
            return 0.0, f"'{obj.id}' is a {obj.label}: a turn about z cannot be seen"
        score = float(obj.affordances.get('rotatable', 0.0)) * _hand_fit(obj)
        return score, f"'{obj.id}' is rotatable in the hand with score {score:.2f}"

    def held_centre(self, robot: RobotObservation, targets: Targets) -> np.ndarray:
        """Where the object's centre is now if it turned with the hand."""
        return grasp_site(robot) + rotate_z(palm_yaw(robot), targets['offset'])

    def observation(self, robot, targets, args) -> np.ndarray:
        error = targets['center'] - self.held_centre(robot, targets)
        to_go = wrap_angle(float(targets['yaw_goal'][0]) - palm_yaw(robot))
        return np.array(self.base_observation(robot) + error.tolist() + [to_go], np.float32)

    def progress(self, robot, targets, args) -> Progress:
        to_go = abs(wrap_angle(float(targets['yaw_goal'][0]) - palm_yaw(robot)))
        total = max(abs(math.radians(float(args['angle']))), 1e-6)
        return Progress('turn' if to_go > 0.02 else 'done', float(np.clip(1.0 - to_go / total, 0.0, 1.0)), -1.0)

    def finished(self, robot, targets, args) -> bool:
        return abs(wrap_angle(float(targets['yaw_goal'][0]) - palm_yaw(robot))) < 0.02

    def success(self, robot, scene, targets, args) -> Tuple[bool, str]:
        if scene is None:
            return False, 'no scene to check the object in'
        try:
            obj = self.find(scene, args['object'])
        except SkillArgumentError as err:
            return False, str(err)
        if float(obj.position[2]) < float(targets['rest_z'][0]) + 0.02:
            return False, f"'{obj.id}' is no longer held up (dropped)"
        off = float(np.linalg.norm(np.asarray(obj.position, float) - grasp_site(robot)))
        if off > HELD_RADIUS + 0.01:
            return False, f"'{obj.id}' is {off * 100:.1f} cm from the grasp point: not in the hand"
        turned = math.degrees(wrap_half_turn(object_yaw(obj) - float(targets['object_yaw'][0])))
        error = math.degrees(wrap_half_turn(math.radians(turned - float(args['angle']))))
        summary = f"'{obj.id}' turned {turned:.0f} deg (modulo 180; asked {float(args['angle']):.0f})"
        if abs(error) > ROTATE_TOLERANCE_DEG:
            return False, summary + f': off by {abs(error):.0f} deg'
        return True, summary
