"""The simulated world: one scene's physics, drives, RGB-D camera and ground truth.

`build_model` composes a scene (robot from urdf/, surface, lights, camera,
objects) and settles it, so every object rests before the first frame; the
settled state is stored as the model's "settled" keyframe, which `World`
starts from and `World.reset` returns to. Frames follow REP 103: x forward,
y left, z up, metres; the origin is the arm base on the table top, the table top
under the palm, or the ground at the quadrotor's take-off point.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from skill_stack.sim import robots, stage
from skill_stack.sim.objects import add_object, body_name
from skill_stack.sim.scene_file import SceneSpec, load_scene

logger = logging.getLogger(__name__)

TIMESTEP = 0.002  # 500 Hz physics
SETTLED_KEY = "settled"
SETTLE_MAX_TIME = 3.0  # s of simulated time before giving up on objects coming to rest
SETTLE_SPEED = 0.005  # m/s or rad/s under which a free body counts as resting
QUADROTOR_START_HEIGHT = 0.1  # body origin above the ground before it drops onto its legs (or its home pad)
QUADROTOR_CAMERA_OFFSET = (0.0, 0.0, -0.022)  # under the body, clear of the legs' view


def build_model(scene: SceneSpec) -> mujoco.MjModel:
    """Compile the scene into a model whose "settled" keyframe has every object at rest.

    Nothing here is random, so a scene always builds to the same model and state;
    the scene's seed is left to whoever randomises on top (tasks, sensor noise).
    """
    embodiment = scene.embodiment
    spec = robots.robot_spec(embodiment)
    spec.modelname = f"{embodiment}_scene"
    spec.option.timestep = TIMESTEP
    # Implicit damping keeps stiff servos stable at 500 Hz; elliptic cones with a
    # high impratio stop grasped objects from creeping out of the fingers.
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    stage.configure_visual(spec)
    if embodiment == "quadrotor":
        stage.add_field(spec)
        spec.body("base_link").pos = [0.0, 0.0, QUADROTOR_START_HEIGHT]
        stage.add_body_camera(spec, "base_link", QUADROTOR_CAMERA_OFFSET)
    else:
        stage.add_table(spec, embodiment)
        stage.add_fixed_camera(spec, embodiment)
    for obj in scene.objects:
        add_object(spec, obj)
    spec.add_key(name=SETTLED_KEY)
    model = spec.compile()
    stage.set_depth_range(model)
    _settle(model, embodiment)
    return model


def _settle(model: mujoco.MjModel, embodiment: str) -> None:
    """Let objects (and the quadrotor) drop onto the surface with the robot holding its home pose."""
    data = mujoco.MjData(model)
    for joint, value in robots.home_pose(embodiment).items():
        data.joint(joint).qpos = value
        data.actuator(joint).ctrl = value
    if embodiment == "arm":
        data.actuator("gripper").ctrl = robots.GRIPPER_MAX_WIDTH
    free = [model.jnt_dofadr[j] + np.arange(6) for j in range(model.njnt)
            if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    free_dofs = np.concatenate(free) if free else np.zeros(0, int)
    check_every = 25
    for _ in range(int(SETTLE_MAX_TIME / model.opt.timestep / check_every)):
        mujoco.mj_step(model, data, nstep=check_every)
        if data.time > 0.1 and np.all(np.abs(data.qvel[free_dofs]) < SETTLE_SPEED):
            break
    else:
        logger.warning("objects still moving after %.1f s of settling", SETTLE_MAX_TIME)
    key = model.key(SETTLED_KEY).id
    model.key_qpos[key] = data.qpos
    model.key_ctrl[key] = data.ctrl
    model.key_act[key] = data.act
    model.key_qvel[key] = 0.0
    model.key_time[key] = 0.0


class World:
    """The hardware a scene describes, in simulation.

    Commands go through MuJoCo's actuators only (joint position servos, the
    gripper, rotor thrust), as they would to real drives; inputs are clipped to
    the actuator ranges and each setter returns what was actually applied.
    Non-finite commands are refused with ValueError.
    """

    def __init__(self, scene: SceneSpec | str | Path):
        self._renderer: mujoco.Renderer | None = None
        self._load(scene)

    def _load(self, scene: SceneSpec | str | Path) -> None:
        self.scene = scene if isinstance(scene, SceneSpec) else load_scene(scene)
        self.embodiment = self.scene.embodiment
        self.model = build_model(self.scene)
        self.data = mujoco.MjData(self.model)
        self._joint_names = robots.actuated_joints(self.embodiment)
        self._qpos_index = np.array([self.model.joint(j).qposadr[0] for j in self._joint_names], int)
        self._dof_index = np.array([self.model.joint(j).dofadr[0] for j in self._joint_names], int)
        self._joint_actuators = np.array([self.model.actuator(j).id for j in self._joint_names], int)
        self._rotor_actuators = np.array([self.model.actuator(f"thrust_{name}").id for name, _ in robots.ROTORS]
                                         if self.embodiment == "quadrotor" else [], int)
        self._camera = self.model.camera(stage.CAMERA).id
        self.reset()

    def reset(self, scene: SceneSpec | str | Path | None = None) -> None:
        """Back to the settled start of the scene, or build a new scene."""
        if scene is not None:
            self.close()
            self._load(scene)
            return
        mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key(SETTLED_KEY).id)
        mujoco.mj_forward(self.model, self.data)

    # --- time -----------------------------------------------------------------

    @property
    def time(self) -> float:
        """Simulated seconds since the scene settled."""
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def step(self, n: int = 1) -> None:
        """Advance the physics by n timesteps."""
        mujoco.mj_step(self.model, self.data, nstep=n)

    # --- joints (arm, hand) -----------------------------------------------------

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Joints with a position servo, in the order of every joint array here."""
        return self._joint_names

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self._qpos_index].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self._dof_index].copy()

    def joint_efforts(self) -> np.ndarray:
        """Torque (N m) or force (N) the drives apply, gravity compensation included."""
        return self.data.qfrc_actuator[self._dof_index].copy()

    def joint_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) position limits, which are also the servo command ranges."""
        ranges = self.model.actuator_ctrlrange[self._joint_actuators]
        return ranges[:, 0].copy(), ranges[:, 1].copy()

    def joint_targets(self) -> np.ndarray:
        return self.data.ctrl[self._joint_actuators].copy()

    def set_joint_targets(self, targets: dict[str, float] | np.ndarray | list[float]) -> np.ndarray:
        """Servo set-points: a full array in `joint_names` order, or {name: position} for some joints.

        Returns the full set-point array after clipping to the joint limits.
        """
        if not self._joint_names:
            raise ValueError(f"the {self.embodiment} has no position-controlled joints")
        values = self.joint_targets()
        if isinstance(targets, dict):
            for name, value in targets.items():
                if name not in self._joint_names:
                    raise ValueError(f"unknown joint {name!r}; joints are {self._joint_names}")
                values[self._joint_names.index(name)] = value
        else:
            values = np.asarray(targets, dtype=float).reshape(-1)
            if values.shape != (len(self._joint_names),):
                raise ValueError(f"expected {len(self._joint_names)} joint targets, got {values.size}")
        _require_finite(values, "joint targets")
        lower, upper = self.joint_limits()
        values = np.clip(values, lower, upper)
        self.data.ctrl[self._joint_actuators] = values
        return values

    # --- gripper (arm) ------------------------------------------------------------

    def gripper_width(self) -> float:
        """Distance between the finger pads in metres."""
        self._require("arm", "gripper")
        return float(self.data.ten_length[self.model.tendon("gripper_width").id])

    def set_gripper(self, width: float) -> float:
        """Command the finger opening in metres (0 closed, 0.085 open); returns the applied width."""
        self._require("arm", "gripper")
        _require_finite(np.array([width], float), "gripper width")
        actuator = self.model.actuator("gripper")
        applied = float(np.clip(width, *actuator.ctrlrange))
        self.data.ctrl[actuator.id] = applied
        return applied

    # --- rotors (quadrotor) ---------------------------------------------------------

    @property
    def rotor_names(self) -> tuple[str, ...]:
        """Rotor order of `set_rotor_thrusts`; spins alternate, see robots.ROTORS."""
        return tuple(name for name, _ in robots.ROTORS) if self.embodiment == "quadrotor" else ()

    @property
    def max_rotor_thrust(self) -> float:
        self._require("quadrotor", "rotors")
        return robots.max_rotor_thrust(self.model)

    def set_rotor_thrusts(self, thrusts: np.ndarray | list[float]) -> np.ndarray:
        """Thrust command per rotor in newtons (order `rotor_names`); returns it after clipping."""
        self._require("quadrotor", "rotors")
        values = np.asarray(thrusts, dtype=float).reshape(-1)
        if values.shape != (len(self._rotor_actuators),):
            raise ValueError(f"expected {len(self._rotor_actuators)} rotor thrusts, got {values.size}")
        _require_finite(values, "rotor thrusts")
        values = np.clip(values, 0.0, self.max_rotor_thrust)
        self.data.ctrl[self._rotor_actuators] = values
        return values

    def odometry(self) -> dict[str, np.ndarray]:
        """Quadrotor state as nav_msgs/Odometry carries it: pose in the world, twist in the body frame."""
        self._require("quadrotor", "free-flying body")
        joint = self.model.joint("root")
        qpos = self.data.qpos[joint.qposadr[0]:joint.qposadr[0] + 7]
        qvel = self.data.qvel[joint.dofadr[0]:joint.dofadr[0] + 6]
        rotation = np.zeros(9)
        mujoco.mju_quat2Mat(rotation, qpos[3:])
        # MuJoCo's free joint: linear velocity in the world frame, angular in the body frame.
        return {"position": qpos[:3].copy(), "quaternion": qpos[3:].copy(),
                "linear_velocity": rotation.reshape(3, 3).T @ qvel[:3], "angular_velocity": qvel[3:].copy()}

    def imu(self) -> dict[str, np.ndarray]:
        """Quadrotor IMU as sensor_msgs/Imu carries it: specific force and angular rate in the body frame."""
        self._require("quadrotor", "IMU")
        accel = self.model.sensor("imu_accel")
        gyro = self.model.sensor("imu_gyro")
        return {"linear_acceleration": self.data.sensordata[accel.adr[0]:accel.adr[0] + 3].copy(),
                "angular_velocity": self.data.sensordata[gyro.adr[0]:gyro.adr[0] + 3].copy()}

    # --- camera ---------------------------------------------------------------------

    def render(self, rgb: bool = True, depth: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
        """One RGB-D frame: uint8 HxWx3 colour and float32 HxW depth in metres along the optical axis.

        Depth is 0 where nothing lies within range, as a RealSense reports invalid pixels.
        """
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, height=stage.IMAGE_HEIGHT, width=stage.IMAGE_WIDTH)
        renderer = self._renderer
        renderer.update_scene(self.data, camera=self._camera)
        color = renderer.render() if rgb else None
        distance = None
        if depth:
            renderer.enable_depth_rendering()
            try:
                distance = renderer.render()
            finally:
                renderer.disable_depth_rendering()
            distance[(distance >= stage.DEPTH_MAX * 0.999) | (distance < stage.DEPTH_MIN)] = 0.0
        return color, distance

    def camera_intrinsics(self) -> tuple[float, float, float, float, int, int]:
        """(fx, fy, cx, cy, width, height) in pixels, pinhole, pixel centres at integer coordinates."""
        fovy = math.radians(self.model.cam_fovy[self._camera])
        fy = stage.IMAGE_HEIGHT / 2.0 / math.tan(fovy / 2.0)
        return fy, fy, (stage.IMAGE_WIDTH - 1) / 2.0, (stage.IMAGE_HEIGHT - 1) / 2.0, stage.IMAGE_WIDTH, \
            stage.IMAGE_HEIGHT

    def camera_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """(position, quaternion w,x,y,z) of the camera's optical frame in the world.

        Optical frame as ROS cameras publish it: z forward along the optical axis,
        x right and y down in the image.
        """
        mujoco_axes = self.data.cam_xmat[self._camera].reshape(3, 3)  # x right, y up, looking along -z
        optical = mujoco_axes @ np.diag([1.0, -1.0, -1.0])
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, optical.ravel())
        return self.data.cam_xpos[self._camera].copy(), quat

    # --- ground truth (evaluation only) ------------------------------------------------

    def site_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(position, quaternion w,x,y,z) of a named site in the world."""
        site = self.model.site(name).id
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[site])
        return self.data.site_xpos[site].copy(), quat

    def ground_truth(self) -> dict[str, Any]:
        """Object poses and the robot's reporting frame, in the shape of `skill-stack run --json` "world"."""
        objects = {}
        for obj in self.scene.objects:
            body = self.data.body(body_name(obj.name))
            objects[obj.name] = {"position": body.xpos.tolist(), "quaternion": body.xquat.tolist()}
        position, quat = self.site_pose(robots.ROBOT_SITES[self.embodiment])
        return {"objects": objects,
                "robots": {self.embodiment: {"position": position.tolist(), "quaternion": quat.tolist()}}}

    # --- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Free the renderer's GL context (the physics needs no cleanup)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require(self, embodiment: str, what: str) -> None:
        if self.embodiment != embodiment:
            raise ValueError(f"the {self.embodiment} has no {what}")


def _require_finite(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} must be finite, got {values.tolist()}")
