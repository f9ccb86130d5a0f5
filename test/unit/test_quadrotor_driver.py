"""The quadrotor driver's safety: geofence, speed limits, NaN refusal, watchdog, e-stop, tilt failsafe.

A recording backend stands in for the flight controller, so each test can see
exactly what reached it (and what did not); a fake clock drives the watchdog.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from skill_stack.drivers.interfaces import DeviceStatus, QuadrotorBackend, QuadrotorStateSample
from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorConfigError, QuadrotorDriver
from skill_stack.drivers.safety import CommandError

LEVEL = np.array([1.0, 0.0, 0.0, 0.0])


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class RecordingBackend(QuadrotorBackend):
    """Records every call; reports the state the test puts in it."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.position = np.array([0.0, 0.0, 0.08])
        self.quaternion = LEVEL.copy()
        self.armed = False
        self.landed = True
        self.connected = False

    def fly_at(self, position) -> None:
        self.armed, self.landed = True, False
        self.position = np.array(position, float)

    def setpoints(self) -> list[tuple]:
        return [call for call in self.calls if call[0] in ("position", "velocity")]

    def connect(self) -> None:
        self.connected = True

    def disconnect(self) -> None:
        self.connected = False

    def status(self) -> DeviceStatus:
        return DeviceStatus(connected=self.connected)

    def read(self) -> QuadrotorStateSample:
        return QuadrotorStateSample(position=self.position.copy(), quaternion=self.quaternion.copy(),
                                    linear_velocity=np.zeros(3), angular_velocity=np.zeros(3), armed=self.armed,
                                    landed=self.landed, stamp=0.0)

    def arm(self) -> None:
        self.calls.append(("arm",))
        self.armed = True

    def disarm(self) -> None:
        self.calls.append(("disarm",))
        self.armed = False

    def write_position_setpoint(self, position: np.ndarray, yaw: float) -> None:
        self.calls.append(("position", np.array(position, float), float(yaw)))

    def write_velocity_setpoint(self, velocity: np.ndarray, yaw_rate: float) -> None:
        self.calls.append(("velocity", np.array(velocity, float), float(yaw_rate)))

    def land(self) -> None:
        self.calls.append(("land",))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def backend():
    return RecordingBackend()


def _driver(backend, clock, **overrides) -> QuadrotorDriver:
    driver = QuadrotorDriver(backend, QuadrotorConfig(**overrides), clock)
    driver.connect()
    return driver


@pytest.fixture
def driver(backend, clock):
    return _driver(backend, clock)


@pytest.fixture
def flying(backend, driver):
    backend.fly_at([0.0, 0.0, 1.0])
    return driver


# --- geofence ------------------------------------------------------------------------------


@pytest.mark.parametrize(("position", "message"), [
    ([6.0, 0.0, 1.0], "x=6 m is outside the geofence: above fence_x_max=5 m"),
    ([0.0, -5.5, 1.0], "y=-5.5 m is outside the geofence: below fence_y_min=-5 m"),
    ([0.0, 0.0, 3.2], "z=3.2 m is outside the geofence: above fence_z_max=3 m"),
    ([0.0, 0.0, 0.05], "z=0.05 m is outside the geofence: below fence_z_min=0.2 m"),
])
def test_setpoint_outside_the_fence_is_refused_naming_axis_value_and_bound(flying, backend, position, message):
    with pytest.raises(CommandError, match=message):
        flying.command_position(position, 0.0)
    assert backend.setpoints() == []


def test_takeoff_above_the_ceiling_is_refused(backend, driver):
    driver.arm()
    with pytest.raises(CommandError, match="take-off z=4 m .* fence_z_max=3 m"):
        driver.takeoff(4.0)
    assert backend.setpoints() == []


def test_vehicle_found_outside_the_fence_is_flown_back_in(flying, backend):
    backend.position = np.array([5.6, 0.0, 3.4])
    flying.update()
    (call,) = backend.setpoints()
    np.testing.assert_allclose(call[1], [4.8, 0.0, 2.8])  # just inside, by fence_margin
    breach = flying.status().details["fence_breach"]
    assert flying.status().fault == breach
    assert "x=5.60 m above fence_x_max=5 m" in breach
    assert "z=3.40 m above fence_z_max=3 m" in breach
    flying.update()  # still outside: no second command fighting the first
    assert len(backend.setpoints()) == 1
    backend.position = np.array([4.8, 0.0, 2.8])
    flying.update()
    assert flying.status().details["fence_breach"] is None


def test_velocity_toward_a_nearby_wall_is_stopped(flying, backend):
    backend.position = np.array([4.7, 0.0, 1.0])
    sent, _ = flying.command_velocity([0.8, 0.5, 0.0])
    np.testing.assert_allclose(sent, [0.0, 0.5, 0.0])  # x heads into the wall, y does not
    sent, _ = flying.command_velocity([-1.0, 0.0, 0.0])  # away from the wall is fine
    np.testing.assert_allclose(sent, [-1.0, 0.0, 0.0])


def test_a_velocity_stream_is_stopped_when_the_vehicle_nears_the_wall(flying, backend, clock):
    flying.command_velocity([1.0, 0.0, 0.0])
    backend.position = np.array([3.0, 0.0, 1.0])
    flying.update()
    assert len(backend.setpoints()) == 1  # far from the wall: nothing to change
    backend.position = np.array([4.6, 0.0, 1.0])
    clock.now = 0.1
    flying.update()
    last = backend.setpoints()[-1]
    assert last[0] == "velocity"
    np.testing.assert_allclose(last[1], [0.0, 0.0, 0.0])


def test_arming_outside_the_fence_or_in_the_air_is_refused(backend, driver):
    backend.position = np.array([7.0, 0.0, 0.08])
    with pytest.raises(CommandError, match="outside the geofence: x=7.00 m"):
        driver.arm()
    backend.position = np.array([0.0, 0.0, 1.0])
    backend.landed = False
    with pytest.raises(CommandError, match="not landed"):
        driver.arm()
    assert ("arm",) not in backend.calls


# --- speed limits and finite values ------------------------------------------------------------------


@pytest.mark.parametrize(("command", "expected"), [
    (([3.0, 0.0, 0.0], 0.0), ([1.0, 0.0, 0.0], 0.0)),
    (([3.0, 4.0, 0.0], 0.0), ([0.6, 0.8, 0.0], 0.0)),  # horizontal speed clipped, direction kept
    (([0.2, 0.0, -2.0], 0.0), ([0.2, 0.0, -0.5], 0.0)),
    (([0.0, 0.0, 0.0], -5.0), ([0.0, 0.0, 0.0], -1.5)),
    (([0.5, -0.5, 0.3], 1.0), ([0.5, -0.5, 0.3], 1.0)),  # within limits: untouched
])
def test_velocity_setpoints_are_clipped_to_the_speed_limits(flying, backend, command, expected):
    sent, rate = flying.command_velocity(*command)
    np.testing.assert_allclose(sent, expected[0])
    assert rate == pytest.approx(expected[1])
    (call,) = backend.setpoints()
    np.testing.assert_allclose(call[1], expected[0])
    assert call[2] == pytest.approx(expected[1])


@pytest.mark.parametrize(("send", "field"), [
    (lambda d: d.command_position([float("nan"), 0.0, 1.0], 0.0), "'x' is nan"),
    (lambda d: d.command_position([0.0, 0.0, float("inf")], 0.0), "'z' is inf"),
    (lambda d: d.command_position([0.0, 0.0, 1.0], float("nan")), "'yaw' is nan"),
    (lambda d: d.command_velocity([0.0, float("-inf"), 0.0], 0.0), "'vy' is -inf"),
    (lambda d: d.command_velocity([0.0, 0.0, 0.0], float("nan")), "'yaw_rate' is nan"),
    (lambda d: d.takeoff(float("nan")), "'height' is nan"),
])
def test_non_finite_commands_are_refused_naming_the_field_and_never_sent(flying, backend, send, field):
    with pytest.raises(CommandError, match=field):
        send(flying)
    assert backend.setpoints() == []


def test_malformed_setpoints_are_refused(flying, backend):
    with pytest.raises(CommandError, match="three numbers"):
        flying.command_position([1.0, 2.0], 0.0)
    with pytest.raises(CommandError, match="three numbers"):
        flying.command_velocity("fast")
    assert backend.setpoints() == []


def test_setpoints_are_refused_while_disarmed(backend, driver):
    with pytest.raises(CommandError, match="disarmed"):
        driver.command_position([0.0, 0.0, 1.0], 0.0)
    with pytest.raises(CommandError, match="disarmed"):
        driver.takeoff(1.0)
    assert backend.setpoints() == []


def test_disarming_in_the_air_needs_force(flying, backend):
    with pytest.raises(CommandError, match="flying"):
        flying.disarm()
    assert ("disarm",) not in backend.calls
    flying.disarm(force=True)
    assert backend.calls[-1] == ("disarm",)


# --- command watchdog ------------------------------------------------------------------------------


def test_stale_stream_hovers_then_lands(flying, backend, clock):
    flying.command_velocity([0.5, 0.0, 0.0])
    backend.position = np.array([0.4, 0.1, 1.2])
    clock.now = 0.45
    flying.update()
    assert flying.status().details["watchdog"] == "streaming"
    assert len(backend.setpoints()) == 1
    clock.now = 0.55
    flying.update()
    status = flying.status()
    assert status.details["watchdog"] == "hover"
    assert status.details["command_age"] == pytest.approx(0.55)
    assert status.fault == "set-points went stale: hover"
    call = backend.setpoints()[-1]
    assert call[0] == "position"  # hover where it is, not where the stream was going
    np.testing.assert_allclose(call[1], [0.4, 0.1, 1.2])
    clock.now = 2.9
    flying.update()
    assert ("land",) not in backend.calls
    clock.now = 3.05
    flying.update()
    assert backend.calls[-1] == ("land",)
    assert flying.status().details["watchdog"] == "land"
    clock.now = 10.0
    flying.update()
    assert backend.calls.count(("land",)) == 1


def test_a_resumed_stream_resets_the_watchdog(flying, backend, clock):
    flying.command_position([1.0, 0.0, 1.0], 0.0)
    clock.now = 0.6
    flying.update()
    assert flying.status().details["watchdog"] == "hover"
    flying.command_position([1.0, 0.0, 1.0], 0.0)
    clock.now = 1.0
    flying.update()
    assert flying.status().details["watchdog"] == "streaming"
    assert backend.setpoints()[-1][0] == "position"
    np.testing.assert_allclose(backend.setpoints()[-1][1], [1.0, 0.0, 1.0])


def test_one_shot_commands_do_not_start_the_watchdog(backend, driver, clock):
    driver.arm()
    driver.takeoff(1.0)
    backend.fly_at([0.0, 0.0, 1.0])
    clock.now = 60.0
    driver.update()
    assert driver.status().details["watchdog"] == "idle"
    assert backend.calls == [("arm",), ("position", pytest.approx(np.array([0.0, 0.0, 1.0])), 0.0)]


# --- e-stop ----------------------------------------------------------------------------------------


def test_estop_in_flight_lands_and_latches_until_release(flying, backend, clock):
    flying.command_velocity([0.3, 0.0, 0.0])
    flying.estop("operator pressed stop")
    assert backend.calls[-1] == ("land",)
    count = len(backend.setpoints())
    for send in (lambda: flying.command_position([0.0, 0.0, 1.0], 0.0), lambda: flying.command_velocity([0, 0, 0]),
                 lambda: flying.takeoff(1.0), flying.arm, flying.hold):
        with pytest.raises(CommandError, match="operator pressed stop"):
            send()
    assert len(backend.setpoints()) == count
    clock.now = 5.0
    flying.update()  # the watchdog stays out of it: no hover over the landing
    assert backend.setpoints()[-1][0] == "velocity"
    backend.landed = True  # touched down, still armed: the driver stops the motors
    flying.update()
    assert backend.calls[-1] == ("disarm",)
    flying.estop("again")  # a second engage keeps the first reason
    assert flying.status().details["estop_reason"] == "operator pressed stop"
    assert flying.status().fault == "e-stop engaged: operator pressed stop"
    flying.release()
    assert flying.status().details["estop_reason"] is None
    assert flying.status().fault is None
    flying.arm()
    assert backend.calls[-1] == ("arm",)


def test_estop_on_the_ground_stops_the_motors_at_once(backend, driver):
    driver.arm()
    driver.estop()
    assert backend.calls[-1] == ("disarm",)
    assert ("land",) not in backend.calls


def test_estop_cut_motors_stops_them_even_in_flight(backend, clock):
    driver = _driver(backend, clock, estop_action="cut_motors")
    backend.fly_at([0.0, 0.0, 1.0])
    driver.estop("net test")
    assert backend.calls == [("disarm",)]


def test_tilt_beyond_the_failsafe_engages_the_estop(flying, backend):
    roll = math.radians(70.0)
    backend.quaternion = np.array([math.cos(roll / 2), math.sin(roll / 2), 0.0, 0.0])
    flying.update()
    status = flying.status()
    assert status.details["estop"]
    assert "tilt 70 degrees exceeds 'failsafe_tilt_deg'" in status.details["estop_reason"]
    assert status.fault == f"e-stop engaged: {status.details['estop_reason']}"
    assert backend.calls[-1] == ("land",)


# --- flight controller limits ------------------------------------------------------------------------


class LooseBackend(RecordingBackend):
    max_tilt = math.radians(40.0)
    max_speed = (3.0, 1.0)


def test_a_flight_controller_looser_than_the_config_is_refused(clock):
    with pytest.raises(QuadrotorConfigError, match="'max_tilt_deg' is 30.0 .* tilts up to 40.0"):
        QuadrotorDriver(LooseBackend(), QuadrotorConfig(), clock)
    with pytest.raises(QuadrotorConfigError, match="'max_speed_xy' is 1.0 m/s .* up to 3.0"):
        QuadrotorDriver(LooseBackend(), QuadrotorConfig(max_tilt_deg=40.0), clock)
    QuadrotorDriver(LooseBackend(), QuadrotorConfig(max_tilt_deg=40.0, max_speed_xy=3.0, max_speed_z=1.0), clock)
