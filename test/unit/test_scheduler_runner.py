"""TaskRunner with fake skill execution: success, re-planning, live corrections from another thread, the log."""

from __future__ import annotations

import threading
import time
from typing import Callable, List, Optional, Tuple

import numpy as np
import pytest
from test_scheduler_scenes import obj, scene, skills, table

from skill_stack.scheduler.correction_log import LOG_FILE, CorrectionLog, read_corrections
from skill_stack.scheduler.plan import RobotState, Step
from skill_stack.scheduler.planning import make_planner
from skill_stack.scheduler.runner import TaskResult, TaskRunner

PUT_RED = 'pick up the red cube and put it in the yellow bowl'


class FakeRobot:
    """execute_step: scripted outcomes; the calls numbered in ``block`` run until their stop event is set."""

    def __init__(self, script: Optional[Callable[[int, Step], Tuple[bool, str]]] = None, block=()):
        self.calls: List[Tuple[float, Step]] = []
        self.script = script or (lambda n, step: (True, f'{step.skill} done'))
        self.block = set(block)
        self.running = threading.Event()

    def __call__(self, step: Step, stop: threading.Event) -> Tuple[bool, str]:
        n = len(self.calls)
        self.calls.append((time.monotonic(), step))
        if n in self.block:
            self.running.set()
            assert stop.wait(5), 'the step was never stopped'
            return False, 'stopped by request'
        return self.script(n, step)

    def skills_called(self) -> List[str]:
        return [f"{s.skill} {s.args.get('object', '')}".strip() for _, s in self.calls]


class Harness:
    def __init__(self, robot: FakeRobot, observe=table, **kwargs):
        self.robot, self.feedback = robot, []
        self.runner = TaskRunner(make_planner(), skills(), execute_step=robot, observe=observe,
                                 robot_state=lambda: RobotState('arm'),
                                 feedback=lambda plan, i, state, text: self.feedback.append((state, i, text)),
                                 **kwargs)
        self.result: Optional[TaskResult] = None
        self.thread: Optional[threading.Thread] = None

    def start(self, instruction: str) -> Harness:
        def run():
            self.result = self.runner.run(instruction)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def wait_running(self) -> None:
        assert self.robot.running.wait(5), 'no step started'
        self.robot.running.clear()

    def join(self) -> TaskResult:
        self.thread.join(10)
        assert not self.thread.is_alive(), 'the task did not end'
        return self.result

    def states(self) -> List[str]:
        return [s for s, _, _ in self.feedback]


def test_a_two_step_plan_succeeds():
    harness = Harness(FakeRobot())
    result = harness.runner.run(PUT_RED)
    assert result.success, result.message
    assert [(s.skill, s.status) for s in result.steps] == [('pick', 'succeeded'), ('place', 'succeeded')]
    assert [s.status for s in result.plan.steps] == ['succeeded', 'succeeded']
    assert harness.states() == ['planning', 'executing', 'executing', 'done']
    assert harness.feedback[1][1:] == (0, 'step 1/2: pick(object=red box obj_0)')
    assert not harness.runner.active


def test_a_failed_step_is_re_planned_and_the_task_succeeds():
    robot = FakeRobot(lambda n, step: (False, 'the gripper closed on nothing') if n == 0 else (True, 'ok'))
    harness = Harness(robot)
    result = harness.runner.run(PUT_RED)
    assert result.success, result.message
    assert [s.status for s in result.steps] == ['failed', 'succeeded', 'succeeded']
    replanning = [t for s, _, t in harness.feedback if s == 'replanning']
    assert len(replanning) == 1
    assert 'closed on nothing' in replanning[0]


def test_a_failed_place_re_inserts_the_pick():
    robot = FakeRobot(lambda n, step: (False, 'dropped it') if n == 1 else (True, 'ok'))
    result = Harness(robot).runner.run(PUT_RED)
    assert result.success
    assert robot.skills_called() == ['pick obj_0', 'place obj_0', 'pick obj_0', 'place obj_0']


def test_re_planning_is_bounded():
    robot = FakeRobot(lambda n, step: (False, 'the gripper closed on nothing'))
    result = Harness(robot, max_replans=2).runner.run(PUT_RED)
    assert not result.success
    assert 'gave up after 2 re-plan(s)' in result.message
    assert len(robot.calls) == 3
    assert result.plan.steps[-1].status == 'skipped'


def test_each_step_is_followed_by_a_fresh_scene_with_new_ids():
    later = scene(obj('obj_0', 'bowl', 'yellow', 0.30, -0.25), obj('obj_9', 'box', 'red', 0.40, 0.18))
    scenes = iter([table(), later, later])  # planning, after the pick, after the place
    robot = FakeRobot()
    result = Harness(robot, observe=lambda: next(scenes)).runner.run(PUT_RED)
    assert result.success, result.message
    assert robot.calls[1][1].args == {'object': 'obj_9', 'target': 'obj_0'}


def test_an_unplannable_instruction_ends_the_task_with_the_reason():
    robot = FakeRobot()
    result = Harness(robot).runner.run('pick up the purple elephant')
    assert not result.success
    assert result.message.startswith('could not plan: no elephant')
    assert robot.calls == []


def test_no_the_blue_one_mid_step_re_runs_the_step_with_the_blue_cube_at_once():
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    sent = time.monotonic()
    ack = harness.runner.correct('no, the blue one')
    assert ack.accepted
    assert ack.outcome == 'amended'
    result = harness.join()
    assert result.success, result.message
    calls = harness.robot.calls
    assert [s.args.get('object') for _, s in calls] == ['obj_0', 'obj_1', 'obj_1']
    assert calls[1][0] - sent < 0.1  # the amended step is re-issued without waiting for anything
    assert [(s.args['object'], s.status) for s in result.steps] == [
        ('obj_0', 'cancelled'), ('obj_1', 'succeeded'), ('obj_1', 'succeeded')]


def test_an_adjustment_mid_place_re_runs_it_with_an_offset():
    harness = Harness(FakeRobot(block=[1])).start(PUT_RED)
    harness.wait_running()
    assert harness.runner.correct('a bit to the left').outcome == 'amended'
    result = harness.join()
    assert result.success
    assert harness.robot.calls[2][1].args['offset'] == [0.0, 0.02, 0.0]


def test_wait_blocks_until_continue():
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    assert harness.runner.correct('wait').outcome == 'paused'
    time.sleep(0.3)
    assert len(harness.robot.calls) == 1  # stopped, and nothing new started while paused
    assert harness.runner.correct('hold on').outcome == 'ignored'  # already paused
    assert harness.runner.active
    assert harness.runner.correct('continue').outcome == 'resumed'
    result = harness.join()
    assert result.success
    assert harness.robot.skills_called() == ['pick obj_0', 'pick obj_0', 'place obj_0']
    assert any('paused' in t for _, _, t in harness.feedback)


def test_cancel_ends_the_task_with_the_running_step_cancelled():
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    assert harness.runner.correct('cancel').outcome == 'cancelled'
    result = harness.join()
    assert not result.success
    assert result.message == 'cancelled'
    assert [s.status for s in result.steps] == ['cancelled']
    assert [s.status for s in result.plan.steps] == ['cancelled', 'cancelled']
    assert harness.states()[-1] == 'done'


def test_cancel_while_paused_ends_the_task():
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    harness.runner.correct('stop')
    harness.runner.cancel()
    assert not harness.join().success


def test_a_correction_with_no_task_is_acknowledged_and_ignored(tmp_path):
    harness = Harness(FakeRobot(), log=CorrectionLog(tmp_path))
    ack = harness.runner.correct('a bit to the left')
    assert not ack.accepted
    assert ack.outcome == 'ignored'
    assert 'no task is running' in ack.message
    assert harness.feedback == []
    [record] = read_corrections(tmp_path)
    assert (record.outcome, record.state, record.current_step) == ('ignored', 'idle', -1)


@pytest.mark.parametrize(('text', 'outcome'), [('blah blah', 'not_understood'),
                                               ('no, the purple elephant', 'rejected')])
def test_a_correction_not_understood_or_not_applicable_pauses_the_task(text, outcome):
    """The old plan must not run on to a reported success as if nothing had been said: the task pauses and says
    why, until the operator rephrases, continues or cancels."""
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    ack = harness.runner.correct(text)
    assert ack.outcome == outcome
    assert 'paused' in ack.message
    assert 'continue' in ack.message
    assert harness.runner.correct('continue').outcome == 'resumed'
    harness.runner.cancel()
    assert not harness.join().success


def test_approval_is_asked_before_anything_moves():
    refused = Harness(FakeRobot(), approve=lambda plan, cancel: False)
    result = refused.runner.run(PUT_RED)
    assert not result.success
    assert 'not approved' in result.message
    assert refused.robot.calls == []
    assert 'awaiting_approval' in refused.states()
    seen = []
    approved = Harness(FakeRobot(), approve=lambda plan, cancel: seen.append(plan.describe()) or True)
    assert approved.runner.run(PUT_RED).success
    assert seen == ['pick(object=red box obj_0); place(object=red box obj_0, target=yellow bowl obj_4)']


def test_one_task_at_a_time():
    harness = Harness(FakeRobot(block=[0])).start(PUT_RED)
    harness.wait_running()
    with pytest.raises(RuntimeError, match='already running'):
        harness.runner.run('pick up the ball')
    harness.runner.cancel()
    harness.join()


def test_the_correction_log_is_written_and_read_back(tmp_path):
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, :16] = (200, 30, 30)
    log = CorrectionLog(tmp_path / 'log')
    harness = Harness(FakeRobot(block=[0]), log=log, image=lambda: image).start(PUT_RED)
    harness.wait_running()
    harness.runner.correct('no, the blue one', source='test')
    assert harness.join().success
    harness.runner.correct('higher')  # after the task: ignored, still logged
    records = read_corrections(tmp_path / 'log')
    assert [(r.index, r.text, r.outcome) for r in records] == [(0, 'no, the blue one', 'amended'),
                                                                (1, 'higher', 'ignored')]
    first = records[0]
    assert first.correction.kind == 'reference'
    assert first.correction.phrase == 'the blue one'
    assert (first.source, first.instruction, first.state, first.current_step) == ('test', PUT_RED, 'executing', 0)
    assert [s['args']['object'] for s in first.plan] == ['obj_0', 'obj_0']
    assert [s['args']['object'] for s in first.amended_plan] == ['obj_1', 'obj_1']
    assert {o['id'] for o in first.scene} == {f'obj_{i}' for i in range(5)}
    assert first.stamp > 0
    assert first.image == 'images/000000.png'
    np.testing.assert_array_equal(first.load_image(), image)
    # A second log on the same directory appends, numbering on.
    CorrectionLog(tmp_path / 'log').write(records[1])
    assert [r.index for r in read_corrections(tmp_path / 'log')] == [0, 1, 2]
    assert (tmp_path / 'log' / LOG_FILE).read_text().count('\n') == 3
    assert read_corrections(tmp_path / 'missing') == []
