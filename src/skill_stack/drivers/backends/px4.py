"""PX4 through MAVSDK (the ``mavsdk`` package, v4: the native binding with blocking calls): offboard mode.

Frames: PX4 works in NED (x north, y east, z down; body FRD, yaw from north
toward east), the stack in ENU (REP 103: x east, y north, z up; body FLU, yaw
from east toward north), both about PX4's local origin. The conversions are
the functions below, tested on their own.

Offboard: PX4 only switches to offboard mode after it has been receiving
set-points for about a second, and leaves it when they stop for COM_OF_LOSS_T.
So a new stream is sent for ``offboard_warmup`` before offboard.start() is
called, and every stream is re-sent each ``stream_period`` (PX4 needs more
than 2 Hz). MAVSDK has no world-frame yaw-rate set-point, so a velocity
set-point's yaw rate is streamed as a heading that advances at that rate.

Failsafes written at connect(): offboard loss lands (COM_OBL_RC_ACT=4 after
COM_OF_LOSS_T), data-link loss lands (NAV_DLL_ACT=3 after COM_DL_LOSS_T),
auto-disarm after landing (COM_DISARM_LAND), and the driver's speed and tilt
limits (MPC_*). Link loss (MAVSDK's is_connected going false) makes status()
name it and reads and writes raise ConnectionError; connect() reconnects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.backends.streaming import StreamedQuadrotorBackend
from skill_stack.drivers.config import BackendSpec, ConfigError, Fields
from skill_stack.drivers.interfaces import DeviceStatus, QuadrotorStateSample
from skill_stack.drivers.quadrotor import quaternion_multiply, yaw_of
from skill_stack.drivers.safety import Clock, CommandError

ADDRESS_SCHEMES = ('udp://', 'udpin://', 'udpout://', 'tcp://', 'tcpin://', 'tcpout://', 'serial://')
OFFBOARD_LOSS_LAND = 4  # COM_OBL_RC_ACT: Land mode
DATALINK_LOSS_LAND = 3  # NAV_DLL_ACT: Land mode
LINK_RESULTS = ('NO_SYSTEM', 'CONNECTION_ERROR', 'TIMEOUT')  # MAVSDK results that mean the link, not a refusal

# Frame conversions. NED->ENU swaps x and y and negates z; the same map goes back.
_NED_TO_ENU = np.array([0.0, math.sqrt(0.5), math.sqrt(0.5), 0.0])  # rotation taking NED axes to ENU axes
_FLU_TO_FRD = np.array([0.0, 1.0, 0.0, 0.0])  # half a turn about x


def ned_to_enu(vector) -> np.ndarray:
    """A position or velocity from NED to ENU (or back: the map is its own inverse)."""
    north, east, down = (float(v) for v in vector)
    return np.array([east, north, -down])


enu_to_ned = ned_to_enu


def yaw_enu_to_ned_deg(yaw: float) -> float:
    """ENU heading (rad, from east toward north) to PX4's (degrees from north toward east, in (-180, 180])."""
    return _wrap_degrees(90.0 - math.degrees(yaw))


def yaw_ned_deg_to_enu(yaw_deg: float) -> float:
    """PX4's heading (degrees from north toward east) to ENU (rad from east toward north, in (-pi, pi])."""
    return math.radians(_wrap_degrees(90.0 - yaw_deg))


def quaternion_ned_to_enu(q_ned_frd) -> np.ndarray:
    """PX4's attitude (FRD body in NED, w x y z) as the FLU body in ENU (w x y z)."""
    q = quaternion_multiply(quaternion_multiply(_NED_TO_ENU, np.asarray(q_ned_frd, float)), _FLU_TO_FRD)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0.0 else -q


def rates_frd_to_flu(rates) -> np.ndarray:
    """Body rates (rad/s) about FRD axes to FLU axes."""
    roll, pitch, yaw = (float(v) for v in rates)
    return np.array([roll, -pitch, -yaw])


def _wrap_degrees(angle: float) -> float:
    wrapped = math.fmod(angle + 180.0, 360.0)
    return (wrapped + 360.0 if wrapped <= 0.0 else wrapped) - 180.0


@dataclass(frozen=True)
class Px4Settings:
    """The ``backend`` section of config/robots/px4.yaml."""

    system_address: str  # MAVSDK connection URL: udpin://0.0.0.0:14540 (SITL, companion), serial:///dev/ttyACM0:921600
    connect_timeout: float  # s to wait for the autopilot's heartbeat
    stream_period: float  # s between re-sent set-points; PX4 needs more than 2 Hz
    offboard_warmup: float  # s of streamed set-points before switching to offboard
    offboard_loss_timeout: float  # COM_OF_LOSS_T, s
    datalink_loss_timeout: int  # COM_DL_LOSS_T, s
    land_speed: float  # MPC_LAND_SPEED, m/s
    disarm_after_landing: float  # COM_DISARM_LAND, s

    @classmethod
    def from_fields(cls, fields: Fields, max_speed_z: float) -> Px4Settings:
        fields.allow('system_address', 'connect_timeout', 'stream_period', 'offboard_warmup',
                     'offboard_loss_timeout', 'datalink_loss_timeout', 'land_speed', 'disarm_after_landing')
        address = fields.data.get('system_address')
        if not isinstance(address, str) or not address.startswith(ADDRESS_SCHEMES):
            raise ConfigError(f'{fields.where}.system_address: expected a MAVSDK connection URL starting with one '
                              f'of {list(ADDRESS_SCHEMES)} (e.g. udpin://0.0.0.0:14540), got {address!r}')
        settings = cls(system_address=address, connect_timeout=fields.positive('connect_timeout'),
                       stream_period=fields.positive('stream_period'),
                       offboard_warmup=fields.non_negative('offboard_warmup'),
                       offboard_loss_timeout=fields.positive('offboard_loss_timeout'),
                       datalink_loss_timeout=fields.count('datalink_loss_timeout'),
                       land_speed=fields.positive('land_speed'),
                       disarm_after_landing=fields.positive('disarm_after_landing'))
        where = fields.where
        if settings.stream_period >= 0.5:
            raise ConfigError(f'{where}.stream_period: PX4 leaves offboard below 2 Hz; must be under 0.5 s, '
                              f'got {settings.stream_period}')
        if not settings.stream_period < settings.offboard_loss_timeout <= 60.0:
            raise ConfigError(f'{where}.offboard_loss_timeout: COM_OF_LOSS_T must be longer than stream_period '
                              f'and at most 60 s, got {settings.offboard_loss_timeout}')
        if settings.offboard_warmup < 1.0:
            raise ConfigError(f'{where}.offboard_warmup: PX4 accepts offboard only after about 1 s of set-points; '
                              f'at least 1.0 s, got {settings.offboard_warmup}')
        if settings.land_speed > max_speed_z:
            raise ConfigError(f'{where}.land_speed: {settings.land_speed} m/s exceeds the driver\'s max_speed_z '
                              f'({max_speed_z} m/s)')
        return settings


def mavsdk_sdk() -> SimpleNamespace:
    """The parts of mavsdk this backend uses (a test passes its double in the same shape)."""
    mavsdk = require_sdk('mavsdk', 'mavsdk')
    action = require_sdk('mavsdk.plugins.action', 'mavsdk')
    offboard = require_sdk('mavsdk.plugins.offboard', 'mavsdk')
    telemetry = require_sdk('mavsdk.plugins.telemetry', 'mavsdk')
    param = require_sdk('mavsdk.plugins.param', 'mavsdk')
    return SimpleNamespace(
        Mavsdk=mavsdk.Mavsdk, Configuration=mavsdk.Configuration, ComponentType=mavsdk.ComponentType,
        ConnectionResult=mavsdk.ConnectionResult, Action=action.Action, ActionError=action.ActionError,
        Offboard=offboard.Offboard, OffboardError=offboard.OffboardError, PositionNedYaw=offboard.PositionNedYaw,
        VelocityNedYaw=offboard.VelocityNedYaw, Telemetry=telemetry.Telemetry, LandedState=telemetry.LandedState,
        Param=param.Param, ParamError=param.ParamError)


class Px4Backend(StreamedQuadrotorBackend):
    """A PX4 multicopter flown in offboard mode by streamed NED position / velocity set-points."""

    def __init__(self, settings: Px4Settings, limits: Any, sdk: Any, clock: Clock, threaded: bool = True):
        """See StreamedQuadrotorBackend; the limits go to PX4's MPC_* parameters."""
        super().__init__(settings, limits, sdk, clock, threaded, 'px4-stream')
        self._mavsdk: Any = None
        self._system: Any = None
        self._plugins: Any = None
        self._offboard_error: Optional[str] = None  # PX4's last refusal of offboard.start()

    @property
    def link_name(self) -> str:
        return f'PX4 at {self.settings.system_address}'

    def failsafe_parameters(self) -> dict[str, float | int]:
        """What connect() writes to PX4: failsafes and the driver's limits."""
        s, limits = self.settings, self.limits
        return {'COM_OF_LOSS_T': s.offboard_loss_timeout, 'COM_OBL_RC_ACT': OFFBOARD_LOSS_LAND,
                'COM_DL_LOSS_T': s.datalink_loss_timeout, 'NAV_DLL_ACT': DATALINK_LOSS_LAND,
                'COM_DISARM_LAND': s.disarm_after_landing, 'MPC_XY_VEL_MAX': limits.max_speed_xy,
                'MPC_Z_VEL_MAX_UP': limits.max_speed_z, 'MPC_Z_VEL_MAX_DN': limits.max_speed_z,
                'MPC_LAND_SPEED': s.land_speed, 'MPC_TILTMAX_AIR': limits.max_tilt_deg}

    # --- lifecycle ------------------------------------------------------------------

    def connect(self) -> None:
        """Connect, wait for the autopilot, write failsafes and limits; reconnects after a loss."""
        if self._thread is not None:
            self._thread.stop()
        address = self.settings.system_address
        with self._lock:
            self._close()
            sdk = self.sdk
            mavsdk = sdk.Mavsdk(sdk.Configuration.create_with_component_type(sdk.ComponentType.GROUND_STATION))
            result = mavsdk.add_any_connection(address)
            if result != sdk.ConnectionResult.SUCCESS:
                mavsdk.destroy()
                self._fault = f'PX4 at {address}: cannot open the connection: {result.name}'
                raise ConnectionError(self._fault)
            system = mavsdk.first_autopilot(self.settings.connect_timeout)
            if system is None:
                mavsdk.destroy()
                self._fault = f'PX4 at {address}: no autopilot heartbeat within {self.settings.connect_timeout} s'
                raise ConnectionError(self._fault)
            self._mavsdk, self._system = mavsdk, system
            self._plugins = SimpleNamespace(action=sdk.Action(system), offboard=sdk.Offboard(system),
                                            telemetry=sdk.Telemetry(system), param=sdk.Param(system))
            for name, value in self.failsafe_parameters().items():
                setter = self._plugins.param.set_param_int if isinstance(value, int) else \
                    self._plugins.param.set_param_float
                try:
                    setter(name, value)
                except sdk.ParamError as error:
                    self._close()
                    self._fault = f'PX4 at {address}: cannot set {name}={value}: {error.result.name}'
                    raise ConnectionError(self._fault) from None
            system.subscribe_is_connected(self._on_connected_changed)
            self._connected, self._fault, self._offboard_error = True, None, None
        if self._thread is not None:
            self._thread.start()

    def disconnect(self) -> None:
        """Land if flying (PX4 finishes it on its own), then close the connection."""
        if self._thread is not None:
            self._thread.stop()
        with self._lock:
            if self._connected and self._plugins.telemetry.in_air():
                self._call('land', self._plugins.action.land)
            self._close()
            self._fault = None

    def status(self) -> DeviceStatus:
        with self._lock:
            details = {'system_address': self.settings.system_address, 'streaming': self._stream.active}
            if self._connected:
                details['offboard'] = bool(self._plugins.offboard.is_active())
                details['landed_state'] = self._plugins.telemetry.landed_state().name
            if self._offboard_error:
                details['offboard_refused'] = self._offboard_error
            return DeviceStatus(connected=self._connected, fault=self._fault, details=details)

    # --- QuadrotorBackend -------------------------------------------------------------

    def read(self) -> QuadrotorStateSample:
        with self._lock:
            self._require_link()
            telemetry = self._plugins.telemetry
            pv = telemetry.position_velocity_ned()
            q = telemetry.attitude_quaternion()
            rates = telemetry.attitude_angular_velocity_body()
            return QuadrotorStateSample(
                position=ned_to_enu([pv.position.north_m, pv.position.east_m, pv.position.down_m]),
                quaternion=quaternion_ned_to_enu([q.w, q.x, q.y, q.z]),
                linear_velocity=ned_to_enu([pv.velocity.north_m_s, pv.velocity.east_m_s, pv.velocity.down_m_s]),
                angular_velocity=rates_frd_to_flu([rates.roll_rad_s, rates.pitch_rad_s, rates.yaw_rad_s]),
                armed=bool(telemetry.armed()), landed=telemetry.landed_state() == self.sdk.LandedState.ON_GROUND,
                stamp=self.clock())

    def arm(self) -> None:
        with self._lock:
            self._require_link()
            self._call('arm', self._plugins.action.arm)

    def disarm(self) -> None:
        """Stop the motors: disarm on the ground, kill in the air (the vehicle falls)."""
        with self._lock:
            self._require_link()
            self._stream.clear()
            action = self._plugins.action
            if self._plugins.telemetry.in_air():
                self._call('kill', action.kill)
            else:
                self._call('disarm', action.disarm)

    def write_position_setpoint(self, position: np.ndarray, yaw: float) -> None:
        north, east, down = enu_to_ned(position)
        setpoint = self.sdk.PositionNedYaw(north, east, down, yaw_enu_to_ned_deg(yaw))
        with self._lock:
            self._require_link()
            offboard = self._plugins.offboard
            self._stream.set(lambda: self._call('offboard set_position_ned', offboard.set_position_ned, setpoint))
            self.poll()

    def write_velocity_setpoint(self, velocity: np.ndarray, yaw_rate: float) -> None:
        north, east, down = enu_to_ned(velocity)
        with self._lock:
            self._require_link()
            q = self._plugins.telemetry.attitude_quaternion()
            heading = yaw_ned_deg_to_enu(math.degrees(yaw_of([q.w, q.x, q.y, q.z])))
            since = self.clock()
            offboard, make = self._plugins.offboard, self.sdk.VelocityNedYaw

            def send():
                yaw = yaw_enu_to_ned_deg(heading + yaw_rate * (self.clock() - since))
                self._call('offboard set_velocity_ned', offboard.set_velocity_ned, make(north, east, down, yaw))

            self._stream.set(send)
            self.poll()

    def land(self) -> None:
        """PX4's Land mode (leaves offboard): descends at MPC_LAND_SPEED and disarms after COM_DISARM_LAND."""
        with self._lock:
            self._require_link()
            self._stream.clear()
            self._call('land', self._plugins.action.land)

    # --- streaming --------------------------------------------------------------------

    def poll(self) -> None:
        """Re-send the set-point each stream period; switch to offboard once the stream has warmed up."""
        with self._lock:
            if not self._connected:
                return
            if not self._system.is_connected():
                self._on_connected_changed(False)
                return
            self._stream.poll()
            offboard = self._plugins.offboard
            if (self._stream.active and self.clock() - self._stream.started_at >= self.settings.offboard_warmup
                    and not offboard.is_active()):
                try:
                    offboard.start()
                    self._offboard_error = None
                except self.sdk.OffboardError as error:  # retried next period; status() shows why
                    self._offboard_error = error.result.name

    # --- internals --------------------------------------------------------------------

    def _call(self, what: str, method, *args):
        """An SDK call whose error becomes ConnectionError (link) or CommandError (PX4 refused)."""
        try:
            return method(*args)
        except (self.sdk.ActionError, self.sdk.OffboardError) as error:
            name = error.result.name
            if name in LINK_RESULTS:
                raise ConnectionError(f'PX4 at {self.settings.system_address}: {what} failed: {name}') from None
            raise CommandError(f'PX4 refused {what}: {name}') from None

    def _on_connected_changed(self, connected: bool, user_data: Any = None) -> None:
        """MAVSDK's callback thread: heartbeats stopped (or came back, which needs connect() here)."""
        if connected:
            return
        with self._lock:
            if not self._connected:
                return
            s = self.settings
            self._connected = False
            self._stream.clear()
            self._fault = (f'PX4 at {s.system_address}: MAVLink link lost; PX4 leaves offboard after '
                           f'COM_OF_LOSS_T={s.offboard_loss_timeout} s and lands (COM_OBL_RC_ACT=4), and lands '
                           f'on data-link loss after COM_DL_LOSS_T={s.datalink_loss_timeout} s (NAV_DLL_ACT=3); '
                           f'call connect() to reconnect')

    def _close(self) -> None:
        self._stream.clear()
        if self._mavsdk is not None:
            self._mavsdk.destroy()
        self._mavsdk = self._system = self._plugins = None
        self._connected = False


def from_config(spec: BackendSpec, config: Any) -> Px4Backend:
    """The backend for config/robots/px4.yaml's ``backend`` section; mavsdk is imported here."""
    import time

    settings = Px4Settings.from_fields(spec.fields(), config.max_speed_z)
    return Px4Backend(settings, config, mavsdk_sdk(), time.monotonic)
