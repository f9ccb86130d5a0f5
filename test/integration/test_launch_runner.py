"""The launch runner end to end: real nodes over DDS, shutdown, failures, CLI errors."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from repo_paths import CLI, FIXTURES

pytestmark = pytest.mark.integration


def start_launch(args, env):
    return subprocess.Popen([str(CLI), 'launch', *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    with open(f'/proc/{pid}/stat') as f:
        return f.read().split(')')[-1].split()[0] != 'Z'


def read_until(proc, pattern, timeout):
    """Read the runner's output until ``pattern`` has matched as many times as asked."""
    regex, count = pattern
    lines, found = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < count:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(regex, line)
        if match:
            found.append(match)
    return found, lines


def test_two_nodes_exchange_topics_and_an_action_through_a_launch_file(fixture_prefix, ros_env, tmp_path):
    report = tmp_path / 'report.json'
    proc = start_launch([str(FIXTURES / 'talk.launch.yaml'), f'report_path:={report}', 'robot:=r2'], ros_env)
    try:
        deadline = time.monotonic() + 90
        while not report.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert report.exists(), 'scene_client never wrote its report'
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    data = json.loads(report.read_text())
    assert data['namespace'] == '/r2'  # push-ros-namespace with a launch argument
    assert data['scene_ids'] == ['cube_of_r2'] * 3  # a `let` fed a node parameter
    assert data['success'] is True
    assert data['message'] == 'pick {"object": "red_cube"}'
    assert data['feedback'] == ['running']
    assert '[server-1] ' in output  # output: screen is prefixed with the node's name
    assert proc.returncode == 0, output


def test_sigint_stops_every_child(fixture_prefix, ros_env):
    proc = start_launch([str(FIXTURES / 'two_servers.launch.yaml')], ros_env)
    found, lines = read_until(proc, (r'process started with pid \[(\d+)\]', 2), timeout=30)
    pids = [int(m.group(1)) for m in found]
    ready, more = read_until(proc, (r'ready in namespace', 2), timeout=60)
    assert len(pids) == 2, ''.join(lines)
    assert len(ready) == 2, ''.join(lines + more)
    assert all(pid_alive(pid) for pid in pids)

    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert not any(pid_alive(pid) for pid in pids), output
    assert output.count('process has finished cleanly') == 2, output


def test_a_node_that_dies_is_reported_with_its_exit_code(fixture_prefix, ros_env, tmp_path):
    # scene_client with a report path it cannot write exits with an error.
    launch = tmp_path / 'dies.launch.yaml'
    launch.write_text('launch:\n- node:\n    pkg: skill_stack_fixtures\n    exec: scene_client\n'
                      '    name: doomed\n    remap: [{from: scene_in, to: scene}]\n'
                      '    param: [{name: report_path, value: /nonexistent/dir/r.json},'
                      ' {name: scenes_wanted, value: 1}]\n'
                      '- node: {pkg: skill_stack_fixtures, exec: scene_server, name: server}\n')
    proc = start_launch([str(launch)], ros_env)
    found, lines = read_until(proc, (r'process has died \[pid \d+, exit code (-?\d+)', 1), timeout=90)
    proc.send_signal(signal.SIGINT)
    output = ''.join(lines) + proc.communicate(timeout=60)[0]
    assert found, output
    assert int(found[0].group(1)) != 0
    assert 'doomed-1' in found[0].string
    assert proc.returncode == 1, output


@pytest.mark.parametrize(('args', 'message'), [
    (['/no/such/file.launch.yaml'], 'launch file does not exist'),
    (['no_such_launch_name'], 'no such file or package launch file'),
    ([str(FIXTURES / 'two_servers.launch.yaml'), 'robot:=arm'], 'unknown launch argument(s) robot'),
    ([str(FIXTURES / 'two_servers.launch.yaml'), 'robot=arm'], 'launch arguments are name:=value'),
])
def test_bad_launch_input_exits_2_with_the_problem_named(fixture_prefix, ros_env, args, message):
    result = subprocess.run([str(CLI), 'launch', *args], env=ros_env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert message in result.stderr


def test_help_works_from_a_fresh_shell():
    env = {'PATH': '/usr/bin:/bin', 'HOME': os.environ.get('HOME', '/tmp')}
    for args in ([], ['launch']):
        result = subprocess.run([str(CLI), *args, '--help'], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert 'usage: skill-stack' in result.stdout
