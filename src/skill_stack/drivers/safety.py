"""Safety primitives every driver puts in front of its backend.

Commands are checked before they reach a device: non-finite values are
refused with the field named, the command watchdog notices stale command
streams, and the e-stop latches until it is explicitly released.
"""

import math
from typing import Callable, Iterable, Optional

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
