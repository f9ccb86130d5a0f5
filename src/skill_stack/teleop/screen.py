"""The teleop screen (curses): keys to the teleop node, the gamepad's events to it, its state drawn.

Kept thin: key names and the correction line come from teleop/keys.py, every
decision from teleop/core.py through the node. The loop wakes every 30 ms, so
key repeats (typically 25-30 Hz) are never queued behind a redraw.
"""

import curses
import select
from typing import Optional

from skill_stack.teleop.joystick import JoystickReader
from skill_stack.teleop.keys import TextLine, help_lines, key_name

FRAME_MS = 30


def run(stdscr, node, joystick: Optional[JoystickReader] = None) -> None:
    """Until Esc or Ctrl-C: read keys and gamepad events, hand them to ``node``, redraw."""
    curses.curs_set(0)
    curses.set_escdelay(25)  # Esc quits at once instead of waiting a second for an escape sequence
    curses.raw()  # Ctrl-C arrives as a key (3), so quitting always goes through the same path
    stdscr.keypad(True)
    stdscr.timeout(FRAME_MS)
    line: Optional[TextLine] = None
    gamepad_note = f'gamepad: {joystick.path}' if joystick else 'gamepad: none'
    while True:
        code = stdscr.getch()  # waits up to FRAME_MS for the first key
        while code != -1:
            if line is not None:
                editing, text = line.feed(code)
                if text:
                    node.correct(text)
                if not editing:
                    line = None
            else:
                name = key_name(code)
                action = node.key(name) if name is not None else None
                if action is not None and action.kind == 'quit':
                    return
                if action is not None and action.kind == 'correct':
                    line = TextLine()
            stdscr.nodelay(True)  # then takes whatever else is queued without waiting
            code = stdscr.getch()
            stdscr.timeout(FRAME_MS)
        if joystick is not None:
            _read_gamepad(node, joystick)
        _draw(stdscr, node, line, gamepad_note)


def _read_gamepad(node, joystick: JoystickReader) -> None:
    ready, _, _ = select.select([joystick], [], [], 0.0)
    if ready:
        node.gamepad_events(joystick.read())


def _draw(stdscr, node, line: Optional[TextLine], gamepad_note: str) -> None:
    stdscr.erase()
    height, width = stdscr.getmaxyx()
    rows = [*node.view(), gamepad_note, '', *help_lines(node.embodiment), '', *node.messages]
    if line is not None:
        rows += ['', f'correction> {line.text}_']
    for y, text in enumerate(rows[:max(0, height - 1)]):
        stdscr.addnstr(y, 0, text, max(0, width - 1))
    stdscr.refresh()
