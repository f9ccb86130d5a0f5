"""What surrounds the robot: the support surface, lights and the RGB-D camera.

The camera is a RealSense D435 class colour+depth pair at 640x480 (vertical
field of view 42.5 degrees, so fx = fy ~ 617 px), mounted where a lab would put
it: in front of and above the table, or under the quadrotor looking down.
"""

from __future__ import annotations

import mujoco
import numpy as np

from skill_stack.sim.workspace import TABLES

CAMERA = "camera"
IMAGE_WIDTH = 640
IMAGE_HEIGHT = 480
CAMERA_FOVY = 42.5  # degrees
# Depth is valid between these distances (D435: ~0.1 m minimum, 10 m maximum);
# colour is rendered from CLIP_NEAR so close surfaces still show in the image.
DEPTH_MIN = 0.1
DEPTH_MAX = 10.0
CLIP_NEAR = 0.01

TABLE_HEIGHT = 0.75
TABLE_THICKNESS = 0.04
TABLE_RGBA = [0.55, 0.55, 0.57, 1.0]  # neutral grey, so no object colour blends in
# Fixed cameras, (position, point looked at), in front of the workspace looking back at the robot.
FIXED_CAMERAS = {
    "arm": ((1.25, 0.0, 1.0), (0.3, 0.0, 0.1)),
    "hand": ((0.6, 0.0, 0.55), (0.03, 0.0, 0.05)),
}
GROUND_HALF = 8.0  # quadrotor field plane, metres from the take-off point


def configure_visual(spec: mujoco.MjSpec) -> None:
    """Fast offscreen rendering (no shadows, no multisampling) at the camera resolution."""
    spec.visual.quality.shadowsize = 0
    spec.visual.quality.offsamples = 0
    spec.visual.global_.offwidth = IMAGE_WIDTH
    spec.visual.global_.offheight = IMAGE_HEIGHT
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.4, 0.4, 0.4]
    spec.visual.headlight.specular = [0.0, 0.0, 0.0]
    spec.worldbody.add_light(name="overhead", type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, pos=[0.0, 0.0, 3.0],
                             dir=[0.3, 0.2, -1.0], diffuse=[0.6, 0.6, 0.6], specular=[0.1, 0.1, 0.1],
                             castshadow=False)


def set_depth_range(model: mujoco.MjModel) -> None:
    """Clip planes in metres; MuJoCo stores them relative to the model's extent."""
    model.vis.map.znear = CLIP_NEAR / model.stat.extent
    model.vis.map.zfar = DEPTH_MAX / model.stat.extent


def add_table(spec: mujoco.MjSpec, embodiment: str) -> None:
    """A table whose top surface is the plane z = 0, with legs down to a floor."""
    centre_x, half_x, half_y = TABLES[embodiment]
    top = spec.worldbody.add_body(name="table")
    top.add_geom(name="table_top", type=mujoco.mjtGeom.mjGEOM_BOX, size=[half_x, half_y, TABLE_THICKNESS / 2.0],
                 pos=[centre_x, 0.0, -TABLE_THICKNESS / 2.0], rgba=TABLE_RGBA)
    leg_half = (TABLE_HEIGHT - TABLE_THICKNESS) / 2.0
    for sx in (-1.0, 1.0):
        for sy in (-1.0, 1.0):
            top.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.03, 0.03, leg_half], rgba=[0.3, 0.3, 0.3, 1.0],
                         pos=[centre_x + sx * (half_x - 0.05), sy * (half_y - 0.05), -TABLE_THICKNESS - leg_half])
    _add_ground(spec, z=-TABLE_HEIGHT, half=3.0, rgb=([0.35, 0.33, 0.3], [0.3, 0.28, 0.26]))


def add_field(spec: mujoco.MjSpec) -> None:
    """The quadrotor's flying field: textured ground (a downward camera needs texture to see motion)."""
    _add_ground(spec, z=0.0, half=GROUND_HALF, rgb=([0.42, 0.45, 0.4], [0.36, 0.39, 0.34]))


def _add_ground(spec: mujoco.MjSpec, z: float, half: float, rgb: tuple[list[float], list[float]]) -> None:
    spec.add_texture(name="ground", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
                     rgb1=rgb[0], rgb2=rgb[1], width=256, height=256)
    material = spec.add_material(name="ground", texrepeat=[2.0 * half, 2.0 * half])
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "ground"
    spec.worldbody.add_geom(name="ground", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[half, half, 0.05],
                            pos=[0.0, 0.0, z], material="ground")


def add_fixed_camera(spec: mujoco.MjSpec, embodiment: str) -> None:
    position, target = FIXED_CAMERAS[embodiment]
    spec.worldbody.add_camera(name=CAMERA, pos=list(position), quat=look_at(position, target), fovy=CAMERA_FOVY,
                              resolution=[IMAGE_WIDTH, IMAGE_HEIGHT])


def add_body_camera(spec: mujoco.MjSpec, body: str, offset: tuple[float, float, float]) -> None:
    """A camera looking straight down from `body`, image up = body forward (+x)."""
    # MuJoCo cameras look along their -z with y up: x_cam = -y_body, y_cam = +x_body.
    spec.body(body).add_camera(name=CAMERA, pos=list(offset), quat=_quat_from_axes([0.0, -1.0, 0.0], [1.0, 0.0, 0.0]),
                               fovy=CAMERA_FOVY, resolution=[IMAGE_WIDTH, IMAGE_HEIGHT])


def look_at(position: tuple[float, ...], target: tuple[float, ...]) -> np.ndarray:
    """Quaternion of a MuJoCo camera at `position` looking at `target` with the image upright."""
    forward = np.subtract(target, position, dtype=float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return _quat_from_axes(right, np.cross(right, forward))


def _quat_from_axes(x_axis: list[float] | np.ndarray, y_axis: list[float] | np.ndarray) -> np.ndarray:
    x_axis, y_axis = np.asarray(x_axis, float), np.asarray(y_axis, float)
    matrix = np.column_stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, matrix.ravel())
    return quat
