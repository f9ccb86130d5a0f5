"""The sim backends against the simulator's ground truth: Cartesian targets land, the hand closes."""

import os
from pathlib import Path

os.environ.setdefault('MUJOCO_GL', 'egl')

import numpy as np
import pytest

from skill_stack.drivers.arm import ArmDriver
from skill_stack.drivers.config import load_arm_config, load_hand_config
from skill_stack.drivers.hand import HandDriver
from skill_stack.drivers.ik import rotation_angle
from skill_stack.drivers.sim_backends import SimGripperBackend, SimJointBackend
from skill_stack.sim import robots
from skill_stack.sim.world import World

SCENES = Path(__file__).resolve().parents[2] / 'config' / 'scenes'
TICK_STEPS = 5  # 100 Hz control at 500 Hz physics


@pytest.fixture
def arm_world():
    with World(SCENES / 'arm_blocks.yaml') as world:
        yield world


@pytest.fixture
def hand_world():
    with World(SCENES / 'hand_cube.yaml') as world:
        yield world


def _run(world, driver, seconds, command=None):
    for _ in range(round(seconds / (TICK_STEPS * world.timestep))):
        if command is not None:
            command()
        driver.update()
        world.step(TICK_STEPS)


def _down(yaw):
    """The gripper pointing straight down, turned by yaw about the vertical (w, x, y, z)."""
    return np.array([0.0, -np.sin(yaw / 2), np.cos(yaw / 2), 0.0])


@pytest.mark.parametrize(('position', 'yaw'), [([0.45, 0.12, 0.10], 0.3),   # above the red cube
                                               ([0.42, -0.2, 0.2], -0.6),  # above the blue bowl
                                               ([0.3, 0.3, 0.35], 1.2)])
def test_cartesian_target_read_back_from_the_simulator_within_5_mm(arm_world, position, yaw):
    driver = ArmDriver(SimJointBackend(arm_world), SimGripperBackend(arm_world), load_arm_config(),
                       lambda: arm_world.time)
    driver.connect()
    quaternion = _down(yaw)
    _run(arm_world, driver, 2.0, command=lambda: driver.command_pose(position, quaternion))
    ee_position, ee_quaternion = arm_world.site_pose('ee')
    assert np.linalg.norm(ee_position - position) < 0.005
    assert rotation_angle(ee_quaternion, quaternion) < 0.01
    assert driver.status().fault is None


def _closing_targets(limits):
    """Every finger joint at its closing limit: flexion (and the thumb's rotation) to the upper limit;
    the side-to-side joints of the other fingers straight, since spreading sideways does not close."""
    targets = {}
    for i, name in enumerate(limits.names):
        if name in robots.HAND_WRIST_JOINTS:
            continue
        sideways = name.endswith('_joint0') and not name.startswith('thumb')
        targets[name] = 0.0 if sideways else float(limits.upper[i])
    return targets


def _touching(world, finger):
    """Whether any link of the finger is in contact with something (the palm, another finger, an object)."""
    model, data = world.model, world.data
    links = {model.body(f'{finger}_{link}').id for link in ('proximal', 'middle', 'distal')}
    return any(model.geom_bodyid[c.geom1] in links or model.geom_bodyid[c.geom2] in links
               for c in data.contact[:data.ncon])


def test_all_hand_joints_close_unless_blocked(hand_world):
    """Each finger joint reaches its closing limit, or its finger is pressed against something.

    Fully curled, fingertips meet the palm and the index meets the thumb, as on
    a real hand; a joint short of its target must then be touching and have its
    servo pushing toward the target, so a slack or mis-commanded joint fails.
    """
    driver = HandDriver(SimJointBackend(hand_world), load_hand_config(), lambda: hand_world.time)
    driver.connect()
    closing = _closing_targets(driver.limits)
    assert len(closing) == len(robots.HAND_FINGER_JOINTS)
    start = dict(zip(driver.joint_names, hand_world.joint_positions(), strict=True))
    command = {**closing, 'wrist_z': 0.15}  # raised clear of the cube: only the hand itself can block a finger
    _run(hand_world, driver, 1.5, command=lambda: driver.command_joints(command))
    names = driver.joint_names
    reached = dict(zip(names, hand_world.joint_positions(), strict=True))
    sent = dict(zip(names, hand_world.joint_targets(), strict=True))
    effort = dict(zip(names, hand_world.joint_efforts(), strict=True))
    servo = robots.HAND_FINGER_SERVO
    for finger in robots.HAND_FINGERS:
        touching = _touching(hand_world, finger)
        for name in (f'{finger}_joint{i}' for i in range(4)):
            assert sent[name] == pytest.approx(closing[name])  # the driver streamed the full closing target
            error = closing[name] - reached[name]
            if abs(error) > 0.02:
                assert touching, f'{name} stopped {error:.3f} rad short with nothing in the way'
                pushing = min(servo.kp * abs(error), hand_world.model.actuator(name).forcerange[1])
                assert effort[name] * np.sign(error) > 0.5 * pushing, f'{name} is not pressing toward its target'
            travel = closing[name] - start[name]
            if abs(travel) > 0.05:  # and every joint went most of the way
                assert (reached[name] - start[name]) / travel > 0.5, name


def test_joint_backend_writes_the_worlds_servo_targets_and_reads_its_state(arm_world):
    backend = SimJointBackend(arm_world)
    backend.connect()
    assert backend.joint_names == robots.ARM_JOINTS
    targets = np.array(robots.ARM_HOME) + 0.1
    backend.write_joint_targets(targets)
    np.testing.assert_allclose(arm_world.joint_targets(), targets)
    arm_world.step(100)
    sample = backend.read()
    assert sample.stamp == pytest.approx(arm_world.time)
    np.testing.assert_array_equal(sample.positions, arm_world.joint_positions())
    assert np.any(sample.velocities != 0)


def test_hold_servos_to_where_the_joints_are(arm_world):
    backend = SimJointBackend(arm_world)
    backend.connect()
    backend.write_joint_targets(np.array(robots.ARM_HOME) + 0.5)
    arm_world.step(50)
    moving_at = arm_world.joint_positions()
    backend.hold()
    np.testing.assert_array_equal(arm_world.joint_targets(), moving_at)
    arm_world.step(1000)
    np.testing.assert_allclose(arm_world.joint_positions(), moving_at, atol=2e-3)
    assert np.all(np.abs(arm_world.joint_velocities()) < 1e-3)


def test_gripper_backend_matches_the_world(arm_world):
    gripper = SimGripperBackend(arm_world)
    gripper.connect()
    assert gripper.max_width == robots.GRIPPER_MAX_WIDTH
    gripper.write_width(0.02)
    arm_world.step(500)
    assert gripper.read_width() == pytest.approx(0.02, abs=1e-3)


def test_disconnect_holds_and_refuses_further_io(arm_world):
    backend = SimJointBackend(arm_world)
    backend.connect()
    backend.write_joint_targets(np.array(robots.ARM_HOME) + 0.3)
    arm_world.step(20)
    backend.disconnect()
    np.testing.assert_array_equal(arm_world.joint_targets(), arm_world.joint_positions())
    assert not backend.status().connected
    with pytest.raises(ConnectionError, match='not connected'):
        backend.write_joint_targets(np.array(robots.ARM_HOME))


def test_backends_refuse_a_world_without_their_device(hand_world):
    with pytest.raises(ValueError, match='the hand has no gripper'):
        SimGripperBackend(hand_world)
