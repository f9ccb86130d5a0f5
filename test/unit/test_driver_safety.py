"""Joint limits (clip or refuse, rate limiting) and the workspace box, on their own."""

import numpy as np
import pytest

from skill_stack.drivers.safety import CommandError, JointLimits, WorkspaceBox


@pytest.fixture
def limits():
    return JointLimits(['a', 'b', 'c'], lower=[-1.0, 0.0, -2.0], upper=[1.0, 0.5, 2.0],
                       max_velocity=[1.0, 0.5, 2.0], clip_margin=[0.05, 0.01, 0.05])


def test_targets_inside_the_limits_pass_unchanged(limits):
    assert limits.enforce_position(0, 0.3) == 0.3
    assert limits.enforce_position(1, 0.5) == 0.5


@pytest.mark.parametrize(('index', 'value', 'clipped'), [(0, 1.04, 1.0), (0, -1.05, -1.0), (1, -0.01, 0.0),
                                                         (1, 0.505, 0.5)])
def test_targets_within_the_clip_margin_are_clipped_to_the_limit(limits, index, value, clipped):
    assert limits.enforce_position(index, value) == clipped


@pytest.mark.parametrize(('index', 'value'), [(0, 1.06), (0, -1.2), (1, -0.02), (2, 7.0)])
def test_targets_beyond_the_clip_margin_are_refused_naming_joint_value_and_limits(limits, index, value):
    with pytest.raises(CommandError) as error:
        limits.enforce_position(index, value)
    message = str(error.value)
    assert repr(limits.names[index]) in message
    assert f'{value:.4f}' in message
    assert f'[{limits.lower[index]:.4f}, {limits.upper[index]:.4f}]' in message


def test_unknown_joint_names_are_refused_listing_the_known_ones(limits):
    assert limits.index('b') == 1
    with pytest.raises(CommandError, match=r"unknown joint 'd'; joints are \['a', 'b', 'c'\]"):
        limits.index('d')


def test_rate_limit_moves_all_joints_together_along_a_straight_line(limits):
    current = np.zeros(3)
    target = np.array([1.0, 0.5, -2.0])
    step = limits.rate_limit(current, target, 0.1)
    # Joint a needs 1.0 s at 1 rad/s, b 1.0 s, c 1.0 s: one scale factor, all on the line.
    np.testing.assert_allclose(step, target * 0.1)
    assert np.all(np.abs(step - current) <= limits.max_velocity * 0.1 + 1e-12)


def test_rate_limit_is_set_by_the_slowest_joint(limits):
    target = np.array([0.1, 0.5, 0.0])  # b needs 1 s, a only 0.1 s
    step = limits.rate_limit(np.zeros(3), target, 0.1)
    np.testing.assert_allclose(step, target * 0.1)


def test_rate_limit_arrives_exactly_and_does_not_move_without_time(limits):
    target = np.array([0.01, 0.0, 0.0])
    np.testing.assert_array_equal(limits.rate_limit(np.zeros(3), target, 0.1), target)
    np.testing.assert_array_equal(limits.rate_limit(np.zeros(3), np.ones(3), 0.0), np.zeros(3))
    np.testing.assert_array_equal(limits.rate_limit(np.zeros(3), np.ones(3), -1.0), np.zeros(3))


def test_joint_limits_reject_malformed_construction():
    with pytest.raises(ValueError, match='upper needs 2 entries'):
        JointLimits(['a', 'b'], [0, 0], [1], [1, 1], [0, 0])
    with pytest.raises(ValueError, match='unique'):
        JointLimits(['a', 'a'], [0, 0], [1, 1], [1, 1], [0, 0])


@pytest.mark.parametrize(('point', 'axis'), [([1.0, 0.0, 0.5], 'x'), ([0.0, -2.0, 0.5], 'y'),
                                             ([0.0, 0.0, -0.1], 'z')])
def test_workspace_box_names_the_axis_a_point_leaves_it_on(point, axis):
    box = WorkspaceBox([-0.5, -0.5, 0.0], [0.5, 0.5, 1.0])
    assert not box.contains(np.array(point))
    with pytest.raises(CommandError, match=rf'ee target {axis} = .* outside the workspace box'):
        box.check(np.array(point), 'ee target')


def test_workspace_box_accepts_its_inside_and_boundary():
    box = WorkspaceBox([-0.5, -0.5, 0.0], [0.5, 0.5, 1.0])
    box.check(np.array([0.5, 0.0, 0.0]), 'ee')
    assert box.contains(np.array([0.0, 0.0, 0.5]))


def test_workspace_box_needs_lower_below_upper():
    with pytest.raises(ValueError, match='workspace y: lower 1.0 must be below upper 0.0'):
        WorkspaceBox([0, 1, 0], [1, 0, 1])
