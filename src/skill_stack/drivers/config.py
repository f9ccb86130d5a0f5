"""Driver configuration: the arm's and the hand's safety limits and IK settings, from config/*.yaml.

One typed, validated source of truth per driver. A bad file is refused at
start-up with a ConfigError naming the file and the field (``joints.joint2.upper``),
never discovered later as a surprising motion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from skill_stack.drivers.safety import JointLimits, WorkspaceBox


class ConfigError(ValueError):
    """A driver config file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class JointLimit:
    """Software limits of one joint (rad or m); they must lie inside the URDF's hardware limits."""

    name: str
    lower: float
    upper: float
    max_velocity: float  # rad/s or m/s
    clip_margin: float  # how far past a limit a target is clipped rather than refused


@dataclass(frozen=True)
class BackendSpec:
    """Which backend drives the device (``type``) and its own settings, as the config file's ``backend``
    section holds them; the backend module parses ``settings`` itself (drivers/backends/)."""

    type: str = 'sim'
    settings: Mapping[str, Any] = field(default_factory=dict)  # the section without ``type``
    file: str = ''

    def fields(self) -> Fields:
        """The settings for typed reads whose errors name ``file: backend.<field>``."""
        return Fields(dict(self.settings), self.file or 'config', 'backend')


SIM_BACKEND = BackendSpec()


@dataclass(frozen=True)
class JointChainConfig:
    """What every position-controlled chain needs: per-joint limits and the command watchdog."""

    joints: tuple[JointLimit, ...]
    watchdog_timeout: float  # s without a command before the chain holds position
    backend: BackendSpec = field(default=SIM_BACKEND, kw_only=True)  # which backend drives it, and its settings

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(joint.name for joint in self.joints)

    def limits(self, order: Optional[Sequence[str]] = None) -> JointLimits:
        """The safety limits, in ``order`` (a backend's joint order) or the file's."""
        by_name = {joint.name: joint for joint in self.joints}
        joints = [by_name[name] for name in order] if order is not None else list(self.joints)
        return JointLimits([j.name for j in joints], [j.lower for j in joints], [j.upper for j in joints],
                           [j.max_velocity for j in joints], [j.clip_margin for j in joints])


@dataclass(frozen=True)
class GripperConfig:
    max_width: float  # m, fully open
    clip_margin: float  # m


@dataclass(frozen=True)
class IKConfig:
    """When an IK solve counts as converged, and how long it may try."""

    position_tolerance: float  # m
    orientation_tolerance: float  # rad
    max_iterations: int
    damping: float  # Levenberg-Marquardt damping of the frame task; keeps steps sane near singularities
    model: str = 'arm'  # the arm's kinematic model: urdf/<model>.urdf with an `ee` frame (the config's `model`)


@dataclass(frozen=True)
class ArmConfig(JointChainConfig):
    gripper: GripperConfig
    workspace: WorkspaceBox  # end-effector box in the arm base frame
    ik: IKConfig


@dataclass(frozen=True)
class HandConfig(JointChainConfig):
    # Joints that keep their last set-point when the hand holds (watchdog, e-stop, link to the skill
    # server gone): the fingers, so a held object is not dropped, as the arm's gripper keeps its width.
    grip_joints: tuple[str, ...] = ()


def config_dir() -> Path:
    """config/ of the source tree, or of the installed package share directory."""
    source = Path(__file__).resolve().parents[3] / 'config'
    if source.is_dir():
        return source
    # Imported here: only an installed package needs the ament index.
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory('skill_stack')) / 'config'


def load_arm_config(path: str | Path | None = None) -> ArmConfig:
    """The arm driver's config from ``path`` (default config/arm.yaml)."""
    path = Path(path) if path is not None else config_dir() / 'arm.yaml'
    fields = Fields(_read_yaml(path), str(path))
    fields.allow('model', 'watchdog_timeout', 'clip_margin', 'joints', 'gripper', 'workspace', 'ik', 'backend')
    model = _arm_model(fields)
    joints, timeout = _chain(fields)
    gripper = fields.section('gripper')
    gripper.allow('max_width', 'clip_margin')
    workspace = fields.section('workspace')
    workspace.allow('min', 'max')
    lower, upper = workspace.vector('min', 3), workspace.vector('max', 3)
    for axis, low, high in zip(WorkspaceBox.AXES, lower, upper, strict=True):
        if not low < high:
            raise ConfigError(f'{workspace.where}.min: {axis} {low} must be below max {high}')
    ik = fields.section('ik')
    ik.allow('position_tolerance', 'orientation_tolerance', 'max_iterations', 'damping')
    return ArmConfig(
        joints=joints, watchdog_timeout=timeout, backend=backend_spec(fields),
        gripper=GripperConfig(max_width=gripper.positive('max_width'),
                              clip_margin=gripper.non_negative('clip_margin')),
        workspace=WorkspaceBox(lower, upper),
        ik=IKConfig(position_tolerance=ik.positive('position_tolerance'),
                    orientation_tolerance=ik.positive('orientation_tolerance'),
                    max_iterations=ik.count('max_iterations'),
                    damping=ik.non_negative('damping'), model=model),
    )


def _arm_model(fields: Fields) -> str:
    """The optional ``model``: which urdf/<model>.urdf the IK and forward kinematics use (default ``arm``)."""
    model = fields.data.get('model', 'arm')
    # Imported here: only the arm config names a robot model.
    from skill_stack.sim.robots import urdf_dir

    known = sorted(path.stem for path in urdf_dir().glob('*.urdf'))
    if not isinstance(model, str) or model not in known:
        raise ConfigError(f'{fields.file}: model: {model!r} is not a robot model; expected one of {known}')
    return model


def load_hand_config(path: str | Path | None = None) -> HandConfig:
    """The hand driver's config from ``path`` (default config/hand.yaml)."""
    path = Path(path) if path is not None else config_dir() / 'hand.yaml'
    fields = Fields(_read_yaml(path), str(path))
    fields.allow('watchdog_timeout', 'clip_margin', 'joints', 'grip_joints', 'backend')
    joints, timeout = _chain(fields)
    grip = fields.data.get('grip_joints', [])
    names = [joint.name for joint in joints]
    if not isinstance(grip, list) or any(name not in names for name in grip):
        raise ConfigError(f'{fields.file}: grip_joints: expected a list of names from joints, got {grip!r}')
    return HandConfig(joints=joints, watchdog_timeout=timeout, backend=backend_spec(fields),
                      grip_joints=tuple(grip))


def load_camera_config(path: str | Path) -> BackendSpec:
    """A real camera's file (config/robots/realsense.yaml): its ``backend`` section, which
    ``open_backend('camera', spec, None)`` turns into the camera (the backend checks its settings)."""
    path = Path(path)
    fields = Fields(_read_yaml(path), str(path))
    fields.allow('backend')
    fields.section('backend')  # required here: a camera file has no simulated default
    return backend_spec(fields)


def backend_spec(fields: Fields) -> BackendSpec:
    """The optional ``backend`` section: ``sim`` (the default, also as a bare word) or a mapping with
    ``type`` and that backend's settings."""
    if 'backend' not in fields.data:
        return SIM_BACKEND
    value = fields.data['backend']
    if isinstance(value, str) and value:
        return BackendSpec(value, {}, fields.file)
    section = fields.section('backend')
    kind = section.data.get('type')
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{fields.file}: backend.type: expected a backend name, got {kind!r}")
    return BackendSpec(kind, {k: v for k, v in section.data.items() if k != 'type'}, fields.file)


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f'{path}: cannot read: {exc.strerror}') from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML: {exc}') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping at the top level')
    return data


def _chain(fields: Fields) -> tuple[tuple[JointLimit, ...], float]:
    """The joints and watchdog shared by both drivers; each joint may override the clip margin."""
    timeout = fields.positive('watchdog_timeout')
    default_margin = fields.non_negative('clip_margin')
    joints_section = fields.section('joints')
    if not joints_section.data:
        raise ConfigError(f'{joints_section.where}: at least one joint is required')
    joints = []
    for name in joints_section.data:
        joint = joints_section.section(name)
        joint.allow('lower', 'upper', 'max_velocity', 'clip_margin')
        lower, upper = joint.number('lower'), joint.number('upper')
        if not lower < upper:
            raise ConfigError(f'{joint.where}.lower: {lower} must be below upper {upper}')
        margin = joint.non_negative('clip_margin') if 'clip_margin' in joint.data else default_margin
        joints.append(JointLimit(str(name), lower, upper, joint.positive('max_velocity'), margin))
    return tuple(joints), timeout


class Fields:
    """Typed reads from one YAML mapping; every error names ``file: dotted.field``."""

    def __init__(self, data: Any, file: str, field: str = ''):
        self.file = file
        self.field = field  # dotted path of this mapping inside the file, '' at the top
        if not isinstance(data, dict):
            raise ConfigError(f'{self.where}: expected a mapping, got {data!r}')
        self.data = data

    @property
    def where(self) -> str:
        return f'{self.file}: {self.field}' if self.field else self.file

    def _path(self, key: str) -> str:
        return f'{self.field}.{key}' if self.field else key

    def _label(self, key: str) -> str:
        return f'{self.file}: {self._path(key)}'

    def allow(self, *keys: str) -> None:
        unknown = [key for key in self.data if key not in keys]
        if unknown:
            raise ConfigError(f'{self._label(str(unknown[0]))}: unknown field; expected one of {list(keys)}')

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigError(f'{self._label(key)}: missing')
        return self.data[key]

    def section(self, key: str) -> Fields:
        return Fields(self._get(key), self.file, self._path(key))

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f'{self._label(key)}: expected a finite number, got {value!r}')
        return float(value)

    def positive(self, key: str) -> float:
        value = self.number(key)
        if not value > 0:
            raise ConfigError(f'{self._label(key)}: must be positive, got {value}')
        return value

    def non_negative(self, key: str) -> float:
        value = self.number(key)
        if value < 0:
            raise ConfigError(f'{self._label(key)}: must not be negative, got {value}')
        return value

    def count(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f'{self._label(key)}: expected a positive integer, got {value!r}')
        return value

    def vector(self, key: str, size: int) -> Sequence[float]:
        value = self._get(key)
        if not isinstance(value, list) or len(value) != size:
            raise ConfigError(f'{self._label(key)}: expected a list of {size} numbers, got {value!r}')
        items = Fields({str(i): v for i, v in enumerate(value)}, self.file, self._path(key))
        return [items.number(str(i)) for i in range(size)]
