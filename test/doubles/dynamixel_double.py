"""A test double of dynamixel-sdk (ROBOTIS DynamixelSDK for Python, protocol 2.0) and the motors on its bus.

`DynamixelBus` is the hardware side: X-series motors (the XC330-M288-T of the
LEAP hand) with their control tables, a U2D2 that can be unplugged, motor
power that can be cut, and device time that passes only in `advance()`.
`bus.sdk` is the module the backend receives in place of ``dynamixel_sdk``:
PortHandler, PacketHandler, GroupSyncRead, GroupSyncWrite and the COMM_*
result codes, with the signatures of dynamixel-sdk 4.1.0 (a unit test checks
them against the installed SDK). Every call that reaches the bus is recorded
in ``bus.calls``.

Modelled after the SDK's source (port_handler.py, protocol2_packet_handler.py,
group_sync_read.py, group_sync_write.py) and the XC330-M288-T e-manual:

- control table addresses, sizes and initial values; EEPROM fields (below 64)
  refuse writes while torque is on (Access error), read-only fields refuse
  writes, Goal Current above Current Limit is a Data Limit error;
- units: position in pulses (4096 per turn), velocity in 0.229 rev/min,
  current in 1 mA, all little-endian, signed where the manual says so;
- in (current-based) position control a torqued motor follows Goal Position
  as a first-order servo with a speed bound, in device time, drawing current
  with the tracking error, capped by Goal Current;
- a hardware error (Hardware Error Status, address 70) in the Shutdown mask
  clears Torque Enable, sets the Alert bit (0x80) of every status packet the
  motor sends, and lasts until the motor is rebooted (power cycle);
- results: a TxRx call to a motor that does not answer (missing id, power
  off, wrong baud rate) is COMM_RX_TIMEOUT; sync write is transmit-only, so it
  succeeds whether or not anyone listens; sync read fails with
  COMM_RX_TIMEOUT when any listed motor is silent, and `isAvailable` is then
  False;
- the port: `openPort` raises the serial error (an OSError, as pyserial's
  SerialException is) when the adapter is absent, `setBaudRate` returns False
  for rates the SDK does not know, and once the adapter is unplugged every
  transfer raises the same OSError pyserial raises on a vanished tty.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Optional

# robotis_def.py: communication results
COMM_SUCCESS = 0
COMM_PORT_BUSY = -1000
COMM_TX_FAIL = -1001
COMM_RX_FAIL = -1002
COMM_TX_ERROR = -2000
COMM_RX_WAITING = -3000
COMM_RX_TIMEOUT = -3001
COMM_RX_CORRUPT = -3002
COMM_NOT_AVAILABLE = -9000

# protocol2_packet_handler.py: the error byte of a status packet
ERRNUM_RESULT_FAIL = 1
ERRNUM_INSTRUCTION = 2
ERRNUM_CRC = 3
ERRNUM_DATA_RANGE = 4
ERRNUM_DATA_LENGTH = 5
ERRNUM_DATA_LIMIT = 6
ERRNUM_ACCESS = 7
ERRBIT_ALERT = 0x80

BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000,
             2000000, 2500000, 3000000, 3500000, 4000000)  # port_handler.getCFlagBaud

# XC330-M288-T control table: name -> (address, size, initial value, writable, signed)
CONTROL_TABLE = {
    'model_number': (0, 2, 1240, False, False),
    'firmware_version': (6, 1, 52, False, False),
    'id': (7, 1, 1, True, False),
    'baud_rate': (8, 1, 1, True, False),
    'return_delay_time': (9, 1, 250, True, False),
    'drive_mode': (10, 1, 0, True, False),
    'operating_mode': (11, 1, 3, True, False),
    'homing_offset': (20, 4, 0, True, True),
    'temperature_limit': (31, 1, 70, True, False),
    'max_voltage_limit': (32, 2, 70, True, False),
    'min_voltage_limit': (34, 2, 35, True, False),
    'pwm_limit': (36, 2, 885, True, False),
    'current_limit': (38, 2, 2352, True, False),
    'velocity_limit': (44, 4, 350, True, False),
    'max_position_limit': (48, 4, 4095, True, False),
    'min_position_limit': (52, 4, 0, True, False),
    'shutdown': (63, 1, 52, True, False),
    'torque_enable': (64, 1, 0, True, False),
    'led': (65, 1, 0, True, False),
    'status_return_level': (68, 1, 2, True, False),
    'hardware_error_status': (70, 1, 0, False, False),
    'velocity_i_gain': (76, 2, 1600, True, False),
    'velocity_p_gain': (78, 2, 50, True, False),
    'position_d_gain': (80, 2, 500, True, False),
    'position_i_gain': (82, 2, 0, True, False),
    'position_p_gain': (84, 2, 1100, True, False),
    'bus_watchdog': (98, 1, 0, True, False),
    'goal_pwm': (100, 2, 885, True, True),
    'goal_current': (102, 2, 2352, True, True),
    'goal_velocity': (104, 4, 0, True, True),
    'profile_acceleration': (108, 4, 0, True, False),
    'profile_velocity': (112, 4, 0, True, False),
    'goal_position': (116, 4, 2048, True, True),
    'moving': (122, 1, 0, False, False),
    'present_current': (126, 2, 0, False, True),
    'present_velocity': (128, 4, 0, False, True),
    'present_position': (132, 4, 2048, False, True),
    'present_input_voltage': (144, 2, 50, False, False),
    'present_temperature': (146, 1, 30, False, False),
}
TABLE_SIZE = 228
EEPROM_END = 64  # addresses below this are EEPROM: writable only with torque off
CURRENT_BASED_POSITION = 5
POSITION = 3
PULSES_PER_REV = 4096
VELOCITY_UNIT = 0.229 * 2.0 * math.pi / 60.0  # rad/s per Present Velocity unit


class SerialException(OSError):
    """What pyserial raises (serial.SerialException derives from IOError, i.e. OSError)."""


class Motor:
    """One X-series motor: its control table and a first-order position servo with a speed bound.

    The time constant and the current model are the double's assumptions (the
    e-manual gives neither); the speed bound is the LEAP URDF's 8.48 rad/s.
    """

    def __init__(self, dxl_id: int, max_speed: float, time_constant: float, position: int = 2048):
        self.table = bytearray(TABLE_SIZE)
        for name, (_, _, initial, _, _) in CONTROL_TABLE.items():
            self.set(name, initial)
        self.set('id', dxl_id)
        self.set('present_position', position)
        self.set('goal_position', position)
        self.max_speed = max_speed  # rad/s at the output shaft, no load
        self.time_constant = time_constant  # s, of the position loop's first-order response
        self._position = float(position)  # pulses, continuous; the table holds the rounded value

    def get(self, name: str) -> int:
        address, size, _, _, signed = CONTROL_TABLE[name]
        return int.from_bytes(self.table[address:address + size], 'little', signed=signed)

    def set(self, name: str, value: int) -> None:
        address, size, _, _, signed = CONTROL_TABLE[name]
        self.table[address:address + size] = int(value).to_bytes(size, 'little', signed=signed)

    @property
    def alert(self) -> int:
        return ERRBIT_ALERT if self.get('hardware_error_status') else 0

    def raise_hardware_error(self, bit: int) -> None:
        """A shutdown condition: the error latches, torque goes off, the Alert bit rides on every reply."""
        self.set('hardware_error_status', self.get('hardware_error_status') | (1 << bit))
        if self.get('shutdown') & (1 << bit):
            self.set('torque_enable', 0)

    def reboot(self) -> None:
        """What a power cycle does to the RAM area: errors clear, torque off, goal at the present position."""
        self.set('hardware_error_status', 0)
        self.set('torque_enable', 0)
        self.set('goal_position', self.get('present_position'))

    def write(self, address: int, data: bytes) -> int:
        """Apply a write instruction; returns the status packet's error byte."""
        fields = [(name, spec) for name, spec in CONTROL_TABLE.items()
                  if spec[0] < address + len(data) and address < spec[0] + spec[1]]
        if not fields or any(not spec[3] for _, spec in fields) or address + len(data) > TABLE_SIZE:
            return ERRNUM_ACCESS | self.alert
        if address < EEPROM_END and self.get('torque_enable'):
            return ERRNUM_ACCESS | self.alert
        if address == CONTROL_TABLE['torque_enable'][0] and data[0] and self.get('hardware_error_status'):
            return ERRNUM_RESULT_FAIL | self.alert  # only a reboot re-enables torque after a shutdown
        value = int.from_bytes(data, 'little', signed=True)
        if address == CONTROL_TABLE['goal_current'][0] and abs(value) > self.get('current_limit'):
            return ERRNUM_DATA_LIMIT | self.alert
        self.table[address:address + len(data)] = data
        return self.alert

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.table[address:address + length])

    def step(self, dt: float) -> None:
        """dt seconds of the servo: toward Goal Position, first order, no faster than max_speed, when torque is on."""
        goal = self.get('goal_position')
        mode = self.get('operating_mode')
        if mode == POSITION:
            goal = min(max(goal, self.get('min_position_limit')), self.get('max_position_limit'))
        before = self._position
        error = goal - self._position
        if self.get('torque_enable') and mode in (POSITION, CURRENT_BASED_POSITION):
            reach = self.max_speed * dt * PULSES_PER_REV / (2.0 * math.pi)
            self._position += max(-reach, min(reach, error * min(1.0, dt / self.time_constant)))
            # Current grows with the tracking error, signed like it, capped in current-based mode.
            current = self.get('position_p_gain') * error / 128.0
            if mode == CURRENT_BASED_POSITION:
                cap = self.get('goal_current')
                current = max(-cap, min(cap, current))
        else:
            current = 0.0
        speed = (self._position - before) / dt * 2.0 * math.pi / PULSES_PER_REV if dt > 0 else 0.0
        self.set('present_position', round(self._position))
        self.set('present_velocity', round(speed / VELOCITY_UNIT))
        self.set('present_current', round(current))
        self.set('moving', int(abs(speed) > 0.0))


class DynamixelBus:
    """The motors on one U2D2 port, the device clock, and a record of every SDK call that reached them."""

    def __init__(self, ids, port: str = '/dev/ttyUSB0', baudrate: int = 4000000, max_speed: float = 8.48,
                 time_constant: float = 0.02, positions: Optional[dict[int, int]] = None, step: float = 0.001):
        positions = positions or {}
        self.motors = {i: Motor(i, max_speed, time_constant, positions.get(i, 2048)) for i in ids}
        self.port = port
        self.baudrate = baudrate  # what the motors' Baud Rate(8) is set to
        self.time = 0.0  # s, device time
        self.step = step
        self.plugged = True  # the U2D2 is on USB
        self.powered = True  # the motors have power
        self.calls: list[tuple[str, dict]] = []
        self.sdk = self._module()

    # --- the device's world ------------------------------------------------------

    def clock(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        """Let device time pass: every motor servos in fixed sub-steps."""
        steps = max(1, round(seconds / self.step))
        for _ in range(steps):
            for motor in self.motors.values():
                motor.step(seconds / steps)
        self.time += seconds

    def unplug(self) -> None:
        """The USB cable is pulled: the tty vanishes, every transfer on an open port raises."""
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    def power_cycle(self) -> None:
        for motor in self.motors.values():
            motor.reboot()

    def positions(self) -> dict[int, int]:
        return {i: m.get('present_position') for i, m in self.motors.items()}

    def sync_writes(self, address: int) -> list[dict[int, int]]:
        """The values of every sync write transmitted to ``address``, by motor id (signed)."""
        return [call['values'] for name, call in self.calls if name == 'sync_write' and call['address'] == address]

    # --- what the SDK reaches --------------------------------------------------------

    def _listening(self, port: PortHandler) -> bool:
        return self.powered and port.baudrate == self.baudrate

    def _transfer(self, port: PortHandler) -> None:
        """One transmission: raises like pyserial when the adapter is gone, refuses a closed port."""
        if not port.is_open:
            raise AttributeError("'NoneType' object has no attribute 'write'")  # the SDK's ser is None
        if not self.plugged:
            raise SerialException(5, 'write failed: [Errno 5] Input/output error')

    def _module(self) -> SimpleNamespace:
        bus = self

        class _PortHandler(PortHandler):
            def __init__(self, port_name):
                super().__init__(bus, port_name)

        def packet_handler(protocol_version):
            if protocol_version != 2.0:
                raise ValueError('the double models protocol 2.0 only')
            return Protocol2PacketHandler(bus)

        return SimpleNamespace(
            PortHandler=_PortHandler, PacketHandler=packet_handler, GroupSyncRead=GroupSyncRead,
            GroupSyncWrite=GroupSyncWrite, COMM_SUCCESS=COMM_SUCCESS, COMM_PORT_BUSY=COMM_PORT_BUSY,
            COMM_TX_FAIL=COMM_TX_FAIL, COMM_RX_FAIL=COMM_RX_FAIL, COMM_TX_ERROR=COMM_TX_ERROR,
            COMM_RX_WAITING=COMM_RX_WAITING, COMM_RX_TIMEOUT=COMM_RX_TIMEOUT, COMM_RX_CORRUPT=COMM_RX_CORRUPT,
            COMM_NOT_AVAILABLE=COMM_NOT_AVAILABLE)


class PortHandler:
    """port_handler.PortHandler: the serial port of the U2D2."""

    def __init__(self, bus: DynamixelBus, port_name: str):
        self.bus = bus
        self.port_name = port_name
        self.is_open = False
        self.is_using = False
        self.baudrate = 1000000  # the SDK's DEFAULT_BAUDRATE

    def openPort(self):
        return self.setBaudRate(self.baudrate)

    def setBaudRate(self, baudrate):
        self.bus.calls.append(('set_baudrate', {'port': self.port_name, 'baudrate': baudrate}))
        if baudrate not in BAUDRATES:
            return False
        if not self.bus.plugged or self.port_name != self.bus.port:
            raise SerialException(2, f"could not open port {self.port_name}: [Errno 2] No such file or directory: "
                                     f"'{self.port_name}'")
        self.baudrate = baudrate
        self.is_open = True
        return True

    def closePort(self):
        self.bus.calls.append(('close_port', {'port': self.port_name}))
        self.is_open = False


class Protocol2PacketHandler:
    """protocol2_packet_handler.Protocol2PacketHandler: single-motor instructions and result texts."""

    _RESULTS = {
        COMM_SUCCESS: '[TxRxResult] Communication success!',
        COMM_PORT_BUSY: '[TxRxResult] Port is in use!',
        COMM_TX_FAIL: '[TxRxResult] Failed transmit instruction packet!',
        COMM_RX_FAIL: '[TxRxResult] Failed get status packet from device!',
        COMM_TX_ERROR: '[TxRxResult] Incorrect instruction packet!',
        COMM_RX_WAITING: '[TxRxResult] Now receiving status packet!',
        COMM_RX_TIMEOUT: '[TxRxResult] There is no status packet!',
        COMM_RX_CORRUPT: '[TxRxResult] Incorrect status packet!',
        COMM_NOT_AVAILABLE: '[TxRxResult] Protocol does not support this function!',
    }
    _ERRORS = {
        ERRNUM_RESULT_FAIL: '[RxPacketError] Failed to process the instruction packet!',
        ERRNUM_INSTRUCTION: '[RxPacketError] Undefined instruction or incorrect instruction!',
        ERRNUM_CRC: "[RxPacketError] CRC doesn't match!",
        ERRNUM_DATA_RANGE: '[RxPacketError] The data value is out of range!',
        ERRNUM_DATA_LENGTH: '[RxPacketError] The data length does not match as expected!',
        ERRNUM_DATA_LIMIT: '[RxPacketError] The data value exceeds the limit value!',
        ERRNUM_ACCESS: '[RxPacketError] Writing or Reading is not available to target address!',
    }

    def __init__(self, bus: DynamixelBus):
        self.bus = bus

    def getProtocolVersion(self):
        return 2.0

    def getTxRxResult(self, result):
        return self._RESULTS.get(result, '')

    def getRxPacketError(self, error):
        if error & ERRBIT_ALERT:
            return ('[RxPacketError] Hardware error occurred. Check the error at Control Table '
                    '(Hardware Error Status)!')
        return self._ERRORS.get(error & ~ERRBIT_ALERT, '[RxPacketError] Unknown error code!' if error else '')

    def _write(self, port, dxl_id, address, size, data):
        self.bus._transfer(port)
        value = int(data) & ((1 << (8 * size)) - 1)  # the SDK splits the value into bytes the same way
        self.bus.calls.append(('write', {'id': dxl_id, 'address': address, 'value': value}))
        motor = self.bus.motors.get(dxl_id)
        if motor is None or not self.bus._listening(port):
            return COMM_RX_TIMEOUT, 0
        return COMM_SUCCESS, motor.write(address, value.to_bytes(size, 'little'))

    def write1ByteTxRx(self, port, dxl_id, address, data):
        return self._write(port, dxl_id, address, 1, data)

    def write2ByteTxRx(self, port, dxl_id, address, data):
        return self._write(port, dxl_id, address, 2, data)


class GroupSyncRead:
    """group_sync_read.GroupSyncRead: one instruction reads the same block from every listed motor."""

    def __init__(self, port, ph, start_address, data_length):
        self.port = port
        self.ph = ph
        self.start_address = start_address
        self.data_length = data_length
        self.data_dict: dict[int, bytes] = {}
        self.last_result = False

    def addParam(self, dxl_id):
        if dxl_id in self.data_dict:
            return False
        self.data_dict[dxl_id] = b''
        return True

    def txRxPacket(self):
        self.last_result = False
        if not self.data_dict:
            return COMM_NOT_AVAILABLE
        bus = self.port.bus
        bus._transfer(self.port)
        bus.calls.append(('sync_read', {'address': self.start_address, 'length': self.data_length,
                                        'ids': list(self.data_dict)}))
        if not bus._listening(self.port):
            return COMM_RX_TIMEOUT
        for dxl_id in self.data_dict:  # status packets come back in the order the ids were listed
            motor = bus.motors.get(dxl_id)
            if motor is None:
                return COMM_RX_TIMEOUT
            self.data_dict[dxl_id] = motor.read(self.start_address, self.data_length)
        self.last_result = True
        return COMM_SUCCESS

    def isAvailable(self, dxl_id, address, data_length):
        if not self.last_result or dxl_id not in self.data_dict:
            return False
        return self.start_address <= address and address + data_length <= self.start_address + self.data_length

    def getData(self, dxl_id, address, data_length):
        """The unsigned little-endian value, as the SDK returns it (0 when unavailable)."""
        if not self.isAvailable(dxl_id, address, data_length) or data_length not in (1, 2, 4):
            return 0
        start = address - self.start_address
        return int.from_bytes(self.data_dict[dxl_id][start:start + data_length], 'little')


class GroupSyncWrite:
    """group_sync_write.GroupSyncWrite: one transmit-only instruction writes a block to every listed motor."""

    def __init__(self, port, ph, start_address, data_length):
        self.port = port
        self.ph = ph
        self.start_address = start_address
        self.data_length = data_length
        self.data_dict: dict[int, bytes] = {}

    def addParam(self, dxl_id, data):
        if dxl_id in self.data_dict or len(data) > self.data_length:
            return False
        self.data_dict[dxl_id] = bytes(data)
        return True

    def txPacket(self):
        if not self.data_dict:
            return COMM_NOT_AVAILABLE
        bus = self.port.bus
        bus._transfer(self.port)
        bus.calls.append(('sync_write', {
            'address': self.start_address,
            'values': {i: int.from_bytes(data, 'little', signed=True) for i, data in self.data_dict.items()}}))
        if bus._listening(self.port):
            for dxl_id, data in self.data_dict.items():
                motor = bus.motors.get(dxl_id)
                if motor is not None:  # no status packet: a refused write goes unnoticed, as on the bus
                    motor.write(self.start_address, data)
        return COMM_SUCCESS
