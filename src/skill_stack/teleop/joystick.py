"""Gamepads through the Linux joystick API (/dev/input/js*), with no dependency beyond the kernel.

Each event is a ``struct js_event`` of 8 bytes (linux/joystick.h): time in
ms (u32), value (s16), type (u8: 1 button, 2 axis, | 0x80 for the initial
state sent on open) and number (u8). Axes run -32767..32767 (stick up and
left are negative), buttons 0/1. Only changes are reported, releases included.

The mapping follows the Xbox layout of the kernel's xpad driver (most USB
pads, and Sony pads through hid-sony, put their sticks on the same axes):
left stick x/y moves forward-back/left-right, right stick y moves up-down and
right stick x turns; A closes the gripper or fingers, B opens them; Y takes
off and X lands (quadrotor).
"""

import glob
import os
import struct
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

EVENT = struct.Struct('<IhBB')
JS_EVENT_BUTTON, JS_EVENT_AXIS, JS_EVENT_INIT = 0x01, 0x02, 0x80
AXIS_MAX = 32767.0


@dataclass(frozen=True)
class JsEvent:
    time_ms: int
    value: int
    type: int
    number: int

    @property
    def is_axis(self) -> bool:
        return bool(self.type & JS_EVENT_AXIS)

    @property
    def is_button(self) -> bool:
        return bool(self.type & JS_EVENT_BUTTON)

    @property
    def is_init(self) -> bool:
        return bool(self.type & JS_EVENT_INIT)


def decode(data: bytes) -> Tuple[List[JsEvent], bytes]:
    """The whole events in ``data`` and the bytes left over (a partial event, to prepend to the next read).
    An event of an unknown type is refused with ValueError: the stream is not a joystick's."""
    whole = len(data) - len(data) % EVENT.size
    events = []
    for offset in range(0, whole, EVENT.size):
        event = JsEvent(*EVENT.unpack_from(data, offset))
        if event.type & ~JS_EVENT_INIT not in (JS_EVENT_BUTTON, JS_EVENT_AXIS):
            raise ValueError(f'joystick event at byte {offset} has type 0x{event.type:02x}; '
                             f'expected 0x01 (button) or 0x02 (axis), optionally | 0x80')
        events.append(event)
    return events, bytes(data[whole:])


def encode(event: JsEvent) -> bytes:
    """The bytes of one event, as the kernel writes them (for recordings and tests)."""
    return EVENT.pack(event.time_ms, event.value, event.type, event.number)


@dataclass(frozen=True)
class Mapping:
    """Axis and button numbers of the gamepad's controls, and the stick dead zone."""

    forward_axis: int = 1  # left stick y (pushed away: negative)
    left_axis: int = 0  # left stick x (pushed left: negative)
    up_axis: int = 4  # right stick y
    turn_axis: int = 3  # right stick x
    close_button: int = 0  # A
    open_button: int = 1  # B
    land_button: int = 2  # X
    takeoff_button: int = 3  # Y
    deadzone: float = 0.15


@dataclass
class Gamepad:
    """The gamepad's state from its events: stick rates and the button presses since the last look."""

    mapping: Mapping = field(default_factory=Mapping)
    axes: Dict[int, float] = field(default_factory=dict)
    buttons: Dict[int, bool] = field(default_factory=dict)
    pressed: List[int] = field(default_factory=list)  # buttons pressed (not initial state), oldest first

    def apply(self, event: JsEvent) -> None:
        if event.is_axis:
            self.axes[event.number] = max(-1.0, min(event.value / AXIS_MAX, 1.0))
        elif event.is_button:
            down = event.value != 0
            if down and not event.is_init and not self.buttons.get(event.number, False):
                self.pressed.append(event.number)
            self.buttons[event.number] = down

    def rates(self) -> Tuple[float, float, float, float]:
        """(x, y, z, yaw) in -1..1 with the dead zone removed: forward, left, up and turn-left positive."""
        m = self.mapping

        def axis(number: int) -> float:
            value = self.axes.get(number, 0.0)
            if abs(value) <= m.deadzone:
                return 0.0
            return (abs(value) - m.deadzone) / (1.0 - m.deadzone) * (1.0 if value > 0 else -1.0)

        return -axis(m.forward_axis), -axis(m.left_axis), -axis(m.up_axis), -axis(m.turn_axis)

    def actions(self) -> Iterator[str]:
        """The presses since the last call, as teleop actions: close, open, takeoff, land."""
        m = self.mapping
        names = {m.close_button: 'close', m.open_button: 'open', m.takeoff_button: 'takeoff',
                 m.land_button: 'land'}
        pressed, self.pressed = self.pressed, []
        for number in pressed:
            if number in names:
                yield names[number]


def find_gamepad() -> Optional[str]:
    """The first joystick device present, or None."""
    devices = sorted(glob.glob('/dev/input/js[0-9]*'))
    return devices[0] if devices else None


class JoystickReader:
    """Non-blocking reads of a joystick device (or any file or pipe of recorded events)."""

    def __init__(self, path: str):
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise OSError(f'cannot open gamepad {path}: {exc.strerror}') from exc
        self.path = path
        self._rest = b''

    def fileno(self) -> int:
        return self.fd

    def read(self) -> List[JsEvent]:
        """The events waiting now (none when there are none); OSError when the device went away."""
        try:
            data = os.read(self.fd, EVENT.size * 64)
        except BlockingIOError:
            return []
        events, self._rest = decode(self._rest + data)
        return events

    def close(self) -> None:
        os.close(self.fd)
