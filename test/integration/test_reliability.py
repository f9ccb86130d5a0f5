"""The reliability checks of scripts/reliability.py, shorter: consecutive goals on one stack leave no process
behind, and a perception node killed mid-task fails the task with its reason, holds the arm, and comes back."""

import json
import subprocess
import sys

import pytest

from repo_paths import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _reliability(ros_env, *args) -> dict:
    result = subprocess.run([sys.executable, str(REPO / 'scripts' / 'reliability.py'), *args], env=ros_env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def test_consecutive_goals_on_one_stack(ros_env):
    figures = _reliability(ros_env, 'endurance', '--goals', '4')
    assert figures['successes'] == 4, figures['failures']
    assert figures['leaked_processes'] == []


# Known: a perception respawned after SIGKILL has hung before sending a scene (2 of about 6 runs here, Fast DDS
# suspected); a rerun shows whether that, or the failure-and-hold behaviour itself, is broken.
@pytest.mark.flaky(reruns=2)
def test_perception_killed_mid_task(ros_env):
    figures = _reliability(ros_env, 'perception-kill')
    assert not figures['task_success']
    assert 'perception' in figures['task_message']
    assert figures['arm_drift_after_failure_mm'] < 5.0
    assert figures['next_goal_success'], figures['next_goal_message']
    assert figures['leaked_processes'] == []
