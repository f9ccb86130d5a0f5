"""A driver fault (lost link, device fault) ends the task with its reason: never re-planned, never started."""

from test_scheduler_runner import PUT_RED, FakeRobot, Harness


def test_a_step_failed_by_a_driver_fault_ends_the_task_without_replanning():
    fault = []

    def script(n, step):
        fault.append('arm driver: link lost: UR arm: RTDE connection lost')
        return False, f'{step.skill}: stopped: {fault[0]}'

    robot = FakeRobot(script)
    harness = Harness(robot, max_replans=2, fault=lambda: fault[0] if fault else None)
    result = harness.runner.run(PUT_RED)
    assert not result.success
    assert result.message.startswith('arm driver: link lost: UR arm: RTDE connection lost; not re-planned')
    assert len(robot.calls) == 1  # one attempt, no re-plan
    assert 'replanning' not in harness.states()
    assert [s.status for s in result.plan.steps] == ['failed', 'skipped']


def test_a_task_does_not_start_during_a_driver_fault():
    robot = FakeRobot()
    harness = Harness(robot, fault=lambda: 'hand driver: device fault: motor 3 over-temperature')
    result = harness.runner.run(PUT_RED)
    assert not result.success
    assert result.message == 'cannot start: hand driver: device fault: motor 3 over-temperature'
    assert robot.calls == []


def test_an_ordinary_failure_is_still_replanned():
    harness = Harness(FakeRobot(lambda n, step: (n > 0, f'{step.skill} {"done" if n else "missed"}')),
                      fault=lambda: None)
    result = harness.runner.run(PUT_RED)
    assert result.success, result.message
    assert 'replanning' in harness.states()
