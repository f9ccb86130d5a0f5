"""The simulated environment hand skills train and are evaluated in.

A `HandEnv` (a `SimEnv`, skills/sim_env.py: world, clock, perception's view,
ground truth) builds a seeded random scene made for one skill (an object the
hand can pinch, with a few distractors kept clear of it) with a `HandDriver`
on the sim joint backend. Release and rotate start from a
held object: `reset()` runs the grasp expert first and lifts the object to a
random height, as `ArmEnv` does for place (for release the pinch is also
anywhere from the object's centre up, so where the object's bottom is must
come from perception, not from how grasp holds things).

What a skill sees comes through the same doors as on the robot: `observe()`
builds a `RobotObservation` from the driver's joint state alone
(`hand.hand_observation`, what the skill server gets over ROS), and
`perceive()` a `PerceivedScene` (skills/sim_perception.py). `ground_truth_*`
is the privilege of experts and data generation only; no skill method reads it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.drivers.config import HandConfig, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.sim_backends import SimJointBackend
from skill_stack.sim.footprint import footprint, overlaps
from skill_stack.sim.random_scenes import random_object
from skill_stack.sim.scene_file import SceneFileError, SceneSpec, parse_scene
from skill_stack.skills.hand import hand_observation
from skill_stack.skills.sim_env import SimEnv, grown, random_color
from skill_stack.skills.sim_perception import POSITION_NOISE

HAND_SKILLS = ('grasp', 'release', 'rotate')
TASK_HALF = 0.12  # m: task objects lie within +-this in x and y, so the wrist reaches round them at any yaw
DISTRACTOR_HALF = 0.17  # m: distractors anywhere in the camera's view of the hand's table
DISTRACTOR_HEIGHT = 0.05  # m: lower than the fingertips of a lifted object
DISTRACTOR_GAP = 0.07  # m between a distractor and the task object: room for the fingers
HOLD_LIFT = {'release': (0.04, 0.12), 'rotate': (0.06, 0.1)}  # m the grasp expert lifts by before the skill


class HandEnv(SimEnv):
    """A seeded hand world for one skill; see the module docstring."""

    embodiment = 'hand'
    skills = HAND_SKILLS

    def __init__(self, skill: str, position_noise: float = POSITION_NOISE, config: Optional[HandConfig] = None,
                 distractors: Tuple[int, int] = (0, 3)):
        super().__init__(skill, position_noise)
        self.config = config if config is not None else load_hand_config()
        self.distractors = distractors

    # --- episodes -------------------------------------------------------------------

    def _generate(self, rng):
        return _GENERATORS[self.skill](rng, self.distractors)

    def _start(self, rng: np.random.Generator) -> bool:
        """The hand at home; release and rotate start from a held object, grasped by the scripted expert."""
        if self.skill == 'grasp':
            return True
        from skill_stack.skills.hand_experts import scripted_grasp  # here: the expert builds on this module

        lift = float(rng.uniform(*HOLD_LIFT[self.skill]))
        # Release must work whatever the hold: the object is pinched anywhere from its centre up.
        higher = float(rng.uniform()) if self.skill == 'release' else 0.0
        self.task.info.update(lift=lift, higher=higher)
        return scripted_grasp(self, 'target', lift=lift, higher=higher)

    def _build(self, scene: SceneSpec) -> None:
        world = self._new_world(scene)
        self.driver = HandDriver(SimJointBackend(world), self.config, clock=lambda: world.time)
        self.driver.connect()
        self.driver.update()

    # --- the robot's view and acting ----------------------------------------------------------

    def observe(self):
        """RobotObservation from the driver's joint state (what the skill server gets on the real hand too)."""
        state = self.driver.state()
        return hand_observation(self.driver.joint_names, state.positions, state.stamp)

    def apply(self, command) -> None:
        """Send a HandCommand through the driver's safety layer (CommandError when refused)."""
        self.driver.command_joints(command.joints)


# --- task generators ----------------------------------------------------------------------------


def hand_graspable(rng: np.random.Generator, name: str, shapes: Tuple[str, ...] = ('box', 'cylinder', 'sphere'),
                   elongated: bool = False) -> Dict[str, Any]:
    """An object the hand's pinch takes: at most 5 cm across the pinch, 3 to 8 cm tall. ``elongated`` boxes
    have sides at least 1 cm apart, so perception tells their orientation (rotate)."""
    shape = str(rng.choice(shapes))
    if shape == 'box':
        a = rng.uniform(0.03, 0.05)
        b = rng.uniform(a + 0.01, 0.07) if elongated else rng.uniform(0.03, 0.07)
        if rng.uniform() < 0.5:
            a, b = b, a
        size = [a, b, rng.uniform(0.03, 0.08)]
    elif shape == 'cylinder':
        size = [rng.uniform(0.015, 0.025), rng.uniform(0.03, 0.08)]
    else:
        size = [rng.uniform(0.016, 0.025)]
    return {'name': name, 'shape': shape, 'color': random_color(rng), 'size': [round(float(s), 4) for s in size],
            'yaw': round(float(rng.uniform(-math.pi, math.pi)), 4)}


def _xy(rng: np.random.Generator, half: float) -> List[float]:
    return [round(float(rng.uniform(-half, half)), 4), round(float(rng.uniform(-half, half)), 4)]


def _place(placed: List[Dict[str, Any]], obj: Dict[str, Any], draw: Callable[[], List[float]],
           gaps: Callable[[int], float], attempts: int = 200) -> bool:
    """Put ``obj`` at a drawn position where the scene stays valid and ``gaps(i)`` from placed object i."""
    for _ in range(attempts):
        obj['position'] = draw()
        try:
            scene = parse_scene({'embodiment': 'hand', 'objects': [*placed, obj]})
        except SceneFileError:
            continue
        new = footprint(scene.objects[-1])
        if any(overlaps(grown(new, gaps(i) / 2.0), grown(footprint(other), gaps(i) / 2.0))
               for i, other in enumerate(scene.objects[:-1])):
            continue
        placed.append(dict(obj))
        return True
    return False


def _add_distractors(rng: np.random.Generator, placed: List[Dict[str, Any]], count: Tuple[int, int]) -> None:
    """Low objects around the task object (the first placed), clear of the fingers' reach round it."""
    for i in range(int(rng.integers(count[0], count[1] + 1))):
        obj = random_object(rng, f'd{i}', max_height=DISTRACTOR_HEIGHT)
        _place(placed, obj, lambda: _xy(rng, DISTRACTOR_HALF), lambda j: DISTRACTOR_GAP if j == 0 else 0.02,
               attempts=30)


def _scene(objects: List[Dict[str, Any]], rng: np.random.Generator) -> SceneSpec:
    seed = int(rng.integers(0, 2**31 - 1))
    return parse_scene({'embodiment': 'hand', 'seed': seed, 'objects': objects}, source=f'hand task (seed {seed})')


def _generate(rng, distractors, shapes=('box', 'cylinder', 'sphere'), elongated=False):
    while True:
        placed: List[Dict[str, Any]] = []
        target = hand_graspable(rng, 'target', shapes, elongated)
        if _place(placed, target, lambda: _xy(rng, TASK_HALF), lambda _j: 0.0):
            break
    _add_distractors(rng, placed, distractors)
    return _scene(placed, rng), target


def _generate_grasp(rng, distractors):
    scene, target = _generate(rng, distractors)
    return scene, {'object': 'target'}, {'shape': target['shape']}


def _generate_release(rng, distractors):
    scene, target = _generate(rng, distractors)
    args = {'object': 'target'} if rng.uniform() < 0.7 else {}
    return scene, args, {'shape': target['shape']}


def _generate_rotate(rng, distractors):
    scene, target = _generate(rng, distractors, shapes=('box',), elongated=True)
    angle = round(float(rng.uniform(-90.0, 90.0)), 1)
    return scene, {'object': 'target', 'axis': 'z', 'angle': angle}, {'shape': target['shape']}


_GENERATORS = {'grasp': _generate_grasp, 'release': _generate_release, 'rotate': _generate_rotate}
