"""The ``driver`` node: a real device (arm, hand or quadrotor, and optionally an RGB-D camera) behind the
same ROS interface as the sim node (`device_interface`, `camera_interface`), without the sim-only services.

The robot config (config/robots/<robot>.yaml) gives the driver's safety limits
and its ``backend`` section, which opens the vendor backend (drivers/backends/).
A control thread runs the driver at ``control_rate_hz`` on the wall clock: ROS
callbacks hand it commands through a `ControlQueue`, and every tick it checks
the link first (`LinkSupervisor`). When the link is lost or the device reports
a fault, the driver latches its e-stop (an arm or hand holds; a quadrotor whose
link is lost is in its flight controller's own failsafe, one that reports a
fault with the link up lands), ``driver_status`` turns ERROR with the reason,
and nothing is commanded until the ``reconnect`` service (std_srvs/Trigger)
connects again, which releases the latch holding the device where it is then.
The camera runs in its own thread (a frame wait never delays control), with its
link reported on ``camera/status`` and reconnected by the same service.
"""

import math
import sys
import threading
import time
from dataclasses import dataclass
from typing import Optional, Sequence

from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_srvs.srv import Trigger

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.backends import open_backend
from skill_stack.drivers.config import (
    BackendSpec,
    ConfigError,
    load_arm_config,
    load_camera_config,
    load_hand_config,
)
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.interfaces import Backend, CameraBackend, DeviceStatus
from skill_stack.drivers.quadrotor import QuadrotorDriver, load_quadrotor_config
from skill_stack.drivers.safety import Clock, CommandError
from skill_stack.nodes.camera_interface import CameraInterface
from skill_stack.nodes.device_interface import ArmInterface, ControlQueue, HandInterface, QuadrotorInterface
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.runtime import declare, run_node

STATUS_RATE_HZ = 10.0  # driver_status and camera/status reports
INTERFACES = {'arm': ArmInterface, 'hand': HandInterface, 'quadrotor': QuadrotorInterface}


@dataclass
class DriverParams:
    """The node's parameters, validated; a bad value names the parameter."""

    embodiment: str
    robot_config: str
    camera_config: str
    control_rate_hz: float
    camera_rate_hz: float
    frame_id: str

    def validate(self) -> None:
        if self.embodiment not in INTERFACES:
            raise ValueError(f"parameter 'embodiment' must be arm, hand or quadrotor, got '{self.embodiment}'")
        if not self.robot_config:
            raise ValueError("parameter 'robot_config' is required: the robot's config file (config/robots/)")
        # The drivers' rate limiting expects a tick at 20 Hz or faster (drivers/joints.py MAX_TICK).
        if not math.isfinite(self.control_rate_hz) or not 20.0 <= self.control_rate_hz <= 1000.0:
            raise ValueError(f"parameter 'control_rate_hz' must be in [20, 1000] Hz, got {self.control_rate_hz}")
        if not math.isfinite(self.camera_rate_hz) or not 0.0 < self.camera_rate_hz <= 100.0:
            raise ValueError(f"parameter 'camera_rate_hz' must be in (0, 100] Hz, got {self.camera_rate_hz}")
        if not self.frame_id:
            raise ValueError("parameter 'frame_id' must not be empty")


def open_device(embodiment: str, path: str, clock: Clock):
    """The driver for ``embodiment`` on the backend the robot config at ``path`` selects, and the backends
    whose link it watches; ConfigError (naming the file and field) for a bad file."""
    if embodiment == 'quadrotor':
        config = load_quadrotor_config(path)
        spec = config.backend_settings
        if spec.type != config.backend:  # the bare-word form, ``backend: px4``
            spec = BackendSpec(config.backend, {}, str(path))
        _require_device(spec, path)
        backend = open_backend('quadrotor', spec, config)
        return QuadrotorDriver(backend, config, clock), (backend,)
    if embodiment == 'arm':
        config = load_arm_config(path)
        _require_device(config.backend, path)
        joints, gripper = open_backend('arm', config.backend, config)
        return ArmDriver(joints, gripper, config, clock), (joints, gripper)
    config = load_hand_config(path)
    _require_device(config.backend, path)
    joints = open_backend('hand', config.backend, config)
    return HandDriver(joints, config, clock), (joints,)


def _require_device(spec: BackendSpec, path: str) -> None:
    if spec.type == 'sim':
        raise ConfigError(f"{path}: backend: the driver node drives a real device, but this file selects 'sim' "
                          '(the sim node runs the simulation); add a backend section, see config/robots/')


def open_camera(path: str) -> CameraBackend:
    """The camera backend a camera file's ``backend`` section selects (config/robots/realsense.yaml)."""
    spec = load_camera_config(path)
    _require_device(spec, path)
    return open_backend('camera', spec, None)


class LinkSupervisor:
    """The driver as the device's ROS interface sees it, with the device's link watched every tick.

    On a lost link (a backend's status, or ConnectionError from a read or write)
    or a device fault, the driver's e-stop latches with the reason, so every
    command is refused and an arm or hand holds; ``status()`` then reports the
    device disconnected with that reason (driver_status ERROR) until
    `reconnect()` succeeds. Everything else is the driver's own (commands,
    state, e-stop), reached through attribute access.
    """

    def __init__(self, driver, backends: Sequence[Backend], device: str):
        self.driver = driver
        self.backends = tuple(backends)
        self.device = device
        self.fault: Optional[str] = None  # why the driver is latched, until reconnect() succeeds
        self._operator_estop = False  # the e-stop was already engaged by the operator when the link failed

    def __getattr__(self, name: str):
        return getattr(self.driver, name)

    def start(self) -> None:
        """Connect; a device that cannot be reached leaves the driver latched, waiting for reconnect()."""
        try:
            self.driver.connect()
        except ConnectionError as exc:
            self.latch(f'link lost: cannot connect: {exc}')
            return
        self.tick()

    def tick(self) -> None:
        """One control tick: the link and the device's faults first, then the driver's update (safety checks,
        watchdog, set-points), which under the latched e-stop only keeps the device stopped."""
        problem, connected = self._problem()
        if problem is not None and self.fault is None:
            self.latch(problem)
        if not connected:
            return  # nothing reaches the device; its own failsafe (servo stop, flight controller) acts
        try:
            self.driver.update()
        except ConnectionError as exc:
            self.latch(f'link lost: {exc}')

    def status(self) -> DeviceStatus:
        status = self.driver.status()
        if self.fault is None:
            return status
        return DeviceStatus(connected=False, fault=self.fault, details={**status.details, 'latched': True})

    def release(self) -> None:
        """The e-stop service's release: refused while the link latch holds (reconnect releases it)."""
        if self.fault is not None:
            raise CommandError(f'{self.fault}; call the reconnect service first')
        self.driver.release()

    def reconnect(self) -> str:
        """Connect again and release the latch, holding the device where it is now; ConnectionError if the
        device cannot be reached or still reports a fault (the latch stays)."""
        if self.fault is None:
            return f'{self.device}: the link is up; nothing to reconnect'
        self.driver.connect()
        problem, _ = self._problem()
        if problem is not None:
            raise ConnectionError(problem)
        if isinstance(self.driver, QuadrotorDriver):
            if not self._operator_estop:
                self.driver.release()
            state = self.driver.state()
            if state.armed and not state.landed and not self._operator_estop:
                self.driver.hold()  # hover where it is; the e-stop would land it
        else:
            # Holding again with the link up drops any target from before the loss: the next command
            # starts from the measured position, so nothing jumps.
            self.driver.estop(f'{self.device} reconnected')
            if not self._operator_estop:
                self.driver.release()
        was, self.fault = self.fault, None
        held = ' (the operator e-stop stays engaged)' if self._operator_estop else ''
        return f'{self.device} reconnected after: {was}; holding where it is{held}'

    def _problem(self) -> tuple[Optional[str], bool]:
        """(the first lost link or device fault as a sentence, or None; whether every link is up)."""
        problem, connected = None, True
        for backend in self.backends:
            status = backend.status()
            if not status.connected:
                connected = False
                problem = problem or f'link lost: {status.fault or "the device does not answer"}'
            elif status.fault:
                problem = problem or f'device fault: {status.fault}'
        return problem, connected

    def latch(self, reason: str) -> None:
        """Stop on ``reason``: the e-stop engages and stays until reconnect()."""
        first, self.fault = self.fault is None, reason
        try:
            if first:
                self._operator_estop = bool(self.driver.status().details.get('estop'))
            self.driver.estop(reason)
        except Exception:  # noqa: BLE001, S110 - the e-stop engages before the hold that could not reach the device
            pass


class DriverNode(Node):
    def __init__(self):
        super().__init__('driver')
        route_python_logging(self)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.supervisor: Optional[LinkSupervisor] = None  # these two are closed on destroy, once opened
        self.camera: Optional[CameraBackend] = None
        self.params = DriverParams(
            embodiment=declare(self, 'embodiment', '', 'the device: arm, hand or quadrotor'),
            robot_config=declare(self, 'robot_config', '',
                                 'robot config file (config/robots/<robot>.yaml): limits and backend section'),
            camera_config=declare(self, 'camera_config', '',
                                  'camera file whose backend section opens the RGB-D camera; empty: no camera'),
            control_rate_hz=declare(self, 'control_rate_hz', 100.0, 'control loop and state rate (wall clock)'),
            camera_rate_hz=declare(self, 'camera_rate_hz', 15.0, 'camera frames published per second'),
            frame_id=declare(self, 'frame_id', 'world', 'frame of the robot base and of its commands'),
        )
        self.params.validate()
        embodiment = self.params.embodiment
        driver, backends = open_device(embodiment, self.params.robot_config, time.monotonic)
        self.supervisor = LinkSupervisor(driver, backends, embodiment)
        self.camera = open_camera(self.params.camera_config) if self.params.camera_config else None
        self.camera_fault: Optional[str] = None
        self._camera_lock = threading.Lock()

        self.control = ControlQueue(self)
        self.device = INTERFACES[embodiment](self, self.supervisor, self.control, self.params.frame_id)
        self.create_service(Trigger, 'reconnect', self.on_reconnect, callback_group=ReentrantCallbackGroup())
        self._threads.append(threading.Thread(target=self._control_loop, name='control', daemon=True))
        if self.camera is not None:
            self.camera_interface = CameraInterface(self)
            self.camera_status_pub = self.create_publisher(DiagnosticStatus, 'camera/status', 10)
            self._threads.append(threading.Thread(target=self._camera_loop, name='camera', daemon=True))
            self._connect_camera()

        self.supervisor.start()
        if self.supervisor.fault is not None:
            self.get_logger().error(f'{embodiment}: {self.supervisor.fault}; call the reconnect service')
        for thread in self._threads:
            thread.start()
        self.get_logger().info(f"{embodiment} driver on '{self.params.robot_config}', control "
                               f'{self.params.control_rate_hz:g} Hz'
                               + (f', camera {self.params.camera_rate_hz:g} Hz' if self.camera else ', no camera'))

    # -- reconnect ----------------------------------------------------------------------------

    async def on_reconnect(self, request, response):
        """Reconnect what is latched (the device in the control thread, the camera here)."""
        said = {}
        ok, reason = await self.control.call('reconnect', lambda: said.update(device=self.supervisor.reconnect()))
        messages = [said['device'] if ok else f'{self.params.embodiment}: {reason}']
        if self.camera is not None and self.camera_fault is not None:
            camera_ok, camera_message = self._connect_camera()
            ok = ok and camera_ok
            messages.append(camera_message)
        response.success, response.message = ok, '; '.join(messages)
        if ok:  # one call site per severity: rclpy refuses to change a call site's severity
            self.get_logger().info(f'reconnect: {response.message}')
        else:
            self.get_logger().error(f'reconnect: {response.message}')
        return response

    def _connect_camera(self) -> tuple[bool, str]:
        with self._camera_lock:
            try:
                self.camera.connect()
            except ConnectionError as exc:
                self.camera_fault = f'link lost: cannot connect: {exc}'
                self.get_logger().error(f'camera: {self.camera_fault}')
                return False, f'camera: {self.camera_fault}'
            self.camera_fault = None
        return True, 'camera connected'

    # -- threads --------------------------------------------------------------------------------

    def _control_loop(self) -> None:
        period = 1.0 / self.params.control_rate_hz
        status_every = max(1, round(self.params.control_rate_hz / STATUS_RATE_HZ))
        tick, due = 0, time.monotonic()
        while not self._stop.is_set():
            self.control.run_pending()
            before = self.supervisor.fault
            try:
                self.supervisor.tick()
            except Exception as exc:  # noqa: BLE001 - an SDK error must stop the device, never the loop silently
                self.supervisor.latch(f'driver error: {exc!r}')
            if self.supervisor.fault != before and self.supervisor.fault is not None:
                self.get_logger().error(f'{self.params.embodiment}: {self.supervisor.fault}; the driver holds '
                                        'until the reconnect service is called')
            try:
                self.device.publish(self.get_clock().now().to_msg())
            except ConnectionError:
                pass  # no state to report without the link; driver_status says why
            if tick % status_every == 0 or self.supervisor.fault != before:
                self.device.publish_status()
            tick += 1
            due += period
            now = time.monotonic()
            if due < now - period:  # fell behind (a slow call): keep the rate from now, do not catch up
                due = now
            self._stop.wait(max(0.0, due - now))

    def _camera_loop(self) -> None:
        period = 1.0 / self.params.camera_rate_hz
        every = max(1, round(self.params.camera_rate_hz / STATUS_RATE_HZ))
        frame = 0
        while not self._stop.wait(period):
            with self._camera_lock:
                if self.camera_fault is None:
                    self._camera_frame()
                fault = self.camera_fault
            if frame % every == 0 or fault is not None:
                level = DiagnosticStatus.ERROR if fault else DiagnosticStatus.OK
                self.camera_status_pub.publish(DiagnosticStatus(level=level, name='camera', hardware_id='camera',
                                                                message=fault or 'ok'))
            frame += 1

    def _camera_frame(self) -> None:
        status = self.camera.status()
        try:
            if not status.connected or status.fault:
                raise ConnectionError(status.fault or 'the camera does not answer')
            self.camera_interface.publish(self.camera.read(), self.get_clock().now().to_msg())
        except ConnectionError as exc:
            self.camera_fault = f'link lost: {exc}'
            self.get_logger().error(f'camera: {self.camera_fault}; call the reconnect service')

    def destroy_node(self):
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(timeout=5.0)
        for device in (self.supervisor and self.supervisor.driver, self.camera):
            if device is not None:
                try:
                    device.disconnect()  # the arm or hand holds, then each link closes
                except ConnectionError as exc:
                    self.get_logger().warning(f'disconnect: {exc}')
        return super().destroy_node()


def main() -> int:
    return run_node(DriverNode, 'driver', threads=3)


if __name__ == '__main__':
    sys.exit(main())
