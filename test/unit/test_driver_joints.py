"""The drivers' safety logic over ideal fake devices and a fake clock (no simulator).

The fakes follow every set-point at once, so what these tests see is the
driver's doing alone: rate limiting, partial targets, watchdog timing, e-stop,
and what reaches the backend.
"""

import math

import numpy as np
import pytest

from skill_stack.drivers import joints as joints_module
from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import GripperConfig, HandConfig, JointLimit, load_arm_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.interfaces import DeviceStatus, GripperBackend, JointBackend, JointStateSample
from skill_stack.drivers.safety import CommandError
from skill_stack.sim import robots


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class IdealJoints(JointBackend):
    """A device that is wherever it was last told to be."""

    def __init__(self, names, positions, clock):
        self.joint_names = tuple(names)
        self.positions = np.array(positions, dtype=float)
        self.clock = clock
        self.writes = []
        self.holds = 0

    def connect(self):
        pass

    def disconnect(self):
        pass

    def status(self):
        return DeviceStatus(connected=True)

    def read(self):
        zeros = np.zeros_like(self.positions)
        return JointStateSample(self.positions.copy(), zeros, zeros, self.clock())

    def write_joint_targets(self, positions):
        self.writes.append(np.array(positions))
        self.positions = np.array(positions, dtype=float)

    def hold(self):
        self.holds += 1


class IdealGripper(GripperBackend):
    max_width = 0.085

    def __init__(self):
        self.width = 0.085
        self.writes = []

    def connect(self):
        pass

    def disconnect(self):
        pass

    def status(self):
        return DeviceStatus(connected=True)

    def read_width(self):
        return self.width

    def write_width(self, width):
        self.writes.append(width)
        self.width = width


CONFIG = HandConfig(joints=(JointLimit('a', -1.0, 1.0, 1.0, 0.05), JointLimit('b', -2.0, 2.0, 2.0, 0.05)),
                    watchdog_timeout=0.5)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def device(clock):
    return IdealJoints(['b', 'a'], [0.0, 0.0], clock)  # backend order differs from the config's on purpose


@pytest.fixture
def hand(device, clock):
    driver = HandDriver(device, CONFIG, clock)
    driver.connect()
    return driver


def _ticks(driver, clock, n, dt=0.01, command=None):
    sent = []
    for _ in range(n):
        if command is not None:
            command()
        sent.append(driver.update())
        clock.now += dt
    return sent


def test_config_must_cover_exactly_the_backends_joints(clock):
    with pytest.raises(ValueError, match=r"no limits for \['c'\], limits for joints the backend lacks \[\]"):
        HandDriver(IdealJoints(['a', 'b', 'c'], [0, 0, 0], clock), CONFIG, clock)


def test_arrays_follow_the_backends_joint_order(hand, device):
    assert hand.joint_names == ('b', 'a')
    assert hand.limits.upper.tolist() == [2.0, 1.0]
    np.testing.assert_array_equal(hand.command_joints({'a': 0.5}), [0.0, 0.5])


def test_partial_targets_keep_the_other_joints_last_requested_target(hand, device, clock):
    hand.command_joints({'a': 0.5, 'b': 1.0})
    _ticks(hand, clock, 3)
    assert hand.command_joints({'a': -0.5}).tolist() == [1.0, -0.5]  # b keeps 1.0, not where it is now


def test_setpoint_ramps_at_the_velocity_limit_and_all_joints_arrive_together(hand, device, clock):
    _ticks(hand, clock, 1)
    sent = _ticks(hand, clock, 120, command=lambda: hand.command_joints({'a': 1.0, 'b': -1.0}))
    targets = np.array([s.joint_targets for s in sent])
    steps = np.abs(np.diff(np.vstack([[0.0, 0.0], targets]), axis=0))
    # a needs 1 s at 1 rad/s, b 0.5 s at 2 rad/s: both take 1 s, on the straight line.
    assert np.all(steps[:, 1] <= 1.0 * 0.01 + 1e-12)
    np.testing.assert_allclose(targets[:, 0], -targets[:, 1], atol=1e-12)
    arrived = np.flatnonzero(np.all(targets == [-1.0, 1.0], axis=1))[0]
    assert arrived == pytest.approx(100, abs=1)
    assert hand.status().details['setpoint_at_target']


def test_a_late_tick_moves_no_further_than_max_tick(hand, device, clock):
    hand.command_joints({'a': 1.0})
    hand.update()
    clock.now += 0.45  # the control loop stalled, still inside the watchdog timeout
    sent = hand.update()
    assert sent.joint_targets[1] == pytest.approx(1.0 * joints_module.MAX_TICK)


def test_a_stream_starting_after_idle_time_starts_from_where_the_robot_is(hand, device, clock):
    hand.update()
    clock.now = 5.0  # no ticks while idle
    hand.command_joints({'a': 1.0})
    assert hand.update().joint_targets.tolist() == [0.0, 0.0]
    clock.now += 0.01
    assert hand.update().joint_targets[1] == pytest.approx(0.01)


def test_joints_left_out_of_a_command_are_held_inside_the_limits_too(hand, device, clock):
    device.positions = np.array([2.03, 0.0])  # b rests just past its upper limit of 2.0
    assert hand.command_joints({'a': 0.1}).tolist() == [2.0, 0.1]
    device.positions = np.array([2.5, 0.0])  # far past: the caller has to bring it back explicitly
    hand.estop('reset the stream')
    hand.release()
    with pytest.raises(CommandError, match="joint 'b' target 2.5000 is outside its limits"):
        hand.command_joints({'a': 0.1})
    assert hand.command_joints({'a': 0.1, 'b': 1.9}).tolist() == [1.9, 0.1]


def test_watchdog_trips_after_the_timeout_holds_once_and_rearms(hand, device, clock):
    dt = 2.0 ** -6  # exact in binary, so "more than 0.5 s" is decided without rounding
    _ticks(hand, clock, 10, dt, command=lambda: hand.command_joints({'a': 0.5}))
    last_command = clock.now - dt
    writes = len(device.writes)
    sent = _ticks(hand, clock, 60, dt)
    tripped = [s.stamp for s in sent if s.joint_targets is None]
    assert tripped[0] - last_command == 0.5 + dt  # the first tick past the timeout, not before
    assert all(s.joint_targets is not None for s in sent if s.stamp - last_command <= 0.5)
    assert device.holds == 1
    assert hand.status().fault == 'watchdog: no hand command for 0.516 s (timeout 0.5 s); holding position'
    assert len(device.writes) == writes + round(0.5 / dt)
    hand.command_joints({'a': 0.0})
    assert hand.status().fault is None
    assert hand.update().joint_targets is not None


def test_estop_holds_at_once_refuses_commands_and_needs_a_new_command_after_release(hand, device, clock):
    _ticks(hand, clock, 5, command=lambda: hand.command_joints({'a': 1.0}))
    hand.estop('test')
    assert device.holds == 1
    with pytest.raises(CommandError, match=r'e-stop engaged \(test\)'):
        hand.command_joints({'a': 0.0})
    writes = len(device.writes)
    assert all(s.joint_targets is None for s in _ticks(hand, clock, 100))
    assert hand.status().fault == 'e-stop engaged: test'
    hand.estop('second reason')  # latching: the first reason stays
    assert hand.status().details['estop_reason'] == 'test'
    hand.release()
    assert all(s.joint_targets is None for s in _ticks(hand, clock, 10))  # the old target is gone
    assert len(device.writes) == writes
    hand.command_joints({'a': 0.2})
    assert hand.update().joint_targets is not None


class BlockedFinger(IdealJoints):
    """A device whose joint 'a' closes on an object at 0.05 and stays there, whatever its set-point."""

    def write_joint_targets(self, positions):
        self.writes.append(np.array(positions))
        self.positions = np.array(positions, dtype=float)
        self.positions[1] = min(self.positions[1], 0.05)  # backend order b, a


@pytest.mark.parametrize('stop', ['watchdog', 'estop'])
def test_grip_joints_keep_their_setpoint_when_the_hand_holds(clock, stop):
    """A hand holding an object keeps squeezing it on a hold; the other joints stop where they are."""
    device = BlockedFinger(['b', 'a'], [0.0, 0.0], clock)
    hand = HandDriver(device, HandConfig(joints=CONFIG.joints, watchdog_timeout=0.5, grip_joints=('a',)), clock)
    hand.connect()
    _ticks(hand, clock, 30, command=lambda: hand.command_joints({'a': 0.15, 'b': 0.2}))
    if stop == 'watchdog':
        _ticks(hand, clock, 60)
    else:
        hand.estop('test')
    assert device.holds == 1
    assert device.writes[-1][0] == pytest.approx(0.2)  # 'b' stops where it is
    assert device.writes[-1][1] == pytest.approx(0.15)  # 'a' keeps squeezing past where the object stops it
    assert device.positions[1] == 0.05


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_non_finite_targets_never_reach_the_device(hand, device, clock, bad):
    with pytest.raises(CommandError, match=f"joint 'b' is {bad}"):
        hand.command_joints({'a': 0.1, 'b': bad})
    with pytest.raises(CommandError, match=f"joint 'a' is {bad}"):
        hand.command_joints([0.0, bad])
    _ticks(hand, clock, 5)
    assert device.writes == []


def test_a_refused_command_keeps_the_previous_target(hand, device, clock):
    hand.command_joints({'a': 0.5})
    with pytest.raises(CommandError, match="joint 'b' target 3.0000 is outside"):
        hand.command_joints({'a': -0.5, 'b': 3.0})
    _ticks(hand, clock, 40)  # inside the watchdog timeout
    writes = np.array(device.writes)
    assert np.all(writes[:, 0] == 0.0)  # b never moved toward the refused 3.0
    assert np.all(np.diff(writes[:, 1]) >= 0)  # a still heads for 0.5
    assert writes[-1, 1] > 0.3


def test_update_stamps_with_the_drivers_clock(hand, clock):
    clock.now = 12.5
    assert hand.update().stamp == 12.5


# --- ArmDriver over fakes -----------------------------------------------------------------------


@pytest.fixture
def arm(clock):
    device = IdealJoints(robots.ARM_JOINTS, robots.ARM_HOME, clock)
    driver = ArmDriver(device, IdealGripper(), load_arm_config(), clock)
    driver.connect()
    return driver


def test_gripper_command_goes_out_once_at_the_next_update(arm, clock):
    arm.command_gripper(0.04)
    assert arm.gripper.writes == []
    assert arm.update().gripper_width == 0.04
    assert arm.update().gripper_width is None
    assert arm.gripper.writes == [0.04]


def test_estop_drops_a_pending_gripper_command(arm, clock):
    arm.command_gripper(0.0)
    arm.estop('test')
    arm.release()
    arm.update()
    assert arm.gripper.writes == []


def test_arm_state_reports_the_ee_pose_from_the_measured_joints(arm):
    state = arm.state()
    np.testing.assert_allclose(state.ee_position, [0.3, 0.0, 0.3], atol=1e-3)
    assert state.gripper_width == 0.085


def test_arm_config_wider_than_the_gripper_is_refused(clock):
    config = load_arm_config()
    wide = type(config)(**{**vars(config), 'gripper': GripperConfig(max_width=0.2, clip_margin=0.0)})
    with pytest.raises(ValueError, match='gripper.max_width 0.2 m is wider than the gripper opens'):
        ArmDriver(IdealJoints(robots.ARM_JOINTS, robots.ARM_HOME, clock), IdealGripper(), wide, clock)
