"""Bad input to `skill-stack run`, `goal` and `correct` ends with exit 2 and a message naming what is wrong,
before anything is started."""

import argparse
import subprocess

import pytest

from skill_stack.cli.goal_cmd import correction_arg

from repo_paths import CLI, FIXTURES

SCENE = str(FIXTURES / 'scenes' / 'two_cubes_bowl.yaml')


@pytest.mark.parametrize(('value', 'expected'), [
    ('3:no, the blue one', (3.0, 'no, the blue one')),
    ('0.5: a bit to the left ', (0.5, 'a bit to the left')),
    ('2:wait: not yet', (2.0, 'wait: not yet')),
])
def test_correction_argument(value, expected):
    assert correction_arg(value) == expected


@pytest.mark.parametrize('value', ['no seconds', '-1:left', 'nan:left', 'inf:left', '3:', '3:   ', ':left'])
def test_bad_correction_argument(value):
    with pytest.raises(argparse.ArgumentTypeError, match='SECONDS:TEXT'):
        correction_arg(value)


def _cli(*args, env=None, timeout=60):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(('args', 'message'), [
    (['run', '--scene', SCENE, '   '], 'the instruction is empty'),
    (['run', '--scene', '/nonexistent/scene.yaml', 'pick up the cube'], 'cannot read the file'),
    (['run', '--scene', SCENE, 'pick up the cube', '--timeout', '0'], '--timeout must be a positive'),
    (['run', '--scene', SCENE, 'pick up the cube', '--video', 'out.gif'], 'must end in .mp4 or .avi'),
    (['run', '--scene', SCENE, 'pick up the cube', '--correction', 'soon:left'], 'SECONDS:TEXT'),
    (['run', 'pick up the cube'], '--scene'),
    (['goal', ''], 'the instruction is empty'),
    (['correct', ' '], 'the correction is empty'),
])
def test_bad_arguments_exit_2(args, message):
    result = _cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_bad_scene_field_is_named(tmp_path):
    scene = tmp_path / 'bad.yaml'
    scene.write_text('embodiment: arm\nseed: 0\nobjects:\n  - {name: cube, shape: box, color: red, '
                     'size: [0.04, 0.04, 0.04], position: [0.5, oops]}\n')
    result = _cli('run', '--scene', str(scene), 'pick up the cube')
    assert result.returncode == 2
    assert 'bad.yaml' in result.stderr
    assert 'cube' in result.stderr
    assert 'position' in result.stderr


def test_goal_and_correct_without_a_stack_exit_2(ros_env):
    result = _cli('goal', '--namespace', 'nobody_here', '--wait', '1', 'pick up the cube', env=ros_env)
    assert result.returncode == 2
    assert '/nobody_here/execute_task' in result.stderr
    assert 'is the stack running' in result.stderr
    result = _cli('correct', '--namespace', 'nobody_here', '--wait', '1', 'a bit to the left', env=ros_env)
    assert result.returncode == 2
    assert '/nobody_here/corrections' in result.stderr


def test_bad_namespace_exit_2(ros_env):
    result = _cli('goal', '--namespace', 'no spaces', 'pick up the cube', env=ros_env)
    assert result.returncode == 2
    assert "namespace 'no spaces'" in result.stderr
