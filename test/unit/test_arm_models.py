"""The real arms' kinematic models (urdf/ur5e.urdf, urdf/xarm6.urdf), their configs, and choosing a model by name."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco
import numpy as np
import pytest
import yaml

from skill_stack.drivers.config import ConfigError, load_arm_config
from skill_stack.drivers.ik import ArmIK
from skill_stack.sim import robots

REPO = Path(__file__).resolve().parents[2]
ROBOTS = REPO / 'config' / 'robots'
PI = math.pi
# Standard DH (d, a, alpha, theta offset) as the vendors publish them, metres and radians.
UR5E_DH = [(0.1625, 0, PI / 2, 0), (0, -0.425, 0, 0), (0, -0.3922, 0, 0), (0.1333, 0, PI / 2, 0),
           (0.0997, 0, -PI / 2, 0), (0.0996, 0, 0, 0)]
_T2 = -math.atan(284.5 / 53.5)
XARM6_DH = [(0.267, 0, -PI / 2, 0), (0, math.hypot(284.5, 53.5) / 1000, 0, _T2), (0, 0.0775, -PI / 2, -_T2),
            (0.3425, 0, PI / 2, 0), (0, 0.076, -PI / 2, 0), (0.097, 0, 0, 0)]
MODELS = {'ur5e': (UR5E_DH, 'tool0', 0.16), 'xarm6': (XARM6_DH, 'link_eef', 0.172)}


def _dh_flange(dh, q) -> np.ndarray:
    pose = np.eye(4)
    for (d, a, alpha, offset), angle in zip(dh, q, strict=True):
        ct, st = math.cos(angle + offset), math.sin(angle + offset)
        ca, sa = math.cos(alpha), math.sin(alpha)
        pose = pose @ np.array([[ct, -st * ca, st * sa, a * ct], [st, ct * ca, -ct * sa, a * st],
                                [0, sa, ca, d], [0, 0, 0, 1]])
    return pose


@pytest.mark.parametrize('model', sorted(MODELS))
def test_urdf_chain_reproduces_the_vendors_dh_forward_kinematics(model):
    dh, flange, tool = MODELS[model]
    compiled = robots.arm_kinematics(model).compile()
    data = mujoco.MjData(compiled)
    rng = np.random.default_rng(0)
    for _ in range(20):  # to 1e-6: the URDF writes angles to 7 digits
        q = rng.uniform(-PI, PI, 6)
        data.qpos[:6] = q
        mujoco.mj_kinematics(compiled, data)
        expected = _dh_flange(dh, q)
        body = compiled.body(flange).id
        np.testing.assert_allclose(data.xpos[body], expected[:3, 3], atol=1e-6)
        np.testing.assert_allclose(data.xmat[body].reshape(3, 3), expected[:3, :3], atol=1e-6)
        site = compiled.site('ee').id
        np.testing.assert_allclose(data.site_xpos[site], expected[:3, 3] + tool * expected[:3, 2], atol=1e-6)


def test_xarm6_zero_pose_is_ufactorys_documented_tcp_without_tool():
    """At zero joints the xArm 6 flange is at (207, 0, 112) mm pointing down (UFACTORY's initial position)."""
    pose = _dh_flange(XARM6_DH, np.zeros(6))
    np.testing.assert_allclose(pose[:3, 3], [0.207, 0.0, 0.112], atol=1e-6)
    np.testing.assert_allclose(pose[:3, 2], [0.0, 0.0, -1.0], atol=1e-9)


def _urdf_limits(model):
    root = ET.parse(REPO / 'urdf' / f'{model}.urdf').getroot()  # noqa: S314 - the project's own file
    return {joint.get('name'): {key: float(value) for key, value in joint.find('limit').attrib.items()}
            for joint in root.findall('joint') if joint.find('limit') is not None}


@pytest.mark.parametrize('robot', ['ur5e', 'xarm6'])
def test_robot_config_limits_lie_inside_its_model(robot):
    config = load_arm_config(ROBOTS / f'{robot}.yaml')
    assert config.ik.model == robot
    hardware = _urdf_limits(robot)
    assert set(config.joint_names) == set(hardware)
    for joint in config.joints:
        assert hardware[joint.name]['lower'] <= joint.lower < joint.upper <= hardware[joint.name]['upper'], joint.name
        assert 0 < joint.max_velocity <= hardware[joint.name]['velocity'], joint.name


@pytest.mark.parametrize('robot', ['ur5e', 'xarm6'])
def test_ik_uses_the_configured_model(robot):
    config = load_arm_config(ROBOTS / f'{robot}.yaml')
    ik = ArmIK(config.ik, config.limits())
    assert ik.model.nq == 6
    down = np.array([0.0, 0.0, 1.0, 0.0])
    seed = {'ur5e': [PI, -1.9, 1.9, -PI / 2, -PI / 2, 0.0], 'xarm6': [0.0, -0.3, -0.8, 0.0, 1.1, 0.0]}[robot]
    solution = ik.solve(np.array([0.4, 0.1, 0.25]), down, np.array(seed))
    position, _ = ik.forward(solution.positions)
    np.testing.assert_allclose(position, [0.4, 0.1, 0.25], atol=config.ik.position_tolerance)


def test_the_default_model_is_the_simulated_arm():
    assert load_arm_config().ik.model == 'arm'


@pytest.mark.parametrize('value', ['ur10e', 3, ''])
def test_an_unknown_model_is_refused_naming_the_field(tmp_path, value):
    data = yaml.safe_load((ROBOTS / 'ur5e.yaml').read_text())
    data['model'] = value
    path = tmp_path / 'arm.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=rf"{path}: model: {value!r} is not a robot model; expected one of .*'ur5e'"):
        load_arm_config(path)
