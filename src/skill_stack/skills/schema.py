"""Typed skill arguments: what a planner may pass to a skill, checked before anything moves.

A skill declares its arguments as ``ArgSpec``s; ``validate_args`` turns a JSON
object (what ``ExecuteSkill`` carries) into typed values with defaults, or
raises ``SkillArgumentError`` naming the argument and the problem.
"""

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

ARG_KINDS = ('object', 'keypoint', 'number', 'point', 'choice', 'text')


class SkillArgumentError(ValueError):
    """A goal that does not fit the skill's schema; the message names the argument."""


@dataclass(frozen=True)
class ArgSpec:
    """One argument. ``object``: a phrase or object id that perception grounds; ``keypoint``:
    an object plus a part ("rim of the blue bowl"); ``number``: a float with bounds and a unit;
    ``point``: [x, y, z] in the robot frame; ``choice``: one of ``choices``; ``text``: free text."""

    name: str
    kind: str
    description: str
    required: bool = True
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    unit: str = ''
    choices: Tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in ARG_KINDS:
            raise ValueError(f"argument '{self.name}': kind must be one of {ARG_KINDS}, got '{self.kind}'")

    def describe(self) -> Dict[str, Any]:
        """JSON-ready description, for the skill list a planner reads."""
        out: Dict[str, Any] = {'name': self.name, 'kind': self.kind, 'description': self.description,
                               'required': self.required}
        for key in ('default', 'minimum', 'maximum'):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.unit:
            out['unit'] = self.unit
        if self.choices:
            out['choices'] = list(self.choices)
        return out


def validate_args(skill: str, specs: Sequence[ArgSpec], args: Any) -> Dict[str, Any]:
    """Typed arguments with defaults filled in; SkillArgumentError names the bad argument."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise SkillArgumentError(f"{skill}: arguments must be a JSON object, got {type(args).__name__}")
    known = {s.name for s in specs}
    unknown = sorted(set(args) - known)
    if unknown:
        raise SkillArgumentError(f"{skill}: unknown argument(s) {unknown}; {skill} takes {sorted(known) or 'none'}")
    out: Dict[str, Any] = {}
    for spec in specs:
        if spec.name not in args or args[spec.name] is None:
            if spec.required:
                raise SkillArgumentError(f"{skill}: missing argument '{spec.name}' ({spec.description})")
            out[spec.name] = spec.default
            continue
        out[spec.name] = _check(skill, spec, args[spec.name])
    return out


def _check(skill: str, spec: ArgSpec, value: Any) -> Any:
    where = f"{skill}: argument '{spec.name}'"
    if spec.kind in ('object', 'keypoint', 'text'):
        if not isinstance(value, str) or not value.strip():
            raise SkillArgumentError(f'{where} must be a non-empty string, got {value!r}')
        return value.strip()
    if spec.kind == 'choice':
        if value not in spec.choices:
            raise SkillArgumentError(f'{where} must be one of {list(spec.choices)}, got {value!r}')
        return value
    if spec.kind == 'number':
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SkillArgumentError(f'{where} must be a finite number, got {value!r}')
        if spec.minimum is not None and value < spec.minimum:
            raise SkillArgumentError(f'{where} is {value} {spec.unit}, below the minimum {spec.minimum} {spec.unit}')
        if spec.maximum is not None and value > spec.maximum:
            raise SkillArgumentError(f'{where} is {value} {spec.unit}, above the maximum {spec.maximum} {spec.unit}')
        return float(value)
    # point
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise SkillArgumentError(f'{where} must be [x, y, z] in metres, got {value!r}')
    return [float(v) for v in value]
