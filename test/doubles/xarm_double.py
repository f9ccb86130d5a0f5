"""A test double of xarm-python-sdk's XArmAPI (an xArm 6 with the xArm Gripper), on a fake clock.

What it models, from the SDK's docstrings (xarm/wrapper/xarm_api.py, 1.18.4),
xarm_api_code.md and the xArm 6 datasheet:

- ``XArmAPI(port, is_radian=False, do_not_open=False)``: angles are degrees unless
  ``is_radian`` (per call, defaulting to the constructor's); ``connect()`` raises a bare
  Exception when the controller cannot be reached.
- Return codes: 0 success, -1 not connected, -8 a servo angle outside the joint range
  (the SDK's check_joint_limit), 1 an uncleared controller error (motion commands),
  9 not ready (a motion command after ``set_state(4)``). Queries answer ``(code, value)``.
- Servo mode: ``set_servo_angle_j`` moves only in mode 1 and a ready state; the controller
  executes only the latest target. The joints follow it with a short lag (20 ms, a modelling
  assumption) at most 180 deg/s; ``set_state(4)`` brakes them to a stop.
- Controller errors (``inject_error``): the state goes to 4 and the arm brakes, the
  error/warn callback fires and ``get_err_warn_code`` reports it; ``clean_error()`` clears
  it unless an e-stop (errors 1-3) is still pressed.
- Link loss: ``connected`` turns False, the connect-changed callback fires, every call
  answers -1 until ``connect()`` succeeds with the link back.
- xArm Gripper: positions in pulses (0 closed .. 850 open), moving at a speed proportional
  to ``set_gripper_speed`` (full stroke in about 0.6 s at 5000 r/min, a modelling assumption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

MAX_JOINT_SPEED = math.pi  # rad/s, xArm 6 datasheet: 180 deg/s
SERVO_LAG = 0.02  # s
SUBSTEP = 0.001  # s
# xArm 6 joint ranges (datasheet), radians
JOINT_RANGES = np.radians([[-360, 360], [-118, 120], [-225, 11], [-360, 360], [-97, 180], [-360, 360]])
GRIPPER_OPEN = 850.0
PULSES_PER_RPM_SECOND = 850.0 / 0.6 / 5000.0
MOTION_METHODS = ('set_servo_angle_j', 'set_servo_angle', 'set_position', 'set_gripper_position',
                  'vc_set_joint_velocity')
NOT_CONNECTED, HAS_ERROR, STATE_NOT_READY, OUT_OF_RANGE = -1, 1, 9, -8


@dataclass
class Call:
    time: float
    method: str
    args: tuple
    kwargs: dict


@dataclass
class XArmDevice:
    q: np.ndarray
    time: float = 0.0
    qd: np.ndarray = field(default_factory=lambda: np.zeros(6))
    calls: list[Call] = field(default_factory=list)
    link_up: bool = True
    mode: int = 0
    state: int = 4  # stopped until set_state(0)
    motion_enabled: bool = False
    error_code: int = 0
    warn_code: int = 0
    estop_pressed: bool = False
    servo_target: Optional[np.ndarray] = None
    braking: bool = False
    gripper_position: float = GRIPPER_OPEN
    gripper_target: float = GRIPPER_OPEN
    gripper_speed: float = 1500.0
    gripper_enabled: bool = False
    gripper_error: int = 0

    def advance(self, seconds: float) -> None:
        steps = max(1, round(seconds / SUBSTEP))
        for _ in range(steps):
            self._step(seconds / steps)

    def _step(self, dt: float) -> None:
        self.time += dt
        if self.servo_target is not None and self.state != 4:
            velocity = np.clip((self.servo_target - self.q) / SERVO_LAG, -MAX_JOINT_SPEED, MAX_JOINT_SPEED)
        elif self.braking:
            slowed = np.maximum(np.abs(self.qd) - 20.0 * dt, 0.0)  # rad/s^2
            velocity = np.sign(self.qd) * slowed
        else:
            velocity = np.zeros(6)
        self.q = self.q + velocity * dt
        self.qd = velocity
        if self.gripper_enabled:
            step = self.gripper_speed * PULSES_PER_RPM_SECOND * dt
            self.gripper_position += float(np.clip(self.gripper_target - self.gripper_position, -step, step))

    def stop(self) -> None:
        self.state = 4
        self.servo_target = None
        self.braking = True


class FakeXArmAPI:
    """XArmAPI's surface that the backend uses, bound to one `XArmDevice`."""

    def __init__(self, device: XArmDevice, port=None, is_radian=False, do_not_open=False, **kwargs):
        self.device = device
        self.port = port
        self._default_is_radian = is_radian
        self._open = False
        self._connect_callbacks: list[Callable] = []
        self._error_callbacks: list[Callable] = []
        self._state_callbacks: list[Callable] = []
        self._record('__init__', (port,), {'is_radian': is_radian, 'do_not_open': do_not_open})
        if not do_not_open:
            self.connect()

    # --- properties --------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._open and self.device.link_up

    @property
    def default_is_radian(self) -> bool:
        return self._default_is_radian

    @property
    def error_code(self) -> int:
        return self.device.error_code

    @property
    def warn_code(self) -> int:
        return self.device.warn_code

    @property
    def state(self) -> int:
        return self.device.state

    @property
    def mode(self) -> int:
        return self.device.mode

    # --- connection ------------------------------------------------------------------

    def connect(self, port=None, baudrate=None, timeout=None, axis=None, **kwargs):
        self._record('connect', (), {})
        if not self.device.link_up:
            raise Exception(f'can not connect to port/ip {self.port}')
        self._open = True
        for callback in self._connect_callbacks:
            callback({'connected': True, 'reported': True})

    def disconnect(self):
        self._record('disconnect', (), {})
        self._open = False

    def register_connect_changed_callback(self, callback=None):
        self._connect_callbacks.append(callback)
        return True

    def register_error_warn_changed_callback(self, callback=None):
        self._error_callbacks.append(callback)
        return True

    def register_state_changed_callback(self, callback=None):
        self._state_callbacks.append(callback)
        return True

    # --- state and errors ------------------------------------------------------------------

    def motion_enable(self, enable=True, servo_id=None):
        if not self._recorded('motion_enable', enable):
            return NOT_CONNECTED
        self.device.motion_enabled = bool(enable)
        return 0

    def set_mode(self, mode=0, detection_param=0):
        if not self._recorded('set_mode', mode):
            return NOT_CONNECTED
        self.device.mode = mode
        return 0

    def set_state(self, state=0):
        if not self._recorded('set_state', state):
            return NOT_CONNECTED
        device = self.device
        if state == 4:
            device.stop()
        elif state == 0 and device.motion_enabled and not device.error_code:
            device.state, device.braking = 2, False
        for callback in self._state_callbacks:
            callback({'state': device.state})
        return 0

    def get_state(self):
        return (0, self.device.state) if self._recorded('get_state') else (NOT_CONNECTED, None)

    def get_err_warn_code(self, show=False, lang='en'):
        if not self._recorded('get_err_warn_code'):
            return NOT_CONNECTED, [0, 0]
        return 0, [self.device.error_code, self.device.warn_code]

    def clean_error(self):
        if not self._recorded('clean_error'):
            return NOT_CONNECTED
        if not self.device.estop_pressed:
            self.device.error_code = 0
        return 0

    def clean_warn(self):
        if not self._recorded('clean_warn'):
            return NOT_CONNECTED
        self.device.warn_code = 0
        return 0

    # --- motion ------------------------------------------------------------------------------

    def set_servo_angle_j(self, angles, speed=None, mvacc=None, mvtime=None, is_radian=None, **kwargs):
        if not self._recorded('set_servo_angle_j', list(angles), is_radian=is_radian):
            return NOT_CONNECTED
        radians = np.array(angles[:6], dtype=float) if self._radian(is_radian) else np.radians(angles[:6])
        if np.any(radians < JOINT_RANGES[:, 0]) or np.any(radians > JOINT_RANGES[:, 1]):
            return OUT_OF_RANGE
        device = self.device
        if device.error_code:
            return HAS_ERROR
        if device.state == 4:
            return STATE_NOT_READY
        if device.mode == 1:  # in another mode the controller ignores servo targets
            device.servo_target = radians
            device.state = 1
        return 0

    def get_joint_states(self, is_radian=None, num=3):
        if not self._recorded('get_joint_states'):
            return NOT_CONNECTED, [[0.0] * 7, [0.0] * 7, [0.0] * 7]
        scale = 1.0 if self._radian(is_radian) else 180.0 / math.pi
        device = self.device
        return 0, [[*(device.q * scale), 0.0], [*(device.qd * scale), 0.0], [0.0] * 7]

    def get_servo_angle(self, servo_id=None, is_radian=None, is_real=False):
        if not self._recorded('get_servo_angle'):
            return NOT_CONNECTED, [0.0] * 7
        scale = 1.0 if self._radian(is_radian) else 180.0 / math.pi
        return 0, [*(self.device.q * scale), 0.0]

    # --- gripper -------------------------------------------------------------------------------

    def set_gripper_mode(self, mode, **kwargs):
        return 0 if self._recorded('set_gripper_mode', mode) else NOT_CONNECTED

    def set_gripper_enable(self, enable, **kwargs):
        if not self._recorded('set_gripper_enable', enable):
            return NOT_CONNECTED
        self.device.gripper_enabled = bool(enable)
        return 0

    def set_gripper_speed(self, speed, **kwargs):
        if not self._recorded('set_gripper_speed', speed):
            return NOT_CONNECTED
        self.device.gripper_speed = float(speed)
        return 0

    def set_gripper_position(self, pos, wait=False, speed=None, auto_enable=False, timeout=None, **kwargs):
        if not self._recorded('set_gripper_position', pos, wait=wait, speed=speed):
            return NOT_CONNECTED
        device = self.device
        if speed is not None:
            device.gripper_speed = float(speed)
        device.gripper_target = float(min(max(pos, -10.0), GRIPPER_OPEN))
        return 0

    def get_gripper_position(self, **kwargs):
        if not self._recorded('get_gripper_position'):
            return NOT_CONNECTED, None
        return 0, self.device.gripper_position

    def get_gripper_err_code(self, **kwargs):
        if not self._recorded('get_gripper_err_code'):
            return NOT_CONNECTED, 0
        return 0, self.device.gripper_error

    # --- helpers ------------------------------------------------------------------------------------

    def _radian(self, is_radian) -> bool:
        return self._default_is_radian if is_radian is None else bool(is_radian)

    def _record(self, method: str, args: tuple, kwargs: dict) -> None:
        self.device.calls.append(Call(self.device.time, method, args, kwargs))

    def _recorded(self, method: str, *args, **kwargs) -> bool:
        """Log the call; False when it cannot reach the controller (the SDK's -1)."""
        self._record(method, args, kwargs)
        return self.connected

    # --- what a test injects -----------------------------------------------------------------------

    def inject_error(self, code: int, estop: bool = False) -> None:
        self.device.error_code = code
        self.device.estop_pressed = estop
        self.device.stop()
        for callback in self._error_callbacks:
            callback({'error_code': code, 'warn_code': self.device.warn_code})

    def lose_link(self) -> None:
        self.device.link_up = False
        self._open = False
        for callback in self._connect_callbacks:
            callback({'connected': False, 'reported': False})


class XArmDouble:
    """An `XArmAPI` stand-in class (what the backend instantiates) and the device behind it."""

    def __init__(self, q0):
        self.device = XArmDevice(np.array(q0, dtype=float))
        self.instances: list[FakeXArmAPI] = []

    def XArmAPI(self, port=None, is_radian=False, do_not_open=False, **kwargs) -> FakeXArmAPI:
        api = FakeXArmAPI(self.device, port, is_radian=is_radian, do_not_open=do_not_open, **kwargs)
        self.instances.append(api)
        return api

    @property
    def api(self) -> FakeXArmAPI:
        return self.instances[-1]

    def clock(self) -> float:
        return self.device.time

    def restore_link(self) -> None:
        self.device.link_up = True

    def motion_calls(self) -> list[Call]:
        return [call for call in self.device.calls if call.method in MOTION_METHODS]

    def calls(self, method: str) -> list[Call]:
        return [call for call in self.device.calls if call.method == method]
