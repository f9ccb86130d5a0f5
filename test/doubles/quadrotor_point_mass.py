"""The vehicle behind the quadrotor SDK doubles (cflib_double, mavsdk_double): a point mass in ENU.

It flies the way a cascaded position controller does, at the level the
contract suite can observe: a position target becomes a velocity toward it
(proportional, clipped to the speed limits), a velocity target is tracked
directly, and the velocity changes at bounded acceleration. With the motors
off it falls to the ground. Attitude is level (quadrotor tilt is not modelled)
with the heading turning toward its target at a bounded rate.
"""

from __future__ import annotations

import math

import numpy as np

GRAVITY = 9.81


class PointMass:
    def __init__(self, max_speed_xy: float = 1.0, max_speed_z: float = 1.0, max_accel: float = 4.0,
                 position_gain: float = 2.0, max_yaw_rate: float = 2.0):
        self.max_speed_xy = max_speed_xy
        self.max_speed_z = max_speed_z
        self.max_accel = max_accel
        self.position_gain = position_gain
        self.max_yaw_rate = max_yaw_rate  # rad/s
        self.position = np.zeros(3)
        self.velocity = np.zeros(3)
        self.yaw = 0.0  # rad, ENU
        self.yaw_rate = 0.0  # rad/s, as flown in the last step
        self.motors = False
        self.target_position: np.ndarray | None = None
        self.target_velocity: np.ndarray | None = None
        self.target_yaw: float | None = None
        self.target_yaw_rate = 0.0

    def fly_to(self, position, yaw: float | None = None) -> None:
        self.target_position, self.target_velocity = np.array(position, float), None
        self.target_yaw, self.target_yaw_rate = yaw, 0.0

    def fly_at(self, velocity, yaw: float | None = None, yaw_rate: float = 0.0) -> None:
        self.target_position, self.target_velocity = None, np.array(velocity, float)
        self.target_yaw, self.target_yaw_rate = yaw, yaw_rate

    def hold_height(self) -> None:
        """Level out: stop moving horizontally, keep the height (what a stale-stream firmware does first)."""
        self.fly_at([0.0, 0.0, 0.0])

    @property
    def on_ground(self) -> bool:
        return self.position[2] <= 1e-3 and self.velocity[2] <= 1e-6

    def quaternion(self) -> np.ndarray:
        """Level attitude at the current heading, ENU, w x y z."""
        return np.array([math.cos(self.yaw / 2.0), 0.0, 0.0, math.sin(self.yaw / 2.0)])

    def step(self, dt: float) -> None:
        if not self.motors:
            self.velocity[:2] = 0.0
            self.velocity[2] = 0.0 if self.on_ground else self.velocity[2] - GRAVITY * dt
            self.yaw_rate = 0.0
        else:
            desired = self._desired_velocity()
            change = desired - self.velocity
            norm = np.linalg.norm(change)
            if norm > self.max_accel * dt:
                change *= self.max_accel * dt / norm
            self.velocity = self.velocity + change
            self._turn(dt)
        self.position = self.position + self.velocity * dt
        if self.position[2] < 0.0:
            self.position[2] = 0.0
            self.velocity = np.zeros(3)

    def _desired_velocity(self) -> np.ndarray:
        if self.target_velocity is not None:
            desired = self.target_velocity.copy()
        elif self.target_position is not None:
            desired = self.position_gain * (self.target_position - self.position)
        else:
            desired = np.zeros(3)
        horizontal = math.hypot(desired[0], desired[1])
        if horizontal > self.max_speed_xy:
            desired[:2] *= self.max_speed_xy / horizontal
        desired[2] = min(max(desired[2], -self.max_speed_z), self.max_speed_z)
        return desired

    def _turn(self, dt: float) -> None:
        if self.target_yaw is None:
            rate = min(max(self.target_yaw_rate, -self.max_yaw_rate), self.max_yaw_rate)
        else:
            error = math.atan2(math.sin(self.target_yaw - self.yaw), math.cos(self.target_yaw - self.yaw))
            rate = min(max(2.0 * error, -self.max_yaw_rate), self.max_yaw_rate)
        self.yaw = math.atan2(math.sin(self.yaw + rate * dt), math.cos(self.yaw + rate * dt))
        self.yaw_rate = rate


class FakeClock:
    """Device time for the doubles and the backends under test: passes only in advance()."""

    def __init__(self, start: float = 0.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
