"""Intel RealSense D400-family RGB-D camera (D435, D405, ...) through pyrealsense2.

One pipeline streams colour (rgb8) and depth (z16) at the configured size and
rate; each frameset is aligned to the colour camera (rs.align), so depth pixel
(u, v) lies under colour pixel (u, v) and the colour intrinsics describe both,
as CameraFrame expects. Depth leaves in metres, float32, from the device's
own depth scale (D435: 1 mm per unit, D405: 0.1 mm by default); 0 stays 0,
the device's "no depth".

Stamps: the colour frame's capture time. With the D400 default global time
(timestamp domain GLOBAL_TIME, the device clock mapped onto the host's system
clock) or SYSTEM_TIME it is the frame's timestamp, ms -> s, on the host's wall
clock, the clock ROS stamps use. In HARDWARE_CLOCK domain (global time off),
device time is not comparable to host time, so the stamp is the backend's
clock (default time.time) when the frameset arrives; status() says which.

Link loss: pyrealsense2 raises RuntimeError when no frameset comes within the
timeout (a pulled cable, a crashed firmware) or the device is gone; then
status() names it, read() raises ConnectionError, and connect() starts a new
pipeline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from skill_stack.drivers.backends import require_sdk
from skill_stack.drivers.config import BackendSpec, ConfigError, Fields
from skill_stack.drivers.interfaces import CameraBackend, CameraFrame, DeviceStatus
from skill_stack.drivers.safety import Clock


@dataclass(frozen=True)
class RealSenseSettings:
    """The ``backend`` section of config/robots/realsense.yaml."""

    serial: str  # '' = the first RealSense found
    width: int  # px, colour and depth
    height: int
    fps: int
    frame_timeout: float  # s without a frameset before the link counts as lost

    @classmethod
    def from_fields(cls, fields: Fields) -> RealSenseSettings:
        fields.allow('serial', 'width', 'height', 'fps', 'frame_timeout')
        serial = fields.data.get('serial', '')
        if not isinstance(serial, str):
            raise ConfigError(f"{fields.where}.serial: expected the serial number as a quoted string (e.g. "
                              f"'035322250218'; unquoted, YAML reads a number and drops leading zeros), or '' "
                              f"for the first camera found, got {serial!r}")
        settings = cls(serial=serial, width=fields.count('width'), height=fields.count('height'),
                       fps=fields.count('fps'), frame_timeout=fields.positive('frame_timeout'))
        if settings.frame_timeout <= 1.0 / settings.fps:
            raise ConfigError(f'{fields.where}.frame_timeout: {settings.frame_timeout} s is not longer than one '
                              f'frame at {settings.fps} fps')
        return settings


def from_config(spec: BackendSpec, config: Any = None) -> RealSenseCamera:
    """The camera ``spec`` describes; ``config`` is unused (a camera has no driver config)."""
    settings = RealSenseSettings.from_fields(spec.fields())
    return RealSenseCamera(settings, require_sdk('pyrealsense2', 'pyrealsense2'), time.time)


class RealSenseCamera(CameraBackend):
    """Aligned colour and depth frames from one RealSense."""

    def __init__(self, settings: RealSenseSettings, sdk: Any, clock: Clock):
        self.settings = settings
        self.sdk = sdk  # the pyrealsense2 module, or a test double of it
        self.clock = clock  # the host's wall clock in use (time.time); stamps frames in HARDWARE_CLOCK domain
        self._pipeline: Any = None
        self._align: Any = None
        self._depth_scale = 0.0  # m per z16 unit
        self._intrinsics: Optional[tuple[float, float, float, float, int, int]] = None
        self._info: dict = {}
        self._fault: Optional[str] = None
        self._domain: Optional[str] = None

    @property
    def _name(self) -> str:
        serial = self._info.get('serial') or self.settings.serial
        return f'RealSense {serial}' if serial else 'RealSense'

    def connect(self) -> None:
        """Start the pipeline; raises ConnectionError naming the camera and what pyrealsense2 said."""
        self._stop()
        rs, s = self.sdk, self.settings
        config = rs.config()
        if s.serial:
            config.enable_device(s.serial)
        config.enable_stream(rs.stream.color, s.width, s.height, rs.format.rgb8, s.fps)
        config.enable_stream(rs.stream.depth, s.width, s.height, rs.format.z16, s.fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as error:
            self._fault = (f'{self._name}: cannot stream colour and depth at {s.width}x{s.height} {s.fps} fps '
                           f'({error}); check the USB 3 cable and that no other program holds the camera')
            raise ConnectionError(self._fault) from None
        device = profile.get_device()
        self._info = {'name': device.get_info(rs.camera_info.name),
                      'serial': device.get_info(rs.camera_info.serial_number),
                      'firmware': device.get_info(rs.camera_info.firmware_version)}
        self._depth_scale = float(device.first_depth_sensor().get_depth_scale())
        color = profile.get_stream(rs.stream.color).as_video_stream_profile().get_intrinsics()
        self._intrinsics = (float(color.fx), float(color.fy), float(color.ppx), float(color.ppy),
                            int(color.width), int(color.height))
        self._align = rs.align(rs.stream.color)
        self._pipeline = pipeline
        self._fault = None

    def disconnect(self) -> None:
        self._stop()

    def status(self) -> DeviceStatus:
        s = self.settings
        details = {'backend': 'realsense', **self._info, 'width': s.width, 'height': s.height, 'fps': s.fps,
                   'depth_scale': self._depth_scale, 'timestamp_domain': self._domain}
        return DeviceStatus(connected=self._pipeline is not None, fault=self._fault, details=details)

    def read(self) -> CameraFrame:
        if self._pipeline is None:
            raise ConnectionError(self._fault or f'{self._name}: not connected; call connect() first')
        timeout_ms = round(self.settings.frame_timeout * 1000)
        try:
            frames = self._pipeline.wait_for_frames(timeout_ms)
            aligned = self._align.process(frames)
        except RuntimeError as error:
            raise self._down(f'{self._name}: no frames within {self.settings.frame_timeout} s ({error}); '
                             f'the camera was unplugged or stopped streaming') from None
        color, depth = aligned.get_color_frame(), aligned.get_depth_frame()
        if not color or not depth:
            raise self._down(f'{self._name}: a frameset without {"colour" if not color else "depth"}; '
                             f'restarting the pipeline will tell whether the stream is still there')
        rgb = np.array(np.asanyarray(color.get_data()), dtype=np.uint8)
        metres = np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(self._depth_scale)
        return CameraFrame(rgb=rgb, depth=metres, intrinsics=self._intrinsics, stamp=self._stamp(color))

    def _stamp(self, frame: Any) -> float:
        domain = frame.get_frame_timestamp_domain()
        self._domain = domain.name
        if domain in (self.sdk.timestamp_domain.global_time, self.sdk.timestamp_domain.system_time):
            return frame.get_timestamp() / 1000.0
        return self.clock()

    def _down(self, reason: str) -> ConnectionError:
        self._stop()
        self._fault = reason
        return ConnectionError(reason)

    def _stop(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:
                pass  # a device that vanished cannot be stopped cleanly; the pipeline is dropped anyway
        self._pipeline = self._align = None
