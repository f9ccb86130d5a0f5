"""Backends the quadrotor contract suite runs against, one entry each.

A rig is a backend plus the time it runs on: `clock` reads the backend's time
(the driver's watchdog runs on it) and `advance` lets time pass - stepping the
simulation, or a test double's clock. A later backend (cflib or mavsdk against a
test double of the vehicle) adds one factory to RIGS; every contract test then
runs against it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from skill_stack.drivers.interfaces import QuadrotorBackend
from skill_stack.drivers.quadrotor import QuadrotorConfig, QuadrotorDriver

SCENE = Path(__file__).resolve().parents[2] / "config" / "scenes" / "quadrotor_pads.yaml"


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


RIGS: dict[str, Callable[[QuadrotorConfig], QuadrotorRig]] = {
    "sim": sim_rig,
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
