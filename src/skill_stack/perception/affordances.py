"""What an object affords, scored 0..1 from its shape and size (no learning, no ground truth).

Scores are soft so a planner can weigh them (SayCan-style feasibility): 1 means
"clearly", 0 "not at all", and sizes near a limit score in between.

- graspable: the part the fingers close on fits the parallel gripper
  (`GRIPPER_MAX_WIDTH`, the arm's 0.085 m) with room to spare; a bowl is taken
  by its wall, a pad lies flat and cannot be picked.
- container: a bowl, the deeper the surer.
- support: something can be put on it - a flat top (box, cylinder, pad) at
  least `MIN_SUPPORT_SIZE` across.
- pushable: rests loose on the surface and is not too big to push (pads are
  fixed markers; balls roll away, so they score lower).
- landable: a pad (a landing mat); a large flat box top scores a little.
- rotatable: small enough to turn in a dexterous hand.
"""

from __future__ import annotations

import numpy as np

from skill_stack.perception.types import AFFORDANCES

GRIPPER_MAX_WIDTH = 0.085  # m, the arm's parallel gripper fully open
GRASP_MARGIN = 0.01  # m of opening left over for a confident grasp
MIN_GRASP_HEIGHT = 0.015  # m: lower than this the fingers cannot get around it
MIN_SUPPORT_SIZE = 0.04  # m across for a flat top to hold something
MAX_PUSH_SIZE = 0.25  # m
HAND_ROTATE_SIZE = (0.06, 0.10)  # m: largest extent fully rotatable, and not rotatable at all


def _ramp_down(value: float, full: float, zero: float) -> float:
    """1 at or below `full`, 0 at or above `zero`, linear between."""
    return float(np.clip((zero - value) / (zero - full), 0.0, 1.0))


def _ramp_up(value: float, zero: float, full: float) -> float:
    return float(np.clip((value - zero) / (full - zero), 0.0, 1.0))


def affordances(label: str, extent: np.ndarray, gripper_width: float = GRIPPER_MAX_WIDTH) -> dict[str, float]:
    """Scores for every name in AFFORDANCES, for an object of `label` with full `extent` (x, y, height)."""
    width = float(min(extent[0], extent[1]))
    largest = float(max(extent))
    height = float(extent[2])
    fits = _ramp_down(width, gripper_width - GRASP_MARGIN, gripper_width)
    tall_enough = _ramp_up(height, MIN_GRASP_HEIGHT * 0.5, MIN_GRASP_HEIGHT)
    scores = dict.fromkeys(AFFORDANCES, 0.0)
    if label in ('box', 'cylinder', 'sphere'):
        scores['graspable'] = fits * tall_enough
        scores['pushable'] = _ramp_down(largest, MAX_PUSH_SIZE * 0.6, MAX_PUSH_SIZE) * (0.5 if label == 'sphere'
                                                                                         else 1.0)
        scores['rotatable'] = _ramp_down(largest, *HAND_ROTATE_SIZE) * scores['graspable']
    if label in ('box', 'cylinder'):
        scores['support'] = _ramp_up(width, MIN_SUPPORT_SIZE * 0.5, MIN_SUPPORT_SIZE)
    if label == 'box':
        scores['landable'] = 0.3 * _ramp_up(width, 0.1, 0.3)
    if label == 'bowl':
        scores['container'] = _ramp_up(height, 0.005, 0.02)
        scores['graspable'] = 0.6 * tall_enough
        scores['pushable'] = 0.8 * _ramp_down(largest, MAX_PUSH_SIZE * 0.6, MAX_PUSH_SIZE)
    if label == 'pad':
        scores['landable'] = 1.0
        scores['support'] = _ramp_up(width, MIN_SUPPORT_SIZE * 0.5, MIN_SUPPORT_SIZE)
    return scores
