"""Closed-loop execution of a plan with re-planning and live corrections, free of ROS.

    runner = TaskRunner(make_planner('embedded'), skills(), execute_step=..., observe=...,
                        robot_state=..., feedback=..., log=CorrectionLog(path))
    result = runner.run('put the red cube in the bowl')      # blocks; one task at a time
    runner.correct('a bit to the left')                        # from any other thread, any time
    runner.cancel()                                            # the action's cancel

Injected callables (the ROS node supplies them):

- ``execute_step(step, stop_event) -> (success, message)``: run one skill to the end; return
  promptly once ``stop_event`` is set (cancel the ExecuteSkill goal).
- ``observe() -> PerceivedScene``: the latest scene; called before planning and after each step.
- ``robot_state() -> RobotState``: the robot's state.  What succeeded steps did (held object,
  flying) is tracked here too, since a node rarely knows what the gripper holds; after a failure
  the runner trusts ``robot_state()`` again.
- ``feedback(plan, index, state, text)`` (optional): state is planning, awaiting_approval,
  executing, replanning or done.  Called from the run thread, and from the correcting thread for
  the acknowledgement of a correction (calls never overlap).
- ``approve(plan, cancel_event) -> bool`` (optional): asked before execution.
- ``image() -> RGB array or None`` (optional): given to the planner and saved with each logged correction.
- ``fault() -> str or None`` (optional): the robot's driver fault now (a lost link, a device fault), as a
  sentence. A task does not start while there is one, and a step that fails while there is one ends the task
  with it at once: re-planning cannot help a robot that is not there, and would keep commanding it.

Threading: ``run`` executes in the caller's thread (the action's execute callback) and blocks.
``correct`` and ``cancel`` may be called from any thread; they take the runner's lock, change
its state and set the running step's stop event, and never wait for the step.  A pause stops the
step and waits in ``run`` until resume (or cancel); the stopped step is run again from its start.
An adjust or re-reference amends the plan (``amend.amend``) and, if the running step changed,
stops it and re-issues the amended step at once, with no re-observation in between.  A
correction with no task running is acknowledged and ignored.  A step that fails triggers
re-planning of the rest from a fresh scene (rebinding objects, re-inserting implicit steps) at
most ``max_replans`` times, unless ``fault()`` names a driver fault.  Exceptions raised by the callables
propagate out of ``run``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.amend import amend
from skill_stack.scheduler.binding import rebind
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.correction_log import CorrectionLog, CorrectionRecord, intervention, scene_objects
from skill_stack.scheduler.corrections import Correction, parse_correction
from skill_stack.scheduler.effects import apply
from skill_stack.scheduler.plan import Plan, PlanResult, RobotState, Step
from skill_stack.scheduler.planning import Planner, as_state, finalize

ExecuteStep = Callable[[Step, threading.Event], Tuple[bool, str]]
Feedback = Callable[[Plan, int, str, str], None]


@dataclass
class TaskResult:
    success: bool
    message: str
    steps: List[Step] = field(default_factory=list)  # every step run, each attempt with its outcome
    plan: Plan = field(default_factory=Plan)  # the plan as it ended, statuses included


@dataclass
class CorrectionAck:
    """What ``correct`` did: ``outcome`` is one of correction_log.OUTCOMES."""

    correction: Correction
    outcome: str
    message: str

    @property
    def accepted(self) -> bool:
        return self.outcome in ('paused', 'resumed', 'cancelled', 'amended')


class TaskRunner:
    def __init__(self, planner: Planner, skills: Any, *, execute_step: ExecuteStep,
                 observe: Callable[[], PerceivedScene], robot_state: Callable[[], Any],
                 feedback: Optional[Feedback] = None,
                 approve: Optional[Callable[[Plan, threading.Event], bool]] = None, max_replans: int = 2,
                 log: Optional[CorrectionLog] = None, image: Optional[Callable[[], Optional[np.ndarray]]] = None,
                 fault: Optional[Callable[[], Optional[str]]] = None):
        if max_replans < 0:
            raise ValueError(f'max_replans must be >= 0, got {max_replans}')
        self.planner, self.catalog = planner, SkillCatalog.of(skills)
        self._execute, self._observe, self._robot_state = execute_step, observe, robot_state
        self._feedback_fn, self._approve, self._image = feedback, approve, image
        self._fault = fault if fault is not None else (lambda: None)
        self.max_replans, self.log = int(max_replans), log
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._feedback_lock = threading.Lock()
        self._active = False
        self._reset('', '')

    def _reset(self, instruction: str, robot: str) -> None:
        self._instruction, self._robot = instruction, robot
        self._plan = Plan(instruction=instruction, robot=robot)
        self._index = -1
        self._state = 'idle'
        self._scene: Optional[PerceivedScene] = None
        self._paused = self._cancelled = False
        self._cancel_event = threading.Event()
        self._stop: Optional[threading.Event] = None  # set while a step runs
        self._interrupt = ''  # why the running step was stopped: pause, amend, cancel
        self._belief: Optional[RobotState] = None  # the state our succeeded steps left the robot in
        self._planned_state = RobotState()  # the state the current plan was made for
        self._executed: List[Step] = []

    @property
    def active(self) -> bool:
        with self._lock:
            return self._active

    # -- the task --------------------------------------------------------------------------------
    def run(self, instruction: str, robot: str = '') -> TaskResult:
        """Plan, (approve,) execute, re-plan on failure; the result says how it ended.  One task at a time."""
        with self._lock:
            if self._active:
                raise RuntimeError('a task is already running; cancel it first')
            self._reset(instruction, robot)
            self._active = True
        try:
            result = self._run()
            self._emit('done', result.message, result.plan, self._index)
            return result
        finally:
            with self._lock:
                self._active, self._stop, self._state = False, None, 'idle'

    def _run(self) -> TaskResult:
        fault = self._fault()
        if fault:
            return self._finish(False, f'cannot start: {fault}')
        self._set_state('planning', f'planning "{self._instruction}"')
        scene, state = self._observe(), self._current_state()
        image = self._image() if self._image is not None else None
        result = self.planner.plan(self._instruction, scene, self.catalog, state, image=image)
        with self._lock:
            self._scene, self._planned_state = scene, state
            if result.ok:
                self._plan = result.plan
                self._plan.robot = self._robot
        if not result.ok:
            return self._finish(False, f'could not plan: {result.reason}')
        if not result.plan.steps:
            return self._finish(True, result.reason or 'nothing to do')
        if self._approve is not None:
            self._set_state('awaiting_approval', f'plan: {result.plan.describe()}')
            if not self._approve(result.plan.copy(), self._cancel_event):
                return self._finish(False, 'cancelled' if self._cancel_event.is_set() else 'the plan was not approved')
        with self._lock:
            self._index = 0
        replans = 0
        while True:
            with self._lock:
                while self._paused and not self._cancelled:
                    self._wake.wait()
                if self._cancelled:
                    break
                if self._index >= len(self._plan.steps):
                    return self._result(True, f'done: {self._plan.describe()}')
                step = self._plan.steps[self._index]
                step.status, step.message = 'running', ''
                stop = self._stop = threading.Event()
                self._interrupt, self._state = '', 'executing'
                index, total = self._index, len(self._plan.steps)
            self._emit('executing', f'step {index + 1}/{total}: {step.describe()}')
            attempt = step.copy()
            ok, message = self._execute(attempt, stop)
            with self._lock:
                self._stop = None
                outcome = self._after_step(attempt, ok, message)
            if outcome == 'succeeded':
                problem = self._refresh()
                if not problem:
                    continue
                ok, message = False, problem
            elif outcome != 'failed':
                continue  # stopped to pause, cancel or re-run amended: the loop head decides
            elif fault := self._fault():
                return self._finish(False, f'{fault}; not re-planned (reconnect the driver, then send the goal again)')
            if replans >= self.max_replans:
                return self._finish(False, f'{message}; gave up after {replans} re-plan(s)')
            replans += 1
            self._set_state('replanning', f'{message}; re-planning ({replans}/{self.max_replans})')
            repaired = self._replan()
            if not repaired.ok:
                return self._finish(False, f'{message}; re-planning failed: {repaired.reason}')
        with self._lock:
            for rest in self._plan.steps[max(self._index, 0):]:
                if rest.status in ('pending', 'running'):
                    rest.status = 'cancelled'
            return self._result(False, 'cancelled')

    def _after_step(self, attempt: Step, ok: bool, message: str) -> str:
        """Record the attempt (under the lock): 'succeeded', 'failed' or 'stopped'."""
        step = self._plan.steps[self._index]  # the plan's copy: an amendment may have replaced it
        interrupt, self._interrupt = self._interrupt, ''
        if interrupt and not (interrupt == 'cancel' and ok):
            self._executed.append(attempt.copy(status='cancelled', message=f'stopped ({interrupt}): {message}'))
            step.status, step.message = ('cancelled' if interrupt == 'cancel' else 'pending'), ''
            return 'stopped'
        step.status, step.message = ('succeeded' if ok else 'failed'), message
        self._executed.append(step.copy())
        if not ok:
            self._belief = None
            return 'failed'
        self._belief = apply(step, self._belief or self._planned_state)
        self._index += 1
        return 'succeeded'

    def _current_state(self) -> RobotState:
        state = as_state(self._robot_state())
        belief = self._belief
        return state if belief is None else replace(state, holding=belief.holding, airborne=belief.airborne)

    def _refresh(self) -> str:
        """Re-observe after a step and rebind the remaining steps to the new scene; a problem sentence or ''."""
        scene = self._observe()
        with self._lock:
            self._scene = scene
            keep = [self._belief.holding] if self._belief is not None and self._belief.holding else []
            rest, problems, mapping = rebind(self._plan.steps[self._index:], scene, keep)
            self._plan.steps[self._index:] = rest
            if self._belief is not None and self._belief.holding in mapping:
                self._belief = replace(self._belief, holding=mapping[self._belief.holding])
        return '; '.join(problems)

    def _replan(self) -> PlanResult:
        """The remaining steps again, for the scene and robot as they are now."""
        scene, state = self._observe(), self._current_state()
        with self._lock:
            self._scene = scene
            done = [s for s in self._plan.steps[:self._index] if s.status == 'succeeded']
            rest = [s.copy(status='pending', message='') for s in self._plan.steps[self._index:]]
            keep = [state.holding] if state.holding else []
            rest, problems, _ = rebind(rest, scene, keep)
            if problems:
                return PlanResult.failure('; '.join(problems))
            result = finalize(rest, scene, state, self.catalog, instruction=self._instruction, planner='replan')
            self._planned_state = state
            if result.ok:
                self._plan = Plan(done + result.plan.steps, self._instruction, self._robot)
                self._index = len(done)
            return result

    def _finish(self, success: bool, message: str) -> TaskResult:
        with self._lock:
            return self._result(success, message)

    def _result(self, success: bool, message: str) -> TaskResult:
        """The task's result (under the lock); steps not reached are skipped when it failed."""
        if not success:
            for rest in self._plan.steps[max(self._index, 0):]:
                if rest.status == 'pending':
                    rest.status = 'skipped'
        self._state = 'done'
        return TaskResult(success, message, list(self._executed), self._plan.copy())

    # -- feedback ------------------------------------------------------------------------------------
    def _set_state(self, state: str, text: str) -> None:
        with self._lock:
            self._state = state
        self._emit(state, text)

    def _emit(self, state: str, text: str, plan: Optional[Plan] = None, index: Optional[int] = None) -> None:
        if self._feedback_fn is None:
            return
        if plan is None:
            with self._lock:
                plan, index = self._plan.copy(), self._index
        with self._feedback_lock:
            self._feedback_fn(plan, index, state, text)

    # -- corrections ---------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the running task (the action's cancel request); nothing happens when none runs."""
        with self._lock:
            if self._active:
                self._cancel_locked()

    def _cancel_locked(self) -> None:
        self._cancelled, self._paused = True, False
        self._cancel_event.set()
        self._interrupt_step('cancel')
        self._wake.notify_all()

    def _hold_for(self, outcome: str, why: str) -> Tuple[str, str, None]:
        """A correction that cannot be understood or applied pauses the task (under the lock): the old plan must
        not run on to a reported success as if nothing had been said. The operator rephrases, says "continue"
        to go on as planned, or "cancel"."""
        if not self._paused:
            self._paused = True
            self._interrupt_step('pause')
        return outcome, f'{why}; paused: rephrase it, say "continue" to go on as planned, or "cancel"', None

    def _interrupt_step(self, why: str) -> None:
        if self._stop is not None:
            self._interrupt = why
            self._stop.set()

    def correct(self, text: str, source: str = 'operator') -> CorrectionAck:
        """Apply a language correction now (any thread); logged when a CorrectionLog was given."""
        correction = parse_correction(text)
        stamp = time.time()
        with self._lock:
            before = [s.to_dict() for s in self._plan.steps]
            index, state, scene = self._index, ('paused' if self._paused else self._state), self._scene
            instruction, robot = self._instruction, self._robot
            outcome, message, amended = self._apply(correction)
            if amended is not None:
                amended = [s.to_dict() for s in amended.steps]
        ack = CorrectionAck(correction, outcome, message)
        if outcome != 'ignored':
            self._emit(state if state != 'paused' else 'executing', f'correction "{text}": {message}')
        if self.log is not None:
            record = CorrectionRecord(stamp=stamp, text=text, correction=correction, outcome=outcome, message=message,
                                      source=source, instruction=instruction, robot=robot, state=state,
                                      current_step=index, plan=before, amended_plan=amended,
                                      scene=scene_objects(scene))
            self.log.write(record, self._image() if self._image is not None else None)
        return ack

    def record_intervention(self, text: str, source: str = 'teleop') -> Optional[CorrectionRecord]:
        """Log a teleoperation intervention with the task's context, like a correction; the plan is left
        alone (teleop already acted on the robot). None when there is no log."""
        if self.log is None:
            return None
        with self._lock:
            plan = [s.to_dict() for s in self._plan.steps]
            index, state, scene = self._index, ('paused' if self._paused else self._state), self._scene
            instruction, robot = self._instruction, self._robot
        record = CorrectionRecord(stamp=time.time(), text=text, correction=intervention(text),
                                  outcome='intervention', message='teleoperation intervention; the plan is unchanged',
                                  source=source, instruction=instruction, robot=robot, state=state,
                                  current_step=index, plan=plan, scene=scene_objects(scene))
        return self.log.write(record, self._image() if self._image is not None else None)

    def _apply(self, correction: Correction) -> Tuple[str, str, Optional[Plan]]:
        """(outcome, message, amended plan or None), under the lock."""
        if not self._active:
            return 'ignored', 'no task is running; the correction was ignored', None
        kind = correction.kind
        if kind == 'cancel':
            self._cancel_locked()
            return 'cancelled', 'cancelling the task', None
        if kind == 'pause':
            if self._paused:
                return 'ignored', 'already paused; say "continue" to go on', None
            self._paused = True
            self._interrupt_step('pause')
            return 'paused', 'paused; say "continue" to go on', None
        if kind == 'resume':
            if not self._paused:
                return 'ignored', 'not paused; carrying on', None
            self._paused = False
            self._wake.notify_all()
            return 'resumed', 'resuming', None
        if kind == 'unknown':
            return self._hold_for('not_understood', correction.reason)
        if self._index < 0 or self._scene is None or not self._plan.steps:
            return self._hold_for('rejected', 'nothing is executing yet to correct')
        amendment = amend(self._plan, self._index, correction, self._scene, self.catalog)
        if amendment.already:
            return 'ignored', amendment.message, None
        if not amendment.changed:
            return self._hold_for('rejected', amendment.message)
        self._plan, self._index = amendment.plan, amendment.index
        if amendment.restart:
            self._interrupt_step('amend')
        if self._paused:  # a correction says how to go on
            self._paused = False
            self._wake.notify_all()
        return 'amended', amendment.message, amendment.plan
