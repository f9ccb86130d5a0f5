"""Measure the running sim through its ROS interface: rates, real-time factor, latency.

Used by ``skill-stack bench``: it listens like any client would (joint states,
camera, /clock) and commands a joint to time how long a command takes to show
in the published joint states.
"""

import statistics
import threading
import time
from typing import Dict, List, Tuple

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState


class SimProbe(Node):
    def __init__(self, namespace: str = ''):
        super().__init__('sim_probe', namespace=namespace)
        self.lock = threading.Lock()
        self.clock: List[Tuple[float, float]] = []
        self.joint_times: List[float] = []
        self.image_times: List[float] = []
        self.latest: Dict[str, float] = {}
        self.waiting_for = None  # (joint, baseline, sent_at) while timing a command
        self.latencies: List[float] = []
        self.create_subscription(Clock, '/clock', self.on_clock, 10)
        self.create_subscription(JointState, 'joint_states', self.on_joints, 50)
        self.create_subscription(Image, 'camera/color/image_raw', self.on_image, QoSProfile(depth=2))
        self.commands = self.create_publisher(JointState, 'joint_commands', 10)

    def on_clock(self, msg: Clock) -> None:
        with self.lock:
            self.clock.append((time.monotonic(), msg.clock.sec + msg.clock.nanosec * 1e-9))

    def on_image(self, msg: Image) -> None:
        with self.lock:
            self.image_times.append(time.monotonic())

    def on_joints(self, msg: JointState) -> None:
        now = time.monotonic()
        with self.lock:
            self.joint_times.append(now)
            self.latest = dict(zip(msg.name, msg.position, strict=True))
            if self.waiting_for is not None:
                joint, baseline, sent_at = self.waiting_for
                if abs(self.latest[joint] - baseline) > 1e-3:
                    self.latencies.append(now - sent_at)
                    self.waiting_for = None


def _rate(times: List[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def measure(namespace: str = '', window_s: float = 10.0, commands: int = 20, joint: str = 'joint1') -> dict:
    """Listen for ``window_s`` seconds, then time ``commands`` joint commands."""
    rclpy.init()
    probe = SimProbe(namespace)
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + 60.0
        while not probe.latest and time.monotonic() < deadline:
            time.sleep(0.05)
        if not probe.latest:
            raise RuntimeError('no joint states from the sim within 60 s')
        with probe.lock:
            probe.clock.clear()
            probe.joint_times.clear()
            probe.image_times.clear()
        time.sleep(window_s)
        with probe.lock:
            clock, joints, images = list(probe.clock), list(probe.joint_times), list(probe.image_times)
        sign = 1.0
        for _ in range(commands):
            with probe.lock:
                baseline = probe.latest[joint]
                probe.waiting_for = (joint, baseline, time.monotonic())
            probe.commands.publish(JointState(name=[joint], position=[baseline + sign * 0.1]))
            sign = -sign
            give_up = time.monotonic() + 2.0
            while probe.waiting_for is not None and time.monotonic() < give_up:
                time.sleep(0.001)
            with probe.lock:
                probe.waiting_for = None
            time.sleep(0.3)
        rtf = (clock[-1][1] - clock[0][1]) / (clock[-1][0] - clock[0][0]) if len(clock) > 1 else 0.0
        return {
            'sim_real_time_factor': rtf,
            'joint_state_rate_hz': _rate(joints),
            'camera_rate_hz': _rate(images),
            'command_to_state_latency_ms_p50': (statistics.median(probe.latencies) * 1e3
                                                if probe.latencies else float('nan')),
            'command_to_state_samples': len(probe.latencies),
        }
    finally:
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()
