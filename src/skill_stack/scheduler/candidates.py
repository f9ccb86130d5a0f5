"""Every step the robot could take next: the space a model planner chooses in, so it can only choose valid steps.

A candidate is a skill of the robot with object arguments drawn from the scene,
numbers from the schema's default, the hints (the embedded planner's parse of
the instruction) or a few typical values, and it is kept only if it validates
against the schema, suits the robot's state (``effects.check``: no place of an
object not held, no fly_to on the ground) and is feasible in the scene.  The
hints themselves are always candidates when they are valid here.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.binding import find, ref_of
from skill_stack.scheduler.catalog import OBJECT_KINDS, ArgInfo, SkillCatalog
from skill_stack.scheduler.effects import check, effect
from skill_stack.scheduler.plan import RobotState, Step

MAX_PER_SKILL = 64
_TYPICAL = {'length': (0.05, 0.1), 'time': (2.0,)}
_DIRECTIONS = (0.0, 90.0, 180.0, -90.0)  # forward, left, back, right
_ANGLES = (90.0, -90.0)


def key(step: Step) -> Tuple[str, str]:
    """Identity of a step for comparing candidates: the skill and its arguments, None dropped."""
    return step.skill, json.dumps({k: v for k, v in step.args.items() if v is not None}, sort_keys=True)


def next_steps(catalog: SkillCatalog, scene: PerceivedScene, state: RobotState,
               hints: Sequence[Step] = ()) -> List[Step]:
    """Valid, feasible candidate steps for ``state`` in ``scene``, hints first, without duplicates."""
    out: Dict[Tuple[str, str], Step] = {}
    own = catalog.names(state.embodiment)
    proposals = [h.copy(status='pending', message='') for h in hints if h.skill in own]
    for name in own:
        proposals += itertools.islice(_proposals(catalog, name, scene, state, hints), MAX_PER_SKILL)
    for step in proposals:
        if key(step) in out or check(step, state):
            continue
        if catalog.assess(step, scene).feasibility > 0.0:
            step.robot = state.embodiment
            out[key(step)] = step
    return list(out.values())


def _proposals(catalog: SkillCatalog, name: str, scene: PerceivedScene, state: RobotState,
               hints: Sequence[Step]) -> Iterable[Step]:
    options = [_options(arg, name, scene, state, [h for h in hints if h.skill == name])
               for arg in catalog.args(name)]
    names = [arg.name for arg in catalog.args(name)]
    for values in itertools.product(*options):
        args = {n: list(v) if isinstance(v, tuple) else v for n, v in zip(names, values, strict=True) if v is not None}
        ids = [args[a.name] for a in catalog.object_args(name) if a.name in args]
        if len(ids) != len(set(ids)):
            continue
        refs = {a.name: ref_of(obj) for a in catalog.object_args(name)
                for obj in [find(scene, args.get(a.name, ''))] if obj is not None}
        yield Step(name, args, robot=state.embodiment, source='candidate', refs=refs)


def _options(arg: ArgInfo, skill: str, scene: PerceivedScene, state: RobotState, hints: Sequence[Step]) -> List[Any]:
    hinted = [h.args[arg.name] for h in hints if h.args.get(arg.name) is not None]
    if arg.kind in OBJECT_KINDS:
        if effect(skill).needs_held == arg.name:
            return [state.holding] if state.holding else []
        objects: List[Optional[str]] = [o.id for o in scene.objects]
        return objects + ([] if arg.required else [None])
    if arg.kind == 'number' and arg.required and arg.default is None:
        if arg.name == 'direction' and arg.dimension == 'angle':
            typical: Sequence[float] = _DIRECTIONS
        elif arg.dimension == 'angle':
            typical = _ANGLES
        else:
            typical = _TYPICAL.get(arg.dimension, ())
        values = [*hinted, *(arg.clip(arg.from_base(v)) for v in typical)]
        return list(dict.fromkeys(values)) or [arg.clip(0.0)]
    return list(dict.fromkeys([None, *(_hashable(v) for v in hinted)]))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
