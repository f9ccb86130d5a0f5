"""The simulated robots through the drivers' ROS interface, launched like a user would.

Arm: a Cartesian target through IK, read back within 5 mm; e-stop latches and
bad commands are refused with the reason on ``driver_status``. Hand: close
every finger joint. Quadrotor: take off, fly to a 3D set-point, land.
"""

import json
import signal
import subprocess

import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64
from std_srvs.srv import SetBool, Trigger

from skill_stack.srv import GetWorldState, Takeoff

from repo_paths import CLI, REPO
from ros_helpers import call, spin_until

pytestmark = pytest.mark.integration


class Robot:
    """A test client: the latest joint states, ee pose and status of one simulated robot."""

    def __init__(self, node, ns):
        self.node, self.ns = node, ns
        self.joints, self.pose, self.status = {}, None, []
        node.create_subscription(JointState, f'{ns}/joint_states', self._on_joints, 10)
        node.create_subscription(PoseStamped, f'{ns}/ee_pose', self._on_pose, 10)
        node.create_subscription(DiagnosticStatus, f'{ns}/driver_status', self.status.append, 10)
        self.joint_cmd = node.create_publisher(JointState, f'{ns}/joint_commands', 10)

    def _on_joints(self, msg):
        self.joints = dict(zip(msg.name, msg.position, strict=True))

    def _on_pose(self, msg):
        self.pose = msg

    def spin_until(self, predicate, timeout, every=None):
        return spin_until(self.node, predicate, timeout, every)

    def call(self, srv_type, name, request, timeout=30.0):
        return call(self.node, srv_type, f'{self.ns}/{name}', request, timeout)


@pytest.fixture
def launch(ros_env):
    procs = []

    def start(name):
        proc = subprocess.Popen([str(CLI), 'launch', name], env=ros_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        rclpy.init()
        node = rclpy.create_node('device_test')
        return node

    yield start
    rclpy.try_shutdown()
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, output


def test_arm_cartesian_target_estop_and_refusals(launch):
    node = launch('sim_arm')
    arm = Robot(node, '/arm')
    assert arm.spin_until(lambda: arm.pose is not None and arm.joints, 60), 'no state from the arm'

    target = PoseStamped()
    target.header.frame_id = 'world'
    target.pose.position.x, target.pose.position.y, target.pose.position.z = 0.40, 0.10, 0.25
    target.pose.orientation = arm.pose.pose.orientation  # keep the start orientation (pointing down)
    pose_cmd = node.create_publisher(PoseStamped, '/arm/ee_pose_command', 10)

    def error():
        p = arm.pose.pose.position
        return ((p.x - 0.40) ** 2 + (p.y - 0.10) ** 2 + (p.z - 0.25) ** 2) ** 0.5

    # Commands stream (the watchdog holds the arm when they stop), as a skill would send them.
    assert arm.spin_until(lambda: error() < 0.005, 60, every=lambda: pose_cmd.publish(target)), \
        f'ee error {error():.4f} m'
    truth = json.loads(arm.call(GetWorldState, 'sim/get_world_state', GetWorldState.Request()).world_json)
    ee = truth['robots']['arm']['position']
    assert ee == pytest.approx([0.40, 0.10, 0.25], abs=0.005)

    # NaN and out-of-range commands are refused with the field named, and nothing moves.
    before = dict(arm.joints)
    arm.joint_cmd.publish(JointState(name=['joint2'], position=[float('nan')]))
    assert arm.spin_until(lambda: any("'joint2' is nan" in s.message for s in arm.status), 30)
    node.create_publisher(Float64, '/arm/gripper_command', 10).publish(Float64(data=0.5))
    assert arm.spin_until(lambda: any('gripper width 0.5000 m is outside' in s.message for s in arm.status), 30)
    # Refused, nothing moves; the arm may still settle from the pose stream (15 mrad seen on a loaded machine).
    assert abs(arm.joints['joint2'] - before['joint2']) < 0.03

    # The e-stop latches: commands are refused until it is released.
    assert arm.call(SetBool, 'estop', SetBool.Request(data=True)).success
    arm.joint_cmd.publish(JointState(name=['joint1'], position=[0.5]))
    assert arm.spin_until(lambda: any('e-stop engaged' in s.message for s in arm.status[-5:]), 30)
    assert abs(arm.joints['joint1'] - before['joint1']) < 0.03
    assert arm.call(SetBool, 'estop', SetBool.Request(data=False)).success


def test_hand_closes_every_finger_joint(launch):
    node = launch('sim_hand')
    hand = Robot(node, '/hand')
    assert hand.spin_until(lambda: hand.joints, 60), 'no state from the hand'
    limits = yaml.safe_load((REPO / 'config' / 'hand.yaml').read_text())['joints']
    fingers = [name for name in hand.joints if '_joint' in name]
    closed = {name: (limits[name]['upper'] if not name.endswith('joint0') else hand.joints[name])
              for name in fingers}
    start = dict(hand.joints)
    command = JointState(name=list(closed), position=list(closed.values()))

    def closed_enough():
        # Each flexion joint got most of the way; fingers may stop on each other or the palm.
        return all(abs(hand.joints[n] - closed[n]) < 0.3 * max(abs(closed[n] - start[n]), 0.05) + 0.05
                   for n in fingers)

    assert hand.spin_until(closed_enough, 60, every=lambda: hand.joint_cmd.publish(command)), \
        {n: round(hand.joints[n] - closed[n], 3) for n in fingers}


def test_quadrotor_takes_off_flies_to_a_setpoint_and_lands(launch):
    node = launch('sim_quadrotor')
    quad = Robot(node, '/quadrotor')
    odom = []
    node.create_subscription(Odometry, '/quadrotor/odom', odom.append, 10)
    assert quad.spin_until(lambda: odom, 60), 'no odometry from the quadrotor'

    def position():
        p = odom[-1].pose.pose.position
        return [p.x, p.y, p.z]

    assert quad.call(SetBool, 'arm', SetBool.Request(data=True)).success
    assert quad.call(Takeoff, 'takeoff', Takeoff.Request(height=1.0)).success
    assert quad.spin_until(lambda: abs(position()[2] - 1.0) < 0.05, 30), position()

    setpoint = PoseStamped()
    setpoint.header.frame_id = 'world'
    setpoint.pose.position.x, setpoint.pose.position.y, setpoint.pose.position.z = 1.0, -0.5, 1.5
    stream = node.create_publisher(PoseStamped, '/quadrotor/setpoint_position', 10)

    def at_setpoint():
        return all(abs(a - b) < 0.1 for a, b in zip(position(), [1.0, -0.5, 1.5], strict=True))

    assert quad.spin_until(at_setpoint, 60, every=lambda: stream.publish(setpoint)), position()

    # A set-point outside the geofence is refused and reported.
    outside = PoseStamped()
    outside.pose.position.x, outside.pose.position.z = 50.0, 1.0
    stream.publish(outside)
    assert quad.spin_until(lambda: any('geofence' in s.message for s in quad.status[-5:]), 30), \
        [s.message for s in quad.status[-5:]]

    assert quad.call(Trigger, 'land', Trigger.Request()).success
    assert quad.spin_until(lambda: position()[2] < 0.15 and any(
        v.key == 'armed' and v.value == 'false' for v in quad.status[-1].values), 60), position()
    assert position()[:2] == pytest.approx([1.0, -0.5], abs=0.15)
