"""The skill abstraction: a name, typed arguments, feasibility, a policy, termination and success.

A skill is conditioned on 3D keypoints that perception grounds (KITE): its
policy sees proprioception and the target keypoints relative to the robot,
never the simulator's ground truth, and outputs an action that `command`
turns into a device command for the driver. The same skill object serves
data generation, training, evaluation and the ExecuteSkill server.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.skills.schema import ArgSpec, validate_args


@dataclass
class RobotObservation:
    """What a skill sees of its robot, from the driver's state (sim or real alike)."""

    embodiment: str
    position: np.ndarray  # (3,) arm end-effector, hand palm, or quadrotor body, world frame
    quaternion: np.ndarray  # (4,) w, x, y, z of the same
    joints: np.ndarray = field(default_factory=lambda: np.zeros(0))  # arm or hand joint positions
    gripper_width: float = 0.0  # arm only, m
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # quadrotor, world frame
    airborne: bool = False  # quadrotor
    stamp: float = 0.0


@dataclass
class Progress:
    phase: str  # e.g. approach, grasp, lift, transport, release, done
    progress: float  # 0..1
    distance: float  # m to the current target, negative when not meaningful


@dataclass
class ArmCommand:
    ee_position: np.ndarray
    ee_quaternion: np.ndarray  # w, x, y, z
    gripper_width: float


@dataclass
class HandCommand:
    joints: Dict[str, float]  # wrist and finger position targets


@dataclass
class QuadrotorCommand:
    position: np.ndarray  # world frame set-point
    yaw: Optional[float] = None
    land: bool = False  # hand over to the flight controller's landing
    arm: bool = False  # spin up first (on the ground, before a take-off's set-points)


Command = ArmCommand | HandCommand | QuadrotorCommand
Targets = Dict[str, np.ndarray]  # named 3D points the policy is conditioned on, world frame


def clip_norm(vector: np.ndarray, limit: float) -> np.ndarray:
    """``vector`` scaled down to length ``limit`` when it is longer (a policy's step per control tick)."""
    vector = np.asarray(vector, float)
    norm = float(np.linalg.norm(vector))
    return vector * (limit / norm) if norm > limit else vector


class Skill(ABC):
    """Subclasses set the class attributes and implement the methods; see skills/arm.py for examples."""

    name: str
    embodiment: str  # arm, hand, quadrotor
    description: str
    args: Tuple[ArgSpec, ...] = ()
    control_rate_hz: float = 20.0
    max_duration_s: float = 20.0
    #: the policy's action, entry by entry (checkpoints record it)
    action_names: Tuple[str, ...] = ()
    #: the observation, entry by entry, and whether each comes from keypoints: (name, from_keypoints).
    #: ``base_slots`` is the embodiment's proprioception, ``slots`` the skill's own entries.
    base_slots: Tuple[Tuple[str, bool], ...] = ()
    slots: Tuple[Tuple[str, bool], ...] = ()
    #: action entries that demonstration noise perturbs (DART), and its per-episode upper bound
    noise_dims: Tuple[int, ...] = ()
    demo_noise: float = 0.0
    #: after success the robot holds ``args['object']`` (the server then tracks it where the camera cannot)
    takes_hold: bool = False

    @property
    def action_dim(self) -> int:
        return len(self.action_names)

    @property
    def obs_dim(self) -> int:
        return len(self.base_slots) + len(self.slots)

    def observation_names(self) -> list:
        return [name for name, _ in self.base_slots + self.slots]

    def keypoint_slots(self) -> np.ndarray:
        """Boolean mask over the observation: True where the entry comes from keypoints (the end-to-end
        baseline is trained and run with those entries zeroed)."""
        return np.array([kp for _, kp in self.base_slots + self.slots], bool)

    def checked_action(self, action: np.ndarray) -> np.ndarray:
        """The policy's action as ``action_dim`` floats; ValueError when it is not that or not finite."""
        action = np.asarray(action, float).reshape(-1)
        if action.shape != (self.action_dim,) or not np.all(np.isfinite(action)):
            raise ValueError(f'{self.name}: policy action {action.tolist()} is not {self.action_dim} finite numbers')
        return action

    def perturb(self, action: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
        """The action with Gaussian noise on ``noise_dims`` (executed, not recorded, in demonstrations)."""
        out = np.array(action, float)
        if sigma > 0.0 and self.noise_dims:
            out[list(self.noise_dims)] += rng.normal(0.0, sigma, len(self.noise_dims))
        return out

    def validate(self, args: Any) -> Dict[str, Any]:
        """Typed arguments with defaults, or SkillArgumentError naming the argument."""
        return validate_args(self.name, self.args, args)

    def describe(self) -> Dict[str, Any]:
        """The skill as a planner sees it (the list_skills service)."""
        return {'name': self.name, 'embodiment': self.embodiment, 'description': self.description,
                'args': [a.describe() for a in self.args]}

    @abstractmethod
    def targets(self, args: Dict[str, Any], scene: PerceivedScene, robot: RobotObservation) -> Targets:
        """Ground the arguments to keypoints; SkillArgumentError when an object or keypoint is missing
        or the target is out of reach."""

    @abstractmethod
    def feasibility(self, args: Dict[str, Any], scene: PerceivedScene) -> Tuple[float, str]:
        """How likely the skill can succeed now (0..1, from affordances) and why (SayCan's value)."""

    @abstractmethod
    def observation(self, robot: RobotObservation, targets: Targets, args: Dict[str, Any]) -> np.ndarray:
        """The policy's input: proprioception and targets relative to the robot, plus numeric arguments."""

    @abstractmethod
    def command(self, action: np.ndarray, robot: RobotObservation, targets: Targets,
                args: Dict[str, Any]) -> Command:
        """The device command for one policy action (e.g. an end-effector delta and a gripper width)."""

    @abstractmethod
    def progress(self, robot: RobotObservation, targets: Targets, args: Dict[str, Any]) -> Progress: ...

    @abstractmethod
    def finished(self, robot: RobotObservation, targets: Targets, args: Dict[str, Any]) -> bool:
        """Termination: the policy's job is done (success is judged separately)."""

    def held_offset(self, targets: Targets) -> Optional[np.ndarray]:
        """For a skill that takes hold of an object: the object's centre relative to the robot's position once
        held (the server keeps the object there while the fingers hide it from the camera); None: unknown."""
        return None

    @abstractmethod
    def success(self, robot: RobotObservation, scene: Optional[PerceivedScene], targets: Targets,
                args: Dict[str, Any]) -> Tuple[bool, str]:
        """Did it work, judged from perception and robot state (never ground truth), and why."""
