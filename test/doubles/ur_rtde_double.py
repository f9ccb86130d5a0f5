"""A test double of ur_rtde (rtde_control, rtde_receive) and of the Robotiq URCap socket, on a fake clock.

What it models, from ur_rtde's documentation (the installed 1.6.5 package's
docstrings and sdurobotics.gitlab.io/ur_rtde) and UR's RTDE guide:

- ``RTDEControlInterface(hostname, frequency=-1.0, ...)``: -1 means 500 Hz on e-Series;
  ``initPeriod()`` starts a period and ``waitPeriod(t)`` returns at ``t + 1/frequency``:
  here waiting advances the device's fake clock, which is how a test lets time pass.
- ``servoJ(q, speed, acceleration, time, lookahead_time, gain)``: lookahead_time must lie in
  [0.03, 0.2] and gain in [100, 2000] (ValueError, as pybind11 turns ur_rtde's
  std::range_error); False when the control script is not running. The joints follow the
  servo target with a first-order lag of lookahead_time, at most 180 deg/s (UR5e datasheet).
  ``servoStop(a)`` and ``stopJ(a)`` brake the joints at ``a`` (taken as rad/s^2).
- ``setWatchdog(min_frequency)``: the controller stops the control script (and the robot)
  when no input (a command or ``kickWatchdog()``) arrives for 1/min_frequency.
- ``getSafetyMode()``: 1 normal, 3 protective stop, 7 robot emergency stop; a protective or
  emergency stop stops the control script, which ``reuploadScript()`` restarts once cleared.
- Link loss: ``isConnected()`` turns False and every other call raises RuntimeError until
  ``reconnect()`` succeeds with the link back.
- Robotiq URCap socket (port 63352): ``GET VAR`` answers ``VAR n``, ``SET ...`` answers
  ``ack``; the fingers move from POS to the requested position at the SPE speed
  (20..150 mm/s over the 2F-85's 85 mm, 0..255 raw).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace
from typing import Optional

import numpy as np

MAX_JOINT_SPEED = math.pi  # rad/s, every UR5e joint
SUBSTEP = 0.001  # s, the double's integration step
MOTION_METHODS = ('servoJ', 'servoStop', 'stopJ', 'moveJ', 'speedJ', 'servoL', 'moveL')


@dataclass
class Call:
    time: float
    interface: str  # 'control', 'receive' or 'gripper'
    method: str
    args: tuple


@dataclass
class URDevice:
    """The robot and its controller: joints, safety state, control script, RTDE watchdog, link, gripper."""

    q: np.ndarray
    frequency: float = 500.0
    time: float = 0.0
    qd: np.ndarray = field(default_factory=lambda: np.zeros(6))
    calls: list[Call] = field(default_factory=list)
    link_up: bool = True
    link_epoch: int = 0  # a lost link drops every connection made before it
    safety_mode: int = 1
    robot_mode: int = 7
    program_running: bool = True
    servo_target: Optional[np.ndarray] = None
    lookahead: float = 0.1
    braking: Optional[float] = None  # rad/s^2 while stopping
    watchdog_period: Optional[float] = None
    last_input: float = 0.0
    # Robotiq gripper (raw 0 open .. 255 closed)
    gripper_activated: bool = True
    gripper_position: float = 0.0
    gripper_target: float = 0.0
    gripper_speed: float = 255.0
    gripper_fault: int = 0

    def advance(self, seconds: float) -> None:
        steps = max(1, round(seconds / SUBSTEP))
        for _ in range(steps):
            self._step(seconds / steps)

    def _step(self, dt: float) -> None:
        self.time += dt
        if (self.watchdog_period is not None and self.program_running
                and self.time - self.last_input > self.watchdog_period):
            self._stop_script(braking=10.0)
        if self.servo_target is not None:
            velocity = np.clip((self.servo_target - self.q) / self.lookahead, -MAX_JOINT_SPEED, MAX_JOINT_SPEED)
        elif self.braking is not None:
            slowed = np.maximum(np.abs(self.qd) - self.braking * dt, 0.0)
            velocity = np.sign(self.qd) * slowed
            if not np.any(slowed):
                self.braking = None
        else:
            velocity = np.zeros(6)
        self.q = self.q + velocity * dt
        self.qd = velocity
        speed_mm = 20.0 + 130.0 * self.gripper_speed / 255.0
        step = speed_mm * 255.0 / 85.0 * dt
        delta = self.gripper_target - self.gripper_position
        self.gripper_position += float(np.clip(delta, -step, step))

    def input(self) -> None:
        self.last_input = self.time

    def brake(self, deceleration: float) -> None:
        self.servo_target = None
        self.braking = deceleration

    def _stop_script(self, braking: float) -> None:
        self.program_running = False
        self.brake(braking)

    # --- what a test injects -----------------------------------------------------------

    def protective_stop(self) -> None:
        self.safety_mode = 3
        self._stop_script(braking=20.0)

    def emergency_stop(self) -> None:
        self.safety_mode = 7
        self.robot_mode = 3  # power off
        self._stop_script(braking=20.0)

    def clear_stop(self) -> None:
        self.safety_mode, self.robot_mode = 1, 7

    def lose_link(self) -> None:
        self.link_up = False
        self.link_epoch += 1

    def restore_link(self) -> None:
        self.link_up = True


class _Interface:
    """What both RTDE interfaces share: the link, reconnect and the call log."""

    kind = ''

    def __init__(self, device: URDevice, hostname: str, frequency: float):
        if not device.link_up:
            raise RuntimeError(f'ur_rtde: could not connect to {hostname}')
        self.device = device
        self.hostname = hostname
        self.frequency = device.frequency if frequency <= 0 else frequency
        self._connected = True
        self._epoch = device.link_epoch
        device.calls.append(Call(device.time, self.kind, '__init__', (hostname, frequency)))

    def _call(self, method: str, *args) -> None:
        self.device.calls.append(Call(self.device.time, self.kind, method, args))
        if not self.isConnected():
            self._connected = False
            raise RuntimeError(f'ur_rtde {self.kind}: {method}: the RTDE connection is lost')

    def isConnected(self) -> bool:
        return self._connected and self.device.link_up and self._epoch == self.device.link_epoch

    def reconnect(self) -> bool:
        self.device.calls.append(Call(self.device.time, self.kind, 'reconnect', ()))
        if not self.device.link_up:
            raise RuntimeError(f'ur_rtde {self.kind}: reconnect: could not connect to {self.hostname}')
        self._connected = True
        self._epoch = self.device.link_epoch
        return True

    def disconnect(self) -> None:
        self.device.calls.append(Call(self.device.time, self.kind, 'disconnect', ()))
        self._connected = False


class FakeRTDEControlInterface(_Interface):
    kind = 'control'

    def __init__(self, device: URDevice, hostname: str, frequency: float = -1.0, flags: int = 1,
                 ur_cap_port: int = 50002, rt_priority: int = 0):
        super().__init__(device, hostname, frequency)

    def initPeriod(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.device.time)

    def waitPeriod(self, t_cycle_start: datetime.timedelta) -> None:
        end = t_cycle_start.total_seconds() + 1.0 / self.frequency
        if end > self.device.time:
            self.device.advance(end - self.device.time)

    def servoJ(self, q, speed, acceleration, time, lookahead_time, gain) -> bool:
        self._call('servoJ', list(q), speed, acceleration, time, lookahead_time, gain)
        if not 0.03 <= lookahead_time <= 0.2:
            raise ValueError(f'lookahead_time {lookahead_time} is not within [0.03, 0.2]')
        if not 100 <= gain <= 2000:
            raise ValueError(f'gain {gain} is not within [100, 2000]')
        if len(q) != 6 or not all(math.isfinite(v) for v in q):
            raise ValueError(f'servoJ needs 6 finite joint positions, got {q}')
        if not self.device.program_running:
            return False
        self.device.input()
        self.device.servo_target = np.array(q, dtype=float)
        self.device.lookahead = lookahead_time
        self.device.braking = None
        return True

    def servoStop(self, a: float = 10.0) -> bool:
        self._call('servoStop', a)
        self.device.input()
        self.device.brake(a)
        return True

    def stopJ(self, a: float = 2.0, asynchronous: bool = False) -> None:
        self._call('stopJ', a, asynchronous)
        self.device.input()
        self.device.brake(a)

    def kickWatchdog(self) -> bool:
        self._call('kickWatchdog')
        self.device.input()
        return True

    def setWatchdog(self, min_frequency: float = 10.0) -> bool:
        self._call('setWatchdog', min_frequency)
        self.device.watchdog_period = 1.0 / min_frequency
        self.device.input()
        return True

    def isProgramRunning(self) -> bool:
        self._call('isProgramRunning')
        return self.device.program_running

    def reuploadScript(self) -> bool:
        self._call('reuploadScript')
        if self.device.safety_mode in (1, 2) and self.device.robot_mode == 7:
            self.device.program_running = True
            self.device.input()
        return True

    def stopScript(self) -> None:
        self._call('stopScript')
        self.device.program_running = False

    def getJointTorques(self) -> list[float]:
        self._call('getJointTorques')
        return [0.0] * 6


class FakeRTDEReceiveInterface(_Interface):
    kind = 'receive'

    def __init__(self, device: URDevice, hostname: str, frequency: float = -1.0, variables: list = (),
                 verbose: bool = False, use_upper_range_registers: bool = False, rt_priority: int = 0):
        super().__init__(device, hostname, frequency)

    def getActualQ(self) -> list[float]:
        self._call('getActualQ')
        return self.device.q.tolist()

    def getActualQd(self) -> list[float]:
        self._call('getActualQd')
        return self.device.qd.tolist()

    def getTimestamp(self) -> float:
        self._call('getTimestamp')
        return self.device.time

    def getSafetyMode(self) -> int:
        self._call('getSafetyMode')
        return self.device.safety_mode

    def getRobotMode(self) -> int:
        self._call('getRobotMode')
        return self.device.robot_mode

    def isProtectiveStopped(self) -> bool:
        self._call('isProtectiveStopped')
        return self.device.safety_mode == 3

    def isEmergencyStopped(self) -> bool:
        self._call('isEmergencyStopped')
        return self.device.safety_mode in (6, 7)


class FakeURCapSocket:
    """The Robotiq URCap's ASCII socket server, one request and one reply at a time."""

    def __init__(self, device: URDevice):
        self.device = device
        self._replies: list[bytes] = []
        self.closed = False

    def sendall(self, data: bytes) -> None:
        if not self.device.link_up:
            raise ConnectionResetError('Connection reset by peer')
        command = data.decode().strip()
        self.device.calls.append(Call(self.device.time, 'gripper', command.split(' ')[0], (command,)))
        self._replies.append(self._answer(command).encode())

    def recv(self, size: int) -> bytes:
        if not self.device.link_up:
            raise ConnectionResetError('Connection reset by peer')
        return self._replies.pop(0)[:size]

    def close(self) -> None:
        self.closed = True

    def _answer(self, command: str) -> str:
        verb, *words = command.split()
        device = self.device
        if verb == 'GET' and len(words) == 1:
            values = {'POS': round(device.gripper_position), 'STA': 3 if device.gripper_activated else 0,
                      'ACT': int(device.gripper_activated), 'FLT': device.gripper_fault,
                      'PRE': round(device.gripper_target)}
            return f'{words[0]} {values[words[0]]}' if words[0] in values else '?'
        if verb == 'SET' and len(words) % 2 == 0:
            pairs = dict(zip(words[::2], (int(value) for value in words[1::2]), strict=True))
            if 'SPE' in pairs:
                device.gripper_speed = pairs['SPE']
            if pairs.get('GTO') == 1 and 'POS' in pairs and device.gripper_activated:
                device.gripper_target = min(max(pairs['POS'], 0), 255)
            return 'ack'
        return '?'


class URRTDEDouble:
    """The two SDK modules and the gripper socket factory, all bound to one `URDevice`."""

    def __init__(self, q0, frequency: float = 500.0):
        self.device = URDevice(np.array(q0, dtype=float), frequency)
        self.controls: list[FakeRTDEControlInterface] = []  # every control interface the backend opened
        self.receives: list[FakeRTDEReceiveInterface] = []
        self.rtde_control = SimpleNamespace(RTDEControlInterface=partial(self._open, FakeRTDEControlInterface,
                                                                         self.controls))
        self.rtde_receive = SimpleNamespace(RTDEReceiveInterface=partial(self._open, FakeRTDEReceiveInterface,
                                                                         self.receives))

    def _open(self, kind, opened: list, *args, **kwargs):
        interface = kind(self.device, *args, **kwargs)
        opened.append(interface)
        return interface

    def open_socket(self, address: tuple[str, int], timeout: float) -> FakeURCapSocket:
        """socket.create_connection's signature, to the URCap server."""
        self.device.calls.append(Call(self.device.time, 'gripper', 'connect', (address, timeout)))
        if not self.device.link_up:
            raise ConnectionRefusedError(f'cannot reach {address}')
        return FakeURCapSocket(self.device)

    def clock(self) -> float:
        return self.device.time

    def motion_calls(self) -> list[Call]:
        """Every call that moves the arm or the gripper."""
        return [call for call in self.device.calls
                if call.method in MOTION_METHODS or (call.interface == 'gripper' and call.method == 'SET')]

    def calls(self, method: str) -> list[Call]:
        return [call for call in self.device.calls if call.method == method]
