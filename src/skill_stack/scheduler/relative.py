"""Where an object goes relative to another: a free table spot beside it, or a push towards or away from it.

"Put X next to / left of / behind Y" places X at a table point (the place
skill's ``point``) beside Y's footprint, ``GAP`` between the two footprints.
A side named is the robot's (REP 103, as grounding reads these relations):
left +y, right -y, "in front of" between Y and the robot (-x), "behind" beyond
Y (+x).  "Next to", "beside", "near" try every side and keep the roomiest.  When
the spot is taken, wider gaps on the same side are tried.  Whether a spot is in
reach is the skill's to say (its feasibility); this module is only geometry.

"Push X towards Y" pushes along the line from X's centre to Y's: by the
amount said (never into Y), "all the way" to ``STOP_SHORT`` before Y, or
"away from" Y along the same line reversed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.grounding import footprint_radius, half_extent_along
from skill_stack.perception.types import PerceivedObject, PerceivedScene

GAP = 0.04  # m between the placed object's footprint and the landmark's
WIDER = (0.0, 0.03, 0.06)  # m added to the gap, in turn, when the spot at the gap is taken
SIDES = {'left': (0.0, 1.0), 'right': (0.0, -1.0), 'front': (-1.0, 0.0), 'behind': (1.0, 0.0)}
STOP_SHORT = 0.01  # m a push "all the way to" Y leaves between the footprints
OPEN_TABLE = 1.0  # m of room reported for a spot with nothing around it
ROUND = ('sphere', 'cylinder', 'bowl', 'pad')  # labels whose footprint is a circle, not a box


@dataclass
class Spot:
    point: np.ndarray  # on the table surface, where the placed object's bottom goes
    side: str
    room: float  # m of free table between the placed footprint there and the nearest other one


def spots_beside(held: PerceivedObject, landmark: PerceivedObject, scene: PerceivedScene, side: str,
                 gap: float = GAP, taken: Sequence[Tuple[np.ndarray, float]] = ()) -> List[Spot]:
    """Free spots for ``held`` beside ``landmark``, best first: on ``side`` nearest first, or ('near') on every
    side, roomiest first.  ``taken``: (point, radius) of more spots to keep clear (where something will go)."""
    sides = list(SIDES) if side == 'near' else [side]
    surface = table_point(landmark, scene)[2]
    others = [(np.asarray(o.position, float)[:2], footprint_radius(o)) for o in scene.objects
              if o.id not in (held.id, landmark.id)]
    others += [(np.asarray(p, float)[:2], r) for p, r in taken]
    spots = []
    for wider in WIDER:
        for name in sides:
            axis = np.array([*SIDES[name], 0.0])
            reach = _half_width(landmark, axis) + gap + wider + _half_width(held, axis)
            xy = np.asarray(landmark.position, float)[:2] + axis[:2] * reach
            room = min((float(np.linalg.norm(xy - c)) - r - footprint_radius(held) for c, r in others),
                       default=OPEN_TABLE)
            if room > 0.0:
                spots.append(Spot(np.array([xy[0], xy[1], surface]), name, room))
        if spots:
            return sorted(spots, key=lambda s: -s.room)
    return []


def table_point(obj: PerceivedObject, scene: PerceivedScene, resting: bool = True) -> np.ndarray:
    """The table point under ``obj``'s centre, at the table perception found, else at the object's bottom; for
    an object not ``resting`` on the table (up in the gripper) at the arm base's level, z = 0."""
    surface = scene.support_height if scene.support_height is not None else _bottom(obj) if resting else 0.0
    return np.array([*np.asarray(obj.position, float)[:2], surface])


def standing_at(obj: PerceivedObject, point: Sequence[float]) -> PerceivedObject:
    """``obj`` (keypoints too) moved so that the centre of its bottom is at table ``point``: where a place at a
    table spot leaves it."""
    shift = np.asarray(point, float) - np.array([*np.asarray(obj.position, float)[:2], _bottom(obj)])
    return replace(obj, position=np.asarray(obj.position, float) + shift,
                   keypoints=[replace(k, position=np.asarray(k.position, float) + shift) for k in obj.keypoints])


def push_along(obj: PerceivedObject, landmark: PerceivedObject, kind: str, amount: float,
               said: Optional[float]) -> Tuple[float, float, float]:
    """(direction in degrees, distance in m, room in m) of a push of ``obj`` relative to ``landmark``.

    ``kind``: 'toward' (``said`` or ``amount``, at most the room), 'all' (the room) or 'away'; the room is
    how far ``obj`` can go towards ``landmark`` and stop ``STOP_SHORT`` before it.
    """
    delta = np.asarray(landmark.position, float)[:2] - np.asarray(obj.position, float)[:2]
    unit = np.array([*(delta / max(float(np.linalg.norm(delta)), 1e-9)), 0.0])
    room = float(np.linalg.norm(delta)) - _half_width(obj, unit) - _half_width(landmark, unit) - STOP_SHORT
    if kind == 'away':
        unit = -unit
    direction = round(math.degrees(math.atan2(unit[1], unit[0])), 3) + 0.0
    wanted = said if said is not None else amount
    distance = wanted if kind == 'away' else room if kind == 'all' else min(wanted, room)
    return direction, distance, room


def _half_width(obj: PerceivedObject, axis: np.ndarray) -> float:
    """Half the object's footprint along a horizontal direction: a circle's radius, a box's support."""
    return footprint_radius(obj) if obj.label in ROUND else half_extent_along(obj, axis)


def _bottom(obj: PerceivedObject) -> float:
    return float(obj.position[2]) - half_extent_along(obj, np.array([0.0, 0.0, 1.0]))
