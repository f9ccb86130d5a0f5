"""Semantic keypoints of an object, in the world frame, from its estimated shape and pose.

Names (what a skill or a phrase can ask for):

- ``center``: centre of the bounding box; ``top`` and ``bottom``: on the vertical
  through it, at the top surface and on the support.
- ``left``, ``right``, ``front``, ``back``: where the object's outline meets
  the horizontal ray from its centre, at centre height. Directions are the
  robot's, in the world frame: left = +y, right = -y, front = -x (nearer the
  robot base: the arm's and hand's bases look along +x), back = +x.
- ``grasp``: a top-down grasp. `direction` is the approach (down the plane
  normal), `width` the opening the gripper must close from. The gripper closes
  along the object's y axis (for a box its shorter side, see
  `PerceivedObject.quaternion`), and the fingertips go `GRASP_DEPTH` below
  the top, or to mid-height for a short object.
- ``grasp_side``: a side grasp at mid-height, approaching along +x (away from
  the robot) - for things too wide to take from above the other way.
- ``rim`` (bowls): the point of the rim nearest the robot, where a gripper
  takes a bowl by its wall; ``opening``: the middle of the opening at rim
  height, with `direction` down - where to drop or pour something in.
"""

from __future__ import annotations

import math

import numpy as np

from skill_stack.perception.geometry import Plane, project
from skill_stack.perception.shapes import ShapeEstimate
from skill_stack.perception.types import CameraModel, Keypoint

GRASP_DEPTH = 0.02  # m below the top where fingertips close on a tall object
BOWL_WALL_GRIP = 0.02  # m: opening needed to take a bowl's wall between the fingers
DIRECTIONS = {'left': (0.0, 1.0), 'right': (0.0, -1.0), 'front': (-1.0, 0.0), 'back': (1.0, 0.0)}


def boundary_distance(shape: ShapeEstimate, direction_xy: np.ndarray) -> float:
    """Distance from the centre to the outline along a horizontal unit direction."""
    if shape.label != 'box':
        return shape.radius
    c, s = math.cos(shape.yaw), math.sin(shape.yaw)
    along_x = abs(direction_xy[0] * c + direction_xy[1] * s)
    along_y = abs(-direction_xy[0] * s + direction_xy[1] * c)
    half_x, half_y = shape.extent[0] / 2.0, shape.extent[1] / 2.0
    return min(half_x / along_x if along_x > 1e-9 else math.inf, half_y / along_y if along_y > 1e-9 else math.inf)


def object_keypoints(shape: ShapeEstimate, plane: Plane, camera: CameraModel | None = None) -> list[Keypoint]:
    """All keypoints of one object; each gets its pixel (u, v) when `camera` is given and it projects inside."""
    up = plane.normal / np.linalg.norm(plane.normal)
    height = float(shape.extent[2])
    centre = np.asarray(shape.center, float)
    top = centre + up * height / 2.0
    bottom = centre - up * height / 2.0
    keypoints = [Keypoint('center', centre), Keypoint('top', top), Keypoint('bottom', bottom)]
    for name, (dx, dy) in DIRECTIONS.items():
        horizontal = np.array([dx, dy, 0.0]) - up * (up @ np.array([dx, dy, 0.0]))
        horizontal /= np.linalg.norm(horizontal)
        keypoints.append(Keypoint(name, centre + horizontal * boundary_distance(shape, horizontal[:2])))
    down = -up
    if shape.label in ('box', 'cylinder', 'sphere'):
        width = float(min(shape.extent[0], shape.extent[1]))
        depth = min(GRASP_DEPTH, height / 2.0)
        keypoints.append(Keypoint('grasp', top - up * depth, direction=down, width=width))
        forward = np.array([1.0, 0.0, 0.0]) - up * up[0]
        keypoints.append(Keypoint('grasp_side', centre.copy(), direction=forward / np.linalg.norm(forward),
                                  width=width))
    elif shape.label == 'bowl':
        front = next(k.position for k in keypoints if k.name == 'front')
        rim = front + up * height / 2.0
        keypoints.append(Keypoint('rim', rim))
        keypoints.append(Keypoint('opening', top.copy(), direction=down))
        keypoints.append(Keypoint('grasp', rim - up * min(GRASP_DEPTH, height / 2.0), direction=down,
                                  width=BOWL_WALL_GRIP, confidence=0.7))
    if camera is not None:
        pixels, inside = project(camera, np.array([k.position for k in keypoints]))
        for keypoint, uv, ok in zip(keypoints, pixels, inside, strict=True):
            keypoint.pixel = (round(uv[0]), round(uv[1])) if ok else None
    return keypoints
