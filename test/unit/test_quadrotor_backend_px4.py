"""The PX4 backend (drivers/backends/px4.py) over the mavsdk double, on a fake clock; NED/ENU conversions."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from doubles import mavsdk_double
from doubles.mavsdk_double import ADDRESS, OffboardError, OffboardResult, PositionNedYaw, Px4Double

from skill_stack.drivers.backends.px4 import (
    Px4Backend,
    Px4Settings,
    enu_to_ned,
    ned_to_enu,
    quaternion_ned_to_enu,
    rates_frd_to_flu,
    yaw_enu_to_ned_deg,
    yaw_ned_deg_to_enu,
)
from skill_stack.drivers.config import BackendSpec, ConfigError
from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver, yaw_of
from skill_stack.drivers.safety import CommandError

from repo_paths import REPO

CONFIG = QuadrotorConfig.from_yaml(REPO / 'config' / 'robots' / 'px4.yaml')
SETTINGS = dict(CONFIG.backend_settings.settings)


def settings(**changes) -> Px4Settings:
    spec = BackendSpec('px4', {**SETTINGS, **changes}, 'px4.yaml')
    return Px4Settings.from_fields(spec.fields(), CONFIG.max_speed_z)


def connected(double: Px4Double | None = None, **changes) -> tuple[Px4Backend, Px4Double]:
    double = double or Px4Double()
    backend = Px4Backend(settings(**changes), CONFIG, double.sdk, double.clock, threaded=False)
    backend.connect()
    return backend, double


def run(backend, double, seconds: float, poll: bool = True, step: float = 0.01) -> None:
    for _ in range(round(seconds / step)):
        double.clock.advance(step)
        if poll:
            backend.poll()
        double.step(step)


def rotation(q) -> np.ndarray:
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


# --- settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('system_address', 'http://px4', 'backend.system_address: expected a MAVSDK connection URL'),
    ('stream_period', 0.5, 'backend.stream_period: PX4 leaves offboard below 2 Hz'),
    ('offboard_warmup', 0.2, 'backend.offboard_warmup: PX4 accepts offboard only after about 1 s'),
    ('offboard_loss_timeout', 90.0, 'backend.offboard_loss_timeout: COM_OF_LOSS_T must be'),
    ('datalink_loss_timeout', 2.5, 'backend.datalink_loss_timeout: expected a positive integer'),
    ('land_speed', 3.0, "backend.land_speed: 3.0 m/s exceeds the driver's max_speed_z"),
    ('connect_timeout', 'soon', 'backend.connect_timeout: expected a finite number'),
    ('rate', 20, 'backend.rate: unknown field'),
])
def test_bad_settings_name_the_file_and_field(field, value, message):
    with pytest.raises(ConfigError, match=f'px4.yaml: {message}'):
        settings(**{field: value})


def test_the_robot_file_opens_through_the_registry():
    pytest.importorskip('mavsdk')
    from skill_stack.drivers.backends import open_backend

    backend = open_backend('quadrotor', CONFIG.backend_settings, CONFIG)
    assert isinstance(backend, Px4Backend)
    assert backend.settings.system_address == 'udpin://0.0.0.0:14540'


# --- frames -----------------------------------------------------------------------------

def test_positions_and_velocities_swap_to_enu_and_back():
    np.testing.assert_array_equal(ned_to_enu([1.0, 2.0, -3.0]), [2.0, 1.0, 3.0])  # 1 m north, 2 east, 3 up
    np.testing.assert_array_equal(enu_to_ned(ned_to_enu([0.3, -0.2, 0.7])), [0.3, -0.2, 0.7])


@pytest.mark.parametrize(('enu_yaw', 'ned_deg'), [(0.0, 90.0), (math.pi / 2, 0.0), (math.pi, -90.0),
                                              (-math.pi / 2, 180.0), (math.pi / 4, 45.0)])
def test_yaw_east_counterclockwise_is_north_clockwise_in_degrees(enu_yaw, ned_deg):
    assert yaw_enu_to_ned_deg(enu_yaw) == pytest.approx(ned_deg)
    assert math.cos(yaw_ned_deg_to_enu(ned_deg) - enu_yaw) == pytest.approx(1.0)


def test_quaternions_map_the_frd_body_in_ned_to_the_flu_body_in_enu():
    swap = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])  # NED <-> ENU
    flip = np.diag([1.0, -1.0, -1.0])  # FRD <-> FLU
    rng = np.random.default_rng(7)
    for _ in range(50):
        q_ned = rng.normal(size=4)
        q_ned /= np.linalg.norm(q_ned)
        q_enu = quaternion_ned_to_enu(q_ned)
        np.testing.assert_allclose(rotation(q_enu), swap @ rotation(q_ned) @ flip, atol=1e-12)
    heading_north = quaternion_ned_to_enu([1.0, 0.0, 0.0, 0.0])  # PX4 yaw 0: nose north
    assert yaw_of(heading_north) == pytest.approx(math.pi / 2)
    np.testing.assert_array_equal(rates_frd_to_flu([0.1, 0.2, 0.3]), [0.1, -0.2, -0.3])


# --- connect, failsafes -------------------------------------------------------------------

def test_connect_writes_failsafes_and_limits_with_px4s_types():
    backend, double = connected()
    params = double.params
    assert params['COM_OF_LOSS_T'] == 1.0
    assert params['COM_OBL_RC_ACT'] == 4
    assert params['COM_DL_LOSS_T'] == 10
    assert params['NAV_DLL_ACT'] == 3
    assert params['MPC_XY_VEL_MAX'] == CONFIG.max_speed_xy
    assert params['MPC_TILTMAX_AIR'] == CONFIG.max_tilt_deg
    assert params['MPC_Z_VEL_MAX_UP'] == params['MPC_Z_VEL_MAX_DN'] == CONFIG.max_speed_z
    assert params['MPC_LAND_SPEED'] == 0.5
    assert params['COM_DISARM_LAND'] == 1.0
    assert backend.status().connected
    state = backend.read()
    assert state.landed
    assert not state.armed


def test_a_parameter_px4_refuses_fails_the_connection_naming_it():
    double = Px4Double()
    del double.params['NAV_DLL_ACT']
    with pytest.raises(ConnectionError, match='cannot set NAV_DLL_ACT=3: DOES_NOT_EXIST'):
        connected(double)


def test_no_autopilot_at_the_address_is_a_connection_error():
    double = Px4Double(address='serial:///dev/ttyACM0:921600')
    with pytest.raises(ConnectionError, match=f'PX4 at {ADDRESS}: no autopilot heartbeat within 10.0 s'):
        connected(double)


# --- offboard ordering and streaming --------------------------------------------------------

def test_offboard_start_without_a_setpoint_is_refused_by_the_sdk():
    double = Px4Double()
    offboard = double.sdk.Offboard(None)
    with pytest.raises(OffboardError) as refused:
        offboard.start()
    assert refused.value.result is OffboardResult.NO_SETPOINT_SET
    offboard.set_position_ned(PositionNedYaw(0.0, 0.0, -1.0, 0.0))
    with pytest.raises(OffboardError) as denied:  # PX4 wants a second of set-points first
        offboard.start()
    assert denied.value.result is OffboardResult.COMMAND_DENIED


def test_setpoints_stream_before_offboard_starts_and_then_at_the_stream_rate():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([1.0, 2.0, 3.0]), 0.0)
    assert double.calls[-1] == ('set_position_ned', (2.0, 1.0, -3.0, 90.0))  # NED, degrees
    run(backend, double, 0.99)
    assert double.count('start') == 0
    assert not double.sdk.Offboard(None).is_active()
    assert double.count('set_position_ned') == 20  # 20 Hz
    run(backend, double, 0.02)
    assert double.count('start') == 1
    assert double.mode == 'offboard'
    names = [name for name, _ in double.calls]
    assert names.index('set_position_ned') < names.index('start')
    run(backend, double, 1.0)
    assert double.count('start') == 1
    assert double.count('set_position_ned') == 41


def test_velocity_setpoints_stream_a_heading_that_turns_at_the_yaw_rate():
    backend, double = connected()
    backend.arm()
    backend.write_velocity_setpoint(np.array([0.5, 0.0, 0.2]), 0.5)
    north, east, down, yaw = double.calls[-1][1]
    assert (north, east, down) == (0.0, 0.5, -0.2)
    assert yaw == pytest.approx(90.0)
    run(backend, double, 1.0)
    *_, yaw = [args for name, args in double.calls if name == 'set_velocity_ned'][-1]
    assert yaw == pytest.approx(90.0 - math.degrees(0.5), abs=1e-6)  # counter-clockwise in ENU


def test_offboard_loss_lands_the_vehicle_by_its_own_failsafe():
    backend, double = connected()
    backend.arm()
    backend.write_position_setpoint(np.array([0.0, 0.0, 2.0]), 0.0)
    run(backend, double, 6.0)
    assert double.mode == 'offboard'
    assert double.vehicle.position[2] == pytest.approx(2.0, abs=0.05)
    run(backend, double, 1.2, poll=False)  # the stream stops (a hung process) for more than COM_OF_LOSS_T
    assert double.failsafe == 'offboard loss: land'
    run(backend, double, 6.0, poll=False)
    assert double.vehicle.position[2] == 0.0
    assert not double.armed


def test_link_loss_is_reported_refuses_commands_and_connect_reconnects():
    backend, double = connected()
    backend.arm()
    double.drop_link()
    status = backend.status()
    assert not status.connected
    assert f'PX4 at {ADDRESS}: MAVLink link lost' in status.fault
    assert 'COM_OBL_RC_ACT=4' in status.fault
    with pytest.raises(ConnectionError, match='link lost'):
        backend.read()
    with pytest.raises(ConnectionError):
        backend.write_position_setpoint(np.array([0.0, 0.0, 2.0]), 0.0)
    with pytest.raises(ConnectionError, match='no autopilot heartbeat'):
        backend.connect()
    double.restore_link()
    backend.connect()
    assert backend.status().connected
    assert backend.status().fault is None
    assert backend.read().armed


def test_px4_refusals_become_command_errors():
    backend, _double = connected()
    with pytest.raises(CommandError, match='PX4 refused land: COMMAND_DENIED'):
        backend.land()  # not armed


def test_refused_commands_never_reach_px4():
    backend, double = connected()
    driver = QuadrotorDriver(backend, CONFIG, double.clock)
    driver.connect()
    driver.arm()
    with pytest.raises(CommandError, match='outside the geofence'):
        driver.takeoff(CONFIG.fence_z_max + 1.0)
    with pytest.raises(CommandError, match='outside the geofence'):
        driver.command_position([0.0, CONFIG.fence_y_min - 1.0, 2.0], 0.0)
    with pytest.raises(CommandError, match="'x' is inf"):
        driver.command_position([float('inf'), 0.0, 2.0], 0.0)
    run(backend, double, 1.0)
    assert [name for name, _ in double.motion_calls()] == ['arm']
    driver.command_velocity([0.0, 0.0, 5.0])  # clipped to max_speed_z before the SDK
    assert double.calls[-1][0] == 'set_velocity_ned'
    assert double.calls[-1][1][2] == -CONFIG.max_speed_z


# --- the double against the installed SDK -----------------------------------------------------

def test_the_double_matches_the_installed_mavsdk():
    mavsdk = pytest.importorskip('mavsdk')
    from mavsdk.plugins import action, offboard, param, telemetry

    for fake, real in [(mavsdk_double.Action, action.Action), (mavsdk_double.Offboard, offboard.Offboard),
                       (mavsdk_double.Telemetry, telemetry.Telemetry), (mavsdk_double.Param, param.Param),
                       (mavsdk_double.Mavsdk, mavsdk.Mavsdk), (mavsdk_double.System, mavsdk.System),
                       (mavsdk_double.PositionNedYaw, offboard.PositionNedYaw),
                       (mavsdk_double.VelocityNedYaw, offboard.VelocityNedYaw)]:
        for name, method in inspect.getmembers(fake, inspect.isfunction):
            if name.startswith('_') and name != '__init__':
                continue
            assert hasattr(real, name), f'{real.__name__}.{name} does not exist'
            if name == '__init__' and fake not in (mavsdk_double.PositionNedYaw, mavsdk_double.VelocityNedYaw):
                continue  # plugins take the system; the double builds them from its factories
            assert _parameters(method) == _parameters(getattr(real, name)), f'{real.__name__}.{name}'
    assert _parameters(mavsdk_double.Configuration.create_with_component_type) == \
        _parameters(mavsdk.Configuration.create_with_component_type)
    for fake, real in [(mavsdk_double.ComponentType, mavsdk.ComponentType),
                       (mavsdk_double.ConnectionResult, mavsdk.ConnectionResult),
                       (mavsdk_double.ActionResult, action.ActionResult),
                       (mavsdk_double.OffboardResult, offboard.OffboardResult),
                       (mavsdk_double.ParamResult, param.ParamResult),
                       (mavsdk_double.LandedState, telemetry.LandedState)]:
        assert {m.name: m.value for m in fake} == {m.name: m.value for m in real}, real.__name__
    for fake, real in [(mavsdk_double.ActionError, action.ActionError),
                       (mavsdk_double.OffboardError, offboard.OffboardError),
                       (mavsdk_double.ParamError, param.ParamError)]:
        assert _parameters(fake.__init__) == _parameters(real.__init__)


def _parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != 'self']
