"""A test double of pyrealsense2 (librealsense 2.x Python bindings) and one D400 camera on USB; its
lower-case class names are pyrealsense2's.

`RealSenseRig` is the hardware side: a camera with a serial number, a depth
scale, colour intrinsics, the frame rates it offers at its one resolution,
and a scene (an RGB image and the true depth in
metres seen from the colour camera), that can be unplugged and replugged;
device time passes one frame per wait_for_frames. ``rig.rs`` is the module
the backend receives in place of ``pyrealsense2``: pipeline, config, align,
stream, format, timestamp_domain, camera_info, with the names and parameter
names of pyrealsense2 2.59 (a unit test checks them against the installed
module's pybind11 signatures). Every call is recorded in ``rig.calls``.

Modelled after the librealsense Python API documentation and its
examples (align-depth2color.py):

- pipeline.start(config) resolves the enabled streams against the device's
  modes; no device (or not the requested serial) -> RuntimeError('No device
  connected'), an unsupported mode -> RuntimeError("Couldn't resolve
  requests"), start while started -> RuntimeError;
- depth is z16 in the device's depth units (depth_scale metres per unit,
  0 = no depth); the raw depth frame is seen from the depth imager, a
  baseline away, which the double models as the colour view shifted by
  ``baseline_px`` columns (edge columns without data are 0); align(color)
  shifts it back, so only an aligned depth lines up with the colour image;
- frames carry get_timestamp() in ms in the configured timestamp domain
  (GLOBAL_TIME by default: host wall-clock epoch ms), a frame number, and
  get_data() as an array of the stream's size;
- wait_for_frames(timeout_ms) on an unplugged camera raises RuntimeError
  "Frame didn't arrive within <timeout_ms>", as librealsense does.
"""

from __future__ import annotations

import enum
from types import SimpleNamespace
from typing import Optional

import numpy as np


class stream(enum.Enum):
    color = 2
    depth = 1


class format(enum.Enum):
    z16 = 1
    rgb8 = 5


class timestamp_domain(enum.Enum):
    hardware_clock = 0
    system_time = 1
    global_time = 2


class camera_info(enum.Enum):
    name = 0
    serial_number = 1
    firmware_version = 2


class intrinsics:
    def __init__(self, width, height, fx, fy, ppx, ppy):
        self.width, self.height, self.fx, self.fy, self.ppx, self.ppy = width, height, fx, fy, ppx, ppy
        self.model = 'brown_conrady'
        self.coeffs = [0.0] * 5


class RealSenseRig:
    """One camera on the USB bus, its scene, its clock, and the record of calls."""

    def __init__(self, serial: str = '035322250218', name: str = 'Intel RealSense D435', depth_scale: float = 0.001,
                 width: int = 640, height: int = 480, fx: float = 615.0, fy: float = 615.5, ppx: float = 321.2,
                 ppy: float = 240.7, rates=(6, 15, 30), baseline_px: int = 6, epoch_ms: float = 1.7e12):
        self.serial, self.name, self.depth_scale = serial, name, depth_scale
        self.intrinsics = intrinsics(width, height, fx, fy, ppx, ppy)
        self.modes = {(width, height, fps) for fps in rates}  # colour and depth modes, both streams alike
        self.baseline_px = baseline_px
        self.epoch_ms = epoch_ms  # the host's wall clock at device time 0, for GLOBAL_TIME stamps
        self.domain = timestamp_domain.global_time
        self.time = 0.0  # s, device time
        self.plugged = True
        self.calls: list[tuple[str, tuple]] = []
        self.frame_number = 0
        self.streaming: Optional[tuple[int, int, int]] = None
        rng = np.random.default_rng(0)
        self.rgb = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        self.depth = np.linspace(0.3, 2.0, width, dtype=np.float64)[None, :].repeat(height, axis=0)  # metres
        self.depth[:20] = 0.0  # a band the camera cannot see
        self.rs = self._module()

    def unplug(self) -> None:
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    def z16(self, metres: np.ndarray) -> np.ndarray:
        return np.clip(np.round(metres / self.depth_scale), 0, 65535).astype(np.uint16)

    def _module(self) -> SimpleNamespace:
        rig = self

        class _pipeline(pipeline):
            def __init__(self, *args):
                super().__init__(rig, *args)

        class _config(config):
            def __init__(self):
                super().__init__(rig)

        class _align(align):
            def __init__(self, align_to):
                super().__init__(rig, align_to)

        return SimpleNamespace(pipeline=_pipeline, config=_config, align=_align, stream=stream, format=format,
                               timestamp_domain=timestamp_domain, camera_info=camera_info, intrinsics=intrinsics)


class config:
    def __init__(self, rig: RealSenseRig):
        self.rig = rig
        self.serial: Optional[str] = None
        self.streams: dict[stream, tuple[int, int, format, int]] = {}

    def enable_device(self, serial):
        self.rig.calls.append(('config.enable_device', (serial,)))
        self.serial = serial

    def enable_stream(self, stream_type, width, height, format, framerate):
        self.rig.calls.append(('config.enable_stream', (stream_type, width, height, format, framerate)))
        self.streams[stream_type] = (width, height, format, framerate)


class pipeline:
    def __init__(self, rig: RealSenseRig, ctx=None):
        self.rig = rig
        self.started = False

    def start(self, config):
        rig = self.rig
        rig.calls.append(('pipeline.start', (dict(config.streams), config.serial)))
        if self.started:
            raise RuntimeError('start() cannot be called before stop()')
        if not rig.plugged or (config.serial is not None and config.serial != rig.serial):
            raise RuntimeError('No device connected')
        modes = {(w, h, f) for w, h, _, f in config.streams.values()}
        formats = {kind: fmt for kind, (_, _, fmt, _) in config.streams.items()}
        if (len(modes) != 1 or not modes <= rig.modes or formats.get(stream.color, format.rgb8) != format.rgb8
                or formats.get(stream.depth, format.z16) != format.z16):
            raise RuntimeError("Couldn't resolve requests")
        (rig.streaming,) = modes
        self.started = True
        return pipeline_profile(rig)

    def stop(self):
        self.rig.calls.append(('pipeline.stop', ()))
        if not self.started:
            raise RuntimeError('stop() cannot be called before start()')
        self.started = False
        self.rig.streaming = None

    def wait_for_frames(self, timeout_ms=5000):
        rig = self.rig
        rig.calls.append(('pipeline.wait_for_frames', (timeout_ms,)))
        if not self.started:
            raise RuntimeError('wait_for_frames cannot be called before start()')
        if not rig.plugged:
            rig.time += timeout_ms / 1000.0
            raise RuntimeError(f"Frame didn't arrive within {timeout_ms}")
        rig.time += 1.0 / rig.streaming[2]
        rig.frame_number += 1
        raw = np.zeros(rig.depth.shape, dtype=np.uint16)  # the depth imager's view: shifted by the baseline
        raw[:, rig.baseline_px:] = rig.z16(rig.depth[:, :rig.depth.shape[1] - rig.baseline_px])
        stamp = rig.time * 1000.0 + (rig.epoch_ms if rig.domain != timestamp_domain.hardware_clock else 0.0)
        return composite_frame([video_frame(stream.color, rig.rgb.copy(), stamp, rig),
                                depth_frame(stream.depth, raw, stamp, rig, aligned=False)])


class pipeline_profile:
    def __init__(self, rig: RealSenseRig):
        self.rig = rig

    def get_device(self):
        return device(self.rig)

    def get_stream(self, stream_type, stream_index=-1):
        return stream_profile(self.rig, stream_type)


class device:
    def __init__(self, rig: RealSenseRig):
        self.rig = rig

    def get_info(self, info):
        return {camera_info.name: self.rig.name, camera_info.serial_number: self.rig.serial,
                camera_info.firmware_version: '5.16.0.1'}[info]

    def first_depth_sensor(self):
        return depth_sensor(self.rig)


class depth_sensor:
    def __init__(self, rig: RealSenseRig):
        self.rig = rig

    def get_depth_scale(self):
        return self.rig.depth_scale


class stream_profile:
    def __init__(self, rig: RealSenseRig, stream_type: stream):
        self.rig = rig
        self.stream_type = stream_type

    def as_video_stream_profile(self):
        return video_stream_profile(self.rig, self.stream_type)


class video_stream_profile(stream_profile):
    def get_intrinsics(self):
        if self.stream_type != stream.color:
            raise NotImplementedError('the double describes the colour stream only')
        return self.rig.intrinsics


class frame:
    def __init__(self, kind: stream, data: np.ndarray, stamp_ms: float, rig: RealSenseRig):
        self.kind, self.data, self.stamp_ms = kind, data, stamp_ms
        self.domain = rig.domain
        self.number = rig.frame_number

    def __bool__(self):
        return True

    def get_data(self):
        return self.data

    def get_timestamp(self):
        return self.stamp_ms

    def get_frame_timestamp_domain(self):
        return self.domain

    def get_frame_number(self):
        return self.number


class video_frame(frame):
    pass


class depth_frame(video_frame):
    def __init__(self, kind, data, stamp_ms, rig, aligned: bool):
        super().__init__(kind, data, stamp_ms, rig)
        self.aligned = aligned


class composite_frame:
    def __init__(self, frames: list[frame]):
        self.frames = frames

    def get_color_frame(self, index=0):
        return next((f for f in self.frames if f.kind == stream.color), _EMPTY)

    def get_depth_frame(self):
        return next((f for f in self.frames if f.kind == stream.depth), _EMPTY)


class _Empty:
    """An empty frame instance: what get_*_frame returns when the set has none."""

    def __bool__(self):
        return False


_EMPTY = _Empty()


class align:
    def __init__(self, rig: RealSenseRig, align_to):
        if align_to != stream.color:
            raise NotImplementedError('the double aligns depth to colour only')
        self.rig = rig

    def process(self, frames):
        self.rig.calls.append(('align.process', (frames,)))
        depth = frames.get_depth_frame()
        shift = self.rig.baseline_px
        aligned = np.zeros_like(depth.data)
        aligned[:, :aligned.shape[1] - shift] = depth.data[:, shift:]
        return composite_frame([frames.get_color_frame(),
                                depth_frame(stream.depth, aligned, depth.stamp_ms, self.rig, aligned=True)])
