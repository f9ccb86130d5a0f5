"""The ``sim`` node: MuJoCo playing the robot and its RGB-D camera.

It runs the same drivers as real hardware (limits, watchdog, e-stop) with
simulated backends, and exposes the same ROS interface (`device_interface`),
plus what the camera publishes and ``/clock``, so the rest of the stack cannot
tell it from hardware. Physics, drivers, rendering and publishing run in one
simulation thread that owns the world (and its GL context); ROS callbacks only
hand commands and requests to that thread.
"""

import json
import math
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from rclpy._rclpy_pybind11 import RCLError
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu
from std_msgs.msg import Header

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import load_arm_config, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.quadrotor import QuadrotorDriver, load_quadrotor_config
from skill_stack.drivers.quadrotor_sim import make_sim_backend
from skill_stack.drivers.sim_backends import SimCameraBackend, SimGripperBackend, SimJointBackend
from skill_stack.nodes.camera_interface import CameraInterface, ros_time
from skill_stack.nodes.device_interface import ArmInterface, ControlQueue, HandInterface, QuadrotorInterface
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.sim.scene_file import load_scene
from skill_stack.sim.world import World
from skill_stack.srv import GetWorldState, ResetScene

STATUS_RATE_HZ = 10.0  # driver_status reports


def survive_publishing(logger, publish: Callable[..., None], *args) -> bool:
    """Run one tick's publishing; a message DDS cannot take (resources exhausted under load, a peer gone) is
    reported and the simulation goes on - the world must not stop because one message did not go out (the
    physics thread died of it once, and the stack hung with no word)."""
    try:
        publish(*args)
        return True
    except RCLError as exc:
        logger.warning(f'publishing failed, the simulation goes on: {exc}', throttle_duration_sec=5.0)
        return False


@dataclass
class SimParams:
    """The node's parameters, validated; a bad value names the parameter."""

    scene: str
    embodiment: str
    driver_config: str
    real_time: bool
    render: bool
    camera_rate_hz: float
    joint_state_rate_hz: float
    frame_id: str

    def validate(self) -> None:
        if not self.scene:
            raise ValueError("parameter 'scene' is required: a scene file path")
        if self.embodiment not in ('', 'arm', 'hand', 'quadrotor'):
            raise ValueError(f"parameter 'embodiment' must be arm, hand, quadrotor or empty, got '{self.embodiment}'")
        for name in ('camera_rate_hz', 'joint_state_rate_hz'):
            value = getattr(self, name)
            if not math.isfinite(value) or not 0.0 < value <= 1000.0:
                raise ValueError(f"parameter '{name}' must be in (0, 1000] Hz, got {value}")


class SimNode(Node):
    def __init__(self):
        super().__init__('sim')
        route_python_logging(self)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.params = SimParams(
            scene=declare(self, 'scene', '', 'scene file (YAML, see docs/architecture.md) to build the world from'),
            embodiment=declare(self, 'embodiment', '', 'if set, the embodiment the scene must have'),
            driver_config=declare(self, 'driver_config', '',
                                   "driver limits file; empty: the package's config/<embodiment>.yaml"),
            real_time=declare(self, 'real_time', True, 'pace physics to the wall clock; false: as fast as possible'),
            render=declare(self, 'render', True, 'render and publish the RGB-D camera'),
            camera_rate_hz=declare(self, 'camera_rate_hz', 15.0, 'camera frame rate in simulated time'),
            joint_state_rate_hz=declare(self, 'joint_state_rate_hz', 100.0, 'joint state rate in simulated time'),
            frame_id=declare(self, 'frame_id', 'world', 'frame of the world and the robot base'),
        )
        self.params.validate()
        scene = load_scene(self.params.scene)
        if self.params.embodiment and scene.embodiment != self.params.embodiment:
            raise ValueError(f"scene '{self.params.scene}' is a {scene.embodiment} scene; parameter "
                             f"'embodiment' asks for {self.params.embodiment}")

        self.clock_pub = self.create_publisher(Clock, '/clock', 10)
        self.camera_interface = CameraInterface(self)

        self.control = ControlQueue(self)
        self.world: Optional[World] = None  # these three live in the sim thread
        self.driver = None
        self.device = None
        self.imu_pub = None  # quadrotor only
        self.camera = None  # the device's ROS interface, made with the world in the sim thread
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

    async def on_get_world_state(self, request, response):
        """Ground truth, read in the sim thread between steps (only evaluation asks for it)."""
        answer = {}

        def read() -> None:
            truth = self.world.ground_truth()
            truth['time'] = self.world.time
            answer['json'] = json.dumps(truth)

        await self.control.call('world state', read)
        response.world_json = answer.get('json', '{}')
        return response

    async def on_reset(self, request, response):
        path = request.scene_path
        ok, reason = await self.control.call('reset', lambda: self._reset(path))
        response.success = ok
        response.message = reason or f"reset to '{path or 'the start of the current scene'}'"
        return response

    # -- simulation thread ------------------------------------------------

    def _run(self, scene) -> None:
        try:
            self.world = World(scene)
            self._start_device()
        except Exception as exc:  # noqa: BLE001 - reported to the constructor, which raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        world = self.world
        self.get_logger().info(
            f"scene '{self.params.scene}': {scene.embodiment}, {len(scene.objects)} objects; "
            f'physics {1.0 / world.timestep:.0f} Hz, control and state {self.params.joint_state_rate_hz:g} Hz, '
            f"camera {self.params.camera_rate_hz:g} Hz{'' if self.params.render else ' (off)'}, "
            f"{'real time' if self.params.real_time else 'as fast as possible'}")
        steps_per_tick = max(1, round(1.0 / (self.params.joint_state_rate_hz * world.timestep)))
        camera_period = 1.0 / self.params.camera_rate_hz
        status_every = max(1, round(self.params.joint_state_rate_hz / STATUS_RATE_HZ))
        next_frame = world.time
        wall_start, sim_start = time.monotonic(), world.time
        tick = 0
        while not self._stop.is_set():
            self.control.run_pending()
            if world.time < next_frame - camera_period:  # the world was reset
                next_frame = world.time
                wall_start, sim_start = time.monotonic(), world.time
            self.driver.update()
            self._step(steps_per_tick)
            stamp = ros_time(world.time)
            frame = self.params.render and world.time >= next_frame
            survive_publishing(self.get_logger(), self._publish_tick, world, stamp, tick % status_every == 0, frame)
            tick += 1
            if frame:
                next_frame += camera_period
            if self.params.real_time:
                lag = (world.time - sim_start) - (time.monotonic() - wall_start)
                if lag > 0:
                    self._stop.wait(lag)

    def _publish_tick(self, world, stamp, status: bool, frame: bool) -> None:
        self.clock_pub.publish(Clock(clock=stamp))
        self.device.publish(stamp)
        if self.imu_pub is not None:
            self._publish_imu(world, stamp)
        if status:
            self.device.publish_status()
        if frame:
            self.camera_interface.publish(self.camera.read(), stamp)

    def _start_device(self) -> None:
        """The scene's robot: its driver on simulated backends, behind the device's ROS interface."""
        world = self.world
        config = self.params.driver_config or None
        frame = self.params.frame_id

        def clock() -> float:
            return world.time

        if world.embodiment == 'arm':
            self.driver = ArmDriver(SimJointBackend(world), SimGripperBackend(world), load_arm_config(config), clock)
            self._step = world.step
            interface = ArmInterface
        elif world.embodiment == 'hand':
            self.driver = HandDriver(SimJointBackend(world), load_hand_config(config), clock)
            self._step = world.step
            interface = HandInterface
        else:
            quad_config = load_quadrotor_config(config)
            backend = make_sim_backend(world, quad_config)
            self.driver = QuadrotorDriver(backend, quad_config, clock)
            self._step = backend.step  # the flight controller runs before every physics step
            interface = QuadrotorInterface
            if self.imu_pub is None:
                self.imu_pub = self.create_publisher(Imu, 'imu', 10)
        self.driver.connect()
        self.camera = SimCameraBackend(world)
        self.camera.connect()
        if self.device is None:
            self.device = interface(self, self.driver, self.control, frame)
        else:
            self.device.driver = self.driver

    def _reset(self, path: str) -> None:
        """In the sim thread: back to the scene's start, or to another scene of the same embodiment."""
        scene = load_scene(path) if path else None
        if scene is not None and scene.embodiment != self.world.embodiment:
            raise ValueError(f"scene '{path}' is a {scene.embodiment} scene; this sim runs a {self.world.embodiment}")
        self.world.reset(scene)
        self._start_device()

    def _publish_imu(self, world: World, stamp) -> None:
        imu, odometry = world.imu(), world.odometry()
        msg = Imu(header=Header(stamp=stamp, frame_id='base_link'))
        msg.orientation.w, msg.orientation.x, msg.orientation.y, msg.orientation.z = odometry['quaternion'].tolist()
        msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = imu['angular_velocity'].tolist()
        a = msg.linear_acceleration
        a.x, a.y, a.z = imu['linear_acceleration'].tolist()
        self.imu_pub.publish(msg)

    def destroy_node(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        return super().destroy_node()


def main() -> int:
    return run_node(SimNode, 'sim')


if __name__ == '__main__':
    sys.exit(main())
