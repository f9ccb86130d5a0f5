"""What the skills' simulated environments share, whatever the robot.

An environment owns a `World` built from a seeded random scene made for one
skill, the robot's driver on the sim backends, and the clock: `advance()`
calls ``driver.update()`` every `TICK` (10 ms, as the driver node runs it) and
steps the physics at 500 Hz in between. A subclass (arm_env, hand_env,
quadrotor_env) generates the scene and task, builds its driver, brings the
robot to the task's start state, and turns the driver's state into a
`RobotObservation` and a skill's command into driver calls.

`perceive()` is perception's view (skills/sim_perception.py); ``ground_truth_*``
is the privilege of experts and data generation only; no skill method reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.sim.footprint import Circle, Rectangle
from skill_stack.sim.objects import body_name
from skill_stack.sim.scene_file import COLORS, SceneSpec
from skill_stack.sim.world import World
from skill_stack.skills.sim_perception import POSITION_NOISE, perceive_world

TICK = 0.01  # s between driver.update() calls (100 Hz), as the driver node runs
SETUP_ATTEMPTS = 20  # scenes tried before a seed is given up on


@dataclass
class Task:
    """One episode's task: the skill's arguments and what the episode started from."""

    skill: str
    args: Dict[str, Any]
    seed: int
    info: Dict[str, Any] = field(default_factory=dict)  # privileged: what the generator chose


def random_color(rng: np.random.Generator) -> str:
    return str(rng.choice(list(COLORS)))


def grown(shape, margin: float):
    """A footprint grown by ``margin`` on every side."""
    if isinstance(shape, Circle):
        return Circle(shape.x, shape.y, shape.radius + margin)
    return Rectangle(shape.x, shape.y, shape.half_x + margin, shape.half_y + margin, shape.yaw)


class SimEnv:
    """Base of the skills' environments; subclasses set ``embodiment`` and ``skills`` and implement
    `_generate`, `_build`, `_start`, `observe` and `apply`."""

    embodiment = ''
    skills: Tuple[str, ...] = ()

    def __init__(self, skill: str, position_noise: float = POSITION_NOISE):
        if skill not in self.skills:
            raise ValueError(f'no {self.embodiment} environment for skill {skill!r}; '
                             f'{self.embodiment} skills are {self.skills}')
        self.skill = skill
        self.position_noise = position_noise
        self.world: Optional[World] = None
        self.driver = None
        self.rng = np.random.default_rng(0)
        self.task: Optional[Task] = None

    # --- episodes -------------------------------------------------------------------

    def reset(self, seed: int) -> Task:
        """A new random scene and task for ``seed``, the robot in the skill's start state."""
        rng = np.random.default_rng(seed)
        for _attempt in range(SETUP_ATTEMPTS):
            scene, args, info = self._generate(rng)
            self._build(scene)
            self.rng = np.random.default_rng([seed, 1])
            self.task = Task(self.skill, args, seed, info)
            if self._start(rng):
                return self.task
        raise RuntimeError(f'{self.skill}: could not set up a task for seed {seed} in {SETUP_ATTEMPTS} attempts')

    def _generate(self, rng: np.random.Generator) -> Tuple[SceneSpec, Dict[str, Any], Dict[str, Any]]:
        """The scene, the skill's arguments and privileged information for one task."""
        raise NotImplementedError

    def _build(self, scene: SceneSpec) -> None:
        """A new world for ``scene`` (`_new_world`) and the robot's driver on it, connected."""
        raise NotImplementedError

    def _start(self, rng: np.random.Generator) -> bool:
        """Bring the robot to the task's start state; False when that failed (another scene is tried)."""
        return True

    def _new_world(self, scene: SceneSpec) -> World:
        if self.world is not None:
            self.world.close()
        self.world = World(scene)
        return self.world

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None

    # --- the robot's and perception's view ----------------------------------------------

    @property
    def time(self) -> float:
        return self.world.time

    def perceive(self, noise: Optional[float] = None) -> PerceivedScene:
        """The scene as perception reports it: poses with noise, keypoints and affordances from perception."""
        return perceive_world(self.world, self.rng, self.position_noise if noise is None else noise)

    # --- acting -------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass: driver.update() every TICK, physics at 500 Hz in between."""
        steps = max(1, round(TICK / self.world.timestep))
        for _ in range(max(1, round(seconds / TICK))):
            self.driver.update()
            self._step(steps)

    def _step(self, steps: int) -> None:
        self.world.step(steps)

    def hold(self, reason: str) -> None:
        """Stop the robot where it is (the driver's e-stop: hold now, refuse commands) and let it settle."""
        self.driver.estop(reason)
        self.advance(0.1)

    # --- ground truth: experts, data generation and benchmarks only --------------------------

    def ground_truth_pose(self, name: str) -> Tuple[np.ndarray, np.ndarray]:
        body = self.world.data.body(body_name(name))
        return body.xpos.copy(), body.xquat.copy()

    def ground_truth_spec(self, name: str):
        return self.world.scene.object(name)
