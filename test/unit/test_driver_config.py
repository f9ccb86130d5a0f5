"""Driver config files: the shipped ones are sane and match the robots; bad ones name the field."""

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from skill_stack.drivers.config import ConfigError, config_dir, load_arm_config, load_hand_config
from skill_stack.sim import robots

URDF = Path(__file__).resolve().parents[2] / 'urdf'


def _urdf_limits(embodiment):
    root = ET.parse(URDF / f'{embodiment}.urdf').getroot()  # noqa: S314 - the project's own file
    return {joint.get('name'): {key: float(value) for key, value in joint.find('limit').attrib.items()}
            for joint in root.findall('joint') if joint.find('limit') is not None}


@pytest.mark.parametrize(('embodiment', 'load', 'joints'), [('arm', load_arm_config, robots.ARM_JOINTS),
                                                            ('hand', load_hand_config, robots.HAND_JOINTS)])
def test_shipped_config_covers_every_joint_inside_the_hardware_limits(embodiment, load, joints):
    config = load()
    assert set(config.joint_names) == set(joints)
    hardware = _urdf_limits(embodiment)
    for joint in config.joints:
        assert hardware[joint.name]['lower'] <= joint.lower < joint.upper <= hardware[joint.name]['upper'], joint.name
        assert 0 < joint.max_velocity <= hardware[joint.name]['velocity'], joint.name
    assert config.watchdog_timeout > 0


def test_shipped_arm_config_fits_the_gripper_and_keeps_the_ee_above_the_table():
    config = load_arm_config()
    assert config.gripper.max_width <= robots.GRIPPER_MAX_WIDTH
    assert config.workspace.lower[2] > 0.0
    assert config.workspace.contains([0.3, 0.0, 0.3])  # the home pose's ee


def _arm_yaml():
    return yaml.safe_load((config_dir() / 'arm.yaml').read_text())


def _write(tmp_path, data):
    path = tmp_path / 'arm.yaml'
    path.write_text(yaml.safe_dump(data))
    return path


def _set(data, dotted, value):
    *parents, key = dotted.split('.')
    for part in parents:
        data = data[part]
    if value is _DELETE:
        del data[key]
    else:
        data[key] = value


_DELETE = object()


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('watchdog_timeout', 0, 'watchdog_timeout: must be positive'),
    ('watchdog_timeout', 'fast', "watchdog_timeout: expected a finite number, got 'fast'"),
    ('clip_margin', -0.1, 'clip_margin: must not be negative'),
    ('joints.joint2.upper', _DELETE, 'joints.joint2.upper: missing'),
    ('joints.joint2.upper', -3.0, r'joints.joint2.lower: -2.059 must be below upper -3.0'),
    ('joints.joint3.max_velocity', float('nan'), 'joints.joint3.max_velocity: expected a finite number'),
    ('joints.joint4.speed', 1.0, r"joints.joint4.speed: unknown field; expected one of \['lower'"),
    ('joints.joint1', [0, 1], r'joints.joint1: expected a mapping'),
    ('joints', {}, 'joints: at least one joint is required'),
    ('gripper.max_width', True, 'gripper.max_width: expected a finite number, got True'),
    ('workspace.min', [0, 0], r'workspace.min: expected a list of 3 numbers'),
    ('workspace.max', [1.0, 1.0, 'up'], r"workspace.max.2: expected a finite number, got 'up'"),
    ('workspace.min', [2.0, 0.0, 0.0], 'workspace.min: x 2.0 must be below max 0.75'),
    ('ik.max_iterations', 0.5, 'ik.max_iterations: expected a positive integer'),
    ('ik', _DELETE, 'ik: missing'),
    ('extra', 1, 'extra: unknown field'),
])
def test_bad_arm_config_is_refused_naming_file_and_field(tmp_path, field, value, message):
    data = copy.deepcopy(_arm_yaml())
    _set(data, field, value)
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=f'{path}: {message}'):
        load_arm_config(path)


def test_per_joint_clip_margin_overrides_the_default(tmp_path):
    data = _arm_yaml()
    data['joints']['joint2']['clip_margin'] = 0.01
    config = load_arm_config(_write(tmp_path, data))
    margins = {joint.name: joint.clip_margin for joint in config.joints}
    assert margins['joint2'] == 0.01
    assert margins['joint1'] == data['clip_margin']


def test_limits_follow_the_requested_joint_order():
    config = load_hand_config()
    order = list(reversed(config.joint_names))
    limits = config.limits(order=order)
    assert limits.names == tuple(order)
    by_name = {joint.name: joint for joint in config.joints}
    assert limits.upper[0] == by_name[order[0]].upper


def test_unreadable_and_malformed_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match='nothing.yaml: cannot read'):
        load_hand_config(tmp_path / 'nothing.yaml')
    broken = tmp_path / 'broken.yaml'
    broken.write_text('joints: [unclosed')
    with pytest.raises(ConfigError, match='broken.yaml: not valid YAML'):
        load_hand_config(broken)
    listed = tmp_path / 'listed.yaml'
    listed.write_text('- 1\n- 2\n')
    with pytest.raises(ConfigError, match='listed.yaml: expected a mapping at the top level'):
        load_hand_config(listed)


def test_the_hand_keeps_its_finger_grip_on_hold_and_grip_joints_are_checked(tmp_path):
    config = load_hand_config()
    assert set(config.grip_joints) == set(robots.HAND_FINGER_JOINTS)
    data = yaml.safe_load((config_dir() / 'hand.yaml').read_text())
    for bad in (['wrist_q'], 'index_joint0'):
        data['grip_joints'] = bad
        path = tmp_path / 'hand.yaml'
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match=r'hand.yaml: grip_joints: expected a list of names from joints'):
            load_hand_config(path)
