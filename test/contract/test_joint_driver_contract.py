"""What every joint backend (arm or hand, sim or real) must do behind its driver.

Each test runs once per entry in conftest.RIGS. The clock is the device's own
(simulated time for the sim), so the watchdog and rate limits are exercised
deterministically, however slow the machine running the tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from skill_stack.drivers.safety import CommandError

# --- state ---------------------------------------------------------------------------


def test_state_reads_are_fresh_at_the_control_rate(setup):
    """Every read after device time passes carries a newer stamp, one tick later, with a full finite state."""
    n = len(setup.driver.joint_names)
    stamps = []
    for _ in range(20):
        sample = setup.joints.read()
        assert sample.positions.shape == sample.velocities.shape == sample.efforts.shape == (n,)
        assert np.all(np.isfinite(sample.positions))
        stamps.append(sample.stamp)
        setup.rig.advance(setup.period)
    assert np.all(np.diff(stamps) == pytest.approx(setup.period, abs=setup.period / 2))


def test_backend_refuses_io_before_connect(rig):
    with pytest.raises(ConnectionError):
        rig.joints.read()
    with pytest.raises(ConnectionError):
        rig.joints.write_joint_targets(np.zeros(len(rig.joints.joint_names)))


def test_connected_driver_reports_no_fault(setup):
    status = setup.driver.status()
    assert status.connected
    assert status.fault is None


# --- reaching targets ---------------------------------------------------------------------


def test_joint_target_is_reached_within_tolerance(setup):
    target = setup.target_array(setup.rig.free_target)
    setup.tick(setup.ticks(2.0), command=lambda: setup.driver.command_joints(setup.rig.free_target))
    reached = setup.joints.read().positions
    np.testing.assert_allclose(reached, target, atol=setup.rig.position_tolerance)
    assert setup.driver.status().fault is None  # a steady stream never trips the watchdog
    assert setup.driver.status().details['setpoint_at_target']


def test_streamed_setpoints_respect_the_velocity_limits(setup):
    """Each set-point moves at most max_velocity * dt from the previous one, starting from where the robot is."""
    start = setup.joints.read().positions
    far = {name: value for name, value in setup.rig.free_target.items()}
    peak_speed = np.zeros(len(start))
    for _ in range(setup.ticks(1.0)):
        setup.driver.command_joints(far)
        setup.driver.update()
        setup.rig.advance(setup.period)
        peak_speed = np.maximum(peak_speed, np.abs(setup.joints.read().velocities))
    limits = setup.driver.limits
    steps = np.diff(np.vstack([start, *setup.joints.writes]), axis=0)
    assert np.all(np.abs(steps) <= limits.max_velocity * setup.period + 1e-9)
    assert np.any(np.abs(steps) > 0.5 * limits.max_velocity * setup.period)  # it did move, at speed
    # The device follows the set-points, so its own speed stays near the limit too.
    assert np.all(peak_speed <= 1.5 * limits.max_velocity)


# --- position limits --------------------------------------------------------------------------


@pytest.mark.parametrize('end', ['lower', 'upper'])
def test_target_just_past_a_limit_is_clipped_to_it(setup, end):
    joint = setup.rig.limit_joint
    i = setup.index(joint)
    limits = setup.driver.limits
    bound = getattr(limits, end)[i]
    sign = -1.0 if end == 'lower' else 1.0
    accepted = setup.driver.command_joints({joint: bound + sign * limits.clip_margin[i] / 2})
    assert accepted[i] == bound
    setup.tick(setup.ticks(2.0), command=lambda: setup.driver.command_joints({joint: bound}))
    sent = np.array([write[i] for write in setup.joints.writes])
    assert np.all((sent >= limits.lower[i]) & (sent <= limits.upper[i]))
    assert setup.joints.read().positions[i] == pytest.approx(bound, abs=setup.rig.position_tolerance)


@pytest.mark.parametrize('end', ['lower', 'upper'])
def test_target_far_past_a_limit_is_refused_and_never_sent(setup, end):
    joint = setup.rig.limit_joint
    i = setup.index(joint)
    limits = setup.driver.limits
    bound = getattr(limits, end)[i]
    value = bound + (-1.0 if end == 'lower' else 1.0) * (limits.clip_margin[i] + 0.1)
    start = setup.joints.read().positions[i]
    accepted = setup.driver.command_joints(setup.rig.free_target)[i]
    with pytest.raises(CommandError, match=rf"joint '{joint}' target {value:.4f} is outside its limits"):
        setup.driver.command_joints({joint: value})
    setup.tick(setup.ticks(0.3))
    assert setup.joints.writes
    # Every set-point still lies on the way to the accepted target: the refused one left no trace.
    low, high = min(start, accepted), max(start, accepted)
    assert all(low - 1e-12 <= write[i] <= high + 1e-12 for write in setup.joints.writes)


def test_unknown_joint_is_refused(setup):
    with pytest.raises(CommandError, match="unknown joint 'elbow_of_doom'"):
        setup.driver.command_joints({'elbow_of_doom': 0.0})
    setup.tick(3)
    assert setup.joints.writes == []


def test_target_array_of_the_wrong_length_is_refused(setup):
    with pytest.raises(CommandError, match='expected .* joint targets'):
        setup.driver.command_joints([0.0, 0.1])


# --- NaN and inf ----------------------------------------------------------------------------------


@pytest.mark.parametrize('bad', [math.nan, math.inf, -math.inf])
def test_non_finite_target_is_refused_naming_the_joint_and_never_applied(setup, bad):
    joint = setup.rig.limit_joint
    setup.driver.command_joints(setup.rig.free_target)
    setup.tick(5)
    with pytest.raises(CommandError, match=rf"joint '{joint}' is {bad}"):
        setup.driver.command_joints({joint: bad})
    full = setup.target_array({})
    full[setup.index(joint)] = bad
    with pytest.raises(CommandError, match=rf"joint '{joint}' is {bad}"):
        setup.driver.command_joints(full)
    setup.tick(5)
    assert len(setup.joints.writes) == 10
    assert all(np.all(np.isfinite(write)) for write in setup.joints.writes)
    assert np.all(np.isfinite(setup.joints.read().positions))


# --- watchdog ------------------------------------------------------------------------------------------


def test_watchdog_holds_when_the_command_stream_stops_and_a_new_command_rearms_it(setup):
    driver = setup.driver
    timeout = driver.config.watchdog_timeout
    setup.tick(setup.ticks(0.2), command=lambda: driver.command_joints(setup.rig.free_target))
    last_command = setup.rig.clock()
    tripped_at = None
    for _ in range(setup.ticks(timeout + 0.5)):
        setup.tick()
        if tripped_at is None and driver.status().fault is not None:
            tripped_at = setup.rig.clock()
    assert tripped_at is not None, 'the watchdog never tripped'
    # It trips on the first tick past the timeout, not before.
    assert timeout < tripped_at - last_command <= timeout + 2 * setup.period + 1e-9
    status = driver.status()
    assert 'watchdog' in status.fault
    assert status.details['watchdog_tripped']
    assert setup.joints.holds == 1
    # Streaming stopped at the trip; the robot holds still.
    writes = len(setup.joints.writes)
    held = setup.joints.read().positions
    setup.tick(setup.ticks(1.0))
    assert len(setup.joints.writes) == writes
    np.testing.assert_allclose(setup.joints.read().positions, held, atol=setup.rig.position_tolerance)
    # A new command re-arms it and streaming resumes.
    writes = len(setup.joints.writes)
    setup.tick(3, command=lambda: driver.command_joints(setup.rig.free_target))
    assert driver.status().fault is None
    assert len(setup.joints.writes) == writes + 3


def test_watchdog_stays_quiet_before_the_first_command(setup):
    setup.tick(setup.ticks(setup.driver.config.watchdog_timeout + 0.5))
    assert setup.driver.status().fault is None
    assert setup.joints.holds == 0
    assert setup.joints.writes == []


# --- e-stop ------------------------------------------------------------------------------------------------


def test_estop_holds_at_once_latches_and_releases(setup):
    driver = setup.driver
    setup.tick(setup.ticks(0.3), command=lambda: driver.command_joints(setup.rig.free_target))
    assert np.any(np.abs(setup.joints.read().velocities) > 0.1)  # caught mid-motion
    at_stop = setup.joints.read().positions
    driver.estop('operator pressed the button')
    assert setup.joints.holds == 1  # held immediately, not at the next tick
    writes = len(setup.joints.writes)
    for _ in range(setup.ticks(1.0)):
        with pytest.raises(CommandError, match='e-stop engaged'):
            driver.command_joints(setup.rig.free_target)
        sent = driver.update()
        assert sent.joint_targets is None
        setup.rig.advance(setup.period)
    assert len(setup.joints.writes) == writes
    status = driver.status()
    assert 'operator pressed the button' in status.fault
    assert status.details['estop']
    # The robot braked and stays where it was stopped.
    held = setup.joints.read().positions
    setup.tick(setup.ticks(0.5))
    np.testing.assert_allclose(setup.joints.read().positions, held, atol=setup.rig.position_tolerance)
    np.testing.assert_allclose(held, at_stop, atol=0.1)
    # Release: nothing moves by itself; a new command is accepted and streamed.
    driver.release()
    assert driver.status().fault is None
    setup.tick(5)
    assert len(setup.joints.writes) == writes
    setup.tick(setup.ticks(2.0), command=lambda: driver.command_joints(setup.rig.free_target))
    np.testing.assert_allclose(setup.joints.read().positions, setup.target_array(setup.rig.free_target),
                               atol=setup.rig.position_tolerance)


def test_estop_engages_without_any_command(setup):
    setup.driver.estop('test')
    assert setup.joints.holds == 1
    with pytest.raises(CommandError, match='e-stop engaged'):
        setup.driver.command_joints(setup.rig.free_target)
