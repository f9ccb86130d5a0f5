"""What every arm backend must do behind ArmDriver: Cartesian targets, the workspace box, the gripper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skill_stack.drivers.ik import IKError, rotation_angle
from skill_stack.drivers.safety import CommandError


def test_cartesian_target_is_reached_within_5_mm(arm):
    position, quaternion = arm.rig.pose_target
    joints = arm.driver.command_pose(position, quaternion)
    arm.tick(arm.ticks(2.0), command=lambda: arm.driver.command_joints(joints))
    state = arm.driver.state()
    assert np.linalg.norm(state.ee_position - position) < 0.005
    assert rotation_angle(state.ee_quaternion, quaternion) < 0.01


def test_repeating_a_cartesian_command_keeps_the_same_joint_target(arm):
    """A client streaming the same pose gets the same joints back, so the arm does not wander between IK branches."""
    position, quaternion = arm.rig.pose_target
    first = arm.driver.command_pose(position, quaternion)
    arm.tick(20, command=lambda: arm.driver.command_pose(position, quaternion))
    np.testing.assert_allclose(arm.driver.command_pose(position, quaternion), first, atol=1e-3)


@pytest.mark.parametrize(('axis', 'position'), [('x', [0.9, 0.0, 0.3]), ('y', [0.3, -0.8, 0.3]),
                                               ('z', [0.4, 0.0, -0.02])])
def test_cartesian_target_outside_the_workspace_box_is_refused_naming_the_axis(arm, axis, position):
    with pytest.raises(CommandError, match=rf'ee target {axis} = .* outside the workspace box'):
        arm.driver.command_pose(position, [0.0, 0.0, 1.0, 0.0])
    arm.tick(5)
    assert arm.joints.writes == []


def test_joint_target_that_puts_the_ee_outside_the_box_is_refused(arm):
    """Forward kinematics judges a joint target: leaning the shoulder forward drives the gripper into the table."""
    home = arm.joints.read().positions
    leaning = home.copy()
    leaning[arm.index(arm.rig.lean_joint)] += 1.4
    assert arm.driver.ik.forward(leaning)[0][2] < 0.0  # the test's premise: below the table top
    with pytest.raises(CommandError, match=r'ee \(forward kinematics of the joint target\) z = '):
        arm.driver.command_joints(leaning)
    arm.tick(5)
    assert arm.joints.writes == []


def test_unreachable_pose_is_refused_not_approximated(arm):
    with pytest.raises(IKError, match='ee pose unreachable: .* mm .* away'):
        arm.driver.command_pose([0.74, 0.6, 0.85], [0.0, 0.0, 1.0, 0.0])
    arm.tick(5)
    assert arm.joints.writes == []


@pytest.mark.parametrize(('field', 'position', 'quaternion'), [
    ("ee position 'y' is nan", [0.4, math.nan, 0.3], [0.0, 0.0, 1.0, 0.0]),
    ("ee position 'z' is inf", [0.4, 0.0, math.inf], [0.0, 0.0, 1.0, 0.0]),
    ("ee quaternion 'w' is nan", [0.4, 0.0, 0.3], [math.nan, 0.0, 1.0, 0.0]),
    ('has no orientation', [0.4, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]),
    ('ee position needs 3 values', [0.4, 0.0], [0.0, 0.0, 1.0, 0.0]),
])
def test_bad_cartesian_input_is_refused_naming_the_field(arm, field, position, quaternion):
    with pytest.raises(CommandError, match=field):
        arm.driver.command_pose(position, quaternion)
    arm.tick(5)
    assert arm.joints.writes == []


def test_cartesian_commands_are_refused_during_estop(arm):
    arm.driver.estop('test')
    with pytest.raises(CommandError, match='e-stop engaged'):
        arm.driver.command_pose(*arm.rig.pose_target)
    with pytest.raises(CommandError, match='e-stop engaged'):
        arm.driver.command_gripper(0.0)


def test_gripper_reaches_the_commanded_width(arm):
    assert arm.driver.command_gripper(0.03) == 0.03
    sent = arm.driver.update()
    assert sent.gripper_width == 0.03
    arm.tick(arm.ticks(1.0))
    assert arm.gripper.writes == [0.03]  # sent once, not re-streamed
    assert arm.driver.state().gripper_width == pytest.approx(0.03, abs=0.002)


def test_gripper_width_just_past_its_range_is_clipped_and_far_past_refused(arm):
    max_width = arm.driver.config.gripper.max_width
    assert arm.driver.command_gripper(-0.002) == 0.0
    assert arm.driver.command_gripper(max_width + 0.002) == max_width
    with pytest.raises(CommandError, match=r'gripper width 0\.2000 m is outside'):
        arm.driver.command_gripper(0.2)
    with pytest.raises(CommandError, match="gripper 'width' is nan"):
        arm.driver.command_gripper(math.nan)
    arm.tick(3)
    assert arm.gripper.writes == [max_width]


def test_estop_keeps_the_gripper_width(arm):
    """Opening on e-stop would drop what the gripper holds, so it keeps its last width."""
    arm.driver.command_gripper(0.02)
    arm.tick(arm.ticks(1.0))
    arm.driver.estop('test')
    arm.tick(arm.ticks(0.5))
    assert arm.gripper.writes == [0.02]
    assert arm.driver.state().gripper_width == pytest.approx(0.02, abs=0.002)
