"""The driver node's link supervision, on the in-memory device (test/fixtures/memory_backends.py) and a fake
clock: a lost link or a device fault latches the driver (nothing reaches the device, driver_status ERROR with
the reason), and reconnect releases it holding where the device is, without a jump."""

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticStatus
from fixtures.memory_backends import Link, MemoryCamera, MemoryGripper, MemoryJoints, MemoryQuadrotor

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import ConfigError, load_arm_config, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.quadrotor import QuadrotorDriver, load_quadrotor_config
from skill_stack.drivers.safety import CommandError
from skill_stack.nodes.device_interface import _status
from skill_stack.nodes.driver import DriverParams, LinkSupervisor, open_camera, open_device

from repo_paths import REPO

MEMORY = 'fixtures.memory_backends'


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return FakeClock()


def hand(clock):
    config = load_hand_config()
    link = Link('memory hand')
    joints = MemoryJoints(link, config.joint_names, [min(max(0.0, j.lower), j.upper) for j in config.joints], clock)
    supervisor = LinkSupervisor(HandDriver(joints, config, clock), (joints,), 'hand')
    supervisor.start()
    return supervisor, joints, link


def ticks(supervisor, clock, n=1, dt=0.01):
    for _ in range(n):
        clock.t += dt
        supervisor.tick()


def writes(backend, since=0):
    return [call for call in backend.calls[since:] if call[0].startswith('write')]


def test_a_lost_link_latches_the_driver_and_reports_the_reason(clock):
    supervisor, joints, link = hand(clock)
    supervisor.command_joints({'index_joint1': 1.0})
    ticks(supervisor, clock, 5)
    assert writes(joints)

    link.lose('cable unplugged')
    ticks(supervisor, clock)
    assert supervisor.fault == 'link lost: memory hand: cable unplugged'
    status = _status('hand', supervisor.status(), None, {})
    assert status.level == DiagnosticStatus.ERROR
    assert status.message == 'link lost: memory hand: cable unplugged'

    since = len(joints.calls)
    with pytest.raises(CommandError, match=r'e-stop engaged \(link lost'):
        supervisor.command_joints({'index_joint1': 0.5})
    with pytest.raises(CommandError, match='reconnect'):
        supervisor.release()  # the e-stop service cannot release the link latch
    ticks(supervisor, clock, 20)
    assert writes(joints, since) == []


def test_reconnect_holds_where_the_device_is_without_a_jump(clock):
    supervisor, joints, link = hand(clock)
    index = joints.joint_names.index('index_joint1')
    supervisor.command_joints({'index_joint1': 1.5})
    ticks(supervisor, clock, 5)  # part way: 6 rad/s for 50 ms
    link.lose('cable unplugged')
    ticks(supervisor, clock)
    joints.positions[index] = 0.2  # moved while the driver could not see it

    with pytest.raises(ConnectionError, match='cable unplugged'):
        supervisor.reconnect()
    assert supervisor.fault is not None  # still latched

    link.restore()
    message = supervisor.reconnect()
    assert 'reconnected' in message
    assert supervisor.fault is None
    assert supervisor.status().connected
    assert joints.calls[-1][0] == 'hold'

    since = len(joints.calls)
    ticks(supervisor, clock, 10)
    assert writes(joints, since) == []  # the target from before the loss is not resumed

    supervisor.command_joints({'index_joint1': 1.5})
    ticks(supervisor, clock)
    first = writes(joints, since)[0][1]
    assert first[index] == pytest.approx(0.2 + 6.0 * 0.01)  # from the measured 0.2 at the velocity limit


def test_a_connection_error_from_a_write_latches_without_raising(clock):
    supervisor, joints, _ = hand(clock)
    supervisor.command_joints({'index_joint1': 1.0})

    def broken(positions):
        raise ConnectionError('memory hand: write timed out')

    joints.write_joint_targets = broken
    ticks(supervisor, clock)
    assert supervisor.fault == 'link lost: memory hand: write timed out'


def test_a_device_fault_with_the_link_up_holds_until_it_clears(clock):
    supervisor, joints, link = hand(clock)
    supervisor.command_joints({'index_joint1': 1.0})
    ticks(supervisor, clock)
    link.report_fault('motor 3 over-temperature')
    ticks(supervisor, clock)
    assert supervisor.fault == 'device fault: memory hand: motor 3 over-temperature'
    # The link is up: the hand is told to hold (and its fingers keep their grip: config grip_joints).
    assert [call[0] for call in joints.calls[-3:]] == ['hold', 'read', 'write_joint_targets']
    assert _status('hand', supervisor.status(), None, {}).level == DiagnosticStatus.ERROR
    with pytest.raises(ConnectionError, match='over-temperature'):
        supervisor.reconnect()
    link.restore()
    supervisor.reconnect()
    assert supervisor.fault is None


def test_an_operator_estop_stays_engaged_across_a_reconnect(clock):
    supervisor, _, link = hand(clock)
    supervisor.estop('operator')
    link.lose('cable unplugged')
    ticks(supervisor, clock)
    link.restore()
    assert 'operator e-stop stays engaged' in supervisor.reconnect()
    with pytest.raises(CommandError, match='e-stop engaged'):
        supervisor.command_joints({'index_joint1': 1.0})


def test_a_device_unreachable_at_start_waits_for_reconnect(clock):
    config = load_hand_config()
    link = Link('memory hand')
    link.lose('powered off')
    joints = MemoryJoints(link, config.joint_names, [min(max(0.0, j.lower), j.upper) for j in config.joints], clock)
    supervisor = LinkSupervisor(HandDriver(joints, config, clock), (joints,), 'hand')
    supervisor.start()
    assert supervisor.fault == 'link lost: cannot connect: memory hand: powered off'
    link.restore()
    supervisor.reconnect()
    supervisor.command_joints({'index_joint1': 0.3})
    ticks(supervisor, clock)
    assert writes(joints)


def test_the_arm_latches_its_gripper_too(clock):
    config = load_arm_config()
    link = Link('memory arm')
    joints = MemoryJoints(link, config.joint_names, [0.0, 0.3, -1.2, 0.0, 0.9, 0.0], clock)
    gripper = MemoryGripper(link, config.gripper.max_width, clock)
    supervisor = LinkSupervisor(ArmDriver(joints, gripper, config, clock), (joints, gripper), 'arm')
    supervisor.start()
    link.lose('robot powered off')
    ticks(supervisor, clock)
    with pytest.raises(CommandError):
        supervisor.command_gripper(0.02)
    assert writes(gripper) == []
    link.restore()
    supervisor.reconnect()
    supervisor.command_gripper(0.02)
    ticks(supervisor, clock)
    assert writes(gripper) == [('write_width', 0.02)]


def flying_quadrotor(clock):
    link = Link('memory quadrotor')
    backend = MemoryQuadrotor(link, clock)
    supervisor = LinkSupervisor(QuadrotorDriver(backend, load_quadrotor_config(), clock), (backend,), 'quadrotor')
    supervisor.start()
    supervisor.arm()
    supervisor.takeoff(1.0)
    supervisor.command_position((0.5, 0.0, 1.0), 0.0)
    ticks(supervisor, clock)
    return supervisor, backend, link


def test_a_quadrotor_that_loses_its_link_is_left_to_its_failsafe_then_hovers_on_reconnect(clock):
    supervisor, backend, link = flying_quadrotor(clock)
    link.lose('radio out of range')
    ticks(supervisor, clock)
    assert supervisor.fault == 'link lost: memory quadrotor: radio out of range'
    since = len(backend.calls)
    with pytest.raises(CommandError):
        supervisor.command_position((1.0, 0.0, 1.0), 0.0)
    ticks(supervisor, clock, 400)  # 4 s: past the watchdog's land timeout
    assert [c for c in backend.calls[since:] if c[0] != 'read'] == []  # nothing sent: the vehicle's failsafe acts

    link.restore()
    supervisor.reconnect()
    hover = backend.calls[-1]
    assert hover[0] == 'write_position_setpoint'
    np.testing.assert_allclose(hover[1], [0.5, 0.0, 1.0])  # where it is, not the landing the e-stop would do
    supervisor.command_position((1.0, 0.0, 1.0), 0.0)


def test_a_quadrotor_fault_with_the_link_up_lands_it(clock):
    supervisor, backend, link = flying_quadrotor(clock)
    link.report_fault('battery critical')
    ticks(supervisor, clock)
    assert supervisor.fault == 'device fault: memory quadrotor: battery critical'
    assert ('land',) in backend.calls


def robot_file(tmp_path: Path, base: str, backend) -> str:
    data = yaml.safe_load((REPO / 'config' / base).read_text())
    data['backend'] = backend
    path = tmp_path / f'robot_{base}'
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize('embodiment', ['arm', 'hand', 'quadrotor'])
def test_open_device_opens_the_backend_the_robot_config_selects(tmp_path, embodiment):
    driver, backends = open_device(embodiment, robot_file(tmp_path, f'{embodiment}.yaml', {'type': MEMORY}),
                                   FakeClock())
    assert len(backends) == (2 if embodiment == 'arm' else 1)
    assert type(driver).__name__.lower().startswith(embodiment)


@pytest.mark.parametrize(('backend', 'message'), [
    ('sim', "backend: the driver node drives a real device, but this file selects 'sim'"),
    ({'type': 'nosuch'}, "backend.type: 'nosuch' is not a hand backend"),
    ({'type': 'no.such.module'}, "backend.type: cannot import the backend module 'no.such.module'"),
    ({'type': 'skill_stack.drivers.config'}, 'has no from_config'),
    ({'type': MEMORY, 'rate': 5}, "backend.rate: unknown field"),
])
def test_a_bad_backend_section_is_refused_naming_the_field(tmp_path, backend, message):
    path = robot_file(tmp_path, 'hand.yaml', backend)
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        open_device('hand', path, FakeClock())
    assert path in str(error.value)


def test_open_camera_reads_the_backend_section(tmp_path):
    path = tmp_path / 'camera.yaml'
    path.write_text(yaml.safe_dump({'backend': {'type': MEMORY}}))
    assert isinstance(open_camera(str(path)), MemoryCamera)
    path.write_text(yaml.safe_dump({'width': 640}))
    with pytest.raises(ConfigError, match='width: unknown field'):
        open_camera(str(path))
    path.write_text(yaml.safe_dump({'backend': {'type': 'sim'}}))
    with pytest.raises(ConfigError, match='the driver node drives a real device'):
        open_camera(str(path))


@pytest.mark.parametrize(('change', 'message'), [
    ({'embodiment': 'boat'}, "parameter 'embodiment' must be arm, hand or quadrotor"),
    ({'robot_config': ''}, "parameter 'robot_config' is required"),
    ({'control_rate_hz': 10.0}, "parameter 'control_rate_hz' must be in [20, 1000] Hz"),
    ({'camera_rate_hz': float('nan')}, "parameter 'camera_rate_hz' must be in (0, 100] Hz"),
    ({'frame_id': ''}, "parameter 'frame_id' must not be empty"),
])
def test_bad_parameters_are_named(change, message):
    params = dict(embodiment='arm', robot_config='robot.yaml', camera_config='', control_rate_hz=100.0,
                  camera_rate_hz=15.0, frame_id='world')
    with pytest.raises(ValueError, match=re.escape(message)):
        DriverParams(**{**params, **change}).validate()
