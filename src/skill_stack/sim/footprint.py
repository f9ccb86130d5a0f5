"""Object footprints on the support surface: to refuse objects that would start inside each other,
inside the robot or off the surface."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skill_stack.sim.scene_file import ObjectSpec


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class Rectangle:
    """An oriented rectangle: centre, half extents along its own axes, yaw in radians."""

    x: float
    y: float
    half_x: float
    half_y: float
    yaw: float

    def axes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (c, s), (-s, c)

    def to_local(self, x: float, y: float) -> tuple[float, float]:
        (ux, uy), (vx, vy) = self.axes()
        dx, dy = x - self.x, y - self.y
        return dx * ux + dy * uy, dx * vx + dy * vy


Footprint = Circle | Rectangle
_ROUNDING = 1e-9  # metres: an edge written in decimal must not fall a float's width outside


def footprint(obj: ObjectSpec) -> Footprint:
    """The xy outline an object covers when resting upright (boxes are rotated by their yaw)."""
    x, y = obj.position
    if obj.shape == "box":
        return Rectangle(x, y, obj.size[0] / 2.0, obj.size[1] / 2.0, obj.yaw)
    return Circle(x, y, obj.size[0])


def overlaps(a: Footprint, b: Footprint) -> bool:
    """True when the two outlines share area (touching edges do not count)."""
    if isinstance(a, Circle) and isinstance(b, Circle):
        return math.hypot(a.x - b.x, a.y - b.y) < a.radius + b.radius
    if isinstance(a, Rectangle) and isinstance(b, Rectangle):
        return _rectangles_overlap(a, b)
    rect, circle = (a, b) if isinstance(a, Rectangle) else (b, a)
    lx, ly = rect.to_local(circle.x, circle.y)
    nearest_x = max(-rect.half_x, min(rect.half_x, lx))
    nearest_y = max(-rect.half_y, min(rect.half_y, ly))
    return math.hypot(lx - nearest_x, ly - nearest_y) < circle.radius


def within(shape: Footprint, area: Rectangle) -> bool:
    """True when the outline lies wholly inside `area` (touching its edge, to rounding, counts as inside)."""
    half_x, half_y = area.half_x + _ROUNDING, area.half_y + _ROUNDING
    if isinstance(shape, Circle):
        lx, ly = area.to_local(shape.x, shape.y)
        return abs(lx) + shape.radius <= half_x and abs(ly) + shape.radius <= half_y
    (ux, uy), (vx, vy) = shape.axes()
    corners = ((shape.x + sx * shape.half_x * ux + sy * shape.half_y * vx,
                shape.y + sx * shape.half_x * uy + sy * shape.half_y * vy) for sx in (-1, 1) for sy in (-1, 1))
    return all(abs(lx) <= half_x and abs(ly) <= half_y
               for lx, ly in (area.to_local(x, y) for x, y in corners))


def _rectangles_overlap(a: Rectangle, b: Rectangle) -> bool:
    """Separating-axis test: two convex outlines are apart iff some edge normal separates them."""
    for axis in (*a.axes(), *b.axes()):
        lo_a, hi_a = _project(a, axis)
        lo_b, hi_b = _project(b, axis)
        if hi_a <= lo_b or hi_b <= lo_a:
            return False
    return True


def _project(rect: Rectangle, axis: tuple[float, float]) -> tuple[float, float]:
    (ux, uy), (vx, vy) = rect.axes()
    centre = rect.x * axis[0] + rect.y * axis[1]
    reach = rect.half_x * abs(ux * axis[0] + uy * axis[1]) + rect.half_y * abs(vx * axis[0] + vy * axis[1])
    return centre - reach, centre + reach
