"""The RealSense camera backend over the pyrealsense2 double: settings, frame conversion, stamps, link loss."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import yaml
from doubles import realsense_double as rsd
from doubles.realsense_double import RealSenseRig

from skill_stack.drivers.backends import MissingSDKError, open_backend
from skill_stack.drivers.backends.realsense import RealSenseCamera, RealSenseSettings
from skill_stack.drivers.config import BackendSpec, ConfigError, load_camera_config

from repo_paths import REPO

CONFIG = REPO / 'config' / 'robots' / 'realsense.yaml'
HOST_CLOCK = 1234.5  # what the backend's injected clock says


def make(rig: RealSenseRig | None = None, **changes) -> tuple[RealSenseCamera, RealSenseRig]:
    rig = rig or RealSenseRig()
    settings = RealSenseSettings.from_fields(load_camera_config(CONFIG).fields())
    settings = RealSenseSettings(**{**settings.__dict__, **changes})
    return RealSenseCamera(settings, rig.rs, lambda: HOST_CLOCK), rig


def calls(rig: RealSenseRig, name: str) -> list[tuple]:
    return [args for call, args in rig.calls if call == name]


# --- config -----------------------------------------------------------------------------------


def test_the_camera_file_loads_as_a_realsense_backend_spec():
    spec = load_camera_config(CONFIG)
    assert spec.type == 'realsense'
    assert spec.file == str(CONFIG)
    settings = RealSenseSettings.from_fields(spec.fields())
    assert (settings.serial, settings.width, settings.height, settings.fps) == ('', 640, 480, 30)


@pytest.mark.parametrize(('edit', 'message'), [
    (lambda b: b.update(serial=35322250218), r"backend\.serial: expected the serial number as a quoted string"),
    (lambda b: b.update(width=0), r'backend\.width: expected a positive integer'),
    (lambda b: b.pop('height'), r'backend\.height: missing'),
    (lambda b: b.update(fps=29.97), r'backend\.fps: expected a positive integer'),
    (lambda b: b.update(frame_timeout=0.02), r'backend\.frame_timeout: 0\.02 s is not longer than one frame'),
    (lambda b: b.update(exposure=100), r'backend\.exposure: unknown field'),
])
def test_bad_camera_settings_are_refused_naming_the_file_and_field(tmp_path, edit, message):
    data = yaml.safe_load(CONFIG.read_text())
    edit(data['backend'])
    path = tmp_path / 'camera.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=f'{re.escape(str(path))}: {message}'):
        open_backend('camera', load_camera_config(path), None)


@pytest.mark.parametrize(('text', 'message'), [
    ('width: 640\n', r': width: unknown field'),
    ('{}\n', r': backend: missing'),
    ('backend: {type: kinect}\n', r": backend\.type: 'kinect' is not a camera backend"),
])
def test_bad_camera_files_are_refused_naming_the_field(tmp_path, text, message):
    path = tmp_path / 'camera.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=f'{re.escape(str(path))}{message}'):
        open_backend('camera', load_camera_config(path), None)


def test_open_backend_builds_the_camera_or_names_the_missing_sdk(monkeypatch):
    spec = load_camera_config(CONFIG)
    monkeypatch.setitem(sys.modules, 'pyrealsense2', None)
    with pytest.raises(MissingSDKError, match="install 'pyrealsense2'"):
        open_backend('camera', spec, None)
    monkeypatch.setitem(sys.modules, 'pyrealsense2', RealSenseRig().rs)
    assert isinstance(open_backend('camera', spec, None), RealSenseCamera)


# --- frames -----------------------------------------------------------------------------------


def test_connect_asks_for_rgb8_colour_and_z16_depth_at_the_configured_mode():
    camera, rig = make()
    camera.connect()
    rs = rig.rs
    assert calls(rig, 'config.enable_stream') == [(rs.stream.color, 640, 480, rs.format.rgb8, 30),
                                                  (rs.stream.depth, 640, 480, rs.format.z16, 30)]
    assert calls(rig, 'config.enable_device') == []  # no serial: the first camera found
    status = camera.status()
    assert status.connected
    assert status.fault is None
    assert status.details['serial'] == '035322250218'
    assert status.details['depth_scale'] == 0.001


def test_a_configured_serial_selects_that_camera_only():
    camera, rig = make(serial='035322250218')
    camera.connect()
    assert calls(rig, 'config.enable_device') == [('035322250218',)]
    other, _ = make(RealSenseRig(serial='123456789012'), serial='035322250218')
    with pytest.raises(ConnectionError, match=r'RealSense 035322250218: cannot stream .*No device connected'):
        other.connect()


@pytest.mark.parametrize('depth_scale', [0.001, 0.0001])  # D435's 1 mm, D405's 0.1 mm
def test_frames_are_aligned_rgb_and_float_metres_with_the_colour_intrinsics(depth_scale):
    camera, rig = make(RealSenseRig(depth_scale=depth_scale))
    camera.connect()
    frame = camera.read()
    assert len(calls(rig, 'align.process')) == 1
    assert frame.rgb.dtype == np.uint8
    assert frame.rgb.shape == (480, 640, 3)
    np.testing.assert_array_equal(frame.rgb, rig.rgb)
    assert frame.depth.dtype == np.float32
    assert frame.depth.shape == (480, 640)
    seen = frame.depth > 0
    # Depth lines up with colour (aligned), in metres to the depth unit, 0 where the camera saw nothing.
    np.testing.assert_allclose(frame.depth[seen], rig.depth[seen], atol=depth_scale)
    assert np.all(frame.depth[:20] == 0.0)
    assert np.all(frame.depth[:, -rig.baseline_px:] == 0.0)
    assert seen.sum() == (480 - 20) * (640 - rig.baseline_px)
    assert frame.intrinsics == (615.0, 615.5, 321.2, 240.7, 640, 480)


def test_unaligned_depth_would_not_line_up_so_the_backend_must_align():
    """The double's raw depth is the depth imager's view: comparing it shows what align() corrects."""
    rig = RealSenseRig()
    camera, _ = make(rig)
    camera.connect()
    frame = camera.read()
    raw = calls(rig, 'align.process')[0][0].get_depth_frame().get_data() * rig.depth_scale
    assert not np.allclose(raw[100, 100:200], frame.depth[100, 100:200], atol=0.01)


def test_global_time_stamps_are_the_frames_capture_time_in_host_seconds():
    camera, rig = make()
    camera.connect()
    first, second = camera.read(), camera.read()
    assert first.stamp == pytest.approx((rig.epoch_ms + 1000.0 / 30) / 1000.0)
    assert second.stamp - first.stamp == pytest.approx(1.0 / 30, abs=1e-6)  # float64 at epoch seconds: ~0.2 us
    assert camera.status().details['timestamp_domain'] == 'global_time'


def test_hardware_clock_stamps_fall_back_to_the_host_clock_at_arrival():
    rig = RealSenseRig()
    rig.domain = rsd.timestamp_domain.hardware_clock
    camera, _ = make(rig)
    camera.connect()
    assert camera.read().stamp == HOST_CLOCK
    assert camera.status().details['timestamp_domain'] == 'hardware_clock'


# --- faults -----------------------------------------------------------------------------------


def test_no_camera_at_connect_is_a_connection_error_with_the_reason():
    rig = RealSenseRig()
    rig.unplug()
    camera, _ = make(rig)
    with pytest.raises(ConnectionError, match='cannot stream colour and depth at 640x480 30 fps .*No device'):
        camera.connect()
    status = camera.status()
    assert not status.connected
    assert 'No device connected' in status.fault
    with pytest.raises(ConnectionError, match='No device connected'):
        camera.read()


def test_a_mode_the_camera_lacks_is_refused_at_connect():
    camera, _ = make(fps=90)
    with pytest.raises(ConnectionError, match="640x480 90 fps .*Couldn't resolve requests"):
        camera.connect()


def test_frame_timeout_is_a_lost_link_and_connect_restarts_the_pipeline():
    camera, rig = make()
    camera.connect()
    camera.read()
    rig.unplug()
    with pytest.raises(ConnectionError, match=r"RealSense 035322250218: no frames within 1\.0 s \(Frame didn't "
                                              r"arrive within 1000\)"):
        camera.read()
    assert calls(rig, 'pipeline.wait_for_frames')[-1] == (1000,)
    status = camera.status()
    assert not status.connected
    assert 'no frames within' in status.fault
    assert calls(rig, 'pipeline.stop')  # the dead pipeline was stopped
    with pytest.raises(ConnectionError, match='no frames within'):
        camera.read()
    rig.replug()
    camera.connect()
    assert camera.status().connected
    assert camera.status().fault is None
    assert camera.read().rgb.shape == (480, 640, 3)


def test_disconnect_stops_the_pipeline():
    camera, rig = make()
    camera.connect()
    camera.disconnect()
    assert calls(rig, 'pipeline.stop') == [()]
    assert not camera.status().connected
    assert camera.status().fault is None
    with pytest.raises(ConnectionError, match='not connected'):
        camera.read()


def test_another_mode_streams_at_its_own_size():
    spec = BackendSpec('realsense', {'width': 848, 'height': 480, 'fps': 30, 'frame_timeout': 0.5}, 'x.yaml')
    camera, _ = make(RealSenseRig(width=848), **RealSenseSettings.from_fields(spec.fields()).__dict__)
    camera.connect()
    assert camera.read().depth.shape == (480, 848)


# --- the double against the real SDK ----------------------------------------------------------


def _overloads(doc: str, name: str) -> list[list[str]]:
    """Parameter names (without self) of each pybind11 signature of ``name`` in its docstring."""
    found = []
    for params in re.findall(rf'{name}\(self: [\w.]+(.*?)\) ->', doc or ''):
        found.append([p.split(':')[0].strip() for p in params.split(', ')[1:]] if params else [])
    return found


def test_the_double_matches_the_installed_pyrealsense2():
    rs = pytest.importorskip('pyrealsense2', exc_type=ImportError)  # needs libusb-1.0 on the machine
    import inspect

    classes = ['pipeline', 'config', 'align', 'pipeline_profile', 'device', 'depth_sensor', 'stream_profile',
               'video_stream_profile', 'frame', 'video_frame', 'depth_frame', 'composite_frame']
    for cls in classes:
        double, real = getattr(rsd, cls), getattr(rs, cls)
        for name, method in vars(double).items():
            if name.startswith('_') or not callable(method):
                continue
            assert hasattr(real, name), f'pyrealsense2.{cls} has no {name}'
            ours = [p for p in inspect.signature(method).parameters if p != 'self']
            assert ours in _overloads(getattr(real, name).__doc__, name), f'pyrealsense2.{cls}.{name}{ours}'
    # Constructors the backend calls: pipeline(), config(), align(align_to).
    assert [] in _overloads(rs.pipeline.__init__.__doc__, '__init__')
    assert ['align_to'] in _overloads(rs.align.__init__.__doc__, '__init__')
    for enum in ('stream', 'format', 'timestamp_domain', 'camera_info'):
        for member in getattr(rsd, enum).__members__:
            assert hasattr(getattr(rs, enum), member), f'pyrealsense2.{enum}.{member}'
    for field in ('fx', 'fy', 'ppx', 'ppy', 'width', 'height', 'model', 'coeffs'):
        assert hasattr(rs.intrinsics, field)
    assert rs.pipeline.wait_for_frames.__doc__.startswith('wait_for_frames(self: pyrealsense2.pyrealsense2.pipeline, '
                                                          'timeout_ms: int = 5000)')


def test_the_nominal_arm_extrinsics_look_down_at_the_workspace():
    """config/camera_realsense_arm.yaml is a usable pose (a calibration replaces it): a unit quaternion, the
    camera's x axis along the world's y, its optical axis 45 degrees down onto the table in front of the arm."""
    from skill_stack.perception.geometry import pose_matrix

    params = yaml.safe_load((REPO / 'config' / 'camera_realsense_arm.yaml').read_text())['/**']['ros__parameters']
    assert np.linalg.norm(params['camera_quaternion']) == pytest.approx(1.0, abs=1e-6)
    pose = pose_matrix(params['camera_position'], params['camera_quaternion'])
    np.testing.assert_allclose(pose[:3, 0], [0.0, 1.0, 0.0], atol=1e-6)
    axis = pose[:3, 2]
    assert np.degrees(np.arcsin(-axis[2])) == pytest.approx(45.0, abs=1e-3)
    on_table = pose[:3, 3] - pose[2, 3] / axis[2] * axis
    assert 0.0 < on_table[0] < 0.5
    assert on_table[1] == pytest.approx(0.0, abs=1e-6)
