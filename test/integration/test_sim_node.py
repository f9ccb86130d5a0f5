"""The sim node through its ROS interface, started from the package's launch file."""

import json
import signal
import subprocess

import pytest
import rclpy
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image, JointState

from skill_stack.nodes.convert import image_to_numpy
from skill_stack.srv import GetWorldState, ResetScene

from repo_paths import CLI
from ros_helpers import call, spin_until

pytestmark = pytest.mark.integration


@pytest.fixture
def sim(ros_env):
    proc = subprocess.Popen([str(CLI), 'launch', 'sim', 'namespace:=robot'], env=ros_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('sim_test')
    yield node
    node.destroy_node()
    rclpy.shutdown()
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output


def test_state_camera_commands_and_ground_truth(sim):
    states, images = [], []
    sim.create_subscription(JointState, '/robot/joint_states', states.append, 10)
    sim.create_subscription(Image, '/robot/camera/color/image_raw', images.append, QoSProfile(depth=2))
    assert spin_until(sim, lambda: states and images, 60), 'no joint states or images from the sim'
    assert list(states[-1].name[:6]) == [f'joint{i}' for i in range(1, 7)]
    assert image_to_numpy(images[-1]).shape == (480, 640, 3)

    start = dict(zip(states[-1].name, states[-1].position, strict=True))['joint1']
    commands = sim.create_publisher(JointState, '/robot/joint_commands', 10)
    target = start + 0.3

    def joint1_reached():
        commands.publish(JointState(name=['joint1'], position=[target]))
        latest = dict(zip(states[-1].name, states[-1].position, strict=True))
        return abs(latest['joint1'] - target) < 0.01

    assert spin_until(sim, joint1_reached, 30), 'joint1 did not reach its commanded position'

    world = json.loads(call(sim, GetWorldState, '/robot/sim/get_world_state', GetWorldState.Request()).world_json)
    assert set(world['objects']) == {'red_cube', 'blue_bowl', 'green_cylinder', 'yellow_sphere', 'purple_pad'}
    assert world['objects']['red_cube']['position'][2] == pytest.approx(0.02, abs=0.005)

    result = call(sim, ResetScene, '/robot/sim/reset', ResetScene.Request(scene_path='/no/such/scene.yaml'))
    assert not result.success
    assert '/no/such/scene.yaml' in result.message
    assert call(sim, ResetScene, '/robot/sim/reset', ResetScene.Request()).success


@pytest.mark.parametrize(('args', 'message'), [
    (['camera_rate_hz:=-1.0'], "parameter 'camera_rate_hz' must be in (0, 1000] Hz"),
    (['scene:=/no/such/scene.yaml'], '/no/such/scene.yaml'),
])
def test_bad_start_up_values_fail_with_the_name(ros_env, args, message):
    result = subprocess.run([str(CLI), 'launch', 'sim', *args], env=ros_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1  # the node died; the runner reports it
    assert message in result.stdout
    assert 'exit code 2' in result.stdout
