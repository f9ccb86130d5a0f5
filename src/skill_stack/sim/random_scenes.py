"""Seeded random scenes for benchmarks and tests: random shapes, colours, sizes, positions and yaws.

Every scene goes through `parse_scene`, so it obeys the scene contract (on the
table, clear of the robot and of each other) exactly as a hand-written file
would; an object that does not fit is re-drawn, never bent into place.
The same seed always gives the same scenes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from skill_stack.sim.footprint import Circle, Rectangle, footprint, overlaps
from skill_stack.sim.scene_file import COLORS, SHAPES, SceneFileError, SceneSpec, parse_scene

MIN_SIZE = 0.03  # metres: no dimension of an object (but a pad's thickness) is below this


@dataclass(frozen=True)
class Region:
    """Where object centres are drawn: an annulus sector around the origin (arm) or a square (hand)."""

    min_radius: float = 0.0
    max_radius: float = 1.0
    max_angle: float = math.pi  # |atan2(y, x)| at most this, radians
    half_square: float | None = None  # if set, |x| and |y| at most this instead


# Within the robot's reach (the arm's top-down reach, the hand's wrist travel), though scenes may hold
# objects beyond it, and in view of its fixed camera (sim/stage.py).
REGIONS = {
    "arm": Region(min_radius=0.25, max_radius=0.62, max_angle=math.radians(60.0)),
    "hand": Region(half_square=0.18),
}
# Tallest object per embodiment: the hand's fingertips hang about 0.12 m above the table.
MAX_HEIGHT = {"arm": 0.10, "hand": 0.08}


def random_object(rng: np.random.Generator, name: str, max_height: float = 0.10) -> dict[str, Any]:
    """One object as a scene-file mapping: shape, colour name, size, yaw; position left to the caller."""
    shape = str(rng.choice(SHAPES))
    color = str(rng.choice(list(COLORS)))
    top = max(max_height, MIN_SIZE)
    if shape == "box":
        size = [rng.uniform(MIN_SIZE, 0.07), rng.uniform(MIN_SIZE, 0.07), rng.uniform(MIN_SIZE, min(0.08, top))]
    elif shape == "cylinder":
        size = [rng.uniform(MIN_SIZE / 2.0, 0.04), rng.uniform(MIN_SIZE, top)]
    elif shape == "sphere":
        size = [rng.uniform(MIN_SIZE / 2.0, min(0.04, top / 2.0))]
    elif shape == "bowl":
        radius = rng.uniform(0.04, 0.09)
        size = [radius, rng.uniform(MIN_SIZE, min(0.07, radius, top))]
    else:  # pad
        size = [rng.uniform(MIN_SIZE, 0.08)]
    return {"name": name, "shape": shape, "color": color, "size": [round(float(s), 4) for s in size],
            "yaw": round(float(rng.uniform(-math.pi, math.pi)), 4)}


def _draw_position(rng: np.random.Generator, region: Region) -> list[float]:
    if region.half_square is not None:
        return [float(rng.uniform(-region.half_square, region.half_square)),
                float(rng.uniform(-region.half_square, region.half_square))]
    radius = math.sqrt(rng.uniform(region.min_radius ** 2, region.max_radius ** 2))  # uniform over area
    angle = rng.uniform(-region.max_angle, region.max_angle)
    return [radius * math.cos(angle), radius * math.sin(angle)]


def random_scene(rng: np.random.Generator, embodiment: str = "arm", min_objects: int = 2, max_objects: int = 6,
                 min_gap: float = 0.005, attempts: int = 200) -> SceneSpec:
    """A valid scene with `min_objects`..`max_objects` objects at least `min_gap` apart.

    Objects are placed one at a time; each placement is checked by `parse_scene`
    itself. An object that finds no place in `attempts` draws is dropped, and the
    scene is re-drawn if that leaves fewer than `min_objects`.
    """
    if embodiment not in REGIONS:
        raise ValueError(f"random scenes exist for {sorted(REGIONS)}, not {embodiment!r}")
    if not 0 <= min_objects <= max_objects:
        raise ValueError(f"need 0 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    region, seed = REGIONS[embodiment], int(rng.integers(0, 2**31 - 1))
    while True:
        count = int(rng.integers(min_objects, max_objects + 1))
        objects: list[dict[str, Any]] = []
        for index in range(count):
            candidate = random_object(rng, f"o{index}", MAX_HEIGHT[embodiment])
            for _ in range(attempts):
                candidate["position"] = [round(v, 4) for v in _draw_position(rng, region)]
                if _fits(embodiment, objects, candidate, min_gap):
                    objects.append(dict(candidate))
                    break
        if len(objects) >= min_objects:
            break
    for obj in objects:
        obj["name"] = f"{obj['color']}_{obj['shape']}_{obj['name']}"
    return parse_scene({"embodiment": embodiment, "seed": seed, "objects": objects},
                       source=f"random {embodiment} scene (seed {seed})")


def random_scenes(count: int, seed: int, embodiments: tuple[str, ...] = ("arm", "hand"),
                  min_objects: int = 2, max_objects: int = 6) -> list[SceneSpec]:
    """`count` scenes, embodiments taken in turn, all determined by `seed`."""
    rng = np.random.default_rng(seed)
    return [random_scene(rng, embodiments[i % len(embodiments)], min_objects, max_objects) for i in range(count)]


def _fits(embodiment: str, placed: list[dict[str, Any]], candidate: dict[str, Any], min_gap: float) -> bool:
    try:
        scene = parse_scene({"embodiment": embodiment, "objects": [*placed, candidate]})
    except SceneFileError:
        return False
    new = _grown(footprint(scene.objects[-1]), min_gap / 2.0)
    return not any(overlaps(new, _grown(footprint(other), min_gap / 2.0)) for other in scene.objects[:-1])


def _grown(shape: Circle | Rectangle, margin: float) -> Circle | Rectangle:
    if isinstance(shape, Circle):
        return Circle(shape.x, shape.y, shape.radius + margin)
    return Rectangle(shape.x, shape.y, shape.half_x + margin, shape.half_y + margin, shape.yaw)
