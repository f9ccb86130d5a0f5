"""What skills need and change in the robot's state, and completing a plan with the steps it implies.

A schema says what a skill takes, not what must be true before it runs: that a
place needs the object in the gripper, or that a quadrotor must be flying to fly
somewhere.  This module is that knowledge, kept to a small table of effects by
skill name.  ``complete`` walks a plan while simulating the state, inserts the
steps an instruction leaves implicit (pick before place, take_off before fly_to)
and drops the ones already true (take_off when flying), or says why the plan
cannot run.  Every planner's output and every repaired plan goes through it, so
even a model's plan only runs when it is consistent.  A skill not in the table
has no preconditions.  ``settle`` moves an object a step leaves at a table spot,
so the steps after it are scored in the scene it leaves (a swap's spots free up);
``flown`` keeps where a flight leaves the vehicle, where a flight relative to it
("fly 2 m to the left", "return home") starts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.binding import find
from skill_stack.scheduler.catalog import OFFSET_ARG, SkillCatalog
from skill_stack.scheduler.plan import RobotState, Step
from skill_stack.scheduler.relative import standing_at


@dataclass(frozen=True)
class Effect:
    acquires: str = ''  # the object argument the skill takes hold of (needs an empty gripper)
    needs_held: str = ''  # the object argument that must already be held
    needs_empty: bool = False  # the gripper or hand must hold nothing
    releases: bool = False  # afterwards nothing is held
    needs_airborne: Optional[bool] = None  # True: must be flying; False: must be on the ground
    airborne: Optional[bool] = None  # flying afterwards (None: unchanged)
    leaves_at: str = ''  # the point argument where the held object is left standing (a spot on the table)
    # Where a flight leaves the vehicle: at its point argument, else above its object argument's top, else
    # where it was; ``height`` (a number argument) above that object's top, or the world z of a climb.
    goes_to: str = ''
    goes_above: str = ''
    height: str = ''


EFFECTS = {
    'pick': Effect(acquires='object'),
    'grasp': Effect(acquires='object'),
    'place': Effect(needs_held='object', releases=True, leaves_at='point'),
    'release': Effect(releases=True),
    'rotate': Effect(needs_held='object'),
    'push': Effect(needs_empty=True),
    'take_off': Effect(needs_airborne=False, airborne=True, height='height'),
    'fly_to': Effect(needs_airborne=True, goes_to='point', goes_above='target', height='height'),
    'hover': Effect(needs_airborne=True),
    'land': Effect(needs_airborne=True, airborne=False, goes_to='point', goes_above='target'),
}
NO_EFFECT = Effect()


def effect(skill: str) -> Effect:
    return EFFECTS.get(skill, NO_EFFECT)


def apply(step: Step, state: RobotState) -> RobotState:
    """The state after ``step`` succeeded."""
    e = effect(step.skill)
    if e.acquires:
        state = replace(state, holding=step.args.get(e.acquires))
    if e.releases:
        state = replace(state, holding=None)
    if e.airborne is not None:
        state = replace(state, airborne=e.airborne)
    return state


def flown(step: Step, state: RobotState, scene: PerceivedScene, catalog: SkillCatalog) -> RobotState:
    """``apply``, and where the step leaves a flying robot (world frame) as far as a plan can know it: take_off
    climbs straight up to its height, fly_to ends at its point or its height above its target's top, land
    sets down on its target or on the ground under its point (or where it was), each shifted by its offset;
    other skills leave the robot where it was.  Relative flights ("fly 2 m to the left") start from here."""
    e = effect(step.skill)
    after = apply(step, state)
    if not (e.goes_to or e.goes_above or e.height):
        return after
    args = catalog.validate(step)[0] or step.args
    point = np.array(state.position, float)
    landmark = find(scene, args[e.goes_above]) if args.get(e.goes_above) is not None else None
    height = float(args.get(e.height) or 0.0)
    if landmark is not None:
        top = landmark.keypoint('top')
        point = np.array(top.position if top is not None else landmark.position, float)
        point[2] += height
    elif e.goes_to and args.get(e.goes_to) is not None:
        point = np.array(args[e.goes_to], float)
    elif e.height:
        point[2] = height  # a climb: world z, above the take-off ground
    shift = np.asarray(args.get(OFFSET_ARG) or (0.0, 0.0, 0.0), float)
    point = point + shift
    if e.airborne is False:  # a landing ends on the surface: its target's top, else the ground
        point[2] = point[2] - shift[2] if landmark is not None else 0.0
    return replace(after, position=tuple(round(float(v), 4) + 0.0 for v in point))


def settle(step: Step, scene: PerceivedScene) -> PerceivedScene:
    """The scene after ``step``, as far as a plan can know it: an object left at a table spot stands there (its
    old spot is free, its new one taken); what other steps do to objects is not known until they run."""
    e = effect(step.skill)
    point = step.args.get(e.leaves_at) if e.leaves_at else None
    if point is None:
        return scene
    point = np.asarray(point, float) + np.asarray(step.args.get(OFFSET_ARG) or (0.0, 0.0, 0.0), float)
    moved = step.args.get(e.needs_held)
    return replace(scene, objects=[standing_at(o, point) if o.id == moved else o for o in scene.objects])


def check(step: Step, state: RobotState) -> str:
    """'' if the step can run in ``state``, else why not (used to keep model candidates valid)."""
    e = effect(step.skill)
    held = step.args.get(e.needs_held) if e.needs_held else None
    if e.needs_held and state.holding != held:
        return f'{step.skill} needs {held} in hand' + (f', not {state.holding}' if state.holding else '')
    if (e.acquires or e.needs_empty) and state.holding is not None:
        return f'{step.skill} needs an empty {_holder(state)}; it holds {state.holding}'
    if e.needs_airborne is not None and e.needs_airborne != state.airborne:
        return f"{step.skill} needs the robot {'flying' if e.needs_airborne else 'on the ground'}"
    return ''


def _holder(state: RobotState) -> str:
    return 'hand' if state.embodiment == 'hand' else 'gripper'


def _provider(catalog: SkillCatalog, embodiment: str, wanted: str) -> Optional[str]:
    """The robot's skill that acquires an object ('acquires') or takes off ('airborne')."""
    for name in catalog.names(embodiment):
        e = effect(name)
        if (wanted == 'acquires' and e.acquires) or (wanted == 'airborne' and e.airborne):
            return name
    return None


def complete(steps: List[Step], state: RobotState, catalog: SkillCatalog
             ) -> Tuple[Optional[List[Step]], str, List[str], RobotState]:
    """(steps with implicit ones inserted, '', notes, final state) or (None, why not, notes, state)."""
    out: List[Step] = []
    notes: List[str] = []
    for step in steps:
        e = effect(step.skill)
        if (e.needs_airborne is False and state.airborne) or (
                e.airborne is False and not state.airborne and not any(v is not None for v in step.args.values())):
            notes.append(f"already {'flying' if state.airborne else 'on the ground'}: {step.describe()} skipped")
            continue
        if e.needs_airborne is True and not state.airborne:
            take_off = _provider(catalog, state.embodiment, 'airborne')
            if take_off is None:
                return None, f'{step.skill} needs the robot flying and it has no skill to take off', notes, state
            out.append(Step(take_off, {}, robot=step.robot, confidence=step.confidence, source='implicit'))
            state = replace(state, airborne=True)
        if e.acquires and state.holding is not None:
            if state.holding == step.args.get(e.acquires):
                notes.append(f'already holding {state.holding}: {step.describe()} skipped')
                continue
            return None, (f'the {_holder(state)} already holds {state.holding}; say where to put it before '
                          f'{step.describe()}'), notes, state
        if e.needs_held:
            wanted = step.args.get(e.needs_held)
            if state.holding not in (None, wanted):
                return None, (f'{step.describe()} needs {wanted} in the {_holder(state)}, which holds '
                              f'{state.holding}; put that down first'), notes, state
            if state.holding is None:
                acquire = _provider(catalog, state.embodiment, 'acquires')
                if acquire is None:
                    return None, f'{step.describe()} needs {wanted} held and the robot cannot pick it up', notes, state
                arg = effect(acquire).acquires
                refs = {arg: step.refs[e.needs_held]} if e.needs_held in step.refs else {}
                out.append(Step(acquire, {arg: wanted}, robot=step.robot, confidence=step.confidence,
                                source='implicit', refs=refs))
                state = replace(state, holding=wanted)
        if e.needs_empty and state.holding is not None:
            return None, (f'{step.describe()} needs an empty {_holder(state)}, which holds {state.holding}; '
                          'say where to put it first'), notes, state
        out.append(step)
        state = apply(step, state)
    return out, '', notes, state
