"""Demonstrations for behaviour cloning: expert episodes in simulation, as numpy arrays, saved as .npz.

`collect_demos` runs the skill's scripted expert on seeded random tasks with
DART-style noise on the executed actions (the recorded actions stay the
expert's), keeps the successful episodes, and returns observations,
actions and episode ends (exclusive indices into the concatenated steps), the
layout `training.train_bc` takes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from skill_stack.skills.episodes import run_episode
from skill_stack.skills.library import entry

logger = logging.getLogger(__name__)

TRAIN_SPLIT, EVAL_SPLIT = 0, 1


def episode_seed(seed: int, index: int, split: int) -> int:
    """The task seed of episode ``index`` of a run seeded ``seed``; training and evaluation never share one."""
    return int(np.random.SeedSequence([seed, split, index]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass
class Demonstrations:
    skill: str
    observations: np.ndarray  # (N, obs_dim) float32
    actions: np.ndarray  # (N, action_dim) float32
    episode_ends: np.ndarray  # (E,) int64, exclusive end index of each episode
    seeds: np.ndarray  # (E,) task seed of each episode
    attempted: int  # expert episodes run (failures are not kept)

    @property
    def expert_success_rate(self) -> float:
        return len(self.episode_ends) / max(1, self.attempted)


def collect_demos(skill_name: str, episodes: int, seed: int = 0, action_noise: Optional[float] = None,
                  progress: Optional[Callable[[int, int], None]] = None) -> Demonstrations:
    """``episodes`` expert episodes of ``skill_name`` (successful ones kept); ``action_noise`` is the upper
    bound of the per-episode noise (default: the skill's ``demo_noise``)."""
    spec = entry(skill_name)
    skill = spec.skill()
    action_noise = skill.demo_noise if action_noise is None else action_noise
    env = spec.env(skill_name)
    rng = np.random.default_rng([seed, 99])
    observations, actions, ends, seeds = [], [], [], []
    total = 0
    try:
        for i in range(episodes):
            task_seed = episode_seed(seed, i, TRAIN_SPLIT)
            noise = float(rng.uniform(0.0, action_noise)) if action_noise > 0 else 0.0
            result = run_episode(skill, spec.expert(), env, task_seed, record=True, action_noise=noise)
            if result.success and result.observations is not None and len(result.observations):
                observations.append(result.observations)
                actions.append(result.actions)
                total += len(result.observations)
                ends.append(total)
                seeds.append(task_seed)
            else:
                logger.info('%s demo %d (seed %d) failed: %s', skill_name, i, task_seed, result.reason)
            if progress is not None:
                progress(i + 1, episodes)
    finally:
        env.close()
    if not ends:
        raise RuntimeError(f'{skill_name}: the expert succeeded in none of {episodes} episodes')
    return Demonstrations(skill_name, np.concatenate(observations).astype(np.float32),
                          np.concatenate(actions).astype(np.float32), np.array(ends, np.int64),
                          np.array(seeds, np.int64), episodes)


def save_demos(path: Path, demos: Demonstrations) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, skill=np.array(demos.skill), observations=demos.observations, actions=demos.actions,
                        episode_ends=demos.episode_ends, seeds=demos.seeds, attempted=np.array(demos.attempted))
    return path


def load_demos(path: Path) -> Demonstrations:
    with np.load(Path(path), allow_pickle=False) as data:
        return Demonstrations(str(data['skill']), data['observations'], data['actions'], data['episode_ends'],
                              data['seeds'], int(data['attempted']))
