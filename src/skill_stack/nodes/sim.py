"""The ``sim`` node: MuJoCo playing the robot and its RGB-D camera.

It publishes what the real drivers and camera publish (joint states, colour,
depth, camera_info, ``/clock``) and accepts the same commands, so the rest of
the stack cannot tell it from hardware. Physics, rendering and publishing run
in one simulation thread that owns the world (and its GL context); ROS
callbacks only hand commands and requests to that thread.
"""

import json
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Optional

import rclpy
from builtin_interfaces.msg import Time
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Header

from skill_stack.nodes.convert import camera_info, numpy_to_image
from skill_stack.sim.scene_file import SceneFileError, load_scene
from skill_stack.sim.world import World
from skill_stack.srv import GetWorldState, ResetScene


@dataclass
class SimParams:
    """The node's parameters, validated; a bad value names the parameter."""

    scene: str
    real_time: bool
    render: bool
    camera_rate_hz: float
    joint_state_rate_hz: float
    frame_id: str

    def validate(self) -> None:
        if not self.scene:
            raise ValueError("parameter 'scene' is required: a scene file path")
        for name in ('camera_rate_hz', 'joint_state_rate_hz'):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0.0 < value <= 1000.0:
                raise ValueError(f"parameter '{name}' must be in (0, 1000] Hz, got {value}")


def _declare(node: Node, name: str, default, description: str):
    return node.declare_parameter(name, default, ParameterDescriptor(description=description)).value


class SimNode(Node):
    def __init__(self):
        super().__init__('sim')
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.params = SimParams(
            scene=_declare(self, 'scene', '', 'scene file (YAML, see DESIGN.md) to build the world from'),
            real_time=_declare(self, 'real_time', True, 'pace physics to the wall clock; false: as fast as possible'),
            render=_declare(self, 'render', True, 'render and publish the RGB-D camera'),
            camera_rate_hz=_declare(self, 'camera_rate_hz', 15.0, 'camera frame rate in simulated time'),
            joint_state_rate_hz=_declare(self, 'joint_state_rate_hz', 100.0, 'joint state rate in simulated time'),
            frame_id=_declare(self, 'frame_id', 'world', 'frame of the world and the robot base'),
        )
        self.params.validate()
        scene = load_scene(self.params.scene)

        # Reliable, like realsense-ros: a 1 MB frame split into best-effort UDP
        # fragments is often lost whole. Best-effort subscribers still match.
        sensor_qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self.joint_pub = self.create_publisher(JointState, 'joint_states', 10)
        self.color_pub = self.create_publisher(Image, 'camera/color/image_raw', sensor_qos)
        self.depth_pub = self.create_publisher(Image, 'camera/depth/image_raw', sensor_qos)
        self.color_info_pub = self.create_publisher(CameraInfo, 'camera/color/camera_info', sensor_qos)
        self.depth_info_pub = self.create_publisher(CameraInfo, 'camera/depth/camera_info', sensor_qos)

        self._commands: queue.Queue = queue.Queue()
        self._world_lock = threading.Lock()
        self._world_json = '{}'
        commands = MutuallyExclusiveCallbackGroup()
        self.create_subscription(JointState, 'joint_commands', self.on_joint_command, 10,
                                 callback_group=commands)
        services = ReentrantCallbackGroup()
        self.create_service(GetWorldState, 'sim/get_world_state', self.on_get_world_state,
                            callback_group=services)
        self.create_service(ResetScene, 'sim/reset', self.on_reset, callback_group=services)

        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(scene,), name='sim', daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    # -- ROS callbacks: hand work to the simulation thread ----------------

    def on_joint_command(self, msg: JointState) -> None:
        problem = _joint_command_problem(msg)
        if problem:
            self.get_logger().error(f'joint command refused: {problem}')
            return
        self._commands.put(('joints', dict(zip(msg.name, msg.position, strict=True))))

    def on_get_world_state(self, request, response):
        with self._world_lock:
            response.world_json = self._world_json
        return response

    async def on_reset(self, request, response):
        done = Future()
        self._commands.put(('reset', request.scene_path, done))
        success, message = await done
        response.success, response.message = success, message
        return response

    # -- simulation thread ------------------------------------------------

    def _run(self, scene) -> None:
        try:
            world = World(scene)
        except Exception as exc:  # noqa: BLE001 - reported to the constructor, which raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.get_logger().info(
            f"scene '{self.params.scene}': {scene.embodiment}, {len(scene.objects)} objects; "
            f'physics {1.0 / world.timestep:.0f} Hz, joint states {self.params.joint_state_rate_hz:g} Hz, '
            f"camera {self.params.camera_rate_hz:g} Hz{'' if self.params.render else ' (off)'}, "
            f"{'real time' if self.params.real_time else 'as fast as possible'}")
        steps_per_tick = max(1, round(1.0 / (self.params.joint_state_rate_hz * world.timestep)))
        camera_period = 1.0 / self.params.camera_rate_hz
        next_frame = world.time
        wall_start, sim_start = time.monotonic(), world.time
        while not self._stop.is_set():
            self._apply_commands(world)
            world.step(steps_per_tick)
            stamp = _stamp(world.time)
            self.clock_pub.publish(Clock(clock=stamp))
            self._publish_joints(world, stamp)
            if self.params.render and world.time >= next_frame:
                self._publish_camera(world, stamp)
                next_frame += camera_period
            with self._world_lock:
                truth = world.ground_truth()
                truth['time'] = world.time
                self._world_json = json.dumps(truth)
            if self.params.real_time:
                lag = (world.time - sim_start) - (time.monotonic() - wall_start)
                if lag > 0:
                    self._stop.wait(lag)

    def _apply_commands(self, world: World) -> None:
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return
            if item[0] == 'joints':
                unknown = sorted(set(item[1]) - set(world.joint_names))
                if unknown:
                    self.get_logger().error(f'joint command refused: unknown joint(s) {unknown}')
                    continue
                world.set_joint_targets(item[1])
            elif item[0] == 'reset':
                _, path, done = item
                try:
                    world.reset(load_scene(path) if path else None)
                    done.set_result((True, f"reset to '{path or 'the current scene'}'"))
                except (SceneFileError, OSError, ValueError) as exc:
                    done.set_result((False, str(exc)))
                # The awaiting service callback resumes on the executor's next wake-up.
                if self.executor is not None:
                    self.executor.wake()

    def _publish_joints(self, world: World, stamp) -> None:
        msg = JointState(header=Header(stamp=stamp, frame_id=self.params.frame_id))
        msg.name = list(world.joint_names)
        msg.position = world.joint_positions().tolist()
        msg.velocity = world.joint_velocities().tolist()
        self.joint_pub.publish(msg)

    def _publish_camera(self, world: World, stamp) -> None:
        rgb, depth = world.render()
        header = Header(stamp=stamp, frame_id='camera_color_optical_frame')
        fx, fy, cx, cy, width, height = world.camera_intrinsics()
        info = camera_info(fx, fy, cx, cy, width, height, header)
        self.color_pub.publish(numpy_to_image(rgb, 'rgb8', header))
        self.depth_pub.publish(numpy_to_image(depth, '32FC1', header))
        self.color_info_pub.publish(info)
        self.depth_info_pub.publish(info)

    def destroy_node(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        return super().destroy_node()


def _joint_command_problem(msg: JointState) -> Optional[str]:
    if len(msg.name) != len(msg.position):
        return f'{len(msg.name)} names but {len(msg.position)} positions'
    for name, value in zip(msg.name, msg.position, strict=True):
        if not math.isfinite(value):
            return f"joint '{name}' position is {value}"
    return None


def _stamp(seconds: float) -> Time:
    sec = int(seconds)
    return Time(sec=sec, nanosec=round((seconds - sec) * 1e9) % 1_000_000_000)


def main(args=None) -> int:
    rclpy.init(args=args)
    try:
        node = SimNode()
    except (ValueError, SceneFileError, OSError) as exc:
        rclpy.logging.get_logger('sim').fatal(str(exc))
        rclpy.try_shutdown()
        return 2
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
