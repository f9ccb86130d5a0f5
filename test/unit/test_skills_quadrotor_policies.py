"""Quadrotor skills with their committed checkpoints: a closed-loop sim episode each, and what the checkpoints
record."""

import json

import pytest
import torch

from skill_stack.skills.datasets import EVAL_SPLIT, episode_seed
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.evaluate import checkpoint_path, load_controller, policy_inference_ms, train_skill
from skill_stack.skills.library import entry, skills
from skill_stack.skills.policy import load_checkpoint
from skill_stack.skills.quadrotor_env import QuadrotorEnv


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as training and evaluation run the policies (a tiny MLP gains nothing from more)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


@pytest.mark.parametrize('name', sorted(EPISODES))
def test_baseline_checkpoint_is_the_same_network_without_keypoints(name):
    policy, meta = load_checkpoint(checkpoint_path(name, baseline=True))
    skill = skills('quadrotor')[name]
    assert meta['variant'] == 'baseline'
    assert meta['zero_mask'] == skill.keypoint_slots().tolist()
    learned, _ = load_checkpoint(checkpoint_path(name))
    assert policy.config == learned.config
    assert policy_inference_ms(learned, skill.obs_dim, repeats=200) < 2.0  # median, one thread


def test_train_skill_with_a_tiny_budget_gives_a_loadable_checkpoint(tmp_path):
    path = train_skill('take_off', episodes=2, epochs=2, seed=1, out_dir=tmp_path)
    assert path.name == 'quadrotor_take_off.pt'
    policy, meta = load_checkpoint(path)
    assert meta['demos']['kept'] >= 1
    assert policy.act(torch.zeros(policy.config.obs_dim).numpy()).shape == (policy.config.chunk, 3)
    assert '--episodes 2 --epochs 2 --seed 1' in json.loads(path.with_suffix('.json').read_text())['command']
