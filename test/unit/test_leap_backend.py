"""The LEAP hand backend over the dynamixel-sdk double: settings, units, connect sequence, rate, faults, safety."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from doubles import dynamixel_double as dxl
from doubles.dynamixel_double import DynamixelBus

from skill_stack.drivers.backends import MissingSDKError, open_backend
from skill_stack.drivers.backends.leap import (
    CURRENT_BASED_POSITION,
    GOAL_CURRENT,
    GOAL_POSITION,
    OPERATING_MODE,
    POSITION_D_GAIN,
    POSITION_P_GAIN,
    TORQUE_ENABLE,
    Gains,
    LeapHandBackend,
    LeapSettings,
    Motor,
)
from skill_stack.drivers.config import ConfigError, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.safety import CommandError

from repo_paths import REPO

CONFIG = REPO / 'config' / 'robots' / 'leap_hand.yaml'
GOAL = GOAL_POSITION[0]


def make(settings_changes=None, **bus_options):
    """A backend over a fresh bus, from config/robots/leap_hand.yaml with ``settings_changes`` applied."""
    config = load_hand_config(CONFIG)
    settings = LeapSettings.from_fields(config.backend.fields(), config.joint_names)
    settings = dataclasses.replace(settings, **(settings_changes or {}))
    bus = DynamixelBus([m.id for m in settings.motors], port=settings.port, baudrate=bus_options.pop(
        'baudrate', settings.baudrate), **bus_options)
    return LeapHandBackend(settings, bus.sdk, bus.clock), bus, config


def write_config(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(CONFIG.read_text())
    edit(data['backend'])
    path = tmp_path / 'leap_hand.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


# --- config -----------------------------------------------------------------------------------


def test_the_leap_config_lists_the_16_finger_joints_with_leaps_limits_and_motor_order():
    config = load_hand_config(CONFIG)
    settings = LeapSettings.from_fields(config.backend.fields(), config.joint_names)
    assert len(config.joints) == 16
    assert not any(name.startswith('wrist') for name in config.joint_names)
    assert [m.id for m in settings.motors] == list(range(16))
    limits = {j.name: (j.lower, j.upper) for j in config.joints}
    assert limits['index_joint0'] == (-1.047, 1.047)
    assert limits['thumb_joint1'] == (-0.47, 2.443)
    assert all(j.max_velocity <= 8.48 for j in config.joints)  # the LEAP URDF's velocity limit
    assert settings.baudrate == 4000000
    assert settings.current_limit == 350
    side = {m.joint: m.gains for m in settings.motors}
    assert side['index_joint0'] == Gains(450, 0, 150)
    assert side['index_joint1'] == Gains(600, 0, 200)


@pytest.mark.parametrize(('edit', 'message'), [
    (lambda b: b.pop('port'), r'backend\.port: expected the U2D2 serial device'),
    (lambda b: b.update(baudrate=1234), r'backend\.baudrate: expected one of'),
    (lambda b: b.update(current_limit=3000), r'backend\.current_limit: expected an integer in \[1, 2352\]'),
    (lambda b: b.update(current_limit=350.5), r'backend\.current_limit: expected an integer'),
    (lambda b: b.update(write_rate=0), r'backend\.write_rate: must be positive'),
    (lambda b: b.update(error_poll_period='fast'), r'backend\.error_poll_period: expected a finite number'),
    (lambda b: b['gains'].update(p=-1), r'backend\.gains\.p: expected an integer in \[0, 16383\]'),
    (lambda b: b['gains'].pop('d'), r'backend\.gains\.d: expected an integer'),
    (lambda b: b['motors'].pop('ring_joint2'), r"backend\.motors: no motor for the joints \['ring_joint2'\]"),
    (lambda b: b['motors'].update(wrist_x={'id': 20}), r'backend\.motors\.wrist_x: unknown field'),
    (lambda b: b['motors']['thumb_joint3'].update(id=3), r'backend\.motors\.\w+\.id: motor id 3 is used by more'),
    (lambda b: b['motors']['thumb_joint3'].update(id=300), r'backend\.motors\.thumb_joint3\.id: expected an integer'),
    (lambda b: b['motors']['index_joint2'].update(direction=2), r'backend\.motors\.index_joint2\.direction'),
    (lambda b: b['motors']['index_joint2'].update(offset=math.nan), r'backend\.motors\.index_joint2\.offset'),
    (lambda b: b.update(rate=100), r'backend\.rate: unknown field'),
])
def test_bad_backend_settings_are_refused_naming_the_file_and_field(tmp_path, edit, message):
    path = write_config(tmp_path, edit)
    config = load_hand_config(path)
    with pytest.raises(ConfigError, match=f'{re.escape(str(path))}: {message}'):
        LeapSettings.from_fields(config.backend.fields(), config.joint_names)


def test_open_backend_builds_the_leap_backend_or_names_the_missing_sdk(monkeypatch):
    config = load_hand_config(CONFIG)
    monkeypatch.setitem(sys.modules, 'dynamixel_sdk', None)  # as if not installed
    with pytest.raises(MissingSDKError, match="install 'dynamixel-sdk'"):
        open_backend('hand', config.backend, config)
    monkeypatch.setitem(sys.modules, 'dynamixel_sdk', make()[1].sdk)
    backend = open_backend('hand', config.backend, config)
    assert isinstance(backend, LeapHandBackend)
    assert backend.joint_names == config.joint_names


# --- units ------------------------------------------------------------------------------------


def test_pulses_and_radians_follow_leaps_zero_direction_and_offset():
    plain = Motor('index_joint1', 1, direction=1, offset=0.0, gains=Gains(600, 0, 200))
    assert plain.to_pulses(0.0) == 2048
    assert plain.to_radians(2048) == 0.0
    assert plain.to_pulses(math.pi / 2) == 3072
    assert plain.to_radians(1024) == pytest.approx(-math.pi / 2)
    flipped = Motor('thumb_joint0', 12, direction=-1, offset=0.1, gains=Gains(600, 0, 200))
    assert flipped.to_pulses(0.1) == 2048
    assert flipped.to_pulses(0.1 + math.pi / 2) == 1024
    for angle in np.linspace(-1.2, 2.4, 13):
        assert flipped.to_radians(flipped.to_pulses(angle)) == pytest.approx(angle, abs=math.pi / 4096)


def test_reads_and_writes_apply_each_joints_calibration_on_the_bus():
    motors = list(make()[0].settings.motors)
    motors[1] = Motor('index_joint1', 1, direction=-1, offset=0.2, gains=motors[1].gains)
    backend, bus, _ = make({'motors': tuple(motors)})
    backend.connect()
    state = backend.read()
    assert state.positions[0] == 0.0
    assert state.positions[1] == pytest.approx(0.2)
    target = np.zeros(16)
    target[1] = 0.2 + math.pi / 4  # direction -1: the motor turns the other way
    target[2] = math.pi / 4
    backend.write_joint_targets(target)
    assert bus.sync_writes(GOAL)[-1][1] == 2048 - 512
    assert bus.sync_writes(GOAL)[-1][2] == 2048 + 512
    bus.advance(1.0)
    np.testing.assert_allclose(backend.read().positions[:3], target[:3], atol=2 * math.pi / 4096)


def test_velocities_are_rad_s_and_efforts_are_amperes_capped_by_the_current_limit():
    backend, bus, _ = make()
    backend.connect()
    target = np.zeros(16)
    target[5] = 1.5
    backend.write_joint_targets(target)
    bus.advance(0.05)
    state = backend.read()
    raw = bus.motors[5]
    assert state.velocities[5] == pytest.approx(raw.get('present_velocity') * 0.229 * 2 * math.pi / 60)
    assert 0.5 < state.velocities[5] <= 8.48 + 0.03
    assert state.efforts[5] == pytest.approx(raw.get('present_current') / 1000.0)
    assert state.efforts[5] == pytest.approx(0.350)  # far from its goal: at the cap


# --- connect ----------------------------------------------------------------------------------


def test_connect_configures_current_based_position_control_as_leaps_api_does():
    backend, bus, _ = make()
    bus.motors[7].set('present_position', 2300)  # a finger resting bent
    bus.motors[7]._position = 2300.0
    backend.connect()
    assert [call for call in bus.calls if call[0] == 'set_baudrate'][-1][1]['baudrate'] == 4000000
    writes = [(c['id'], c['address'], c['value']) for name, c in bus.calls if name == 'write']
    for motor in backend.settings.motors:
        mine = [(address, value) for i, address, value in writes if i == motor.id]
        # torque off first (Operating Mode is EEPROM), torque on last, everything else in between
        assert mine[0] == (TORQUE_ENABLE[0], 0)
        assert mine[-1] == (TORQUE_ENABLE[0], 1)
        assert (OPERATING_MODE[0], CURRENT_BASED_POSITION) in mine
        assert (GOAL_CURRENT[0], 350) in mine
        assert (POSITION_P_GAIN[0], motor.gains.p) in mine
        assert (POSITION_D_GAIN[0], motor.gains.d) in mine
    for motor in bus.motors.values():
        assert motor.get('operating_mode') == 5
        assert motor.get('goal_current') == 350
        assert motor.get('torque_enable') == 1
    # The goal was set to where each finger is before torque came on: nothing jumps.
    assert bus.sync_writes(GOAL) == [{i: (2300 if i == 7 else 2048) for i in range(16)}]
    bus.advance(0.5)
    assert bus.positions()[7] == 2300
    assert backend.status().connected
    assert backend.status().fault is None


def test_a_current_limit_above_the_motors_current_limit_register_is_refused_at_connect():
    backend, bus, _ = make()
    bus.motors[4].set('current_limit', 300)  # someone lowered Current Limit(38) in Dynamixel Wizard
    with pytest.raises(ConnectionError, match=r'motor 4 \(middle_joint0\): refused Goal Current = 350: .*exceeds'):
        backend.connect()
    assert not backend.status().connected


def test_a_port_that_cannot_be_opened_is_a_connection_error_naming_it():
    backend, bus, _ = make()
    bus.unplug()
    with pytest.raises(ConnectionError, match=r'LEAP hand on /dev/ttyUSB0: cannot open the port .*No such file'):
        backend.connect()
    status = backend.status()
    assert not status.connected
    assert 'cannot open the port' in status.fault


def test_motors_at_another_baud_rate_do_not_answer():
    backend, _, _ = make(baudrate=1000000)
    with pytest.raises(ConnectionError, match='the motors stopped answering .*There is no status packet'):
        backend.connect()


def test_io_before_connect_is_refused():
    backend, bus, _ = make()
    for call in (backend.read, backend.hold, lambda: backend.write_joint_targets(np.zeros(16))):
        with pytest.raises(ConnectionError, match='not connected'):
            call()
    assert bus.calls == []


# --- rate -------------------------------------------------------------------------------------


def test_goal_positions_go_out_at_most_at_the_write_rate_under_a_fake_clock():
    backend, bus, _ = make()
    backend.connect()
    sent_before = len(bus.sync_writes(GOAL))
    sent_at = []
    for k in range(100):  # 1 kHz of set-points for 0.1 s
        target = np.full(16, 0.001 * k)
        before = len(bus.sync_writes(GOAL))
        backend.write_joint_targets(target)
        if len(bus.sync_writes(GOAL)) > before:
            sent_at.append(bus.time)
        bus.advance(0.001)
    assert len(bus.sync_writes(GOAL)) - sent_before == 10  # 100 Hz
    assert np.all(np.diff(sent_at) >= 0.01 - 1e-9)
    # hold() is never delayed: it goes out at once, whatever the rate ...
    held = len(bus.sync_writes(GOAL))
    backend.hold()
    backend.write_joint_targets(np.zeros(16))  # and so is the set-point right after it
    assert len(bus.sync_writes(GOAL)) == held + 2


def test_a_write_rate_below_the_control_rate_sends_the_newest_set_point():
    backend, bus, _ = make({'write_rate': 50.0})
    backend.connect()
    for k in range(10):  # 100 Hz calls
        backend.write_joint_targets(np.full(16, 0.01 * k))
        bus.advance(0.01)
    sent = bus.sync_writes(GOAL)[1:]
    assert len(sent) == 5
    assert [values[0] for values in sent] == [Motor('', 0, 1, 0.0, Gains(0, 0, 0)).to_pulses(0.01 * k)
                                              for k in (0, 2, 4, 6, 8)]


# --- faults -----------------------------------------------------------------------------------


def test_unplugged_u2d2_is_a_lost_link_and_connect_reconnects():
    backend, bus, _ = make()
    backend.connect()
    bus.unplug()
    with pytest.raises(ConnectionError, match='LEAP hand on /dev/ttyUSB0: the port failed .*Input/output error'):
        backend.read()
    status = backend.status()
    assert not status.connected
    assert 'the port failed' in status.fault
    for call in (backend.read, lambda: backend.write_joint_targets(np.zeros(16)), backend.hold):
        with pytest.raises(ConnectionError, match='the port failed'):
            call()
    with pytest.raises(ConnectionError, match='cannot open the port'):
        backend.connect()
    bus.replug()
    backend.connect()
    assert backend.status().connected
    assert backend.status().fault is None
    backend.write_joint_targets(np.full(16, 0.1))
    bus.advance(0.5)
    np.testing.assert_allclose(backend.read().positions, 0.1, atol=0.002)


def test_motor_power_lost_mid_stream_is_a_lost_link_after_one_retry():
    backend, bus, _ = make()
    backend.connect()
    bus.powered = False
    reads = sum(1 for name, _ in bus.calls if name == 'sync_read')
    with pytest.raises(ConnectionError, match='the motors stopped answering .*check the hand.s power'):
        backend.read()
    assert sum(1 for name, _ in bus.calls if name == 'sync_read') == reads + 2
    assert not backend.status().connected
    bus.powered = True
    backend.connect()
    assert backend.status().connected


def test_a_motor_hardware_error_is_a_fault_naming_the_motor_until_power_cycled():
    backend, bus, _ = make()
    backend.connect()
    bus.motors[5].raise_hardware_error(5)  # overload: the motor switches its torque off
    status = backend.status()
    assert status.connected
    assert 'motor 5 (middle_joint1): overload error (Hardware Error Status 0x20)' in status.fault
    assert 'power-cycle' in status.fault
    backend.disconnect()
    with pytest.raises(ConnectionError, match='overload error .*power-cycle the hand'):
        backend.connect()
    bus.power_cycle()
    backend.connect()
    assert backend.status().fault is None


def test_hardware_errors_are_polled_at_most_every_error_poll_period():
    backend, bus, _ = make()
    backend.connect()
    polls = lambda: sum(1 for name, c in bus.calls if name == 'sync_read' and c['address'] == 70)  # noqa: E731
    start = polls()
    for _ in range(100):
        backend.status()
        bus.advance(0.01)
    assert polls() - start == 2  # 1 s at 0.5 s


def test_disconnect_holds_then_switches_torque_off_and_closes_the_port():
    backend, bus, _ = make()
    backend.connect()
    backend.write_joint_targets(np.full(16, 0.5))
    bus.advance(0.02)
    backend.disconnect()
    assert all(m.get('torque_enable') == 0 for m in bus.motors.values())
    assert bus.calls[-1][0] == 'close_port'
    assert not backend.status().connected
    assert backend.status().fault is None


# --- safety before the SDK --------------------------------------------------------------------


@pytest.mark.parametrize('bad', [{'index_joint1': 2.23 + 0.2}, {'thumb_joint2': math.nan},
                                 {'wrist_x': 0.0}, [0.0] * 15])
def test_refused_commands_never_reach_the_bus(bad):
    backend, bus, config = make()
    driver = HandDriver(backend, config, bus.clock)
    driver.connect()
    sent = len(bus.sync_writes(GOAL))
    with pytest.raises(CommandError):
        driver.command_joints(bad)
    for _ in range(20):
        driver.update()
        bus.advance(0.01)
    assert len(bus.sync_writes(GOAL)) == sent  # no GroupSyncWrite of Goal Position went out
    assert bus.positions() == {i: 2048 for i in range(16)}


def test_streamed_set_points_on_the_bus_stay_inside_the_limits_and_the_speed_limit():
    backend, bus, config = make()
    driver = HandDriver(backend, config, bus.clock)
    driver.connect()
    for _ in range(100):
        driver.command_joints({'index_joint1': 2.23 + 0.04, 'thumb_joint2': -1.2})  # within the clip margin
        driver.update()
        bus.advance(0.01)
    motor = backend.settings.motors[1]
    sent = np.array([motor.to_radians(values[1]) for values in bus.sync_writes(GOAL)])
    assert sent.max() <= 2.23 + math.pi / 4096
    assert np.all(np.abs(np.diff(sent)) <= 6.0 * 0.01 + 2 * math.pi / 4096)


# --- the double against the real SDK ----------------------------------------------------------


def test_the_double_matches_the_installed_dynamixel_sdk():
    sdk = pytest.importorskip('dynamixel_sdk')
    from dynamixel_sdk import protocol2_packet_handler

    def names(function):
        return [p.name for p in inspect.signature(function).parameters.values() if p.name != 'self']

    bus = DynamixelBus([0])
    pairs = [(bus.sdk.PortHandler, sdk.PortHandler), (dxl.PortHandler, sdk.PortHandler),
             (dxl.Protocol2PacketHandler, protocol2_packet_handler.Protocol2PacketHandler),
             (dxl.GroupSyncRead, sdk.GroupSyncRead), (dxl.GroupSyncWrite, sdk.GroupSyncWrite)]
    assert names(bus.sdk.PortHandler.__init__) == names(sdk.PortHandler.__init__)
    assert names(bus.sdk.PacketHandler) == names(sdk.PacketHandler)
    for double, real in pairs:
        for name, method in vars(double).items():
            if name.startswith('_'):
                continue
            assert hasattr(real, name), f'{real.__name__} has no {name}'
            assert names(method) == names(getattr(real, name)), f'{real.__name__}.{name}'
    for name in [n for n in vars(dxl) if n.startswith(('COMM_', 'ERRNUM_', 'ERRBIT_'))]:
        assert getattr(dxl, name) == getattr(protocol2_packet_handler, name), name
    assert dxl.BAUDRATES == tuple(b for b in dxl.BAUDRATES if sdk.PortHandler('x').getCFlagBaud(b) > 0)
    real = protocol2_packet_handler.Protocol2PacketHandler()
    double = bus.sdk.PacketHandler(2.0)
    for code in (dxl.COMM_SUCCESS, dxl.COMM_RX_TIMEOUT, dxl.COMM_TX_FAIL, dxl.COMM_PORT_BUSY):
        assert double.getTxRxResult(code) == real.getTxRxResult(code)
    for error in (0, dxl.ERRNUM_ACCESS, dxl.ERRNUM_DATA_LIMIT, dxl.ERRBIT_ALERT | dxl.ERRNUM_ACCESS):
        assert double.getRxPacketError(error) == real.getRxPacketError(error)
