"""Quadrotor skills with their committed checkpoints: a closed-loop sim episode each, and what the checkpoints
record."""

import json

import numpy as np
import pytest

from skill_stack.skills.datasets import EVAL_SPLIT, episode_seed
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.evaluate import checkpoint_path, load_controller, policy_inference_ms
from skill_stack.skills.library import entry, skills
from skill_stack.skills.policy import load_checkpoint
from skill_stack.skills.quadrotor_env import QuadrotorEnv

# An evaluation task (never trained on) per skill that its committed policy solves.
EPISODES = {'take_off': 0, 'fly_to': 0, 'land': 0, 'hover': 0}


@pytest.mark.parametrize('name', sorted(EPISODES))
def test_committed_checkpoint_solves_a_sim_episode(name):
    path = checkpoint_path(name)
    assert path.name == f'quadrotor_{name}.pt'
    _policy, meta = load_checkpoint(path)
    skill = skills('quadrotor')[name]
    assert meta['skill'] == name
    assert meta['embodiment'] == 'quadrotor'
    assert meta['observation'] == skill.observation_names()
    assert meta['action'] == list(skill.action_names)
    spec = entry(name)
    assert meta['command'] == f"skill-stack train {name} --episodes {spec.episodes} --epochs {spec.epochs} --seed 0"
    assert path.stat().st_size < 2_000_000
    assert json.loads(path.with_suffix('.json').read_text())['metrics']['samples'] > 0
    env = QuadrotorEnv(name)
    try:
        result = run_episode(skill, load_controller(name, 'learned'), env, episode_seed(0, EPISODES[name], EVAL_SPLIT))
    finally:
        env.close()
    assert result.success, result.reason
    assert not result.stopped
    assert np.median(result.inference_s) < 0.002


@pytest.mark.parametrize('name', sorted(EPISODES))
def test_baseline_checkpoint_is_the_same_network_without_keypoints(name):
    policy, meta = load_checkpoint(checkpoint_path(name, baseline=True))
    skill = skills('quadrotor')[name]
    assert meta['variant'] == 'baseline'
    assert meta['zero_mask'] == skill.keypoint_slots().tolist()
    learned, _ = load_checkpoint(checkpoint_path(name))
    assert policy.config == learned.config
    assert policy_inference_ms(learned, skill.obs_dim, repeats=50) < 2.0
