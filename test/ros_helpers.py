"""What the integration tests' ROS clients share: spinning until something holds, calling a service."""

import time

import rclpy


def spin_until(node, predicate, timeout, every=None):
    """Spin ``node`` until ``predicate()`` holds or ``timeout`` s pass (calling ``every()`` each round)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if every is not None:
            every()
        if predicate():
            return True
        rclpy.spin_once(node, timeout_sec=0.02)
    return predicate()


def call(node, srv_type, name, request, timeout=60.0):
    client = node.create_client(srv_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f'{name} not available'
    future = client.call_async(request)
    assert spin_until(node, future.done, timeout), f'{name} did not answer'
    return future.result()
