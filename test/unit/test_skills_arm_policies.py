"""Arm skills with their committed checkpoints: a short closed-loop sim episode each, and tiny-budget training."""

import json

import numpy as np
import pytest

from skill_stack.skills.arm_env import ArmEnv
from skill_stack.skills.datasets import EVAL_SPLIT, collect_demos, episode_seed, load_demos, save_demos
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.evaluate import checkpoint_path, load_controller, train_skill, write_report
from skill_stack.skills.library import skills
from skill_stack.skills.policy import load_checkpoint

# An evaluation task (never trained on) per skill that its committed policy solves.
EPISODES = {'reach': 0, 'pick': 0, 'place': 0, 'push': 0}


@pytest.mark.parametrize('name', sorted(EPISODES))
def test_committed_checkpoint_solves_a_sim_episode(name):
    path = checkpoint_path(name)
    _policy, meta = load_checkpoint(path)
    assert meta['skill'] == name
    assert meta['command'].startswith(f'skill-stack train {name} ')
    assert path.stat().st_size < 2_000_000
    assert json.loads(path.with_suffix('.json').read_text())['metrics']['samples'] > 0
    env = ArmEnv(name)
    try:
        result = run_episode(skills('arm')[name], load_controller(name, 'learned'), env,
                             episode_seed(0, EPISODES[name], EVAL_SPLIT))
    finally:
        env.close()
    assert result.success, result.reason
    assert not result.stopped


def test_train_skill_with_a_tiny_budget_gives_a_loadable_checkpoint(tmp_path):
    path = train_skill('reach', episodes=2, epochs=2, seed=1, out_dir=tmp_path)
    policy, meta = load_checkpoint(path)
    assert meta['episodes'] == 2
    assert meta['epochs'] == 2
    assert meta['seed'] == 1
    assert policy.act(np.zeros(policy.config.obs_dim, np.float32)).shape == (policy.config.chunk, 4)
    _baseline, baseline_meta = load_checkpoint(checkpoint_path('reach', True, tmp_path))
    assert any(baseline_meta['zero_mask'])
    assert baseline_meta['variant'] == 'baseline'
    assert '--episodes 2 --epochs 2 --seed 1' in json.loads(path.with_suffix('.json').read_text())['command']


def test_demonstrations_round_trip(tmp_path):
    demos = collect_demos('reach', 2, seed=3, action_noise=0.0)
    assert demos.observations.shape[0] == demos.episode_ends[-1] == demos.actions.shape[0]
    loaded = load_demos(save_demos(tmp_path / 'reach.npz', demos))
    assert np.array_equal(loaded.observations, demos.observations)
    assert loaded.skill == 'reach'


def test_report_has_a_table_and_a_plot(tmp_path):
    results = {'pick': {'episodes': 10, 'seed': 0, 'expert': {'success_rate': 1.0},
                        'learned': {'success_rate': 0.9, 'inference_ms_median': 0.2},
                        'baseline': {'success_rate': 0.1}}}
    write_report(results, tmp_path / 'report.md', tmp_path / 'report.png')
    assert '| pick | arm | 10 | 100% | 90% | 10% | 0.200 |' in (tmp_path / 'report.md').read_text()
    assert (tmp_path / 'report.png').stat().st_size > 1000
