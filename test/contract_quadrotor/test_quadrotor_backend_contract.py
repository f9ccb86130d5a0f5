"""What every quadrotor backend must do behind the driver (a contract suite runs against every backend).

Each test runs once per entry of conftest.RIGS, on the backend's own clock:
state reads at rate, take-off, flight to a 3D set-point, landing, limits that
refuse or clip, the command watchdog, and the latching e-stop. Times are the
backend's (simulated) seconds, never the wall clock.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from skill_stack.drivers.quadrotor import QuadrotorConfig, tilt_of, yaw_of
from skill_stack.drivers.safety import CommandError

TOLERANCE = 0.1  # m


def _airborne(rig, height: float = 1.0) -> None:
    rig.driver.arm()
    rig.driver.takeoff(height)
    rig.tick(5.0)
    state = rig.driver.state()
    assert abs(state.position[2] - height) < TOLERANCE, "precondition: took off"


def _speeds(states) -> tuple[np.ndarray, np.ndarray]:
    velocities = np.array([s.linear_velocity for s in states])
    return np.hypot(velocities[:, 0], velocities[:, 1]), np.abs(velocities[:, 2])


def test_state_reads_at_the_control_rate(rig):
    states = rig.tick(1.0)
    stamps = np.array([s.stamp for s in states])
    period = 1.0 / rig.config.control_rate_hz
    assert len(states) == round(rig.config.control_rate_hz)
    assert np.all(np.diff(stamps) > 0.0), "every read is a fresh sample"
    assert np.diff(stamps).max() <= 2 * period
    for state in states:
        assert np.all(np.isfinite(state.position))
        assert np.all(np.isfinite(state.linear_velocity))
        assert np.linalg.norm(state.quaternion) == pytest.approx(1.0, abs=1e-6)
        assert state.landed
        assert not state.armed
    assert states[-1].position[2] < 0.2  # on the ground at the take-off point
    assert rig.driver.status().connected


def test_takeoff_reaches_the_height_and_holds_it(rig):
    rig.driver.arm()
    assert rig.driver.state().armed
    rig.driver.takeoff(1.2)
    climb = rig.tick(5.0)
    hold = rig.tick(1.0)
    for state in hold:
        assert abs(state.position[2] - 1.2) < TOLERANCE
        assert state.armed
        assert not state.landed
    _, vertical = _speeds(climb)
    assert vertical.max() < rig.config.max_speed_z * 1.1


def test_flies_to_a_3d_setpoint_within_tolerance(rig):
    _airborne(rig)
    target, yaw = np.array([1.5, -1.0, 1.6]), 0.5
    states = rig.tick(7.0, each=lambda: rig.driver.command_position(target, yaw))
    final = states[-1]
    assert np.linalg.norm(final.position - target) < TOLERANCE
    assert abs(yaw_of(final.quaternion) - yaw) < 0.1
    horizontal, vertical = _speeds(states)
    assert horizontal.max() < rig.config.max_speed_xy * 1.1  # the flight controller keeps to the speed limit
    assert vertical.max() < rig.config.max_speed_z * 1.1
    assert max(tilt_of(s.quaternion) for s in states) < math.radians(rig.config.max_tilt_deg) + 0.03


def test_lands_and_disarms(rig):
    _airborne(rig)
    rig.driver.command_position([0.8, 0.4, 1.0], 0.0)
    rig.tick(3.0, each=lambda: rig.driver.command_position([0.8, 0.4, 1.0], 0.0))
    rig.driver.land()
    states = rig.tick(5.0)
    final = states[-1]
    assert final.position[2] < 0.15
    assert not final.armed
    assert final.landed
    assert np.linalg.norm(final.position[:2] - [0.8, 0.4]) < TOLERANCE  # straight down


def test_limits_refuse_and_clip(rig):
    _airborne(rig)
    hover = rig.driver.state().position.copy()
    with pytest.raises(CommandError, match="x=9 m is outside the geofence"):
        rig.driver.command_position([9.0, 0.0, 1.0], 0.0)
    with pytest.raises(CommandError, match="'z' is nan"):
        rig.driver.command_position([0.0, 0.0, float("nan")], 0.0)
    with pytest.raises(CommandError, match="'vx' is inf"):
        rig.driver.command_velocity([float("inf"), 0.0, 0.0])
    states = rig.tick(1.0)
    assert np.linalg.norm(states[-1].position - hover) < 0.05  # nothing refused reached the vehicle
    sent, _ = rig.driver.command_velocity([5.0, 0.0, 0.0])
    np.testing.assert_allclose(sent, [rig.config.max_speed_xy, 0.0, 0.0])
    states = rig.tick(2.0, each=lambda: rig.driver.command_velocity([5.0, 0.0, 0.0]))
    horizontal, _ = _speeds(states)
    assert horizontal.max() < rig.config.max_speed_xy * 1.1
    assert horizontal[-1] > rig.config.max_speed_xy * 0.9


def test_a_velocity_stream_stops_at_the_fence(make_rig):
    rig = make_rig(QuadrotorConfig(fence_x_max=2.0))
    _airborne(rig)
    states = rig.tick(6.0, each=lambda: rig.driver.command_velocity([1.0, 0.0, 0.0]))
    x = np.array([s.position[0] for s in states])
    assert x.max() < rig.config.fence_x_max
    assert x[-1] > rig.config.fence_x_max - 1.0  # it did fly toward the wall
    assert abs(states[-1].linear_velocity[0]) < 0.05


def test_watchdog_hovers_then_lands_on_a_stale_stream(rig):
    _airborne(rig)
    rig.tick(1.0, each=lambda: rig.driver.command_velocity([0.6, 0.0, 0.0]))
    stopped_at = rig.driver.state().position.copy()
    states = rig.tick(rig.config.hover_timeout + 1.5)
    assert rig.driver.status().details["watchdog"] == "hover"
    final = states[-1]
    assert np.linalg.norm(final.linear_velocity) < 0.1
    assert np.linalg.norm(final.position - stopped_at) < 0.5  # stopped near where the stream stopped
    assert final.armed
    assert not final.landed
    states = rig.tick(rig.config.land_timeout - rig.config.hover_timeout + 4.0)
    final = states[-1]
    assert not final.armed
    assert final.landed
    assert final.position[2] < 0.15


def test_estop_lands_and_latches_until_release(rig):
    _airborne(rig)
    rig.driver.estop("contract test")
    with pytest.raises(CommandError, match="contract test"):
        rig.driver.command_position([0.0, 0.0, 1.0], 0.0)
    states = rig.tick(4.0)
    assert not states[-1].armed
    assert states[-1].landed
    assert states[-1].position[2] < 0.15
    with pytest.raises(CommandError, match="e-stop engaged"):
        rig.driver.arm()
    assert not rig.driver.state().armed
    rig.driver.release()
    rig.driver.arm()
    assert rig.driver.state().armed


def test_estop_on_the_ground_stops_the_motors(rig):
    rig.driver.arm()
    rig.tick()
    rig.driver.estop()
    rig.tick()
    assert not rig.driver.state().armed
