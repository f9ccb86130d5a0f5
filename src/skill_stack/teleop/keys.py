"""The teleop keyboard: which key does what, key codes to names, and the correction line's editor.

Directions are in the world frame (REP 103: x forward, away from the robot;
y left; z up), the same for the three robots, so a key means the same thing on
the arm, the hand and the quadrotor:

    w / s  or  Up / Down          forward / back (x)
    a / d  or  Left / Right       left / right (y)
    r / f  or  PageUp / PageDown  up / down (z)
    q / e                         turn left / right (yaw)
    o / c                         open / close the gripper or the fingers (arm, hand)
    t / l                         take off / land (quadrotor)
    space                         let go now: autonomy gets the robot back
    Enter or :                    type a language correction (Enter sends it, Esc cancels)
    Esc or Ctrl-C                 quit
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Action:
    """What a key does: ``kind`` is move, grip, release, correct, takeoff, land, quit or unknown."""

    kind: str
    direction: Tuple[float, float, float] = (0.0, 0.0, 0.0)  # move: unit steps along x, y, z
    turn: float = 0.0  # move: unit yaw steps (+ is left, counter-clockwise seen from above)
    grip: str = ''  # grip: open or close


_MOVES = {
    'w': (1, 0, 0), 'up': (1, 0, 0), 's': (-1, 0, 0), 'down': (-1, 0, 0),
    'a': (0, 1, 0), 'left': (0, 1, 0), 'd': (0, -1, 0), 'right': (0, -1, 0),
    'r': (0, 0, 1), 'pageup': (0, 0, 1), 'f': (0, 0, -1), 'pagedown': (0, 0, -1),
}
_COMMON = {'space': Action('release'), 'enter': Action('correct'), ':': Action('correct'),
           'esc': Action('quit'), 'ctrl-c': Action('quit'),
           'q': Action('move', turn=1.0), 'e': Action('move', turn=-1.0)}
_GRIP = {'o': Action('grip', grip='open'), 'c': Action('grip', grip='close')}
_FLIGHT = {'t': Action('takeoff'), 'l': Action('land')}


def keymap(embodiment: str) -> Dict[str, Action]:
    """Key name -> action for ``embodiment`` (arm, hand or quadrotor)."""
    if embodiment not in ('arm', 'hand', 'quadrotor'):
        raise ValueError(f"keymap embodiment must be arm, hand or quadrotor, got {embodiment!r}")
    keys = {k: Action('move', direction=tuple(float(v) for v in d)) for k, d in _MOVES.items()}
    keys.update(_COMMON)
    keys.update(_FLIGHT if embodiment == 'quadrotor' else _GRIP)
    return keys


def help_lines(embodiment: str) -> List[str]:
    """The key summary the teleop screen shows."""
    lines = ['w/s a/d r/f (or arrows, PgUp/PgDn): move x / y / z    q/e: turn',
             'space: let go    Enter or ":": type a correction    Esc: quit']
    lines.insert(1, 't: take off    l: land' if embodiment == 'quadrotor' else 'o: open    c: close')
    return lines


_NAMED = {10: 'enter', 13: 'enter', 27: 'esc', 32: 'space', 3: 'ctrl-c', 127: 'backspace', 8: 'backspace'}


def key_name(code: int) -> Optional[str]:
    """A curses getch() code as a key name ('w', 'up', 'space', ...); None for no key (-1) or a key with
    no name here. Letters are lower-cased so caps lock does not change what a key does."""
    if not isinstance(code, int) or isinstance(code, bool):
        raise ValueError(f'key code must be an int from getch(), got {code!r}')
    if code < 0:
        return None
    if code in _NAMED:
        return _NAMED[code]
    import curses

    special = {curses.KEY_UP: 'up', curses.KEY_DOWN: 'down', curses.KEY_LEFT: 'left', curses.KEY_RIGHT: 'right',
               curses.KEY_PPAGE: 'pageup', curses.KEY_NPAGE: 'pagedown', curses.KEY_BACKSPACE: 'backspace',
               curses.KEY_ENTER: 'enter'}
    if code in special:
        return special[code]
    if 32 < code < 127:
        return chr(code).lower()
    return None


class TextLine:
    """The correction line: printable characters edit it, Enter submits, Esc abandons."""

    MAX_LENGTH = 200

    def __init__(self):
        self.text = ''

    def feed(self, code: int) -> Tuple[bool, Optional[str]]:
        """One getch() code: (still editing, submitted text or None)."""
        name = key_name(code)
        if name == 'enter':
            text, self.text = self.text.strip(), ''
            return False, text or None
        if name in ('esc', 'ctrl-c'):
            self.text = ''
            return False, None
        if name == 'backspace':
            self.text = self.text[:-1]
        elif 32 <= code < 127 and len(self.text) < self.MAX_LENGTH:
            self.text += chr(code)
        return True, None
