"""Reliability runs on one running arm stack (issue 7), printed as one JSON object.

    .venv/bin/python scripts/reliability.py endurance --goals 100   # about 30 min here
    .venv/bin/python scripts/reliability.py perception-kill

endurance: N consecutive goals on one stack, the scene reset between goals;
success per goal, the stack's memory (RSS of every process the launch
started) after the first 10 goals and at the end, and the processes left after
the stack is stopped (must be none).

perception-kill: a pick-and-place task is running when the perception process
is killed (SIGKILL): the task must fail with a reason that names perception,
the arm must be at rest, and once the launch has respawned perception the next
goal must succeed.

Both run on their own ROS domain unless ROS_DOMAIN_ID is set. The same checks
run, shorter, in test/integration/test_reliability.py.
"""

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

GOALS = ('pick up the red cube and put it in the bowl', 'pick up the blue cube', 'reach the blue cube',
         'put the red cube in the bowl')
SCENE = Path(__file__).resolve().parents[1] / 'test' / 'fixtures' / 'scenes' / 'two_cubes_bowl.yaml'


def descendants(root: int) -> List[int]:
    """Every live process below ``root`` (the launch's nodes, in their own sessions but still its children)."""
    parents: Dict[int, int] = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = Path(f'/proc/{entry}/stat').read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(')', 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def rss_mb(pids: List[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f'/proc/{pid}/status').read_text().splitlines():
                if line.startswith('VmRSS:'):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024.0


def cmdline(pid: int) -> str:
    try:
        return Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def with_marker(marker: str) -> List[int]:
    """Live processes whose environment carries ``marker`` (this run's private ROS log dir)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f'/proc/{entry}/environ').read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def _progress(text: str) -> None:
    print(f'[reliability] {text}', file=sys.stderr, flush=True)


def endurance(client, launch_pid: int, goals: int) -> dict:
    outcomes, memory = [], {}
    for i in range(goals):
        client.reset(str(SCENE))
        instruction = GOALS[i % len(GOALS)]
        outcome = client.run(instruction, timeout_s=120.0)
        outcomes.append({'goal': i, 'instruction': instruction, 'success': outcome.success,
                         'message': outcome.message, 'total_s': outcome.timings.get('total_s')})
        _progress(f"goal {i + 1}/{goals}: {'ok' if outcome.success else 'FAILED'} {instruction!r} "
                  f"({outcome.timings.get('total_s')} s) {'' if outcome.success else outcome.message}")
        if i + 1 == min(10, goals):
            memory['after_10_goals_mb'] = rss_mb(descendants(launch_pid))
    memory['at_end_mb'] = rss_mb(descendants(launch_pid))
    half = max(1, goals // 2)
    return {'goals': goals, 'successes': sum(o['success'] for o in outcomes),
            'success_first_half': sum(o['success'] for o in outcomes[:half]) / half,
            'success_second_half': sum(o['success'] for o in outcomes[half:]) / max(1, goals - half),
            'memory': memory,
            'memory_growth': memory['at_end_mb'] / memory['after_10_goals_mb'] - 1.0,
            'failures': [o for o in outcomes if not o['success']]}


def perception_kill(client, launch_pid: int) -> dict:
    import threading

    import numpy as np

    client.reset(str(SCENE))
    states: List[str] = []
    box = {}
    worker = threading.Thread(target=lambda: box.update(outcome=client.run(GOALS[0], timeout_s=120.0,
                                                                          on_feedback=lambda f: states.append(
                                                                              f.state))))
    worker.start()
    deadline = time.monotonic() + 60.0
    while 'executing' not in states and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # well inside the first skill
    victims = [pid for pid in descendants(launch_pid) if '/perception ' in cmdline(pid) + ' ']
    if not victims:
        raise RuntimeError('no perception process found under the launch')
    killed = time.monotonic()
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    worker.join(180.0)
    outcome = box['outcome']
    failed_after_s = time.monotonic() - killed
    arm = [np.array(client.world()['robots']['arm']['position'])]
    time.sleep(1.0)
    arm.append(np.array(client.world()['robots']['arm']['position']))
    drift_mm = float(np.linalg.norm(arm[1] - arm[0]) * 1000.0)
    # The launch restarts perception (respawn); the next goal works once it sends scenes again.
    back = time.monotonic()
    client.wait_ready(120.0)
    scenes = client.scene_count
    while client.scene_count < scenes + 3 and time.monotonic() - back < 120.0:
        time.sleep(0.1)
    respawned_s = time.monotonic() - back
    client.reset(str(SCENE))
    after = client.run(GOALS[1], timeout_s=120.0)
    return {'task_success': outcome.success, 'task_message': outcome.message,
            'killed_to_result_s': round(failed_after_s, 2), 'arm_drift_after_failure_mm': round(drift_mm, 2),
            'perception_back_after_s': round(respawned_s, 2), 'next_goal_success': after.success,
            'next_goal_message': after.message}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog=__doc__.split('\n\n', 1)[1], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('check', choices=('endurance', 'perception-kill'))
    parser.add_argument('--goals', type=int, default=100, help='endurance: how many goals (default 100)')
    args = parser.parse_args(argv)
    if args.goals < 1:
        parser.error('--goals must be at least 1')
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.randint(120, 200)))  # noqa: S311 - isolation only
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    marker = tempfile.mkdtemp(prefix='skill_stack_reliability_')
    os.environ['ROS_LOG_DIR'] = marker  # every process of this run carries it: found again to count leaks

    from skill_stack.eval.stack import launched_stack

    started = time.monotonic()
    with launched_stack('arm', SCENE, Path(marker) / 'launch.log') as client:
        launch_pid = client.launch_pid
        _progress(f'stack ready after {time.monotonic() - started:.0f} s; {len(descendants(launch_pid))} processes')
        figures = endurance(client, launch_pid, args.goals) if args.check == 'endurance' else \
            perception_kill(client, launch_pid)
    time.sleep(2.0)
    figures['leaked_processes'] = [cmdline(pid) for pid in with_marker(marker)]
    figures['wall_s'] = round(time.monotonic() - started, 1)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
