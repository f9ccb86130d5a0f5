"""Universal Robots e-Series arms through ur_rtde, and a Robotiq gripper through the Robotiq URCap.

The arm is servoed as ur_rtde documents it: a loop that calls
``servoJ(q, 0, 0, dt, lookahead_time, gain)`` once per RTDE period (500 Hz on
e-Series) between ``initPeriod()`` and ``waitPeriod()``. The driver's
``write_joint_targets`` only sets the target that loop servos to, so the
robot gets a fresh command every period however fast the driver ticks. With
no target (before the first command, after ``hold``) the loop kicks the RTDE
watchdog instead, so the controller stops the robot by itself if this
process stops streaming (``setWatchdog``). ``hold`` is ``servoStop``.

The safety mode (protective or emergency stop), the robot mode and the control
script's state are read back and turn into a fault; a lost RTDE link
(``isConnected()`` false, or an exception from the SDK) makes reads and writes
raise ConnectionError, and ``connect()`` reconnects (``reconnect()``).

ur_rtde's Python package has no Robotiq binding (its RobotiqGripper class is
C++ only); its documentation points to the Robotiq URCap's ASCII socket
server on the controller (port 63352: ``SET POS .. SPE .. FOR .. GTO 1``,
``GET POS``), which is what `RobotiqGripper` speaks.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.config import ArmConfig, BackendSpec, ConfigError, Fields
from skill_stack.drivers.interfaces import DeviceStatus, GripperBackend, JointBackend, JointStateSample

logger = logging.getLogger(__name__)

UR_JOINTS = ('shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint',
             'wrist_3_joint')
# getSafetyMode() values (UR RTDE guide); the robot moves only in normal or reduced mode.
SAFETY_MODES = {1: 'normal', 2: 'reduced', 3: 'protective stop', 4: 'recovery', 5: 'safeguard stop',
                6: 'system emergency stop', 7: 'robot emergency stop', 8: 'safety violation', 9: 'safety fault',
                10: 'validating joint ids', 11: 'undefined safety mode', 12: 'automatic mode safeguard stop',
                13: 'three-position enabling stop'}
MOVING_SAFETY_MODES = (1, 2)
# getRobotMode() values (ur_rtde's docstring); 7 is running (powered, brakes released).
ROBOT_MODES = {-1: 'no controller', 0: 'disconnected', 1: 'confirm safety', 2: 'booting', 3: 'power off',
               4: 'power on', 5: 'idle', 6: 'backdrive', 7: 'running', 8: 'updating firmware'}
ROBOT_MODE_RUNNING = 7
# servoJ's documented parameter ranges (ur_rtde raises outside them).
LOOKAHEAD_RANGE = (0.03, 0.2)
GAIN_RANGE = (100.0, 2000.0)
ROBOTIQ_PORT = 63352


@dataclass(frozen=True)
class RobotiqSettings:
    port: int
    max_width: float  # m between the finger pads at open_position
    open_position: int  # raw 0..255 position reading fully open
    closed_position: int  # raw position reading fully closed
    speed: int  # 0..255
    force: int  # 0..255
    timeout: float  # s per socket request


@dataclass(frozen=True)
class URSettings:
    host: str
    frequency: float  # Hz, the RTDE control frequency (500 on e-Series); the servo loop runs once per period
    lookahead_time: float  # s, servoJ smoothing, [0.03, 0.2]
    gain: float  # servoJ proportional gain, [100, 2000]
    stop_deceleration: float  # servoStop's deceleration (m/s^2 of the tool, as ur_rtde defines it)
    watchdog_frequency: float  # Hz: the controller stops the script when no RTDE input arrives this often
    gripper: Optional[RobotiqSettings]

    @property
    def period(self) -> float:
        return 1.0 / self.frequency


def parse_settings(spec: BackendSpec) -> URSettings:
    fields = spec.fields()
    fields.allow('host', 'frequency', 'lookahead_time', 'gain', 'stop_deceleration', 'watchdog_frequency',
                 'gripper')
    gripper = None
    if 'gripper' in fields.data and fields.data['gripper'] is not None:
        section = fields.section('gripper')
        section.allow('type', 'port', 'max_width', 'open_position', 'closed_position', 'speed', 'force', 'timeout')
        if section.data.get('type') != 'robotiq_urcap':
            raise ConfigError(f"{section.where}.type: expected 'robotiq_urcap' (a Robotiq gripper on the "
                              f"Robotiq URCap), got {section.data.get('type')!r}")
        open_position, closed_position = _byte(section, 'open_position'), _byte(section, 'closed_position')
        if not open_position < closed_position:
            raise ConfigError(f'{section.where}.open_position: {open_position} must be below closed_position '
                              f'{closed_position}')
        gripper = RobotiqSettings(port=_port(section, 'port'), max_width=section.positive('max_width'),
                                  open_position=open_position, closed_position=closed_position,
                                  speed=_byte(section, 'speed'), force=_byte(section, 'force'),
                                  timeout=section.positive('timeout'))
    return URSettings(host=text(fields, 'host'), frequency=fields.positive('frequency'),
                      lookahead_time=within(fields, 'lookahead_time', *LOOKAHEAD_RANGE),
                      gain=within(fields, 'gain', *GAIN_RANGE),
                      stop_deceleration=fields.positive('stop_deceleration'),
                      watchdog_frequency=fields.positive('watchdog_frequency'), gripper=gripper)


def from_config(spec: BackendSpec, config: ArmConfig) -> tuple[URJointBackend, GripperBackend]:
    """The arm's joints over RTDE and its Robotiq gripper; the SDK is imported here, not at module import."""
    settings = parse_settings(spec)
    if settings.gripper is None:
        raise ConfigError(f'{spec.file}: backend.gripper: the arm driver needs a gripper; configure the '
                          f'Robotiq gripper (type: robotiq_urcap)')
    control = require_sdk('rtde_control', 'ur-rtde')
    receive = require_sdk('rtde_receive', 'ur-rtde')
    joints = URJointBackend(settings, control, receive, threaded=True)
    return joints, RobotiqGripper(settings.host, settings.gripper, socket.create_connection)


class URJointBackend(JointBackend):
    """A UR arm's six joints, servoed by a streaming loop at the RTDE frequency.

    ``threaded`` runs the loop in a thread (the robot); without it the caller
    runs each period with `stream_period()` (tests, on the double's clock).
    """

    def __init__(self, settings: URSettings, control_sdk: Any, receive_sdk: Any, threaded: bool = True):
        self.settings = settings
        self.joint_names = UR_JOINTS
        self._control_sdk = control_sdk
        self._receive_sdk = receive_sdk
        self._threaded = threaded
        self._control: Any = None
        self._receive: Any = None
        self._lock = threading.RLock()
        self._connected = False
        self._fault: Optional[str] = None
        self._target: Optional[np.ndarray] = None  # what the loop servos to; None: not servoing
        self._servoing = False
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    @property
    def name(self) -> str:
        return f'UR arm at {self.settings.host}'

    # --- lifecycle --------------------------------------------------------------------

    def connect(self) -> None:
        """Open (or re-open) both RTDE interfaces, check the robot can move, start the servo loop."""
        with self._lock:
            try:
                if self._control is None:
                    self._control = self._control_sdk.RTDEControlInterface(self.settings.host,
                                                                           self.settings.frequency)
                    self._receive = self._receive_sdk.RTDEReceiveInterface(self.settings.host,
                                                                           self.settings.frequency)
                else:
                    for interface in (self._control, self._receive):
                        if not interface.isConnected() and not interface.reconnect():
                            raise RuntimeError('reconnect() failed')
                problem = self._safety_problem()
                if problem is not None:
                    raise ConnectionError(f'{self.name}: {problem}; clear it on the teach pendant, then connect '
                                          f'again')
                if not self._control.isProgramRunning():
                    self._control.reuploadScript()
                self._control.setWatchdog(self.settings.watchdog_frequency)
            except RuntimeError as error:
                raise ConnectionError(f'{self.name}: cannot connect ({error})') from error
            self._connected, self._fault = True, None
            self._target, self._servoing = None, False
        if self._threaded and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name='ur_rtde servo', daemon=True)
            self._thread.start()

    def disconnect(self) -> None:
        """Stop servoing, stop the control script and close both interfaces."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        with self._lock:
            if self._connected:
                try:
                    self._stop_servo()
                    self._control.stopScript()
                except RuntimeError as error:
                    logger.warning('%s: stopping before disconnect failed: %s', self.name, error)
            for interface in (self._control, self._receive):
                if interface is not None:
                    interface.disconnect()
            self._connected = False

    def status(self) -> DeviceStatus:
        with self._lock:
            if self._connected:
                self._check()
            details = {'backend': 'ur_rtde', 'host': self.settings.host, 'servoing': self._servoing}
            return DeviceStatus(connected=self._connected, fault=self._fault, details=details)

    # --- joint I/O ------------------------------------------------------------------

    def read(self) -> JointStateSample:
        with self._lock:
            self._require_link()
            try:
                sample = JointStateSample(np.array(self._receive.getActualQ(), dtype=float),
                                          np.array(self._receive.getActualQd(), dtype=float),
                                          np.array(self._control.getJointTorques(), dtype=float),
                                          float(self._receive.getTimestamp()))
            except RuntimeError as error:
                self._lose(str(error))
                raise ConnectionError(self._fault) from error
            return sample

    def write_joint_targets(self, positions: np.ndarray) -> None:
        """Set the target the servo loop streams from its next period on."""
        with self._lock:
            self._require_link()
            self._check()
            if self._fault is not None:
                raise ConnectionError(self._fault)
            self._target = np.array(positions, dtype=float)

    def hold(self) -> None:
        """servoStop: the robot decelerates and stays; the loop only kicks the watchdog until a new target."""
        with self._lock:
            self._require_link()
            self._target = None
            try:
                self._stop_servo()
            except RuntimeError as error:
                self._lose(str(error))
                raise ConnectionError(self._fault) from error

    # --- the servo loop -------------------------------------------------------------------

    def stream_period(self) -> None:
        """One RTDE period: servoJ to the target (or kick the watchdog), then wait out the period."""
        start = self._control.initPeriod()
        self._servo_once()
        self._control.waitPeriod(start)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.stream_period()
            except Exception:  # reported through status(); the loop keeps the period
                logger.exception('%s: servo period failed', self.name)

    def _servo_once(self) -> None:
        with self._lock:
            if not self._connected or self._fault is not None:
                return
            settings = self.settings
            try:
                if self._target is None:
                    self._control.kickWatchdog()
                    return
                accepted = self._control.servoJ(self._target.tolist(), 0.0, 0.0, settings.period,
                                                settings.lookahead_time, settings.gain)
                self._servoing = True
                if not accepted:
                    self._check()
                    if self._fault is None:
                        self._fail('servoJ refused: the RTDE control script is not running')
            except RuntimeError as error:
                self._lose(str(error))

    def _stop_servo(self) -> None:
        if self._servoing:
            self._control.servoStop(self.settings.stop_deceleration)
            self._servoing = False

    # --- faults ------------------------------------------------------------------------------

    def _safety_problem(self) -> Optional[str]:
        """Why the robot cannot move now (safety mode, robot mode), or None."""
        safety = int(self._receive.getSafetyMode())
        if safety not in MOVING_SAFETY_MODES:
            return f'safety mode {safety} ({SAFETY_MODES.get(safety, "unknown")})'
        mode = int(self._receive.getRobotMode())
        if mode != ROBOT_MODE_RUNNING:
            return f'robot mode {mode} ({ROBOT_MODES.get(mode, "unknown")}), not running'
        return None

    def _check(self) -> None:
        """Turn a lost link, a safety stop or a stopped control script into the latched fault."""
        if not (self._control.isConnected() and self._receive.isConnected()):
            self._lose('isConnected() is false')
            return
        if self._fault is not None:
            return
        try:
            problem = self._safety_problem()
            if problem is None and not self._control.isProgramRunning():
                problem = 'the RTDE control script stopped (RTDE watchdog or program stopped on the pendant)'
        except RuntimeError as error:
            self._lose(str(error))
            return
        if problem is not None:
            self._fail(problem)

    def _fail(self, problem: str) -> None:
        self._fault = f'{self.name}: {problem}; connect again once cleared'
        self._target, self._servoing = None, False
        logger.error('%s', self._fault)

    def _lose(self, reason: str) -> None:
        self._connected = False
        self._fault = f'{self.name}: RTDE link lost ({reason}); connect again to reconnect'
        self._target, self._servoing = None, False
        logger.error('%s', self._fault)

    def _require_link(self) -> None:
        if not self._connected:
            raise ConnectionError(self._fault or f'{self.name}: not connected; call connect() first')


class RobotiqGripper(GripperBackend):
    """A Robotiq 2F gripper through the Robotiq URCap's socket server on the UR controller.

    Raw positions run from ``open_position`` to ``closed_position`` (0..255);
    the width in metres is linear between them (calibrate the two ends).
    """

    def __init__(self, host: str, settings: RobotiqSettings, open_socket: Callable[..., Any]):
        self.host = host
        self.settings = settings
        self.max_width = settings.max_width
        self._open_socket = open_socket  # socket.create_connection((host, port), timeout)
        self._socket: Any = None
        self._fault: Optional[str] = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f'Robotiq gripper on {self.host}:{self.settings.port}'

    def connect(self) -> None:
        with self._lock:
            try:
                self._socket = self._open_socket((self.host, self.settings.port), self.settings.timeout)
                activated = self._get('STA') == 3  # gSTA 3: activation complete
            except OSError as error:
                self._socket = None
                raise ConnectionError(f'{self.name}: cannot connect ({error})') from error
            if not activated:
                self._close()
                raise ConnectionError(f'{self.name}: not activated; activate it from the Robotiq toolbar on the '
                                      f'teach pendant, then connect again')
            self._fault = None

    def disconnect(self) -> None:
        with self._lock:
            self._close()

    def status(self) -> DeviceStatus:
        with self._lock:
            if self._socket is not None:
                try:
                    fault = self._get('FLT')
                    self._fault = None if fault == 0 else f'{self.name}: gripper fault 0x{fault:02X} (gFLT)'
                except (OSError, ConnectionError):
                    pass  # _get recorded the lost link
            return DeviceStatus(connected=self._socket is not None, fault=self._fault,
                                details={'backend': 'robotiq_urcap', 'host': self.host})

    def read_width(self) -> float:
        with self._lock:
            return self._width(self._get('POS'))

    def write_width(self, width: float) -> None:
        s = self.settings
        fraction = min(max(width / s.max_width, 0.0), 1.0)
        position = round(s.closed_position - fraction * (s.closed_position - s.open_position))
        with self._lock:
            self._request(f'SET POS {position} SPE {s.speed} FOR {s.force} GTO 1', expect='ack')

    def _width(self, position: int) -> float:
        s = self.settings
        fraction = (s.closed_position - position) / (s.closed_position - s.open_position)
        return float(min(max(fraction, 0.0), 1.0) * s.max_width)

    def _get(self, variable: str) -> int:
        reply = self._request(f'GET {variable}')
        name, _, value = reply.partition(' ')
        if name != variable or not value.strip().lstrip('-').isdigit():
            raise ConnectionError(f'{self.name}: unexpected reply {reply!r} to GET {variable}')
        return int(value)

    def _request(self, command: str, expect: Optional[str] = None) -> str:
        if self._socket is None:
            raise ConnectionError(self._fault or f'{self.name}: not connected; call connect() first')
        try:
            self._socket.sendall(f'{command}\n'.encode())
            reply = self._socket.recv(1024).decode().strip()
        except OSError as error:
            self._close()
            self._fault = f'{self.name}: link lost ({error}); connect again to reconnect'
            raise ConnectionError(self._fault) from error
        if not reply:
            self._close()
            self._fault = f'{self.name}: link lost (the URCap closed the socket); connect again to reconnect'
            raise ConnectionError(self._fault)
        if expect is not None and reply != expect:
            raise ConnectionError(f'{self.name}: {command!r} answered {reply!r}, expected {expect!r}')
        return reply

    def _close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._socket = None


# --- settings helpers (shared with the xArm backend) ------------------------------------------------


def text(fields: Fields, key: str) -> str:
    value = fields.data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f'{fields.where}.{key}: expected a non-empty string (an IP address or host name), '
                          f'got {value!r}')
    return value


def within(fields: Fields, key: str, low: float, high: float) -> float:
    value = fields.number(key)
    if not low <= value <= high:
        raise ConfigError(f'{fields.where}.{key}: {value} is outside the documented range '
                          f'[{low:g}, {high:g}]')
    return value


def _byte(fields: Fields, key: str) -> int:
    value = fields.number(key)
    if value != int(value) or not 0 <= value <= 255:
        raise ConfigError(f'{fields.where}.{key}: expected an integer in 0..255, got {fields.data[key]!r}')
    return int(value)


def _port(fields: Fields, key: str) -> int:
    value = fields.data.get(key, ROBOTIQ_PORT)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ConfigError(f'{fields.where}.{key}: expected a TCP port number, got {value!r}')
    return value
