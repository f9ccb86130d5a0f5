"""Crazyflie 2.x through Bitcraze's cflib: low-level set-point streaming, state from log blocks.

Frames and units: the Crazyflie world frame is right-handed with z up (x
forward, y left at the positioning system's origin), the same convention as
REP 103, so positions and velocities pass unchanged; the low-level commander
takes yaw in degrees and yaw rate in degrees/s, the high-level commander yaw in
radians, the gyro logs degrees/s.

Watchdog: the firmware's commander levels the vehicle when no set-point came
for 500 ms (COMMANDER_WDT_TIMEOUT_STABILIZE) and stops the motors after 2 s
(COMMANDER_WDT_TIMEOUT_SHUTDOWN), so this backend re-sends the last set-point
every ``stream_period``. Landing hands control to the on-board high-level
commander (send_notify_setpoint_stop, then land), which finishes the descent
even if the radio drops; the backend stops the motors and disarms on touchdown.

Link loss: cflib reports it through ``connection_lost``; from then on status()
names it, reads and writes raise ConnectionError, and connect() opens a new
link. The vehicle is on its own: a stream that stops levels it after 0.5 s and
cuts its motors after 2 s - in flight it falls, which is why the lab fence in
config/robots/crazyflie.yaml is low.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.backends.streaming import StreamedQuadrotorBackend
from skill_stack.drivers.config import BackendSpec, ConfigError, Fields
from skill_stack.drivers.interfaces import DeviceStatus, QuadrotorStateSample
from skill_stack.drivers.safety import Clock, CommandError

WATCHDOG_STABILIZE = 0.5  # s, COMMANDER_WDT_TIMEOUT_STABILIZE: no set-point this long and the vehicle levels out
WATCHDOG_SHUTDOWN = 2.0  # s, COMMANDER_WDT_TIMEOUT_SHUTDOWN: no set-point this long and the motors stop
URI_SCHEMES = ('radio://', 'usb://', 'udp://', 'tcp://', 'debug://')
LOG_MAX_BYTES = 26  # cflib LogConfig.MAX_LEN: one log block's payload
IS_ARMED, IS_FLYING = 1 << 1, 1 << 4  # supervisor.info bits (cflib.crazyflie.supervisor BIT_IS_ARMED, BIT_IS_FLYING)
POSE_LOG = ('stateEstimate.x', 'stateEstimate.y', 'stateEstimate.z',
            'stateEstimate.vx', 'stateEstimate.vy', 'stateEstimate.vz')  # 6 floats: 24 bytes
ATTITUDE_LOG = ('stateEstimate.qw', 'stateEstimate.qx', 'stateEstimate.qy', 'stateEstimate.qz')  # 16 bytes
RATE_LOG = ('gyro.x', 'gyro.y', 'gyro.z')  # fetched as FP16: 6 bytes; deg/s, body frame
SUPERVISOR_LOG = 'supervisor.info'  # uint16: 2 bytes


@dataclass(frozen=True)
class CrazyflieSettings:
    """The ``backend`` section of config/robots/crazyflie.yaml."""

    uri: str  # radio://<dongle>/<channel>/<rate>/<address>
    stream_period: float  # s between re-sent set-points; well inside the 0.5 s commander watchdog
    log_period: float  # s between state log packets (10 ms steps, 10 ms to 2.55 s)
    land_speed: float  # m/s, the high-level commander's descent
    touchdown_height: float  # m: below this, a landing is over and the motors stop
    connect_timeout: float  # s to wait for the first state after the link opens

    @classmethod
    def from_fields(cls, fields: Fields, max_speed_z: float) -> CrazyflieSettings:
        fields.allow('uri', 'stream_period', 'log_period', 'land_speed', 'touchdown_height', 'connect_timeout')
        uri = fields.data.get('uri')
        if not isinstance(uri, str) or not uri.startswith(URI_SCHEMES):
            raise ConfigError(f'{fields.where}.uri: expected a Crazyflie link URI starting with one of '
                              f'{list(URI_SCHEMES)} (e.g. radio://0/80/2M/E7E7E7E7E7), got {uri!r}')
        settings = cls(uri=uri, stream_period=fields.positive('stream_period'),
                       log_period=fields.positive('log_period'), land_speed=fields.positive('land_speed'),
                       touchdown_height=fields.positive('touchdown_height'),
                       connect_timeout=fields.positive('connect_timeout'))
        if settings.stream_period > WATCHDOG_STABILIZE / 2:
            raise ConfigError(f'{fields.where}.stream_period: {settings.stream_period} s is too slow for the '
                              f'Crazyflie commander watchdog ({WATCHDOG_STABILIZE} s); at most '
                              f'{WATCHDOG_STABILIZE / 2} s')
        if not 0.01 <= settings.log_period <= 2.55:
            raise ConfigError(f'{fields.where}.log_period: must be in [0.01, 2.55] s (log periods are counted in '
                              f'10 ms steps, at most 255), got {settings.log_period}')
        if settings.land_speed > max_speed_z:
            raise ConfigError(f'{fields.where}.land_speed: {settings.land_speed} m/s exceeds the driver\'s '
                              f'max_speed_z ({max_speed_z} m/s)')
        return settings


def cflib_sdk() -> SimpleNamespace:
    """The parts of cflib this backend uses (a test passes its double in the same shape)."""
    require_sdk('cflib', 'cflib')
    crtp = require_sdk('cflib.crtp', 'cflib')
    crazyflie = require_sdk('cflib.crazyflie', 'cflib')
    sync = require_sdk('cflib.crazyflie.syncCrazyflie', 'cflib')
    log = require_sdk('cflib.crazyflie.log', 'cflib')
    return SimpleNamespace(crtp=crtp, Crazyflie=crazyflie.Crazyflie, SyncCrazyflie=sync.SyncCrazyflie,
                           LogConfig=log.LogConfig)


class CrazyflieBackend(StreamedQuadrotorBackend):
    """A Crazyflie flown by streamed low-level position / world-velocity set-points."""

    def __init__(self, settings: CrazyflieSettings, limits: Any, sdk: Any, clock: Clock, threaded: bool = True):
        """See StreamedQuadrotorBackend; the limits go to the position controller's parameters."""
        super().__init__(settings, limits, sdk, clock, threaded, 'crazyflie-stream')
        self._drivers_ready = False
        self._scf: Any = None
        self._logs: list = []
        self._pose: Optional[tuple[np.ndarray, np.ndarray, float]] = None  # position, velocity, stamp
        self._attitude = (np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(3), 0)  # quaternion, body rates rad/s, bits
        self._first_sample = threading.Event()
        self._landing_since: Optional[float] = None

    @property
    def link_name(self) -> str:
        return f'Crazyflie at {self.settings.uri}'

    # --- lifecycle ------------------------------------------------------------------

    def connect(self) -> None:
        """Open the radio link, write the limits, start the state log blocks; reconnects after a loss."""
        if self._thread is not None:
            self._thread.stop()
        with self._lock:
            self._close()
            if not self._drivers_ready:
                self.sdk.crtp.init_drivers()
                self._drivers_ready = True
            cf = self.sdk.Crazyflie()
            cf.connection_lost.add_callback(self._on_connection_lost)
            scf = self.sdk.SyncCrazyflie(self.settings.uri, cf=cf)
            try:
                scf.open_link()
            except Exception as error:  # noqa: BLE001 - cflib raises a bare Exception with the link's message
                self._fault = f'Crazyflie at {self.settings.uri}: cannot open the link: {error}'
                raise ConnectionError(self._fault) from None
            self._scf = scf
            self._fault = None
            self._connected = True
            self._first_sample.clear()
            try:
                self._write_limits(cf)
                self._start_logs(cf)
            except (KeyError, AttributeError) as error:  # a firmware without these parameters or log variables
                self._close()
                self._fault = f'Crazyflie at {self.settings.uri}: unsupported firmware: {error}'
                raise ConnectionError(self._fault) from None
        if not self._first_sample.wait(self.settings.connect_timeout):
            with self._lock:
                self._close()
            self._fault = (f'Crazyflie at {self.settings.uri}: no state estimate within '
                           f'{self.settings.connect_timeout} s of connecting')
            raise ConnectionError(self._fault)
        if self._thread is not None:
            self._thread.start()

    def disconnect(self) -> None:
        """Land through the on-board high-level commander if flying (it finishes without the radio), then close."""
        if self._thread is not None:
            self._thread.stop()
        with self._lock:
            if self._connected and self._attitude[2] & IS_FLYING:
                self._start_landing()
            self._close()
            self._fault = None

    def status(self) -> DeviceStatus:
        with self._lock:
            bits = self._attitude[2]
            return DeviceStatus(connected=self._connected, fault=self._fault,
                                details={'uri': self.settings.uri, 'armed': bool(bits & IS_ARMED),
                                         'flying': bool(bits & IS_FLYING), 'streaming': self._stream.active,
                                         'landing': self._landing_since is not None})

    # --- QuadrotorBackend -------------------------------------------------------------

    def read(self) -> QuadrotorStateSample:
        with self._lock:
            self._require_link()
            position, velocity, stamp = self._pose
            quaternion, rates, bits = self._attitude
            armed = bool(bits & IS_ARMED)
            return QuadrotorStateSample(position=position.copy(), quaternion=quaternion.copy(),
                                        linear_velocity=velocity.copy(), angular_velocity=rates.copy(),
                                        armed=armed, landed=not armed or not bits & IS_FLYING, stamp=stamp)

    def arm(self) -> None:
        """Ask the supervisor to arm, then read its state back (answered in order on the supervisor port)."""
        with self._lock:
            self._require_link()
            supervisor = self._scf.cf.supervisor
            supervisor.send_arming_request(True)
            if not self._refresh_bits(supervisor) & IS_ARMED:
                raise CommandError(f'Crazyflie at {self.settings.uri} did not arm (supervisor: '
                                   f'{supervisor.decode_bitfield(self._attitude[2])})')

    def disarm(self) -> None:
        """Stop the motors at once (a STOP set-point) and disarm; in the air the vehicle falls."""
        with self._lock:
            self._require_link()
            self._stream.clear()
            self._landing_since = None
            cf = self._scf.cf
            cf.commander.send_stop_setpoint()
            cf.supervisor.send_arming_request(False)
            self._refresh_bits(cf.supervisor)

    def write_position_setpoint(self, position: np.ndarray, yaw: float) -> None:
        x, y, z = (float(v) for v in position)
        yaw_deg = math.degrees(yaw)
        with self._lock:
            self._require_link()
            commander = self._scf.cf.commander
            self._landing_since = None
            self._stream.set(lambda: commander.send_position_setpoint(x, y, z, yaw_deg))

    def write_velocity_setpoint(self, velocity: np.ndarray, yaw_rate: float) -> None:
        vx, vy, vz = (float(v) for v in velocity)
        rate_deg = math.degrees(yaw_rate)
        with self._lock:
            self._require_link()
            commander = self._scf.cf.commander
            self._landing_since = None
            self._stream.set(lambda: commander.send_velocity_world_setpoint(vx, vy, vz, rate_deg))

    def land(self) -> None:
        with self._lock:
            self._require_link()
            if not self._attitude[2] & IS_FLYING:  # on the ground already: just stop the motors
                self.disarm()
                return
            self._start_landing()

    # --- streaming --------------------------------------------------------------------

    def poll(self) -> None:
        """Re-send the set-point when a stream period has passed; end a landing on touchdown."""
        with self._lock:
            if not self._connected:
                return
            self._stream.poll()
            if self._landing_since is None:
                return
            height = self._pose[0][2]
            duration = height / self.settings.land_speed
            if height < self.settings.touchdown_height or self.clock() - self._landing_since > duration + 2.0:
                cf = self._scf.cf
                cf.high_level_commander.stop()
                cf.supervisor.send_arming_request(False)
                self._landing_since = None

    # --- internals --------------------------------------------------------------------

    def _start_landing(self) -> None:
        """Hand over to the high-level commander (the low-level stream has priority until told to stop)."""
        self._stream.clear()
        cf = self._scf.cf
        cf.commander.send_notify_setpoint_stop()
        height = float(self._pose[0][2])
        cf.high_level_commander.land(0.0, max(height, 0.1) / self.settings.land_speed, yaw=None)
        self._landing_since = self.clock()

    def _refresh_bits(self, supervisor: Any) -> int:
        """The supervisor's state bits now, not at the last log sample."""
        quaternion, rates, _ = self._attitude
        bits = int(supervisor.read_bitfield())
        self._attitude = (quaternion, rates, bits)
        return bits

    def _write_limits(self, cf: Any) -> None:
        """The position controller flies within the driver's speed and tilt limits (firmware parameters)."""
        tilt = self.limits.max_tilt_deg
        for name, value in (('commander.enHighLevel', 1), ('posCtlPid.xyVelMax', self.limits.max_speed_xy),
                            ('posCtlPid.zVelMax', self.limits.max_speed_z), ('posCtlPid.rLimit', tilt),
                            ('posCtlPid.pLimit', tilt)):
            cf.param.set_value(name, value)

    def _start_logs(self, cf: Any) -> None:
        period_ms = round(self.settings.log_period * 1000.0)
        pose = self.sdk.LogConfig(name='skill_stack_pose', period_in_ms=period_ms)
        for name in POSE_LOG:
            pose.add_variable(name, 'float')
        attitude = self.sdk.LogConfig(name='skill_stack_attitude', period_in_ms=period_ms)
        for name in ATTITUDE_LOG:
            attitude.add_variable(name, 'float')
        for name in RATE_LOG:
            attitude.add_variable(name, 'FP16')
        attitude.add_variable(SUPERVISOR_LOG, 'uint16_t')
        # attitude first: a pose sample completes the state, so the first one marks the state ready
        for block, callback in ((attitude, self._on_attitude), (pose, self._on_pose)):
            cf.log.add_config(block)
            block.data_received_cb.add_callback(callback)
            block.start()
            self._logs.append(block)

    def _on_pose(self, timestamp: int, data: dict, block: Any) -> None:
        with self._lock:
            position = np.array([data[name] for name in POSE_LOG[:3]], float)
            velocity = np.array([data[name] for name in POSE_LOG[3:]], float)
            self._pose = (position, velocity, self.clock())
        self._first_sample.set()

    def _on_attitude(self, timestamp: int, data: dict, block: Any) -> None:
        with self._lock:
            quaternion = np.array([data[name] for name in ATTITUDE_LOG], float)
            rates = np.radians([data[name] for name in RATE_LOG])
            self._attitude = (quaternion, rates, int(data[SUPERVISOR_LOG]))

    def _on_connection_lost(self, uri: str, message: str) -> None:
        """cflib's link thread: the radio stopped answering (out of range, dongle unplugged, battery)."""
        with self._lock:
            self._fault = (f'Crazyflie at {uri}: radio link lost ({message}); without set-points its commander '
                           f'levels it after {WATCHDOG_STABILIZE} s and stops the motors after '
                           f'{WATCHDOG_SHUTDOWN} s; call connect() to reconnect')
            self._connected = False
            self._stream.clear()
            self._landing_since = None

    def _close(self) -> None:
        self._stream.clear()
        self._landing_since = None
        for block in self._logs:  # on a lost link cflib drops the packets; the firmware drops blocks on reconnect
            block.stop()
        self._logs = []
        if self._scf is not None:
            self._scf.cf.connection_lost.remove_callback(self._on_connection_lost)
            self._scf.close_link()
        self._scf = None
        self._connected = False
        self._pose = None


def from_config(spec: BackendSpec, config: Any) -> CrazyflieBackend:
    """The backend for config/robots/crazyflie.yaml's ``backend`` section; cflib is imported here."""
    import time

    settings = CrazyflieSettings.from_fields(spec.fields(), config.max_speed_z)
    return CrazyflieBackend(settings, config, cflib_sdk(), time.monotonic)
