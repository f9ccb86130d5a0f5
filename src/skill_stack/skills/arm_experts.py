"""Scripted experts for the arm skills: the demonstrators behaviour cloning learns from.

An expert is a controller (see `episodes.Controller`) with the privilege of
the simulator's ground truth: it tracks the object's true pose, so its
demonstrations are clean while the policy learns to act from perceived
keypoints. Each expert is a small state machine over proportional
end-effector steps in the skills' action space ``[dx, dy, dz, gripper]``;
the learned policies have no phase input and read the phase from geometry.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from skill_stack.skills.arm import (
    CARRY_HEIGHT,
    CLOSED_WIDTH,
    LIFT,
    MAX_STEP,
    RETREAT,
    PickSkill,
)
from skill_stack.skills.arm_env import MIN_EE_HEIGHT, ArmEnv
from skill_stack.skills.base import RobotObservation, Targets, clip_norm

OPEN, CLOSE = 1.0, 0.0


def step_towards(position: np.ndarray, goal: np.ndarray, max_step: float = MAX_STEP) -> np.ndarray:
    """A proportional step to ``goal``, no longer than ``max_step``."""
    return clip_norm(np.asarray(goal, float) - np.asarray(position, float), max_step)


class Expert:
    """Base of the scripted experts: reset with the episode, then one action per control tick."""

    def reset(self, skill, env: ArmEnv, args: Dict[str, Any], targets: Targets) -> None:
        self.skill, self.env, self.args, self.targets = skill, env, args, targets
        self.phase = 'start'
        self.ticks = 0

    def act(self, observation: np.ndarray, robot: RobotObservation) -> np.ndarray:
        raise NotImplementedError


class ReachExpert(Expert):
    def act(self, observation, robot):
        return np.array([*step_towards(robot.position, self.targets['goal']), OPEN])


class PickExpert(Expert):
    """Above the grasp point, straight down, close, lift ``lift`` metres."""

    def __init__(self, lift: float = LIFT):
        self.lift = lift

    def _grasp(self) -> tuple[np.ndarray, float]:
        name = self.args['object']
        position, _ = self.env.ground_truth_pose(name)
        height = self.env.ground_truth_spec(name).height
        top = position[2] + height / 2.0
        grasp = np.array([position[0], position[1], max(top - min(0.02, height / 2.0), MIN_EE_HEIGHT)])
        return grasp, top

    def act(self, observation, robot):
        p = robot.position
        if self.phase == 'start':
            grasp, top = self._grasp()
            self.grasp = grasp
            self.hover = max(grasp[2] + 0.06, top + 0.05)
            self.phase = 'above'
        grasp = self.grasp
        if self.phase in ('above', 'descend'):
            live, _ = self._grasp()  # follow the object if it was nudged
            grasp[:2] = live[:2]
        if self.phase == 'above':
            goal = np.array([grasp[0], grasp[1], self.hover])
            if np.linalg.norm(goal[:2] - p[:2]) < 0.005 and abs(goal[2] - p[2]) < 0.015:
                self.phase = 'descend'
            else:
                return np.array([*step_towards(p, goal), OPEN])
        if self.phase == 'descend':
            if np.linalg.norm(grasp - p) < 0.004:
                self.phase = 'close'
            else:
                return np.array([*step_towards(p, grasp, 0.012), OPEN])
        if self.phase == 'close':
            self.ticks += 1
            width = float(self.targets['width'][0])
            if robot.gripper_width < width + 0.004 or self.ticks > 12:
                self.phase = 'lift'
            else:
                return np.array([*step_towards(p, grasp, 0.005), CLOSE])
        goal = grasp + np.array([0.0, 0.0, self.lift])
        return np.array([*step_towards(p, goal, 0.015), CLOSE])


class PlaceExpert(Expert):
    """Up to a carrying height, over the target, down until the object just clears it, open, retreat."""

    def act(self, observation, robot):
        # Heights and the release point come from the perceived targets, as the policy sees them,
        # so the moment to open is a function of the observation the policy learns from.
        p = robot.position
        if self.phase == 'start':
            self.release = self.skill.release_height(self.targets)
            self.carry = max(CARRY_HEIGHT, self.release + 0.06)
            self.phase = 'carry'
        xy = self.targets['place'][:2]
        if self.phase == 'carry':
            far = np.linalg.norm(xy - p[:2])
            if far < 0.005:
                self.phase = 'lower'
            elif p[2] < self.carry - 0.02 and far > 0.03:
                return np.array([*step_towards(p, [p[0], p[1], self.carry]), CLOSE])
            else:
                return np.array([*step_towards(p, [xy[0], xy[1], self.carry]), CLOSE])
        if self.phase == 'lower':
            goal = np.array([xy[0], xy[1], self.release])
            if np.linalg.norm(goal - p) < 0.006:
                self.phase = 'open'
            else:
                return np.array([*step_towards(p, goal, 0.012), CLOSE])
        if self.phase == 'open':
            if robot.gripper_width > 0.07:
                self.phase = 'retreat'
            else:
                return np.array([0.0, 0.0, 0.0, OPEN])
        return np.array([*step_towards(p, [xy[0], xy[1], self.release + RETREAT + 0.01], 0.015), OPEN])


class PushExpert(Expert):
    """Above the start of the push, down behind the object, along the line with closed fingers, up."""

    def act(self, observation, robot):
        p = robot.position
        pre, end = self.targets['pre'], self.targets['end']
        if self.phase == 'start':
            spec = self.env.ground_truth_spec(self.args['object'])
            self.hover = max(spec.height + 0.06, 0.15)  # above the retreat point, so never 'finished' early
            self.phase = 'above'
        if self.phase == 'above':
            goal = np.array([pre[0], pre[1], self.hover])
            if np.linalg.norm(goal[:2] - p[:2]) < 0.005 and abs(goal[2] - p[2]) < 0.015:
                self.phase = 'down'
            else:
                return np.array([*step_towards(p, goal), CLOSE])
        if self.phase == 'down':
            if np.linalg.norm(pre - p) < 0.004:
                self.phase = 'push'
            else:
                return np.array([*step_towards(p, pre, 0.012), CLOSE])
        if self.phase == 'push':
            if np.linalg.norm(end - p) < 0.004:
                self.phase = 'retreat'
            else:
                return np.array([*step_towards(p, end, 0.006), CLOSE])
        return np.array([*step_towards(p, end + np.array([0.0, 0.0, RETREAT + 0.01]), 0.015), CLOSE])


def scripted_grasp(env: ArmEnv, name: str, lift: float = LIFT, max_steps: int = 200) -> bool:
    """Pick ``name`` up with the pick expert (the start of a place episode); True when it is held."""
    skill = PickSkill()
    args = {'object': name}
    robot = env.observe()
    targets = skill.targets(args, env.perceive(), robot)
    expert = PickExpert(lift=lift)
    expert.reset(skill, env, args, targets)
    start_z = env.ground_truth_pose(name)[0][2]
    for _ in range(max_steps):
        action = expert.act(skill.observation(robot, targets, args), robot)
        env.apply(skill.command(action, robot, targets, args))
        env.advance(1.0 / skill.control_rate_hz)
        robot = env.observe()
        if expert.phase == 'lift' and robot.position[2] >= targets['grasp'][2] + lift - 0.005:
            break
    env.advance(0.1)
    robot = env.observe()
    risen = env.ground_truth_pose(name)[0][2] - start_z
    return bool(risen > 0.8 * lift - 0.01 and robot.gripper_width > CLOSED_WIDTH)
