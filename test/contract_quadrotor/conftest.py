"""Backends the quadrotor contract suite runs against, one entry each.

A rig is a backend plus the time it runs on: `clock` reads the backend's time
(the driver's watchdog runs on it) and `advance` lets time pass - stepping the
simulation, or a test double's clock. The real backends (cflib for the
Crazyflie, mavsdk for PX4) run over test doubles of their SDKs and vehicles
(test/doubles/); every contract test runs against each entry of RIGS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from skill_stack.drivers.interfaces import QuadrotorBackend
from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver

SCENE = Path(__file__).resolve().parents[2] / "config" / "scenes" / "quadrotor_pads.yaml"
ROBOTS = Path(__file__).resolve().parents[2] / "config" / "robots"
DOUBLE_STEP = 0.01  # s of device time per step of an SDK double


@dataclass
class QuadrotorRig:
    backend: QuadrotorBackend
    config: QuadrotorConfig
    clock: Callable[[], float]  # the backend's time, seconds
    advance: Callable[[float], None]  # let this many seconds of the backend's time pass
    close: Callable[[], None]
    driver: QuadrotorDriver | None = None

    def tick(self, seconds: float | None = None, each: Callable[[], object] | None = None) -> list:
        """Run the control loop for ``seconds`` (one tick by default): ``each()`` (a streamed command), let a
        control period pass, driver.update(). Returns the states update() read."""
        period = 1.0 / self.config.control_rate_hz
        states = []
        for _ in range(max(1, round((seconds or period) / period))):
            if each is not None:
                each()
            self.advance(period)
            states.append(self.driver.update())
        return states


def sim_rig(config: QuadrotorConfig) -> QuadrotorRig:
    """The MuJoCo quadrotor with its simulated flight controller; time is simulated time."""
    from skill_stack.drivers.quadrotor_sim import make_sim_backend
    from skill_stack.sim.world import World

    world = World(SCENE)
    backend = make_sim_backend(world, config)
    return QuadrotorRig(backend=backend, config=config, clock=lambda: world.time, advance=backend.advance,
                        close=world.close)


def _double_rig(double, backend, config: QuadrotorConfig) -> QuadrotorRig:
    """A backend over an SDK double: time passes in 10 ms device steps, each one streaming (the backend's
    poll, as its thread would) and then running the vehicle."""

    def advance(seconds: float) -> None:
        for _ in range(max(1, round(seconds / DOUBLE_STEP))):
            double.clock.advance(DOUBLE_STEP)
            backend.poll()
            double.step(DOUBLE_STEP)

    return QuadrotorRig(backend=backend, config=config, clock=double.clock, advance=advance, close=lambda: None)


def _robot_backend_section(robot: str, config: QuadrotorConfig, **overrides):
    """The robot file's backend settings (config/robots/<robot>.yaml), as that backend parses them."""
    from skill_stack.drivers.config import BackendSpec

    robot_config = QuadrotorConfig.from_yaml(ROBOTS / f"{robot}.yaml")
    settings = {**robot_config.backend_settings.settings, **overrides}
    return BackendSpec(robot_config.backend, settings, str(ROBOTS / f"{robot}.yaml")).fields()


def crazyflie_rig(config: QuadrotorConfig) -> QuadrotorRig:
    """The cflib backend over the cflib double (a Crazyflie on a radio); its high-level land descends at the
    driver's max_speed_z so the suite's landing windows hold."""
    from doubles.cflib_double import CflibDouble

    from skill_stack.drivers.backends.crazyflie import CrazyflieBackend, CrazyflieSettings

    double = CflibDouble()
    settings = CrazyflieSettings.from_fields(
        _robot_backend_section("crazyflie", config, land_speed=config.max_speed_z), config.max_speed_z)
    backend = CrazyflieBackend(settings, config, double.sdk, double.clock, threaded=False)
    return _double_rig(double, backend, config)


def px4_rig(config: QuadrotorConfig) -> QuadrotorRig:
    """The mavsdk backend over the mavsdk double (PX4 in offboard mode), with config/robots/px4.yaml's settings."""
    from doubles.mavsdk_double import Px4Double

    from skill_stack.drivers.backends.px4 import Px4Backend, Px4Settings

    double = Px4Double()
    settings = Px4Settings.from_fields(
        _robot_backend_section("px4", config, land_speed=config.max_speed_z), config.max_speed_z)
    backend = Px4Backend(settings, config, double.sdk, double.clock, threaded=False)
    return _double_rig(double, backend, config)


RIGS: dict[str, Callable[[QuadrotorConfig], QuadrotorRig]] = {
    "sim": sim_rig,
    "crazyflie": crazyflie_rig,
    "px4": px4_rig,
}


@pytest.fixture(params=sorted(RIGS))
def make_rig(request):
    """make_rig(config=None) -> a connected rig with its driver; closed after the test."""
    made = []

    def make(config: QuadrotorConfig | None = None) -> QuadrotorRig:
        rig = RIGS[request.param](config or QuadrotorConfig())
        rig.driver = QuadrotorDriver(rig.backend, rig.config, rig.clock)
        rig.driver.connect()
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.driver.disconnect()
        rig.close()


@pytest.fixture
def rig(make_rig):
    return make_rig()
