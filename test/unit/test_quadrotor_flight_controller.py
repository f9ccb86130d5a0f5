"""The simulated flight controller flying the MuJoCo quadrotor: hover, steps, limits, landing, mixing."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import mujoco
import numpy as np
import pytest

from skill_stack.sim.flight_controller import Airframe, FlightController, FlightMode, FlightTuning
from skill_stack.sim.world import World

SCENE = Path(__file__).resolve().parents[2] / "config" / "scenes" / "quadrotor_pads.yaml"


@pytest.fixture(scope="module")
def world():
    with World(SCENE) as world:
        yield world


@pytest.fixture
def airframe(world):
    return Airframe.from_world(world)


def _fresh(world: World, airframe: Airframe, tuning: FlightTuning | None = None) -> FlightController:
    world.reset()
    controller = FlightController(airframe, tuning)
    _fly(world, controller, world.timestep)  # the controller learns where the vehicle stands
    return controller


def _fly(world: World, controller: FlightController, seconds: float) -> np.ndarray:
    """Step the physics with the controller before every step, as the sim backend does.

    Returns one row per step: time, position (3), world velocity (3), tilt (rad), yaw (rad).
    """
    rows = []
    rotation = np.zeros(9)
    for _ in range(round(seconds / world.timestep)):
        odometry = world.odometry()
        mujoco.mju_quat2Mat(rotation, odometry["quaternion"])
        matrix = rotation.reshape(3, 3)
        velocity = matrix @ odometry["linear_velocity"]
        thrusts = controller.update(odometry["position"], odometry["quaternion"], velocity,
                                    odometry["angular_velocity"], world.timestep)
        world.set_rotor_thrusts(thrusts)
        world.step(1)
        tilt = math.acos(min(1.0, matrix[2, 2]))
        rows.append([world.time, *odometry["position"], *velocity, tilt, math.atan2(matrix[1, 0], matrix[0, 0])])
    return np.array(rows)


def _hovering(world: World, airframe: Airframe, height: float = 1.0, tuning: FlightTuning | None = None):
    controller = _fresh(world, airframe, tuning)
    controller.arm()
    controller.takeoff(height)
    _fly(world, controller, 4.0)
    return controller


def test_airframe_read_from_the_model(airframe):
    assert airframe.mass == pytest.approx(0.8)
    assert airframe.max_rotor_thrust == pytest.approx(2.5 * 0.8 * 9.81 / 4)
    # X configuration: one rotor in each quadrant, 0.15 m from the centre.
    quadrants = {(np.sign(x), np.sign(y)) for x, y in airframe.rotor_positions}
    assert quadrants == {(1, 1), (1, -1), (-1, -1), (-1, 1)}
    for x, y in airframe.rotor_positions:
        assert math.hypot(x, y) == pytest.approx(0.15, abs=1e-3)
    assert all(0.001 < i < 0.01 for i in airframe.inertia)


def test_disarmed_rotors_are_off_and_idle_stays_on_the_ground(world, airframe):
    controller = _fresh(world, airframe)
    start = world.odometry()["position"].copy()
    _fly(world, controller, 0.2)
    np.testing.assert_array_equal(controller.thrusts, 0.0)
    controller.set_position(np.array([0.0, 0.0, 1.0]), 0.0)  # ignored while disarmed
    controller.arm()
    assert controller.mode is FlightMode.IDLE
    trace = _fly(world, controller, 1.0)
    assert np.all(controller.thrusts > 0.0)
    assert sum(controller.thrusts) < airframe.hover_thrust / 2
    assert np.abs(trace[:, 3] - start[2]).max() < 0.005
    assert controller.landed


def test_takeoff_then_hover_holds_altitude(world, airframe):
    controller = _fresh(world, airframe)
    controller.arm()
    controller.takeoff(1.0)
    climb = _fly(world, controller, 4.0)
    assert not controller.landed
    assert climb[:, 6].max() <= controller.tuning.max_speed_up * 1.05  # climbs at the limited speed
    hover = _fly(world, controller, 2.0)
    assert np.abs(hover[:, 3] - 1.0).max() < 0.03
    assert np.abs(hover[:, 1:3]).max() < 0.02
    assert hover[:, 7].max() < math.radians(1.0)


def test_one_metre_step_settles_without_large_overshoot(world, airframe):
    controller = _hovering(world, airframe)
    start = world.odometry()["position"].copy()
    target = start + np.array([1.0, 0.0, 0.0])
    controller.set_position(target, 0.0)
    trace = _fly(world, controller, 5.0)
    t = trace[:, 0] - trace[0, 0]
    x = trace[:, 1]
    overshoot = (x.max() - target[0]) / 1.0
    assert overshoot < 0.15
    error = np.linalg.norm(trace[:, 1:4] - target, axis=1)
    assert np.all(error[t > 3.5] < 0.05), "settles within 5 cm by 3.5 s"
    assert error[-1] < 0.02
    assert np.abs(trace[:, 3] - target[2]).max() < 0.05  # altitude held through the manoeuvre
    assert trace[:, 7].max() < controller.tuning.max_tilt


def test_tilt_limit_holds_on_a_long_step(world, airframe):
    limit = math.radians(12.0)
    controller = _hovering(world, airframe, tuning=FlightTuning(max_tilt=limit, max_speed_xy=3.0))
    controller.set_position(world.odometry()["position"] + np.array([4.0, 3.0, 0.0]), 0.0)
    trace = _fly(world, controller, 6.0)
    assert trace[:, 7].max() < limit + math.radians(1.5)
    assert trace[:, 7].max() > limit - math.radians(2.0)  # the limit, not the gains, bounded the tilt
    assert np.linalg.norm(trace[:, 4:6], axis=1).max() < 3.0 * 1.05


def test_velocity_setpoint_and_yaw_rate_are_tracked(world, airframe):
    controller = _hovering(world, airframe)
    controller.set_velocity(np.array([0.5, -0.3, 0.2]), 0.4)
    trace = _fly(world, controller, 3.0)
    np.testing.assert_allclose(trace[-1, 4:7], [0.5, -0.3, 0.2], atol=0.03)
    yaw_rate = np.diff(np.unwrap(trace[-250:, 8])) / world.timestep
    assert np.mean(yaw_rate) == pytest.approx(0.4, abs=0.03)
    controller.set_velocity(np.zeros(3), 0.0)
    trace = _fly(world, controller, 2.0)
    assert np.linalg.norm(trace[-1, 4:7]) < 0.03


def test_yaw_step_turns_in_place(world, airframe):
    controller = _hovering(world, airframe)
    position = world.odometry()["position"].copy()
    controller.set_position(position, math.pi / 2)
    trace = _fly(world, controller, 2.5)
    assert trace[-1, 8] == pytest.approx(math.pi / 2, abs=0.02)
    assert np.linalg.norm(trace[:, 1:4] - position, axis=1).max() < 0.03


def test_land_descends_gently_and_disarms_on_the_ground(world, airframe):
    controller = _fresh(world, airframe)
    rest_height = world.odometry()["position"][2]
    controller.arm()
    controller.set_position(np.array([0.5, -0.3, 1.0]), 0.0)
    _fly(world, controller, 4.0)
    controller.land()
    assert controller.mode is FlightMode.LAND
    chunks = []
    while controller.armed and len(chunks) < 400:
        chunks.append(_fly(world, controller, 0.01))
    trace = np.concatenate(chunks)
    disarmed_at = trace[-1, 0]
    touchdown_at = trace[np.argmax(trace[:, 3] < rest_height + 0.005), 0]
    assert controller.mode is FlightMode.DISARMED
    assert controller.landed
    # The land detector waits for the vehicle to stand still on the ground, and not much longer.
    assert controller.tuning.touchdown_time <= disarmed_at - touchdown_at < 1.0
    trace = np.concatenate([trace, _fly(world, controller, 0.5)])
    np.testing.assert_array_equal(controller.thrusts, 0.0)
    assert trace[-1, 3] == pytest.approx(rest_height, abs=0.005)
    assert np.abs(trace[:, 1:3] - [0.5, -0.3]).max() < 0.03  # straight down
    assert trace[:, 6].min() > -controller.tuning.land_speed * 1.15  # no faster than the landing speed


def test_land_on_the_ground_disarms_at_once_and_arming_in_the_air_is_refused(world, airframe):
    controller = _fresh(world, airframe)
    controller.arm()
    controller.land()
    assert not controller.armed
    controller = _hovering(world, airframe)
    controller.disarm()  # a kill in the air: the vehicle falls
    _fly(world, controller, 0.1)
    with pytest.raises(RuntimeError, match="airborne"):
        controller.arm()


def test_integrators_absorb_a_mass_error(world, airframe):
    """An airframe file 15 % off in mass still hovers at the set height once the integrators settle."""
    wrong = dataclasses.replace(airframe, mass=airframe.mass * 0.85)
    controller = _hovering(world, wrong)
    hover = _fly(world, controller, 2.0)
    assert np.abs(hover[-500:, 3] - 1.0).max() < 0.03


def test_mixer_produces_the_commanded_wrench(airframe):
    controller = FlightController(airframe)
    allocation = np.array([
        [1.0] * 4,
        [y for _, y in airframe.rotor_positions],
        [-x for x, _ in airframe.rotor_positions],
        [-spin * airframe.drag_ratio for spin in airframe.rotor_spins],
    ])
    for collective, torque in [(7.85, (0.0, 0.0, 0.0)), (7.85, (0.05, -0.03, 0.004)), (10.0, (-0.1, 0.08, -0.01))]:
        thrusts = controller.mix(collective, np.array(torque))
        np.testing.assert_allclose(allocation @ thrusts, [collective, *torque], atol=1e-9)
    # A roll torque beyond what the rotors can give keeps its sign and stays within [idle, max].
    thrusts = controller.mix(7.85, np.array([5.0, 0.0, 0.5]))
    assert np.all(thrusts >= controller.tuning.idle_thrust * airframe.max_rotor_thrust - 1e-12)
    assert np.all(thrusts <= airframe.max_rotor_thrust + 1e-12)
    assert (allocation @ thrusts)[1] > 0.1


def test_same_commands_same_flight(world, airframe):
    traces = []
    for _ in range(2):
        controller = _fresh(world, airframe)
        controller.arm()
        controller.set_position(np.array([0.3, 0.2, 0.8]), 0.3)
        traces.append(_fly(world, controller, 1.5))
    np.testing.assert_array_equal(traces[0], traces[1])


@pytest.mark.parametrize(("field", "value"), [("max_tilt", 2.0), ("position_gain_xy", -1.0),
                                              ("land_speed", 0.1), ("rate_gain_rp", float("nan"))])
def test_bad_tuning_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        FlightTuning(**{field: value})
