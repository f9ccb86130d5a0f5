"""A test double of cflib (Bitcraze's Crazyflie Python library, 0.1.34) and the Crazyflie on its radio.

`CflibDouble` is the vehicle side: firmware behaviour at the level a ground
station sees it, a point-mass vehicle (quadrotor_point_mass), and device time
that passes only in `step()`. `double.sdk` has the shape the backend receives
(crtp, Crazyflie, SyncCrazyflie, LogConfig) with the signatures of cflib
0.1.34 (a unit test checks them against the installed cflib). Every call that
reaches the SDK is recorded in ``double.calls`` as (name, args).

Modelled after cflib's source (commander.py, high_level_commander.py,
supervisor.py, param.py, log.py, syncCrazyflie.py) and the firmware
(commander.c, supervisor.c, crtp_commander_high_level.c):

- units: low-level position set-points take yaw in degrees, world velocity
  set-points yaw rate in degrees/s, the high-level commander radians; the
  gyro logs degrees/s; positions in metres in a z-up world frame;
- commander watchdog: a low-level stream that stops levels the vehicle after
  500 ms (COMMANDER_WDT_TIMEOUT_STABILIZE) and, after 2 s
  (COMMANDER_WDT_TIMEOUT_SHUTDOWN), falls back to the high-level commander -
  which, when idle, means motors off;
- send_notify_setpoint_stop hands priority to the high-level commander;
  land() descends at the current xy over ``duration_s``; stop() stops the
  motors; HL commands are ignored unless commander.enHighLevel is 1;
- arming (firmware built with CONFIG_MOTORS_REQUIRE_ARMING, as the Crazyflie
  2.1 Brushless ships): set-points spin nothing until the supervisor is armed;
  supervisor.info carries the armed and is-flying bits, and is-flying has the
  firmware's 2 s hysteresis after the thrust stops;
- parameters: unknown names raise KeyError('... not in param TOC'); the
  position controller's posCtlPid.xyVelMax / zVelMax bound the vehicle;
- log blocks: unknown variables raise KeyError('Variable ... not in TOC'),
  blocks over 26 bytes raise AttributeError, samples come every period of
  device time (10 ms steps) through data_received_cb(timestamp_ms, data, conf);
- the link: open_link raises Exception(message) when no Crazyflie answers at
  the URI; `drop_link()` calls connection_lost(uri, message) and then
  disconnected(uri), and packets sent after that go nowhere.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from doubles.quadrotor_point_mass import FakeClock, PointMass

URI = 'radio://0/80/2M/E7E7E7E7E7'
STABILIZE_TIMEOUT = 0.5
SHUTDOWN_TIMEOUT = 2.0
FLYING_HYSTERESIS = 2.0
MAX_LOG_BYTES = 26
TYPE_SIZES = {'float': 4, 'FP16': 2, 'uint16_t': 2, 'int16_t': 2, 'uint8_t': 1, 'uint32_t': 4}
LOG_TOC = ('stateEstimate.x', 'stateEstimate.y', 'stateEstimate.z', 'stateEstimate.vx', 'stateEstimate.vy',
           'stateEstimate.vz', 'stateEstimate.qw', 'stateEstimate.qx', 'stateEstimate.qy', 'stateEstimate.qz',
           'gyro.x', 'gyro.y', 'gyro.z', 'supervisor.info')
PARAM_DEFAULTS = {'commander.enHighLevel': 0.0, 'posCtlPid.xyVelMax': 1.0, 'posCtlPid.zVelMax': 1.0,
                  'posCtlPid.rLimit': 20.0, 'posCtlPid.pLimit': 20.0}
STATES = ('Can be armed', 'Is armed', 'Is auto armed', 'Can fly', 'Is flying', 'Is tumbled', 'Is locked',
          'Is crashed', 'HL control is active', 'Finished HL trajectory', 'HL control is disabled')
BIT_CAN_BE_ARMED, BIT_IS_ARMED, BIT_IS_FLYING = 1 << 0, 1 << 1, 1 << 4
MOTION_CALLS = ('send_position_setpoint', 'send_velocity_world_setpoint', 'land', 'takeoff', 'go_to')


class Caller:
    """cflib.utils.callbacks.Caller."""

    def __init__(self):
        self.callbacks = []

    def add_callback(self, cb):
        if cb not in self.callbacks:
            self.callbacks.append(cb)

    def remove_callback(self, cb):
        if cb in self.callbacks:
            self.callbacks.remove(cb)

    def call(self, *args):
        for cb in list(self.callbacks):
            cb(*args)


class CflibDouble:
    """The Crazyflie behind the radio; ``sdk`` is what the backend gets in place of cflib."""

    def __init__(self, clock: FakeClock | None = None, uri: str = URI):
        self.clock = clock or FakeClock()
        self.uri = uri
        self.vehicle = PointMass(max_speed_xy=1.0, max_speed_z=1.0)
        self.calls: list[tuple[str, tuple]] = []
        self.params = dict(PARAM_DEFAULTS)
        self.reachable = True  # a Crazyflie answers at the URI
        self.link_up = False
        self.armed = False
        self.setpoint: tuple | None = None  # the low-level set-point: ('position', ...) or ('velocity', ...)
        self.setpoint_time = 0.0
        self.high_level: dict | None = None  # the high-level commander's running land
        self.thrust_time: float | None = None  # when the motors last produced lift (is-flying hysteresis)
        self.blocks: list = []  # started log blocks: [config, next sample time]
        self.cf: FakeCrazyflie | None = None
        self.drivers_initialised = False
        self.sdk = SimpleNamespace(crtp=SimpleNamespace(init_drivers=self._init_drivers),
                                   Crazyflie=self._crazyflie, SyncCrazyflie=self._sync_crazyflie,
                                   LogConfig=FakeLogConfig)

    # --- what tests use -------------------------------------------------------------

    def motion_calls(self) -> list[tuple[str, tuple]]:
        """Recorded calls that would move the vehicle."""
        return [call for call in self.calls if call[0] in MOTION_CALLS]

    def count(self, name: str) -> int:
        return sum(1 for call in self.calls if call[0] == name)

    def drop_link(self, message: str = 'Too many packets lost!') -> None:
        """The radio stops answering (out of range, dongle pulled): cflib's connection_lost, then disconnected."""
        self.link_up = False
        self.blocks = []
        if self.cf is not None:
            cf, self.cf = self.cf, None
            cf.link_open = False
            cf.connection_lost.call(self.uri, message)
            cf.disconnected.call(self.uri)

    @property
    def flying(self) -> bool:
        return self.thrust_time is not None and self.clock() - self.thrust_time <= FLYING_HYSTERESIS

    def supervisor_info(self) -> int:
        return (BIT_CAN_BE_ARMED | (BIT_IS_ARMED if self.armed else 0)
                | (BIT_IS_FLYING if self.flying else 0))

    # --- firmware -------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """The firmware and the vehicle over ``dt`` of device time (the clock is already at its end)."""
        now = self.clock()
        vehicle = self.vehicle
        vehicle.max_speed_xy = self.params['posCtlPid.xyVelMax']
        vehicle.max_speed_z = self.params['posCtlPid.zVelMax']
        if self.setpoint is not None:
            age = now - self.setpoint_time
            if age > SHUTDOWN_TIMEOUT:
                self.setpoint = None  # falls back to the high-level commander
            elif age > STABILIZE_TIMEOUT:
                vehicle.hold_height()
        if self.setpoint is None and self.high_level is not None:
            land = self.high_level
            progress = min(1.0, (now - land['start']) / land['duration'])
            height = land['from'][2] + (land['height'] - land['from'][2]) * progress
            vehicle.fly_to([land['from'][0], land['from'][1], height], land['yaw'])
        vehicle.motors = self.armed and (self.setpoint is not None or self.high_level is not None)
        vehicle.step(dt)
        if vehicle.motors and (vehicle.position[2] > 0.005 or vehicle.velocity[2] > 0.0):
            self.thrust_time = now
        for block in self.blocks:
            while block[1] <= now + 1e-9:
                block[0].deliver(self, block[1])
                block[1] += block[0].period_in_ms / 1000.0

    def log_sample(self, names) -> dict:
        vehicle = self.vehicle
        q = vehicle.quaternion()
        values = {'stateEstimate.x': vehicle.position[0], 'stateEstimate.y': vehicle.position[1],
                  'stateEstimate.z': vehicle.position[2], 'stateEstimate.vx': vehicle.velocity[0],
                  'stateEstimate.vy': vehicle.velocity[1], 'stateEstimate.vz': vehicle.velocity[2],
                  'stateEstimate.qw': q[0], 'stateEstimate.qx': q[1], 'stateEstimate.qy': q[2],
                  'stateEstimate.qz': q[3], 'gyro.x': 0.0, 'gyro.y': 0.0,
                  'gyro.z': math.degrees(vehicle.yaw_rate), 'supervisor.info': self.supervisor_info()}
        return {name: float(values[name]) if name != 'supervisor.info' else values[name] for name in names}

    def receive(self, name: str, args: tuple) -> None:
        """A packet from the ground station: recorded always, acted on only over a live link."""
        self.calls.append((name, args))
        if not self.link_up:
            return
        now = self.clock()
        if name == 'send_position_setpoint':
            x, y, z, yaw_deg = args
            self._low_level(('position', x, y, z, yaw_deg))
            self.vehicle.fly_to([x, y, z], math.radians(yaw_deg))
        elif name == 'send_velocity_world_setpoint':
            vx, vy, vz, yawrate_deg = args
            self._low_level(('velocity', vx, vy, vz, yawrate_deg))
            self.vehicle.fly_at([vx, vy, vz], yaw_rate=math.radians(yawrate_deg))
        elif name == 'send_stop_setpoint':
            self.setpoint, self.high_level = None, None
        elif name == 'send_notify_setpoint_stop':
            self.setpoint = None
        elif name == 'land' and self.params['commander.enHighLevel'] == 1:
            height, duration, yaw = args
            self.high_level = {'from': self.vehicle.position.copy(), 'height': height, 'start': now,
                               'duration': max(duration, 1e-3), 'yaw': yaw}
        elif name == 'stop' and self.params['commander.enHighLevel'] == 1:
            self.high_level = None
        elif name == 'send_arming_request':
            (self.armed,) = args

    def _low_level(self, setpoint: tuple) -> None:
        self.setpoint, self.setpoint_time = setpoint, self.clock()
        self.high_level = None

    # --- the SDK's entry points ----------------------------------------------------------

    def _init_drivers(self, enable_debug_driver=False, enable_serial_driver=False):
        self.calls.append(('init_drivers', ()))
        self.drivers_initialised = True

    def _crazyflie(self, link=None, ro_cache=None, rw_cache=None):
        return FakeCrazyflie(self)

    def _sync_crazyflie(self, link_uri, cf=None):
        return FakeSyncCrazyflie(self, link_uri, cf or FakeCrazyflie(self))


class FakeCrazyflie:
    """cflib.crazyflie.Crazyflie: link callbacks and the subsystems the backend uses."""

    def __init__(self, double: CflibDouble):
        self._double = double
        self.link_open = False
        self.disconnected = Caller()
        self.connection_lost = Caller()
        self.connection_failed = Caller()
        self.connected = Caller()
        self.commander = FakeCommander(double)
        self.high_level_commander = FakeHighLevelCommander(double)
        self.supervisor = FakeSupervisor(double)
        self.param = FakeParam(double, self)
        self.log = FakeLog(double, self)

    def open_link(self, link_uri):
        double = self._double
        double.calls.append(('open_link', (link_uri,)))
        if link_uri != double.uri or not double.reachable:
            self.connection_failed.call(link_uri, 'Too many packets lost!')
            return False
        double.link_up, double.cf, self.link_open = True, self, True
        self.connected.call(link_uri)
        return True

    def close_link(self):
        double = self._double
        double.calls.append(('close_link', ()))
        if self.link_open:
            self.link_open = False
            if double.cf is self:
                double.link_up, double.cf, double.blocks = False, None, []
            self.disconnected.call(double.uri)

    def is_connected(self):
        return self.link_open


class FakeSyncCrazyflie:
    """cflib.crazyflie.syncCrazyflie.SyncCrazyflie: blocking open/close around a Crazyflie."""

    def __init__(self, double: CflibDouble, link_uri, cf):
        self._double = double
        self._link_uri = link_uri
        self.cf = cf

    def open_link(self):
        if self.cf.link_open:
            raise Exception('Link already open')
        if not self.cf.open_link(self._link_uri):
            raise Exception(f'Too many packets lost! (no Crazyflie at {self._link_uri})')

    def close_link(self):
        self.cf.close_link()

    def is_link_open(self):
        return self.cf.link_open


class FakeCommander:
    """cflib.crazyflie.commander.Commander (low-level set-points)."""

    def __init__(self, double: CflibDouble):
        self._double = double

    def send_position_setpoint(self, x, y, z, yaw):
        self._double.receive('send_position_setpoint', (x, y, z, yaw))

    def send_velocity_world_setpoint(self, vx, vy, vz, yawrate):
        self._double.receive('send_velocity_world_setpoint', (vx, vy, vz, yawrate))

    def send_stop_setpoint(self):
        self._double.receive('send_stop_setpoint', ())

    def send_notify_setpoint_stop(self, remain_valid_milliseconds=0):
        self._double.receive('send_notify_setpoint_stop', (remain_valid_milliseconds,))


class FakeHighLevelCommander:
    """cflib.crazyflie.high_level_commander.HighLevelCommander (on-board trajectories; yaw in radians)."""

    def __init__(self, double: CflibDouble):
        self._double = double

    def land(self, absolute_height_m, duration_s, group_mask=0, yaw=0.0):
        self._double.receive('land', (absolute_height_m, duration_s, yaw))

    def stop(self, group_mask=0):
        self._double.receive('stop', ())


class FakeSupervisor:
    """cflib.crazyflie.supervisor.Supervisor."""

    def __init__(self, double: CflibDouble):
        self._double = double

    def send_arming_request(self, do_arm: bool):
        self._double.receive('send_arming_request', (bool(do_arm),))

    def read_bitfield(self):
        self._double.calls.append(('read_bitfield', ()))
        return self._double.supervisor_info()

    def decode_bitfield(self, value):
        return [name for bit, name in enumerate(STATES) if value & (1 << bit)]


class FakeParam:
    """cflib.crazyflie.param.Param: set_value on the firmware's parameter TOC."""

    def __init__(self, double: CflibDouble, cf: FakeCrazyflie):
        self._double = double
        self._cf = cf

    def set_value(self, complete_name, value):
        double = self._double
        double.calls.append(('set_value', (complete_name, value)))
        if not self._cf.link_open:
            raise Exception('Connection timed out')
        if complete_name not in double.params:
            raise KeyError(f'{complete_name} not in param TOC')
        double.params[complete_name] = float(value)


class FakeLog:
    """cflib.crazyflie.log.Log: add_config checks variables against the TOC and the packet size."""

    def __init__(self, double: CflibDouble, cf: FakeCrazyflie):
        self._double = double
        self._cf = cf

    def add_config(self, logconf):
        self._double.calls.append(('add_config', (logconf.name,)))
        size = 0
        for name, fetch_as in logconf.variables:
            if name not in LOG_TOC:
                raise KeyError(f'Variable {name} not in TOC')
            size += TYPE_SIZES[fetch_as]
        if size > MAX_LOG_BYTES:
            raise AttributeError(f'The log configuration is too large: {size} bytes')
        logconf.cf = self._cf


class FakeLogConfig:
    """cflib.crazyflie.log.LogConfig: a block of log variables sampled every period."""

    def __init__(self, name, period_in_ms):
        self.name = name
        self.period_in_ms = period_in_ms
        self.variables: list[tuple[str, str]] = []
        self.data_received_cb = Caller()
        self.error_cb = Caller()
        self.cf: FakeCrazyflie | None = None

    def add_variable(self, name, fetch_as=None):
        self.variables.append((name, fetch_as or 'float'))

    def start(self):
        if self.cf is None:
            raise AttributeError('the log configuration was not added to a Crazyflie')
        double = self.cf._double
        if double.cf is self.cf and double.link_up:
            block = [self, double.clock()]
            double.blocks.append(block)
            self.deliver(double, double.clock())  # the first sample comes at once
            block[1] += self.period_in_ms / 1000.0

    def stop(self):
        if self.cf is not None:
            double = self.cf._double
            double.blocks = [block for block in double.blocks if block[0] is not self]

    def deliver(self, double: CflibDouble, at: float) -> None:
        data = double.log_sample([name for name, _ in self.variables])
        self.data_received_cb.call(round(at * 1000.0), data, self)


def vehicle_state(double: CflibDouble) -> dict:
    """The vehicle's true state, for assertions."""
    vehicle = double.vehicle
    return {'position': vehicle.position.copy(), 'velocity': vehicle.velocity.copy(), 'yaw': vehicle.yaw,
            'motors': vehicle.motors, 'armed': double.armed, 'flying': double.flying,
            'speed_limits': np.array([vehicle.max_speed_xy, vehicle.max_speed_z])}
