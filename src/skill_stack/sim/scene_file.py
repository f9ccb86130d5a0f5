"""Scene files: the YAML contract of docs/architecture.md ("Scene file"), loaded and validated.

A scene is refused as a whole at load time, with a message naming the file, the
object and the field, so a typo never turns into a half-built simulation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from skill_stack.sim.footprint import footprint, overlaps
from skill_stack.sim.workspace import placement_problem

EMBODIMENTS = ("arm", "hand", "quadrotor")
SHAPES = ("box", "cylinder", "sphere", "bowl", "pad")
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.1, 0.1),
    "green": (0.1, 0.65, 0.2),
    "blue": (0.1, 0.25, 0.85),
    "yellow": (0.95, 0.85, 0.1),
    "orange": (1.0, 0.5, 0.05),
    "purple": (0.55, 0.2, 0.75),
    "white": (0.95, 0.95, 0.95),
    "black": (0.05, 0.05, 0.05),
}
# How many numbers `size` holds for each shape, and what they mean.
SIZE_FIELDS = {
    "box": ("x extent", "y extent", "z extent"),
    "cylinder": ("radius", "height"),
    "sphere": ("radius",),
    "bowl": ("radius", "height"),
    "pad": ("radius",),
}
PAD_THICKNESS = 0.005  # metres; a pad is a flat disc, its size is only a radius
MIN_SIZE = 0.005  # metres; smaller objects tunnel through contacts at 500 Hz
MIN_BOWL_RADIUS = 0.03  # a bowl needs room for walls and a floor
MIN_BOWL_HEIGHT = 0.015

_TOP_FIELDS = {"embodiment", "seed", "objects"}
_OBJECT_FIELDS = {"name", "shape", "color", "size", "position", "yaw"}
_REQUIRED_OBJECT_FIELDS = ("name", "shape", "color", "size", "position")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SceneFileError(ValueError):
    """A scene file that cannot be built; the message names file, object and field."""

    def __init__(self, source: str, problem: str, obj: str | None = None, field_name: str | None = None):
        where = [source]
        if obj is not None:
            where.append(f"object {obj}")
        if field_name is not None:
            where.append(f"field '{field_name}'")
        super().__init__(f"{': '.join(where)}: {problem}")
        self.source = source
        self.object = obj
        self.field = field_name


@dataclass(frozen=True)
class ObjectSpec:
    """One object of a scene, as the file describes it (metres, radians)."""

    name: str
    shape: str
    color: str | tuple[float, float, float]
    size: tuple[float, ...]
    position: tuple[float, float]
    yaw: float = 0.0

    @property
    def rgb(self) -> tuple[float, float, float]:
        return COLORS[self.color] if isinstance(self.color, str) else self.color

    @property
    def height(self) -> float:
        """Vertical extent when resting upright; the simulator centres the body at half of it."""
        if self.shape == "box":
            return self.size[2]
        if self.shape == "sphere":
            return 2.0 * self.size[0]
        if self.shape == "pad":
            return PAD_THICKNESS
        return self.size[1]  # cylinder, bowl: [radius, height]


@dataclass(frozen=True)
class SceneSpec:
    """A validated scene: which robot, the seed, and the objects to rest on its surface."""

    embodiment: str
    seed: int = 0
    objects: tuple[ObjectSpec, ...] = field(default_factory=tuple)
    source: str = "<string>"

    def object(self, name: str) -> ObjectSpec:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(name)


def read_yaml(path: str | Path, error: Callable[[str, str], Exception]) -> Any:
    """A YAML file's content; ``error(source, problem)`` is raised when it cannot be read or parsed."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise error(source, f"cannot read the file ({err.strerror})") from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise error(source, f"not valid YAML: {err}") from err


def load_scene(path: str | Path) -> SceneSpec:
    """Read and validate a scene YAML file."""
    return parse_scene(read_yaml(path, SceneFileError), source=str(path))


def parse_scene(data: Any, source: str = "<string>") -> SceneSpec:
    """Validate an already-parsed scene mapping; `source` names it in error messages."""
    if not isinstance(data, dict):
        raise SceneFileError(source, f"expected a mapping with 'embodiment' and 'objects', got {_kind(data)}")
    unknown = sorted(set(map(str, data)) - _TOP_FIELDS)
    if unknown:
        raise SceneFileError(source, f"unknown field (expected one of {sorted(_TOP_FIELDS)})", field_name=unknown[0])
    if "embodiment" not in data:
        raise SceneFileError(source, "missing required field", field_name="embodiment")
    embodiment = data["embodiment"]
    if embodiment not in EMBODIMENTS:
        raise SceneFileError(source, f"unknown embodiment {embodiment!r}, expected one of {EMBODIMENTS}",
                             field_name="embodiment")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SceneFileError(source, f"expected a non-negative integer, got {seed!r}", field_name="seed")
    raw_objects = data.get("objects", [])
    if raw_objects is None:
        raw_objects = []
    if not isinstance(raw_objects, list):
        raise SceneFileError(source, f"expected a list of objects, got {_kind(raw_objects)}", field_name="objects")

    objects: list[ObjectSpec] = []
    for index, raw in enumerate(raw_objects):
        obj = _parse_object(raw, index, source)
        for other in objects:
            if other.name == obj.name:
                raise SceneFileError(source, "duplicate name, names must be unique", _label(obj.name, index), "name")
        problem = placement_problem(embodiment, obj)
        if problem:
            raise SceneFileError(source, problem, _label(obj.name, index), "position")
        for other in objects:
            if overlaps(footprint(obj), footprint(other)):
                raise SceneFileError(source, f"footprint overlaps object '{other.name}'",
                                     _label(obj.name, index), "position")
        objects.append(obj)
    return SceneSpec(embodiment=embodiment, seed=seed, objects=tuple(objects), source=source)


def _parse_object(raw: Any, index: int, source: str) -> ObjectSpec:
    if not isinstance(raw, dict):
        raise SceneFileError(source, f"expected a mapping, got {_kind(raw)}", _label(None, index))
    name = raw.get("name")
    label = _label(name if isinstance(name, str) else None, index)
    unknown = sorted(set(map(str, raw)) - _OBJECT_FIELDS)
    if unknown:
        raise SceneFileError(source, f"unknown field (expected one of {sorted(_OBJECT_FIELDS)})", label, unknown[0])
    for key in _REQUIRED_OBJECT_FIELDS:
        if key not in raw:
            raise SceneFileError(source, "missing required field", label, key)
    if not isinstance(name, str) or not _NAME.match(name):
        raise SceneFileError(source, f"expected a name of letters, digits and '_' starting with a letter, got {name!r}",
                             label, "name")
    shape = raw["shape"]
    if shape not in SHAPES:
        raise SceneFileError(source, f"unknown shape {shape!r}, expected one of {SHAPES}", label, "shape")
    color = _parse_color(raw["color"], source, label)
    size = _parse_size(raw["size"], shape, source, label)
    position = _numbers(raw["position"], 2, "[x, y] in metres", source, label, "position")
    yaw = _numbers([raw.get("yaw", 0.0)], 1, "an angle in radians", source, label, "yaw")[0]
    return ObjectSpec(name=name, shape=shape, color=color, size=size, position=position, yaw=yaw)


def _parse_color(value: Any, source: str, label: str) -> str | tuple[float, float, float]:
    if isinstance(value, str):
        if value not in COLORS:
            raise SceneFileError(source, f"unknown colour {value!r}, expected one of {tuple(COLORS)} or [r, g, b]",
                                 label, "color")
        return value
    rgb = _numbers(value, 3, "a colour name or [r, g, b] in 0..1", source, label, "color")
    if not all(0.0 <= c <= 1.0 for c in rgb):
        raise SceneFileError(source, f"[r, g, b] components must lie in 0..1, got {list(rgb)}", label, "color")
    return rgb


def _parse_size(value: Any, shape: str, source: str, label: str) -> tuple[float, ...]:
    names = SIZE_FIELDS[shape]
    size = _numbers(value, len(names), f"[{', '.join(names)}] for a {shape}", source, label, "size")
    for name, number in zip(names, size, strict=True):
        if number < MIN_SIZE:
            raise SceneFileError(source, f"{name} must be at least {MIN_SIZE} m, got {number}", label, "size")
    if shape == "bowl" and (size[0] < MIN_BOWL_RADIUS or size[1] < MIN_BOWL_HEIGHT):
        raise SceneFileError(source, f"a bowl needs radius >= {MIN_BOWL_RADIUS} m and height >= {MIN_BOWL_HEIGHT} m,"
                             f" got {list(size)}", label, "size")
    return size


def _numbers(value: Any, count: int, expected: str, source: str, label: str, field_name: str) -> tuple[float, ...]:
    """A list of exactly `count` finite real numbers (bools and strings refused)."""
    if not isinstance(value, list | tuple) or len(value) != count:
        got = f"{len(value)} values" if isinstance(value, list | tuple) else _kind(value)
        raise SceneFileError(source, f"expected {expected}, got {got}", label, field_name)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise SceneFileError(source, f"expected {expected}, got {item!r}", label, field_name)
        if not math.isfinite(item):
            raise SceneFileError(source, f"numbers must be finite, got {item!r}", label, field_name)
    return tuple(float(item) for item in value)


def _label(name: str | None, index: int) -> str:
    return f"#{index} '{name}'" if name else f"#{index}"


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
