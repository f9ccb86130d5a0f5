"""Where each embodiment can act: the regions a scene's objects must lie in (REP 103, metres)."""

from __future__ import annotations

import math

from skill_stack.sim.footprint import Circle

# Arm: base on the table top at the origin. Inside ARM_MIN_REACH the gripper cannot
# point down without folding onto the base; beyond ARM_MAX_REACH a top-down grasp
# stretches the 0.30 m + 0.38 m links straight.
ARM_MIN_REACH = 0.2
ARM_MAX_REACH = 0.65
# Hand: palm-down on a wrist gantry; objects must lie under the wrist's x/y travel.
HAND_TRAVEL_XY = 0.2
# Quadrotor: a square flying field centred on the take-off point.
QUADROTOR_FIELD_HALF = 5.0
# What the robot itself covers on the surface at the start (arm base; quadrotor
# rotor tips at take-off); objects must leave it free. The hand hangs above.
ROBOT_FOOTPRINTS = {"arm": Circle(0.0, 0.0, 0.07), "quadrotor": Circle(0.0, 0.0, 0.22)}


def reach_problem(embodiment: str, position: tuple[float, float]) -> str | None:
    """Why an object at `position` is out of the embodiment's workspace, or None when it is inside."""
    x, y = position
    if embodiment == "arm":
        distance = math.hypot(x, y)
        if x < 0.0:
            return f"({x}, {y}) is behind the arm (x < 0)"
        if not ARM_MIN_REACH <= distance <= ARM_MAX_REACH:
            return (f"({x}, {y}) is {distance:.3f} m from the arm base, outside its reach of "
                    f"{ARM_MIN_REACH}..{ARM_MAX_REACH} m")
        return None
    if embodiment == "hand":
        if abs(x) > HAND_TRAVEL_XY or abs(y) > HAND_TRAVEL_XY:
            return f"({x}, {y}) is not under the wrist's travel of +-{HAND_TRAVEL_XY} m in x and y"
        return None
    if abs(x) > QUADROTOR_FIELD_HALF or abs(y) > QUADROTOR_FIELD_HALF:
        return f"({x}, {y}) is outside the flying field of +-{QUADROTOR_FIELD_HALF} m in x and y"
    return None
