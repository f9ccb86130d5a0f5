"""The xArm backend over the xarm-python-sdk double: settings, units, servo mode, error codes, link loss, gripper."""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from doubles.xarm_double import FakeXArmAPI, XArmDouble

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.backends import xarm
from skill_stack.drivers.config import ConfigError, load_arm_config
from skill_stack.drivers.safety import CommandError

CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'robots' / 'xarm6.yaml'
HOME = np.array([0.0, -0.3, -0.8, 0.0, 1.1, 0.0])
TICK = 0.01


@pytest.fixture
def config():
    return load_arm_config(CONFIG)


@pytest.fixture
def settings(config):
    return xarm.parse_settings(config.backend)


@pytest.fixture
def double():
    return XArmDouble(HOME)


@pytest.fixture
def link(settings, double):
    return xarm.XArmLink(settings.host, double.XArmAPI)


@pytest.fixture
def arm(link, double):
    backend = xarm.XArmJointBackend(link, double.clock)
    backend.connect()
    return backend


@pytest.fixture
def driver(config, settings, link, double):
    made = ArmDriver(xarm.XArmJointBackend(link, double.clock), xarm.XArmGripper(link, settings.gripper), config,
                     double.clock)
    made.connect()
    return made


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('host', None, r'backend\.host: expected a non-empty string'),
    ('gripper.type', 'lite6_gripper', r"backend\.gripper\.type: expected 'xarm_gripper'"),
    ('gripper.speed', 9000, r'backend\.gripper\.speed: 9000\.0 is outside the documented range \[1000, 5000\]'),
    ('gripper.open_pulse', -850, r'backend\.gripper\.open_pulse: must be positive'),
    ('gripper.max_width', 'wide', r'backend\.gripper\.max_width: expected a finite number'),
    ('is_radian', False, r'backend\.is_radian: unknown field'),
])
def test_bad_settings_are_refused_naming_file_and_field(tmp_path, field, value, message):
    data = yaml.safe_load(CONFIG.read_text())
    section = data['backend']
    *parents, key = field.split('.')
    for part in parents:
        section = section[part]
    section[key] = value
    path = tmp_path / 'xarm6.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=rf'{re.escape(str(path))}: {message}'):
        xarm.parse_settings(load_arm_config(path).backend)


# --- units and servo mode ---------------------------------------------------------------------------


def test_connect_opens_in_radians_and_enters_servo_mode(arm, double):
    created = double.calls('__init__')[0]
    assert created.kwargs == {'is_radian': True, 'do_not_open': True}
    sequence = [(call.method, call.args) for call in double.device.calls
                if call.method in ('motion_enable', 'set_mode', 'set_state')]
    assert sequence == [('motion_enable', (True,)), ('set_mode', (1,)), ('set_state', (0,))]


def test_angles_travel_in_radians_both_ways(arm, double):
    np.testing.assert_allclose(arm.read().positions, HOME)
    arm.write_joint_targets(HOME + 0.1)
    call = double.calls('set_servo_angle_j')[-1]
    assert call.kwargs == {'is_radian': True}
    np.testing.assert_allclose(call.args[0], HOME + 0.1)
    # The double models the SDK's units: without is_radian the same numbers are degrees.
    api = double.api
    assert api.get_joint_states(is_radian=False)[1][0][4] == pytest.approx(math.degrees(HOME[4]))
    assert api.set_servo_angle_j([0, 0, 0, 0, 200, 0], is_radian=False) == -8  # J5 past 180 deg: OUT_OF_RANGE


def test_each_write_is_one_servo_command_and_the_arm_follows_in_device_time(arm, double):
    target = HOME + np.array([0.02, 0.0, 0.0, 0.0, 0.0, 0.0])
    for i in range(1, 11):
        arm.write_joint_targets(HOME + (target - HOME) * i / 10)
        double.device.advance(TICK)
    assert len(double.calls('set_servo_angle_j')) == 10
    assert [round(call.time / TICK) for call in double.calls('set_servo_angle_j')] == list(range(10))
    double.device.advance(0.2)
    np.testing.assert_allclose(arm.read().positions, target, atol=1e-4)


def test_hold_stops_and_the_next_write_re_enters_servo_mode(arm, double):
    arm.write_joint_targets(HOME + 0.3)
    double.device.advance(0.05)
    arm.hold()
    assert double.calls('set_state')[-1].args == (4,)
    double.device.advance(0.5)
    assert np.allclose(double.device.qd, 0.0)
    arm.write_joint_targets(HOME)
    tail = [call.method for call in double.device.calls[-4:]]
    assert tail == ['motion_enable', 'set_mode', 'set_state', 'set_servo_angle_j']
    assert double.api.set_servo_angle_j(HOME.tolist(), is_radian=True) == 0


# --- controller errors and link loss --------------------------------------------------------------------


def test_controller_error_is_a_fault_with_its_meaning_and_connect_clears_it(arm, double):
    arm.write_joint_targets(HOME + 0.1)
    double.api.inject_error(31)
    status = arm.status()
    assert status.connected
    assert 'controller error 31: collision (abnormal current)' in status.fault
    with pytest.raises(ConnectionError, match='controller error 31'):
        arm.write_joint_targets(HOME)
    arm.connect()
    assert double.calls('clean_error')
    assert arm.status().fault is None
    arm.write_joint_targets(HOME)


def test_a_motion_code_reports_the_error_even_without_the_callback(arm, double):
    double.device.error_code = 22  # reported by the next command's code, before any callback
    with pytest.raises(ConnectionError, match='controller error 22: self-collision'):
        arm.write_joint_targets(HOME)


def test_a_pressed_emergency_stop_refuses_to_reconnect(arm, double):
    double.api.inject_error(1, estop=True)
    assert 'emergency stop button' in arm.status().fault
    with pytest.raises(ConnectionError, match=r'controller error 1 \(the emergency stop button .*\) does not clear'):
        arm.connect()
    double.device.estop_pressed = False
    arm.connect()
    assert arm.status().fault is None


def test_link_loss_is_reported_raises_with_the_reason_and_reconnects(arm, double):
    double.api.lose_link()
    status = arm.status()
    assert not status.connected
    assert status.fault == ('xArm at 192.168.1.185: connection lost (the controller closed the connection); '
                            'connect again to reconnect')
    for call in (arm.read, lambda: arm.write_joint_targets(HOME), arm.hold):
        with pytest.raises(ConnectionError, match='connection lost'):
            call()
    with pytest.raises(ConnectionError, match='cannot connect .can not connect to port/ip'):
        arm.connect()
    double.restore_link()
    arm.connect()
    assert arm.status().connected
    assert arm.status().fault is None
    np.testing.assert_allclose(arm.read().positions, HOME)


def test_a_not_connected_code_without_the_callback_is_link_loss(arm, double):
    double.device.link_up = False  # the socket died; the SDK's report thread has not noticed yet
    with pytest.raises(ConnectionError, match=r'connection lost \(set_servo_angle_j returned code -1\)'):
        arm.write_joint_targets(HOME)
    assert not arm.status().connected


# --- limits before the SDK -------------------------------------------------------------------------------------


def test_refused_commands_never_reach_the_sdk(driver, double):
    for target in ({'joint3': 0.5}, {'joint2': math.nan}, {'joint7': 0.0}, {'joint5': -math.inf}):
        with pytest.raises(CommandError):
            driver.command_joints(target)
    with pytest.raises(CommandError, match='outside the workspace box'):
        driver.command_pose([0.4, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0])
    with pytest.raises(CommandError, match='gripper width'):
        driver.command_gripper(-0.1)
    for _ in range(50):
        driver.update()
        double.device.advance(TICK)
    assert double.motion_calls() == []


def test_a_far_target_is_streamed_no_faster_than_the_velocity_limit(driver, double, config):
    for _ in range(100):
        driver.command_joints({'joint1': 1.0})
        driver.update()
        double.device.advance(TICK)
    sent = np.array([call.args[0] for call in double.calls('set_servo_angle_j')])
    limit = np.array([joint.max_velocity for joint in config.joints])
    assert np.all(np.abs(np.diff(sent, axis=0)) <= limit * TICK + 1e-9)
    assert sent[-1][0] == pytest.approx(1.0)


# --- the gripper -------------------------------------------------------------------------------------------


def test_gripper_widths_are_pulses(driver, double):
    driver.command_gripper(0.0425)
    driver.update()
    call = double.calls('set_gripper_position')[-1]
    assert call.args == (pytest.approx(425.0),)
    assert call.kwargs == {'wait': False, 'speed': 5000.0}
    double.device.advance(1.0)
    assert driver.state().gripper_width == pytest.approx(0.0425)
    assert [call.args for call in double.calls('set_gripper_mode')] == [(0,)]


def test_gripper_error_is_reported(driver, double):
    double.device.gripper_error = 9
    assert driver.status().fault == 'gripper: xArm at 192.168.1.185 gripper: gripper error 9'


# --- the double against the real SDK ------------------------------------------------------------------------


def test_the_double_matches_the_installed_xarm_sdk():
    real = pytest.importorskip('xarm.wrapper').XArmAPI
    for name, member in vars(FakeXArmAPI).items():
        if name.startswith('_') and name != '__init__':
            continue
        if name in ('inject_error', 'lose_link'):  # the test's injections, not SDK surface
            continue
        theirs = inspect.getattr_static(real, name)
        if isinstance(member, property):
            assert isinstance(theirs, property), name
            continue
        ours = dict(inspect.signature(member).parameters)
        if name == '__init__':
            ours.pop('device')
        expected = inspect.signature(theirs).parameters
        for parameter in expected.values():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in ours.values()), name
                continue
            assert parameter.name in ours, (name, parameter.name)
            assert ours[parameter.name].default == parameter.default, (name, parameter.name)
        assert list(ours)[:len(expected)] == list(expected), name


def test_open_backend_builds_both_backends_unconnected_with_the_real_sdk(config):
    pytest.importorskip('xarm.wrapper')
    from skill_stack.drivers.backends import open_backend

    joints, gripper = open_backend('arm', config.backend, config)
    assert isinstance(joints, xarm.XArmJointBackend)
    assert isinstance(gripper, xarm.XArmGripper)
    assert not joints.status().connected
