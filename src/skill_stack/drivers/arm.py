"""The arm driver: joint and Cartesian targets and the gripper, with safety before the backend.

Joint targets pass the joint checks (names, NaN or inf, position limits; see
`JointChain`) and then the workspace box, judged on the end-effector position
the target would put the arm at (forward kinematics). Cartesian targets are
checked against the box first and then turned into joint targets by IK; an
unreachable pose is refused, never approximated. The gripper takes a width
that must be finite and inside [0, max_width] (clipped within its margin).

Call `update()` once per control tick: it streams the rate-limited joint
set-point and any new gripper width, and runs the watchdog. On e-stop or a
stale command stream the arm holds; the gripper keeps its last width, because
opening it would drop what it holds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from skill_stack.drivers.config import ArmConfig
from skill_stack.drivers.ik import ArmIK, IKSolution
from skill_stack.drivers.interfaces import DeviceStatus, GripperBackend, JointBackend, JointStateSample
from skill_stack.drivers.joints import JointChain, JointTargets, SentCommand
from skill_stack.drivers.safety import Clock, CommandError, require_finite


@dataclass(frozen=True)
class ArmState:
    joints: JointStateSample
    ee_position: np.ndarray  # m, arm base frame, from forward kinematics of the measured joints
    ee_quaternion: np.ndarray  # w, x, y, z
    gripper_width: float  # m


class ArmDriver:
    """An arm with a parallel gripper behind one safety layer; same for the sim and for real arms."""

    def __init__(self, backend: JointBackend, gripper: GripperBackend, config: ArmConfig, clock: Clock,
                 ik: Optional[ArmIK] = None):
        if config.gripper.max_width > gripper.max_width:
            raise ValueError(f'arm config gripper.max_width {config.gripper.max_width} m is wider than '
                             f'the gripper opens ({gripper.max_width} m)')
        self.config = config
        self.clock = clock
        self.gripper = gripper
        self._chain = JointChain(backend, config, clock, 'arm')
        self.ik = ik if ik is not None else ArmIK(config.ik, self._chain.limits)
        if tuple(self.ik.names) != self._chain.joint_names:
            raise ValueError(f'IK joints {self.ik.names} differ from the backend joints {self._chain.joint_names}')
        self._pending_width: Optional[float] = None
        self._lock = threading.RLock()
        self.last_ik: Optional[IKSolution] = None

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self._chain.joint_names

    @property
    def limits(self):
        """The enforced JointLimits, in ``joint_names`` order."""
        return self._chain.limits

    # --- lifecycle -------------------------------------------------------------------

    def connect(self) -> None:
        self._chain.backend.connect()
        self.gripper.connect()

    def disconnect(self) -> None:
        """Hold the arm, then close both links."""
        with self._lock:
            self._chain.backend.hold()
            self._chain.backend.disconnect()
            self.gripper.disconnect()

    # --- commands ------------------------------------------------------------------------

    def command_joints(self, targets: JointTargets) -> np.ndarray:
        """Set a joint target ({name: position} for some joints, or all in order); returns the accepted target.

        CommandError names the joint and the limit, or the workspace axis, when refused.
        """
        with self._lock:
            target = self._chain.resolve(targets)
            self._check_workspace(target)
            self._chain.accept(target)
            return target.copy()

    def command_pose(self, position, quaternion) -> np.ndarray:
        """Put the end-effector at ``position`` (m, base frame) with ``quaternion`` (w, x, y, z).

        Solved by IK from the current target (the last requested one, else the
        measured joints) so consecutive poses stay on one arm configuration.
        Returns the joint target; IKError (a CommandError) when unreachable.
        """
        with self._lock:
            self._chain.estop.check()
            position = _vector(position, ('x', 'y', 'z'), 'ee position')
            quaternion = _vector(quaternion, ('w', 'x', 'y', 'z'), 'ee quaternion')
            norm = float(np.linalg.norm(quaternion))
            if norm < 1e-6:
                raise CommandError(f'ee quaternion {quaternion.tolist()} has no orientation (norm {norm:g})')
            self.config.workspace.check(position, 'ee target')
            seed = self._chain.requested()
            if seed is None:
                seed = self._chain.read().positions
            solution = self.ik.solve(position, quaternion / norm, seed)
            self.last_ik = solution
            target = self._chain.resolve(solution.positions)
            self._check_workspace(target)
            self._chain.accept(target)
            return target.copy()

    def command_gripper(self, width: float) -> float:
        """Set the finger opening in metres (0 closes); returns the accepted width, sent at the next update."""
        with self._lock:
            self._chain.estop.check()
            (value,) = require_finite([width], ['width'], 'gripper')
            limit, margin = self.config.gripper.max_width, self.config.gripper.clip_margin
            if not -margin <= value <= limit + margin:
                raise CommandError(f'gripper width {value:.4f} m is outside [0, {limit}] m by more than the '
                                   f'clip margin {margin} m')
            self._pending_width = float(min(max(value, 0.0), limit))
            return self._pending_width

    # --- control tick ---------------------------------------------------------------------

    def update(self) -> SentCommand:
        """One control tick (call at the control rate): watchdog, rate limiting, writes; returns what was sent."""
        with self._lock:
            joints = self._chain.update()
            width = None
            if self._pending_width is not None and not self._chain.estop.engaged:
                width, self._pending_width = self._pending_width, None
                self.gripper.write_width(width)
            return SentCommand(stamp=self.clock(), joint_targets=joints, gripper_width=width)

    # --- e-stop -------------------------------------------------------------------------------

    def estop(self, reason: str = 'e-stop') -> None:
        """Latch the e-stop: the arm holds now and every command is refused until `release()`."""
        with self._lock:
            self._pending_width = None
            self._chain.engage_estop(reason)

    def release(self) -> None:
        with self._lock:
            self._chain.release_estop()

    # --- reporting -------------------------------------------------------------------------------

    def state(self) -> ArmState:
        with self._lock:
            joints = self._chain.read()
            position, quaternion = self.ik.forward(joints.positions)
            return ArmState(joints, position, quaternion, self.gripper.read_width())

    def status(self) -> DeviceStatus:
        with self._lock:
            arm, gripper = self._chain.backend.status(), self.gripper.status()
            fault = self._chain.fault() or arm.fault or (gripper.fault and f'gripper: {gripper.fault}')
            return DeviceStatus(connected=arm.connected and gripper.connected, fault=fault,
                                details={**self._chain.details(), 'arm': arm.details, 'gripper': gripper.details})

    def _check_workspace(self, target: np.ndarray) -> None:
        position, _ = self.ik.forward(target)
        self.config.workspace.check(position, 'ee (forward kinematics of the joint target)')


def _vector(values, names: tuple[str, ...], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.shape != (len(names),):
        raise CommandError(f'{what} needs {len(names)} values ({", ".join(names)}), got {array.size}')
    return require_finite(array, names, what)
