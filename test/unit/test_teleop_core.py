"""Teleop's core: key presses and stick rates to set-points, key-hold, lead limits, interventions."""

import math

import numpy as np
import pytest

from skill_stack.skills.arm import GRIPPER_OPEN
from skill_stack.skills.hand import HAND_CLOSED, HAND_JOINTS, HAND_OPEN, yaw_quaternion
from skill_stack.teleop.core import Pose, Target, Teleop, hand_joint_targets, heading_change

DOWN = (0.0, 1.0, 0.0, 0.0)  # the arm's gripper pointing down


def arm(position=(0.4, 0.0, 0.3), width=GRIPPER_OPEN):
    return Pose(position, DOWN, width)


def test_a_key_steps_the_target_from_the_current_pose():
    teleop = Teleop('arm')
    teleop.observe(arm())
    assert teleop.tick(0.0) is None  # nothing held: stream nothing
    assert teleop.key('w', 0.0).kind == 'move'
    target = teleop.tick(0.05)
    np.testing.assert_allclose(target.position, [0.405, 0.0, 0.3])
    np.testing.assert_allclose(target.quaternion, DOWN)
    assert target.grip == GRIPPER_OPEN
    for key, expected in (('a', [0.405, 0.005, 0.3]), ('r', [0.405, 0.005, 0.305]), ('down', [0.4, 0.005, 0.305])):
        teleop.key(key, 0.1)
        np.testing.assert_allclose(teleop.tick(0.1).position, expected)


def test_key_repeats_keep_it_engaged_and_silence_lets_go_with_an_intervention():
    teleop = Teleop('arm', key_hold=0.7)
    teleop.observe(arm())
    now = 0.0
    teleop.key('w', now)
    for _ in range(30):  # auto-repeat at 30 Hz for 1 s, the robot following
        now += 1 / 30
        teleop.key('w', now)
        target = teleop.tick(now)
        teleop.observe(arm(target.position))
    assert teleop.engaged
    assert teleop.tick(now + 0.69) is not None  # within key_hold of the last repeat
    assert teleop.finished == []
    assert teleop.tick(now + 0.71) is None
    (done,) = teleop.finished
    assert done.inputs == 31
    assert done.duration == pytest.approx(1.71)
    np.testing.assert_allclose(done.displacement, [0.155, 0.0, 0.0], atol=1e-9)
    assert done.text() == 'teleop: end-effector moved by [+0.155, +0.000, +0.000] m in 1.7 s'


def test_the_target_never_leads_the_robot_by_more_than_max_lead():
    teleop = Teleop('arm')
    teleop.observe(arm())
    for i in range(100):  # the robot does not move (blocked, or e-stopped)
        teleop.key('d', i * 0.03)
    target = teleop.tick(3.0)
    np.testing.assert_allclose(target.position, [0.4, -0.05, 0.3])


def test_gripper_keys_and_a_held_object_stays_squeezed():
    teleop = Teleop('arm')
    teleop.observe(arm(width=0.04))  # closed on a 4 cm object
    teleop.key('w', 0.0)
    assert teleop.tick(0.0).grip == 0.0  # still commanded closed, not opened to the measured width
    teleop.key('o', 0.1)
    assert teleop.tick(0.1).grip == GRIPPER_OPEN
    teleop.observe(arm(width=GRIPPER_OPEN))
    teleop.release(0.2)
    assert teleop.finished[0].text().endswith('gripper opened (0.040 -> 0.085 m) in 0.2 s')


def test_turn_keys_rotate_about_world_z_within_the_yaw_lead():
    teleop = Teleop('arm')
    teleop.observe(arm())
    teleop.key('q', 0.0)
    target = teleop.tick(0.0)
    assert heading_change(DOWN, target.quaternion) == pytest.approx(0.05)
    for i in range(20):
        teleop.key('q', 0.03 * i)
    assert heading_change(DOWN, teleop.tick(0.6).quaternion) == pytest.approx(0.3)  # max_yaw_lead


def test_release_key_lets_go_at_once_and_other_keys_do_not_engage():
    teleop = Teleop('arm')
    teleop.observe(arm())
    for key in ('enter', ':', 'esc', 'x', 'ctrl-c', 't'):
        assert teleop.key(key, 0.0).kind in ('correct', 'quit', 'unknown')
        assert not teleop.engaged
    teleop.key('w', 0.0)
    assert teleop.key('space', 0.1).kind == 'release'
    assert not teleop.engaged
    assert teleop.tick(0.1) is None
    assert len(teleop.finished) == 1


def test_no_robot_state_no_engagement():
    teleop = Teleop('quadrotor')
    assert teleop.key('w', 0.0).kind == 'move'
    assert not teleop.engaged
    assert teleop.tick(0.1) is None


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="embodiment must be one of"):
        Teleop('boat')
    with pytest.raises(ValueError, match='key_hold'):
        Teleop('arm', key_hold=math.nan)
    teleop = Teleop('arm')
    with pytest.raises(ValueError, match='teleop key'):
        teleop.key('', 0.0)
    with pytest.raises(ValueError, match='teleop key'):
        teleop.key(119, 0.0)
    with pytest.raises(ValueError, match='gamepad rates must be finite'):
        teleop.gamepad([math.nan, 0, 0, 0], 0.0)
    with pytest.raises(ValueError, match='gamepad grip'):
        teleop.gamepad([0, 0, 0, 0], 0.0, grip='squeeze')
    with pytest.raises(ValueError, match='robot pose is not finite'):
        Pose((0.0, math.inf, 0.0), DOWN)
    with pytest.raises(ValueError, match='has no length'):
        Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))


def test_a_deflected_stick_moves_at_speed_and_centring_lets_go():
    teleop = Teleop('quadrotor')
    teleop.observe(Pose((0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0)))
    teleop.gamepad([0.0, 0.0, 0.5, 0.0], 0.0)  # half up: 0.4 m/s
    now = 0.0
    for _ in range(10):
        now += 0.05
        target = teleop.tick(now)
    np.testing.assert_allclose(target.position, [0.0, 0.0, 1.2])
    teleop.gamepad([0.0, 0.0, 0.0, 0.0], now)
    assert teleop.tick(now + 0.1) is not None
    assert teleop.tick(now + 0.2) is None
    assert teleop.finished[0].text().startswith('teleop: quadrotor moved by')


def test_hand_targets_move_the_wrist_and_close_the_fingers():
    teleop = Teleop('hand')
    start = Pose((0.0, 0.0, 0.25), yaw_quaternion(0.5), 0.0)
    teleop.observe(start)
    teleop.key('r', 0.0)
    teleop.key('c', 0.0)
    joints = hand_joint_targets(teleop.tick(0.0))
    assert list(joints) == list(HAND_JOINTS)
    assert (joints['wrist_x'], joints['wrist_y']) == (0.0, 0.0)
    assert joints['wrist_z'] == pytest.approx(0.003)
    assert joints['wrist_yaw'] == pytest.approx(0.5)
    np.testing.assert_allclose([joints[n] for n in HAND_JOINTS[4:]], HAND_CLOSED)
    opened = hand_joint_targets(Target(np.array([0.0, 0.0, 0.25]), yaw_quaternion(0.0), 0.0))
    np.testing.assert_allclose([opened[n] for n in HAND_JOINTS[4:]], HAND_OPEN)
