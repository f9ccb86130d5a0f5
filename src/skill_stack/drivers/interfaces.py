"""What every backend of a device kind implements, whatever is behind it.

Shaped after the vendor SDKs the real backends wrap (ur_rtde and
xarm-python-sdk for arms, dynamixel-sdk for LEAP hands, cflib and mavsdk for
quadrotors, pyrealsense2 for cameras) and LeRobot's Robot: connect, read
state, write a command, disconnect. Commands are streamed set-points, as
servo-mode arms and offboard flight controllers expect them; a backend may
assume that what it receives has already passed the driver's safety checks.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np


@dataclass
class JointStateSample:
    """Joint positions (rad or m), velocities and efforts, in ``joint_names`` order."""

    positions: np.ndarray
    velocities: np.ndarray
    efforts: np.ndarray
    stamp: float  # seconds, the backend's clock


@dataclass
class QuadrotorStateSample:
    """Body pose and twist in the world frame (REP 103: x forward, z up; quaternion w, x, y, z)."""

    position: np.ndarray
    quaternion: np.ndarray
    linear_velocity: np.ndarray  # world frame, m/s
    angular_velocity: np.ndarray  # body frame, rad/s
    armed: bool
    landed: bool
    stamp: float


@dataclass
class CameraFrame:
    rgb: np.ndarray  # uint8 HxWx3
    depth: np.ndarray  # float32 HxW metres along the optical axis, 0 where invalid
    intrinsics: Tuple[float, float, float, float, int, int]  # fx, fy, cx, cy, width, height
    stamp: float


@dataclass
class DeviceStatus:
    connected: bool
    fault: Optional[str] = None  # a sentence when the device reports a problem
    details: dict = field(default_factory=dict)


class Backend(ABC):
    """Lifecycle shared by every backend (ros2_control's configure/activate, LeRobot's connect)."""

    @abstractmethod
    def connect(self) -> None:
        """Open the link to the device; raise ConnectionError with the reason if it fails."""

    @abstractmethod
    def disconnect(self) -> None:
        """Leave the device safe (holding or landed) and close the link."""

    @abstractmethod
    def status(self) -> DeviceStatus:
        """Whether the link is up and whether the device reports a fault."""


class JointBackend(Backend):
    """A position-controlled chain: an arm's joints, a hand's fingers and wrist."""

    joint_names: Tuple[str, ...]

    @abstractmethod
    def read(self) -> JointStateSample: ...

    @abstractmethod
    def write_joint_targets(self, positions: np.ndarray) -> None:
        """Stream position set-points (all joints, ``joint_names`` order)."""

    @abstractmethod
    def hold(self) -> None:
        """Stop and hold the current position (watchdog, e-stop)."""


class GripperBackend(Backend):
    max_width: float  # metres

    @abstractmethod
    def read_width(self) -> float: ...

    @abstractmethod
    def write_width(self, width: float) -> None:
        """Opening between the fingers in metres; 0 closes."""


class QuadrotorBackend(Backend):
    """A flight controller in offboard mode (PX4) or with setpoint streaming (Crazyflie)."""

    @abstractmethod
    def read(self) -> QuadrotorStateSample: ...

    @abstractmethod
    def arm(self) -> None: ...

    @abstractmethod
    def disarm(self) -> None: ...

    @abstractmethod
    def write_position_setpoint(self, position: np.ndarray, yaw: float) -> None: ...

    @abstractmethod
    def write_velocity_setpoint(self, velocity: np.ndarray, yaw_rate: float) -> None: ...

    @abstractmethod
    def land(self) -> None:
        """Descend at the current xy and disarm on touchdown."""


class CameraBackend(Backend):
    @abstractmethod
    def read(self) -> CameraFrame: ...
