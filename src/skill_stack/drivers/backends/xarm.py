"""UFACTORY xArm 6 through xarm-python-sdk (``xarm.wrapper.XArmAPI``) in servo mode, with the xArm Gripper.

Servo mode as UFACTORY documents it: ``motion_enable(True)``, ``set_mode(1)``,
``set_state(0)``, then ``set_servo_angle_j(angles, is_radian=True)`` for each
set-point; the controller executes only the latest one, so the driver's
rate-limited stream (every control tick) is the motion. The SDK is opened with
``is_radian=True`` and every call passes ``is_radian=True`` as well, so angles
never silently become degrees. ``hold`` is ``set_state(4)`` (stop); the next
write re-enters servo mode.

Every SDK call returns a code (0 is success; -1 not connected, 1 an uncleared
controller error, 9 not ready: xarm_api_code.md). The controller's error code
(``get_err_warn_code``, the error/warn callback) becomes the fault with its
meaning from UFACTORY's table; a closed connection (the connect-changed
callback, code -1, ``connected`` false) makes reads and writes raise
ConnectionError, and ``connect()`` reconnects, clearing a controller error
that has gone (a pressed e-stop stays refused).

The xArm Gripper takes positions in pulses (0 closed .. about 850 open); the
width in metres is linear in them (``max_width`` at ``open_pulse``). A Lite 6's
gripper is open/close only and needs its own kinematic model; neither is
provided here (see docs/real_robot_arms.md).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.backends.ur_rtde import text, within
from skill_stack.drivers.config import ArmConfig, BackendSpec, ConfigError
from skill_stack.drivers.interfaces import DeviceStatus, GripperBackend, JointBackend, JointStateSample
from skill_stack.drivers.safety import Clock

logger = logging.getLogger(__name__)

XARM6_JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6')
# API return codes (xarm/x3/code.py, xarm_api_code.md).
OK, NOT_CONNECTED, HAS_ERROR, STATE_NOT_READY = 0, -1, 1, 9
SERVO_MODE, READY_STATE, STOP_STATE = 1, 0, 4
# The controller errors this backend names (UFACTORY's controller error code table); others show their number.
CONTROLLER_ERRORS = {
    1: 'the emergency stop button on the control box is pressed',
    2: 'the emergency IO of the control box is triggered',
    3: 'the emergency stop of the three-state switch is pressed',
    10: 'servo motor error', 21: 'kinematic error', 22: 'self-collision', 23: 'a joint angle exceeds its limit',
    24: 'speed exceeds its limit', 31: 'collision (abnormal current)', 35: 'safety boundary limit',
    38: 'abnormal joint angle', 60: 'linear speed exceeded the limit in servo_j mode',
}
GRIPPER_SPEED_RANGE = (1000.0, 5000.0)  # r/min, set_gripper_speed


@dataclass(frozen=True)
class XArmGripperSettings:
    max_width: float  # m at open_pulse
    open_pulse: float  # position reading fully open (about 850)
    speed: float  # r/min


@dataclass(frozen=True)
class XArmSettings:
    host: str
    gripper: XArmGripperSettings


def parse_settings(spec: BackendSpec) -> XArmSettings:
    fields = spec.fields()
    fields.allow('host', 'gripper')
    gripper = fields.section('gripper')
    gripper.allow('type', 'max_width', 'open_pulse', 'speed')
    if gripper.data.get('type') != 'xarm_gripper':
        raise ConfigError(f"{gripper.where}.type: expected 'xarm_gripper' (the xArm Gripper), got "
                          f"{gripper.data.get('type')!r}")
    return XArmSettings(host=text(fields, 'host'), gripper=XArmGripperSettings(
        max_width=gripper.positive('max_width'), open_pulse=gripper.positive('open_pulse'),
        speed=within(gripper, 'speed', *GRIPPER_SPEED_RANGE)))


def from_config(spec: BackendSpec, config: ArmConfig) -> tuple[XArmJointBackend, XArmGripper]:
    """The arm's joints and its gripper over one XArmAPI connection; the SDK is imported here."""
    settings = parse_settings(spec)
    sdk = require_sdk('xarm.wrapper', 'xarm-python-sdk')
    link = XArmLink(settings.host, sdk.XArmAPI)
    return XArmJointBackend(link, time.monotonic), XArmGripper(link, settings.gripper)


def error_meaning(code: int) -> str:
    return CONTROLLER_ERRORS.get(code, "see UFACTORY's controller error code table")


class XArmLink:
    """One XArmAPI connection shared by the joints and the gripper, with the faults its callbacks report."""

    def __init__(self, host: str, api_class: Any):
        self.host = host
        self._api_class = api_class
        self.api: Any = None
        self.lock = threading.RLock()
        self.connected = False
        self.fault: Optional[str] = None

    @property
    def name(self) -> str:
        return f'xArm at {self.host}'

    def connect(self) -> None:
        """Open the connection, clear a controller error that is gone, and enter servo mode."""
        with self.lock:
            if self.api is None:
                self.api = self._api_class(self.host, is_radian=True, do_not_open=True)
                self.api.register_connect_changed_callback(self._on_connect_changed)
                self.api.register_error_warn_changed_callback(self._on_error_warn)
            try:
                self.api.connect()
            except Exception as error:  # the SDK raises a bare Exception when the socket cannot open
                raise ConnectionError(f'{self.name}: cannot connect ({error})') from error
            if not self.api.connected:
                raise ConnectionError(f'{self.name}: cannot connect (the SDK reports not connected)')
            code, (error, _) = self.api.get_err_warn_code()
            if code == OK and error:
                self.api.clean_error()
                code, (error, _) = self.api.get_err_warn_code()
            if code != OK or error:
                raise ConnectionError(f'{self.name}: controller error {error} ({error_meaning(error)}) '
                                      f'does not clear (code {code}); resolve it, then connect again')
            self.api.clean_warn()
            self.connected, self.fault = True, None
            self.enter_servo_mode()

    def enter_servo_mode(self) -> None:
        for call, args in (('motion_enable', (True,)), ('set_mode', (SERVO_MODE,)), ('set_state', (READY_STATE,))):
            code = getattr(self.api, call)(*args)
            if code != OK:
                raise ConnectionError(f'{self.name}: {call}{args} returned code {code}')

    def disconnect(self) -> None:
        with self.lock:
            if self.api is not None and self.connected:
                self.api.set_state(STOP_STATE)
                self.api.disconnect()
            self.connected = False

    def check(self, code: int, call: str) -> None:
        """Latch the fault a non-zero return code means, and raise ConnectionError with it."""
        if code == OK:
            return
        if code == NOT_CONNECTED or not self.api.connected:
            self.lose(f'{call} returned code {code}')
        elif code == HAS_ERROR:
            self.fail(self.controller_error() or f'{call}: the controller reports an error')
        elif code == STATE_NOT_READY:
            self.fail(f'{call}: the arm is not ready to move (state {self.api.state})')
        else:
            self.fail(f'{call} returned code {code}')
        raise ConnectionError(self.fault)

    def controller_error(self) -> Optional[str]:
        error = self.api.error_code
        return f'controller error {error}: {error_meaning(error)}' if error else None

    def require(self) -> None:
        if not self.connected:
            raise ConnectionError(self.fault or f'{self.name}: not connected; call connect() first')
        if self.fault is not None:
            raise ConnectionError(self.fault)

    def fail(self, problem: str) -> None:
        self.fault = f'{self.name}: {problem}; connect again once resolved'
        logger.error('%s', self.fault)

    def lose(self, reason: str) -> None:
        self.connected = False
        self.fault = f'{self.name}: connection lost ({reason}); connect again to reconnect'
        logger.error('%s', self.fault)

    def _on_connect_changed(self, data: dict) -> None:
        if not data.get('connected', False):
            with self.lock:
                if self.connected:
                    self.lose('the controller closed the connection')

    def _on_error_warn(self, data: dict) -> None:
        error = data.get('error_code', 0)
        if error:
            with self.lock:
                if self.connected and self.fault is None:
                    self.fail(f'controller error {error}: {error_meaning(error)}')


class XArmJointBackend(JointBackend):
    """The arm's joints in servo mode; angles in radians both ways."""

    def __init__(self, link: XArmLink, clock: Clock, joint_names: tuple[str, ...] = XARM6_JOINTS):
        self.link = link
        self.clock = clock
        self.joint_names = joint_names
        self._stopped = False  # set_state(4) since the last set-point: servo mode must be re-entered

    def connect(self) -> None:
        self.link.connect()
        self._stopped = False

    def disconnect(self) -> None:
        self.link.disconnect()

    def status(self) -> DeviceStatus:
        link = self.link
        with link.lock:
            if link.connected:
                if not link.api.connected:
                    link.lose('the SDK reports not connected')
                elif link.fault is None and link.controller_error():
                    link.fail(link.controller_error())
            return DeviceStatus(connected=link.connected, fault=link.fault,
                                details={'backend': 'xarm', 'host': link.host, 'stopped': self._stopped})

    def read(self) -> JointStateSample:
        link = self.link
        with link.lock:
            if not link.connected:
                link.require()
            code, states = link.api.get_joint_states(is_radian=True)
            if code != OK:
                link.check(code, 'get_joint_states')
            n = len(self.joint_names)
            positions, velocities, efforts = (np.array(values[:n], dtype=float) for values in states)
            return JointStateSample(positions, velocities, efforts, self.clock())

    def write_joint_targets(self, positions: np.ndarray) -> None:
        link = self.link
        with link.lock:
            link.require()
            if self._stopped:
                link.enter_servo_mode()
                self._stopped = False
            code = link.api.set_servo_angle_j([float(v) for v in positions], is_radian=True)
            link.check(code, 'set_servo_angle_j')

    def hold(self) -> None:
        """set_state(4): the arm brakes to a stop and drops its last servo target."""
        link = self.link
        with link.lock:
            if not link.connected:
                link.require()
            link.check(link.api.set_state(STOP_STATE), 'set_state(4)')
            self._stopped = True


class XArmGripper(GripperBackend):
    """The xArm Gripper in position mode, on the arm's connection."""

    def __init__(self, link: XArmLink, settings: XArmGripperSettings):
        self.link = link
        self.settings = settings
        self.max_width = settings.max_width

    def connect(self) -> None:
        """Position mode, enabled, at the configured speed; the arm's connect() opens the link first."""
        link = self.link
        with link.lock:
            link.require()
            for call, args in (('set_gripper_mode', (0,)), ('set_gripper_enable', (True,)),
                               ('set_gripper_speed', (self.settings.speed,))):
                code = getattr(link.api, call)(*args)
                if code != OK:
                    raise ConnectionError(f'{link.name} gripper: {call}{args} returned code {code} '
                                          f'(gripper error {self._error()})')

    def disconnect(self) -> None:
        """The arm's disconnect() closes the shared link."""

    def status(self) -> DeviceStatus:
        link = self.link
        with link.lock:
            error = self._error() if link.connected else 0
            fault = f'{link.name} gripper: gripper error {error}' if error else None
            return DeviceStatus(connected=link.connected, fault=fault, details={'backend': 'xarm_gripper'})

    def read_width(self) -> float:
        link = self.link
        with link.lock:
            link.require()
            code, pulses = link.api.get_gripper_position()
            link.check(code, 'get_gripper_position')
            fraction = min(max(float(pulses) / self.settings.open_pulse, 0.0), 1.0)
            return fraction * self.settings.max_width

    def write_width(self, width: float) -> None:
        link = self.link
        pulses = min(max(width / self.settings.max_width, 0.0), 1.0) * self.settings.open_pulse
        with link.lock:
            link.require()
            code = link.api.set_gripper_position(pulses, wait=False, speed=self.settings.speed)
            link.check(code, 'set_gripper_position')

    def _error(self) -> int:
        code, error = self.link.api.get_gripper_err_code()
        return int(error) if code == OK else 0
