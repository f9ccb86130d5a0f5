"""Set-point streaming shared by the quadrotor backends (Crazyflie, PX4).

Both flight controllers drop a set-point that is not repeated: the Crazyflie's
commander watchdog levels the vehicle after 500 ms and stops its motors after
2 s, PX4 leaves offboard mode after COM_OF_LOSS_T. So a backend re-sends the
last set-point every ``period`` of its clock, from a background thread on the
robot and from the test's own loop under a fake clock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from skill_stack.drivers.interfaces import QuadrotorBackend
from skill_stack.drivers.safety import Clock

logger = logging.getLogger(__name__)


class SetpointStream:
    """The last set-point (as a function that sends it) and when it was sent, on ``clock``."""

    def __init__(self, period: float, clock: Clock):
        self.period = period
        self.clock = clock
        self._send: Optional[Callable[[], None]] = None
        self._sent_at = 0.0
        self.started_at: Optional[float] = None  # when the current stream began

    @property
    def active(self) -> bool:
        return self._send is not None

    def set(self, send: Callable[[], None]) -> None:
        """Send a new set-point now and keep re-sending it."""
        send()
        self._send = send
        self._sent_at = self.clock()
        if self.started_at is None:
            self.started_at = self._sent_at

    def clear(self) -> None:
        self._send = None
        self.started_at = None

    def poll(self) -> bool:
        """Re-send the set-point if a period has passed since it was last sent; True when it was."""
        if self._send is None or self.clock() - self._sent_at < self.period - 1e-9:  # 1e-9: float rounding
            return False
        self._send()
        self._sent_at = self.clock()
        return True


class PollThread:
    """Calls ``poll`` every ``interval`` seconds of wall time until stopped (the robot's streaming loop)."""

    def __init__(self, poll: Callable[[], None], interval: float, name: str):
        self._poll = poll
        self._interval = interval
        self._name = name
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._poll()
            except Exception:  # a failed send is reported by the backend's status; keep streaming
                logger.exception('%s: poll failed', self._name)


class StreamedQuadrotorBackend(QuadrotorBackend):
    """What the Crazyflie and PX4 backends share: settings, the driver's limits, the SDK, the set-point
    stream and its thread, the link flag and fault, and the limits the flight controller is given."""

    link_name: str  # how errors name the vehicle and its address (a subclass property)

    def __init__(self, settings: Any, limits: Any, sdk: Any, clock: Clock, threaded: bool, thread_name: str):
        """``limits``: the driver's QuadrotorConfig (written to the flight controller at connect);
        ``threaded``: stream from a background thread; without it the owner calls poll() (tests, fake clock)."""
        self.settings = settings
        self.limits = limits
        self.sdk = sdk
        self.clock = clock
        self._stream = SetpointStream(settings.stream_period, clock)
        self._thread = PollThread(self.poll, settings.stream_period / 2, thread_name) if threaded else None
        self._lock = threading.RLock()
        self._connected = False
        self._fault: Optional[str] = None  # why the link is down, when it went down unasked

    @property
    def max_tilt(self) -> float:
        """rad: the flight controller's roll/pitch limit, written at connect()."""
        return self.limits.max_tilt

    @property
    def max_speed(self) -> tuple[float, float]:
        """(horizontal, vertical) m/s: the flight controller's velocity limits, written at connect()."""
        return self.limits.max_speed_xy, self.limits.max_speed_z

    def _require_link(self) -> None:
        if not self._connected:
            raise ConnectionError(self._fault or f'{self.link_name}: not connected; call connect()')
