"""The RGB-D camera's ROS interface, the same for the sim node and the driver node.

``camera/color/image_raw`` (rgb8), ``camera/depth/image_raw`` (32FC1, metres)
and their ``camera_info`` from the frame's pinhole intrinsics, in the camera's
optical frame, as realsense-ros names them.
"""

from builtin_interfaces.msg import Time
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from skill_stack.drivers.interfaces import CameraFrame
from skill_stack.nodes.convert import camera_info, numpy_to_image

OPTICAL_FRAME = 'camera_color_optical_frame'


class CameraInterface:
    def __init__(self, node: Node):
        # Reliable, like realsense-ros: a 1 MB frame split into best-effort UDP
        # fragments is often lost whole. Best-effort subscribers still match.
        qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        self.color_pub = node.create_publisher(Image, 'camera/color/image_raw', qos)
        self.depth_pub = node.create_publisher(Image, 'camera/depth/image_raw', qos)
        self.color_info_pub = node.create_publisher(CameraInfo, 'camera/color/camera_info', qos)
        self.depth_info_pub = node.create_publisher(CameraInfo, 'camera/depth/camera_info', qos)

    def publish(self, frame: CameraFrame, stamp: Time) -> None:
        """One frame; the depth is aligned to the colour image, so both share its intrinsics."""
        header = Header(stamp=stamp, frame_id=OPTICAL_FRAME)
        info = camera_info(*frame.intrinsics, header)
        self.color_pub.publish(numpy_to_image(frame.rgb, 'rgb8', header))
        self.depth_pub.publish(numpy_to_image(frame.depth, '32FC1', header))
        self.color_info_pub.publish(info)
        self.depth_info_pub.publish(info)


def ros_time(seconds: float) -> Time:
    sec, nanosec = divmod(round(seconds * 1e9), 1_000_000_000)  # 2.9999999999 s is 3 s, not 2 s
    return Time(sec=int(sec), nanosec=int(nanosec))
