"""The UR backend over the ur_rtde double: settings, the 500 Hz servo loop, faults, link loss, the gripper."""

from __future__ import annotations

import inspect
import math
import re
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from doubles.ur_rtde_double import FakeRTDEControlInterface, FakeRTDEReceiveInterface, URRTDEDouble

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.backends import ur_rtde
from skill_stack.drivers.config import ConfigError, load_arm_config
from skill_stack.drivers.safety import CommandError

CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'robots' / 'ur5e.yaml'
HOME = np.array([np.pi, -1.9, 1.9, -np.pi / 2, -np.pi / 2, 0.0])


@pytest.fixture
def config():
    return load_arm_config(CONFIG)


@pytest.fixture
def settings(config):
    return ur_rtde.parse_settings(config.backend)


@pytest.fixture
def double(settings):
    return URRTDEDouble(HOME, settings.frequency)


@pytest.fixture
def arm(settings, double):
    backend = ur_rtde.URJointBackend(settings, double.rtde_control, double.rtde_receive, threaded=False)
    backend.connect()
    return backend


def _periods(arm, n):
    for _ in range(n):
        arm.stream_period()


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('lookahead_time', 0.5, r'backend\.lookahead_time: 0\.5 is outside the documented range \[0\.03, 0\.2\]'),
    ('gain', 50, r'backend\.gain: 50\.0 is outside the documented range \[100, 2000\]'),
    ('frequency', 0, r'backend\.frequency: must be positive'),
    ('host', '', r'backend\.host: expected a non-empty string'),
    ('watchdog_frequency', 'fast', r'backend\.watchdog_frequency: expected a finite number'),
    ('servo_rate', 5, r'backend\.servo_rate: unknown field'),
    ('gripper.type', 'hand_e', r"backend\.gripper\.type: expected 'robotiq_urcap'"),
    ('gripper.closed_position', 300, r'backend\.gripper\.closed_position: expected an integer in 0\.\.255'),
    ('gripper.open_position', 240, r'backend\.gripper\.open_position: 240 must be below closed_position'),
    ('gripper.port', 70000, r'backend\.gripper\.port: expected a TCP port number'),
])
def test_bad_settings_are_refused_naming_file_and_field(tmp_path, field, value, message):
    data = yaml.safe_load(CONFIG.read_text())
    section = data['backend']
    *parents, key = field.split('.')
    for part in parents:
        section = section[part]
    section[key] = value
    path = tmp_path / 'ur5e.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=rf'{re.escape(str(path))}: {message}'):
        ur_rtde.parse_settings(load_arm_config(path).backend)


def test_shipped_settings_use_the_e_series_rate_and_servoj_ranges(settings):
    assert settings.frequency == 500.0
    assert settings.period == pytest.approx(0.002)
    assert 0.03 <= settings.lookahead_time <= 0.2
    assert 100 <= settings.gain <= 2000


def test_missing_sdk_names_the_package(config, monkeypatch):
    import importlib

    real_import = importlib.import_module

    def without_rtde(name, *args):
        if name.startswith('rtde_'):
            raise ImportError(f'No module named {name!r}')
        return real_import(name, *args)

    monkeypatch.setattr(importlib, 'import_module', without_rtde)
    with pytest.raises(ConfigError, match="install 'ur-rtde'"):
        ur_rtde.from_config(config.backend, config)


# --- the servo loop on the fake clock ---------------------------------------------------------------


def test_each_period_sends_one_servoj_with_the_configured_timing(arm, double, settings):
    target = HOME + 0.01
    arm.write_joint_targets(target)
    assert double.calls('servoJ') == []  # the loop sends it, not the write
    start = double.clock()
    _periods(arm, 50)
    calls = double.calls('servoJ')
    assert len(calls) == 50
    assert double.clock() - start == pytest.approx(50 * settings.period)
    assert np.diff([call.time for call in calls]) == pytest.approx(np.full(49, settings.period))
    for call in calls:
        q, _speed, _acceleration, dt, lookahead, gain = call.args
        assert q == pytest.approx(target.tolist())
        assert (dt, lookahead, gain) == (settings.period, settings.lookahead_time, settings.gain)


def test_without_a_target_the_loop_only_kicks_the_rtde_watchdog(arm, double):
    _periods(arm, 20)
    assert double.motion_calls() == []
    assert len(double.calls('kickWatchdog')) == 20
    assert double.calls('setWatchdog')[0].args == (10.0,)


def test_the_streaming_thread_keeps_the_period_and_stops_the_servo_on_disconnect(settings, double):
    arm = ur_rtde.URJointBackend(settings, double.rtde_control, double.rtde_receive, threaded=True)
    arm.connect()
    arm.write_joint_targets(HOME + 0.05)
    deadline = time.monotonic() + 10.0
    while len(double.calls('servoJ')) < 30 and time.monotonic() < deadline:
        time.sleep(0.001)
    arm.disconnect()
    calls = double.calls('servoJ')
    assert len(calls) >= 30
    # Device time between servoJ calls is one RTDE period each (initPeriod/waitPeriod).
    assert np.diff([call.time for call in calls]) == pytest.approx(np.full(len(calls) - 1, settings.period))
    names = [call.method for call in double.device.calls]
    assert names.index('servoStop') > max(i for i, name in enumerate(names) if name == 'servoJ')
    assert 'stopScript' in names
    count = len(double.calls('servoJ'))
    double.device.advance(0.1)
    assert len(double.calls('servoJ')) == count


def test_the_controller_stops_the_robot_when_the_stream_goes_silent(arm, double):
    """setWatchdog: with no RTDE input for 1/10 s the control script stops; that is a fault until reconnected."""
    arm.write_joint_targets(HOME + 0.2)
    _periods(arm, 10)
    double.device.advance(0.2)  # this process hung: no periods ran
    status = arm.status()
    assert status.connected
    assert 'control script stopped' in status.fault
    with pytest.raises(ConnectionError, match='control script stopped'):
        arm.write_joint_targets(HOME)
    arm.connect()
    assert arm.status().fault is None
    assert double.calls('reuploadScript')


def test_hold_is_servostop_and_the_arm_brakes(arm, double, settings):
    arm.write_joint_targets(HOME + 0.5)
    _periods(arm, 100)
    assert np.any(np.abs(double.device.qd) > 0.5)
    arm.hold()
    assert double.calls('servoStop')[-1].args == (settings.stop_deceleration,)
    _periods(arm, 200)
    assert np.allclose(double.device.qd, 0.0)
    assert double.calls('kickWatchdog')  # still feeding the watchdog while holding


def test_servoj_ranges_are_those_ur_rtde_enforces(double):
    control = double.rtde_control.RTDEControlInterface('ur')
    with pytest.raises(ValueError, match='lookahead_time'):
        control.servoJ(HOME.tolist(), 0.0, 0.0, 0.002, 0.01, 300)
    with pytest.raises(ValueError, match='gain'):
        control.servoJ(HOME.tolist(), 0.0, 0.0, 0.002, 0.1, 3000)


# --- safety stops and link loss -------------------------------------------------------------------


@pytest.mark.parametrize(('inject', 'reported'), [('protective_stop', 'safety mode 3 (protective stop)'),
                                                 ('emergency_stop', 'safety mode 7 (robot emergency stop)')])
def test_safety_stops_are_faults_and_block_reconnecting_until_cleared(arm, double, inject, reported):
    arm.write_joint_targets(HOME + 0.1)
    _periods(arm, 5)
    getattr(double.device, inject)()
    _periods(arm, 5)
    assert reported in arm.status().fault
    with pytest.raises(ConnectionError, match=re.escape(reported)):
        arm.write_joint_targets(HOME)
    with pytest.raises(ConnectionError, match=re.escape(reported) + '; clear it on the teach pendant'):
        arm.connect()
    double.device.clear_stop()
    arm.connect()
    arm.write_joint_targets(HOME)
    _periods(arm, 5)
    assert arm.status().fault is None


def test_link_loss_is_reported_raises_with_the_reason_and_reconnects(arm, double):
    arm.write_joint_targets(HOME + 0.1)
    _periods(arm, 5)
    double.device.lose_link()
    _periods(arm, 5)
    status = arm.status()
    assert not status.connected
    assert 'UR arm at 192.168.1.102: RTDE link lost' in status.fault
    for call in (arm.read, lambda: arm.write_joint_targets(HOME), arm.hold):
        with pytest.raises(ConnectionError, match='RTDE link lost'):
            call()
    with pytest.raises(ConnectionError, match='cannot connect'):
        arm.connect()
    double.device.restore_link()
    arm.connect()
    assert [call.interface for call in double.calls('reconnect')][-2:] == ['control', 'receive']
    status = arm.status()
    assert status.connected
    assert status.fault is None
    np.testing.assert_allclose(arm.read().positions, double.device.q)


def test_an_sdk_exception_mid_stream_counts_as_link_loss(arm, double):
    arm.write_joint_targets(HOME)
    double.controls[-1]._connected = False  # the control connection dropped, the receive one not
    _periods(arm, 1)
    assert not arm.status().connected


# --- limits before the SDK --------------------------------------------------------------------------------


def test_refused_commands_never_reach_the_sdk(config, settings, double):
    joints = ur_rtde.URJointBackend(settings, double.rtde_control, double.rtde_receive, threaded=False)
    gripper = ur_rtde.RobotiqGripper(settings.host, settings.gripper, double.open_socket)
    driver = ArmDriver(joints, gripper, config, double.clock)
    driver.connect()
    bad = [{'elbow_joint': 3.5}, {'wrist_3_joint': math.nan}, {'nope': 0.0}, {'shoulder_lift_joint': math.inf}]
    for target in bad:
        with pytest.raises(CommandError):
            driver.command_joints(target)
    with pytest.raises(CommandError, match='outside the workspace box'):
        driver.command_pose([0.0, 0.0, 1.2], [0.0, 0.0, 1.0, 0.0])
    with pytest.raises(CommandError, match='gripper width'):
        driver.command_gripper(0.3)
    for _ in range(50):
        driver.update()
        _periods(joints, 5)
    assert double.motion_calls() == []


def test_a_far_target_is_streamed_no_faster_than_the_velocity_limit(config, settings, double):
    joints = ur_rtde.URJointBackend(settings, double.rtde_control, double.rtde_receive, threaded=False)
    gripper = ur_rtde.RobotiqGripper(settings.host, settings.gripper, double.open_socket)
    driver = ArmDriver(joints, gripper, config, double.clock)
    driver.connect()
    peak = 0.0
    for _ in range(50):
        driver.command_joints({'shoulder_pan_joint': HOME[0] + 1.0})
        driver.update()
        _periods(joints, 5)
        peak = max(peak, abs(double.device.qd[0]))
    pan = [call.args[0][0] for call in double.calls('servoJ')]
    assert np.max(np.abs(np.diff(pan))) <= 1.5 * 0.01 + 1e-9  # max_velocity * tick, steps only at driver ticks
    assert 1.0 < peak <= 1.5


# --- the Robotiq gripper -----------------------------------------------------------------------------------


def test_gripper_widths_map_linearly_onto_the_calibrated_raw_range(settings, double):
    gripper = ur_rtde.RobotiqGripper(settings.host, settings.gripper, double.open_socket)
    gripper.connect()
    gripper.write_width(0.085)
    gripper.write_width(0.0)
    gripper.write_width(0.0425)
    commands = [call.args[0] for call in double.calls('SET')]
    assert commands == ['SET POS 0 SPE 255 FOR 100 GTO 1', 'SET POS 227 SPE 255 FOR 100 GTO 1',
                        'SET POS 114 SPE 255 FOR 100 GTO 1']
    double.device.advance(2.0)
    assert gripper.read_width() == pytest.approx(0.0425, abs=0.085 / 227)


def test_gripper_that_is_not_activated_is_refused(settings, double):
    double.device.gripper_activated = False
    gripper = ur_rtde.RobotiqGripper(settings.host, settings.gripper, double.open_socket)
    with pytest.raises(ConnectionError, match='not activated; activate it from the Robotiq toolbar'):
        gripper.connect()


def test_gripper_fault_and_link_loss(settings, double):
    gripper = ur_rtde.RobotiqGripper(settings.host, settings.gripper, double.open_socket)
    gripper.connect()
    double.device.gripper_fault = 0x07
    assert gripper.status().fault == 'Robotiq gripper on 192.168.1.102:63352: gripper fault 0x07 (gFLT)'
    double.device.gripper_fault = 0
    double.device.lose_link()
    with pytest.raises(ConnectionError, match='link lost'):
        gripper.read_width()
    assert not gripper.status().connected
    double.device.restore_link()
    gripper.connect()
    assert gripper.status().connected
    assert gripper.status().fault is None


# --- the double against the real SDK ---------------------------------------------------------------------------


def _pybind_parameters(function) -> list[str]:
    """Parameter names from a pybind11 docstring's first line, without self."""
    first = function.__doc__.splitlines()[0]
    inside = first[first.index('(') + 1:first.rindex(')')]
    names = [part.split(':')[0].strip() for part in re.split(r',\s*(?![^\[]*\])', inside) if part.strip()]
    return names[1:]


@pytest.mark.parametrize(('fake', 'module', 'cls'), [
    (FakeRTDEControlInterface, 'rtde_control', 'RTDEControlInterface'),
    (FakeRTDEReceiveInterface, 'rtde_receive', 'RTDEReceiveInterface'),
])
def test_the_double_matches_the_installed_ur_rtde(fake, module, cls):
    real = getattr(pytest.importorskip(module), cls)
    methods = [name for name in dir(fake) if not name.startswith('_') and callable(getattr(fake, name))]
    methods.append('__init__')
    for name in methods:
        assert hasattr(real, name), f'{cls} has no {name}'
        expected = _pybind_parameters(getattr(real, name))
        parameters = list(inspect.signature(getattr(fake, name)).parameters)[1:]
        if name == '__init__':
            parameters = parameters[1:]  # the double's device
        assert len(parameters) == len(expected), (name, parameters, expected)
        for ours, theirs in zip(parameters, expected, strict=True):
            assert theirs.startswith('arg') or ours == theirs, (name, ours, theirs)


def test_the_gripper_socket_factory_is_socket_create_connection():
    parameters = list(inspect.signature(socket.create_connection).parameters)
    assert parameters[:2] == ['address', 'timeout']
    assert list(inspect.signature(URRTDEDouble.open_socket).parameters)[1:] == ['address', 'timeout']


def test_open_backend_builds_both_backends_unconnected_with_the_real_sdk(config):
    pytest.importorskip('rtde_control')
    from skill_stack.drivers.backends import open_backend

    joints, gripper = open_backend('arm', config.backend, config)
    assert isinstance(joints, ur_rtde.URJointBackend)
    assert isinstance(gripper, ur_rtde.RobotiqGripper)
    assert not joints.status().connected
