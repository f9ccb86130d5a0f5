"""The ``teleop`` node: an operator's keys and gamepad as set-points on the drivers' ``teleop/`` topics.

The robot's state comes in on the driver's topics (arm: ``ee_pose`` and
``joint_states``; hand: ``joint_states``; quadrotor: ``odom``); while the
operator holds a key or deflects a stick the node streams the teleop target at
``rate_hz`` on ``teleop/ee_pose_command`` + ``teleop/gripper_command``,
``teleop/joint_commands`` or ``teleop/setpoint_position``, where the device's
arbiter lets it take over from autonomy (nodes/device_interface.py). When the
operator lets go, the intervention is published on ``corrections`` (source
``teleop``) for the scheduler's correction log; typed corrections go out there
with source ``operator``. The keyboard screen (teleop/screen.py) and the
``skill-stack teleop`` command drive it; everything it decides is teleop/core.py.
"""

import collections
import json
import math
import sys
import threading
import time
from typing import List, Optional

from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from std_srvs.srv import SetBool, Trigger

from skill_stack.msg import Correction
from skill_stack.nodes.runtime import declare
from skill_stack.skills.hand import closure, hand_observation
from skill_stack.srv import Takeoff
from skill_stack.teleop.core import EMBODIMENTS, Pose, Target, Teleop, hand_joint_targets
from skill_stack.teleop.joystick import Gamepad
from skill_stack.teleop.keys import Action


class TeleopNode(Node):
    def __init__(self, namespace: str = '', embodiment: Optional[str] = None, **kwargs):
        overrides = list(kwargs.pop('parameter_overrides', None) or [])
        if embodiment:
            overrides.append(Parameter('embodiment', value=embodiment))
        super().__init__('teleop', namespace=namespace, parameter_overrides=overrides, **kwargs)
        self.embodiment = declare(self, 'embodiment', 'arm', f"the robot's kind: {', '.join(EMBODIMENTS)}")
        rate = declare(self, 'rate_hz', 20.0, 'how often set-points are streamed while teleop is engaged')
        key_hold = declare(self, 'key_hold_s', 0.7, 'a key counts as held this long after its last press or '
                                                    "repeat (longer than the terminal's key-repeat delay)")
        self.frame_id = declare(self, 'frame_id', 'world', 'frame of the set-points (the robot base frame)')
        self.takeoff_height = declare(self, 'takeoff_height', 1.0, 'quadrotor: take-off height, m')
        if self.embodiment not in EMBODIMENTS:
            raise ValueError(f"parameter 'embodiment' must be one of {EMBODIMENTS}, got '{self.embodiment}'")
        if not (math.isfinite(rate) and 1.0 <= rate <= 200.0):
            raise ValueError(f"parameter 'rate_hz' must be in [1, 200], got {rate}")
        if not (math.isfinite(key_hold) and 0.05 <= key_hold <= 5.0):
            raise ValueError(f"parameter 'key_hold_s' must be in [0.05, 5] s, got {key_hold}")
        if not (math.isfinite(self.takeoff_height) and self.takeoff_height > 0):
            raise ValueError(f"parameter 'takeoff_height' must be positive, got {self.takeoff_height}")

        self.teleop = Teleop(self.embodiment, key_hold=key_hold)
        self.gamepad = Gamepad()
        self._lock = threading.Lock()  # the screen thread and the executor share the core
        self.control = '?'  # who the driver says is in control
        self.driver_message = 'no driver_status yet'
        self.messages = collections.deque(maxlen=6)
        self._gripper_width = None
        self.correction_pub = self.create_publisher(Correction, 'corrections', 10)
        self.create_subscription(DiagnosticStatus, 'driver_status', self._on_status, 10)
        if self.embodiment == 'arm':
            self.create_subscription(PoseStamped, 'ee_pose', self._on_ee_pose, 10)
            self.create_subscription(JointState, 'joint_states', self._on_arm_joints, 10)
            self.pose_pub = self.create_publisher(PoseStamped, 'teleop/ee_pose_command', 10)
            self.gripper_pub = self.create_publisher(Float64, 'teleop/gripper_command', 10)
        elif self.embodiment == 'hand':
            self.create_subscription(JointState, 'joint_states', self._on_hand_joints, 10)
            self.joint_pub = self.create_publisher(JointState, 'teleop/joint_commands', 10)
        else:
            self.create_subscription(Odometry, 'odom', self._on_odom, 10)
            self.setpoint_pub = self.create_publisher(PoseStamped, 'teleop/setpoint_position', 10)
            self.arm_client = self.create_client(SetBool, 'arm')
            self.takeoff_client = self.create_client(Takeoff, 'takeoff')
            self.land_client = self.create_client(Trigger, 'land')
        self.create_timer(1.0 / rate, self._tick)

    # -- robot state --------------------------------------------------------

    def _observe(self, pose: Pose) -> None:
        with self._lock:
            self.teleop.observe(pose)

    def _on_ee_pose(self, msg: PoseStamped) -> None:
        if self._gripper_width is None:
            return
        p, q = msg.pose.position, msg.pose.orientation
        self._observe(Pose((p.x, p.y, p.z), (q.w, q.x, q.y, q.z), self._gripper_width))

    def _on_arm_joints(self, msg: JointState) -> None:
        if 'gripper' in msg.name:
            self._gripper_width = float(msg.position[list(msg.name).index('gripper')])

    def _on_hand_joints(self, msg: JointState) -> None:
        try:
            robot = hand_observation(msg.name, msg.position)
        except ValueError:
            return  # a partial joint state: wait for a whole one
        self._observe(Pose(robot.position, robot.quaternion, closure(robot)))

    def _on_odom(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        self._observe(Pose((p.x, p.y, p.z), (q.w, q.x, q.y, q.z)))

    def _on_status(self, msg: DiagnosticStatus) -> None:
        values = {kv.key: kv.value for kv in msg.values}
        self.control = json.loads(values['control']) if 'control' in values else '?'
        self.driver_message = msg.message

    # -- operator input ------------------------------------------------------

    def key(self, name: str) -> Action:
        """A key press from the screen; take-off and land are service calls, the rest teleop/core decides."""
        with self._lock:
            action = self.teleop.key(name, time.monotonic())
            has_state = self.teleop.pose is not None
        if action.kind in ('move', 'grip') and not has_state:
            self.say('no robot state yet: is the driver running?')
        elif action.kind == 'takeoff':
            self._take_off()
        elif action.kind == 'land':
            self._call(self.land_client, Trigger.Request(), 'land')
        return action

    def gamepad_events(self, events) -> None:
        """Joystick events from the screen loop: stick rates engage teleop, buttons act on press.
        The core keeps moving the target while a stick stays deflected (events come only on change)."""
        if not events:
            return
        for event in events:
            self.gamepad.apply(event)
        grip = None
        for action in self.gamepad.actions():
            if action in ('open', 'close') and self.embodiment != 'quadrotor':
                grip = action
            elif action == 'takeoff' and self.embodiment == 'quadrotor':
                self._take_off()
            elif action == 'land' and self.embodiment == 'quadrotor':
                self._call(self.land_client, Trigger.Request(), 'land')
        with self._lock:
            self.teleop.gamepad(self.gamepad.rates(), time.monotonic(), grip)

    def correct(self, text: str) -> None:
        """A typed language correction, to the scheduler as from the operator."""
        self._publish_correction(text, 'operator')
        self.say(f'correction sent: "{text}"')

    def say(self, text: str) -> None:
        self.messages.append(text)

    # -- output ---------------------------------------------------------------

    def let_go(self) -> None:
        """End an engagement now (on quitting), recording it."""
        with self._lock:
            self.teleop.release(time.monotonic())
        self._tick()

    def _tick(self) -> None:
        with self._lock:
            target = self.teleop.tick(time.monotonic())
            finished, self.teleop.finished = self.teleop.finished, []
        if target is not None:
            self._send(target)
        for intervention in finished:
            text = intervention.text()
            self._publish_correction(text, 'teleop')
            self.say(text)

    def _send(self, target: Target) -> None:
        stamp = self.get_clock().now().to_msg()
        if self.embodiment == 'hand':
            joints = hand_joint_targets(target)
            msg = JointState(name=list(joints), position=list(joints.values()))
            msg.header.stamp = stamp
            self.joint_pub.publish(msg)
            return
        msg = PoseStamped()
        msg.header.stamp, msg.header.frame_id = stamp, self.frame_id
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in target.position)
        o = msg.pose.orientation
        o.w, o.x, o.y, o.z = (float(v) for v in target.quaternion)
        if self.embodiment == 'arm':
            self.pose_pub.publish(msg)
            self.gripper_pub.publish(Float64(data=float(target.grip)))
        else:
            self.setpoint_pub.publish(msg)

    def _publish_correction(self, text: str, source: str) -> None:
        msg = Correction(text=text, source=source)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.correction_pub.publish(msg)
        self.get_logger().info(f'correction from {source}: {text}')

    def _take_off(self) -> None:
        """Arm, then take off to takeoff_height (the driver refuses either with the reason)."""
        def armed(future) -> None:
            if future.result() is not None and future.result().success:
                self._call(self.takeoff_client, Takeoff.Request(height=float(self.takeoff_height)), 'take-off')

        self._call(self.arm_client, SetBool.Request(data=True), 'arm', armed)

    def _call(self, client, request, what: str, then=None) -> None:
        if not client.service_is_ready():
            self.say(f'{what}: service {client.srv_name} is not available')
            return
        future = client.call_async(request)

        def done(future) -> None:
            response = future.result()
            self.say(f'{what}: ' + ('no answer' if response is None else
                                    f"{'ok' if response.success else 'refused'}: {response.message}"))
            if then is not None:
                then(future)

        future.add_done_callback(done)

    # -- the screen -----------------------------------------------------------

    def view(self) -> List[str]:
        """What the screen shows of the robot and of teleop."""
        with self._lock:
            pose, target, engaged = self.teleop.pose, self.teleop.target, self.teleop.engaged
        ns = self.get_namespace()
        lines = [f'skill-stack teleop: {self.embodiment} at {ns}    in control: {self.control}'
                 f"{'  (teleop engaged)' if engaged else ''}",
                 f'driver: {self.driver_message}']
        if pose is None:
            lines.append('robot: no state yet')
        else:
            lines.append(f"robot:  [{', '.join(f'{v:+.3f}' for v in pose.position)}] m  grip {pose.grip:.3f}")
        if target is not None:
            lines.append(f"target: [{', '.join(f'{v:+.3f}' for v in target.position)}] m  grip {target.grip:.3f}")
        return lines


def main() -> int:
    """``ros2 run skill_stack teleop [skill-stack teleop options]``: the keyboard screen in this terminal."""
    from rclpy.utilities import remove_ros_args

    from skill_stack.cli.main import main as cli_main

    return cli_main(['teleop', *remove_ros_args(sys.argv)[1:]])
