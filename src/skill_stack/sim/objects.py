"""Scene objects as MuJoCo bodies: solids, a concave bowl built from walls, flat pads.

Each body's frame is the centre of the object's bounding box, so a resting
object sits at z = height / 2 above the surface.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from skill_stack.sim.scene_file import PAD_THICKNESS, ObjectSpec

SOLID_DENSITY = 500.0  # kg/m^3, wood-like: a 4 cm cube weighs 32 g
BOWL_DENSITY = 1000.0  # plastic
BOWL_WALLS = 16
BOWL_FLOOR_FRACTION = 0.6  # floor radius relative to rim radius: walls flare outwards
DROP_HEIGHT = 0.002  # objects start this far above their resting height
OBJECT_PREFIX = "object/"


def body_name(name: str) -> str:
    """MuJoCo body of a scene object; the prefix keeps object names clear of robot names."""
    return OBJECT_PREFIX + name


def add_object(spec: mujoco.MjSpec, obj: ObjectSpec, surface_z: float = 0.0) -> mujoco.MjsBody:
    """Add `obj` just above the surface at z = surface_z, free to fall and rest (pads are fixed)."""
    x, y = obj.position
    rgba = [*obj.rgb, 1.0]
    if obj.shape == "pad":
        # A pad is a flat marker (a landing mat, a coaster): fixed to the surface so
        # it cannot flutter or be blown about, and things can be placed on it.
        body = spec.worldbody.add_body(name=body_name(obj.name), pos=[x, y, surface_z + PAD_THICKNESS / 2.0],
                                       quat=yaw_quaternion(obj.yaw))
        body.add_geom(name=f"{obj.name}/disc", type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                      size=[obj.size[0], PAD_THICKNESS / 2.0, 0.0], rgba=rgba)
        return body
    body = spec.worldbody.add_body(name=body_name(obj.name), pos=[x, y, surface_z + obj.height / 2.0 + DROP_HEIGHT],
                                   quat=yaw_quaternion(obj.yaw))
    body.add_freejoint(name=body_name(obj.name))
    if obj.shape == "bowl":
        _add_bowl_geoms(body, obj, rgba)
    elif obj.shape == "box":
        body.add_geom(name=f"{obj.name}/box", type=mujoco.mjtGeom.mjGEOM_BOX, size=[s / 2.0 for s in obj.size],
                      rgba=rgba, density=SOLID_DENSITY)
    elif obj.shape == "cylinder":
        body.add_geom(name=f"{obj.name}/cylinder", type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                      size=[obj.size[0], obj.size[1] / 2.0, 0.0], rgba=rgba, density=SOLID_DENSITY)
    else:
        # Rolling resistance (condim 6) so a nudged ball comes to rest, as on a real table.
        body.add_geom(name=f"{obj.name}/sphere", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[obj.size[0], 0.0, 0.0],
                      rgba=rgba, density=SOLID_DENSITY, condim=6, friction=[1.0, 0.005, 0.0002])
    return body


def _add_bowl_geoms(body: mujoco.MjsBody, obj: ObjectSpec, rgba: list[float]) -> None:
    """A real container: a floor disc and a ring of flared wall slabs, all within radius x height.

    Each wall is a box of half thickness a and half length b, tilted outwards by phi;
    b and its centre radius are chosen so the wall spans exactly -h/2..h/2 and its
    outer top edge touches the rim radius.
    """
    radius, height = obj.size
    wall = min(max(0.08 * radius, 0.003), 0.008)
    a = wall / 2.0
    phi = math.atan2((1.0 - BOWL_FLOOR_FRACTION) * radius, height)
    b = (height / 2.0 - a * math.sin(phi)) / math.cos(phi)
    centre = radius - b * math.sin(phi) - a * math.cos(phi)
    floor_radius = centre - b * math.sin(phi) + a
    body.add_geom(name=f"{obj.name}/floor", type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[floor_radius, a, 0.0],
                  pos=[0.0, 0.0, -height / 2.0 + a], rgba=rgba, density=BOWL_DENSITY)
    # Wide enough to close the gaps at the rim; at the floor neighbours overlap.
    half_width = math.pi * radius / BOWL_WALLS * 1.05
    for i in range(BOWL_WALLS):
        theta = 2.0 * math.pi * i / BOWL_WALLS
        quat = np.zeros(4)
        mujoco.mju_mulQuat(quat, yaw_quaternion(theta), [math.cos(phi / 2.0), 0.0, math.sin(phi / 2.0), 0.0])
        body.add_geom(name=f"{obj.name}/wall{i}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[a, half_width, b],
                      pos=[centre * math.cos(theta), centre * math.sin(theta), 0.0], quat=quat, rgba=rgba,
                      density=BOWL_DENSITY)


def yaw_quaternion(yaw: float) -> np.ndarray:
    """[w, x, y, z] of a rotation about z."""
    return np.array([math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)])

