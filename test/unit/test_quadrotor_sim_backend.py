"""The sim backend: the flight controller wired to the MuJoCo world, configured from the driver's limits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver
from skill_stack.drivers.quadrotor_sim import SimQuadrotorBackend, make_sim_backend
from skill_stack.eval.conditions import evaluate, parse_condition
from skill_stack.sim.scene_file import PAD_THICKNESS, parse_scene
from skill_stack.sim.world import World

SCENE = Path(__file__).resolve().parents[2] / "config" / "scenes" / "quadrotor_pads.yaml"


@pytest.fixture
def world():
    with World(SCENE) as world:
        yield world


def test_commands_need_a_connection(world):
    backend = SimQuadrotorBackend(world)
    assert not backend.status().connected
    with pytest.raises(ConnectionError, match="connect"):
        backend.read()
    with pytest.raises(ConnectionError, match="connect"):
        backend.arm()
    backend.connect()
    assert backend.status().connected
    assert backend.read().landed


def test_only_a_quadrotor_scene_will_do():
    with World(parse_scene({"embodiment": "arm"})) as arm_world, \
            pytest.raises(ValueError, match="needs a quadrotor scene"):
        SimQuadrotorBackend(arm_world)


def test_the_flight_controller_gets_the_config_limits(world):
    config = QuadrotorConfig(max_tilt_deg=20.0, max_speed_xy=0.8, max_speed_z=0.3)
    backend = make_sim_backend(world, config)
    assert backend.max_tilt == pytest.approx(math.radians(20.0))
    assert backend.max_speed == (0.8, 0.3)
    QuadrotorDriver(backend, config, lambda: world.time)  # consistent: accepted
    with pytest.raises(ValueError, match="max_tilt_deg"):
        QuadrotorDriver(SimQuadrotorBackend(world), config, lambda: world.time)  # default controller tilts 35


def test_state_is_in_the_world_frame(world):
    """Velocity read back is world-frame even when the vehicle is turned (odometry gives it in the body frame)."""
    backend = SimQuadrotorBackend(world)
    backend.connect()
    backend.arm()
    backend.write_position_setpoint(np.array([0.0, 0.0, 1.0]), math.pi / 2)
    backend.advance(4.0)
    backend.write_velocity_setpoint(np.array([0.5, 0.0, 0.0]), 0.0)
    backend.advance(2.0)
    state = backend.read()
    np.testing.assert_allclose(state.linear_velocity, [0.5, 0.0, 0.0], atol=0.03)
    assert state.stamp == pytest.approx(world.time)
    assert state.armed
    assert not state.landed
    assert backend.status().details["mode"] == "velocity"


def test_disconnect_in_the_air_lands_and_reset_powers_down(world):
    backend = SimQuadrotorBackend(world)
    backend.connect()
    backend.arm()
    backend.write_position_setpoint(np.array([0.0, 0.0, 1.0]), 0.0)
    backend.advance(3.0)
    backend.disconnect()
    assert backend.controller.mode.value == "land"
    backend.advance(4.0)
    assert not backend.controller.armed
    world.reset()
    backend.reset()
    backend.connect()
    state = backend.read()
    assert state.landed
    assert not state.armed
    assert state.stamp == 0.0


def _home_pad_scene(position, radius):
    return parse_scene({"embodiment": "quadrotor", "objects": [
        {"name": "home", "shape": "pad", "color": "green", "size": [radius], "position": position}]})


# Under two legs only, the vehicle leans by the pad's thickness over the legs' 8 cm spacing (urdf/quadrotor.urdf).
@pytest.mark.parametrize(("position", "radius", "tilt"), [([0.0, 0.0], 0.3, 0.0),
                                                          ([0.1, 0.0], 0.08, math.atan(PAD_THICKNESS / 0.08))],
                         ids=["under-all-legs", "under-two-legs"])
def test_the_vehicle_rests_on_its_home_pad_takes_off_and_lands_back(position, radius, tilt):
    """A pad under the take-off point lifts the start by its thickness (or tilts it, under two legs only);
    the vehicle stands still on it, takes off from it and lands back on it, as the eval's landed_on judges."""
    with World(parse_scene({"embodiment": "quadrotor"})) as bare:
        ground_z = bare.odometry()["position"][2]
    scene = _home_pad_scene(position, radius)
    with World(scene) as world:
        start = world.ground_truth()
        world.step(500)  # a second untouched: at rest, not sinking through the pad
        odometry = world.odometry()
        assert odometry["position"][2] == pytest.approx(start["robots"]["quadrotor"]["position"][2], abs=1e-4)
        assert float(np.abs(world.data.qvel).max()) < 1e-3
        assert min(contact.dist for contact in world.data.contact[:world.data.ncon]) > -0.001
        assert 2.0 * math.acos(min(1.0, abs(odometry["quaternion"][0]))) == pytest.approx(tilt, abs=0.005)
        if tilt == 0.0:
            assert odometry["position"][2] == pytest.approx(ground_z + PAD_THICKNESS, abs=5e-4)

        backend = SimQuadrotorBackend(world)
        backend.connect()
        backend.arm()
        backend.write_position_setpoint(np.array([*position, 1.0]), 0.0)
        backend.advance(5.0)
        assert not backend.read().landed
        assert backend.read().position[2] == pytest.approx(1.0, abs=0.05)
        backend.land()
        backend.advance(6.0)
        assert backend.read().landed
        assert not backend.read().armed
        [check] = evaluate([parse_condition({"landed_on": {"pad": "home"}}, scene, "c")], start, world.ground_truth())
        assert check.ok, check.detail
