"""Where a scene's objects can lie: on the robot's support surface and clear of the robot (REP 103, metres).

Reach is no part of this: an object the robot cannot reach is a legitimate part of
the world, and a task on it fails in the skill, naming the reach (skills/arm.py
`reach_problem`, the hand's wrist travel, the quadrotor's geofence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skill_stack.sim.footprint import Circle, Rectangle, footprint, overlaps, within

if TYPE_CHECKING:
    from skill_stack.sim.scene_file import ObjectSpec

# Table tops (sim/stage.py builds them), (x centre, half x, half y): the arm's spreads
# round its base at the origin, the hand's lies under the wrist's travel.
TABLES = {"arm": (0.3, 0.65, 0.8), "hand": (0.05, 0.4, 0.4)}
# Quadrotor: a square flying field centred on the take-off point.
QUADROTOR_FIELD_HALF = 5.0
SURFACES = {
    **{name: Rectangle(centre_x, 0.0, half_x, half_y, 0.0) for name, (centre_x, half_x, half_y) in TABLES.items()},
    "quadrotor": Rectangle(0.0, 0.0, QUADROTOR_FIELD_HALF, QUADROTOR_FIELD_HALF, 0.0),
}
# What the robot itself covers on the surface at the start (arm base; quadrotor
# rotor tips at take-off); objects must leave it free, but for the quadrotor's
# home pad (`placement_problem`). The hand hangs above.
ROBOT_FOOTPRINTS = {"arm": Circle(0.0, 0.0, 0.07), "quadrotor": Circle(0.0, 0.0, 0.22)}


def placement_problem(embodiment: str, obj: ObjectSpec) -> str | None:
    """Why `obj` cannot rest where the scene puts it (off the surface, inside the robot), or None when it can.

    A pad under the quadrotor is its home pad: the vehicle stands free, so it
    starts resting on the pad and takes off from it. The arm's base is fixed to
    the table, so nothing, not even a pad, can lie under it.
    """
    outline = footprint(obj)
    surface = SURFACES[embodiment]
    if not within(outline, surface):
        where = "flying field" if embodiment == "quadrotor" else "table top"
        x, y, half_x, half_y = surface.x, surface.y, surface.half_x, surface.half_y
        return (f"{list(obj.position)} puts the footprint off the {where} "
                f"(x {x - half_x:g}..{x + half_x:g} m, y {y - half_y:g}..{y + half_y:g} m)")
    robot = ROBOT_FOOTPRINTS.get(embodiment)
    if robot is None or not overlaps(outline, robot):
        return None
    if embodiment == "arm":
        return f"footprint overlaps the arm's base ({robot.radius} m round the origin)"
    if obj.shape != "pad":
        return (f"footprint overlaps the quadrotor standing at the take-off point ({robot.radius} m round the "
                "origin); only a pad may lie under it")
    return None
