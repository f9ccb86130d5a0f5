"""The Crazyflie backend (drivers/backends/crazyflie.py) over the cflib double, on a fake clock."""

from __future__ import annotations

import inspect
import math
import time

import numpy as np
import pytest
from doubles.cflib_double import URI, CflibDouble

from skill_stack.drivers.backends.crazyflie import CrazyflieBackend, CrazyflieSettings
from skill_stack.drivers.config import BackendSpec, ConfigError
from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver
from skill_stack.drivers.safety import CommandError

from repo_paths import REPO

SETTINGS = {'uri': URI, 'stream_period': 0.05, 'log_period': 0.02, 'land_speed': 0.25,
            'touchdown_height': 0.05, 'connect_timeout': 5.0}
CONFIG = QuadrotorConfig.from_yaml(REPO / 'config' / 'robots' / 'crazyflie.yaml')


def settings(**changes) -> CrazyflieSettings:
    spec = BackendSpec('crazyflie', {**SETTINGS, **changes}, 'crazyflie.yaml')
    return CrazyflieSettings.from_fields(spec.fields(), CONFIG.max_speed_z)


def connected(double: CflibDouble | None = None, **changes) -> tuple[CrazyflieBackend, CflibDouble]:
    double = double or CflibDouble()
    backend = CrazyflieBackend(settings(**changes), CONFIG, double.sdk, double.clock, threaded=False)
    backend.connect()
    return backend, double


def run(backend, double, seconds: float, poll: bool = True, step: float = 0.01) -> None:
    for _ in range(round(seconds / step)):
        double.clock.advance(step)
        if poll:
            backend.poll()
        double.step(step)


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('uri', 'http://x', 'backend.uri: expected a Crazyflie link URI'),
    ('stream_period', 0.4, 'backend.stream_period: 0.4 s is too slow'),
    ('stream_period', -1, 'backend.stream_period: must be positive'),
    ('log_period', 0.005, r'backend.log_period: must be in \[0.01, 2.55\]'),
    ('land_speed', 2.0, "backend.land_speed: 2.0 m/s exceeds the driver's max_speed_z"),
    ('extra', 1, 'backend.extra: unknown field'),
])
def test_bad_settings_name_the_file_and_field(field, value, message):
    with pytest.raises(ConfigError, match=f'crazyflie.yaml: {message}'):
        settings(**{field: value})


def test_the_robot_file_opens_through_the_registry():
    pytest.importorskip('cflib')
    from skill_stack.drivers.backends import open_backend

    backend = open_backend('quadrotor', CONFIG.backend_settings, CONFIG)
    assert isinstance(backend, CrazyflieBackend)
    assert backend.settings.uri == 'radio://0/80/2M/E7E7E7E7E7'


def test_connect_writes_the_driver_limits_and_reads_the_estimate():
    backend, double = connected()
    assert double.params['posCtlPid.xyVelMax'] == CONFIG.max_speed_xy
    assert double.params['posCtlPid.zVelMax'] == CONFIG.max_speed_z
    assert double.params['posCtlPid.rLimit'] == double.params['posCtlPid.pLimit'] == CONFIG.max_tilt_deg
    assert double.params['commander.enHighLevel'] == 1
    state = backend.read()
    assert state.landed
    assert not state.armed
    assert backend.status().connected
    assert backend.max_speed == (CONFIG.max_speed_xy, CONFIG.max_speed_z)


def test_no_crazyflie_at_the_uri_is_a_connection_error_naming_it():
    double = CflibDouble()
    double.reachable = False
    backend = CrazyflieBackend(settings(), CONFIG, double.sdk, double.clock, threaded=False)
    with pytest.raises(ConnectionError, match=f'Crazyflie at {URI}: cannot open the link'):
        backend.connect()
    assert not backend.status().connected


def test_setpoints_are_resent_every_stream_period_in_the_commanders_units():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([0.1, 0.2, 0.5]), math.pi / 2)
    assert double.calls[-1] == ('send_position_setpoint', (0.1, 0.2, 0.5, 90.0))  # yaw in degrees
    run(backend, double, 0.04)
    assert double.count('send_position_setpoint') == 1
    run(backend, double, 0.01)
    assert double.count('send_position_setpoint') == 2
    run(backend, double, 0.95)
    assert double.count('send_position_setpoint') == 21  # 20 Hz for 1 s, plus the first
    backend.write_velocity_setpoint(np.array([0.2, 0.0, 0.0]), -0.5)
    assert double.calls[-1] == ('send_velocity_world_setpoint', (0.2, 0.0, 0.0, math.degrees(-0.5)))


def test_the_firmware_watchdog_levels_then_stops_the_motors_when_the_stream_stops():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([0.0, 0.0, 1.0]), 0.0)
    run(backend, double, 4.0)
    backend.write_velocity_setpoint(np.array([0.5, 0.0, 0.0]), 0.0)
    run(backend, double, 0.5)
    assert double.vehicle.velocity[0] == pytest.approx(0.5, abs=0.02)
    run(backend, double, 0.7, poll=False)  # the stream stops (a hung process): > 0.5 s, then braking
    assert abs(double.vehicle.velocity[0]) < 0.05  # levelled: holding, not flying on
    assert double.vehicle.motors
    run(backend, double, 1.4, poll=False)  # > 2 s: motors off, it falls
    assert not double.vehicle.motors
    run(backend, double, 1.0, poll=False)
    assert double.vehicle.position[2] == 0.0


def test_landing_hands_over_to_the_high_level_commander_and_disarms_on_touchdown():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([0.3, 0.0, 0.8]), 0.0)
    run(backend, double, 4.0)
    backend.land()
    names = [name for name, _ in double.calls[-2:]]
    assert names == ['send_notify_setpoint_stop', 'land']
    height, duration, yaw = double.calls[-1][1]
    assert height == 0.0
    assert yaw is None
    assert duration == pytest.approx(0.8 / 0.25, rel=0.05)
    sent = double.count('send_position_setpoint')
    run(backend, double, 4.0)
    assert double.count('send_position_setpoint') == sent  # no low-level stream while landing
    assert ('stop', ()) in double.calls
    state = backend.read()
    assert not state.armed
    assert state.landed
    assert state.position[2] < 0.05
    assert state.position[0] == pytest.approx(0.3, abs=0.05)


def test_link_loss_is_reported_refuses_commands_and_connect_reconnects():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([0.0, 0.0, 0.5]), 0.0)
    double.drop_link('Too many packets lost!')
    status = backend.status()
    assert not status.connected
    assert f'Crazyflie at {URI}: radio link lost (Too many packets lost!)' in status.fault
    assert 'stops the motors after 2.0 s' in status.fault
    with pytest.raises(ConnectionError, match='radio link lost'):
        backend.read()
    calls = len(double.calls)
    with pytest.raises(ConnectionError):
        backend.write_position_setpoint(np.array([0.0, 0.0, 0.5]), 0.0)
    run(backend, double, 0.2)
    assert len(double.calls) == calls  # nothing streamed into a dead link
    backend.connect()
    assert backend.status().connected
    assert backend.status().fault is None
    assert np.all(np.isfinite(backend.read().position))


def test_refused_commands_never_reach_the_radio():
    backend, double = connected()
    driver = QuadrotorDriver(backend, CONFIG, double.clock)
    driver.connect()
    with pytest.raises(CommandError, match='disarmed'):
        driver.command_position([0.0, 0.0, 1.0], 0.0)
    driver.arm()
    with pytest.raises(CommandError, match='outside the geofence'):
        driver.takeoff(CONFIG.fence_z_max + 0.5)
    with pytest.raises(CommandError, match='outside the geofence'):
        driver.command_position([CONFIG.fence_x_max + 1.0, 0.0, 1.0], 0.0)
    with pytest.raises(CommandError, match="'vy' is nan"):
        driver.command_velocity([0.0, float('nan'), 0.0])
    run(backend, double, 0.5)
    assert double.motion_calls() == []
    sent, _ = driver.command_velocity([3.0, 0.0, 0.0])  # clipped before the SDK
    assert double.motion_calls() == [('send_velocity_world_setpoint', (CONFIG.max_speed_xy, 0.0, 0.0, 0.0))]
    assert sent[0] == CONFIG.max_speed_xy


def test_the_streaming_thread_resends_on_its_own():
    double = CflibDouble()
    backend = CrazyflieBackend(settings(), CONFIG, double.sdk, time.monotonic, threaded=True)
    backend.connect()
    try:
        backend.arm()
        backend.write_position_setpoint(np.array([0.0, 0.0, 0.5]), 0.0)
        deadline = time.monotonic() + 10.0
        while double.count('send_position_setpoint') < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert double.count('send_position_setpoint') >= 4
    finally:
        backend.disconnect()


def test_the_double_matches_the_installed_cflib():
    """Every SDK entry point the double implements exists in cflib with the same parameters."""
    pytest.importorskip('cflib')
    import cflib.crtp
    from cflib.crazyflie import Crazyflie
    from cflib.crazyflie.commander import Commander
    from cflib.crazyflie.high_level_commander import HighLevelCommander
    from cflib.crazyflie.log import Log, LogConfig
    from cflib.crazyflie.param import Param
    from cflib.crazyflie.supervisor import Supervisor
    from cflib.crazyflie.syncCrazyflie import SyncCrazyflie
    from cflib.utils.callbacks import Caller
    from doubles import cflib_double

    pairs = [(cflib_double.FakeCommander, Commander), (cflib_double.FakeHighLevelCommander, HighLevelCommander),
             (cflib_double.FakeSupervisor, Supervisor), (cflib_double.FakeParam, Param),
             (cflib_double.FakeLog, Log), (cflib_double.FakeLogConfig, LogConfig),
             (cflib_double.FakeSyncCrazyflie, SyncCrazyflie), (cflib_double.FakeCrazyflie, Crazyflie),
             (cflib_double.Caller, Caller)]
    for fake, real in pairs:
        for name, method in inspect.getmembers(fake, inspect.isfunction):
            if name.startswith('_') and name != '__init__':
                continue
            if name in ('deliver',):  # the double's own delivery of samples
                continue
            assert hasattr(real, name), f'{real.__name__}.{name} does not exist'
            if name == '__init__' and fake in (cflib_double.FakeCrazyflie, cflib_double.FakeSyncCrazyflie,
                                               cflib_double.FakeCommander, cflib_double.FakeHighLevelCommander,
                                               cflib_double.FakeSupervisor, cflib_double.FakeParam,
                                               cflib_double.FakeLog):
                continue  # built by the double's factories, whose signatures are checked below
            assert _parameters(method) == _parameters(getattr(real, name)), f'{real.__name__}.{name}'
    double = CflibDouble()
    assert _parameters(double.sdk.crtp.init_drivers) == _parameters(cflib.crtp.init_drivers)
    assert _parameters(double.sdk.Crazyflie) == _parameters(Crazyflie.__init__)
    assert _parameters(double.sdk.SyncCrazyflie) == _parameters(SyncCrazyflie.__init__)


def _parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != 'self']
