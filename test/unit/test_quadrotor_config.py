"""config/quadrotor.yaml and the validation of the quadrotor driver's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from skill_stack.drivers.quadrotor import (
    QuadrotorConfig,
    QuadrotorConfigError,
    default_config_path,
    load_quadrotor_config,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "quadrotor.yaml"


def test_the_shipped_config_loads():
    assert default_config_path() == CONFIG
    config = load_quadrotor_config()
    assert config.backend == "sim"
    assert config.fence_x_min < 0.0 < config.fence_x_max
    assert config.hover_timeout < config.land_timeout


def test_flat_mappings_and_ros_parameter_files_both_load(tmp_path):
    flat = QuadrotorConfig.from_mapping({"max_speed_xy": 2, "estop_action": "cut_motors"})
    assert flat.max_speed_xy == 2
    path = tmp_path / "quad.yaml"
    path.write_text("/**:\n  ros__parameters:\n    fence_z_max: 10.0\n")
    assert QuadrotorConfig.from_yaml(path).fence_z_max == 10.0


@pytest.mark.parametrize(("values", "message"), [
    ({"fence_x_max": -6.0}, "'fence_x_max' \\(-6.0\\) must exceed 'fence_x_min'"),
    ({"fence_z_min": 0.0}, "'fence_z_min' must be above the ground"),
    ({"max_speed_xy": 0.0}, "'max_speed_xy' must be positive"),
    ({"max_speed_z": 0.1}, "'max_speed_z' must be at least 0.25"),
    ({"max_tilt_deg": 50.0}, "'max_tilt_deg' must be in \\(0, 45.0\\]"),
    ({"failsafe_tilt_deg": 20.0}, "'failsafe_tilt_deg' must be above 'max_tilt_deg'"),
    ({"land_timeout": 0.3}, "'land_timeout' \\(0.3\\) must be longer than 'hover_timeout'"),
    ({"estop_action": "explode"}, "'estop_action' must be one of"),
    ({"hover_timeout": float("nan")}, "'hover_timeout' must be a finite number"),
    ({"max_yaw_rate": "fast"}, "'max_yaw_rate' must be a finite number"),
    ({"fence_margin": True}, "'fence_margin' must be a finite number"),
    ({"backend": ""}, "'backend' must be a non-empty string"),
    ({"geofence": 3.0}, "unknown parameter 'geofence'"),
])
def test_bad_values_are_refused_naming_the_field(values, message):
    with pytest.raises(QuadrotorConfigError, match=message):
        QuadrotorConfig.from_mapping(values)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "quad.yaml"
    path.write_text("max_tilt_deg: 80\n")
    with pytest.raises(QuadrotorConfigError, match=f"{path}: 'max_tilt_deg'"):
        QuadrotorConfig.from_yaml(path)
    with pytest.raises(QuadrotorConfigError, match="missing.yaml: cannot read"):
        QuadrotorConfig.from_yaml(tmp_path / "missing.yaml")
    path.write_text("- not\n- a mapping\n")
    with pytest.raises(QuadrotorConfigError, match="expected a mapping"):
        QuadrotorConfig.from_yaml(path)
