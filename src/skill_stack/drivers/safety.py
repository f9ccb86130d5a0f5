"""Safety primitives every driver puts in front of its backend.

Commands are checked before they reach a device: non-finite values are
refused with the field named, joint targets are held inside position limits
and streamed no faster than the velocity limits, points are kept inside a
workspace box, the command watchdog notices stale command streams, and the
e-stop latches until it is explicitly released.
"""

import math
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

Clock = Callable[[], float]  # seconds; injected so tests can use a fake clock


class CommandError(ValueError):
    """A refused command; the message names the joint or field and the limit."""


def require_finite(values: Iterable[float], names: Iterable[str], what: str) -> np.ndarray:
    """``values`` as an array, or CommandError naming the first NaN or inf entry."""
    array = np.asarray(list(values), dtype=float)
    for name, value in zip(names, array, strict=True):
        if not math.isfinite(value):
            raise CommandError(f'{what} {name!r} is {value}; commands must be finite')
    return array


class Watchdog:
    """Trips when no command has arrived for ``timeout`` seconds.

    It starts disarmed: a device that was never commanded is not "stale".
    """

    def __init__(self, timeout: float, clock: Clock):
        if not timeout > 0:
            raise ValueError(f'watchdog timeout must be positive, got {timeout}')
        self.timeout = timeout
        self.clock = clock
        self._last: Optional[float] = None

    def feed(self) -> None:
        self._last = self.clock()

    def disarm(self) -> None:
        self._last = None

    @property
    def armed(self) -> bool:
        return self._last is not None

    def expired(self) -> bool:
        return self._last is not None and self.clock() - self._last > self.timeout

    def age(self) -> Optional[float]:
        return None if self._last is None else self.clock() - self._last


class EStop:
    """A latching emergency stop: once engaged, only ``release()`` clears it."""

    def __init__(self):
        self._reason: Optional[str] = None

    def engage(self, reason: str = 'e-stop') -> None:
        if self._reason is None:
            self._reason = reason

    def release(self) -> None:
        self._reason = None

    @property
    def engaged(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> Optional[str]:
        return self._reason

    def check(self) -> None:
        """CommandError while engaged, so commands are refused, not queued."""
        if self._reason is not None:
            raise CommandError(f'e-stop engaged ({self._reason}); release it before commanding')


class JointLimits:
    """Position and velocity limits of a joint chain, and the policy that enforces them.

    Position policy: a target past a limit by no more than that joint's clip
    margin is clipped to the limit (numerical noise, a controller rounding at
    the edge); anything further is refused, because it means the caller's idea
    of the robot is wrong and silently clipping would hide that.

    Velocity policy: the streamed set-point moves toward the requested target
    by at most ``max_velocity * dt`` per joint, all joints scaled by one
    factor so the set-point travels the straight joint-space line and every
    joint arrives together.
    """

    def __init__(self, names: Sequence[str], lower: Sequence[float], upper: Sequence[float],
                 max_velocity: Sequence[float], clip_margin: Sequence[float]):
        self.names = tuple(names)
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.max_velocity = np.asarray(max_velocity, dtype=float)
        self.clip_margin = np.asarray(clip_margin, dtype=float)
        n = len(self.names)
        for what in ('lower', 'upper', 'max_velocity', 'clip_margin'):
            if getattr(self, what).shape != (n,):
                raise ValueError(f'{what} needs {n} entries, one per joint, got {getattr(self, what).shape}')
        if len(set(self.names)) != n:
            raise ValueError(f'joint names must be unique, got {self.names}')
        self._index = {name: i for i, name in enumerate(self.names)}

    def index(self, name: str) -> int:
        """Position of ``name`` in the chain, or CommandError for a joint the chain does not have."""
        try:
            return self._index[name]
        except KeyError:
            raise CommandError(f'unknown joint {name!r}; joints are {list(self.names)}') from None

    def enforce_position(self, index: int, value: float) -> float:
        """``value`` inside the limits: clipped when within the clip margin, else CommandError."""
        lower, upper, margin = self.lower[index], self.upper[index], self.clip_margin[index]
        if lower <= value <= upper:
            return float(value)
        if lower - margin <= value <= upper + margin:
            return float(min(max(value, lower), upper))
        raise CommandError(f'joint {self.names[index]!r} target {value:.4f} is outside its limits '
                           f'[{lower:.4f}, {upper:.4f}] by more than the clip margin {margin:g}')

    def rate_limit(self, current: np.ndarray, target: np.ndarray, dt: float) -> np.ndarray:
        """The set-point one tick of ``dt`` seconds after ``current`` on the way to ``target``."""
        delta = target - current
        reach = self.max_velocity * max(dt, 0.0)
        distance = np.abs(delta)
        moving = distance > reach
        if not np.any(moving):
            return target.copy()
        scale = float(np.min(reach[moving] / distance[moving]))
        return current + delta * scale


class WorkspaceBox:
    """An axis-aligned box a point (the end-effector) must stay in, in the robot base frame."""

    AXES = ('x', 'y', 'z')

    def __init__(self, lower: Sequence[float], upper: Sequence[float]):
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        if self.lower.shape != (3,) or self.upper.shape != (3,):
            raise ValueError('a workspace box needs three lower and three upper bounds (x, y, z)')
        for axis, low, high in zip(self.AXES, self.lower, self.upper, strict=True):
            if not low < high:
                raise ValueError(f'workspace {axis}: lower {low} must be below upper {high}')

    def contains(self, point: np.ndarray) -> bool:
        return bool(np.all(point >= self.lower) and np.all(point <= self.upper))

    def check(self, point: np.ndarray, what: str) -> None:
        """CommandError naming the first axis on which ``point`` leaves the box."""
        for axis, value, low, high in zip(self.AXES, point, self.lower, self.upper, strict=True):
            if not low <= value <= high:
                raise CommandError(f'{what} {axis} = {value:.4f} m is outside the workspace box '
                                   f'[{low:.4f}, {high:.4f}] m')
