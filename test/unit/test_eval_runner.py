"""The runner and the report, on a fake stack: a tiny world that the fake task moves, no ROS.

The fake plays what the real TaskClient does (reset to a scene file, the ground truth, run a task), so the
judging, grouping by embodiment, progress lines and the report's figures are checked without a simulator.
"""

import contextlib
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import cv2
import pytest
import yaml

from skill_stack.eval.report import percentiles, summarize, write_report
from skill_stack.eval.runner import ScenarioResult, run_scenario, run_suite
from skill_stack.eval.scenario import parse_scenario
from skill_stack.sim.scene_file import load_scene


@dataclass
class Outcome:
    success: bool
    message: str
    plan: List[dict] = field(default_factory=list)
    timings: Dict[str, Optional[float]] = field(default_factory=dict)
    timed_out: bool = False


class FakeClient:
    """A world of resting objects; "put X in Y" moves X into Y, anything else fails and moves nothing."""

    def __init__(self, embodiment: str):
        self.embodiment = embodiment
        self.objects: Dict[str, list] = {}
        self.resets: List[str] = []
        self.runs: List[tuple] = []

    def reset(self, scene_path: str) -> None:
        scene = load_scene(scene_path)
        assert scene.embodiment == self.embodiment
        self.resets.append(scene_path)
        self.objects = {o.name: [o.position[0], o.position[1], o.height / 2] for o in scene.objects}

    def world(self) -> dict:
        return {'objects': {n: {'position': list(p), 'quaternion': [1, 0, 0, 0]} for n, p in self.objects.items()},
                'robots': {self.embodiment: {'position': [0.3, 0.0, 0.3]}}}

    def run(self, instruction, corrections=(), timeout_s=120.0, read_world=True):
        self.runs.append((instruction, tuple(corrections), timeout_s))
        words = instruction.split()
        if words[0] == 'explode':
            raise RuntimeError('the simulator refused the reset: boom')
        if words[0] == 'put' and len(words) == 4 and words[1] in self.objects and words[3] in self.objects:
            x, y, _ = self.objects[words[3]]
            self.objects[words[1]] = [x, y, 0.02]
            plan = [{'skill': 'pick', 'args': {'object': 'obj_1'}, 'status': 'succeeded', 'message': ''},
                    {'skill': 'place', 'args': {'object': 'obj_1', 'target': 'obj_0'}, 'status': 'succeeded',
                     'message': ''}]
            return Outcome(True, 'done', plan, {'goal_to_first_motion_s': 0.05, 'total_s': 10.0})
        return Outcome(False, f'I did not understand "{instruction}"', [],
                       {'goal_to_first_motion_s': None, 'total_s': 0.1})


SCENE = {'embodiment': 'arm', 'objects': [
    {'name': 'cube', 'shape': 'box', 'color': 'red', 'size': [0.04, 0.04, 0.04], 'position': [0.45, 0.15]},
    {'name': 'other', 'shape': 'box', 'color': 'blue', 'size': [0.04, 0.04, 0.04], 'position': [0.5, 0.0]},
    {'name': 'bowl', 'shape': 'bowl', 'color': 'green', 'size': [0.08, 0.05], 'position': [0.42, -0.2]}]}


def scenario(name, instruction, conditions, success=True, category='paraphrases', scene=SCENE):
    return parse_scenario({'name': name, 'category': category, 'scene': scene, 'instruction': instruction,
                           'corrections': [{'at': 1.0, 'text': 'no, the blue one'}],
                           'expect': {'success': success, 'conditions': conditions}}, f'{name}.yaml')


IN_BOWL = [{'inside': {'object': 'cube', 'container': 'bowl'}}, {'unchanged': ['other']}]
CLEAN = [{'unchanged': 'all'}]


def test_a_scenario_passes_when_success_and_conditions_hold(tmp_path):
    client = FakeClient('arm')
    result = run_scenario(client, scenario('ok', 'put cube in bowl', IN_BOWL), tmp_path / 'scene.yaml', 0.0)
    assert result.passed, result.reason
    assert client.runs == [('put cube in bowl', ((1.0, 'no, the blue one'),), 120.0)]
    assert yaml.safe_load((tmp_path / 'scene.yaml').read_text())['objects'][0]['name'] == 'cube'
    assert all(c['ok'] for c in result.checks)


def test_a_wrong_object_moved_fails_with_the_condition_named(tmp_path):
    result = run_scenario(FakeClient('arm'), scenario('wrong', 'put other in bowl', IN_BOWL), tmp_path / 's.yaml', 0)
    assert not result.passed
    assert result.success is True
    assert 'inside(object=cube, container=bowl)' in result.reason
    assert 'other moved' in result.reason


def test_an_impossible_request_passes_when_it_fails_cleanly(tmp_path):
    s = scenario('nope', 'fly to the door', CLEAN, success=False, category='impossible')
    result = run_scenario(FakeClient('arm'), s, tmp_path / 's.yaml', 0.0)
    assert result.passed, result.reason
    # ... and fails when the task claims success.
    s = scenario('claims', 'put cube in bowl', CLEAN, success=False, category='impossible')
    result = run_scenario(FakeClient('arm'), s, tmp_path / 's.yaml', 0.0)
    assert not result.passed
    assert 'expected the task to fail, it succeeded' in result.reason


def test_an_error_of_the_stack_fails_the_scenario_not_the_suite(tmp_path):
    result = run_scenario(FakeClient('arm'), scenario('boom', 'explode now', CLEAN), tmp_path / 's.yaml', 0.0)
    assert not result.passed
    assert result.success is None
    assert 'could not run' in result.reason
    assert 'boom' in result.reason


def test_run_suite_starts_one_stack_per_embodiment_and_reports_progress(tmp_path):
    hand_scene = {'embodiment': 'hand', 'objects': [
        {'name': 'cube', 'shape': 'box', 'color': 'red', 'size': [0.05, 0.05, 0.05], 'position': [0.08, 0.0]}]}
    scenarios = [scenario('a1', 'put cube in bowl', IN_BOWL),
                 scenario('h1', 'grasp cube', [{'lifted': {'object': 'cube', 'min_height': 0.05}}], scene=hand_scene),
                 scenario('a2', 'fly away', CLEAN, success=False, category='impossible')]
    started, clients, lines, labels = [], {}, [], []

    @contextlib.contextmanager
    def stack(embodiment, scene_path, label):
        started.append((embodiment, load_scene(scene_path).embodiment))
        labels.append(label)
        clients[embodiment] = FakeClient(embodiment)
        yield clients[embodiment]

    results = run_suite(scenarios, stack, tmp_path / 'work', lines.append)
    assert started == [('arm', 'arm'), ('hand', 'hand')]
    assert [r.name for r in results] == ['a1', 'a2', 'h1']
    assert [r.passed for r in results] == [True, True, False]
    assert len(clients['arm'].resets) == 2
    assert any(line.startswith('3/3 h1 FAIL') for line in lines), lines
    # An embodiment whose stack keeps state across resets gets a fresh stack per scenario.
    started.clear()
    labels.clear()
    run_suite(scenarios, stack, tmp_path / 'work', fresh=('arm',))
    assert started == [('arm', 'arm'), ('arm', 'arm'), ('hand', 'hand')]
    assert labels == ['a1', 'a2', 'hand']  # each fresh stack's log is named after its scenario


def test_a_stack_that_does_not_start_fails_its_scenarios_only(tmp_path):
    @contextlib.contextmanager
    def stack(embodiment, scene_path, label):
        if embodiment == 'hand':
            raise RuntimeError('no launch file for the hand stack')
        yield FakeClient(embodiment)

    hand_scene = {'embodiment': 'hand', 'objects': []}
    scenarios = [scenario('h1', 'grasp it', CLEAN, success=False, category='impossible', scene=hand_scene),
                 scenario('a1', 'put cube in bowl', IN_BOWL)]
    results = run_suite(scenarios, stack, tmp_path)
    assert [(r.name, r.passed) for r in results] == [('h1', False), ('a1', True)]
    assert 'did not start: no launch file' in results[0].reason


def result(name, embodiment, category, passed, total, motion=None):
    return ScenarioResult(name=name, category=category, embodiment=embodiment, source=f'{name}.yaml',
                          instruction='put the red cube in the bowl', corrections=[[2.0, 'no, the blue one']],
                          expected_success=True, passed=passed, success=passed,
                          reason='' if passed else 'inside(object=red_cube, container=bowl): 12.0 cm from the axis',
                          message='done' if passed else 'place: timed out after 12 s',
                          plan=[{'skill': 'pick', 'args': {'object': 'obj_1'}, 'status': 'succeeded', 'message': ''},
                                {'skill': 'place', 'args': {'object': 'obj_1', 'target': 'obj_0'},
                                 'status': 'succeeded' if passed else 'failed', 'message': 'timed out'}],
                          timings={'goal_to_first_motion_s': motion, 'total_s': total})


def test_percentiles_of_nothing_and_of_numbers():
    assert percentiles([]) == {'n': 0, 'p50': None, 'p90': None, 'max': None}
    assert percentiles([1.0, 2.0, 3.0, 4.0, 10.0]) == {'n': 5, 'p50': 3.0, 'p90': 7.6, 'max': 10.0}


def test_report_rates_latencies_failures_and_plots(tmp_path):
    results = [result('a1', 'arm', 'paraphrases', True, 10.0, 0.05),
               result('a2', 'arm', 'corrections', False, 30.0, 0.2),
               result('h1', 'hand', 'paraphrases', True, 6.0, 0.1),
               result('h2', 'hand', 'impossible', True, 0.1)]
    summary = summarize(results, 50.0)
    assert summary['overall'] == {'n': 4, 'passed': 3, 'rate': 0.75}
    assert summary['by_category']['paraphrases'] == {'n': 2, 'passed': 2, 'rate': 1.0}
    assert list(summary['by_category']) == ['paraphrases', 'corrections', 'impossible']
    assert summary['by_embodiment']['arm']['rate'] == 0.5
    assert summary['latency']['goal_to_first_motion_s']['n'] == 3  # the impossible task never moved
    assert summary['latency']['total_s']['max'] == 30.0
    paths = write_report(tmp_path / 'out', results, 50.0, {'selected': 4})
    data = json.loads(paths['json'].read_text())
    assert data['summary']['overall']['passed'] == 3
    assert data['selected'] == 4
    assert [s['name'] for s in data['scenarios']] == ['a1', 'a2', 'h1', 'h2']
    text = paths['markdown'].read_text()
    assert '**3/4 scenarios passed (75.0%)**' in text
    assert '## Failures (1)' in text
    assert '### a2 (arm, corrections; cause: ' in text
    assert '`place` {"object": "obj_1", "target": "obj_0"}: failed - timed out' in text
    assert 'correction at 2 s: "no, the blue one"' in text
    assert '| hand | 1/2 | 50.0% |' not in text
    assert '| hand | 2/2 | 100.0% |' in text
    for key in ('success_plot', 'latency_plot'):
        image = cv2.imread(str(paths[key]))
        assert image is not None
        assert image.shape[2] == 3
        assert image.std() > 5


def test_a_report_of_nothing_still_writes(tmp_path):
    paths = write_report(tmp_path, [], 0.0)
    assert '0/0 scenarios passed' in paths['markdown'].read_text()
    assert cv2.imread(str(paths['latency_plot'])) is not None


@pytest.mark.parametrize('name', ['success_plot', 'latency_plot'])
def test_plot_files_are_png(tmp_path, name):
    paths = write_report(tmp_path, [result('a1', 'arm', 'paraphrases', True, 10.0, 0.05)], 1.0)
    assert paths[name].read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
