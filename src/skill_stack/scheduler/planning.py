"""The planner interface, what every backend shares, and selecting a backend by name.

    planner = make_planner('embedded')            # or 'vlm' / 'http' with their config
    result = planner.plan(instruction, scene, skills, robot)
    if result.ok: run result.plan.steps  else: tell the person result.reason

``skills`` is ``skills.library.skills()`` (or a ``SkillCatalog``); ``robot`` is a
``RobotState`` or just an embodiment name.  Every backend checks the input the
same way (``check_instruction``) and passes its steps through ``finalize``:
schema validation, implicit steps (``effects.complete``) and SayCan scoring, so
whatever produced the steps, the plan that comes out is valid for the robot and
the scene, or not ok with a reason.  Planners never raise on bad input.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, List, Optional, Protocol, Sequence

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.effects import complete, settle
from skill_stack.scheduler.plan import Plan, PlanResult, RobotState, Step

MAX_INSTRUCTION_CHARS = 2000
MIN_FEASIBILITY = 0.05  # a step the skill rates below this is one the robot cannot do now
PLANNERS = ('embedded', 'vlm', 'http')


class Planner(Protocol):
    name: str

    def plan(self, instruction: str, scene: PerceivedScene, skills: Any, robot: Any,
             image: Optional[np.ndarray] = None) -> PlanResult:
        """A plan for ``instruction`` in ``scene`` with ``skills`` for ``robot`` (``image``: the camera's RGB,
        for planners that look), or ok=False and why."""


def make_planner(name: str = 'embedded', **config: Any) -> Planner:
    """The backend called ``name``; model backends import their frameworks only here, when selected."""
    if name == 'embedded':
        from skill_stack.scheduler.embedded import EmbeddedPlanner

        return EmbeddedPlanner(**config)
    if name == 'vlm':
        from skill_stack.scheduler.vlm import VlmPlanner

        return VlmPlanner(**config)
    if name == 'http':
        from skill_stack.scheduler.http_planner import HttpPlanner

        return HttpPlanner(**config)
    raise ValueError(f"planner must be one of {', '.join(PLANNERS)}, got {name!r}")


def as_state(robot: Any) -> RobotState:
    """A RobotState from a RobotState, an embodiment name, or None (the arm)."""
    if isinstance(robot, RobotState):
        return robot
    return RobotState(embodiment=str(robot or 'arm'))


def check_instruction(instruction: Any, max_chars: int = MAX_INSTRUCTION_CHARS) -> Optional[str]:
    """Why the instruction cannot be planned at all (empty, too long, not text), or None."""
    if not isinstance(instruction, str):
        return f'the instruction must be text, got {type(instruction).__name__}'
    if not instruction.strip():
        return 'the instruction is empty: say what to do, e.g. "put the red cube in the bowl"'
    if len(instruction) > max_chars:
        return f'the instruction is {len(instruction)} characters long; the limit is {max_chars}'
    return None


def check_scene(scene: Any) -> Optional[str]:
    if not isinstance(scene, PerceivedScene):
        return f'no scene to plan in (got {type(scene).__name__})'
    return None


def skill_list(catalog: SkillCatalog, embodiment: str) -> str:
    return ', '.join(catalog.names(embodiment)) or 'none'


def finalize(steps: Sequence[Step], scene: PerceivedScene, state: RobotState, catalog: SkillCatalog, *,
             instruction: str = '', planner: str = '', notes: Sequence[str] = (),
             min_feasibility: float = MIN_FEASIBILITY) -> PlanResult:
    """Validate the steps against the robot's skills, add implicit steps, score them (SayCan), or say why not."""
    notes = list(notes)
    if not steps:
        return PlanResult.failure('the plan has no steps', planner, notes)
    own = set(catalog.names(state.embodiment))
    checked: List[Step] = []
    for step in steps:
        if step.skill not in own:
            return PlanResult.failure(f"the {state.embodiment} has no skill '{step.skill}' (it has "
                                      f'{skill_list(catalog, state.embodiment)})', planner, notes)
        _, error = catalog.validate(step)
        if error:
            return PlanResult.failure(error, planner, notes)
        checked.append(replace(step, robot=state.embodiment))
    completed, error, more, _ = complete(checked, state, catalog)
    notes += more
    if completed is None:
        return PlanResult.failure(error, planner, notes)
    if not completed:
        return PlanResult(ok=True, plan=Plan([], instruction, state.name), reason='nothing to do: ' + '; '.join(more),
                          planner=planner, notes=notes)
    for step in completed:  # each in the scene the steps before it leave (a swap's spots free up)
        catalog.assess(step, scene)
        if step.feasibility < min_feasibility:
            return PlanResult.failure(f'cannot {step.describe()}: {step.why}', planner, notes)
        scene = settle(step, scene)
    return PlanResult(ok=True, plan=Plan(completed, instruction, state.name), planner=planner, notes=notes)
