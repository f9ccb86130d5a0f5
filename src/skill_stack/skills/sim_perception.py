"""Perception's view of a simulated world, for training and evaluating skills without rendering.

`perceive_world` reports every object of a `World` the way the perception
pipeline does (perception/pipeline.py): label, colour, extent with x the longer
side, yaw, keypoints with perception's names and conventions, affordances from
perception's own function; positions carry Gaussian noise of a few
millimetres, about what the pipeline measures. Rendering and segmenting
every control tick would make demonstrations a hundred times slower; the
perception benchmark measures the pipeline itself.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from skill_stack.perception.affordances import affordances
from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene
from skill_stack.sim.objects import body_name

POSITION_NOISE = 0.002  # m, standard deviation of perceived object positions


def yaw_of(quaternion: np.ndarray) -> float:
    """Yaw about world z of a body whose z axis is (nearly) vertical; w, x, y, z."""
    w, _x, _y, z = quaternion
    return 2.0 * math.atan2(z, w) if abs(w) + abs(z) > 1e-9 else 0.0


def wrap_half_turn(angle: float) -> float:
    """An angle in [-pi/2, pi/2): a parallel gripper is the same turned by half a turn."""
    return (angle + math.pi / 2.0) % math.pi - math.pi / 2.0


GRASP_DEPTH = 0.02  # m below the top where the fingertips close (perception/keypoints.py)
BOWL_WALL_GRIP = 0.02
_SIDES = {'left': (0.0, 1.0), 'right': (0.0, -1.0), 'front': (-1.0, 0.0), 'back': (1.0, 0.0)}


def object_keypoints(label: str, centre: np.ndarray, yaw: float, extent: np.ndarray) -> List[Keypoint]:
    """Keypoints of an upright object with perception's names and conventions (perception/keypoints.py):
    centre, top, bottom, the four sides at centre height, a top-down grasp (boxes, cylinders, spheres),
    and for bowls the rim nearest the robot and the opening. Kept here so training does not depend on
    the camera pipeline; the names and geometry match what it reports."""
    centre = np.asarray(centre, float)
    up = np.array([0.0, 0.0, 1.0])
    height = float(extent[2])
    top, bottom = centre + up * height / 2.0, centre - up * height / 2.0
    points = [Keypoint('center', centre.copy()), Keypoint('top', top), Keypoint('bottom', bottom)]
    for name, (dx, dy) in _SIDES.items():
        if label == 'box':
            c, s = math.cos(yaw), math.sin(yaw)
            ax, ay = abs(dx * c + dy * s), abs(-dx * s + dy * c)
            reach = min(extent[0] / 2.0 / ax if ax > 1e-9 else math.inf,
                        extent[1] / 2.0 / ay if ay > 1e-9 else math.inf)
        else:
            reach = extent[0] / 2.0
        points.append(Keypoint(name, centre + np.array([dx, dy, 0.0]) * reach))
    if label in ('box', 'cylinder', 'sphere'):
        width = float(min(extent[0], extent[1]))
        points.append(Keypoint('grasp', top - up * min(GRASP_DEPTH, height / 2.0), direction=-up, width=width))
    elif label == 'bowl':
        rim = points[6].position + up * height / 2.0  # front side, at rim height
        points += [Keypoint('rim', rim), Keypoint('opening', top.copy(), direction=-up),
                   Keypoint('grasp', rim - up * min(GRASP_DEPTH, height / 2.0), direction=-up, width=BOWL_WALL_GRIP,
                            confidence=0.7)]
    return points


def _shape_of(spec, quaternion: np.ndarray) -> Tuple[str, np.ndarray, float]:
    """(label, extent x/y/height with x the longer side, yaw) as perception estimates them."""
    if spec.shape == 'box':
        sx, sy, sz = spec.size
        yaw = yaw_of(quaternion)
        if sx < sy:
            sx, sy, yaw = sy, sx, yaw + math.pi / 2.0
        return 'box', np.array([sx, sy, sz]), wrap_half_turn(yaw)
    diameter = 2.0 * spec.size[0]
    return spec.shape, np.array([diameter, diameter, spec.height]), 0.0


def perceive_world(world, rng: np.random.Generator, sigma: float = POSITION_NOISE,
                   support_height: float = 0.0) -> PerceivedScene:
    """Every object of ``world`` as perception reports it, positions with ``sigma`` metres of noise."""
    objects: List[PerceivedObject] = []
    for spec in world.scene.objects:
        body = world.data.body(body_name(spec.name))
        position = body.xpos.copy() + rng.normal(0.0, sigma, 3)
        label, extent, yaw = _shape_of(spec, body.xquat.copy())
        color = spec.color if isinstance(spec.color, str) else 'white'
        objects.append(PerceivedObject(
            id=spec.name, label=label, color=color, position=position,
            quaternion=np.array([math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)]), extent=extent,
            confidence=1.0, keypoints=object_keypoints(label, position, yaw, extent),
            affordances=affordances(label, extent)))
    return PerceivedScene(objects=objects, support_height=support_height, stamp=world.time)
