"""The ROS interface of the device drivers, the same for the sim node and real driver nodes.

Each class declares one device's topics and services on a node and converts
messages to driver calls. ROS callbacks never touch a driver directly: they
hand a call to the node's control thread through a `ControlQueue`, which runs
it between control ticks (the thread that owns the backend, and for the sim,
the physics). A refused command (CommandError) is logged with its reason and
reported on ``driver_status``; it never reaches the device.

Every command topic is subscribed twice: ``<topic>`` for autonomy (the skill
server) and ``teleop/<topic>`` for teleoperation. An `Arbiter` per device
lets teleop take over while its commands keep coming and gives control back
when they stop (drivers/arbitration.py); both pass the same safety layer, and
``driver_status`` says who is in control (``control``) and what was dropped.
"""

import json
import queue
from typing import Any, Callable, Optional

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64, Header
from std_srvs.srv import SetBool, Trigger

from skill_stack.drivers.arbitration import AUTONOMY, TELEOP, Arbiter
from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.quadrotor import QuadrotorDriver, yaw_of
from skill_stack.drivers.safety import CommandError
from skill_stack.perception.geometry import pose_matrix
from skill_stack.srv import Takeoff


class ControlQueue:
    """Calls from ROS callbacks, run later by the control thread in arrival order."""

    def __init__(self, node: Node):
        self.node = node
        self._items: queue.Queue = queue.Queue()
        self.last_error: Optional[str] = None

    def submit(self, what: str, call: Callable[[], Any]) -> None:
        """Fire and forget (topics): a refusal is logged and kept for the status report."""
        self._items.put((what, call, None))

    async def call(self, what: str, call: Callable[[], Any]) -> tuple[bool, str]:
        """For async service callbacks: (True, '') or (False, reason) once the control thread ran it."""
        done = Future()
        self._items.put((what, call, done))
        return await done

    def run_pending(self) -> None:
        """In the control thread: run everything queued so far."""
        while True:
            try:
                what, call, done = self._items.get_nowait()
            except queue.Empty:
                return
            try:
                call()
                result = (True, '')
            except (CommandError, ConnectionError, ValueError) as exc:
                self.last_error = f'{what} refused: {exc}'
                # Commands stream at control rate: say it once a second, not at every tick.
                self.node.get_logger().error(self.last_error, throttle_duration_sec=1.0)
                result = (False, str(exc))
            if done is not None:
                done.set_result(result)
                # The awaiting service callback resumes on the executor's next wake-up.
                if self.node.executor is not None:
                    self.node.executor.wake()


def _header(stamp, frame_id: str) -> Header:
    return Header(stamp=stamp, frame_id=frame_id)


def _status(name: str, status, last_error: Optional[str], control: dict) -> DiagnosticStatus:
    fault = status.fault or None
    level = DiagnosticStatus.ERROR if not status.connected else (
        DiagnosticStatus.WARN if fault or last_error else DiagnosticStatus.OK)
    message = fault or ('disconnected' if not status.connected else (last_error or 'ok'))
    details = {**status.details, **control}
    values = [KeyValue(key=str(k), value=json.dumps(v, default=str)) for k, v in sorted(details.items())]
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=name, values=values)


class _DeviceInterface:
    """What every device shares: the latching ``estop`` service, ``driver_status`` and the
    arbitration of its command topics between autonomy and teleop."""

    def __init__(self, node: Node, driver, control: ControlQueue, name: str, frame_id: str):
        self.node = node
        self.driver = driver
        self.control = control
        self.name = name
        self.frame_id = frame_id
        self.arbiter = Arbiter()
        self._reported_owner = self.arbiter.default
        self.status_pub = node.create_publisher(DiagnosticStatus, 'driver_status', 10)
        node.create_service(SetBool, 'estop', self.on_estop)

    def subscribe_command(self, msg_type, topic: str, callback: Callable[[Any], None]) -> None:
        """``topic`` (autonomy) and ``teleop/<topic>`` (teleop) into ``callback``, as the arbiter allows."""
        for source, name in ((AUTONOMY, topic), (TELEOP, f'teleop/{topic}')):
            def arbitrated(msg, source=source) -> None:
                if self.arbiter.offer(source):
                    callback(msg)
            self.node.create_subscription(msg_type, name, arbitrated, 10)

    async def on_estop(self, request, response):
        """data=true latches the e-stop (the device holds, or the quadrotor lands); data=false releases it."""
        if request.data:
            ok, reason = await self.control.call('e-stop', lambda: self.driver.estop('e-stop service'))
        else:
            ok, reason = await self.control.call('e-stop release', self.driver.release)
        response.success = ok
        response.message = reason or ('e-stop engaged' if request.data else 'e-stop released')
        return response

    def publish_status(self) -> None:
        control = self.arbiter.status()
        if control['control'] != self._reported_owner:
            dropped = ', '.join(f'{n} {s}' for s, n in control['control_dropped'].items()) or 'none'
            self.node.get_logger().info(f"{self.name}: {control['control']} in control (was "
                                        f'{self._reported_owner}; commands dropped so far: {dropped})')
            self._reported_owner = control['control']
        self.status_pub.publish(_status(self.name, self.driver.status(), self.control.last_error, control))


class _JointDeviceInterface(_DeviceInterface):
    """What the arm and the hand share: joint commands and states."""

    def __init__(self, node: Node, driver, control: ControlQueue, name: str, frame_id: str):
        super().__init__(node, driver, control, name, frame_id)
        self.joint_pub = node.create_publisher(JointState, 'joint_states', 10)
        self.subscribe_command(JointState, 'joint_commands', self.on_joint_command)

    def on_joint_command(self, msg: JointState) -> None:
        if len(msg.name) != len(msg.position):
            self.node.get_logger().error(f'joint command refused: {len(msg.name)} names but '
                                         f'{len(msg.position)} positions')
            return
        targets = dict(zip(msg.name, msg.position, strict=True))
        self.control.submit('joint command', lambda: self.driver.command_joints(targets))

    def publish_joints(self, stamp, sample) -> None:
        msg = JointState(header=_header(stamp, self.frame_id))
        msg.name = list(self.driver.joint_names)
        msg.position = sample.positions.tolist()
        msg.velocity = sample.velocities.tolist()
        msg.effort = sample.efforts.tolist()
        self.joint_pub.publish(msg)


class ArmInterface(_JointDeviceInterface):
    """Arm + gripper: ``joint_commands``, ``ee_pose_command`` (Cartesian, through IK),
    ``gripper_command`` (width, m) in; ``joint_states`` (gripper width as joint
    ``gripper``), ``ee_pose``, ``driver_status`` out; ``estop`` service."""

    def __init__(self, node: Node, driver: ArmDriver, control: ControlQueue, frame_id: str):
        super().__init__(node, driver, control, 'arm', frame_id)
        self.ee_pub = node.create_publisher(PoseStamped, 'ee_pose', 10)
        self.subscribe_command(PoseStamped, 'ee_pose_command', self.on_pose_command)
        self.subscribe_command(Float64, 'gripper_command', self.on_gripper_command)

    def on_pose_command(self, msg: PoseStamped) -> None:
        if msg.header.frame_id not in ('', self.frame_id):
            self.node.get_logger().error(f"ee pose command refused: frame '{msg.header.frame_id}' is not "
                                         f"'{self.frame_id}' (no tf here: send poses in the arm's frame)")
            return
        p, q = msg.pose.position, msg.pose.orientation
        position, quaternion = (p.x, p.y, p.z), (q.w, q.x, q.y, q.z)
        self.control.submit('ee pose command', lambda: self.driver.command_pose(position, quaternion))

    def on_gripper_command(self, msg: Float64) -> None:
        width = msg.data
        self.control.submit('gripper command', lambda: self.driver.command_gripper(width))

    def publish(self, stamp) -> None:
        state = self.driver.state()
        msg = JointState(header=_header(stamp, self.frame_id))
        msg.name = [*self.driver.joint_names, 'gripper']
        msg.position = [*state.joints.positions.tolist(), state.gripper_width]
        msg.velocity = [*state.joints.velocities.tolist(), 0.0]
        msg.effort = [*state.joints.efforts.tolist(), 0.0]
        self.joint_pub.publish(msg)
        pose = PoseStamped(header=_header(stamp, self.frame_id))
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = state.ee_position.tolist()
        o = pose.pose.orientation
        o.w, o.x, o.y, o.z = state.ee_quaternion.tolist()
        self.ee_pub.publish(pose)


class HandInterface(_JointDeviceInterface):
    """Hand (wrist and fingers): ``joint_commands`` in; ``joint_states``, ``driver_status`` out; ``estop``."""

    def __init__(self, node: Node, driver: HandDriver, control: ControlQueue, frame_id: str):
        super().__init__(node, driver, control, 'hand', frame_id)

    def publish(self, stamp) -> None:
        self.publish_joints(stamp, self.driver.state())


class QuadrotorInterface(_DeviceInterface):
    """Quadrotor: ``setpoint_position`` (PoseStamped; yaw from its orientation) and
    ``setpoint_velocity`` (TwistStamped; linear and angular.z) streams in; ``arm``
    (SetBool), ``takeoff`` (Takeoff), ``land`` (Trigger), ``estop`` services;
    ``odom`` (nav_msgs/Odometry, twist in the body frame) and ``driver_status`` out."""

    def __init__(self, node: Node, driver: QuadrotorDriver, control: ControlQueue, frame_id: str):
        super().__init__(node, driver, control, 'quadrotor', frame_id)
        self.odom_pub = node.create_publisher(Odometry, 'odom', 10)
        self.subscribe_command(PoseStamped, 'setpoint_position', self.on_position)
        self.subscribe_command(TwistStamped, 'setpoint_velocity', self.on_velocity)
        node.create_service(SetBool, 'arm', self.on_arm)
        node.create_service(Takeoff, 'takeoff', self.on_takeoff)
        node.create_service(Trigger, 'land', self.on_land)

    def on_position(self, msg: PoseStamped) -> None:
        if msg.header.frame_id not in ('', self.frame_id):
            self.node.get_logger().error(f"position set-point refused: frame '{msg.header.frame_id}' is not "
                                         f"'{self.frame_id}'", throttle_duration_sec=1.0)
            return
        p, q = msg.pose.position, msg.pose.orientation
        position, yaw = (p.x, p.y, p.z), yaw_of(np.array([q.w, q.x, q.y, q.z]))
        self.control.submit('position set-point', lambda: self.driver.command_position(position, yaw))

    def on_velocity(self, msg: TwistStamped) -> None:
        v = msg.twist.linear
        velocity, yaw_rate = (v.x, v.y, v.z), msg.twist.angular.z
        self.control.submit('velocity set-point', lambda: self.driver.command_velocity(velocity, yaw_rate))

    async def on_arm(self, request, response):
        call = self.driver.arm if request.data else self.driver.disarm
        ok, reason = await self.control.call('arm' if request.data else 'disarm', call)
        response.success, response.message = ok, reason or ('armed' if request.data else 'disarmed')
        return response

    async def on_takeoff(self, request, response):
        height = request.height
        ok, reason = await self.control.call('take-off', lambda: self.driver.takeoff(height))
        response.success, response.message = ok, reason or f'taking off to {height:g} m'
        return response

    async def on_land(self, request, response):
        ok, reason = await self.control.call('land', self.driver.land)
        response.success, response.message = ok, reason or 'landing'
        return response

    def publish(self, stamp) -> None:
        state = self.driver.state()
        msg = Odometry(header=_header(stamp, self.frame_id), child_frame_id='base_link')
        pose = msg.pose.pose
        pose.position.x, pose.position.y, pose.position.z = state.position.tolist()
        w, x, y, z = state.quaternion.tolist()
        pose.orientation.w, pose.orientation.x, pose.orientation.y, pose.orientation.z = w, x, y, z
        body_velocity = _world_to_body(state.quaternion, state.linear_velocity)
        msg.twist.twist.linear.x, msg.twist.twist.linear.y, msg.twist.twist.linear.z = body_velocity.tolist()
        a = msg.twist.twist.angular
        a.x, a.y, a.z = state.angular_velocity.tolist()
        self.odom_pub.publish(msg)


def _world_to_body(quaternion: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Rotate a world-frame vector into the body frame (quaternion w, x, y, z of body in world)."""
    return pose_matrix(np.zeros(3), quaternion)[:3, :3].T @ np.asarray(vector, dtype=float)
