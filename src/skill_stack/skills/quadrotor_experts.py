"""Scripted experts for the quadrotor skills: the demonstrators behaviour cloning learns from.

An expert is a controller (see `episodes.Controller`) with the privilege of the
simulator's ground truth: it takes the pads' true positions and the vehicle's
true start, so its demonstrations are clean while the policy learns to act
from perceived keypoints. Each expert outputs the skills' action, a position
set-point relative to the vehicle (`quadrotor.carrot`), toward its goal; the
land expert descends to `APPROACH_HEIGHT` over the spot while approaching and
hands over to the flight controller's landing once centred, slow and low.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from skill_stack.sim.scene_file import PAD_THICKNESS
from skill_stack.skills.base import RobotObservation, Targets
from skill_stack.skills.quadrotor import (
    APPROACH_HEIGHT,
    LAND_READY_DISTANCE,
    LAND_READY_HEIGHT,
    LAND_READY_SPEED,
    carrot,
)


class Expert:
    """Base of the scripted experts: reset with the episode, then one action per control tick."""

    def reset(self, skill, env, args: Dict[str, Any], targets: Targets) -> None:
        self.skill, self.env, self.args, self.targets = skill, env, args, targets
        self.phase = 'start'
        self.start = np.asarray(env.ground_truth_state().position, float).copy()
        self.goal = self.true_goal()

    def true_goal(self) -> np.ndarray:
        raise NotImplementedError

    def shift(self) -> np.ndarray:
        return np.asarray(self.args.get('offset') or (0.0, 0.0, 0.0), float)

    def pad_top(self) -> np.ndarray:
        """The target pad's true top centre."""
        position, _ = self.env.ground_truth_pose(self.env.task.info['pad'])
        return np.array([position[0], position[1], position[2] + PAD_THICKNESS / 2.0])

    def act(self, observation: np.ndarray, robot: RobotObservation) -> np.ndarray:
        return carrot(robot.position, self.goal)


class TakeOffExpert(Expert):
    """Straight up from where it stands to the height."""

    def true_goal(self):
        return np.array([self.start[0], self.start[1], float(self.args['height'])])


class FlyToExpert(Expert):
    """Straight at the goal: above the true pad by the height, or the point; plus the offset."""

    def true_goal(self):
        if self.args.get('point') is not None:
            goal = np.asarray(self.args['point'], float)
        else:
            goal = self.pad_top() + np.array([0.0, 0.0, float(self.args.get('height') or 0.0)])
        return goal + self.shift()


class HoverExpert(Expert):
    """Back to (and stay at) where the skill began."""

    def true_goal(self):
        return self.start.copy()


class LandExpert(Expert):
    """Over the spot while descending to APPROACH_HEIGHT, then land once centred, slow and low."""

    def true_goal(self):
        shift = self.shift()
        shift[2] = 0.0
        if self.args.get('target') is not None:
            return self.pad_top() + shift
        if self.args.get('point') is not None:
            return np.array([*np.asarray(self.args['point'], float)[:2], 0.0]) + shift
        return np.array([self.start[0], self.start[1], 0.0]) + shift

    def act(self, observation, robot):
        spot = self.goal
        if self.phase != 'landing':
            horizontal = float(np.hypot(*(spot[:2] - robot.position[:2])))
            if (horizontal < LAND_READY_DISTANCE and float(np.hypot(*robot.velocity[:2])) < LAND_READY_SPEED
                    and robot.position[2] - spot[2] < LAND_READY_HEIGHT):
                self.phase = 'landing'
            else:
                return np.array([*carrot(robot.position, spot + np.array([0.0, 0.0, APPROACH_HEIGHT])), 0.0])
        return np.array([0.0, 0.0, 0.0, 1.0])
