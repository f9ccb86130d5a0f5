"""Scripted experts for the hand skills: the demonstrators behaviour cloning learns from.

An expert is a controller (see `episodes.Controller`) with the privilege of
the simulator's ground truth: it tracks the object's true pose, so its
demonstrations are clean while the policy learns to act from perceived
keypoints. Each is a small state machine over the hand skills' action space
``[dx, dy, dz, dyaw, grip]`` (a grasp-site step, a yaw step, the grip bit);
where a phase ends on a condition, the condition is one the policy can read
from its observation (distances to targets, the fingers' measured closure).
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from skill_stack.skills.base import RobotObservation, Targets, clip_norm
from skill_stack.skills.hand import (
    LIFT,
    MAX_STEP,
    MAX_YAW_STEP,
    MIN_GRASP_Z,
    OPEN_CLOSURE,
    GraspSkill,
    closure,
    grasp_site,
    holding,
    palm_yaw,
    wrap_angle,
)

OPEN, CLOSE = 0.0, 1.0
PAD_BELOW_TOP = 0.014  # m: the finger pads (1.2 cm radius) close at least this far below an object's top
TRANSIT_HEIGHT = 0.08  # m: the grasp site (and so the fingertips) travels at least this high, over distractors


def step_towards(position: np.ndarray, goal: np.ndarray, max_step: float = MAX_STEP) -> np.ndarray:
    """A proportional step to ``goal``, no longer than ``max_step``."""
    return clip_norm(np.asarray(goal, float) - np.asarray(position, float), max_step)


def action(step, dyaw: float, grip: float) -> np.ndarray:
    return np.array([*np.asarray(step, float), float(dyaw), grip])


class Expert:
    """Base of the scripted experts: reset with the episode, then one action per control tick."""

    def reset(self, skill, env, args: Dict[str, Any], targets: Targets) -> None:
        self.skill, self.env, self.args, self.targets = skill, env, args, targets
        self.phase = 'start'
        self.ticks = 0

    def act(self, observation: np.ndarray, robot: RobotObservation) -> np.ndarray:
        raise NotImplementedError


class GraspExpert(Expert):
    """Over the object at a safe height while turning the palm across it, straight down until the pads are
    at its centre, close, lift ``lift`` metres. ``higher`` (0..1) pinches that fraction of the way from the
    centre up to just under the top instead (a grasp skill pinches at the centre; release episodes start
    from holds anywhere up the object)."""

    def __init__(self, lift: float = LIFT, higher: float = 0.0):
        self.lift = lift
        self.higher = higher

    def _point(self) -> tuple[np.ndarray, float]:
        name = self.args['object']
        position, _ = self.env.ground_truth_pose(name)
        height = self.env.ground_truth_spec(name).height
        top = float(position[2] + height / 2.0)
        point = position.copy()
        point[2] = max(point[2] + self.higher * max(0.0, height / 2.0 - PAD_BELOW_TOP), MIN_GRASP_Z)
        return point, top

    def act(self, observation, robot):
        site = grasp_site(robot)
        dyaw = float(np.clip(wrap_angle(float(self.targets['yaw'][0]) - palm_yaw(robot)), -MAX_YAW_STEP, MAX_YAW_STEP))
        if self.phase == 'start':
            self.point, top = self._point()
            self.hover = max(self.point[2] + 0.05, top + 0.025)
            self.phase = 'above'
        point = self.point
        if self.phase in ('above', 'descend'):
            live, _ = self._point()  # follow the object if it was nudged
            point[:2] = live[:2]
        if self.phase == 'above':
            far = float(np.linalg.norm(point[:2] - site[:2]))
            goal = np.array([point[0], point[1], self.hover if far < 0.03 else max(self.hover, TRANSIT_HEIGHT)])
            if far < 0.006 and abs(goal[2] - site[2]) < 0.015 and abs(dyaw) < 0.08:
                self.phase = 'descend'
            else:
                return action(step_towards(site, goal), dyaw, OPEN)
        if self.phase == 'descend':
            # The pinch takes a centimetre of misplacement: close once level with the grasp point, so the
            # moment to close is plain in the observation (the policy does not hover deciding).
            if abs(point[2] - site[2]) < 0.004 and float(np.linalg.norm(point[:2] - site[:2])) < 0.008:
                self.phase = 'close'
            else:
                return action(step_towards(site, point, 0.008), dyaw, OPEN)
        if self.phase == 'close':
            self.ticks += 1
            if self.ticks >= 5 and holding(robot):
                self.phase = 'lift'
            else:
                return action(step_towards(site, point, 0.003), dyaw, CLOSE)
        return action(step_towards(site, point + np.array([0.0, 0.0, self.lift])), dyaw, CLOSE)


class ReleaseExpert(Expert):
    """Straight down until the object's true bottom touches the table, open, withdraw above its top."""

    def act(self, observation, robot):
        site = grasp_site(robot)
        support = float(self.targets['support'][0])
        if self.phase == 'start':
            self.name = self._held_name()
            self.height = float(self.env.ground_truth_spec(self.name).height)
            self.phase = 'lower'
        if self.phase == 'lower':
            bottom = float(self.env.ground_truth_pose(self.name)[0][2]) - self.height / 2.0 - support
            if bottom <= 0.002:
                self.phase = 'open'
            else:
                return action([0.0, 0.0, -float(np.clip(bottom - 0.001, 0.002, 0.008))], 0.0, CLOSE)
        if self.phase == 'open':
            self.ticks += 1
            if self.ticks >= 3 and closure(robot) < OPEN_CLOSURE:
                self.phase = 'withdraw'
            else:
                return action([0.0, 0.0, 0.0], 0.0, OPEN)
        goal = np.array([site[0], site[1], float(self.targets['clear_z'][0]) + 0.01])
        return action(step_towards(site, goal), 0.0, OPEN)

    def _held_name(self) -> str:
        if self.args.get('object') is not None:
            return self.args['object']
        centre = self.targets['center']
        names = [spec.name for spec in self.env.world.scene.objects]
        return min(names, key=lambda n: float(np.linalg.norm(self.env.ground_truth_pose(n)[0] - centre)))


class RotateExpert(Expert):
    """Turn the wrist to the goal yaw while moving the grasp site so the held object's centre stays put."""

    def act(self, observation, robot):
        to_go = wrap_angle(float(self.targets['yaw_goal'][0]) - palm_yaw(robot))
        error = self.targets['center'] - self.skill.held_centre(robot, self.targets)
        return action(step_towards(np.zeros(3), error), float(np.clip(0.6 * to_go, -MAX_YAW_STEP, MAX_YAW_STEP)),
                      CLOSE)


def scripted_grasp(env, name: str, lift: float = LIFT, higher: float = 0.0, max_steps: int = 160) -> bool:
    """Grasp ``name`` (``higher``: see `GraspExpert`) and lift it ``lift`` metres with the grasp expert (the
    start of release and rotate episodes); True when it is held."""
    skill = GraspSkill()
    args = {'object': name}
    robot = env.observe()
    targets = skill.targets(args, env.perceive(), robot)
    expert = GraspExpert(lift=lift, higher=higher)
    expert.reset(skill, env, args, targets)
    start_z = env.ground_truth_pose(name)[0][2]
    for _ in range(max_steps):
        act = expert.act(skill.observation(robot, targets, args), robot)
        env.apply(skill.command(act, robot, targets, args))
        env.advance(1.0 / skill.control_rate_hz)
        robot = env.observe()
        if expert.phase == 'lift' and grasp_site(robot)[2] >= targets['grasp'][2] + lift - 0.005:
            break
    env.advance(0.2)
    robot = env.observe()
    risen = env.ground_truth_pose(name)[0][2] - start_z
    return bool(risen > 0.8 * lift - 0.01 and holding(robot))
