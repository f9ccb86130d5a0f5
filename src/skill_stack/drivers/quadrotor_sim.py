"""The simulated quadrotor as a QuadrotorBackend: MuJoCo physics plus the simulated flight controller.

A real backend talks to a flight controller that runs on the vehicle at its own
rate; here the owner of the simulation advances it. Whoever steps the world
(the sim node, a test) calls `step` instead of `World.step`, or, with a
per-physics-step hook in World, `control_step` before every physics step, so
the flight controller computes rotor thrusts from `World.odometry()` at the
physics rate (500 Hz), like an onboard controller fed by its state estimator.
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from skill_stack.drivers.interfaces import DeviceStatus, QuadrotorBackend, QuadrotorStateSample
from skill_stack.drivers.quadrotor import QuadrotorConfig
from skill_stack.sim.flight_controller import Airframe, FlightController, FlightTuning
from skill_stack.sim.world import World


class SimQuadrotorBackend(QuadrotorBackend):
    """Set-points go to the simulated flight controller; state comes from the simulator's odometry."""

    def __init__(self, world: World, controller: FlightController | None = None):
        if world.embodiment != "quadrotor":
            raise ValueError(f"the sim quadrotor backend needs a quadrotor scene, not a {world.embodiment} scene")
        self.world = world
        self.controller = controller or FlightController(Airframe.from_world(world))
        self._connected = False
        self._rotation = np.zeros(9)
        self.control_step(update_only=True)  # the controller knows where the vehicle stands before any command

    # --- lifecycle ---------------------------------------------------------------------

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        """Leave the vehicle safe: landing if it is flying (the simulation must keep stepping to finish)."""
        if self.controller.armed:
            self.controller.land()
        self._connected = False

    def status(self) -> DeviceStatus:
        controller = self.controller
        return DeviceStatus(connected=self._connected, details={
            "mode": controller.mode.value, "position_setpoint": controller.position_setpoint.tolist(),
            "yaw_setpoint": controller.yaw_setpoint, "rotor_thrusts": controller.thrusts.tolist()})

    @property
    def max_tilt(self) -> float:
        """The flight controller's tilt limit, rad: the most a position or velocity set-point can tilt it."""
        return self.controller.tuning.max_tilt

    @property
    def max_speed(self) -> tuple[float, float]:
        """The flight controller's (horizontal, vertical) speed limits in m/s when flying to a position."""
        tuning = self.controller.tuning
        return tuning.max_speed_xy, max(tuning.max_speed_up, tuning.max_speed_down)

    # --- QuadrotorBackend ---------------------------------------------------------------

    def read(self) -> QuadrotorStateSample:
        self._require_connected()
        odometry = self.world.odometry()
        mujoco.mju_quat2Mat(self._rotation, odometry["quaternion"])
        return QuadrotorStateSample(
            position=odometry["position"], quaternion=odometry["quaternion"],
            linear_velocity=self._rotation.reshape(3, 3) @ odometry["linear_velocity"],
            angular_velocity=odometry["angular_velocity"], armed=self.controller.armed,
            landed=self.controller.landed, stamp=self.world.time)

    def arm(self) -> None:
        self._require_connected()
        self.controller.arm()

    def disarm(self) -> None:
        self._require_connected()
        self.controller.disarm()

    def write_position_setpoint(self, position: np.ndarray, yaw: float) -> None:
        self._require_connected()
        self.controller.set_position(position, yaw)

    def write_velocity_setpoint(self, velocity: np.ndarray, yaw_rate: float) -> None:
        self._require_connected()
        self.controller.set_velocity(velocity, yaw_rate)

    def land(self) -> None:
        self._require_connected()
        self.controller.land()

    # --- simulation ---------------------------------------------------------------------

    def control_step(self, update_only: bool = False) -> np.ndarray:
        """Run the flight controller once on the current odometry and apply its rotor thrusts.

        Returns the thrusts applied (after the world's clipping). ``update_only`` feeds
        the controller the state without touching the rotors.
        """
        odometry = self.world.odometry()
        mujoco.mju_quat2Mat(self._rotation, odometry["quaternion"])
        velocity = self._rotation.reshape(3, 3) @ odometry["linear_velocity"]  # body to world frame
        thrusts = self.controller.update(odometry["position"], odometry["quaternion"], velocity,
                                         odometry["angular_velocity"], self.world.timestep)
        if update_only:
            return thrusts
        return self.world.set_rotor_thrusts(thrusts)

    def step(self, n: int = 1) -> None:
        """Advance the simulation n physics steps, with the flight controller before each."""
        for _ in range(n):
            self.control_step()
            self.world.step(1)

    def advance(self, seconds: float) -> None:
        """Advance the simulation by ``seconds`` of simulated time (rounded to physics steps)."""
        self.step(max(0, round(seconds / self.world.timestep)))

    def reset(self) -> None:
        """After `World.reset`: the flight controller back to power-on, on the ground and disarmed."""
        self.controller.reset()
        self.control_step(update_only=True)

    def _require_connected(self) -> None:
        if not self._connected:
            raise ConnectionError("the simulated quadrotor is not connected; call connect() first")


def tuning_within_limits(config: QuadrotorConfig, base: FlightTuning | None = None) -> FlightTuning:
    """Flight controller tuning whose tilt and speed limits are no looser than the driver config's.

    This is how the simulated vehicle gets its limits, as a real one would get
    MPC_TILTMAX_AIR and the MPC_*_VEL_MAX parameters set when its backend connects.
    """
    base = base or FlightTuning()
    return dataclasses.replace(
        base, max_tilt=min(base.max_tilt, config.max_tilt), max_speed_xy=min(base.max_speed_xy, config.max_speed_xy),
        max_speed_up=min(base.max_speed_up, config.max_speed_z),
        max_speed_down=min(base.max_speed_down, config.max_speed_z),
        land_speed=min(base.land_speed, config.max_speed_z))


def make_sim_backend(world: World, config: QuadrotorConfig) -> SimQuadrotorBackend:
    """The sim backend for a driver config: its flight controller flies within the config's limits."""
    return SimQuadrotorBackend(world, FlightController(Airframe.from_world(world), tuning_within_limits(config)))
