"""What the skill server knows of one robot over ROS: its state in, its commands out.

A link subscribes to the topics a driver publishes (sim or real alike, see
nodes/device_interface.py), builds the `RobotObservation` a skill reads, and
turns a skill's command into the driver's command topics. One link per
embodiment; the server picks it by its ``embodiment`` parameter. The scheduler
uses a link without commands (``commands=False``) to read the robot's state.
"""

from __future__ import annotations

import threading
from typing import Optional

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64

from skill_stack.skills import hand
from skill_stack.skills.arm import CLOSED_WIDTH, HOLDING_MAX
from skill_stack.skills.base import ArmCommand, HandCommand, RobotObservation


def stamp_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class ArmLink:
    """joint_states (with the gripper width as joint 'gripper') and ee_pose in; ee_pose_command and
    gripper_command out."""

    embodiment = 'arm'
    needs = 'joint_states and ee_pose'

    def __init__(self, node: Node, group, frame_id: str, commands: bool = True):
        self.node, self.frame_id = node, frame_id
        self._lock = threading.Lock()
        self._joints: Optional[JointState] = None
        self._ee: Optional[PoseStamped] = None
        node.create_subscription(JointState, 'joint_states', self._on_joints, 10, callback_group=group)
        node.create_subscription(PoseStamped, 'ee_pose', self._on_ee, 10, callback_group=group)
        if commands:
            self.pose_pub = node.create_publisher(PoseStamped, 'ee_pose_command', 10)
            self.gripper_pub = node.create_publisher(Float64, 'gripper_command', 10)

    def _on_joints(self, msg: JointState) -> None:
        with self._lock:
            self._joints = msg

    def _on_ee(self, msg: PoseStamped) -> None:
        with self._lock:
            self._ee = msg

    def observation(self) -> Optional[RobotObservation]:
        with self._lock:
            joints, ee = self._joints, self._ee
        if joints is None or ee is None:
            return None
        state = dict(zip(joints.name, joints.position, strict=True))
        p, q = ee.pose.position, ee.pose.orientation
        return RobotObservation(
            embodiment='arm', position=np.array([p.x, p.y, p.z]), quaternion=np.array([q.w, q.x, q.y, q.z]),
            joints=np.array([v for n, v in state.items() if n != 'gripper']),
            gripper_width=float(state.get('gripper', 0.0)), stamp=stamp_seconds(ee.header.stamp))

    def holding(self, robot: RobotObservation) -> bool:
        """Something is between the closed fingers."""
        return CLOSED_WIDTH < robot.gripper_width < HOLDING_MAX

    def send(self, command: ArmCommand) -> None:
        msg = PoseStamped()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = self.frame_id
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in command.ee_position)
        o = msg.pose.orientation
        o.w, o.x, o.y, o.z = (float(v) for v in command.ee_quaternion)
        self.pose_pub.publish(msg)
        self.gripper_pub.publish(Float64(data=float(command.gripper_width)))

    def hold(self, robot: Optional[RobotObservation]) -> None:
        """Command the pose the arm is at now: the driver stops it there (the gripper keeps its width)."""
        if robot is not None:
            self.send(ArmCommand(robot.position, robot.quaternion, robot.gripper_width))


class HandLink:
    """joint_states in (the palm's pose follows from the wrist joints); joint_commands out."""

    embodiment = 'hand'
    needs = 'joint_states'

    def __init__(self, node: Node, group, frame_id: str, commands: bool = True):
        self.node = node
        self._lock = threading.Lock()
        self._joints: Optional[JointState] = None
        node.create_subscription(JointState, 'joint_states', self._on_joints, 10, callback_group=group)
        if commands:
            self.joint_pub = node.create_publisher(JointState, 'joint_commands', 10)

    def _on_joints(self, msg: JointState) -> None:
        with self._lock:
            self._joints = msg

    def observation(self) -> Optional[RobotObservation]:
        with self._lock:
            joints = self._joints
        if joints is None:
            return None
        try:
            return hand.hand_observation(joints.name, joints.position, stamp_seconds(joints.header.stamp))
        except ValueError:  # a partial or non-finite joint state: no usable state yet
            return None

    def holding(self, robot: RobotObservation) -> bool:
        return hand.holding(robot)

    def send(self, command: HandCommand) -> None:
        msg = JointState(name=list(command.joints), position=[float(v) for v in command.joints.values()])
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.joint_pub.publish(msg)

    def hold(self, robot: Optional[RobotObservation]) -> None:
        """Command every joint where it is: the hand stops there and keeps its grip."""
        if robot is not None:
            self.send(HandCommand(dict(zip(hand.HAND_JOINTS, robot.joints.tolist(), strict=True))))


LINKS = {'arm': ArmLink, 'hand': HandLink}
