"""`skill-stack eval` end to end: the real arm stack, two scenarios (one task done, one impossible request),
the report and plots written, and the exit codes of usage errors."""

import json
import subprocess

import pytest
import yaml

from repo_paths import CLI, REPO

ARM = REPO / 'config' / 'scenarios' / 'arm'


@pytest.mark.integration
@pytest.mark.slow
def test_eval_runs_two_arm_scenarios_and_writes_the_report(ros_env, tmp_path):
    out = tmp_path / 'out'
    proc = subprocess.run([str(CLI), 'eval', str(ARM / 'put_red_cube_in_bowl.yaml'),
                           str(ARM / 'impossible_purple_elephant.yaml'), '--out', str(out)],
                          env=ros_env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    report = out / 'report.md'
    assert report.is_file(), proc.stderr[-3000:]
    data = json.loads((out / 'results.json').read_text())
    results = {s['name']: s for s in data['scenarios']}
    assert set(results) == {'arm_put_red_cube_in_bowl', 'arm_impossible_purple_elephant'}
    elephant = results['arm_impossible_purple_elephant']
    assert elephant['passed'], elephant['reason']
    assert elephant['success'] is False
    assert 'elephant' in elephant['message']
    put = results['arm_put_red_cube_in_bowl']
    assert put['passed'], f"{put['reason']}\n{proc.stderr[-3000:]}"
    assert [s['skill'] for s in put['plan']] == ['pick', 'place']
    assert 0.0 < put['timings']['goal_to_first_motion_s'] < 10.0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '2/2 scenarios passed (100.0%)' in proc.stdout
    assert '[eval] 2/2' in proc.stderr
    for png in ('success.png', 'latency.png'):
        assert (out / png).read_bytes()[:4] == b'\x89PNG'
    assert data['summary']['by_embodiment']['arm'] == {'n': 2, 'passed': 2, 'rate': 1.0}
    assert not subprocess.run(['pgrep', '-f', f'scene:={tmp_path}'], capture_output=True).stdout, \
        'the stack outlived the evaluation'


def test_eval_lists_the_public_suite(ros_env):
    proc = subprocess.run([str(CLI), 'eval', '--list', '--only-embodiment', 'arm', '--category', 'impossible'],
                          env=ros_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines
    assert all(' arm ' in line and ' impossible ' in line for line in lines)
    assert any('arm_impossible_purple_elephant' in line for line in lines)


def test_a_bad_scenario_file_is_a_usage_error_naming_file_and_field(ros_env, tmp_path):
    data = yaml.safe_load((ARM / 'put_red_cube_in_bowl.yaml').read_text())
    index = len(data['expect']['conditions'])
    data['expect']['conditions'].append({'inside': {'object': 'purple_elephant', 'container': 'green_bowl'}})
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run([str(CLI), 'eval', str(bad), '--out', str(tmp_path / 'out')], env=ros_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr
    assert f'expect.conditions[{index}].inside.object' in proc.stderr
    assert not (tmp_path / 'out').exists()
    proc = subprocess.run([str(CLI), 'eval', '--match', 'no-such-scenario'], env=ros_env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert 'no scenario' in proc.stderr
