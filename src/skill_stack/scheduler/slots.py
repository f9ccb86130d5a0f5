"""Filling a skill's non-object arguments from a clause, by kind and unit as its schema declares them.

Quantities go to number arguments of the same dimension (length, angle, time),
steered by the words around them ("at a height of 1 m" -> ``height``, "for 3
seconds" -> ``duration``) and converted to the argument's unit; a direction
phrase fills a ``direction`` angle ("to the left" = 90 deg, REP 103), or
shifts the target through ``offset`` for a skill that has no direction ("put it
in the bowl a bit to the left"); a rotation sense signs the angle; words or
the part named fill choices.  A required number nobody said gets a modest
value, noted; a required direction nobody said is a question.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from skill_stack.scheduler.catalog import OFFSET_ARG, ArgInfo, SkillCatalog
from skill_stack.scheduler.instruction import Clause

# Sizes of a target shift not said: "put it in the bowl a bit to the left", "go a little higher".
STEP_SIZES = {'small': 0.03, '': 0.05, 'large': 0.1}  # m
# How far to move an object when no amount is said: "push it a bit to the left".  A bit is still a
# move one can see and the push skill makes reliably (it was trained on 5 to 15 cm).
MOVE_SIZES = {'small': 0.05, '': 0.05, 'large': 0.1}  # m
DEFAULT_ANGLE = 90.0  # deg, "rotate the cube"
DEFAULT_DURATION = 2.0  # s
_VERTICAL_AXES = ('vertical', 'upright', 'up', 'yaw')


class Unplannable(ValueError):
    """What was said cannot become steps; the message is for the person."""


def fill(catalog: SkillCatalog, skill: str, clause: Clause, part: str, notes: List[str],
         given: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The non-object arguments of ``skill`` from ``clause`` (``part``: the keypoint a phrase named; ``given``:
    arguments the caller worked out from the scene, such as a push's direction towards a landmark).

    Appends to ``notes`` what was assumed; raises Unplannable for what does not fit the schema.
    """
    args: Dict[str, Any] = dict(given or {})
    specs = catalog.args(skill)
    numeric = [a for a in specs if a.kind == 'number']
    direction = direction_arg(catalog, skill)
    if direction is not None and clause.direction is not None and direction.name not in args:
        x, y, _ = clause.direction
        if math.hypot(x, y) < 1e-6:
            raise Unplannable(f'{skill} moves along the table; "{clause.direction_words}" is up or down')
        args[direction.name] = round(math.degrees(math.atan2(y, x)), 3)
    shift = clause.direction if direction is None and catalog.takes_offset(skill) else None
    magnitude = STEP_SIZES.get(clause.intensity, STEP_SIZES[''])
    for quantity in clause.quantities:
        fits = [a for a in numeric if a.dimension == quantity.dimension and a.name not in args and a is not direction]
        if not fits and shift is not None and quantity.dimension == 'length':
            magnitude = abs(quantity.value)  # "put it in the bowl 3 cm to the left": the offset's length
            continue
        if not fits:
            raise Unplannable(f'{skill} takes no {quantity.dimension} ("{quantity.words}")')
        arg = max(fits, key=lambda a: (any(h in a.name for h in quantity.hints), a.required, -fits.index(a)))
        value = quantity.value
        if quantity.dimension == 'angle' and clause.sense:
            value = abs(value) * clause.sense
        args[arg.name] = round(arg.from_base(value), 6)
    if shift is not None:
        args[OFFSET_ARG] = [round(v * magnitude, 4) + 0.0 for v in shift]
    for arg in specs:
        value = _choice(arg, clause.axis, part) if arg.kind == 'choice' else ''
        if value:
            args[arg.name] = value
    for arg in numeric:
        if arg.name in args or not arg.required or arg.default is not None:
            continue
        if arg is direction:
            raise Unplannable(f'{skill} needs a {arg.description or arg.name}: say e.g. "to the left" or "forward" '
                              f'("{clause.words}")')
        moved = MOVE_SIZES.get(clause.intensity, MOVE_SIZES[''])
        base = {'length': moved, 'angle': DEFAULT_ANGLE * (clause.sense or 1),
                'time': DEFAULT_DURATION}.get(arg.dimension, 0.0)
        args[arg.name] = round(arg.clip(arg.from_base(base)), 6)
        notes.append(f'{skill}: {arg.name} not said, assumed {args[arg.name]:g} {arg.unit}'.rstrip())
    return args


def direction_arg(catalog: SkillCatalog, skill: str) -> Optional[ArgInfo]:
    """The skill's ``direction`` argument (an angle about z), which direction phrases fill."""
    arg = catalog.arg(skill, 'direction')
    return arg if arg is not None and arg.kind == 'number' and arg.dimension == 'angle' else None


def _choice(arg: ArgInfo, axis: str, part: str) -> str:
    if axis:
        if axis in arg.choices:
            return axis
        if axis in _VERTICAL_AXES and 'z' in arg.choices:
            return 'z'
    if part and part in arg.choices:
        return part
    return ''
