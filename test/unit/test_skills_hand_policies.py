"""Hand skills with their committed checkpoints: a short closed-loop sim episode each, run by the learned policy."""

import json

import pytest

from skill_stack.skills.datasets import EVAL_SPLIT, episode_seed
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.evaluate import checkpoint_path, load_controller
from skill_stack.skills.hand_env import HandEnv
from skill_stack.skills.library import entry, skills
from skill_stack.skills.policy import load_checkpoint

# An evaluation task (never trained on) per skill that its committed policy solves.
EPISODES = {'grasp': 0, 'release': 0, 'rotate': 0}


@pytest.mark.parametrize('name', sorted(EPISODES))
def test_committed_checkpoint_solves_a_sim_episode(name):
    skill = skills('hand')[name]
    path = checkpoint_path(name)
    _policy, meta = load_checkpoint(path)
    assert meta['skill'] == name
    assert meta['embodiment'] == 'hand'
    assert meta['observation'] == skill.observation_names()
    assert meta['action'] == list(skill.action_names)
    # the library's default budget re-creates it: `skill-stack train NAME` with no options
    spec = entry(name)
    assert meta['command'] == f'skill-stack train {name} --episodes {spec.episodes} --epochs {spec.epochs} --seed 0'
    assert path.stat().st_size < 2_000_000
    assert json.loads(path.with_suffix('.json').read_text())['metrics']['samples'] > 0
    _baseline, baseline_meta = load_checkpoint(checkpoint_path(name, baseline=True))
    assert baseline_meta['zero_mask'] == skill.keypoint_slots().tolist()
    env = HandEnv(name)
    try:
        result = run_episode(skill, load_controller(name, 'learned'), env, episode_seed(0, EPISODES[name], EVAL_SPLIT))
    finally:
        env.close()
    assert result.success, result.reason
    assert not result.stopped
    assert len(result.inference_s) == result.steps
