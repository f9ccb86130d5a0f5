"""Recording a running simulated arm to MCAP (launch file and CLI), read back with mcap's standard reader."""

import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest
import rclpy
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image

from repo_paths import CLI
from ros_helpers import spin_until

pytestmark = pytest.mark.integration


def _decoded(path):
    with open(path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        first = {}
        for _, channel, _, decoded in reader.iter_decoded_messages():
            first.setdefault(channel.topic, decoded)
    return summary, first


@pytest.mark.slow
def test_sim_arm_recorded_by_launch_and_cli(ros_env, tmp_path):
    launch_path = tmp_path / 'recorded_sim.launch.yaml'
    launch_path.write_text(textwrap.dedent(f"""
        launch:
        - include:
            file: $(find-pkg-share skill_stack)/launch/sim_arm.launch.yaml
            arg: [{{name: namespace, value: robot}}]
        - include:
            file: $(find-pkg-share skill_stack)/launch/record.launch.yaml
            arg: [{{name: path, value: {tmp_path / 'all.mcap'}}}]
        """))
    proc = subprocess.Popen([str(CLI), 'launch', str(launch_path)], env=ros_env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        rclpy.init()
        node = rclpy.create_node('recorder_test')
        images = []
        node.create_subscription(Image, '/robot/camera/depth/image_raw', images.append, QoSProfile(depth=2))
        assert spin_until(node, lambda: len(images) >= 3, 90), 'the sim published no camera frames'
        # Meanwhile the CLI records one topic for a few seconds.
        cli = subprocess.run([str(CLI), 'record', str(tmp_path / 'joints.mcap'), '--topics', '/robot/joint_states',
                              '--duration', '6'], env=ros_env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 0, cli.stderr
        assert '/robot/joint_states' in cli.stderr
        node.destroy_node()
        rclpy.shutdown()
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=90)[0]
    assert proc.returncode == 0, output
    assert 'wrote ' in output
    assert 'all.mcap' in output

    summary, first = _decoded(tmp_path / 'all.mcap')
    counts = {summary.channels[c].topic: n for c, n in summary.statistics.channel_message_counts.items()}
    for topic in ('/clock', '/robot/joint_states', '/robot/camera/color/image_raw', '/robot/camera/depth/image_raw',
                  '/robot/camera/color/camera_info'):
        assert counts.get(topic, 0) > 0, f'{topic} not recorded: {counts}'
    assert summary.chunk_indexes
    assert summary.statistics.message_count == sum(counts.values())
    assert {s.name for s in summary.schemas.values()} >= {'rosgraph_msgs/msg/Clock', 'sensor_msgs/msg/Image',
                                                          'sensor_msgs/msg/JointState'}
    assert list(first['/robot/joint_states'].name[:6]) == [f'joint{i}' for i in range(1, 7)]
    color, depth = first['/robot/camera/color/image_raw'], first['/robot/camera/depth/image_raw']
    assert (color.width, color.height, color.encoding, len(color.data)) == (640, 480, 'rgb8', 640 * 480 * 3)
    assert depth.encoding == '32FC1'
    depth_m = np.frombuffer(bytes(depth.data), np.float32)
    assert np.isfinite(depth_m).any()
    assert np.nanmax(depth_m) > 0
    clock = first['/clock'].clock
    assert clock.sec > 0 or clock.nanosec > 0

    summary, first = _decoded(tmp_path / 'joints.mcap')
    assert [c.topic for c in summary.channels.values()] == ['/robot/joint_states']
    assert summary.statistics.message_count > 10


@pytest.mark.slow  # two processes that start ROS, about 20 s on a loaded machine
def test_unwritable_path_fails_at_start_naming_the_parameter(ros_env, tmp_path):
    blocker = tmp_path / 'file.txt'
    blocker.write_text('not a directory')
    bad = blocker / 'out.mcap'
    start = time.monotonic()
    cli = subprocess.run([str(CLI), 'record', str(bad), '--duration', '30'], env=ros_env, capture_output=True,
                         text=True, timeout=120)
    assert cli.returncode == 2
    assert "parameter 'path'" in cli.stderr
    assert str(bad) in cli.stderr
    assert time.monotonic() - start < 30  # refused at start, not after recording
    launched = subprocess.run([str(CLI), 'launch', 'record', f'path:={bad}'], env=ros_env, capture_output=True,
                              text=True, timeout=120)
    assert launched.returncode == 1  # the node died; the runner reports it
    assert "parameter 'path'" in launched.stdout
    assert 'exit code 2' in launched.stdout
