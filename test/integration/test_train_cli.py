"""`skill-stack train` runs end to end with a tiny budget and writes a loadable checkpoint."""

import json
import subprocess

import numpy as np
import pytest

from skill_stack.skills.library import skills
from skill_stack.skills.policy import load_checkpoint

from repo_paths import CLI

pytestmark = pytest.mark.integration


def test_train_reach_with_a_tiny_budget(ros_env, tmp_path):
    result = subprocess.run([str(CLI), 'train', 'reach', '--episodes', '3', '--epochs', '2', '--seed', '1',
                             '--out', str(tmp_path), '--no-baseline'],
                            env=ros_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    checkpoint = tmp_path / 'arm_reach.pt'
    assert result.stdout.strip() == str(checkpoint)
    policy, meta = load_checkpoint(checkpoint)
    skill = skills('arm')['reach']
    assert policy.act(np.zeros(skill.obs_dim, dtype=np.float32)).shape[1] == 4
    assert meta['seed'] == 1
    assert json.loads((tmp_path / 'arm_reach.json').read_text())['command'].startswith('skill-stack train reach')


@pytest.mark.parametrize(('args', 'message'), [
    (['fly'], "unknown skill 'fly'"),
    (['reach', '--episodes', '0'], '--episodes must be at least 1'),
])
def test_bad_train_arguments(ros_env, args, message):
    result = subprocess.run([str(CLI), 'train', *args], env=ros_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
