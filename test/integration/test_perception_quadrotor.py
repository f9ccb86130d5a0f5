"""Perception with the camera on a moving body: the quadrotor's downward camera, placed by its odometry.

The flight: the simulated quadrotor takes off, flies over a landing pad of
config/scenes/quadrotor_pads.yaml and hovers; every scene taken at 1-1.5 m with
the pad under the vehicle has the pad within 5 cm of where the scene file puts
it. Without the simulator, synthetic frames and odometry show the node
explaining - never crashing on - odometry that is missing, late or NaN, and
bad mount parameters stop it at start-up with their names.
"""

import math
import signal
import subprocess

import numpy as np
import pytest
import rclpy
import yaml
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from std_srvs.srv import SetBool

from skill_stack.msg import Scene
from skill_stack.nodes.convert import camera_info, numpy_to_image
from skill_stack.srv import Takeoff

from repo_paths import CLI, REPO
from ros_helpers import call, spin_until

pytestmark = pytest.mark.integration

CAMERA_CONFIG = REPO / 'config' / 'camera_sim_quadrotor.yaml'
PAD = 'red_pad'
HOVER_HEIGHT = 1.25


def _launch(ros_env, name, *args):
    return subprocess.Popen([str(CLI), 'launch', name, *args], env=ros_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _stop(procs):
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0, output


@pytest.fixture
def client(ros_env):
    rclpy.init()
    node = rclpy.create_node('perception_quadrotor_test')
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


def _perception(ros_env, namespace):
    return _launch(ros_env, 'perception', f'namespace:={namespace}', 'embodiment:=quadrotor',
                   f'camera_config:={CAMERA_CONFIG}', 'camera_mount_odom:=odom')


@pytest.mark.slow
def test_a_pad_seen_from_the_flying_quadrotor_is_where_the_scene_file_puts_it(ros_env, client, record_property):
    procs = [_launch(ros_env, 'sim_quadrotor'), _perception(ros_env, 'quadrotor')]
    try:
        _fly_over_the_pad_and_check(client, record_property)
    finally:
        _stop(procs)


def _fly_over_the_pad_and_check(node, record_property):
    scene_file = yaml.safe_load((REPO / 'config' / 'scenes' / 'quadrotor_pads.yaml').read_text())
    pad = next(o for o in scene_file['objects'] if o['name'] == PAD)
    pad_xy = np.array(pad['position'], float)
    odom_stamps, odom_positions, scenes = [], [], []

    def on_odom(msg):
        p = msg.pose.pose.position
        odom_stamps.append(_seconds(msg.header.stamp))
        odom_positions.append((p.x, p.y, p.z))

    node.create_subscription(Odometry, '/quadrotor/odom', on_odom, 50)
    node.create_subscription(Scene, '/quadrotor/scene', scenes.append, 50)
    assert spin_until(node, lambda: odom_positions and scenes, 90), 'no odometry or no scene'

    def position():
        return np.array(odom_positions[-1])

    assert call(node, SetBool, '/quadrotor/arm', SetBool.Request(data=True)).success
    assert call(node, Takeoff, '/quadrotor/takeoff', Takeoff.Request(height=HOVER_HEIGHT)).success
    assert spin_until(node, lambda: abs(position()[2] - HOVER_HEIGHT) < 0.1, 60), position()

    setpoint = PoseStamped(header=Header(frame_id='world'))
    setpoint.pose.position.x, setpoint.pose.position.y, setpoint.pose.position.z = *pad_xy, HOVER_HEIGHT
    stream = node.create_publisher(PoseStamped, '/quadrotor/setpoint_position', 10)
    first_over = len(scenes)

    def over_the_pad():
        return float(np.linalg.norm(position()[:2] - pad_xy)) < 0.05 and abs(position()[2] - HOVER_HEIGHT) < 0.1

    assert spin_until(node, over_the_pad, 60, every=lambda: stream.publish(setpoint)), position()
    hover_from = len(scenes)
    assert spin_until(node, lambda: len(scenes) >= hover_from + 12, 60, every=lambda: stream.publish(setpoint)), \
        f'{len(scenes) - hover_from} scenes while hovering'

    # Every scene taken at 1-1.5 m with the vehicle within 0.15 m of the pad centre (the whole pad in view,
    # in flight or hovering): the pad is there, a red pad, within 5 cm of the scene file's position.
    # On a loaded machine the simulator's odometry stream loses a sample now and then; a scene whose
    # image has none within the tolerance says so, and only a few may.
    order = np.argsort(odom_stamps, kind='stable')
    stamps, positions = np.array(odom_stamps)[order], np.array(odom_positions)[order]
    errors, no_odometry = [], []
    for scene in scenes[first_over:]:
        stamp = _seconds(scene.header.stamp)
        index = int(np.argmin(np.abs(stamps - stamp)))
        if abs(stamps[index] - stamp) > 0.011:
            continue  # this client missed the odometry of the image's time: nothing to judge the scene by
        vehicle = positions[index]
        if not (1.0 <= vehicle[2] <= 1.5 and np.linalg.norm(vehicle[:2] - pad_xy) < 0.15):
            continue
        assert scene.header.frame_id == 'world'
        if scene.status.startswith("no odometry on '/quadrotor/odom' within 0.02 s of the image"):
            no_odometry.append(scene.status)
            continue
        assert scene.status == 'ok', scene.status
        pads = [o for o in scene.objects if o.label == 'pad' and o.color == pad['color']]
        assert pads, [(o.label, o.color) for o in scene.objects]
        found = min(pads, key=lambda o: math.hypot(o.pose.position.x - pad_xy[0], o.pose.position.y - pad_xy[1]))
        errors.append(math.hypot(found.pose.position.x - pad_xy[0], found.pose.position.y - pad_xy[1]))
    assert len(errors) >= 8, f'only {len(errors)} scenes taken at 1-1.5 m over the pad'
    assert len(no_odometry) <= 0.2 * len(errors), no_odometry
    record_property('pad_error_m_max', max(errors))
    record_property('pad_error_m_median', float(np.median(errors)))
    record_property('scenes_checked', len(errors))
    record_property('scenes_without_odometry', len(no_odometry))
    assert max(errors) < 0.05, f'pad error up to {max(errors):.3f} m over {len(errors)} scenes'


# --- the node on its own, with synthetic frames ------------------------------------------------------------

WIDTH, HEIGHT, F = 320, 240, 300.0
BODY = (2.0, 1.0, 1.022)  # the camera (22 mm under the body origin) 1 m above the ground
YAW_90 = (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))  # body forward = world +y


def _frame():
    """A level downward camera 1 m above grey ground, a red 0.1 m pad 5 mm thick 100 px right of the centre."""
    rgb = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    depth = np.full((HEIGHT, WIDTH), 1.0, np.float32)
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH]
    disc = np.hypot(u - ((WIDTH - 1) / 2 + 100), v - (HEIGHT - 1) / 2) < 0.1 * F / 0.995
    rgb[disc] = (200, 30, 30)
    depth[disc] = 0.995
    return rgb, depth


class FakeRobot:
    """Publishes what the quadrotor's camera and odometry would, with chosen stamps and contents."""

    def __init__(self, node, ns):
        self.node = node
        self.color = node.create_publisher(Image, f'{ns}/camera/color/image_raw', 2)
        self.depth = node.create_publisher(Image, f'{ns}/camera/depth/image_raw', 2)
        self.info = node.create_publisher(CameraInfo, f'{ns}/camera/color/camera_info', 2)
        self.odom = node.create_publisher(Odometry, f'{ns}/odom', 10)
        self.scenes = []
        self.scene_sub = node.create_subscription(Scene, f'{ns}/scene', self.scenes.append, 10)
        self.rgb, self.depth_m = _frame()

    def connected(self):
        return all(p.get_subscription_count() > 0 for p in (self.color, self.depth, self.info, self.odom)) and \
            self.scene_sub.get_publisher_count() > 0

    def send_odometry(self, stamp, position, quaternion, frame_id='world'):
        msg = Odometry(header=Header(stamp=_stamp(stamp), frame_id=frame_id), child_frame_id='base_link')
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        p.x, p.y, p.z = position
        q.w, q.x, q.y, q.z = quaternion
        self.odom.publish(msg)
        spin_until(self.node, lambda: False, 0.3)  # let it arrive before the image it belongs to

    def send_frame(self, stamp):
        """One colour + depth pair; returns the scene the node publishes for it."""
        header = Header(stamp=_stamp(stamp), frame_id='camera_color_optical_frame')
        before = len(self.scenes)
        self.info.publish(camera_info(F, F, (WIDTH - 1) / 2, (HEIGHT - 1) / 2, WIDTH, HEIGHT, header))
        spin_until(self.node, lambda: False, 0.2)  # intrinsics first, as a driver's come long before
        self.color.publish(numpy_to_image(self.rgb, 'rgb8', header))
        self.depth.publish(numpy_to_image(self.depth_m, '32FC1', header))
        assert spin_until(self.node, lambda: any(_seconds(s.header.stamp) == pytest.approx(stamp)
                                                 for s in self.scenes[before:]), 30), f'no scene for {stamp}'
        return next(s for s in self.scenes[before:] if _seconds(s.header.stamp) == pytest.approx(stamp))


def test_missing_late_nan_and_foreign_odometry_give_a_status_never_a_crash(ros_env, client):
    procs = [_perception(ros_env, 'fake')]
    try:
        robot = FakeRobot(client, '/fake')
        assert spin_until(client, robot.connected, 60), 'perception node not up'

        scene = robot.send_frame(10.0)
        assert scene.objects == []
        assert scene.status.startswith("no odometry received on '/fake/odom'"), scene.status

        robot.send_odometry(9.5, BODY, YAW_90)
        scene = robot.send_frame(10.0)
        assert "no odometry on '/fake/odom' within 0.02 s of the image (nearest 0.500 s away)" in scene.status

        robot.send_odometry(11.0, (math.nan, 1.0, 1.022), YAW_90)
        scene = robot.send_frame(11.0)
        assert scene.objects == []
        assert "odometry on '/fake/odom' at the image's time is not a usable pose: body position" in scene.status

        robot.send_odometry(12.0, BODY, (math.nan, 0.0, 0.0, 0.0))
        assert 'body orientation' in robot.send_frame(12.0).status

        robot.send_odometry(13.0, BODY, YAW_90, frame_id='map')
        assert "it is in frame 'map', the scene in 'world'" in robot.send_frame(13.0).status

        # Still alive, and a good sample places the pad: 100 px right of the centre at 1 m is 0.333 m to the
        # camera's right, body -y, which is world +x with the body turned 90 degrees left.
        robot.send_odometry(14.0, BODY, YAW_90)
        scene = robot.send_frame(14.0)
        assert scene.status == 'ok', scene.status
        (found,) = scene.objects
        assert (found.label, found.color) == ('pad', 'red')
        assert (found.pose.position.x, found.pose.position.y) == pytest.approx((2.0 + 100 / F, 1.0), abs=0.01)
    finally:
        _stop(procs)


@pytest.mark.parametrize(('params', 'message'), [
    (['camera_mount_odom:=bad topic'], "parameter 'camera_mount_odom' must be a topic name"),
    (['camera_mount_odom:=odom', 'camera_mount_tolerance_s:=0.0'], "parameter 'camera_mount_tolerance_s'"),
    (['camera_mount_odom:=odom', 'camera_mount_tolerance_s:=.nan'], "parameter 'camera_mount_tolerance_s'"),
])
def test_bad_mount_parameters_stop_the_node_at_start_up_with_the_name(ros_env, params, message):
    exe = REPO / 'install' / 'skill_stack' / 'lib' / 'skill_stack' / 'perception'
    args = [a for p in params for a in ('-p', p)]
    result = subprocess.run([str(exe), '--ros-args', *args], env=ros_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr + result.stdout


def _seconds(stamp):
    return stamp.sec + stamp.nanosec * 1e-9


def _stamp(seconds):
    sec = int(seconds)
    return Time(sec=sec, nanosec=round((seconds - sec) * 1e9))
