"""Safety in front of a position-controlled joint chain: what the arm and hand drivers share.

A `JointChain` owns the path from a requested joint target to its backend:
names and values are checked (unknown joints, NaN or inf, position limits)
before anything is stored; `update()`, called once per control tick, moves the
streamed set-point toward the requested target no faster than the velocity
limits and writes it; the command watchdog holds the chain when a command
stream goes stale, and the latching e-stop holds it at once. A refused command
changes nothing and never reaches the backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from skill_stack.drivers.config import JointChainConfig
from skill_stack.drivers.interfaces import JointBackend, JointStateSample
from skill_stack.drivers.safety import Clock, CommandError, EStop, Watchdog, require_finite

logger = logging.getLogger(__name__)

# A late tick moves the set-point no further than a tick this long would, so a
# control loop that stalled does not make the robot jump when it resumes; the
# drivers expect update() at 20 Hz or faster (the sim and real nodes run 100 Hz+).
MAX_TICK = 0.05  # s

JointTargets = Mapping[str, float] | Sequence[float] | np.ndarray


@dataclass(frozen=True)
class SentCommand:
    """What one `update()` wrote to the device (LeRobot's send_action returns the same)."""

    stamp: float  # the driver's clock
    joint_targets: Optional[np.ndarray]  # the chain's joint_names order; None when nothing was streamed
    gripper_width: Optional[float] = None  # m, when a gripper command went out this tick


class JointChain:
    """Joint targets for one backend, checked, rate-limited, watched and e-stoppable.

    The backend's ``joint_names`` order is the order of every array here; the
    config must give limits for exactly those joints. Not thread-safe by
    itself: the drivers that own a chain serialise calls with their lock.
    """

    def __init__(self, backend: JointBackend, config: JointChainConfig, clock: Clock, device: str):
        names = tuple(backend.joint_names)
        configured = {joint.name: joint for joint in config.joints}
        missing = [name for name in names if name not in configured]
        extra = [name for name in configured if name not in names]
        if missing or extra:
            raise ValueError(f'{device} config does not match the backend: no limits for {missing}, '
                             f'limits for joints the backend lacks {extra}')
        self.backend = backend
        self.device = device
        self.clock = clock
        self.joint_names = names
        self.limits = config.limits(order=names)
        self.watchdog = Watchdog(config.watchdog_timeout, clock)
        grip = getattr(config, 'grip_joints', ())
        self._grip = np.array([name in grip for name in names], dtype=bool)  # kept on hold
        self.estop = EStop()
        self._requested: Optional[np.ndarray] = None  # the target the caller asked for (after clipping)
        self._setpoint: Optional[np.ndarray] = None  # the last rate-limited set-point streamed
        self._last_tick: Optional[float] = None
        self._stale: Optional[str] = None  # why the watchdog made the chain hold, until a new command

    # --- commands ---------------------------------------------------------------

    def resolve(self, targets: JointTargets) -> np.ndarray:
        """A full, checked target array from ``targets``; changes nothing, raises CommandError if refused.

        A mapping may name some joints only; the others keep the current target
        (the last requested one, else the measured position). A sequence must
        give every joint in ``joint_names`` order. The limits apply to every
        joint of the result, so a joint resting just outside a software limit is
        clipped back in, and one far outside must be commanded back explicitly.
        """
        self.estop.check()
        if isinstance(targets, Mapping):
            indices = [self.limits.index(str(name)) for name in targets]
            values = require_finite(targets.values(), list(targets), 'joint')
            full = self._current_target()
            full[indices] = values
        else:
            values = np.asarray(targets, dtype=float).reshape(-1)
            if values.shape != (len(self.joint_names),):
                raise CommandError(f'expected {len(self.joint_names)} joint targets in the order '
                                   f'{list(self.joint_names)}, got {values.size}')
            full = require_finite(values, self.joint_names, 'joint')
        for i in range(len(full)):
            full[i] = self.limits.enforce_position(i, full[i])
        return full

    def accept(self, target: np.ndarray) -> None:
        """Make a resolved target the one `update()` streams toward, and feed the watchdog."""
        self.estop.check()
        if self._setpoint is None:
            # A new stream starts where the robot is, now: the first tick's step counts from here.
            self._setpoint = self.backend.read().positions.astype(float)
            self._last_tick = self.clock()
        self._requested = target.copy()
        self._stale = None
        self.watchdog.feed()

    def requested(self) -> Optional[np.ndarray]:
        return None if self._requested is None else self._requested.copy()

    def _current_target(self) -> np.ndarray:
        if self._requested is not None:
            return self._requested.copy()
        return self.backend.read().positions.astype(float)

    # --- control tick -------------------------------------------------------------

    def update(self) -> Optional[np.ndarray]:
        """One control tick: watchdog check, then the next rate-limited set-point to the backend.

        Returns the set-point written, or None when nothing was (idle, holding, e-stopped).
        """
        now = self.clock()
        dt = 0.0 if self._last_tick is None else min(max(now - self._last_tick, 0.0), MAX_TICK)
        self._last_tick = now
        if self.estop.engaged or self._requested is None:
            return None
        if self.watchdog.expired():
            self._stale = (f'watchdog: no {self.device} command for {self.watchdog.age():.3f} s '
                           f'(timeout {self.watchdog.timeout} s); holding position')
            logger.warning('%s', self._stale)
            self._hold()
            return None
        self._setpoint = self.limits.rate_limit(self._setpoint, self._requested, dt)
        self.backend.write_joint_targets(self._setpoint.copy())
        return self._setpoint.copy()

    # --- stopping -----------------------------------------------------------------------

    def engage_estop(self, reason: str) -> None:
        """Latch the e-stop and hold the chain now, not at the next tick."""
        self.estop.engage(reason)
        logger.warning('%s e-stop engaged: %s', self.device, reason)
        self._hold()

    def release_estop(self) -> None:
        """Clear the e-stop; the chain stays holding until a new command arrives."""
        self.estop.release()
        self._stale = None

    def _hold(self) -> None:
        """Stop where the joints are, then give grip joints back their set-point so a grip keeps squeezing.

        The stream is forgotten first, so a backend that cannot hold (link lost) leaves no old set-point to
        resume after a reconnect."""
        setpoint, self._requested, self._setpoint = self._setpoint, None, None
        self.watchdog.disarm()
        self.backend.hold()
        if self._grip.any() and setpoint is not None:
            target = self.backend.read().positions.astype(float)
            target[self._grip] = setpoint[self._grip]
            self.backend.write_joint_targets(target)

    # --- reporting ------------------------------------------------------------------------

    def fault(self) -> Optional[str]:
        """The e-stop or watchdog condition as a sentence, or None when commands are accepted and streamed."""
        if self.estop.engaged:
            return f'e-stop engaged: {self.estop.reason}'
        return self._stale

    def details(self) -> dict:
        setpoint_at_target = (self._requested is not None and self._setpoint is not None
                              and bool(np.array_equal(self._setpoint, self._requested)))
        return {'estop': self.estop.engaged, 'estop_reason': self.estop.reason,
                'watchdog_tripped': self._stale is not None, 'command_age': self.watchdog.age(),
                'streaming': self._requested is not None, 'setpoint_at_target': setpoint_at_target}

    def read(self) -> JointStateSample:
        return self.backend.read()

