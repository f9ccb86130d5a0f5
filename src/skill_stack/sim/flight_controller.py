"""The simulated quadrotor's onboard flight controller (PX4 / Crazyflie style).

A cascade, run once per physics step from the vehicle's odometry:

    position set-point --P--> velocity set-point (speed limits, slew-limited, its rate fed forward)
    velocity set-point --PI--> acceleration (acceleration and tilt limits)
    acceleration --> thrust direction + collective thrust --> attitude set-point
    attitude error (quaternion, PX4's reduced-attitude yaw weighting) --P--> body-rate set-point
    body-rate error --PI--> angular acceleration --x inertia--> torques
    collective + torques --mixer (X configuration)--> four rotor thrusts

plus the flight modes a real flight controller has: disarmed (rotors off), idle
(armed on the ground, rotors at idle), position, velocity and land (descend at
the current xy, detect touchdown, disarm). Plain Python and numpy: it knows
nothing of MuJoCo beyond `Airframe.from_world`, and it is deterministic -
the same inputs give bit-identical outputs.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from skill_stack.sim import robots

if TYPE_CHECKING:  # the controller itself needs no simulator
    from skill_stack.sim.world import World


class FlightMode(enum.Enum):
    DISARMED = "disarmed"  # rotors stopped
    IDLE = "idle"  # armed on the ground, rotors at idle, waiting for a set-point
    POSITION = "position"
    VELOCITY = "velocity"
    LAND = "land"  # descending at the current xy; disarms on touchdown


@dataclass(frozen=True)
class Airframe:
    """What a flight controller's parameters say about the vehicle (mass, inertia, geometry, motors).

    Rotor positions are in the body frame relative to the centre of mass, in the
    order of the rotor thrusts the controller outputs; spin +1 is counter-clockwise
    seen from above, and a rotor's reaction torque is ``-spin * drag_ratio * thrust``.
    """

    mass: float  # kg
    inertia: tuple[float, float, float]  # moments about the body axes through the centre of mass, kg m^2
    rotor_positions: tuple[tuple[float, float], ...]  # (x, y) per rotor, metres
    rotor_spins: tuple[int, ...]
    drag_ratio: float  # m: reaction torque per newton of thrust
    max_rotor_thrust: float  # N
    gravity: float = robots.GRAVITY

    @classmethod
    def from_world(cls, world: World) -> Airframe:
        """The simulated vehicle's airframe, read from the compiled model (as PX4's airframe file would be).

        The inertia is the free joint's rotational block of the mass matrix, taken about
        the body origin, which the URDF puts at the centre of mass.
        """
        import mujoco  # only here: the controller itself runs without MuJoCo

        model, data = world.model, mujoco.MjData(world.model)
        mujoco.mj_forward(model, data)
        base = model.body("base_link").id
        mass_matrix = np.zeros((model.nv, model.nv))
        mujoco.mj_fullM(model, data, mass_matrix)
        dof = model.joint("root").dofadr[0]
        inertia = np.diag(mass_matrix[dof + 3:dof + 6, dof + 3:dof + 6])
        com = data.subtree_com[base]
        rotation = data.xmat[base].reshape(3, 3)
        positions = []
        for name in world.rotor_names:
            offset = rotation.T @ (data.site_xpos[model.site(f"rotor_{name}").id] - com)
            positions.append((float(offset[0]), float(offset[1])))
        return cls(mass=float(model.body_subtreemass[base]), inertia=tuple(float(v) for v in inertia),
                   rotor_positions=tuple(positions), rotor_spins=tuple(spin for _, spin in robots.ROTORS),
                   drag_ratio=robots.ROTOR_DRAG_RATIO, max_rotor_thrust=world.max_rotor_thrust,
                   gravity=float(-model.opt.gravity[2]))

    @property
    def hover_thrust(self) -> float:
        """Collective thrust that holds the vehicle level against gravity, N."""
        return self.mass * self.gravity


@dataclass(frozen=True)
class FlightTuning:
    """Controller gains and limits, named after the PX4 parameters they play.

    Gains are per loop bandwidth (1/s) rather than raw torque gains, so the
    same tuning suits any airframe: the rate loop multiplies by the inertia.
    The rate loop sits under the 30 ms motor lag (33 rad/s) with about 60
    degrees of phase margin, and each outer loop is slower than the one inside.
    """

    position_gain_xy: float = 1.5  # MPC_XY_P: (m/s) per m
    position_gain_z: float = 1.5  # MPC_Z_P
    velocity_gain_xy: float = 4.0  # MPC_XY_VEL_P_ACC: (m/s^2) per (m/s)
    velocity_integral_xy: float = 1.0  # MPC_XY_VEL_I_ACC
    velocity_gain_z: float = 5.0  # MPC_Z_VEL_P_ACC
    velocity_integral_z: float = 4.0  # MPC_Z_VEL_I_ACC
    max_speed_xy: float = 2.0  # MPC_XY_VEL_MAX, m/s
    max_speed_up: float = 1.0  # MPC_Z_VEL_MAX_UP
    max_speed_down: float = 0.7  # MPC_Z_VEL_MAX_DN
    max_accel_xy: float = 5.0  # m/s^2, on top of the tilt limit
    max_accel_up: float = 4.0
    max_accel_down: float = 4.0  # how far under 1 g the collective thrust may drop
    max_integral_xy: float = 2.0  # m/s^2, anti-windup clamp of the velocity integrators
    max_integral_z: float = 4.0
    setpoint_accel_xy: float = 3.0  # m/s^2: how fast the velocity set-point may change (trajectory smoothing)
    setpoint_accel_z: float = 2.0
    response_time: float = 0.15  # s: how long the attitude takes to follow an acceleration command
    max_tilt: float = math.radians(35.0)  # MPC_TILTMAX_AIR, rad
    attitude_gain: float = 7.0  # MC_ROLL_P / MC_PITCH_P: (rad/s) per rad
    attitude_gain_yaw: float = 3.0  # MC_YAW_P (PX4's yaw weight = yaw / roll-pitch gain)
    rate_gain_rp: float = 20.0  # MC_ROLLRATE_P as a bandwidth: (rad/s^2) per (rad/s)
    rate_gain_yaw: float = 8.0
    rate_integral_rp: float = 10.0  # MC_ROLLRATE_I: (rad/s^2) per rad
    rate_integral_yaw: float = 4.0
    max_rate_integral: float = 20.0  # rad/s^2, anti-windup clamp
    max_rate_rp: float = math.radians(220.0)  # MC_ROLLRATE_MAX
    max_rate_yaw: float = math.radians(120.0)
    idle_thrust: float = 0.05  # fraction of a rotor's max thrust while armed (motors never stop in flight)
    max_collective: float = 0.9  # fraction of the total max thrust, leaving headroom for torque
    land_speed: float = 0.4  # MPC_LAND_SPEED, m/s
    touchdown_speed: float = 0.1  # m/s: slower than this, with thrust under hover, counts as on the ground
    touchdown_time: float = 0.3  # s the touchdown condition must hold (PX4's land detector trigger time)
    liftoff_height: float = 0.05  # m climbed above the ground before the vehicle counts as airborne

    def __post_init__(self):
        may_be_zero = {"velocity_integral_xy", "velocity_integral_z", "max_integral_xy", "max_integral_z",
                       "response_time", "rate_integral_rp", "rate_integral_yaw", "max_rate_integral",
                       "idle_thrust", "liftoff_height"}
        for item in fields(self):
            value = getattr(self, item.name)
            if not math.isfinite(value) or value < 0.0 or (value == 0.0 and item.name not in may_be_zero):
                raise ValueError(f"flight tuning {item.name!r} must be finite and positive, got {value}")
        if not self.max_tilt < math.pi / 2:
            raise ValueError(f"flight tuning 'max_tilt' must be under pi/2 rad, got {self.max_tilt}")
        if not self.idle_thrust < 0.5 or not self.max_collective <= 1.0:
            raise ValueError("flight tuning 'idle_thrust' must be in [0, 0.5) and 'max_collective' in (0, 1]")
        if self.land_speed <= self.touchdown_speed * 2:
            raise ValueError(f"flight tuning 'land_speed' ({self.land_speed}) must be over twice "
                             f"'touchdown_speed' ({self.touchdown_speed}), or descent looks like touchdown")


class FlightController:
    """Cascaded position/velocity/attitude/rate controller and mixer of an X quadrotor.

    Call `update` once per control period (every physics step: 500 Hz) with the
    estimated state; it returns the rotor thrusts in newtons, in the airframe's
    rotor order. Commands (arm, set-points, land) only change the mode and the
    set-points, and act from the next update. Set-points relative to the vehicle
    (take-off, hold, land) use the state of the last update.

    The loop is written with Python floats rather than numpy arrays: for 3-vectors
    numpy's per-call overhead dominates, and this runs 500 times per simulated second.
    """

    def __init__(self, airframe: Airframe, tuning: FlightTuning | None = None):
        if len(airframe.rotor_spins) != 4 or len(airframe.rotor_positions) != 4:
            raise ValueError("the flight controller mixes for four rotors (X configuration)")
        self.airframe = airframe
        self.tuning = tuning or FlightTuning()
        t = self.tuning
        self._mixer = tuple(tuple(float(v) for v in row) for row in _mixer_matrix(airframe))
        self._inertia = tuple(float(v) for v in airframe.inertia)
        self._position_gain = (t.position_gain_xy, t.position_gain_xy, t.position_gain_z)
        self._velocity_gain = (t.velocity_gain_xy, t.velocity_gain_xy, t.velocity_gain_z)
        self._velocity_integral_gain = (t.velocity_integral_xy, t.velocity_integral_xy, t.velocity_integral_z)
        self._velocity_integral_max = (t.max_integral_xy, t.max_integral_xy, t.max_integral_z)
        self._rate_gain = (t.rate_gain_rp, t.rate_gain_rp, t.rate_gain_yaw)
        self._rate_integral_gain = (t.rate_integral_rp, t.rate_integral_rp, t.rate_integral_yaw)
        self._max_rate = (t.max_rate_rp, t.max_rate_rp, t.max_rate_yaw)
        self._tan_max_tilt = math.tan(t.max_tilt)
        self._idle = t.idle_thrust * airframe.max_rotor_thrust
        self._max_collective = t.max_collective * 4.0 * airframe.max_rotor_thrust
        self.reset()

    def reset(self) -> None:
        """Back to power-on: disarmed, on the ground, no set-point (for a simulator reset)."""
        self.mode = FlightMode.DISARMED
        self.landed = True
        self._ground_z = 0.0
        self._still_time = 0.0
        self._position_sp = [0.0, 0.0, 0.0]
        self._velocity_sp = [0.0, 0.0, 0.0]
        self._yaw_sp = 0.0
        self._yaw_rate_sp = 0.0
        self._speed_up = self.tuning.max_speed_up
        self._reset_integrators()
        self._position = (0.0, 0.0, 0.0)
        self._yaw = 0.0
        self._collective = 0.0
        self.thrusts = np.zeros(4)

    # --- commands -------------------------------------------------------------------

    @property
    def armed(self) -> bool:
        return self.mode is not FlightMode.DISARMED

    @property
    def position_setpoint(self) -> np.ndarray:
        """Where the position loop is taking the vehicle (in velocity mode: where it is)."""
        return np.array(self._position_sp)

    @property
    def yaw_setpoint(self) -> float:
        return self._yaw_sp

    def arm(self) -> None:
        """Spin the rotors up to idle; refused in the air (the land detector must say landed)."""
        if self.armed:
            return
        if not self.landed:
            raise RuntimeError("cannot arm while airborne")
        self._reset_integrators()
        self._ground_z = self._position[2]
        self.mode = FlightMode.IDLE

    def disarm(self) -> None:
        """Stop the rotors at once, wherever the vehicle is (a kill switch in the air)."""
        self.mode = FlightMode.DISARMED
        self._still_time = 0.0

    def set_position(self, position: np.ndarray, yaw: float) -> None:
        """Fly to ``position`` (world frame, m) and hold it with heading ``yaw`` (rad); ignored when disarmed."""
        if not self.armed:
            return
        self._position_sp = [float(v) for v in position]
        self._yaw_sp = _wrap(float(yaw))
        self._yaw_rate_sp = 0.0
        self._speed_up = self.tuning.max_speed_up
        self.mode = FlightMode.POSITION

    def set_velocity(self, velocity: np.ndarray, yaw_rate: float) -> None:
        """Track a world-frame velocity (m/s) and yaw rate (rad/s); ignored when disarmed."""
        if not self.armed:
            return
        if self.mode is not FlightMode.VELOCITY:
            self._yaw_sp = self._yaw
        self._velocity_sp = [float(v) for v in velocity]
        self._yaw_rate_sp = float(yaw_rate)
        self.mode = FlightMode.VELOCITY

    def takeoff(self, height: float, speed: float | None = None) -> None:
        """Climb straight up to world ``height`` (m) at ``speed`` (default: the max climb speed), then hover."""
        if not self.armed:
            return
        self.set_position(np.array([self._position[0], self._position[1], height]), self._yaw)
        if speed is not None:
            self._speed_up = min(float(speed), self.tuning.max_speed_up)

    def hold(self) -> None:
        """Hover where the vehicle is now, keeping its heading."""
        if self.armed and self.mode is not FlightMode.IDLE:
            self.set_position(np.array(self._position), self._yaw)

    def land(self) -> None:
        """Descend at the current xy at the landing speed; disarm on touchdown (at once if on the ground)."""
        if not self.armed:
            return
        if self.mode is FlightMode.IDLE:
            self.disarm()
            return
        if self.mode is not FlightMode.LAND:
            self._position_sp = list(self._position)
            self._yaw_sp = self._yaw
            self._yaw_rate_sp = 0.0
            self._still_time = 0.0
        self.mode = FlightMode.LAND

    # --- the control loop ---------------------------------------------------------------

    def update(self, position: np.ndarray, quaternion: np.ndarray, velocity: np.ndarray,
               angular_velocity: np.ndarray, dt: float) -> np.ndarray:
        """Rotor thrusts (N) for the state now: world position, quaternion (w, x, y, z),
        world-frame velocity and body-frame angular velocity; ``dt`` the time since the last update."""
        px, py, pz = (float(v) for v in position)
        vx, vy, vz = (float(v) for v in velocity)
        qw, qx, qy, qz = (float(v) for v in quaternion)
        norm = math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz)
        q = (qw / norm, qx / norm, qy / norm, qz / norm)
        rotation = _quat_to_matrix(q)
        self._position = (px, py, pz)
        self._yaw = math.atan2(rotation[1][0], rotation[0][0])
        self._detect_liftoff_and_touchdown(pz, vx, vy, vz, dt)
        if self.mode is FlightMode.DISARMED:
            self.thrusts = np.zeros(4)
            return self.thrusts
        if self.mode is FlightMode.IDLE:
            self._reset_integrators()
            self.thrusts = np.full(4, self._idle)
            return self.thrusts

        velocity_sp, feedforward = self._velocity_setpoint((px, py, pz), (vx, vy, vz), dt)
        ax, ay, az = self._acceleration(velocity_sp, (vx, vy, vz), feedforward, dt)
        mass, g = self.airframe.mass, self.airframe.gravity
        thrust = (mass * ax, mass * ay, mass * (az + g))
        # Collective thrust along the body z axis as it is now (PX4 projects the same way).
        along_body_z = thrust[0] * rotation[0][2] + thrust[1] * rotation[1][2] + thrust[2] * rotation[2][2]
        self._collective = min(max(along_body_z, 4.0 * self._idle), self._max_collective)
        rate_sp = self._rate_setpoint(rotation, q, thrust)
        torque = self._torque(rate_sp, tuple(float(v) for v in angular_velocity), dt)
        self.thrusts = self.mix(self._collective, torque)
        return self.thrusts

    def _velocity_setpoint(self, position: tuple, velocity: tuple, dt: float) -> tuple[list, list]:
        """Position loop: P on the position error within the speed limits, slew-limited, and its rate of change.

        The velocity set-point may change only as fast as `setpoint_accel_xy`/`_z` allow, and
        that rate of change is fed forward as acceleration: the velocity loop then follows a
        set-point the vehicle can actually fly, without lag, so a step stops at the target
        instead of overshooting and the velocity integrators do not wind up on transients.
        """
        tuning = self.tuning
        if self.mode is FlightMode.VELOCITY:
            self._yaw_sp = _wrap(self._yaw_sp + self._yaw_rate_sp * dt)
            # The heading set-point stays within reach, so a yaw rate the vehicle cannot follow cannot run away.
            lag = _wrap(self._yaw_sp - self._yaw)
            if abs(lag) > 0.5:
                self._yaw_sp = _wrap(self._yaw + math.copysign(0.5, lag))
            self._position_sp = list(position)
            target = list(self._velocity_sp)
        else:
            gain = self._position_gain
            target = [gain[i] * (self._position_sp[i] - position[i]) for i in range(3)]
            if self.mode is FlightMode.LAND:
                target[2] = -tuning.land_speed
        horizontal = math.hypot(target[0], target[1])
        if horizontal > tuning.max_speed_xy:
            target[0] *= tuning.max_speed_xy / horizontal
            target[1] *= tuning.max_speed_xy / horizontal
        target[2] = min(max(target[2], -tuning.max_speed_down), self._speed_up)
        last = self._last_velocity_sp
        step = [target[i] - last[i] for i in range(3)]
        horizontal = math.hypot(step[0], step[1])
        if horizontal > tuning.setpoint_accel_xy * dt:
            step[0] *= tuning.setpoint_accel_xy * dt / horizontal
            step[1] *= tuning.setpoint_accel_xy * dt / horizontal
        step[2] = min(max(step[2], -tuning.setpoint_accel_z * dt), tuning.setpoint_accel_z * dt)
        self._last_velocity_sp = [last[i] + step[i] for i in range(3)]
        return self._last_velocity_sp, [step[i] / dt for i in range(3)]

    def _acceleration(self, velocity_sp: list, velocity: tuple, feedforward: list, dt: float) -> list:
        """Velocity loop: PI to an acceleration within the acceleration and tilt limits.

        The integrators, there for steady disturbances such as wind or a mass error, hold
        still on the ground and while their axis saturates (anti-windup).
        """
        tuning, integral = self.tuning, self._velocity_integral
        # Feedback compares against the set-point as the vehicle can follow it: delayed by
        # the attitude response, which the feedforward acceleration has to go through too.
        alpha = min(dt / tuning.response_time, 1.0) if tuning.response_time > 0 else 1.0
        reference = self._velocity_reference
        for i in range(3):
            reference[i] += alpha * (velocity_sp[i] - reference[i])
        error = [reference[i] - velocity[i] for i in range(3)]
        acceleration = [self._velocity_gain[i] * error[i] + integral[i] + feedforward[i] for i in range(3)]
        vertical = min(max(acceleration[2], -tuning.max_accel_down), tuning.max_accel_up)
        saturated = [False, False, vertical != acceleration[2]]
        acceleration[2] = vertical
        # The tilt limit: horizontal over vertical acceleration (gravity included) is tan(tilt).
        max_horizontal = min(tuning.max_accel_xy, (self.airframe.gravity + vertical) * self._tan_max_tilt)
        horizontal = math.hypot(acceleration[0], acceleration[1])
        if horizontal > max_horizontal:
            scale = max_horizontal / horizontal
            acceleration[0] *= scale
            acceleration[1] *= scale
            saturated[0] = saturated[1] = True
        if not self.landed:
            for i in range(3):
                if not saturated[i]:
                    limit = self._velocity_integral_max[i]
                    integral[i] = min(max(integral[i] + self._velocity_integral_gain[i] * error[i] * dt, -limit),
                                      limit)
        return acceleration

    def _rate_setpoint(self, rotation: tuple, q: tuple, thrust: tuple) -> list:
        """Attitude loop (PX4's AttitudeControl): tilt first, yaw weighted down, P on the quaternion error."""
        tuning = self.tuning
        z_desired = _normalized(thrust)
        heading = (math.cos(self._yaw_sp), math.sin(self._yaw_sp), 0.0)
        y_desired = _cross(z_desired, heading)
        if _norm(y_desired) < 1e-6:  # thrust along the heading: keep the current y axis
            y_desired = (rotation[0][1], rotation[1][1], rotation[2][1])
        y_desired = _normalized(y_desired)
        x_desired = _cross(y_desired, z_desired)
        q_desired = _matrix_to_quat(((x_desired[0], y_desired[0], z_desired[0]),
                                     (x_desired[1], y_desired[1], z_desired[1]),
                                     (x_desired[2], y_desired[2], z_desired[2])))
        # Reduced attitude: the shortest rotation taking the current thrust axis to the desired one.
        body_z = (rotation[0][2], rotation[1][2], rotation[2][2])
        axis = _cross(body_z, z_desired)
        axis_norm = _norm(axis)
        if axis_norm > 1e-9:
            alpha = math.acos(min(max(_dot(body_z, z_desired), -1.0), 1.0))
            s = math.sin(alpha / 2.0) / axis_norm
            tilt = (math.cos(alpha / 2.0), s * axis[0], s * axis[1], s * axis[2])
        else:
            tilt = (1.0, 0.0, 0.0, 0.0)
        q_reduced = _quat_mul(tilt, q)
        # What is left is a rotation about the thrust axis: scale it by the yaw weight.
        q_mix = _quat_mul(_quat_conj(q_reduced), q_desired)
        half_angle = math.atan2(q_mix[3], q_mix[0]) if q_mix[0] >= 0.0 else math.atan2(-q_mix[3], -q_mix[0])
        weighted = tuning.attitude_gain_yaw / tuning.attitude_gain * half_angle
        q_desired = _quat_mul(q_reduced, (math.cos(weighted), 0.0, 0.0, math.sin(weighted)))
        q_error = _quat_mul(_quat_conj(q), q_desired)
        gain = 2.0 * tuning.attitude_gain * (1.0 if q_error[0] >= 0.0 else -1.0)
        # The commanded yaw rate (velocity mode) fed forward, in the body frame.
        yaw_rate = self._yaw_rate_sp if self.mode is FlightMode.VELOCITY else 0.0
        rate_sp = [gain * q_error[i + 1] + yaw_rate * rotation[2][i] for i in range(3)]
        return [min(max(rate_sp[i], -self._max_rate[i]), self._max_rate[i]) for i in range(3)]

    def _torque(self, rate_sp: list, omega: tuple, dt: float) -> tuple:
        """Rate loop: PI to an angular acceleration, times the inertia, plus the gyroscopic term."""
        inertia, integral = self._inertia, self._rate_integral
        error = [rate_sp[i] - omega[i] for i in range(3)]
        if not self.landed:
            limit = self.tuning.max_rate_integral
            for i in range(3):
                integral[i] = min(max(integral[i] + self._rate_integral_gain[i] * error[i] * dt, -limit), limit)
        momentum = (inertia[0] * omega[0], inertia[1] * omega[1], inertia[2] * omega[2])
        gyroscopic = _cross(omega, momentum)
        return tuple(inertia[i] * (self._rate_gain[i] * error[i] + integral[i]) + gyroscopic[i] for i in range(3))

    def mix(self, collective: float, torque) -> np.ndarray:
        """Rotor thrusts (N) for a collective thrust (N) and body torques (N m), within [idle, max].

        Saturation gives way in PX4's order: roll and pitch keep their ratio and shrink
        only if they alone exceed the motors' range, the collective moves to fit them,
        and yaw gets what headroom is left.
        """
        f_max, idle, mixer = self.airframe.max_rotor_thrust, self._idle, self._mixer
        torque = [float(v) for v in torque]
        differential = [row[1] * torque[0] + row[2] * torque[1] for row in mixer]
        spread = max(differential) - min(differential)
        if spread > f_max - idle:
            differential = [d * (f_max - idle) / spread for d in differential]
        base = min(max(collective / 4.0, idle - min(differential)), f_max - max(differential))
        thrusts = [base + d for d in differential]
        yaw = [row[3] * torque[2] for row in mixer]
        scale = 1.0
        for thrust, share in zip(thrusts, yaw, strict=True):
            if share > 1e-12:
                scale = min(scale, (f_max - thrust) / share)
            elif share < -1e-12:
                scale = min(scale, (thrust - idle) / -share)
        scale = max(scale, 0.0)
        return np.array([min(max(thrust + scale * share, idle), f_max) for thrust, share in zip(thrusts, yaw,
                                                                                                strict=True)])

    def _detect_liftoff_and_touchdown(self, z: float, vx: float, vy: float, vz: float, dt: float) -> None:
        """The land detector: airborne once climbed `liftoff_height`; landed after
        `touchdown_time` of standing still (with thrust under hover, when landing)."""
        tuning = self.tuning
        if self.landed:
            self._still_time = 0.0
            if self.mode in (FlightMode.POSITION, FlightMode.VELOCITY) and z > self._ground_z + tuning.liftoff_height:
                self.landed = False
            return
        if self.mode not in (FlightMode.LAND, FlightMode.DISARMED):
            return
        still = abs(vz) < tuning.touchdown_speed and math.hypot(vx, vy) < 2.0 * tuning.touchdown_speed
        if self.mode is FlightMode.LAND:
            still = still and self._collective < self.airframe.hover_thrust
        self._still_time = self._still_time + dt if still else 0.0
        if self._still_time >= tuning.touchdown_time:
            self.landed = True
            self._ground_z = z
            self._reset_integrators()
            self.mode = FlightMode.DISARMED

    def _reset_integrators(self) -> None:
        self._velocity_integral = [0.0, 0.0, 0.0]
        self._rate_integral = [0.0, 0.0, 0.0]
        self._last_velocity_sp = [0.0, 0.0, 0.0]
        self._velocity_reference = [0.0, 0.0, 0.0]


def _mixer_matrix(airframe: Airframe) -> np.ndarray:
    """Inverse of the allocation matrix that maps rotor thrusts to (collective, roll, pitch, yaw torque)."""
    allocation = np.array([
        [1.0] * len(airframe.rotor_spins),
        [y for _, y in airframe.rotor_positions],  # roll torque: thrust left of the centre (+y) rolls +x
        [-x for x, _ in airframe.rotor_positions],  # pitch torque: thrust ahead of the centre pitches -y
        [-spin * airframe.drag_ratio for spin in airframe.rotor_spins],  # reaction torques
    ])
    return np.linalg.inv(allocation)


def _dot(a: tuple, b: tuple) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: tuple, b: tuple) -> tuple:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a: tuple) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def _normalized(a: tuple) -> tuple:
    n = _norm(a)
    return (a[0] / n, a[1] / n, a[2] / n)


def _quat_mul(a: tuple, b: tuple) -> tuple:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def _quat_conj(q: tuple) -> tuple:
    return (q[0], -q[1], -q[2], -q[3])


def _quat_to_matrix(q: tuple) -> tuple:
    """Rotation matrix (rows) of a unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return ((1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
            (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
            (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)))


def _matrix_to_quat(m: tuple) -> tuple:
    """Rotation matrix to a unit quaternion (w, x, y, z), Shepperd's method (stable for any rotation)."""
    trace = m[0][0] + m[1][1] + m[2][2]
    if trace > 0.0:
        s = 2.0 * math.sqrt(trace + 1.0)
        return (0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s)
    if m[0][0] > m[1][1] and m[0][0] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[0][0] - m[1][1] - m[2][2])
        q = ((m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s)
    elif m[1][1] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[1][1] - m[0][0] - m[2][2])
        q = ((m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m[2][2] - m[0][0] - m[1][1])
        q = ((m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s)
    return q if q[0] >= 0.0 else (-q[0], -q[1], -q[2], -q[3])


def _wrap(angle: float) -> float:
    """Angle in [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi
