"""``skill-stack teleop``'s usage errors: no terminal, a gamepad that is not there, a bad option."""

import subprocess

import pytest

from skill_stack.cli.main import build_parser
from skill_stack.cli.teleop_cmd import gamepad_path

from repo_paths import CLI


def test_it_needs_a_terminal():
    proc = subprocess.run([str(CLI), 'teleop', '--gamepad', 'none'], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert 'needs an interactive terminal' in proc.stderr


def test_gamepad_choices(tmp_path):
    assert gamepad_path('none') is None
    device = tmp_path / 'js0'
    device.touch()
    assert gamepad_path(str(device)) == str(device)
    with pytest.raises(ValueError, match="--gamepad: '/dev/input/js9' does not exist"):
        gamepad_path('/dev/input/js9')


def test_options():
    args = build_parser().parse_args(['teleop', '--embodiment', 'quadrotor', '--key-hold', '0.5'])
    assert (args.embodiment, args.namespace, args.gamepad, args.key_hold) == ('quadrotor', None, 'auto', 0.5)
    with pytest.raises(SystemExit):
        build_parser().parse_args(['teleop', '--embodiment', 'boat'])
