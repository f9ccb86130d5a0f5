"""Applying a parsed correction to a running plan: which step changes, how, and what to run next.

- adjust: adds the correction's displacement to the ``offset`` argument of the
  current step, or of the next step that takes one ("a bit to the left" while
  picking applies to the place that follows); offsets accumulate and stay within
  ``MAX_OFFSET`` per axis.  The running step is re-run only if it is the one
  that changed.
- reference: grounds the phrase in the scene among objects of the same kind as
  each object argument of the current step, then of later steps ("the blue one"
  while placing into the yellow bowl means the blue bowl; "the other bowl" while
  picking means the place's target), excluding the object now used when the
  correction says "other" or "another", and replaces that object in the
  current and every later step.  The current step is re-run if it changed.

The plan given is not modified; the Amendment holds an amended copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from skill_stack.perception.grounding import describe, ground
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler.binding import find, ref_of
from skill_stack.scheduler.catalog import OFFSET_ARG, SkillCatalog
from skill_stack.scheduler.corrections import Correction
from skill_stack.scheduler.effects import effect
from skill_stack.scheduler.plan import Plan, Step

MAX_OFFSET = 0.3  # m per axis: corrections nudge, they do not re-target across the workspace


@dataclass
class Amendment:
    plan: Plan  # the amended plan (the same steps when nothing changed)
    index: int  # the step to run next
    restart: bool  # stop the running step and run ``index`` again
    changed: bool
    message: str  # a sentence for the person
    already: bool = False  # nothing to change: the plan already does what the correction asks


def amend(plan: Plan, current_index: int, correction: Correction, scene: PerceivedScene, skills: Any) -> Amendment:
    """The plan amended by an adjust or reference correction; other kinds change nothing."""
    catalog = SkillCatalog.of(skills)
    index = min(max(int(current_index), 0), max(len(plan.steps) - 1, 0))
    if not plan.steps:
        return Amendment(plan, current_index, False, False, 'there is no plan to correct')
    if correction.kind == 'adjust':
        return _adjust(plan, index, correction, catalog)
    if correction.kind == 'reference':
        return _reference(plan, index, correction, scene, catalog)
    return Amendment(plan, index, False, False, f'a {correction.kind} correction does not change the plan')


def _adjust(plan: Plan, index: int, correction: Correction, catalog: SkillCatalog) -> Amendment:
    target = next((k for k in range(index, len(plan.steps)) if catalog.takes_offset(plan.steps[k].skill)), None)
    if target is None:
        names = ', '.join(dict.fromkeys(s.skill for s in plan.steps[index:]))
        return Amendment(plan, index, False, False, f'cannot move {_direction(correction)}: no step from here '
                         f'({names}) takes an offset')
    amended = plan.copy()
    step = amended.steps[target]
    old = step.args.get(OFFSET_ARG) or [0.0, 0.0, 0.0]
    new = [round(min(max(float(a) + d, -MAX_OFFSET), MAX_OFFSET), 4) for a, d in zip(old, correction.delta,
                                                                                      strict=True)]
    step.args[OFFSET_ARG] = new
    _, error = catalog.validate(step)
    if error:
        return Amendment(plan, index, False, False, f'cannot apply the offset: {error}')
    where = 'now' if target == index else f'for step {target + 1} ({step.skill})'
    return Amendment(amended, index, target == index, True,
                     f'moving {_direction(correction)} {where}: offset {_vector(new)} m')


def _reference(plan: Plan, index: int, correction: Correction, scene: PerceivedScene,
               catalog: SkillCatalog) -> Amendment:
    choice, problem = _choose(plan.steps[index:], correction, scene, catalog)
    if choice is None:
        return Amendment(plan, index, False, False, problem)
    step, arg, new = choice
    old = step.args[arg]
    if new.id == old:
        return Amendment(plan, index, False, False, f'{step.skill} already uses {describe(new)}', already=True)
    amended = plan.copy()
    for later in amended.steps[index:]:
        for name, value in list(later.args.items()):
            if value == old:
                later.args[name] = new.id
                later.refs[name] = ref_of(new)
    # The running step starts again only when it is the one that changed ("the other bowl" while picking
    # changes the place that follows).
    restart = old in plan.steps[index].args.values()
    return Amendment(amended, index, restart, True, f'using {describe(new)} instead of {_named(step, arg, scene)} '
                     f"as {step.skill}'s {arg}")


def _choose(steps: List[Step], correction: Correction, scene: PerceivedScene, catalog: SkillCatalog
            ) -> Tuple[Optional[Tuple[Step, str, PerceivedObject]], str]:
    """(step, argument, new object) the phrase means, or (None, why not).

    The current step's arguments come first, then those of later steps ("the other bowl" while picking is
    the place's target); in a step, arguments not already held come first (while placing, "the blue one" is
    where, not what).  For each, the phrase is grounded among objects of the same label as the current one
    (leaving out the objects the step and the current step use, when the correction says "other"), then
    among all objects.
    """
    slots = []
    for step in steps:
        held = effect(step.skill).needs_held
        names = [a.name for a in catalog.object_args(step.skill) if step.args.get(a.name)]
        names.sort(key=lambda n: n == held)
        slots += [(step, name) for name in names]
    if not slots:
        return None, f'{steps[0].skill} uses no object to replace'
    current = {steps[0].args[m] for s, m in slots if s is steps[0]}
    messages: List[str] = []
    for same_kind in (True, False):
        for step, name in slots:
            used = current | {step.args[m] for s, m in slots if s is step}
            now = find(scene, step.args[name])
            label = now.label if now is not None else step.refs[name].label if name in step.refs else ''
            pool = [o for o in scene.objects if not (correction.other and o.id in used)
                    and (not same_kind or o.label == label)]
            if not pool:
                continue
            answer = ground(correction.phrase, PerceivedScene(objects=pool))
            if answer.status == 'matched' and len(answer.objects) == 1:
                return (step, name, answer.objects[0]), ''
            messages.append(answer.message)
    return None, messages[-1] if messages else f'nothing else fits "{correction.phrase}"'


def _named(step: Step, arg: str, scene: PerceivedScene) -> str:
    current = find(scene, step.args[arg])
    return describe(current) if current is not None else str(step.args[arg])


def _direction(correction: Correction) -> str:
    return f'{max(abs(v) for v in correction.delta) * 100:.0f} cm {_words(correction.delta)}'


def _words(delta) -> str:
    names = (('forward', 'back'), ('left', 'right'), ('up', 'down'))
    parts = [names[axis][0 if delta[axis] > 0 else 1] for axis in range(3) if abs(delta[axis]) > 1e-9]
    return ' and '.join(parts) or 'nowhere'


def _vector(values) -> str:
    return '[' + ', '.join(f'{v:+.3f}' for v in values) + ']'
