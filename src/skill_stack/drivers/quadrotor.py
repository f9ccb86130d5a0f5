"""The quadrotor driver: the safety layer in front of every quadrotor backend.

Every command passes here before a flight controller sees it (docs/architecture.md: safety
before the device): non-finite values are refused naming the field, set-points
outside the geofence are refused naming the axis, value and bound, velocity
set-points are clipped to the speed limits and stopped short of the fence, a
command watchdog hovers and then lands the vehicle when a set-point stream goes
stale (like the Crazyflie commander watchdog and PX4's offboard loss failsafe),
and a latching e-stop lands it (or cuts the motors) and refuses commands until
released. The flight controller behind the backend enforces the tilt limit; the
driver refuses to run with one whose limits are looser than its config.
"""

from __future__ import annotations

import enum
import functools
import logging
import math
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import yaml

from skill_stack.drivers.config import SIM_BACKEND, BackendSpec, ConfigError, Fields, backend_spec, config_dir
from skill_stack.drivers.interfaces import DeviceStatus, QuadrotorBackend, QuadrotorStateSample
from skill_stack.drivers.safety import Clock, CommandError, EStop, Watchdog, require_finite

logger = logging.getLogger(__name__)

MAX_TILT_DEG = 45.0  # no config may allow more: beyond it a quadrotor loses too much lift to hold altitude
ESTOP_ACTIONS = ("land", "cut_motors")
AXES = ("x", "y", "z")


class QuadrotorConfigError(ConfigError):
    """A bad quadrotor driver configuration; the message names the file (when there is one) and the field."""


@dataclass(frozen=True)
class QuadrotorConfig:
    """The quadrotor driver's parameters (config/quadrotor.yaml); validated on construction.

    The geofence is a box in the world frame (REP 103, origin on the ground at the
    take-off point): set-points must lie inside it, and the vehicle is brought back
    if it is found outside. ``fence_z_min`` is the lowest altitude a set-point may
    ask for - lower than that, use land().
    """

    backend: str = "sim"
    fence_x_min: float = -5.0  # m
    fence_x_max: float = 5.0
    fence_y_min: float = -5.0
    fence_y_max: float = 5.0
    fence_z_min: float = 0.2
    fence_z_max: float = 3.0
    fence_margin: float = 0.2  # m kept from a fence wall when stopping velocity toward it or returning inside
    brake_accel: float = 1.5  # m/s^2 assumed when judging how far ahead of a wall to stop
    max_speed_xy: float = 1.0  # m/s, horizontal
    max_speed_z: float = 0.5  # m/s, up or down
    max_yaw_rate: float = 1.5  # rad/s
    max_tilt_deg: float = 30.0  # the flight controller may not tilt further than this
    failsafe_tilt_deg: float = 60.0  # a tilt beyond this in flight means lost control: e-stop
    hover_timeout: float = 0.5  # s without a streamed set-point before hovering
    land_timeout: float = 3.0  # s without a streamed set-point before landing
    estop_action: str = "land"  # land: land in flight, stop the motors on the ground; cut_motors: stop them at once
    control_rate_hz: float = 50.0  # how often the owner calls update()
    backend_settings: BackendSpec = SIM_BACKEND  # the ``backend`` section's settings when it is a mapping

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "backend_settings":
                continue
            if item.type == "str":
                if not isinstance(value, str) or not value:
                    raise QuadrotorConfigError(f"{item.name!r} must be a non-empty string, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise QuadrotorConfigError(f"{item.name!r} must be a finite number, got {value!r}")
        for axis in AXES:
            low, high = getattr(self, f"fence_{axis}_min"), getattr(self, f"fence_{axis}_max")
            if not high - low > 2 * self.fence_margin:
                raise QuadrotorConfigError(
                    f"'fence_{axis}_max' ({high}) must exceed 'fence_{axis}_min' ({low}) by more than twice "
                    f"'fence_margin' ({self.fence_margin})")
        if self.fence_z_min <= 0.0:
            raise QuadrotorConfigError(f"'fence_z_min' must be above the ground (> 0 m), got {self.fence_z_min}")
        for name in ("brake_accel", "max_speed_xy", "max_speed_z", "max_yaw_rate", "hover_timeout",
                     "control_rate_hz"):
            if getattr(self, name) <= 0.0:
                raise QuadrotorConfigError(f"{name!r} must be positive, got {getattr(self, name)}")
        if self.fence_margin < 0.0:
            raise QuadrotorConfigError(f"'fence_margin' must not be negative, got {self.fence_margin}")
        if self.max_speed_z < 0.25:
            raise QuadrotorConfigError(f"'max_speed_z' must be at least 0.25 m/s so a landing descent can be told "
                                       f"from touchdown, got {self.max_speed_z}")
        if not 0.0 < self.max_tilt_deg <= MAX_TILT_DEG:
            raise QuadrotorConfigError(f"'max_tilt_deg' must be in (0, {MAX_TILT_DEG}] degrees, "
                                       f"got {self.max_tilt_deg}")
        if not self.max_tilt_deg < self.failsafe_tilt_deg <= 90.0:
            raise QuadrotorConfigError(f"'failsafe_tilt_deg' must be above 'max_tilt_deg' ({self.max_tilt_deg}) and "
                                       f"at most 90, got {self.failsafe_tilt_deg}")
        if not self.land_timeout > self.hover_timeout:
            raise QuadrotorConfigError(f"'land_timeout' ({self.land_timeout}) must be longer than 'hover_timeout' "
                                       f"({self.hover_timeout})")
        if self.estop_action not in ESTOP_ACTIONS:
            raise QuadrotorConfigError(f"'estop_action' must be one of {ESTOP_ACTIONS}, got {self.estop_action!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "quadrotor config") -> QuadrotorConfig:
        """From a flat mapping (as config/quadrotor.yaml holds it), or a ROS 2 parameter file's
        ``{node: {ros__parameters: {...}}}``, so the same fields can come in as node parameters."""
        if not isinstance(values, Mapping):
            raise QuadrotorConfigError(f"{source}: expected a mapping of parameters, got {type(values).__name__}")
        nested = [v["ros__parameters"] for v in values.values() if isinstance(v, Mapping) and "ros__parameters" in v]
        if nested:
            values = {key: value for group in nested for key, value in group.items()}
        known = {item.name for item in fields(cls)} - {"backend_settings"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise QuadrotorConfigError(f"{source}: unknown parameter {unknown[0]!r}; known are {sorted(known)}")
        values = dict(values)
        if isinstance(values.get("backend"), Mapping):
            try:
                spec = backend_spec(Fields(values, source))
            except ConfigError as error:
                raise QuadrotorConfigError(str(error)) from None
            values["backend"], values["backend_settings"] = spec.type, spec
        try:
            return cls(**values)
        except QuadrotorConfigError as error:
            raise QuadrotorConfigError(f"{source}: {error}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> QuadrotorConfig:
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise QuadrotorConfigError(f"{path}: cannot read the quadrotor config: {error}") from None
        return cls.from_mapping(values or {}, source=str(path))

    @property
    def max_tilt(self) -> float:
        return math.radians(self.max_tilt_deg)

    def fence_bounds(self, axis: str) -> tuple[float, float]:
        return getattr(self, f"fence_{axis}_min"), getattr(self, f"fence_{axis}_max")


def default_config_path() -> Path:
    """config/quadrotor.yaml of the source tree, or of the installed package's share directory."""
    return config_dir() / "quadrotor.yaml"


def load_quadrotor_config(path: str | Path | None = None) -> QuadrotorConfig:
    return QuadrotorConfig.from_yaml(path or default_config_path())


class WatchdogStage(enum.Enum):
    IDLE = "idle"  # no set-point stream running (never streamed, or take-off, hold, land since)
    STREAMING = "streaming"
    HOVER = "hover"  # the stream went stale: hovering in place
    LAND = "land"  # stale for longer: landing


def _locked(method):
    """Run a driver method under the driver's lock: ROS callbacks may command while the control tick runs."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


def tilt_of(quaternion: np.ndarray) -> float:
    """Angle between the body's z axis and the world's, rad (quaternion w, x, y, z)."""
    w, x, y, z = (float(v) for v in quaternion)
    cos_tilt = 1.0 - 2.0 * (x * x + y * y) / (w * w + x * x + y * y + z * z)
    return math.acos(min(max(cos_tilt, -1.0), 1.0))


def yaw_of(quaternion: np.ndarray) -> float:
    """Heading about the world z axis, rad (quaternion w, x, y, z)."""
    w, x, y, z = (float(v) for v in quaternion)
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quaternion_multiply(a, b) -> np.ndarray:
    """Hamilton product a * b (w, x, y, z)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw])


class QuadrotorDriver:
    """Safety in front of a QuadrotorBackend; the only way commands reach it.

    Call `update` once per control tick (``control_rate_hz``): it reads the state and
    runs the watchdog, the geofence and tilt checks and the e-stop's follow-up. Commands
    raise CommandError when refused and return what was actually sent.
    """

    def __init__(self, backend: QuadrotorBackend, config: QuadrotorConfig, clock: Clock):
        self.backend = backend
        self.config = config
        self.clock = clock
        self._check_flight_controller_limits()
        self._lock = threading.RLock()
        self._watchdog = Watchdog(config.hover_timeout, clock)
        self._estop = EStop()
        self._stage = WatchdogStage.IDLE
        self._velocity_command: Optional[tuple[np.ndarray, float]] = None  # as the caller asked, after clipping
        self._velocity_sent: Optional[np.ndarray] = None  # after the fence
        self._breach: Optional[str] = None
        self._state: Optional[QuadrotorStateSample] = None

    def _check_flight_controller_limits(self) -> None:
        """Refuse to fly a flight controller that would tilt or speed beyond the config.

        Backends that can tell (the simulator; PX4 through its MPC_* parameters) expose
        ``max_tilt`` (rad) and ``max_speed`` (horizontal, vertical m/s); the driver cannot
        clip a position set-point's flight, so the controller's own limits must hold.
        """
        max_tilt = getattr(self.backend, "max_tilt", None)
        if max_tilt is not None and max_tilt > self.config.max_tilt + 1e-9:
            raise QuadrotorConfigError(
                f"'max_tilt_deg' is {self.config.max_tilt_deg} but the backend's flight controller tilts up to "
                f"{math.degrees(max_tilt):.1f} degrees; configure the flight controller within the driver's limit")
        max_speed = getattr(self.backend, "max_speed", None)
        if max_speed is not None:
            for name, limit, actual in (("max_speed_xy", self.config.max_speed_xy, max_speed[0]),
                                        ("max_speed_z", self.config.max_speed_z, max_speed[1])):
                if actual > limit + 1e-9:
                    raise QuadrotorConfigError(
                        f"{name!r} is {limit} m/s but the backend's flight controller flies up to {actual} m/s")

    # --- lifecycle --------------------------------------------------------------------

    @_locked
    def connect(self) -> None:
        self.backend.connect()
        self._state = self.backend.read()

    @_locked
    def disconnect(self) -> None:
        self._watchdog.disarm()
        self.backend.disconnect()

    # --- commands ---------------------------------------------------------------------

    @_locked
    def arm(self) -> None:
        """Spin up on the ground; refused under e-stop, in the air, or outside the geofence."""
        self._estop.check()
        state = self._read()
        if state.armed:
            return
        if not state.landed:
            raise CommandError("cannot arm while the vehicle is not landed")
        for axis in ("x", "y"):
            index = AXES.index(axis)
            low, high = self.config.fence_bounds(axis)
            if not low <= state.position[index] <= high:
                raise CommandError(f"cannot arm outside the geofence: {axis}={state.position[index]:.2f} m is "
                                   f"outside [{low}, {high}]")
        self.backend.arm()

    @_locked
    def disarm(self, force: bool = False) -> None:
        """Stop the motors; in the air only with ``force`` (the vehicle falls)."""
        state = self._read()
        if state.armed and not state.landed and not force:
            raise CommandError(f"the vehicle is flying (z={state.position[2]:.2f} m); land() first, or "
                               f"disarm(force=True) to cut the motors in the air")
        self._stop_stream()
        self.backend.disarm()

    @_locked
    def takeoff(self, height: float) -> np.ndarray:
        """Climb straight up to ``height`` (world z, m) and hover there; returns the set-point sent.

        A one-shot command, not a stream: the watchdog does not expect more set-points.
        """
        self._estop.check()
        (height,) = require_finite([height], ["height"], "take-off")
        state = self._require_armed()
        target = np.array([state.position[0], state.position[1], height])
        self._check_fence(target, "take-off")
        self._stop_stream()
        self.backend.write_position_setpoint(target, yaw_of(state.quaternion))
        return target

    @_locked
    def land(self) -> None:
        """Descend at the current xy and disarm on touchdown; allowed under e-stop (it is what the e-stop does)."""
        self._stop_stream()
        self.backend.land()

    @_locked
    def hold(self) -> np.ndarray:
        """Hover where the vehicle is now (one-shot); returns the position held."""
        self._estop.check()
        state = self._require_armed()
        self._stop_stream()
        self.backend.write_position_setpoint(np.array(state.position, float), yaw_of(state.quaternion))
        return np.array(state.position, float)

    @_locked
    def command_position(self, position, yaw: Optional[float] = None) -> tuple[np.ndarray, float]:
        """Stream a position set-point (world frame, m) and heading (rad; None keeps the current one).

        Refused (CommandError) under e-stop, when disarmed, for NaN or inf, and outside
        the geofence; returns what was sent. Keep streaming (``hover_timeout``) or the
        watchdog hovers and then lands the vehicle.
        """
        self._estop.check()
        position = _vector(position, "position set-point")
        values = require_finite([*position, 0.0 if yaw is None else yaw], ["x", "y", "z", "yaw"],
                                "position set-point")
        state = self._require_armed()
        self._check_fence(values[:3], "position set-point")
        heading = yaw_of(state.quaternion) if yaw is None else float(values[3])
        self.backend.write_position_setpoint(values[:3], heading)
        self._fed()
        self._velocity_command = None
        return values[:3], heading

    @_locked
    def command_velocity(self, velocity, yaw_rate: float = 0.0) -> tuple[np.ndarray, float]:
        """Stream a velocity set-point (world frame, m/s) and yaw rate (rad/s).

        Clipped to the speed limits (horizontal speed keeping its direction, vertical,
        yaw rate) and stopped short of the geofence; refused under e-stop, when
        disarmed, and for NaN or inf. Returns what was sent.
        """
        self._estop.check()
        velocity = _vector(velocity, "velocity set-point")
        values = require_finite([*velocity, yaw_rate], ["vx", "vy", "vz", "yaw_rate"], "velocity set-point")
        state = self._require_armed()
        clipped = values[:3].copy()
        horizontal = math.hypot(clipped[0], clipped[1])
        if horizontal > self.config.max_speed_xy:
            clipped[:2] *= self.config.max_speed_xy / horizontal
        clipped[2] = min(max(clipped[2], -self.config.max_speed_z), self.config.max_speed_z)
        rate = min(max(float(values[3]), -self.config.max_yaw_rate), self.config.max_yaw_rate)
        sent = self._fence_velocity(state.position, clipped)
        self.backend.write_velocity_setpoint(sent, rate)
        self._fed()
        self._velocity_command = (clipped, rate)
        self._velocity_sent = sent
        return sent, rate

    # --- e-stop -------------------------------------------------------------------------

    @_locked
    def estop(self, reason: str = "e-stop") -> None:
        """Latch the e-stop: land (or cut the motors, see ``estop_action``) and refuse commands until release()."""
        if not self._estop.engaged:
            logger.warning("quadrotor e-stop engaged: %s", reason)
        self._estop.engage(reason)
        self._stop_stream()
        state = self._read()
        if not state.armed:
            return
        if self.config.estop_action == "cut_motors" or state.landed:
            self.backend.disarm()
        else:
            self.backend.land()

    @_locked
    def release(self) -> None:
        """Clear the e-stop; the vehicle stays as it is (landing, landed or disarmed) until commanded."""
        if self._estop.engaged:
            logger.info("quadrotor e-stop released (was: %s)", self._estop.reason)
        self._estop.release()

    # --- the control tick ---------------------------------------------------------------

    @_locked
    def update(self) -> QuadrotorStateSample:
        """Once per control tick: read the state, then run the safety checks on it. Returns the state."""
        state = self._read()
        if not (np.all(np.isfinite(state.position)) and np.all(np.isfinite(state.quaternion))):
            self.estop("the backend reports a non-finite position or attitude")
            return state
        tilt = tilt_of(state.quaternion)
        if state.armed and not state.landed and tilt > math.radians(self.config.failsafe_tilt_deg):
            self.estop(f"tilt {math.degrees(tilt):.0f} degrees exceeds 'failsafe_tilt_deg' "
                       f"({self.config.failsafe_tilt_deg}): lost attitude control")
        if self._estop.engaged:
            if state.armed and (state.landed or self.config.estop_action == "cut_motors"):
                self.backend.disarm()
            return state
        if not state.armed:
            self._stop_stream()
            self._breach = None
            return state
        self._check_breach(state)
        self._run_watchdog(state)
        if self._stage is WatchdogStage.STREAMING and self._velocity_command is not None:
            sent = self._fence_velocity(state.position, self._velocity_command[0])
            if not np.array_equal(sent, self._velocity_sent):
                self.backend.write_velocity_setpoint(sent, self._velocity_command[1])
                self._velocity_sent = sent
        return state

    @_locked
    def state(self) -> QuadrotorStateSample:
        """The vehicle's state now, read from the backend."""
        return self._read()

    @_locked
    def status(self) -> DeviceStatus:
        """Link, fault and safety state, shaped like the other drivers' status (for ``driver_status``).

        ``fault`` is a sentence while commands are refused or overridden: e-stop, geofence
        breach, stale stream; ``details`` carries the flags and the backend's own details.
        """
        device = self.backend.status()
        state = self._state
        fault = None
        if self._estop.engaged:
            fault = f"e-stop engaged: {self._estop.reason}"
        elif self._breach is not None:
            fault = self._breach
        elif self._stage in (WatchdogStage.HOVER, WatchdogStage.LAND):
            fault = f"set-points went stale: {self._stage.value}"
        streaming = self._stage is not WatchdogStage.IDLE and self._watchdog.armed
        return DeviceStatus(connected=device.connected, fault=fault or device.fault, details={
            "armed": bool(state and state.armed), "landed": bool(state is None or state.landed),
            "position": None if state is None else [float(v) for v in state.position],
            "estop": self._estop.engaged, "estop_reason": self._estop.reason, "watchdog": self._stage.value,
            "watchdog_tripped": self._stage in (WatchdogStage.HOVER, WatchdogStage.LAND),
            "command_age": self._watchdog.age() if streaming else None, "fence_breach": self._breach,
            "flight_controller": dict(device.details)})

    # --- internals ------------------------------------------------------------------------

    def _read(self) -> QuadrotorStateSample:
        self._state = self.backend.read()
        return self._state

    def _require_armed(self) -> QuadrotorStateSample:
        state = self._read()
        if not state.armed:
            raise CommandError("the vehicle is disarmed; arm() it (and take off) before sending set-points")
        return state

    def _check_fence(self, position: np.ndarray, what: str) -> None:
        for index, axis in enumerate(AXES):
            low, high = self.config.fence_bounds(axis)
            if position[index] < low:
                raise CommandError(f"{what} {axis}={position[index]:g} m is outside the geofence: below "
                                   f"fence_{axis}_min={low:g} m")
            if position[index] > high:
                raise CommandError(f"{what} {axis}={position[index]:g} m is outside the geofence: above "
                                   f"fence_{axis}_max={high:g} m")

    def _fence_velocity(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray:
        """Velocity with each component that heads into a nearby fence wall zeroed.

        "Nearby" is the distance the vehicle needs to stop at ``brake_accel`` plus
        ``fence_margin``, so a velocity stream cannot carry it out of the fence.
        """
        fenced = np.array(velocity, float)
        for index, axis in enumerate(AXES):
            low, high = self.config.fence_bounds(axis)
            speed = fenced[index]
            reach = self.config.fence_margin + speed * speed / (2.0 * self.config.brake_accel)
            if (speed > 0.0 and position[index] + reach >= high) or (speed < 0.0 and position[index] - reach <= low):
                fenced[index] = 0.0
        return fenced

    def _check_breach(self, state: QuadrotorStateSample) -> None:
        """Bring a vehicle found outside the geofence back inside (one position set-point when first seen).

        The floor is not checked: a vehicle under ``fence_z_min`` is taking off or landing.
        """
        position = np.asarray(state.position, float)
        outside = []
        target = position.copy()
        margin = self.config.fence_margin
        for index, axis in enumerate(AXES):
            low, high = self.config.fence_bounds(axis)
            if axis != "z" and position[index] < low:
                outside.append(f"{axis}={position[index]:.2f} m below fence_{axis}_min={low:g} m")
                target[index] = low + margin
            elif position[index] > high:
                outside.append(f"{axis}={position[index]:.2f} m above fence_{axis}_max={high:g} m")
                target[index] = high - margin
        if not outside:
            self._breach = None
            return
        message = "outside the geofence: " + ", ".join(outside)
        if self._breach is None:  # newly outside: one command back, then let it fly there
            logger.warning("quadrotor %s; returning inside", message)
            self._stop_stream()
            self.backend.write_position_setpoint(target, yaw_of(state.quaternion))
        self._breach = message

    def _run_watchdog(self, state: QuadrotorStateSample) -> None:
        """Stale stream: hover after ``hover_timeout``, land after ``land_timeout``."""
        if self._stage is WatchdogStage.IDLE or not self._watchdog.expired():
            return
        age = self._watchdog.age()
        if age > self.config.land_timeout:
            logger.warning("quadrotor set-points stale for %.2f s: landing", age)
            self._stop_stream()
            self._stage = WatchdogStage.LAND
            self.backend.land()
        elif self._stage is WatchdogStage.STREAMING:
            logger.warning("quadrotor set-points stale for %.2f s: hovering", age)
            self._stage = WatchdogStage.HOVER
            self._velocity_command = None
            self.backend.write_position_setpoint(np.array(state.position, float), yaw_of(state.quaternion))

    def _fed(self) -> None:
        self._watchdog.feed()
        self._stage = WatchdogStage.STREAMING

    def _stop_stream(self) -> None:
        self._watchdog.disarm()
        self._stage = WatchdogStage.IDLE
        self._velocity_command = None
        self._velocity_sent = None


def _vector(values, what: str) -> list:
    """Three numbers, or CommandError saying what the command should have been."""
    try:
        items = [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]
    except (TypeError, ValueError) as error:
        raise CommandError(f"{what} must be three numbers (x, y, z): {error}") from None
    if len(items) != 3:
        raise CommandError(f"{what} must be three numbers (x, y, z), got {len(items)}")
    return items
