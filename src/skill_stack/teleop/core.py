"""Teleoperation without a terminal or ROS: key presses and stick deflections in, set-points out.

The operator moves a target (the arm's end-effector, the hand's palm, or the
quadrotor) in small steps from where the robot is when teleop takes over.
Terminals report key presses only, never releases, so a key counts as held
while its auto-repeat keeps arriving: teleop stays engaged ``key_hold``
seconds after the last key (longer than the terminal's repeat delay) and
streams its target at the node's rate; then it lets go, and the device's
arbiter gives control back to autonomy. A gamepad reports real releases: it is
engaged while a stick is deflected. The target never leads the robot by more
than ``max_lead``, so letting go stops the robot close to where it was seen.
Each engagement ends as an `Intervention`, recorded like a correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from skill_stack.drivers.quadrotor import quaternion_multiply
from skill_stack.sim.robots import HAND_FINGER_JOINTS
from skill_stack.skills import hand
from skill_stack.skills.arm import GRIPPER_OPEN, HOLDING_MAX
from skill_stack.teleop.keys import Action, keymap

EMBODIMENTS = ('arm', 'hand', 'quadrotor')


@dataclass(frozen=True)
class Tuning:
    """Per-embodiment step sizes and limits of the teleop target."""

    step: float  # m per key press
    speed: float  # m/s at full stick
    max_lead: float  # m the target may run ahead of the robot
    grip_open: float  # arm: gripper width (m); hand: finger closure (0 open, 1 closed)
    grip_closed: float
    grip_split: float = 0.0  # a measured grip past this, on the closed side, is taken as closed
    yaw_step: float = 0.05  # rad per key press
    yaw_rate: float = 0.8  # rad/s at full stick
    max_yaw_lead: float = 0.3  # rad


TUNING: Dict[str, Tuning] = {
    'arm': Tuning(step=0.005, speed=0.15, max_lead=0.05, grip_open=GRIPPER_OPEN, grip_closed=0.0,
                  grip_split=HOLDING_MAX),
    'hand': Tuning(step=0.003, speed=0.08, max_lead=0.03, grip_open=0.0, grip_closed=1.0,
                   grip_split=hand.OPEN_CLOSURE),
    'quadrotor': Tuning(step=0.03, speed=0.8, max_lead=0.5, grip_open=0.0, grip_closed=0.0),
}
BODY = {'arm': 'end-effector', 'hand': 'palm', 'quadrotor': 'quadrotor'}
GAMEPAD_HOLD_S = 0.15  # s engaged after the stick returns to centre (events arrive only on change)
MAX_TICK_S = 0.1  # s: a longer gap between ticks integrates stick rates over this much only


@dataclass
class Pose:
    """What teleop reads of the robot: position (m, world), orientation (w, x, y, z) and grip
    (arm: gripper width in m; hand: finger closure 0..1; quadrotor: unused)."""

    position: np.ndarray
    quaternion: np.ndarray
    grip: float = 0.0

    def __post_init__(self):
        self.position = np.asarray(self.position, float).reshape(3)
        self.quaternion = np.asarray(self.quaternion, float).reshape(4)
        if not (np.all(np.isfinite(self.position)) and np.all(np.isfinite(self.quaternion))
                and math.isfinite(self.grip)):
            raise ValueError(f'robot pose is not finite: position {self.position.tolist()}, '
                             f'quaternion {self.quaternion.tolist()}, grip {self.grip}')
        norm = float(np.linalg.norm(self.quaternion))
        if norm < 1e-6:
            raise ValueError(f'robot pose quaternion {self.quaternion.tolist()} has no length')
        self.quaternion = self.quaternion / norm


@dataclass
class Target:
    """The set-point teleop streams: position, orientation (w, x, y, z), grip as in `Pose`."""

    position: np.ndarray
    quaternion: np.ndarray
    grip: float


@dataclass
class Intervention:
    """One engagement of teleop, from the first command to letting go."""

    embodiment: str
    start: Pose
    end: Pose
    duration: float
    inputs: int  # key presses and gamepad updates

    @property
    def displacement(self) -> np.ndarray:
        return self.end.position - self.start.position

    @property
    def turn(self) -> float:
        """Heading change about world z, rad."""
        return heading_change(self.start.quaternion, self.end.quaternion)

    def text(self) -> str:
        """The sentence recorded with the corrections, e.g. 'teleop: end-effector moved by [...] m in 1.4 s'."""
        d = ', '.join(f'{v:+.3f}' for v in self.displacement)
        parts = [f'{BODY[self.embodiment]} moved by [{d}] m']
        if abs(self.turn) >= math.radians(1.0):
            parts.append(f'turned {math.degrees(self.turn):+.0f} deg')
        grip = _grip_change(self.embodiment, self.start.grip, self.end.grip)
        if grip:
            parts.append(grip)
        return f"teleop: {', '.join(parts)} in {self.duration:.1f} s"


class Teleop:
    """The teleop state machine of one robot; the caller feeds it inputs and robot poses and ticks it."""

    def __init__(self, embodiment: str, key_hold: float = 0.7, tuning: Optional[Tuning] = None):
        if embodiment not in EMBODIMENTS:
            raise ValueError(f"teleop embodiment must be one of {EMBODIMENTS}, got {embodiment!r}")
        if not (math.isfinite(key_hold) and key_hold > 0):
            raise ValueError(f'teleop key_hold must be a positive number of seconds, got {key_hold}')
        self.embodiment = embodiment
        self.key_hold = float(key_hold)
        self.tuning = tuning or TUNING[embodiment]
        self.keys = keymap(embodiment)
        self.pose: Optional[Pose] = None  # the robot, latest
        self._target: Optional[Target] = None  # set while engaged
        self._start: Optional[Pose] = None
        self._turn = 0.0  # rad the target's heading was turned by since engaging
        self._since = self._until = self._last_tick = 0.0
        self._inputs = 0
        self._rate = np.zeros(4)  # gamepad: unit rates (x, y, z, yaw) in -1..1
        self.finished: List[Intervention] = []  # engagements that ended, for the caller to record

    @property
    def engaged(self) -> bool:
        return self._target is not None

    @property
    def target(self) -> Optional[Target]:
        return self._target

    def observe(self, pose: Pose) -> None:
        self.pose = pose

    # -- inputs -----------------------------------------------------------

    def key(self, name: str, now: float) -> Action:
        """A key press (or its auto-repeat); returns its action. Motion and grip keys engage teleop;
        the caller handles the others (correction line, take-off, quit, ...)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f'teleop key must be a non-empty key name, got {name!r}')
        action = self.keys.get(name, Action('unknown'))
        if action.kind == 'release':
            self.release(now)
        elif action.kind in ('move', 'grip') and self._engage(now):
            self._until = now + self.key_hold
            self._inputs += 1
            if action.kind == 'move':
                t = self.tuning
                self._nudge(np.asarray(action.direction, float) * t.step, action.turn * t.yaw_step)
            else:
                self._target.grip = _grip_value(self.tuning, action.grip)
        return action

    def gamepad(self, rates: Sequence[float], now: float, grip: Optional[str] = None) -> None:
        """Stick deflections (x, y, z, yaw) in -1..1 (zero when centred) and a grip press ('open'/'close')."""
        rates = np.asarray(rates, float).reshape(4)
        if not np.all(np.isfinite(rates)):
            raise ValueError(f'gamepad rates must be finite, got {rates.tolist()}')
        if grip not in (None, 'open', 'close'):
            raise ValueError(f"gamepad grip must be 'open', 'close' or None, got {grip!r}")
        self._rate = np.clip(rates, -1.0, 1.0)
        if (np.any(self._rate) or grip) and self._engage(now):
            self._inputs += 1
            self._until = max(self._until, now + GAMEPAD_HOLD_S)
            if grip:
                self._target.grip = _grip_value(self.tuning, grip)

    def release(self, now: float) -> None:
        """Let go now (the release key): the intervention ends, autonomy gets the device back."""
        self._until = now
        self._rate = np.zeros(4)
        self._disengage(now)

    # -- output -----------------------------------------------------------

    def tick(self, now: float) -> Optional[Target]:
        """The set-point to stream now, or None when teleop is not engaged (stream nothing)."""
        dt = min(max(now - self._last_tick, 0.0), MAX_TICK_S)
        self._last_tick = now
        if self._target is not None and np.any(self._rate):
            t = self.tuning
            self._nudge(self._rate[:3] * t.speed * dt, self._rate[3] * t.yaw_rate * dt)
            self._until = max(self._until, now + GAMEPAD_HOLD_S)
        if self._target is not None and now >= self._until:
            self._disengage(now)
        return self._target

    # -- internals ---------------------------------------------------------

    def _engage(self, now: float) -> bool:
        if self._target is not None:
            return True
        if self.pose is None:
            return False  # nothing to step from yet
        pose = self.pose
        self._start = Pose(pose.position.copy(), pose.quaternion.copy(), pose.grip)
        # The grip is commanded fully open or closed as it is now: commanding the measured width of
        # fingers stopped by an object would stop squeezing it.
        self._target = Target(pose.position.copy(), pose.quaternion.copy(), self._commanded_grip(pose.grip))
        self._turn, self._since, self._inputs = 0.0, now, 0
        self._last_tick = now
        return True

    def _disengage(self, now: float) -> None:
        if self._target is None:
            return
        end = self.pose if self.pose is not None else self._start
        self.finished.append(Intervention(self.embodiment, self._start, end, now - self._since, self._inputs))
        self._target = self._start = None

    def _commanded_grip(self, grip: float) -> float:
        t = self.tuning
        return t.grip_closed if (grip - t.grip_split) * (t.grip_closed - t.grip_open) > 0 else t.grip_open

    def _nudge(self, delta: np.ndarray, turn: float) -> None:
        """Move the target, keeping it within max_lead (and max_yaw_lead) of the robot."""
        t, target = self.tuning, self._target
        here = self.pose.position
        lead = target.position + delta - here
        length = float(np.linalg.norm(lead))
        if length > t.max_lead:
            lead *= t.max_lead / length
        target.position = here + lead
        if turn:
            behind = heading_change(self._start.quaternion, self.pose.quaternion)
            self._turn = float(np.clip(self._turn + turn, behind - t.max_yaw_lead, behind + t.max_yaw_lead))
            target.quaternion = quaternion_multiply(hand.yaw_quaternion(self._turn), self._start.quaternion)


def _grip_value(tuning: Tuning, grip: str) -> float:
    """The grip command for 'open' or 'close'."""
    return tuning.grip_open if grip == 'open' else tuning.grip_closed


def heading_change(start: Sequence[float], end: Sequence[float]) -> float:
    """Rotation about world z taking ``start`` to ``end`` (rad, in -pi..pi), from their relative quaternion."""
    w, x, y, z = start
    relative = quaternion_multiply(end, (w, -x, -y, -z))
    rw, rx, ry, rz = relative
    return math.atan2(2.0 * (rw * rz + rx * ry), 1.0 - 2.0 * (ry * ry + rz * rz))


def hand_joint_targets(target: Target) -> Dict[str, float]:
    """The hand's joint command for ``target``: wrist slides and yaw for the palm, fingers along the
    open-closed synergy by the target's closure (the layout of skills/hand.py)."""
    x, y, z = target.position
    yaw = yaw_of_quaternion(target.quaternion)
    closure = min(max(float(target.grip), 0.0), 1.0)
    fingers = hand.HAND_OPEN + closure * (hand.HAND_CLOSED - hand.HAND_OPEN)
    wrist = dict(zip(hand.HAND_WRIST_JOINTS, (x, y, z - hand.PALM_HEIGHT, yaw), strict=True))
    return {**{k: float(v) for k, v in wrist.items()},
            **{name: float(v) for name, v in zip(HAND_FINGER_JOINTS, fingers, strict=True)}}


def _grip_change(embodiment: str, before: float, after: float) -> str:
    if embodiment == 'arm' and abs(after - before) > 0.005:
        return f"gripper {'opened' if after > before else 'closed'} ({before:.3f} -> {after:.3f} m)"
    if embodiment == 'hand' and abs(after - before) > 0.1:
        return f"fingers {'closed' if after > before else 'opened'} ({before:.2f} -> {after:.2f})"
    return ''


def yaw_of_quaternion(quaternion: Sequence[float]) -> float:
    """Heading about world z, rad."""
    return heading_change((1.0, 0.0, 0.0, 0.0), quaternion)
