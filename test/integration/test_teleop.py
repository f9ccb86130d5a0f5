"""Teleop over autonomy on the running simulated arm: the arm follows teleop while its keys are held,
then autonomy gets it back, and the intervention is published as a correction.

Autonomy streams an ee_pose_command to one pose the whole time (as the skill
server would); teleop's key repeats (30 Hz, like a terminal's auto-repeat)
push the end-effector to the left for 1 s through a real TeleopNode.
"""

import json
import logging
import os
import pty
import select
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from rclpy.executors import MultiThreadedExecutor

from skill_stack.msg import Correction
from skill_stack.nodes.teleop import TeleopNode

from repo_paths import CLI

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOG = logging.getLogger(__name__)
HOME = np.array([0.4, 0.0, 0.25])


class Watcher:
    """The test's view of the arm: its ee position, who the driver says is in control, corrections."""

    def __init__(self, node):
        self.position, self.control, self.dropped, self.corrections = None, None, {}, []
        node.create_subscription(PoseStamped, '/arm/ee_pose', self._on_pose, 10)
        node.create_subscription(DiagnosticStatus, '/arm/driver_status', self._on_status, 10)
        node.create_subscription(Correction, '/arm/corrections', self.corrections.append, 10)

    def _on_pose(self, msg):
        p = msg.pose.position
        self.position = np.array([p.x, p.y, p.z])

    def _on_status(self, msg):
        values = {kv.key: json.loads(kv.value) for kv in msg.values}
        self.control, self.dropped = values.get('control'), values.get('control_dropped', {})


def test_teleop_takes_over_from_autonomy_and_gives_it_back(ros_env):
    sim = subprocess.Popen([str(CLI), 'launch', 'sim_arm', 'render:=false'], env=ros_env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('teleop_test')
    teleop = TeleopNode(namespace='/arm', embodiment='arm')
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    executor.add_node(teleop)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    stop_autonomy = threading.Event()
    try:
        watch = Watcher(node)
        autonomy = node.create_publisher(PoseStamped, '/arm/ee_pose_command', 10)
        home = PoseStamped()
        home.header.frame_id = 'world'
        home.pose.position.x, home.pose.position.y, home.pose.position.z = HOME.tolist()
        home.pose.orientation.w, home.pose.orientation.x = 0.0, 1.0  # gripper pointing down

        def stream_autonomy():
            while not stop_autonomy.wait(0.05):
                autonomy.publish(home)

        assert wait(lambda: watch.position is not None and watch.control is not None, 90), 'no arm state'
        threading.Thread(target=stream_autonomy, daemon=True).start()
        assert wait(lambda: np.linalg.norm(watch.position - HOME) < 0.01, 30), f'arm at {watch.position}'
        assert watch.control == 'autonomy'
        assert wait(lambda: teleop.teleop.pose is not None, 10), 'teleop has no arm state'

        start = watch.position.copy()
        seen_teleop = False
        t0 = time.monotonic()
        moved = np.zeros(3)
        while time.monotonic() - t0 < 1.0:  # 'a' (left) held for 1 s: auto-repeat at 30 Hz
            teleop.key('a')
            seen_teleop |= watch.control == 'teleop'
            time.sleep(1 / 30)
            moved = max(moved, watch.position - start, key=lambda m: m[1])
        end = time.monotonic() + 0.3  # a loaded machine's simulator lags the set-points a little
        while time.monotonic() < end:
            moved = max(moved, watch.position - start, key=lambda m: m[1])
            time.sleep(0.02)
        assert moved[1] > 0.05, f'the arm did not follow teleop to the left: moved {moved}'
        assert wait(lambda: not teleop.teleop.engaged, 5), 'teleop did not let go after the keys stopped'
        released = time.monotonic()  # teleop's last set-point went out about now
        assert seen_teleop or watch.control == 'teleop'
        assert wait(lambda: watch.control == 'autonomy', 5), f'control stayed with {watch.control}'
        handback = time.monotonic() - released
        assert handback < 2.0, f'autonomy got the arm back only {handback:.2f} s after teleop stopped'
        assert watch.dropped.get('autonomy', 0) > 10  # autonomy's stream was dropped while teleop held it
        assert wait(lambda: np.linalg.norm(watch.position - HOME) < 0.01, 15), \
            f'the arm did not head back to autonomy\'s target: at {watch.position}'

        assert wait(lambda: any(c.source == 'teleop' for c in watch.corrections), 5), 'no intervention published'
        (intervention,) = [c for c in watch.corrections if c.source == 'teleop']
        assert intervention.text.startswith('teleop: end-effector moved by [')
        dy = float(intervention.text.split('[')[1].split(',')[1])
        assert dy > 0.05, intervention.text
        LOG.info(f'arm moved {moved.round(3).tolist()} m under teleop in 1 s; control back to autonomy '
              f'{handback:.2f} s after teleop stopped; intervention: {intervention.text}')
    finally:
        stop_autonomy.set()
        executor.shutdown()
        teleop.destroy_node()
        node.destroy_node()
        rclpy.try_shutdown()
        sim.send_signal(signal.SIGINT)
        output = sim.communicate(timeout=60)[0]
    assert sim.returncode == 0, output


def test_the_teleop_screen_in_a_terminal(ros_env):
    """``skill-stack teleop`` in a pseudo-terminal: held keys move the arm, a typed line is sent as a
    correction, Esc quits, and the intervention is published."""
    sim = subprocess.Popen([str(CLI), 'launch', 'sim_arm', 'render:=false'], env=ros_env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node('teleop_screen_test')
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    fd, terminal = pty.openpty()
    teleop = subprocess.Popen([str(CLI), 'teleop', '--gamepad', 'none'], env={**ros_env, 'TERM': 'xterm'},
                              stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True)
    os.close(terminal)
    screen = bytearray()

    def pump(seconds):  # keep reading the screen so the child never blocks on a full pty
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.02)[0]:
                try:
                    screen.extend(os.read(fd, 65536))
                except OSError:
                    return

    def has_teleop_node():
        return ('teleop', '/arm') in node.get_node_names_and_namespaces()

    try:
        watch = Watcher(node)
        end = time.monotonic() + 90
        while time.monotonic() < end and not (watch.position is not None and has_teleop_node()):
            pump(0.1)
        assert watch.position is not None, 'no arm state'
        assert has_teleop_node(), 'no teleop node'
        end = time.monotonic() + 30  # the screen shows the arm's state once the teleop node has it
        while time.monotonic() < end and b' m  grip' not in screen:
            pump(0.1)
        assert b' m  grip' in screen, bytes(screen[-2000:]).decode(errors='replace')
        start = watch.position.copy()
        for _ in range(30):  # 'a' held for 1 s
            os.write(fd, b'a')
            pump(1 / 30)
        end = time.monotonic() + 10  # a loaded machine runs the simulator slower than real time
        while time.monotonic() < end and (watch.position - start)[1] <= 0.05:
            pump(0.1)
        moved = watch.position - start
        assert moved[1] > 0.05, f'the arm did not follow the keys: moved {moved}'
        os.write(fd, b':')
        pump(0.2)
        os.write(fd, b'a bit higher\r')
        pump(0.5)
        os.write(fd, b'\x1b')  # Esc quits
        end = time.monotonic() + 20
        while time.monotonic() < end and teleop.poll() is None:
            pump(0.1)
        assert teleop.returncode == 0, bytes(screen[-2000:]).decode(errors='replace')
        assert wait(lambda: {c.source for c in watch.corrections} == {'teleop', 'operator'}, 5), \
            [(c.source, c.text) for c in watch.corrections]
        texts = {c.source: c.text for c in watch.corrections}
        assert texts['operator'] == 'a bit higher'
        assert texts['teleop'].startswith('teleop: end-effector moved by [')
        assert b'in control' in screen
    finally:
        if teleop.poll() is None:
            teleop.kill()
            teleop.wait()
        os.close(fd)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        sim.send_signal(signal.SIGINT)
        output = sim.communicate(timeout=60)[0]
    assert sim.returncode == 0, output


def wait(predicate, timeout):
    """Poll ``predicate`` (an executor spins the nodes in another thread) until it holds or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
