"""The dexterous hand driver: joint targets for the wrist and fingers, with safety before the backend.

Every target passes the joint checks of `JointChain` (names, NaN or inf,
position limits) and is streamed rate-limited by `update()`, which also runs
the watchdog; on e-stop or a stale command stream the hand holds position.
"""

from __future__ import annotations

import threading

import numpy as np

from skill_stack.drivers.config import HandConfig
from skill_stack.drivers.interfaces import DeviceStatus, JointBackend, JointStateSample
from skill_stack.drivers.joints import JointChain, JointTargets, SentCommand
from skill_stack.drivers.safety import Clock


class HandDriver:
    """A position-controlled hand (wrist and finger joints) behind one safety layer."""

    def __init__(self, backend: JointBackend, config: HandConfig, clock: Clock):
        self.config = config
        self.clock = clock
        self._chain = JointChain(backend, config, clock, 'hand')
        self._lock = threading.RLock()

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self._chain.joint_names

    @property
    def limits(self):
        """The enforced JointLimits, in ``joint_names`` order."""
        return self._chain.limits

    def connect(self) -> None:
        self._chain.backend.connect()

    def disconnect(self) -> None:
        """Hold the hand, then close the link."""
        with self._lock:
            self._chain.backend.hold()
            self._chain.backend.disconnect()

    def command_joints(self, targets: JointTargets) -> np.ndarray:
        """Set a joint target ({name: position} for some joints, or all in order); returns the accepted target."""
        with self._lock:
            target = self._chain.resolve(targets)
            self._chain.accept(target)
            return target.copy()

    def update(self) -> SentCommand:
        """One control tick (call at the control rate): watchdog, rate limiting, write; returns what was sent."""
        with self._lock:
            return SentCommand(stamp=self.clock(), joint_targets=self._chain.update())

    def estop(self, reason: str = 'e-stop') -> None:
        """Latch the e-stop: the hand holds now and every command is refused until `release()`."""
        with self._lock:
            self._chain.engage_estop(reason)

    def release(self) -> None:
        with self._lock:
            self._chain.release_estop()

    def state(self) -> JointStateSample:
        with self._lock:
            return self._chain.read()

    def status(self) -> DeviceStatus:
        with self._lock:
            backend = self._chain.backend.status()
            return DeviceStatus(connected=backend.connected, fault=self._chain.fault() or backend.fault,
                                details={**self._chain.details(), 'hand': backend.details})
