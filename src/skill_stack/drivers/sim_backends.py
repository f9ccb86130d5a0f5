"""Backends for the arm joints, the gripper and the hand that drive a simulated `World`.

The sim node owns the World and steps it; these backends only read state and
write set-points into its actuators, as a vendor SDK would to real drives, so
all motion (servo tracking, contact, gravity) comes from MuJoCo. Stamps are
the World's simulated time.
"""

from __future__ import annotations

import numpy as np

from skill_stack.drivers.interfaces import (
    CameraBackend,
    CameraFrame,
    DeviceStatus,
    GripperBackend,
    JointBackend,
    JointStateSample,
)
from skill_stack.sim.world import World


class SimJointBackend(JointBackend):
    """The position-servoed joints of a World's arm or hand, in `World.joint_names` order."""

    def __init__(self, world: World):
        if not world.joint_names:
            raise ValueError(f'the {world.embodiment} has no position-controlled joints')
        self.world = world
        self.joint_names = tuple(world.joint_names)
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        if self._connected:
            self.hold()
        self._connected = False

    def status(self) -> DeviceStatus:
        return DeviceStatus(connected=self._connected, details={'backend': 'sim', 'embodiment': self.world.embodiment})

    def read(self) -> JointStateSample:
        self._require_connected()
        world = self.world
        return JointStateSample(world.joint_positions(), world.joint_velocities(), world.joint_efforts(),
                                world.time)

    def write_joint_targets(self, positions: np.ndarray) -> None:
        self._require_connected()
        self.world.set_joint_targets(np.asarray(positions, dtype=float))

    def hold(self) -> None:
        """Servo to where the joints are now; the drives then brake the motion as a real servo stop does."""
        self._require_connected()
        self.world.set_joint_targets(self.world.joint_positions())

    def _require_connected(self) -> None:
        if not self._connected:
            raise ConnectionError(f'sim {self.world.embodiment} joints: not connected; call connect() first')


class SimGripperBackend(GripperBackend):
    """The arm's parallel gripper in a World: one servo on the finger opening."""

    def __init__(self, world: World):
        if world.embodiment != 'arm':
            raise ValueError(f'the {world.embodiment} has no gripper')
        self.world = world
        self.max_width = float(world.model.actuator('gripper').ctrlrange[1])
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def status(self) -> DeviceStatus:
        return DeviceStatus(connected=self._connected, details={'backend': 'sim'})

    def read_width(self) -> float:
        self._require_connected()
        return self.world.gripper_width()

    def write_width(self, width: float) -> None:
        self._require_connected()
        self.world.set_gripper(width)

    def _require_connected(self) -> None:
        if not self._connected:
            raise ConnectionError('sim gripper: not connected; call connect() first')


class SimCameraBackend(CameraBackend):
    """The scene's RGB-D camera, rendered by MuJoCo; call read() from the thread that owns the World."""

    def __init__(self, world: World):
        self.world = world
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def status(self) -> DeviceStatus:
        return DeviceStatus(connected=self._connected, details={'backend': 'sim'})

    def read(self) -> CameraFrame:
        if not self._connected:
            raise ConnectionError('sim camera: not connected; call connect() first')
        rgb, depth = self.world.render()
        return CameraFrame(rgb=rgb, depth=depth, intrinsics=self.world.camera_intrinsics(), stamp=self.world.time)
