"""A test double of mavsdk 4.1.0 (MAVSDK's native Python binding, blocking API) and a PX4 multicopter.

`Px4Double` is the vehicle side: PX4's commander as a ground station sees it
(modes, arming, offboard, failsafes, parameters), a point-mass vehicle
(quadrotor_point_mass, ENU inside, NED at the SDK boundary) and device time
that passes only in `step()`. `double.sdk` has the shape the backend receives
(Mavsdk, Configuration, ComponentType, ConnectionResult, the Action, Offboard,
Telemetry and Param plugins, their result enums and errors, PositionNedYaw,
VelocityNedYaw, LandedState) with mavsdk 4.1.0's names, signatures and enum
values (a unit test checks them against the installed package). Every call
that reaches the SDK is recorded in ``double.calls`` as (name, args).

Modelled after mavsdk's plugin sources (offboard.py, action.py, telemetry.py,
param.py: a failed request raises <Plugin>Error(result, origin)) and the PX4
documentation (Offboard mode, Safety/failsafes, parameter reference):

- NED units: positions in m north/east/down, yaw in degrees from north
  toward east, body rates about FRD axes in rad/s, quaternions FRD-in-NED;
- offboard.start() without a set-point set first is NO_SETPOINT_SET
  (MAVSDK's own check); PX4 denies the switch (COMMAND_DENIED) until it has
  been receiving set-points for 1 s; in offboard the vehicle follows the
  set-points; set-points only count as they arrive (MAVSDK's own 20 Hz
  re-send is not modelled: the backend's stream must keep PX4 fed);
- offboard loss: no set-point for COM_OF_LOSS_T leaves offboard for the
  COM_OBL_RC_ACT action (4 Land, 5 Hold; others hold here); data-link loss
  for COM_DL_LOSS_T triggers NAV_DLL_ACT (3 Land);
- Land mode descends at MPC_LAND_SPEED at the current xy, and disarms
  COM_DISARM_LAND seconds after touchdown; disarm in the air is
  COMMAND_DENIED, kill stops the motors anywhere;
- parameters have PX4's types (set_param_int on a float parameter is
  WRONG_TYPE, unknown names DOES_NOT_EXIST); MPC_XY_VEL_MAX and
  MPC_Z_VEL_MAX_UP/DN bound the vehicle;
- the link: first_autopilot returns None when no autopilot answers at the
  address; `drop_link()` calls the is_connected subscribers with False, after
  which commands fail with NO_SYSTEM and set-points go nowhere.
"""

from __future__ import annotations

import math
from enum import IntEnum
from types import SimpleNamespace

import numpy as np

from doubles.quadrotor_point_mass import FakeClock, PointMass

ADDRESS = 'udpin://0.0.0.0:14540'
PROOF_OF_LIFE = 1.0  # s of set-points PX4 wants before switching to offboard
MOTION_CALLS = ('set_position_ned', 'set_velocity_ned', 'start', 'land', 'arm')
PARAM_DEFAULTS: dict[str, float | int] = {
    'COM_OF_LOSS_T': 1.0, 'COM_OBL_RC_ACT': 0, 'COM_DL_LOSS_T': 10, 'NAV_DLL_ACT': 0, 'COM_DISARM_LAND': 2.0,
    'MPC_XY_VEL_MAX': 12.0, 'MPC_Z_VEL_MAX_UP': 3.0, 'MPC_Z_VEL_MAX_DN': 1.5, 'MPC_LAND_SPEED': 0.7,
    'MPC_TILTMAX_AIR': 45.0}


class ComponentType(IntEnum):
    AUTOPILOT = 0
    GROUND_STATION = 1
    COMPANION_COMPUTER = 2
    CAMERA = 3
    GIMBAL = 4
    REMOTE_ID = 5
    CUSTOM = 6


class ConnectionResult(IntEnum):
    SUCCESS = 0
    TIMEOUT = 1
    SOCKET_ERROR = 2
    BIND_ERROR = 3
    SOCKET_CONNECTION_ERROR = 4
    CONNECTION_ERROR = 5
    NOT_IMPLEMENTED = 6
    SYSTEM_NOT_CONNECTED = 7
    SYSTEM_BUSY = 8
    COMMAND_DENIED = 9
    DESTINATION_IP_UNKNOWN = 10
    CONNECTIONS_EXHAUSTED = 11
    CONNECTION_URL_INVALID = 12
    BAUDRATE_UNKNOWN = 13


class ActionResult(IntEnum):
    UNKNOWN = 0
    SUCCESS = 1
    NO_SYSTEM = 2
    CONNECTION_ERROR = 3
    BUSY = 4
    COMMAND_DENIED = 5
    COMMAND_DENIED_LANDED_STATE_UNKNOWN = 6
    COMMAND_DENIED_NOT_LANDED = 7
    TIMEOUT = 8
    VTOL_TRANSITION_SUPPORT_UNKNOWN = 9
    NO_VTOL_TRANSITION_SUPPORT = 10
    PARAMETER_ERROR = 11
    UNSUPPORTED = 12
    FAILED = 13
    INVALID_ARGUMENT = 14


class OffboardResult(IntEnum):
    UNKNOWN = 0
    SUCCESS = 1
    NO_SYSTEM = 2
    CONNECTION_ERROR = 3
    BUSY = 4
    COMMAND_DENIED = 5
    TIMEOUT = 6
    NO_SETPOINT_SET = 7
    FAILED = 8


class ParamResult(IntEnum):
    UNKNOWN = 0
    SUCCESS = 1
    TIMEOUT = 2
    CONNECTION_ERROR = 3
    WRONG_TYPE = 4
    PARAM_NAME_TOO_LONG = 5
    NO_SYSTEM = 6
    PARAM_VALUE_TOO_LONG = 7
    FAILED = 8
    DOES_NOT_EXIST = 9
    VALUE_OUT_OF_RANGE = 10
    PERMISSION_DENIED = 11
    COMPONENT_NOT_FOUND = 12
    READ_ONLY = 13
    TYPE_UNSUPPORTED = 14
    TYPE_MISMATCH = 15
    READ_FAIL = 16


class LandedState(IntEnum):
    UNKNOWN = 0
    ON_GROUND = 1
    IN_AIR = 2
    TAKING_OFF = 3
    LANDING = 4


class MavsdkError(Exception):
    pass


class _PluginError(MavsdkError):
    def __init__(self, result, origin, *params):
        super().__init__(result, origin, *params)
        self.result = result
        self.origin = origin
        self.params = params

    def __str__(self):
        return f'{self.result.name}; origin: {self.origin}; params: {self.params}'


class ActionError(_PluginError):
    pass


class OffboardError(_PluginError):
    pass


class ParamError(_PluginError):
    pass


class PositionNedYaw:
    def __init__(self, north_m=None, east_m=None, down_m=None, yaw_deg=None):
        self.north_m, self.east_m, self.down_m, self.yaw_deg = north_m, east_m, down_m, yaw_deg


class VelocityNedYaw:
    def __init__(self, north_m_s=None, east_m_s=None, down_m_s=None, yaw_deg=None):
        self.north_m_s, self.east_m_s, self.down_m_s, self.yaw_deg = north_m_s, east_m_s, down_m_s, yaw_deg


class Px4Double:
    """A PX4 multicopter behind a MAVLink link; ``sdk`` is what the backend gets in place of mavsdk."""

    def __init__(self, clock: FakeClock | None = None, address: str = ADDRESS):
        self.clock = clock or FakeClock()
        self.address = address
        self.vehicle = PointMass()
        self.calls: list[tuple[str, tuple]] = []
        self.params: dict[str, float | int] = dict(PARAM_DEFAULTS)
        self.link_up = True
        self.link_lost_at: float | None = None
        self.armed = False
        self.mode = 'hold'  # hold, offboard, land
        self.failsafe: str | None = None  # the last failsafe PX4 took, for assertions
        self.setpoint: tuple | None = None  # ('position', n, e, d, yaw_deg) or ('velocity', ...), as last received
        self.setpoint_time: float | None = None
        self.stream_since: float | None = None  # when the current unbroken set-point stream began
        self.touchdown_at: float | None = None
        self.subscribers: list = []  # is_connected callbacks
        self.sdk = SimpleNamespace(
            Mavsdk=self._mavsdk, Configuration=Configuration, ComponentType=ComponentType,
            ConnectionResult=ConnectionResult, Action=lambda system: Action(self), ActionError=ActionError,
            Offboard=lambda system: Offboard(self), OffboardError=OffboardError, PositionNedYaw=PositionNedYaw,
            VelocityNedYaw=VelocityNedYaw, Telemetry=lambda system: Telemetry(self), LandedState=LandedState,
            Param=lambda system: Param(self), ParamError=ParamError)

    # --- what tests use -------------------------------------------------------------

    def motion_calls(self) -> list[tuple[str, tuple]]:
        return [call for call in self.calls if call[0] in MOTION_CALLS]

    def count(self, name: str) -> int:
        return sum(1 for call in self.calls if call[0] == name)

    def drop_link(self) -> None:
        """MAVLink heartbeats stop (telemetry radio out of range, cable pulled)."""
        self.link_up, self.link_lost_at = False, self.clock()
        for callback in list(self.subscribers):
            callback(False, None)

    def restore_link(self) -> None:
        self.link_up, self.link_lost_at = True, None
        for callback in list(self.subscribers):
            callback(True, None)

    @property
    def in_air(self) -> bool:
        return self.armed and not self.vehicle.on_ground

    def landed_state(self) -> LandedState:
        if not self.in_air:
            return LandedState.ON_GROUND
        return LandedState.LANDING if self.mode == 'land' else LandedState.IN_AIR

    # --- PX4 --------------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """PX4 and the vehicle over ``dt`` of device time (the clock is already at its end)."""
        now = self.clock()
        vehicle = self.vehicle
        vehicle.max_speed_xy = float(self.params['MPC_XY_VEL_MAX'])
        vehicle.max_speed_z = float(min(self.params['MPC_Z_VEL_MAX_UP'], self.params['MPC_Z_VEL_MAX_DN']))
        if self.mode == 'offboard' and now - self.setpoint_time > self.params['COM_OF_LOSS_T']:
            self._failsafe('offboard loss', 'land' if self.params['COM_OBL_RC_ACT'] == 4 else 'hold')
        if (not self.link_up and self.in_air and self.mode != 'land' and self.params['NAV_DLL_ACT'] == 3
                and now - self.link_lost_at > self.params['COM_DL_LOSS_T']):
            self._failsafe('data link loss', 'land')
        if self.mode == 'land':
            vehicle.max_speed_z = min(vehicle.max_speed_z, float(self.params['MPC_LAND_SPEED']))
            vehicle.fly_at([0.0, 0.0, -float(self.params['MPC_LAND_SPEED'])])
        vehicle.motors = self.armed
        vehicle.step(dt)
        if self.mode == 'land' and self.armed and vehicle.on_ground:
            self.touchdown_at = self.touchdown_at if self.touchdown_at is not None else now
            if now - self.touchdown_at >= self.params['COM_DISARM_LAND']:
                self.armed, self.mode, self.touchdown_at = False, 'hold', None

    def _failsafe(self, cause: str, action: str) -> None:
        self.failsafe = f'{cause}: {action}'
        self._set_mode(action)

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == 'hold':
            self.vehicle.fly_to(self.vehicle.position.copy(), self.vehicle.yaw)

    def receive_setpoint(self, setpoint: tuple) -> None:
        if not self.link_up:
            return
        now = self.clock()
        if self.setpoint_time is None or now - self.setpoint_time > self.params['COM_OF_LOSS_T']:
            self.stream_since = now
        self.setpoint, self.setpoint_time = setpoint, now
        if self.mode == 'offboard':
            self._follow()

    def _follow(self) -> None:
        kind, north, east, down, yaw_deg = self.setpoint
        yaw = math.radians(90.0 - yaw_deg)  # NED heading to ENU
        if kind == 'position':
            self.vehicle.fly_to([east, north, -down], yaw)
        else:
            self.vehicle.fly_at([east, north, -down], yaw)

    def quaternion_ned(self) -> np.ndarray:
        """The level FRD body in NED at the vehicle's heading."""
        heading = math.pi / 2.0 - self.vehicle.yaw
        return np.array([math.cos(heading / 2.0), 0.0, 0.0, math.sin(heading / 2.0)])

    def record(self, name: str, *args) -> None:
        self.calls.append((name, args))

    def _mavsdk(self, configuration):
        return Mavsdk(self, configuration)


class Configuration:
    def __init__(self, component_type):
        self.component_type = component_type

    @classmethod
    def create_with_component_type(cls, component_type):
        return cls(component_type)


class Mavsdk:
    def __init__(self, double: Px4Double, configuration):
        self._double = double
        self._url: str | None = None
        self.destroyed = False

    def add_any_connection(self, connection_url: str):
        self._double.record('add_any_connection', connection_url)
        if not connection_url.startswith(('udp', 'tcp', 'serial://')):
            return ConnectionResult.CONNECTION_URL_INVALID
        self._url = connection_url
        return ConnectionResult.SUCCESS

    def first_autopilot(self, timeout_s: float = 3.0):
        double = self._double
        double.record('first_autopilot', timeout_s)
        if self._url != double.address or not double.link_up:
            return None
        return System(double)

    def destroy(self):
        self._double.record('destroy')
        self.destroyed = True


class System:
    def __init__(self, double: Px4Double):
        self._double = double

    def is_connected(self) -> bool:
        return self._double.link_up

    def subscribe_is_connected(self, callback, user_data=None):
        self._double.subscribers.append(callback)
        return len(self._double.subscribers)


class _Plugin:
    def __init__(self, double: Px4Double):
        self._double = double

    def _request(self, error, result_type, name: str, *args) -> None:
        """Record a command; NO_SYSTEM without a link."""
        self._double.record(name, *args)
        if not self._double.link_up:
            raise error(result_type.NO_SYSTEM, f'{name}()')


class Action(_Plugin):
    def arm(self):
        self._request(ActionError, ActionResult, 'arm')
        self._double.armed = True
        return ActionResult.SUCCESS

    def disarm(self):
        self._request(ActionError, ActionResult, 'disarm')
        double = self._double
        if double.in_air:
            raise ActionError(ActionResult.COMMAND_DENIED, 'disarm()')
        double.armed = False
        double._set_mode('hold')
        return ActionResult.SUCCESS

    def kill(self):
        self._request(ActionError, ActionResult, 'kill')
        self._double.armed = False
        self._double.mode = 'hold'
        return ActionResult.SUCCESS

    def land(self):
        self._request(ActionError, ActionResult, 'land')
        if not self._double.armed:
            raise ActionError(ActionResult.COMMAND_DENIED, 'land()')
        self._double._set_mode('land')
        return ActionResult.SUCCESS


class Offboard(_Plugin):
    def __init__(self, double: Px4Double):
        super().__init__(double)
        self._setpoint_set = False  # MAVSDK refuses start() before any set_*() on this plugin

    def start(self):
        self._request(OffboardError, OffboardResult, 'start')
        double = self._double
        if not self._setpoint_set:
            raise OffboardError(OffboardResult.NO_SETPOINT_SET, 'start()')
        now = double.clock()
        if (double.setpoint_time is None or now - double.setpoint_time > double.params['COM_OF_LOSS_T']
                or now - double.stream_since < PROOF_OF_LIFE):
            raise OffboardError(OffboardResult.COMMAND_DENIED, 'start()')
        double.mode = 'offboard'
        double._follow()
        return OffboardResult.SUCCESS

    def is_active(self):
        return self._double.mode == 'offboard'

    def set_position_ned(self, position_ned_yaw):
        p = position_ned_yaw
        self._double.record('set_position_ned', p.north_m, p.east_m, p.down_m, p.yaw_deg)
        self._setpoint_set = True
        self._double.receive_setpoint(('position', p.north_m, p.east_m, p.down_m, p.yaw_deg))
        return OffboardResult.SUCCESS

    def set_velocity_ned(self, velocity_ned_yaw):
        v = velocity_ned_yaw
        self._double.record('set_velocity_ned', v.north_m_s, v.east_m_s, v.down_m_s, v.yaw_deg)
        self._setpoint_set = True
        self._double.receive_setpoint(('velocity', v.north_m_s, v.east_m_s, v.down_m_s, v.yaw_deg))
        return OffboardResult.SUCCESS


class Telemetry(_Plugin):
    def position_velocity_ned(self):
        vehicle = self._double.vehicle
        (x, y, z), (vx, vy, vz) = vehicle.position, vehicle.velocity
        return SimpleNamespace(position=SimpleNamespace(north_m=y, east_m=x, down_m=-z),
                               velocity=SimpleNamespace(north_m_s=vy, east_m_s=vx, down_m_s=-vz))

    def attitude_quaternion(self):
        w, x, y, z = self._double.quaternion_ned()
        return SimpleNamespace(w=w, x=x, y=y, z=z, timestamp_us=int(self._double.clock() * 1e6))

    def attitude_angular_velocity_body(self):
        return SimpleNamespace(roll_rad_s=0.0, pitch_rad_s=0.0, yaw_rad_s=-self._double.vehicle.yaw_rate)

    def armed(self):
        return self._double.armed

    def in_air(self):
        return self._double.in_air

    def landed_state(self):
        return self._double.landed_state()


class Param(_Plugin):
    def set_param_int(self, name, value):
        return self._set('set_param_int', int, name, value)

    def set_param_float(self, name, value):
        return self._set('set_param_float', float, name, value)

    def _set(self, call: str, kind, name, value):
        self._request(ParamError, ParamResult, call, name, value)
        params = self._double.params
        if name not in params:
            raise ParamError(ParamResult.DOES_NOT_EXIST, f'{call}()', name, value)
        if not isinstance(params[name], kind):
            raise ParamError(ParamResult.WRONG_TYPE, f'{call}()', name, value)
        params[name] = kind(value)
        return ParamResult.SUCCESS
