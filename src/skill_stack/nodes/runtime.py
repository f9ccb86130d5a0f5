"""What every node's entry point shares: declared parameters and the spin-until-Ctrl-C life cycle."""

from typing import Any, Callable

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions


def declare(node: Node, name: str, default: Any, description: str) -> Any:
    """Declare a documented parameter and return its value."""
    return node.declare_parameter(name, default, ParameterDescriptor(description=description)).value


def run_node(make_node: Callable[[], Node], name: str, threads: int = 2) -> int:
    """Build the node, spin it until Ctrl-C, tear it down; 2 when start-up fails (bad parameter, missing file).

    Ctrl-C raises KeyboardInterrupt here instead of shutting the context down under a
    node's own threads: the node is destroyed first (stopping them), then the context.
    """
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = make_node()
    except (ValueError, OSError, ParameterException) as exc:  # each start-up error names the parameter or file
        rclpy.logging.get_logger(name).fatal(str(exc))
        rclpy.try_shutdown()
        return 2
    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
