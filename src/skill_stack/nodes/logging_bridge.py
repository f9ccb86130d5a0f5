"""Send the plain-Python cores' `logging` records to the node's ROS logger.

The cores (drivers, sim) log with the standard library so they stay free of
rclpy; inside a node their messages belong in the ROS log with the node's name.
"""

import logging

from rclpy.node import Node


class RosLogHandler(logging.Handler):
    def __init__(self, node: Node):
        super().__init__()
        self.logger = node.get_logger()

    def emit(self, record: logging.LogRecord) -> None:
        message = self.format(record)
        if record.levelno >= logging.ERROR:
            self.logger.error(message)
        elif record.levelno >= logging.WARNING:
            self.logger.warning(message)
        elif record.levelno >= logging.INFO:
            self.logger.info(message)
        else:
            self.logger.debug(message)


def route_python_logging(node: Node, package: str = 'skill_stack') -> None:
    """Records of ``package``'s loggers go to ``node``'s logger (INFO and up)."""
    root = logging.getLogger(package)
    root.addHandler(RosLogHandler(node))
    root.setLevel(logging.INFO)
    root.propagate = False
