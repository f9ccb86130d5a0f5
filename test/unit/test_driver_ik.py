"""Arm IK with mink: reaches reachable poses tightly, stays in the limits, refuses what it cannot reach."""

import dataclasses

import numpy as np
import pytest

from skill_stack.drivers.config import load_arm_config
from skill_stack.drivers.ik import ArmIK, IKError, rotation_angle
from skill_stack.drivers.safety import JointLimits
from skill_stack.sim import robots

HOME = np.array(robots.ARM_HOME)


@pytest.fixture(scope='module')
def config():
    return load_arm_config()


@pytest.fixture(scope='module')
def ik(config):
    return ArmIK(config.ik, config.limits(order=robots.ARM_JOINTS))


def _reachable_poses(ik, config, count, seed, spread):
    """Poses the arm can certainly reach: forward kinematics of random joints inside the limits and the box."""
    rng = np.random.default_rng(seed)
    limits = config.limits(order=robots.ARM_JOINTS)
    poses = []
    while len(poses) < count:
        joints = np.clip(HOME + rng.uniform(-spread, spread, HOME.size), limits.lower, limits.upper)
        position, quaternion = ik.forward(joints)
        if config.workspace.contains(position):
            poses.append((position, quaternion))
    return poses


def test_forward_kinematics_of_home_is_the_documented_tool_pose(ik):
    position, quaternion = ik.forward(HOME)
    np.testing.assert_allclose(position, [0.3, 0.0, 0.3], atol=1e-3)
    assert rotation_angle(quaternion, np.array([0.0, 0.0, 1.0, 0.0])) < 1e-3  # pointing straight down


def test_reachable_poses_are_solved_within_tolerance_and_limits(ik, config):
    limits = config.limits(order=robots.ARM_JOINTS)
    for position, quaternion in _reachable_poses(ik, config, 30, seed=0, spread=0.6):
        solution = ik.solve(position, quaternion, HOME)
        reached, reached_quat = ik.forward(solution.positions)
        assert np.linalg.norm(reached - position) <= config.ik.position_tolerance + 1e-9
        assert rotation_angle(reached_quat, quaternion) <= config.ik.orientation_tolerance + 1e-9
        assert solution.position_error == pytest.approx(np.linalg.norm(reached - position), abs=1e-9)
        assert np.all(solution.positions >= limits.lower)
        assert np.all(solution.positions <= limits.upper)


def test_solving_for_the_current_pose_takes_no_iterations_and_keeps_the_joints(ik):
    joints = HOME + np.array([0.2, 0.1, -0.1, 0.3, 0.2, -0.4])
    position, quaternion = ik.forward(joints)
    solution = ik.solve(position, quaternion, joints)
    assert solution.iterations == 0
    np.testing.assert_array_equal(solution.positions, joints)


def test_solutions_stay_near_the_seed_branch(ik, config):
    """From a seed close to a known solution, IK returns that solution, not another arm configuration."""
    for position, quaternion in _reachable_poses(ik, config, 10, seed=1, spread=0.6):
        first = ik.solve(position, quaternion, HOME)
        again = ik.solve(position, quaternion, first.positions + 0.02)
        np.testing.assert_allclose(again.positions, first.positions, atol=0.01)


def test_out_of_reach_pose_raises_with_the_remaining_error(ik):
    with pytest.raises(IKError, match=r'ee pose unreachable: position \[1.0, 0.0, 0.3\].* mm and .* rad away'):
        ik.solve(np.array([1.0, 0.0, 0.3]), np.array([0.0, 0.0, 1.0, 0.0]), HOME)


def test_ik_honours_the_drivers_software_limits(config):
    """A pose that needs joint1 at 1.0 rad is unreachable when the driver allows joint1 only +-0.3 rad."""
    wide = config.limits(order=robots.ARM_JOINTS)
    lower, upper = wide.lower.copy(), wide.upper.copy()
    lower[0], upper[0] = -0.3, 0.3
    narrow = JointLimits(wide.names, lower, upper, wide.max_velocity, wide.clip_margin)
    target_joints = HOME.copy()
    target_joints[0] = 1.0
    reference = ArmIK(config.ik, wide)
    position, quaternion = reference.forward(target_joints)
    assert reference.solve(position, quaternion, HOME).positions[0] == pytest.approx(1.0, abs=0.01)
    with pytest.raises(IKError):
        ArmIK(config.ik, narrow).solve(position, quaternion, HOME)


def test_a_seed_outside_the_limits_is_clipped_before_solving(ik, config):
    limits = config.limits(order=robots.ARM_JOINTS)
    seed = HOME.copy()
    seed[2] = limits.upper[2] + 0.3
    position, quaternion = ik.forward(HOME)
    solution = ik.solve(position, quaternion, seed)
    assert solution.positions[2] <= limits.upper[2]


def test_looser_tolerances_converge_in_fewer_iterations(config):
    limits = config.limits(order=robots.ARM_JOINTS)
    tight = ArmIK(config.ik, limits)
    loose = ArmIK(dataclasses.replace(config.ik, position_tolerance=0.01, orientation_tolerance=0.1), limits)
    position, quaternion = tight.forward(HOME + np.array([0.5, 0.3, -0.3, 0.4, -0.3, 0.5]))
    assert loose.solve(position, quaternion, HOME).iterations <= tight.solve(position, quaternion, HOME).iterations


def test_rotation_angle_treats_q_and_minus_q_as_the_same_rotation():
    q = np.array([np.cos(0.25), np.sin(0.25), 0.0, 0.0])
    assert rotation_angle(q, -q) == pytest.approx(0.0, abs=1e-6)
    assert rotation_angle(q, np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.5)
