"""The driver contract: fixtures that run one suite against every joint backend.

A `Rig` is one backend under test plus what the suite needs to drive it: the
device's clock, a way to let device time pass, and targets that are safe for
that device. Adding a backend (a real SDK backend over its test double) is one
entry in RIGS: a function returning a Rig. Every backend then has to pass the
same tests as the simulator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault('MUJOCO_GL', 'egl')

import numpy as np
import pytest
from doubles.dynamixel_double import DynamixelBus
from doubles.ur_rtde_double import URRTDEDouble
from doubles.xarm_double import XArmDouble

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.backends import ur_rtde, xarm
from skill_stack.drivers.backends.leap import LeapHandBackend, LeapSettings
from skill_stack.drivers.config import ArmConfig, HandConfig, load_arm_config, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.interfaces import DeviceStatus, GripperBackend, JointBackend, JointStateSample
from skill_stack.drivers.safety import Clock
from skill_stack.drivers.sim_backends import SimGripperBackend, SimJointBackend
from skill_stack.sim.world import World

SCENES = Path(__file__).resolve().parents[2] / 'config' / 'scenes'
ROBOTS = Path(__file__).resolve().parents[2] / 'config' / 'robots'
TICK = 0.01  # s, the control period the suite drives at (100 Hz)
DOWN = np.array([0.0, 0.0, 1.0, 0.0])  # w, x, y, z: the arm's gripper pointing straight down


@dataclass
class Rig:
    """One backend under test. ``joints`` and ``gripper`` come unconnected; the driver fixtures connect them."""

    kind: str  # 'arm' or 'hand'
    joints: JointBackend
    config: ArmConfig | HandConfig
    clock: Clock  # the device's time: a real backend's double advances it, the sim's is simulated time
    advance: Callable[[float], None]  # let this many seconds of device time pass
    free_target: dict[str, float]  # reachable in 2 s, away from limits, objects and self-collision
    limit_joint: str  # a joint whose whole range is safe to drive to either end
    position_tolerance: float  # rad or m: "reached"
    gripper: Optional[GripperBackend] = None
    pose_target: Optional[tuple[np.ndarray, np.ndarray]] = None  # arm: a reachable ee pose (position, w x y z)
    lean_joint: str = 'joint2'  # arm: the shoulder joint that, 1.4 rad further from home, puts the ee below the table
    close: Callable[[], None] = field(default=lambda: None)


def _stepper(world: World) -> Callable[[float], None]:
    def advance(seconds: float) -> None:
        world.step(max(1, round(seconds / world.timestep)))
    return advance


def sim_arm_rig() -> Rig:
    world = World(SCENES / 'arm_blocks.yaml')
    home = dict(zip(world.joint_names, world.joint_positions(), strict=True))
    free = {name: home[name] + offset for name, offset in
            zip(world.joint_names, (0.4, -0.2, 0.1, 0.3, -0.3, 0.6), strict=True)}
    yaw = 0.5  # the down-pointing gripper turned about the vertical
    pose = (np.array([0.38, 0.12, 0.22]),
            np.array([0.0, -np.sin(yaw / 2), np.cos(yaw / 2), 0.0]))
    return Rig(kind='arm', joints=SimJointBackend(world), gripper=SimGripperBackend(world),
               config=load_arm_config(), clock=lambda: world.time, advance=_stepper(world),
               free_target=free, limit_joint='joint5', position_tolerance=0.005, pose_target=pose,
               close=world.close)


def sim_hand_rig() -> Rig:
    world = World(SCENES / 'hand_cube.yaml')
    free = {'wrist_x': 0.05, 'wrist_z': 0.1, 'wrist_yaw': 0.3, 'index_joint1': 0.6, 'middle_joint2': 0.5,
            'ring_joint0': -0.2, 'thumb_joint0': 0.8, 'thumb_joint1': 0.5}
    return Rig(kind='hand', joints=SimJointBackend(world), config=load_hand_config(), clock=lambda: world.time,
               advance=_stepper(world), free_target=free, limit_joint='index_joint1', position_tolerance=0.01,
               close=world.close)


def leap_hand_rig() -> Rig:
    """The LEAP hand backend over the dynamixel-sdk double: 16 XC330 motors, the thumb's PIP bent back."""
    config = load_hand_config(ROBOTS / 'leap_hand.yaml')
    settings = LeapSettings.from_fields(config.backend.fields(), config.joint_names)
    bent = {motor.id: motor.to_pulses(-1.0) for motor in settings.motors if motor.joint == 'thumb_joint2'}
    bus = DynamixelBus([motor.id for motor in settings.motors], port=settings.port, baudrate=settings.baudrate,
                       positions=bent)
    # thumb_joint2 travels 2 rad: at 6 rad/s the hand is still moving 0.3 s in, as the e-stop test needs.
    free = {'index_joint0': 0.2, 'index_joint1': 1.2, 'middle_joint2': 0.5, 'ring_joint0': -0.2,
            'thumb_joint0': 0.8, 'thumb_joint1': 0.5, 'thumb_joint2': 1.0}
    return Rig(kind='hand', joints=LeapHandBackend(settings, bus.sdk, bus.clock), config=config, clock=bus.clock,
               advance=bus.advance, free_target=free, limit_joint='index_joint1', position_tolerance=0.01)


def _arm_pose_target() -> tuple[np.ndarray, np.ndarray]:
    yaw = 0.5  # the down-pointing gripper turned about the vertical
    return np.array([0.38, 0.12, 0.22]), np.array([0.0, -np.sin(yaw / 2), np.cos(yaw / 2), 0.0])


def ur_rtde_arm_rig() -> Rig:
    """A UR5e over the ur_rtde double; the rig runs the backend's 500 Hz servo loop as device time passes."""
    config = load_arm_config(ROBOTS / 'ur5e.yaml')
    settings = ur_rtde.parse_settings(config.backend)
    home = np.array([np.pi, -1.9, 1.9, -np.pi / 2, -np.pi / 2, 0.0])  # gripper down at (0.36, 0.13, 0.31)
    double = URRTDEDouble(home, settings.frequency)
    joints = ur_rtde.URJointBackend(settings, double.rtde_control, double.rtde_receive, threaded=False)

    def advance(seconds: float) -> None:
        for _ in range(max(1, round(seconds * settings.frequency))):
            if double.controls:
                joints.stream_period()
            else:
                double.device.advance(settings.period)

    free = dict(zip(ur_rtde.UR_JOINTS, home + np.array([0.4, -0.2, 0.1, 0.3, -0.3, 0.6]), strict=True))
    return Rig(kind='arm', joints=joints, gripper=ur_rtde.RobotiqGripper(settings.host, settings.gripper,
                                                                        double.open_socket),
               config=config, clock=double.clock, advance=advance, free_target=free, limit_joint='wrist_3_joint',
               position_tolerance=0.005, pose_target=_arm_pose_target(), lean_joint='shoulder_lift_joint')


def xarm_arm_rig() -> Rig:
    """An xArm 6 over the xarm-python-sdk double."""
    config = load_arm_config(ROBOTS / 'xarm6.yaml')
    settings = xarm.parse_settings(config.backend)
    home = np.array([0.0, -0.3, -0.8, 0.0, 1.1, 0.0])  # gripper down at (0.38, 0, 0.2)
    double = XArmDouble(home)
    link = xarm.XArmLink(settings.host, double.XArmAPI)
    free = dict(zip(xarm.XARM6_JOINTS, home + np.array([0.4, -0.2, 0.1, 0.3, -0.3, 0.6]), strict=True))
    return Rig(kind='arm', joints=xarm.XArmJointBackend(link, double.clock),
               gripper=xarm.XArmGripper(link, settings.gripper), config=config, clock=double.clock,
               advance=double.device.advance, free_target=free, limit_joint='joint6', position_tolerance=0.005,
               pose_target=_arm_pose_target())


# One entry per backend and device kind; the id shows in the test names.
RIGS: dict[str, Callable[[], Rig]] = {
    'sim-arm': sim_arm_rig,
    'ur_rtde-arm': ur_rtde_arm_rig,
    'xarm-arm': xarm_arm_rig,
    'sim-hand': sim_hand_rig,
    'leap-hand': leap_hand_rig,
}
ARM_RIGS = [name for name in RIGS if name.endswith('-arm')]


class RecordingJointBackend(JointBackend):
    """Wraps any joint backend and records every call that reaches it, to prove what was (not) sent."""

    def __init__(self, inner: JointBackend):
        self.inner = inner
        self.joint_names = inner.joint_names
        self.writes: list[np.ndarray] = []
        self.holds = 0

    def connect(self) -> None:
        self.inner.connect()

    def disconnect(self) -> None:
        self.inner.disconnect()

    def status(self) -> DeviceStatus:
        return self.inner.status()

    def read(self) -> JointStateSample:
        return self.inner.read()

    def write_joint_targets(self, positions: np.ndarray) -> None:
        self.writes.append(np.array(positions, dtype=float))
        self.inner.write_joint_targets(positions)

    def hold(self) -> None:
        self.holds += 1
        self.inner.hold()


class RecordingGripperBackend(GripperBackend):
    def __init__(self, inner: GripperBackend):
        self.inner = inner
        self.max_width = inner.max_width
        self.writes: list[float] = []

    def connect(self) -> None:
        self.inner.connect()

    def disconnect(self) -> None:
        self.inner.disconnect()

    def status(self) -> DeviceStatus:
        return self.inner.status()

    def read_width(self) -> float:
        return self.inner.read_width()

    def write_width(self, width: float) -> None:
        self.writes.append(float(width))
        self.inner.write_width(width)


@dataclass
class Setup:
    """A connected driver over a recording wrapper of the rig's backend."""

    rig: Rig
    driver: ArmDriver | HandDriver
    joints: RecordingJointBackend
    gripper: Optional[RecordingGripperBackend]
    period: float = TICK

    def index(self, name: str) -> int:
        return self.driver.joint_names.index(name)

    def target_array(self, targets: dict[str, float]) -> np.ndarray:
        full = self.joints.read().positions.copy()
        for name, value in targets.items():
            full[self.index(name)] = value
        return full

    def tick(self, n: int = 1, command: Optional[Callable[[], object]] = None) -> None:
        """n control ticks: optionally (re)send a command, update the driver, let TICK of device time pass."""
        for _ in range(n):
            if command is not None:
                command()
            self.driver.update()
            self.rig.advance(TICK)

    def ticks(self, seconds: float) -> int:
        return round(seconds / TICK)


def _setup(rig: Rig) -> Setup:
    joints = RecordingJointBackend(rig.joints)
    if rig.kind == 'arm':
        gripper = RecordingGripperBackend(rig.gripper)
        driver = ArmDriver(joints, gripper, rig.config, rig.clock)
    else:
        gripper = None
        driver = HandDriver(joints, rig.config, rig.clock)
    driver.connect()
    return Setup(rig, driver, joints, gripper)


@pytest.fixture(params=list(RIGS))
def rig(request):
    made = RIGS[request.param]()
    yield made
    made.close()


@pytest.fixture(params=ARM_RIGS)
def arm_rig(request):
    made = RIGS[request.param]()
    yield made
    made.close()


@pytest.fixture
def setup(rig) -> Setup:
    return _setup(rig)


@pytest.fixture
def arm(arm_rig) -> Setup:
    return _setup(arm_rig)
