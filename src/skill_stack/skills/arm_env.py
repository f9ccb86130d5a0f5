"""The simulated environment arm skills train and are evaluated in.

An `ArmEnv` (a `SimEnv`, skills/sim_env.py: world, clock, perception's view,
ground truth) builds a seeded random scene made for one skill (a graspable
object for pick, an object held over a container or support for place, a free
object and a clear path for push, a keypoint or a free point for reach) with an
`ArmDriver` on the sim backends. `observe()` builds a `RobotObservation` from
the driver's state, as the skill server does from the driver's topics.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import ArmConfig, load_arm_config
from skill_stack.drivers.ik import ArmIK
from skill_stack.drivers.sim_backends import SimGripperBackend, SimJointBackend
from skill_stack.sim.footprint import Circle, footprint, overlaps
from skill_stack.sim.random_scenes import random_object
from skill_stack.sim.scene_file import SceneFileError, SceneSpec, parse_scene
from skill_stack.skills.sim_env import SimEnv, grown, random_color
from skill_stack.skills.sim_perception import POSITION_NOISE

FINGERTIP_BELOW_EE = 0.02  # the fingertips reach this far below the ee frame (urdf/arm.urdf)
MIN_EE_HEIGHT = 0.024  # ee z that keeps the fingertips just off the table
ARM_SKILLS = ('reach', 'pick', 'place', 'push')
# Where task objects are drawn: radius from the arm base and bearing, well inside its reach.
TASK_RADIUS = (0.38, 0.56)
TASK_BEARING = math.radians(50.0)
# Where episodes start: the gripper pointing down over the workspace, above the tallest object.
START_RADIUS = (0.38, 0.58)
START_BEARING = math.radians(55.0)
START_HEIGHT = (0.18, 0.35)


def down_quaternion(yaw: float) -> np.ndarray:
    """w, x, y, z of the gripper pointing straight down, its finger axis (ee y) at ``yaw`` from world y."""
    return np.array([0.0, -math.sin(yaw / 2.0), math.cos(yaw / 2.0), 0.0])


def gripper_yaw(quaternion: np.ndarray) -> float:
    """Inverse of `down_quaternion` for any down-pointing ee: the yaw of its finger axis."""
    w, x, y, z = quaternion
    # second column of the rotation matrix: the ee y axis in the world
    ey_x = 2.0 * (x * y - w * z)
    ey_y = 1.0 - 2.0 * (x * x + z * z)
    return math.atan2(-ey_x, ey_y)


class ArmEnv(SimEnv):
    """A seeded arm world for one skill; see the module docstring."""

    embodiment = 'arm'
    skills = ARM_SKILLS

    def __init__(self, skill: str, position_noise: float = POSITION_NOISE, config: Optional[ArmConfig] = None,
                 distractors: Tuple[int, int] = (0, 3)):
        super().__init__(skill, position_noise)
        self.config = config if config is not None else load_arm_config()
        self.distractors = distractors
        self._ik: Optional[ArmIK] = None

    # --- episodes -------------------------------------------------------------------

    def _generate(self, rng):
        return _GENERATORS[self.skill](rng, self.distractors)

    def _start(self, rng: np.random.Generator) -> bool:
        """The gripper open, pointing down at a random pose above the objects, where the previous skill may have
        left it; place starts from a held object, just picked by the scripted expert."""
        if self.skill != 'place':
            self._move_to_random_start(rng)
            return True
        from skill_stack.skills.arm_experts import scripted_grasp  # here: the expert builds on this module
        return scripted_grasp(self, self.task.args['object'], lift=float(rng.uniform(0.06, 0.12)))

    def _move_to_random_start(self, rng: np.random.Generator) -> None:
        """Drive the end-effector to a random top-down pose over the workspace (a skill starts wherever the
        last one ended; policies trained only from home stall short of targets elsewhere)."""
        r = math.sqrt(rng.uniform(START_RADIUS[0] ** 2, START_RADIUS[1] ** 2))
        bearing = rng.uniform(-START_BEARING, START_BEARING)
        goal = np.array([r * math.cos(bearing), r * math.sin(bearing), rng.uniform(*START_HEIGHT)])
        pose = (goal, down_quaternion(float(rng.uniform(-math.pi / 2.0, math.pi / 2.0))))
        for _ in range(40):  # streamed, as a client would (the driver's watchdog holds a silent arm)
            self.driver.command_pose(*pose)
            self.advance(0.05)

    def _build(self, scene: SceneSpec) -> None:
        world = self._new_world(scene)
        if self._ik is None:
            self._ik = ArmIK(self.config.ik, self.config.limits(order=world.joint_names))
        self.driver = ArmDriver(SimJointBackend(world), SimGripperBackend(world), self.config,
                                clock=lambda: world.time, ik=self._ik)
        self.driver.connect()
        self.driver.update()

    # --- the robot's view and acting ----------------------------------------------------------

    def observe(self):
        """RobotObservation from the driver's state (what the skill server gets on the real arm too)."""
        from skill_stack.skills.base import RobotObservation

        state = self.driver.state()
        return RobotObservation(embodiment='arm', position=np.asarray(state.ee_position, float),
                                quaternion=np.asarray(state.ee_quaternion, float),
                                joints=np.asarray(state.joints.positions, float),
                                gripper_width=float(state.gripper_width), stamp=float(state.joints.stamp))

    def apply(self, command) -> None:
        """Send an ArmCommand through the driver's safety layer (CommandError when refused)."""
        self.driver.command_pose(command.ee_position, command.ee_quaternion)
        self.driver.command_gripper(command.gripper_width)


# --- task generators ----------------------------------------------------------------------------


def _task_xy(rng: np.random.Generator, radius: Tuple[float, float] = TASK_RADIUS,
             bearing: float = TASK_BEARING) -> List[float]:
    r = math.sqrt(rng.uniform(radius[0] ** 2, radius[1] ** 2))
    a = rng.uniform(-bearing, bearing)
    return [round(r * math.cos(a), 4), round(r * math.sin(a), 4)]


def _small_graspable(rng: np.random.Generator, name: str, max_width: float = 0.06,
                     shapes: Tuple[str, ...] = ('box', 'cylinder', 'sphere')) -> Dict[str, Any]:
    shape = str(rng.choice(shapes))
    if shape == 'box':
        a, b = rng.uniform(0.03, max_width), rng.uniform(0.03, 0.07)
        size = [a, b, rng.uniform(0.03, 0.08)]
    elif shape == 'cylinder':
        size = [rng.uniform(0.015, max_width / 2.0), rng.uniform(0.03, 0.08)]
    else:
        size = [rng.uniform(0.016, min(0.025, max_width / 2.0))]
    return {'name': name, 'shape': shape, 'color': random_color(rng), 'size': [round(float(s), 4) for s in size],
            'yaw': round(float(rng.uniform(-math.pi, math.pi)), 4)}


def _place(rng: np.random.Generator, placed: List[Dict[str, Any]], obj: Dict[str, Any],
           draw: Callable[[], List[float]], min_gap: float = 0.03, keep_clear: Optional[Callable] = None,
           attempts: int = 200) -> bool:
    """Put ``obj`` at a drawn position where the scene stays valid and ``min_gap`` from everything placed."""
    for _ in range(attempts):
        obj['position'] = draw()
        try:
            scene = parse_scene({'embodiment': 'arm', 'objects': [*placed, obj]})
        except SceneFileError:
            continue
        new = grown(footprint(scene.objects[-1]), min_gap / 2.0)
        if any(overlaps(new, grown(footprint(other), min_gap / 2.0)) for other in scene.objects[:-1]):
            continue
        if keep_clear is not None and not keep_clear(scene.objects[-1]):
            continue
        placed.append(dict(obj))
        return True
    return False


def _add_distractors(rng: np.random.Generator, placed: List[Dict[str, Any]], count: Tuple[int, int],
                     keep_clear: Optional[Callable] = None, min_gap: float = 0.05) -> None:
    for i in range(int(rng.integers(count[0], count[1] + 1))):
        obj = random_object(rng, f'd{i}', max_height=0.10)
        _place(rng, placed, obj, lambda: _task_xy(rng, (0.25, 0.62), math.radians(60.0)), min_gap=min_gap,
               keep_clear=keep_clear, attempts=30)


def _scene(objects: List[Dict[str, Any]], rng: np.random.Generator) -> SceneSpec:
    seed = int(rng.integers(0, 2**31 - 1))
    return parse_scene({'embodiment': 'arm', 'seed': seed, 'objects': objects}, source=f'arm task (seed {seed})')


def _generate_pick(rng, distractors):
    while True:
        placed: List[Dict[str, Any]] = []
        target = _small_graspable(rng, 'target')
        if _place(rng, placed, target, lambda: _task_xy(rng)):
            break
    _add_distractors(rng, placed, distractors)
    return _scene(placed, rng), {'object': 'target'}, {'shape': target['shape']}


def _generate_place(rng, distractors):
    while True:
        placed: List[Dict[str, Any]] = []
        kind = str(rng.choice(['bowl', 'pad', 'box', 'cylinder']))
        if kind == 'bowl':
            size = [rng.uniform(0.065, 0.09), rng.uniform(0.03, 0.05)]
        elif kind == 'pad':
            size = [rng.uniform(0.05, 0.08)]
        elif kind == 'box':
            size = [rng.uniform(0.07, 0.1), rng.uniform(0.07, 0.1), rng.uniform(0.02, 0.05)]
        else:
            size = [rng.uniform(0.04, 0.055), rng.uniform(0.02, 0.05)]
        support = {'name': 'target', 'shape': kind, 'color': random_color(rng),
                   'size': [round(float(s), 4) for s in size], 'yaw': round(float(rng.uniform(-math.pi, math.pi)), 4)}
        held = _small_graspable(rng, 'held', max_width=0.045, shapes=('box', 'cylinder'))
        if kind != 'bowl':
            held['size'][-1] = round(float(min(held['size'][-1], 0.06)), 4)
        if held['shape'] == 'box':
            held['size'][1] = round(float(min(held['size'][1], 0.05)), 4)
        if (_place(rng, placed, support, lambda: _task_xy(rng))
                and _place(rng, placed, held, lambda: _task_xy(rng), min_gap=0.08)):
            break
    _add_distractors(rng, placed, distractors)
    return _scene(placed, rng), {'object': 'held', 'target': 'target'}, {'target_shape': kind}


def _generate_push(rng, distractors):
    while True:
        placed: List[Dict[str, Any]] = []
        obj = _small_graspable(rng, 'target', max_width=0.06, shapes=('box', 'cylinder'))
        width = min(obj['size'][:2]) if obj['shape'] == 'box' else 2.0 * obj['size'][0]
        # Tall, slender things topple when pushed: keep height within 1.5 widths.
        obj['size'][-1] = round(float(min(max(obj['size'][-1], 0.035), 1.5 * width)), 4)
        direction = float(rng.uniform(-180.0, 180.0))
        distance = float(rng.uniform(0.05, 0.15))
        if not _place(rng, placed, obj, lambda: _task_xy(rng)):
            continue
        start = np.array(placed[0]['position'])
        unit = np.array([math.cos(math.radians(direction)), math.sin(math.radians(direction))])
        end = start + distance * unit
        pre = start - 0.08 * unit
        ok = all(0.37 <= float(np.hypot(*p)) <= 0.57 and p[0] > 0.05 for p in (end, pre))
        if ok:
            break

    def clear_of_path(spec) -> bool:
        shape = footprint(spec)
        centre = np.array([shape.x, shape.y])
        reach = shape.radius if isinstance(shape, Circle) else math.hypot(shape.half_x, shape.half_y)
        return _segment_distance(centre, pre, end) > reach + 0.08

    _add_distractors(rng, placed, distractors, keep_clear=clear_of_path)
    return (_scene(placed, rng), {'object': 'target', 'direction': round(direction, 2), 'distance': round(distance, 4)},
            {})


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def _generate_reach(rng, distractors):
    placed: List[Dict[str, Any]] = []
    if rng.uniform() < 0.5:
        while True:
            placed = []
            obj = random_object(rng, 'target', max_height=0.10)
            if not _place(rng, placed, obj, lambda: _task_xy(rng)):
                continue
            part = str(rng.choice(['top', 'center', 'left', 'right', 'front', 'back']))
            height = round(float(rng.uniform(0.03, 0.12)), 3)
            if part != 'top':
                height = round(float(rng.uniform(0.06, 0.14)), 3)  # above the object, not into it
            side = {'left': (0, 1), 'right': (0, -1), 'front': (-1, 0), 'back': (1, 0)}.get(part, (0, 0))
            reach = 0.5 * max(obj['size'][:2]) if obj['shape'] == 'box' else obj['size'][0]
            x, y = obj['position'][0] + side[0] * reach, obj['position'][1] + side[1] * reach
            if 0.37 <= math.hypot(x, y) <= 0.6:  # the keypoint itself in top-down reach
                break
        args: Dict[str, Any] = {'object': 'target', 'part': part, 'height': height}
        _add_distractors(rng, placed, distractors)
    else:
        xy = _task_xy(rng, (0.37, 0.58), math.radians(60.0))
        point = [xy[0], xy[1], round(float(rng.uniform(0.05, 0.3)), 4)]
        args = {'point': point}
        _add_distractors(rng, placed, distractors,
                         keep_clear=lambda spec: math.hypot(footprint(spec).x - xy[0], footprint(spec).y - xy[1])
                         > 0.12)
    return _scene(placed, rng), args, {}


_GENERATORS = {'pick': _generate_pick, 'place': _generate_place, 'push': _generate_push, 'reach': _generate_reach}
