"""One skill episode, closed loop: the loop the ExecuteSkill server runs, in simulation.

`run_episode` resets the environment to a seeded task, grounds the skill's
arguments to targets from the perceived scene, and then at the skill's control
rate builds the observation, asks the controller (a scripted expert or a
learned policy) for an action, turns it into a device command and lets the
world run until the next tick. It stops when the skill says it is finished
or its time is up, and judges success with the skill's own check (robot state
and a perceived scene, never ground truth).

Safety: a non-finite action holds the robot at once (driver e-stop) and fails
the episode with the reason; so do `max_refusals` commands in a row that the
driver refuses (unreachable pose, outside the workspace or geofence).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol

import numpy as np

from skill_stack.drivers.safety import CommandError
from skill_stack.skills.base import RobotObservation, Skill, Targets
from skill_stack.skills.policy import KeypointPolicy
from skill_stack.skills.schema import SkillArgumentError

logger = logging.getLogger(__name__)

SETTLE_S = 0.3  # s the world runs after the skill finishes, before success is judged


class Controller(Protocol):
    def reset(self, skill: Skill, env: Any, args: Dict[str, Any], targets: Targets) -> None: ...

    def act(self, observation: np.ndarray, robot: RobotObservation) -> np.ndarray: ...


class PolicyController:
    """A learned policy as a controller: runs the network every tick and executes the chunk's first action.

    ``zero_mask`` (the end-to-end baseline) blanks the observation entries it
    marks before the network sees them.
    """

    def __init__(self, policy: KeypointPolicy, zero_mask: Optional[np.ndarray] = None):
        self.policy = policy
        self.zero_mask = None if zero_mask is None else np.asarray(zero_mask, bool)
        self.inference_s: List[float] = []

    def reset(self, skill, env, args, targets) -> None:
        self.inference_s = []

    def act(self, observation: np.ndarray, robot: RobotObservation) -> np.ndarray:
        obs = np.asarray(observation, np.float32).copy()
        if self.zero_mask is not None:
            obs[self.zero_mask] = 0.0
        started = time.perf_counter()
        action = self.policy.act(obs)[0]
        self.inference_s.append(time.perf_counter() - started)
        return action


@dataclass
class EpisodeResult:
    success: bool
    reason: str
    seed: int
    steps: int
    duration_s: float  # simulated
    args: Dict[str, Any] = field(default_factory=dict)
    stopped: bool = False  # the robot was held by the safety stop (NaN action, repeated refusals)
    observations: Optional[np.ndarray] = None  # (steps, obs_dim) when recorded
    actions: Optional[np.ndarray] = None  # (steps, action_dim): what the controller asked for
    inference_s: List[float] = field(default_factory=list)


def run_episode(skill: Skill, controller: Controller, env: Any, seed: int, record: bool = False,
                action_noise: float = 0.0, max_refusals: int = 3) -> EpisodeResult:
    """Run ``skill`` with ``controller`` on ``env``'s task for ``seed``.

    ``action_noise`` (standard deviation, in the units of the skill's
    ``noise_dims``) perturbs the executed action but not the recorded one
    (DART-style noise injection for demonstrations, so the data covers the
    states a learned policy drifts into).
    """
    task = env.reset(seed)
    args = skill.validate(task.args)
    robot = env.observe()
    try:
        targets = skill.targets(args, env.perceive(), robot)
    except SkillArgumentError as err:
        return EpisodeResult(False, f'rejected: {err}', seed, 0, 0.0, args)
    controller.reset(skill, env, args, targets)
    rng = np.random.default_rng([seed, 7])
    period = 1.0 / skill.control_rate_hz
    max_steps = round(skill.max_duration_s * skill.control_rate_hz)
    observations: List[np.ndarray] = []
    actions: List[np.ndarray] = []
    refusals = 0
    started = env.time
    steps = 0
    finished = False

    def result(success: bool, reason: str, stopped: bool = False) -> EpisodeResult:
        return EpisodeResult(success, reason, seed, steps, env.time - started, args, stopped,
                             np.array(observations, np.float32) if record else None,
                             np.array(actions, np.float32) if record else None,
                             list(getattr(controller, 'inference_s', [])))

    for steps in range(1, max_steps + 1):  # noqa: B007 - steps is read by result()
        observation = skill.observation(robot, targets, args)
        action = np.asarray(controller.act(observation, robot), float).reshape(-1)
        if not np.all(np.isfinite(action)):
            env.hold(f'{skill.name}: policy output {action.tolist()} is not finite')
            return result(False, f'stopped: the policy output a non-finite action {action.tolist()}; '
                                 f'{skill.embodiment} held',
                          stopped=True)
        if record:
            observations.append(observation)
            actions.append(action.copy())
        executed = skill.perturb(action, rng, action_noise)
        try:
            env.apply(skill.command(executed, robot, targets, args))
            refusals = 0
        except CommandError as err:
            refusals += 1
            logger.debug('%s: command refused (%d in a row): %s', skill.name, refusals, err)
            if refusals >= max_refusals:
                env.hold(f'{skill.name}: {refusals} commands refused in a row')
                return result(False, f'stopped: {refusals} commands in a row refused by the driver: {err}',
                              stopped=True)
        env.advance(period)
        robot = env.observe()
        if skill.finished(robot, targets, args):
            finished = True
            break
    env.advance(SETTLE_S)
    robot = env.observe()
    success, reason = skill.success(robot, env.perceive(), targets, args)
    if not finished:
        reason = f'timed out after {skill.max_duration_s:.0f} s; {reason}'
    return result(success, reason)
