"""Teleop interventions in the correction log: recorded with the task's context, never parsed as language."""

from test_scheduler_runner import PUT_RED, FakeRobot, Harness

from skill_stack.scheduler.correction_log import CorrectionLog, intervention, read_corrections

TEXT = 'teleop: end-effector moved by [+0.052, -0.010, +0.000] m, gripper closed (0.085 -> 0.000 m) in 1.4 s'


def test_an_intervention_mid_task_is_logged_with_its_context_and_leaves_the_plan(tmp_path):
    harness = Harness(FakeRobot(block=[0]), log=CorrectionLog(tmp_path)).start(PUT_RED)
    harness.wait_running()
    record = harness.runner.record_intervention(TEXT)
    harness.runner.correct('continue')  # no pause came from the intervention: this one is ignored
    harness.runner.cancel()
    harness.join()
    first, second = read_corrections(tmp_path)
    assert (first.index, first.text, first.source, first.outcome) == (0, TEXT, 'teleop', 'intervention')
    assert record.index == 0
    assert first.correction.kind == 'intervention'
    assert first.correction.delta == (0.052, -0.01, 0.0)
    assert (first.instruction, first.state, first.current_step) == (PUT_RED, 'executing', 0)
    assert [s['skill'] for s in first.plan] == ['pick', 'place']
    assert first.amended_plan is None
    assert second.outcome == 'ignored'  # the step was never interrupted by the intervention
    assert [s.skill for _, s in harness.robot.calls] == ['pick']


def test_interventions_without_a_log_or_a_displacement():
    harness = Harness(FakeRobot())
    assert harness.runner.record_intervention(TEXT) is None
    assert intervention('teleop: gripper closed in 0.3 s').delta == (0.0, 0.0, 0.0)
    assert intervention('teleop: palm moved by [a, b, c] m').delta == (0.0, 0.0, 0.0)  # not numbers
    assert intervention('teleop: palm moved by [nan, 0, 0] m').delta == (0.0, 0.0, 0.0)
