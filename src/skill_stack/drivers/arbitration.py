"""Who commands a device when several sources stream commands: arbitration by priority with a hold timeout.

Teleoperation and autonomy (the skill server) both stream set-points to the
same driver topics. A source of higher priority takes the device with its first
command and keeps it while its commands keep coming; lower-priority commands
meanwhile are dropped (and counted, for the status report). The owner gives the
device back explicitly (``release``) or by going quiet for ``hold_timeout``
seconds, after which any source is accepted again. This is the mux of
twist_mux / the PX4 commander, minus topics: the caller says which source a
command came from. Thread-safe: ROS callbacks call it from executor threads.
"""

import math
import threading
import time
from typing import Callable, Dict, Mapping, Optional

TELEOP = 'teleop'
AUTONOMY = 'autonomy'
DEFAULT_PRIORITIES: Mapping[str, int] = {TELEOP: 10, AUTONOMY: 0}
DEFAULT_HOLD_TIMEOUT = 0.4  # s: a little longer than a few missed 20 Hz commands, short enough to feel immediate


class Arbiter:
    """Decides, command by command, whether a source may drive the device now."""

    def __init__(self, priorities: Mapping[str, int] = DEFAULT_PRIORITIES,
                 hold_timeout: float = DEFAULT_HOLD_TIMEOUT, clock: Callable[[], float] = time.monotonic):
        if not priorities:
            raise ValueError('arbiter priorities: name at least one source')
        for source, priority in priorities.items():
            if not isinstance(source, str) or not source:
                raise ValueError(f'arbiter priorities: source names must be non-empty strings, got {source!r}')
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise ValueError(f'arbiter priority of {source!r} must be an integer, got {priority!r}')
        if len(set(priorities.values())) != len(priorities):
            raise ValueError(f'arbiter priorities must differ (equal ones leave the owner undecided): '
                             f'{dict(priorities)}')
        if not (isinstance(hold_timeout, (int, float)) and math.isfinite(hold_timeout) and hold_timeout > 0):
            raise ValueError(f'arbiter hold_timeout must be a positive number of seconds, got {hold_timeout!r}')
        self.priorities: Dict[str, int] = dict(priorities)
        self.hold_timeout = float(hold_timeout)
        self.default = min(self.priorities, key=self.priorities.get)  # in control when nobody holds the device
        self._clock = clock
        self._lock = threading.Lock()
        self._owner: Optional[str] = None
        self._since = 0.0  # when the owner took the device
        self._last = 0.0  # the owner's last accepted command
        self.dropped: Dict[str, int] = {source: 0 for source in self.priorities}
        self.takeovers = 0  # times a source took the device from a lower-priority one

    def offer(self, source: str) -> bool:
        """A command from ``source`` arrived: True if it may go to the device, False if it is dropped."""
        with self._lock:
            now = self._now()
            priority = self._priority(source)
            self._expire(now)
            owner = self._owner
            if owner is not None and owner != source and priority < self.priorities[owner]:
                self.dropped[source] += 1
                return False
            if owner != source:
                self.takeovers += source != self.default
                self._owner, self._since = source, now
            self._last = now
            return True

    def release(self, source: str) -> bool:
        """``source`` gives the device back now; False when it did not hold it."""
        with self._lock:
            self._priority(source)
            self._expire(self._now())
            if self._owner != source:
                return False
            self._owner = None
            return True

    @property
    def owner(self) -> str:
        """The source in control: the holder, or the lowest-priority source when nobody holds the device."""
        with self._lock:
            self._expire(self._now())
            return self._owner or self.default

    def status(self) -> Dict[str, object]:
        """What driver_status reports: who is in control, for how long, and what was dropped."""
        with self._lock:
            now = self._now()
            self._expire(now)
            held = self._owner is not None and self._owner != self.default
            return {'control': self._owner or self.default,
                    'control_for_s': round(now - self._since, 2) if held else None,
                    'control_takeovers': self.takeovers,
                    'control_dropped': {s: n for s, n in self.dropped.items() if n}}

    def _priority(self, source: str) -> int:
        if source not in self.priorities:
            raise ValueError(f'unknown command source {source!r}; known: {sorted(self.priorities)}')
        return self.priorities[source]

    def _now(self) -> float:
        now = float(self._clock())
        if not math.isfinite(now):
            raise ValueError(f'arbiter clock returned {now}; it must be finite')
        return now

    def _expire(self, now: float) -> None:
        if self._owner is not None and now - self._last > self.hold_timeout:
            self._owner = None
