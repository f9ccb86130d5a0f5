"""Teleop's inputs: key codes and maps, the correction line, and gamepad events from recorded bytes."""

import curses
import os

import pytest

from skill_stack.teleop.joystick import (
    JS_EVENT_AXIS,
    JS_EVENT_BUTTON,
    JS_EVENT_INIT,
    Gamepad,
    JoystickReader,
    JsEvent,
    decode,
    encode,
)
from skill_stack.teleop.keys import TextLine, help_lines, key_name, keymap


def test_key_names_from_curses_codes():
    assert key_name(ord('w')) == 'w'
    assert key_name(ord('W')) == 'w'  # caps lock does not change what a key does
    assert key_name(curses.KEY_UP) == 'up'
    assert key_name(curses.KEY_NPAGE) == 'pagedown'
    assert (key_name(32), key_name(10), key_name(27), key_name(3)) == ('space', 'enter', 'esc', 'ctrl-c')
    assert key_name(-1) is None  # no key
    assert key_name(curses.KEY_F1) is None
    with pytest.raises(ValueError, match='key code must be an int'):
        key_name('w')


def test_keymaps_per_embodiment():
    arm, quad = keymap('arm'), keymap('quadrotor')
    assert arm['w'].direction == (1.0, 0.0, 0.0)
    assert arm['d'].direction == (0.0, -1.0, 0.0)
    assert arm['c'].grip == 'close'
    assert 't' not in arm
    assert quad['t'].kind == 'takeoff'
    assert 'c' not in quad
    assert keymap('hand')['q'].turn == 1.0
    assert 'take off' in ' '.join(help_lines('quadrotor'))
    with pytest.raises(ValueError, match='keymap embodiment'):
        keymap('car')


def test_the_correction_line_edits_submits_and_cancels():
    line = TextLine()
    for c in 'a bit leftx':
        assert line.feed(ord(c)) == (True, None)
    line.feed(127)  # backspace
    assert line.feed(10) == (False, 'a bit left')
    line.feed(ord('n'))
    assert line.feed(27) == (False, None)  # Esc abandons
    assert line.text == ''
    assert TextLine().feed(10) == (False, None)  # nothing typed: nothing sent


def recording():
    """What a pad sends: its initial state on open, then push the left stick forward, press A, centre."""
    events = [JsEvent(0, 0, JS_EVENT_AXIS | JS_EVENT_INIT, 1), JsEvent(0, 0, JS_EVENT_BUTTON | JS_EVENT_INIT, 0),
              JsEvent(100, -32767, JS_EVENT_AXIS, 1), JsEvent(120, 1, JS_EVENT_BUTTON, 0),
              JsEvent(200, 0, JS_EVENT_BUTTON, 0), JsEvent(300, 3000, JS_EVENT_AXIS, 1)]
    return events, b''.join(encode(e) for e in events)


def test_events_decode_with_partial_reads():
    events, data = recording()
    first, rest = decode(data[:13])
    assert first == events[:1]
    assert len(rest) == 5
    second, rest = decode(rest + data[13:])
    assert first + second == events
    assert rest == b''
    with pytest.raises(ValueError, match='type 0x04'):
        decode(bytes([0, 0, 0, 0, 1, 0, 4, 0]))


def test_gamepad_rates_deadzone_and_button_presses():
    events, _ = recording()
    pad = Gamepad()
    for event in events[:4]:
        pad.apply(event)
    assert pad.rates() == (1.0, 0.0, 0.0, 0.0)  # stick pushed away: forward
    assert list(pad.actions()) == ['close']
    assert list(pad.actions()) == []  # each press once
    for event in events[4:]:
        pad.apply(event)
    assert pad.rates() == (0.0, 0.0, 0.0, 0.0)  # 3000/32767 is inside the dead zone
    pad.apply(JsEvent(0, 1, JS_EVENT_BUTTON | JS_EVENT_INIT, 1))
    assert list(pad.actions()) == []  # a button already down when opened is not a press


def test_the_reader_takes_events_from_a_pipe(tmp_path):
    events, data = recording()
    fifo = tmp_path / 'js0'
    os.mkfifo(fifo)
    writer_fd = os.open(fifo, os.O_RDWR)  # keeps the pipe open so the reader never sees EOF
    reader = JoystickReader(str(fifo))
    try:
        assert reader.read() == []
        os.write(writer_fd, data[:20])
        got = reader.read()
        os.write(writer_fd, data[20:])
        got += reader.read()
        assert got == events
    finally:
        reader.close()
        os.close(writer_fd)
    with pytest.raises(OSError, match='cannot open gamepad'):
        JoystickReader(str(tmp_path / 'missing'))
