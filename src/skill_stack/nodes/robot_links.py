"""What the skill server knows of one robot over ROS: its state in, its commands out.

A link subscribes to the topics a driver publishes (sim or real alike, see
nodes/device_interface.py), builds the `RobotObservation` a skill reads, and
turns a skill's command into the driver's command topics. One link per
embodiment; the server picks it by its ``embodiment`` parameter. The scheduler
uses a link without commands (``commands=False``) to read the robot's state.

Every link has ``observation``, ``holding``, ``send`` and ``hold``; the arm and
the hand stop where they are commanded, so ``hold`` is one command. A
quadrotor falls (its driver's watchdog lands it) unless set-points keep
coming, so its link also keeps an airborne vehicle hovering by itself whenever
no skill streams (`HoverKeeper`).
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Optional, Tuple

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from std_srvs.srv import SetBool, Trigger

from skill_stack.drivers.quadrotor import yaw_of
from skill_stack.skills import hand
from skill_stack.skills.arm import CLOSED_WIDTH, HOLDING_MAX
from skill_stack.skills.base import ArmCommand, HandCommand, QuadrotorCommand, RobotObservation
from skill_stack.skills.quadrotor import HoverSkill, quadrotor_observation


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


# -- quadrotor ------------------------------------------------------------------------------------

KEEP_ALIVE_HZ = 20.0  # hold set-points per second: well inside the driver's 0.5 s hover_timeout
IDLE_AFTER_S = 0.25  # a skill silent this long has stopped streaming: the link holds the vehicle itself
SERVICE_RETRY_S = 1.0  # an arm or disarm request not yet seen in driver_status is asked again after this


class HoverKeeper:
    """When the quadrotor link streams a hold set-point by itself (no ROS: the decisions only).

    A skill streams set-points; when it stops (a goal ended, cancel, failure, the
    gap between two steps of a task) the driver would hover and 3 s later land.
    So once the stream has been silent `IDLE_AFTER_S`, or at once on ``hold``, the
    keeper holds the position the vehicle is at then (kept inside the geofence)
    at the heading it has, until a skill streams again. A landing handed to the
    flight controller is left to finish, and nothing is streamed to a vehicle on
    the ground (the driver would refuse it).
    """

    def __init__(self, idle_after_s: float = IDLE_AFTER_S, fence: Optional[HoverSkill] = None):
        self.idle_after_s = float(idle_after_s)
        self.fence = fence if fence is not None else HoverSkill()
        self.point: Optional[Tuple[np.ndarray, float]] = None  # the held position and yaw
        self.landing = False
        self._last_command = -math.inf

    def commanded(self, now: float, land: bool = False) -> None:
        """A skill sent a set-point (or handed over to landing): stop holding."""
        self._last_command = now
        self.point = None
        self.landing = bool(land)

    def hold(self, robot: Optional[RobotObservation]) -> None:
        """Hold where the vehicle is now (cancel, failure); a landing under way goes on."""
        self._last_command = -math.inf
        self.point = None
        if robot is not None and robot.airborne and not self.landing:
            self.point = self._here(robot)

    def tick(self, robot: Optional[RobotObservation], now: float) -> Optional[Tuple[np.ndarray, float]]:
        """The set-point (position, yaw) to send now, or None."""
        if robot is None or not robot.airborne:
            self.point, self.landing = None, False  # on the ground: the next flight starts afresh
            return None
        if self.landing:
            return None
        if self.point is None and now - self._last_command >= self.idle_after_s:
            self.point = self._here(robot)
        return self.point

    def _here(self, robot: RobotObservation) -> Tuple[np.ndarray, float]:
        return self.fence.inside_fence(np.asarray(robot.position, float)), yaw_of(robot.quaternion)


def driver_flags(msg: DiagnosticStatus) -> Tuple[Optional[bool], Optional[bool]]:
    """(armed, landed) from the quadrotor driver's status values (JSON), None where absent or unreadable."""
    values = {kv.key: kv.value for kv in msg.values}

    def flag(key: str) -> Optional[bool]:
        try:
            value = json.loads(values[key])
        except (KeyError, ValueError):
            return None
        return value if isinstance(value, bool) else None

    return flag('armed'), flag('landed')


class QuadrotorLink:
    """odom and driver_status (armed, landed) in; setpoint_position, the arm and land services out; and
    between skills, a hold set-point stream for an airborne vehicle (`HoverKeeper`)."""

    embodiment = 'quadrotor'
    needs = 'odom and driver_status (armed, landed)'

    def __init__(self, node: Node, group, frame_id: str, commands: bool = True):
        self.node, self.frame_id = node, frame_id
        self._lock = threading.Lock()
        self._odom: Optional[Odometry] = None
        self._flags: Tuple[Optional[bool], Optional[bool]] = (None, None)
        node.create_subscription(Odometry, 'odom', self._on_odom, 10, callback_group=group)
        node.create_subscription(DiagnosticStatus, 'driver_status', self._on_status, 10, callback_group=group)
        if commands:
            self.keeper = HoverKeeper()
            self._asked: Optional[Tuple[bool, float]] = None  # the last arm/disarm request and when
            self.setpoint_pub = node.create_publisher(PoseStamped, 'setpoint_position', 10)
            self.arm_client = node.create_client(SetBool, 'arm', callback_group=group)
            self.land_client = node.create_client(Trigger, 'land', callback_group=group)
            node.create_timer(1.0 / KEEP_ALIVE_HZ, self._keep_alive, callback_group=group)

    def _on_odom(self, msg: Odometry) -> None:
        with self._lock:
            self._odom = msg

    def _on_status(self, msg: DiagnosticStatus) -> None:
        flags = driver_flags(msg)
        if flags[0] is not None and flags[1] is not None:
            with self._lock:
                self._flags = flags

    def observation(self) -> Optional[RobotObservation]:
        with self._lock:
            odom, (armed, landed) = self._odom, self._flags
        if odom is None or armed is None:
            return None
        p, q, v = odom.pose.pose.position, odom.pose.pose.orientation, odom.twist.twist.linear
        return quadrotor_observation((p.x, p.y, p.z), (q.w, q.x, q.y, q.z), (v.x, v.y, v.z), armed,
                                     stamp_seconds(odom.header.stamp), landed=landed)

    def holding(self, robot: RobotObservation) -> bool:
        return False  # a quadrotor carries nothing

    def send(self, command: QuadrotorCommand) -> None:
        """One skill command: arm (asked until driver_status says armed; no set-point before), land (asked once
        per landing), else a set-point (at the vehicle's heading when the command has none)."""
        robot = self.observation()
        if command.arm and (robot is None or not self._flags[0]):
            self._ask(SetBool.Request(data=True))
            return
        with self._lock:
            start_landing = command.land and not self.keeper.landing
            self.keeper.commanded(time.monotonic(), land=command.land)
        if start_landing:
            self.land_client.call_async(Trigger.Request()).add_done_callback(lambda f: self._answered('land', f))
        if command.land:
            return
        yaw = command.yaw if command.yaw is not None or robot is None else yaw_of(robot.quaternion)
        self._publish(command.position, yaw or 0.0)

    def hold(self, robot: Optional[RobotObservation]) -> None:
        """Hover where the vehicle is (streamed until a skill commands again); on the ground, stop the motors."""
        with self._lock:
            self.keeper.hold(robot)
            point = self.keeper.point
        if point is not None:
            self._publish(*point)
        elif robot is not None and self._flags[0] and not robot.airborne:
            self._ask(SetBool.Request(data=False))

    def _keep_alive(self) -> None:
        robot = self.observation()
        with self._lock:
            point = self.keeper.tick(robot, time.monotonic())
        if point is not None:
            self._publish(*point)

    def _publish(self, position, yaw: float) -> None:
        msg = PoseStamped()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = self.frame_id
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in position)
        msg.pose.orientation.w, msg.pose.orientation.z = math.cos(yaw / 2.0), math.sin(yaw / 2.0)
        self.setpoint_pub.publish(msg)

    def _ask(self, request: SetBool.Request) -> None:
        """Arm or disarm without waiting; the same request again only after SERVICE_RETRY_S."""
        now = time.monotonic()
        last = self._asked
        if last is not None and last[0] == request.data and now - last[1] < SERVICE_RETRY_S:
            return
        self._asked = (request.data, now)
        what = 'arm' if request.data else 'disarm'
        self.arm_client.call_async(request).add_done_callback(lambda f: self._answered(what, f))

    def _answered(self, what: str, future) -> None:
        response = future.result()
        if response is not None and not response.success:
            self.node.get_logger().warning(f'quadrotor {what} refused: {response.message}')


LINKS = {'arm': ArmLink, 'hand': HandLink, 'quadrotor': QuadrotorLink}
