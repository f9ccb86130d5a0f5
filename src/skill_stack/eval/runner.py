"""Running scenarios on a stack: reset to the scenario's scene, send the task, judge the ground truth.

The runner talks to a *client* with the ``nodes.task_client.TaskClient`` methods it needs (``reset``,
``world``, ``run``), so it is plain Python and unit-tested with a fake; ``stack.launched_stack`` gives the
real one.  One stack per embodiment serves all its scenarios (starting one takes far longer than a reset).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, Optional, Sequence

from skill_stack.eval.conditions import evaluate
from skill_stack.eval.scenario import Scenario

SETTLE_AFTER_S = 0.5  # objects let go of are still falling when the task reports
# Embodiments whose stack carries state across sim resets, so each scenario gets a stack of its own: the
# quadrotor's scheduler remembers the field it surveyed (scheduler/field.py) under perception's ids, and
# after a reset those ids name other objects.
FRESH_STACK_EMBODIMENTS = ('quadrotor',)

# (embodiment, first scene file, a name for its log) -> a context holding a ready client for that stack
StackFactory = Callable[[str, Path, str], ContextManager[Any]]
Progress = Callable[[str], None]


@dataclass
class ScenarioResult:
    """One scenario's outcome: the verdict, why, and everything a failure report needs."""

    name: str
    category: str
    embodiment: str
    source: str
    instruction: str
    corrections: List[List[Any]]
    expected_success: bool
    passed: bool = False
    success: Optional[bool] = None  # what the task reported; None when it never ran
    reason: str = ''
    message: str = ''
    plan: List[Dict[str, Any]] = field(default_factory=list)
    checks: List[Dict[str, Any]] = field(default_factory=list)
    timings: Dict[str, Optional[float]] = field(default_factory=dict)
    timed_out: bool = False
    wall_s: float = 0.0
    world_before: Dict[str, Any] = field(default_factory=dict)  # the ground truth judged, for a failure's post-mortem
    world_after: Dict[str, Any] = field(default_factory=dict)
    family: str = ''
    cause: str = ''  # of a failure: one of report.CAUSES

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _blank(scenario: Scenario) -> ScenarioResult:
    return ScenarioResult(name=scenario.name, category=scenario.category, embodiment=scenario.embodiment,
                          source=scenario.source, instruction=scenario.instruction,
                          corrections=[[at, text] for at, text in scenario.corrections],
                          expected_success=scenario.expect_success, family=scenario.family or scenario.category)


def judge(scenario: Scenario, result: ScenarioResult, before: Dict[str, Any], after: Optional[Dict[str, Any]]
          ) -> ScenarioResult:
    """Pass when the task's success is the expected one and every condition holds; the reason says what not."""
    checks = evaluate(scenario.conditions, before, after)
    result.world_before, result.world_after = before, after or {}
    result.checks = [c.to_dict() for c in checks]
    problems = []
    if result.success != scenario.expect_success:
        said = 'succeeded' if result.success else 'failed'
        problems.append(f'expected the task to {"succeed" if scenario.expect_success else "fail"}, it {said}: '
                        f'{result.message}')
    problems += [f'{c.name}: {c.detail}' for c in checks if not c.ok]
    result.passed = not problems
    result.reason = '; '.join(problems)
    return result


def run_scenario(client: Any, scenario: Scenario, scene_path: Path, settle_after_s: float = SETTLE_AFTER_S
                 ) -> ScenarioResult:
    """Reset the sim to the scenario's scene, run the task, judge it.  Errors of the stack fail the scenario
    with their message rather than ending the suite."""
    result = _blank(scenario)
    start = time.monotonic()
    try:
        scenario.write_scene(scene_path)
        client.reset(str(scene_path))
        before = client.world()
        outcome = client.run(scenario.instruction, corrections=scenario.corrections, timeout_s=scenario.timeout_s,
                             read_world=False)
        result.success, result.message, result.plan = bool(outcome.success), outcome.message, list(outcome.plan)
        result.timings, result.timed_out = dict(outcome.timings), bool(outcome.timed_out)
        time.sleep(settle_after_s)
        after = client.world()
    except (RuntimeError, TimeoutError, OSError, ValueError) as err:
        result.reason = f'the scenario could not run: {err}'
        result.wall_s = round(time.monotonic() - start, 3)
        return result
    judge(scenario, result, before, after)
    result.wall_s = round(time.monotonic() - start, 3)
    return result


def run_suite(scenarios: Sequence[Scenario], stack: StackFactory, work_dir: Path,
              progress: Progress = lambda line: None, into: Optional[List[ScenarioResult]] = None,
              fresh: Sequence[str] = FRESH_STACK_EMBODIMENTS) -> List[ScenarioResult]:
    """Every scenario, grouped by embodiment, each group on one stack started for it and stopped after it
    (one stack per scenario for the embodiments in ``fresh``).  Results are appended to ``into`` as they
    come, so an interrupted run still has those that finished."""
    work_dir.mkdir(parents=True, exist_ok=True)
    results: List[ScenarioResult] = [] if into is None else into
    groups: List[List[Scenario]] = []
    for embodiment in dict.fromkeys(s.embodiment for s in scenarios):
        mine = [s for s in scenarios if s.embodiment == embodiment]
        groups += [[s] for s in mine] if embodiment in fresh else [mine]
    total, done = len(scenarios), 0
    for group in groups:
        embodiment = group[0].embodiment
        label = group[0].name if embodiment in fresh else embodiment
        first_scene = group[0].write_scene(work_dir / f'{embodiment}_start_scene.yaml')
        progress(f'starting the {embodiment} stack for {len(group)} scenario(s) ...')
        started = time.monotonic()
        with contextlib.ExitStack() as hold:
            try:
                client = hold.enter_context(stack(embodiment, first_scene, label))
            except (RuntimeError, TimeoutError, OSError) as err:
                progress(f'the {embodiment} stack did not start: {err}')
                for scenario in group:
                    result = _blank(scenario)
                    result.reason = f'the {embodiment} stack did not start: {err}'
                    results.append(result)
                done += len(group)
                continue
            progress(f'{embodiment} stack ready in {time.monotonic() - started:.0f} s')
            for scenario in group:
                done += 1
                result = run_scenario(client, scenario, work_dir / f'{embodiment}_scene.yaml')
                results.append(result)
                verdict = 'PASS' if result.passed else 'FAIL'
                line = f'{done}/{total} {scenario.name} {verdict} {result.wall_s:.1f} s'
                progress(line if result.passed else f'{line}: {result.reason}')
    return results
