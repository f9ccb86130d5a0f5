"""Measure one 640x480 RGB-D frame's trip between two processes over DDS (``image_transport_ms_*``).

The sim camera's messages (an rgb8 colour image and a 32FC1 depth image of
640x480, one header), from a publisher process to this one: the publisher
stamps each pair with the system clock just before publishing both; the
subscriber takes the later arrival of the two, on the same clock, minus the
stamp. That is what a perception node waits for a camera frame, serialization
and Python deserialization included. Both sides use the sim's QoS (reliable,
depth 2). ``skill-stack bench --only transport`` runs it; the publisher side is
``python -m skill_stack.nodes.transport_probe`` (started by ``measure``).
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from typing import Dict, List

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from skill_stack.nodes.convert import numpy_to_image

WIDTH, HEIGHT = 640, 480
COLOR_TOPIC, DEPTH_TOPIC = 'transport_probe/color/image_raw', 'transport_probe/depth/image_raw'
QOS = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)  # as the sim camera publishes
WARM_UP = 5  # frames sent first and not counted: discovery and first allocations


def _ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


class TransportSubscriber(Node):
    """Pairs colour and depth by stamp; a pair's latency is its later arrival minus the stamp."""

    def __init__(self):
        super().__init__('transport_probe_subscriber')
        self.lock = threading.Lock()
        self.arrivals: Dict[int, Dict[str, int]] = {}  # stamp -> topic -> receive time (ns)
        self.latencies_ms: List[float] = []
        self.create_subscription(Image, COLOR_TOPIC, lambda m: self.on_image('color', m), QOS)
        self.create_subscription(Image, DEPTH_TOPIC, lambda m: self.on_image('depth', m), QOS)

    def on_image(self, kind: str, msg: Image) -> None:
        received = time.time_ns()
        if msg.header.frame_id.startswith('warm_up'):
            return
        stamp = _ns(msg.header.stamp)
        with self.lock:
            pair = self.arrivals.setdefault(stamp, {})
            pair[kind] = received
            if len(pair) == 2:
                self.latencies_ms.append((max(pair.values()) - stamp) / 1e6)
                del self.arrivals[stamp]


def measure(frames: int = 100, rate_hz: float = 15.0, timeout_s: float = 120.0) -> Dict[str, float]:
    """Publish ``frames`` RGB-D pairs at ``rate_hz`` from a child process; the median and p95 trip in ms."""
    if frames < 1 or not 0.0 < rate_hz <= 100.0:
        raise ValueError(f'frames must be >= 1 and rate_hz in (0, 100], got {frames} and {rate_hz}')
    rclpy.init()
    node = TransportSubscriber()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    publisher = subprocess.Popen([sys.executable, '-m', 'skill_stack.nodes.transport_probe',
                                  '--frames', str(frames), '--rate', str(rate_hz)], env=dict(os.environ))
    try:
        deadline = time.monotonic() + timeout_s
        while publisher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if publisher.poll() is None:
            raise RuntimeError(f'the publisher process did not finish within {timeout_s:.0f} s')
        if publisher.returncode != 0:
            raise RuntimeError(f'the publisher process failed (exit code {publisher.returncode})')
        settle = time.monotonic() + 2.0  # the last frames may still be on their way
        while len(node.latencies_ms) < frames and time.monotonic() < settle:
            time.sleep(0.05)
        with node.lock:
            latencies = list(node.latencies_ms)
    finally:
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()
        executor.shutdown()
        spinner.join(5.0)  # a spinning thread left behind aborts the interpreter at exit
        node.destroy_node()
        rclpy.try_shutdown()
    if not latencies:
        raise RuntimeError('no complete RGB-D frame arrived')
    return {'image_transport_ms_p50': float(np.median(latencies)),
            'image_transport_ms_p95': float(np.percentile(latencies, 95)),
            'image_transport_frames': len(latencies),
            'image_transport_frames_lost': frames - len(latencies)}


def publish(frames: int, rate_hz: float, wait_s: float = 60.0) -> int:
    """The publisher process: wait for the subscriber, then send warm-up and measured frames at ``rate_hz``."""
    rclpy.init()
    node = rclpy.create_node('transport_probe_publisher')
    color_pub = node.create_publisher(Image, COLOR_TOPIC, QOS)
    depth_pub = node.create_publisher(Image, DEPTH_TOPIC, QOS)
    rng = np.random.default_rng(0)
    color = numpy_to_image(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8), 'rgb8')
    depth = numpy_to_image(rng.uniform(0.3, 3.0, (HEIGHT, WIDTH)).astype(np.float32), '32FC1')
    try:
        deadline = time.monotonic() + wait_s
        while (color_pub.get_subscription_count() < 1 or depth_pub.get_subscription_count() < 1) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if color_pub.get_subscription_count() < 1 or depth_pub.get_subscription_count() < 1:
            node.get_logger().error(f'no subscriber on {COLOR_TOPIC} and {DEPTH_TOPIC} within {wait_s:.0f} s')
            return 1
        period = 1.0 / rate_hz
        next_at = time.monotonic()
        for i in range(WARM_UP + frames):
            now_ns = time.time_ns()
            header = Header(frame_id='warm_up' if i < WARM_UP else 'camera_color_optical_frame')
            header.stamp.sec, header.stamp.nanosec = divmod(now_ns, 1_000_000_000)
            color.header = depth.header = header
            color_pub.publish(color)
            depth_pub.publish(depth)
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))
        time.sleep(0.5)  # let reliable delivery finish before the publisher goes away
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Publisher side of the RGB-D transport benchmark.')
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--rate', type=float, default=15.0, help='frames per second')
    args = parser.parse_args(argv)
    return publish(args.frames, args.rate)


if __name__ == '__main__':
    sys.exit(main())
