"""docker/: the Dockerfile and compose file checked for structure (no Docker engine needed, nothing is built):
an official ROS 2 base image, sources that exist, and a default command that launches a real-robot stack."""

import re
import shlex
import subprocess

import pytest
import yaml

from skill_stack.launch.description import parse_launch_file

from repo_paths import REPO

DOCKER = REPO / 'docker'


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r'\\\n', ' ', (DOCKER / 'Dockerfile').read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith('#')]


def instructions(name: str) -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == name]


def test_the_image_builds_on_an_official_ros2_base_image():
    (distro,) = [a for a in instructions('ARG') if a.startswith('ROS_DISTRO=')]
    assert distro.split('=', 1)[1] in ('kilted', 'jazzy')
    assert instructions('FROM') == ['ros:${ROS_DISTRO}-ros-base']
    assert dockerfile_instructions()[0][0] in ('ARG', 'FROM')


def test_every_copied_source_exists():
    sent = (DOCKER / 'Dockerfile.dockerignore').read_text().splitlines()  # '*' then '!' what the build needs
    for args in instructions('COPY'):
        *sources, _ = shlex.split(args)
        for source in sources:
            assert (REPO / source).exists(), f'COPY {source}: not in the repository'
            assert f'!{source}' in sent, f'{source} is not sent to the build (Dockerfile.dockerignore)'


def test_the_build_uses_colcon_and_rosdep():
    run = ' '.join(instructions('RUN'))
    assert 'rosdep install --from-paths' in run
    assert 'colcon build' in run
    assert 'requirements-hardware.txt' in run


def test_the_default_command_launches_a_real_robot_stack_that_exists():
    assert instructions('ENTRYPOINT') == ['["/entrypoint.sh"]']
    assert instructions('CMD') == ['["robot"]']
    entrypoint = DOCKER / 'entrypoint.sh'
    assert entrypoint.stat().st_mode & 0o111, 'entrypoint.sh is not executable'
    subprocess.run(['bash', '-n', str(entrypoint)], check=True)
    script = entrypoint.read_text()
    assert 'exec ros2 launch skill_stack "${EMBODIMENT}_stack.launch.yaml"' in script
    env = ' '.join(instructions('ENV'))
    embodiment = re.search(r'EMBODIMENT=(\w+)', env).group(1)
    stack = REPO / 'launch' / f'{embodiment}_stack.launch.yaml'
    declared = {arg.name for arg in parse_launch_file(str(stack)).args}
    for name in re.findall(r'"(\w+):=', script):
        assert name in declared, f'the entrypoint passes {name}:= which {stack.name} does not declare'


def test_compose_runs_the_image_on_the_host_network_with_the_robot_devices():
    compose = yaml.safe_load((DOCKER / 'compose.yaml').read_text())
    (service,) = compose['services'].values()
    assert (DOCKER / service['build']['context'] / service['build']['dockerfile']).is_file()
    assert service['network_mode'] == 'host'
    assert service['ipc'] == 'host'
    assert not service.get('privileged', False)
    devices = [d.split(':')[0] for d in service['devices']]
    assert {'/dev/ttyUSB0', '/dev/bus/usb'} <= set(devices)
    (volume,) = service['volumes']
    host, container, _ = volume.split(':')
    assert (DOCKER / host).resolve() == REPO / 'config'
    env = service['environment']
    assert 'ROS_DOMAIN_ID' in env
    for key in ('ROBOT_CONFIG', 'CAMERA_CONFIG', 'CAMERA_EXTRINSICS'):
        default = re.fullmatch(r'\$\{\w+:-(.*)\}', env[key]).group(1)
        assert default.startswith(container + '/'), key
        assert (REPO / 'config' / default[len(container) + 1:]).is_file(), f'{key} default {default} does not exist'


@pytest.mark.parametrize('embodiment', ['arm', 'hand', 'quadrotor'])
def test_each_embodiment_stack_takes_the_entrypoint_arguments(embodiment):
    declared = {a.name for a in parse_launch_file(str(REPO / 'launch' / f'{embodiment}_stack.launch.yaml')).args}
    assert {'driver', 'robot_config', 'camera_config', 'camera_extrinsics'} <= declared
