"""The driver node, started from launch/real_hand.launch.yaml on the in-memory device (test/fixtures/
memory_backends.py, selected by the robot config's backend type): the sim node's interface, link loss reported
on driver_status, and the reconnect service."""

import os
import signal
import subprocess

import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import SetBool, Trigger

from repo_paths import CLI, REPO
from ros_helpers import call, spin_until

pytestmark = pytest.mark.integration

MEMORY = 'fixtures.memory_backends'


def memory_robot(tmp_path, base: str, link_file) -> str:
    """``config/<base>`` with the in-memory backend; the link is lost while ``link_file`` exists."""
    data = yaml.safe_load((REPO / 'config' / base).read_text())
    data['backend'] = {'type': MEMORY, 'link_file': str(link_file)}
    path = tmp_path / f'memory_{base}'
    path.write_text(yaml.safe_dump(data))
    return str(path)


def driver_env(ros_env) -> dict:
    """The node process imports the test's backend module from test/."""
    env = dict(ros_env)
    env['PYTHONPATH'] = os.pathsep.join([str(REPO / 'test'), env.get('PYTHONPATH', '')])
    return env


@pytest.fixture
def hand_driver(ros_env, tmp_path):
    link = tmp_path / 'link'
    camera = tmp_path / 'camera.yaml'
    camera.write_text(yaml.safe_dump({'backend': {'type': MEMORY}}))
    robot = memory_robot(tmp_path, 'hand.yaml', link)
    proc = subprocess.Popen([str(CLI), 'launch', 'real_hand', f'robot_config:={robot}', f'camera_config:={camera}',
                             'namespace:=robot'], env=driver_env(ros_env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('driver_test')
    yield node, link
    node.destroy_node()
    rclpy.shutdown()
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output


def test_link_loss_is_reported_and_reconnect_resumes(hand_driver):
    node, link = hand_driver
    states, statuses, images = [], [], []
    node.create_subscription(JointState, '/robot/joint_states', states.append, 10)
    node.create_subscription(DiagnosticStatus, '/robot/driver_status', statuses.append, 10)
    node.create_subscription(Image, '/robot/camera/color/image_raw', images.append, QoSProfile(depth=2))
    assert spin_until(node, lambda: states and statuses and images, 60), 'no state, status or image from the driver'
    assert statuses[-1].level == DiagnosticStatus.OK, statuses[-1].message
    assert 'index_joint1' in states[-1].name

    commands = node.create_publisher(JointState, '/robot/joint_commands', 10)

    def reaches(target):
        def reached():
            commands.publish(JointState(name=['index_joint1'], position=[target]))
            latest = dict(zip(states[-1].name, states[-1].position, strict=True))
            return abs(latest['index_joint1'] - target) < 1e-6
        return reached

    assert spin_until(node, reaches(0.5), 30), 'index_joint1 did not reach its command'

    link.write_text('lost cable unplugged')
    assert spin_until(node, lambda: statuses[-1].level == DiagnosticStatus.ERROR, 30), 'no ERROR on driver_status'
    assert statuses[-1].message == 'link lost: memory hand: cable unplugged'
    released = call(node, SetBool, '/robot/estop', SetBool.Request(data=False))
    assert not released.success
    assert 'reconnect' in released.message  # only reconnect releases the latch
    refused = call(node, Trigger, '/robot/reconnect', Trigger.Request())
    assert not refused.success
    assert 'cable unplugged' in refused.message

    link.unlink()
    answer = call(node, Trigger, '/robot/reconnect', Trigger.Request())
    assert answer.success, answer.message
    # Not ERROR any more (WARN keeps naming the last refused request, as the sim's status does).
    assert spin_until(node, lambda: statuses[-1].level != DiagnosticStatus.ERROR, 30), statuses[-1].message
    assert spin_until(node, reaches(0.8), 30), 'commands do not reach the hand after the reconnect'


def test_a_bad_robot_config_exits_2_naming_the_field(ros_env, tmp_path):
    path = memory_robot(tmp_path, 'hand.yaml', tmp_path / 'link')
    text = open(path).read().replace('link_file', 'link_fiel')
    open(path, 'w').write(text)
    result = subprocess.run([str(CLI), 'launch', 'real_hand', f'robot_config:={path}'], env=driver_env(ros_env),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1  # the node died; the runner reports it
    assert f'{path}: backend.link_fiel: unknown field' in result.stdout
    assert 'exit code 2' in result.stdout
