"""LEAP hand: 16 Dynamixel XC330-M288-T motors on one U2D2 bus, through dynamixel-sdk (protocol 2.0).

As LEAP Hand's own API does (leap-hand/LEAP_Hand_API, python/main.py),
connect() puts every motor in current-based position control (Operating Mode
5), writes the position PID gains and caps the current with Goal Current, so
a finger that meets an object or the other fingers presses with a bounded
force instead of overheating. Set-points go out as one GroupSyncWrite of Goal
Position, at most ``write_rate`` times a second; state comes back as one
GroupSyncRead of Present Current, Velocity and Position (addresses 126-135).

Units (XC330-M288-T e-manual): position 4096 pulses per turn, velocity 0.229
rev/min, current 1 mA. Joint angles follow LEAP's convention, where pulse
2048 (motor angle pi) is a joint's zero: joint = direction * (pulses - 2048)
* 2 pi / 4096 + offset, with ``direction`` and ``offset`` per joint from the
config (calibration). Efforts are the motor currents in amperes, signed like
the joint: the XC330's torque per ampere is not documented well enough to
convert.

Faults: a transfer that raises (the U2D2 unplugged), a sync write that cannot
be transmitted or a sync read that fails twice running (motors unpowered, a
cable off) loses the link: status() says so, every call raises
ConnectionError, and connect() opens the port afresh. A motor that shuts
itself down (Hardware Error Status: overload, overheating, electrical shock,
...) keeps the link but is a fault in status() until the hand is power-cycled.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.config import BackendSpec, ConfigError, Fields, HandConfig
from skill_stack.drivers.interfaces import DeviceStatus, JointBackend, JointStateSample
from skill_stack.drivers.safety import Clock

PROTOCOL = 2.0
# XC330-M288-T control table: (address, size in bytes)
OPERATING_MODE = (11, 1)
TORQUE_ENABLE = (64, 1)
HARDWARE_ERROR_STATUS = (70, 1)
POSITION_D_GAIN = (80, 2)
POSITION_I_GAIN = (82, 2)
POSITION_P_GAIN = (84, 2)
GOAL_CURRENT = (102, 2)
GOAL_POSITION = (116, 4)
PRESENT_CURRENT = (126, 2)
PRESENT_VELOCITY = (128, 4)
PRESENT_POSITION = (132, 4)
STATE_BLOCK = (126, 10)  # present current, velocity and position in one sync read
CURRENT_BASED_POSITION = 5
ALERT = 0x80  # status packet error byte: the motor has a hardware error (protocol 2.0)

PULSES_PER_REV = 4096
ZERO_PULSES = 2048  # LEAP's zero: the motor at pi
RAD_PER_PULSE = 2.0 * math.pi / PULSES_PER_REV
RAD_S_PER_VELOCITY_UNIT = 0.229 * 2.0 * math.pi / 60.0  # 0.229 rev/min
AMPERE_PER_CURRENT_UNIT = 0.001  # 1 mA
MAX_CURRENT = 2352  # mA, Current Limit(38) range of the XC330-M288-T
MAX_GAIN = 16383  # position P, I, D gain range
BAUDRATES = (57600, 115200, 1000000, 2000000, 3000000, 4000000)  # Baud Rate(8) settings the SDK can open
HARDWARE_ERRORS = {0: 'input voltage', 2: 'overheating', 3: 'motor encoder', 4: 'electrical shock', 5: 'overload'}
CLOCK_SLACK = 1e-6  # s: a call exactly one period after the last write is not early however the clock rounds


@dataclass(frozen=True)
class Gains:
    """Position PID gains in the motor's own units (Position P/I/D Gain, 0..16383)."""

    p: int
    i: int
    d: int

    @classmethod
    def from_fields(cls, fields: Fields) -> Gains:
        fields.allow('p', 'i', 'd')
        return cls(*(_integer(fields, key, 0, MAX_GAIN) for key in ('p', 'i', 'd')))


@dataclass(frozen=True)
class Motor:
    """One joint's motor: its bus id and the calibration from pulses to the joint angle."""

    joint: str
    id: int
    direction: int  # +1 or -1: the joint turns with or against the motor
    offset: float  # rad: the joint angle at pulse 2048
    gains: Gains

    def to_pulses(self, angle: float) -> int:
        return ZERO_PULSES + round(self.direction * (angle - self.offset) / RAD_PER_PULSE)

    def to_radians(self, pulses: int) -> float:
        return self.direction * (pulses - ZERO_PULSES) * RAD_PER_PULSE + self.offset


@dataclass(frozen=True)
class LeapSettings:
    """The ``backend`` section of config/robots/leap_hand.yaml."""

    port: str  # the U2D2's serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...
    baudrate: int  # what the motors are set to; LEAP uses 4 Mbit/s
    write_rate: float  # Hz: most Goal Position sync writes per second
    current_limit: int  # mA: Goal Current, the cap of current-based position control
    error_poll_period: float  # s: most often status() reads Hardware Error Status from the bus
    motors: tuple[Motor, ...]  # in the hand config's joint order

    @classmethod
    def from_fields(cls, fields: Fields, joints: tuple[str, ...]) -> LeapSettings:
        fields.allow('port', 'baudrate', 'write_rate', 'current_limit', 'error_poll_period', 'gains', 'motors')
        port = fields.data.get('port')
        if not isinstance(port, str) or not port:
            raise ConfigError(f'{fields.where}.port: expected the U2D2 serial device, e.g. /dev/ttyUSB0, '
                              f'got {port!r}')
        baudrate = fields.data.get('baudrate')
        if baudrate not in BAUDRATES or isinstance(baudrate, bool):
            raise ConfigError(f'{fields.where}.baudrate: expected one of {list(BAUDRATES)} (the motors\' Baud '
                              f'Rate setting; LEAP uses 4000000), got {baudrate!r}')
        gains = Gains.from_fields(fields.section('gains'))
        motors_section = fields.section('motors')
        missing = [joint for joint in joints if joint not in motors_section.data]
        if missing:
            raise ConfigError(f'{motors_section.where}: no motor for the joints {missing}')
        motors = []
        for joint in joints:
            entry = motors_section.section(joint)
            entry.allow('id', 'direction', 'offset', 'gains')
            direction = entry.data.get('direction', 1)
            if direction not in (1, -1) or isinstance(direction, bool):
                raise ConfigError(f'{entry.where}.direction: expected 1 or -1, got {direction!r}')
            motors.append(Motor(joint=joint, id=_integer(entry, 'id', 0, 252), direction=direction,
                                offset=entry.number('offset') if 'offset' in entry.data else 0.0,
                                gains=Gains.from_fields(entry.section('gains')) if 'gains' in entry.data
                                else gains))
        motors_section.allow(*joints)
        ids = [motor.id for motor in motors]
        for motor in motors:
            if ids.count(motor.id) > 1:
                raise ConfigError(f'{motors_section.where}.{motor.joint}.id: motor id {motor.id} is used by '
                                  f'more than one joint')
        return cls(port=port, baudrate=baudrate, write_rate=fields.positive('write_rate'),
                   current_limit=_integer(fields, 'current_limit', 1, MAX_CURRENT),
                   error_poll_period=fields.positive('error_poll_period'), motors=tuple(motors))


def _integer(fields: Fields, key: str, low: int, high: int) -> int:
    value = fields.data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f'{fields.where}.{key}: expected an integer in [{low}, {high}], got {value!r}')
    return value


def from_config(spec: BackendSpec, config: HandConfig) -> LeapHandBackend:
    settings = LeapSettings.from_fields(spec.fields(), config.joint_names)
    return LeapHandBackend(settings, require_sdk('dynamixel_sdk', 'dynamixel-sdk'), time.monotonic)


class LeapHandBackend(JointBackend):
    """The LEAP hand's finger joints, in the config's order, behind one Dynamixel bus."""

    def __init__(self, settings: LeapSettings, sdk: Any, clock: Clock):
        self.settings = settings
        self.sdk = sdk  # the dynamixel_sdk module, or a test double of it
        self.clock = clock
        self.joint_names = tuple(motor.joint for motor in settings.motors)
        self._ids = [motor.id for motor in settings.motors]
        self._port: Any = None
        self._packet: Any = None
        self._connected = False
        self._fault: Optional[str] = None  # why the link is down
        self._hardware_fault: Optional[str] = None
        self._polled_at: Optional[float] = None
        self._written_at: Optional[float] = None

    # --- lifecycle -------------------------------------------------------------------

    def connect(self) -> None:
        """Open the port and configure every motor as LEAP's API does; raises ConnectionError with the reason."""
        self._close()
        where = f'LEAP hand on {self.settings.port}'
        port = self.sdk.PortHandler(self.settings.port)
        try:
            opened = port.openPort() and port.setBaudRate(self.settings.baudrate)
        except OSError as error:
            raise self._down(f'{where}: cannot open the port ({error}); check the USB cable and the '
                             f'port permissions') from None
        if not opened:
            raise self._down(f'{where}: cannot set {self.settings.baudrate} baud')
        self._port, self._packet = port, self.sdk.PacketHandler(PROTOCOL)
        self._connected, self._fault, self._polled_at, self._written_at = True, None, None, None
        errors = self._read_hardware_errors()
        if errors:
            raise self._down(f'{where}: {errors}; power-cycle the hand before connecting')
        for motor in self.settings.motors:  # EEPROM fields (Operating Mode) take writes only with torque off
            self._write(motor, TORQUE_ENABLE, 0, 'Torque Enable')
            self._write(motor, OPERATING_MODE, CURRENT_BASED_POSITION, 'Operating Mode')
            self._write(motor, POSITION_P_GAIN, motor.gains.p, 'Position P Gain')
            self._write(motor, POSITION_I_GAIN, motor.gains.i, 'Position I Gain')
            self._write(motor, POSITION_D_GAIN, motor.gains.d, 'Position D Gain')
            self._write(motor, GOAL_CURRENT, self.settings.current_limit, 'Goal Current')
        # Torque on where the fingers are: the goal is the present position first, so nothing jumps.
        self._send_goal(self._read_block(*PRESENT_POSITION)[0])
        for motor in self.settings.motors:
            self._write(motor, TORQUE_ENABLE, 1, 'Torque Enable')

    def disconnect(self) -> None:
        """Hold, then switch torque off as LEAP's API does (the fingers go limp), and close the port."""
        if self._connected:
            try:
                self.hold()
                for motor in self.settings.motors:
                    self._write(motor, TORQUE_ENABLE, 0, 'Torque Enable')
            except ConnectionError:
                pass  # the link is gone: nothing more can be told to the motors
        self._connected = False
        self._close()

    def status(self) -> DeviceStatus:
        details = {'backend': 'leap', 'port': self.settings.port, 'baudrate': self.settings.baudrate,
                   'write_rate': self.settings.write_rate, 'current_limit_ma': self.settings.current_limit}
        if self._connected:
            now = self.clock()
            if self._polled_at is None or now - self._polled_at >= self.settings.error_poll_period - CLOCK_SLACK:
                try:
                    errors = self._read_hardware_errors()
                    self._hardware_fault = (f'LEAP hand: {errors}; a motor in error has switched its torque off '
                                            f'until the hand is power-cycled') if errors else None
                except ConnectionError:
                    pass  # _down() has recorded why
                self._polled_at = now
        if not self._connected:
            return DeviceStatus(connected=False, fault=self._fault, details=details)
        return DeviceStatus(connected=True, fault=self._hardware_fault, details=details)

    # --- state and commands ----------------------------------------------------------

    def read(self) -> JointStateSample:
        self._require_link()
        currents, velocities, positions = self._read_block(*STATE_BLOCK)
        stamp = self.clock()
        motors = self.settings.motors
        return JointStateSample(
            positions=np.array([m.to_radians(p) for m, p in zip(motors, positions, strict=True)]),
            velocities=np.array([m.direction * v * RAD_S_PER_VELOCITY_UNIT
                                 for m, v in zip(motors, velocities, strict=True)]),
            efforts=np.array([m.direction * c * AMPERE_PER_CURRENT_UNIT
                              for m, c in zip(motors, currents, strict=True)]),
            stamp=stamp)

    def write_joint_targets(self, positions: np.ndarray) -> None:
        """Stream a set-point; one that comes sooner than 1 / write_rate after the last is not sent (the
        next one, newer, will be)."""
        self._require_link()
        positions = np.asarray(positions, dtype=float)
        if positions.shape != (len(self.joint_names),):
            raise ValueError(f'expected {len(self.joint_names)} joint targets, got shape {positions.shape}')
        now = self.clock()
        if self._written_at is not None and now - self._written_at < 1.0 / self.settings.write_rate - CLOCK_SLACK:
            return
        self._send_goal([m.to_pulses(p) for m, p in zip(self.settings.motors, positions, strict=True)])
        self._written_at = now

    def hold(self) -> None:
        """Goal Position := Present Position on every motor, now, whatever the write rate; the set-point
        that follows a hold (a driver re-squeezing a grip) goes out at once too."""
        self._require_link()
        self._send_goal(self._read_block(*PRESENT_POSITION)[0])
        self._written_at = None

    # --- the bus -------------------------------------------------------------------------

    def _require_link(self) -> None:
        if not self._connected:
            raise ConnectionError(self._fault or f'LEAP hand on {self.settings.port}: not connected; call '
                                                 f'connect() first')

    def _down(self, reason: str) -> ConnectionError:
        """Record that the link is lost and why; the caller raises the returned error."""
        self._connected = False
        self._fault = reason
        self._close()
        return ConnectionError(reason)

    def _close(self) -> None:
        if self._port is not None:
            try:
                self._port.closePort()
            except (OSError, AttributeError):
                pass  # a vanished tty cannot be closed cleanly; the handler is dropped anyway
        self._port = self._packet = None

    def _write(self, motor: Motor, field: tuple[int, int], value: int, name: str) -> None:
        """One motor's control-table write with its status packet checked."""
        address, size = field
        write = {1: self._packet.write1ByteTxRx, 2: self._packet.write2ByteTxRx}[size]
        where = f'LEAP hand motor {motor.id} ({motor.joint})'
        try:
            result, error = write(self._port, motor.id, address, value)
        except OSError as exc:
            raise self._down(f'LEAP hand on {self.settings.port}: the port failed ({exc}); check the USB '
                             f'cable') from None
        if result != self.sdk.COMM_SUCCESS:
            raise self._down(f'{where}: no answer writing {name}: {self._packet.getTxRxResult(result)}; check '
                             f'its cable, id and the hand\'s power')
        if error & ~ALERT:  # the Alert bit alone flags a hardware error (status() reports it); the write took
            raise self._down(f'{where}: refused {name} = {value}: '
                             f'{self._packet.getRxPacketError(error & ~ALERT)}')

    def _read_block(self, address: int, size: int) -> tuple[list[int], ...]:
        """One sync read of ``size`` bytes at ``address`` from every motor (retried once, as LEAP's API
        does); returns the fields inside it, each a list of signed values in motor order."""
        reader = self.sdk.GroupSyncRead(self._port, self._packet, address, size)
        for motor_id in self._ids:
            reader.addParam(motor_id)
        result = None
        for _ in range(2):
            try:
                result = reader.txRxPacket()
            except OSError as exc:
                raise self._down(f'LEAP hand on {self.settings.port}: the port failed ({exc}); check the USB '
                                 f'cable') from None
            if result == self.sdk.COMM_SUCCESS:
                break
        else:
            raise self._down(f'LEAP hand on {self.settings.port}: the motors stopped answering '
                             f'({self._packet.getTxRxResult(result)}); check the hand\'s power and cable')
        fields = [f for f in (PRESENT_CURRENT, PRESENT_VELOCITY, PRESENT_POSITION, HARDWARE_ERROR_STATUS)
                  if address <= f[0] and f[0] + f[1] <= address + size]
        values = []
        for field_address, field_size in fields:
            column = []
            for motor_id in self._ids:
                if not reader.isAvailable(motor_id, field_address, field_size):
                    raise self._down(f'LEAP hand motor {motor_id}: no data in the sync read')
                raw = reader.getData(motor_id, field_address, field_size)  # unsigned, little-endian
                signed = field_address != HARDWARE_ERROR_STATUS[0] and raw >> (8 * field_size - 1)
                column.append(raw - (1 << (8 * field_size)) if signed else raw)
            values.append(column)
        return tuple(values)

    def _send_goal(self, pulses: list[int]) -> None:
        address, size = GOAL_POSITION
        writer = self.sdk.GroupSyncWrite(self._port, self._packet, address, size)
        for motor_id, value in zip(self._ids, pulses, strict=True):
            writer.addParam(motor_id, list(int(value).to_bytes(size, 'little', signed=True)))
        try:
            result = writer.txPacket()
        except OSError as exc:
            raise self._down(f'LEAP hand on {self.settings.port}: the port failed ({exc}); check the USB '
                             f'cable') from None
        if result != self.sdk.COMM_SUCCESS:
            raise self._down(f'LEAP hand on {self.settings.port}: cannot send the goal positions: '
                             f'{self._packet.getTxRxResult(result)}')

    def _read_hardware_errors(self) -> str:
        """The motors' Hardware Error Status as a sentence, '' when none reports one."""
        (statuses,) = self._read_block(*HARDWARE_ERROR_STATUS)
        faults = []
        for motor, status in zip(self.settings.motors, statuses, strict=True):
            if status:
                names = [name for bit, name in HARDWARE_ERRORS.items() if status & (1 << bit)] or ['unknown']
                faults.append(f'motor {motor.id} ({motor.joint}): {" and ".join(names)} error '
                              f'(Hardware Error Status 0x{status:02x})')
        return '; '.join(faults)
