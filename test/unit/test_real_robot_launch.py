"""The real-robot launch files: ``<embodiment>_stack driver:=real`` is the simulated stack's graph with the driver
node in place of the simulator, and ``real_<embodiment>`` starts that driver node alone."""

import re

import pytest

from skill_stack.launch.description import LaunchFileError, parse_launch_file

from repo_paths import REPO

LAUNCH = REPO / 'launch'
EMBODIMENTS = ('arm', 'hand', 'quadrotor')
CALIBRATION = str(REPO / 'config' / 'camera_sim_arm.yaml')  # any parameter file that exists


def params(node) -> dict:
    merged = {}
    for item in node.parameters:
        if isinstance(item, dict):
            merged.update(item)
    return merged


def graph(nodes) -> set:
    return {(node.executable, node.namespace) for node in nodes}


@pytest.mark.parametrize('embodiment', EMBODIMENTS)
def test_driver_real_swaps_the_simulator_for_the_driver_node_and_keeps_the_rest(embodiment):
    path = str(LAUNCH / f'{embodiment}_stack.launch.yaml')
    sim = parse_launch_file(path, {'scene': str(REPO / 'config' / 'scenes' / 'arm_blocks.yaml'), 'real_time': 'true'})
    real = parse_launch_file(path, {'driver': 'real', 'robot_config': '/robot/ur5e.yaml',
                                    'camera_config': '/robot/realsense.yaml', 'camera_extrinsics': CALIBRATION})
    namespace = f'/{embodiment}'
    assert graph(sim.nodes) - graph(real.nodes) == {('sim', namespace)}
    assert graph(real.nodes) - graph(sim.nodes) == {('driver', namespace)}

    (driver,) = [n for n in real.nodes if n.executable == 'driver']
    assert params(driver) == {'embodiment': embodiment, 'robot_config': '/robot/ur5e.yaml',
                              'camera_config': '/robot/realsense.yaml', 'control_rate_hz': 100.0,
                              'camera_rate_hz': 15.0, 'frame_id': 'world'}
    (perception,) = [n for n in real.nodes if n.executable == 'perception']
    assert CALIBRATION in perception.parameters  # the real camera's extrinsics, not the simulated one's


@pytest.mark.parametrize('embodiment', EMBODIMENTS)
def test_real_embodiment_launch_starts_one_driver_node(embodiment):
    description = parse_launch_file(str(LAUNCH / f'real_{embodiment}.launch.yaml'),
                                    {'robot_config': '/robot/config.yaml', 'namespace': 'robot1'})
    (node,) = description.nodes
    assert (node.executable, node.name, node.namespace) == ('driver', 'driver', '/robot1')
    assert params(node)['embodiment'] == embodiment
    assert params(node)['robot_config'] == '/robot/config.yaml'
    assert params(node)['camera_config'] == ''  # no camera unless given


def test_an_unknown_driver_value_names_the_file_it_looked_for():
    with pytest.raises(LaunchFileError, match=re.escape('launch/robot_arm.launch.yaml')):
        parse_launch_file(str(LAUNCH / 'arm_stack.launch.yaml'), {'driver': 'robot'})


def test_the_stack_arguments_for_the_real_robot_are_documented():
    for embodiment in EMBODIMENTS:
        text = (LAUNCH / f'{embodiment}_stack.launch.yaml').read_text()
        assert 'driver:=real robot_config:=' in text  # the usage line at the top
        args = {a.name: a for a in parse_launch_file(str(LAUNCH / f'{embodiment}_stack.launch.yaml')).args}
        for name in ('driver', 'robot_config', 'camera_config', 'camera_extrinsics'):
            assert args[name].description
