"""Behaviour cloning: fit a KeypointPolicy to (observation, action chunk) pairs from an expert."""

import logging
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Optional

import numpy as np
import torch

from skill_stack.skills.policy import KeypointPolicy, PolicyConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    chunk: int = 4
    hidden: int = 256
    layers: int = 3
    validation_fraction: float = 0.1
    seed: int = 0


def action_chunks(actions: np.ndarray, episode_ends: np.ndarray, chunk: int) -> np.ndarray:
    """For each step, the next ``chunk`` actions of its episode (the last one repeated at the end)."""
    out = np.empty((len(actions), chunk, actions.shape[1]), dtype=np.float32)
    start = 0
    for end in episode_ends:
        for i in range(start, end):
            idx = np.minimum(np.arange(i, i + chunk), end - 1)
            out[i] = actions[idx]
        start = end
    return out


def train_bc(observations: np.ndarray, actions: np.ndarray, episode_ends: np.ndarray, config: TrainConfig,
             progress: Optional[Callable[[int, float, float], None]] = None) -> tuple[KeypointPolicy, Dict]:
    """Train on whole episodes (validation split by episode); returns the policy and its metrics."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    torch.set_num_threads(1)
    chunks = action_chunks(actions, episode_ends, config.chunk)
    starts = np.concatenate([[0], episode_ends[:-1]])
    episodes = rng.permutation(len(episode_ends))
    n_val = max(1, int(len(episodes) * config.validation_fraction)) if len(episodes) > 1 else 0
    val_mask = np.zeros(len(observations), dtype=bool)
    for e in episodes[:n_val]:
        val_mask[starts[e]:episode_ends[e]] = True
    policy = KeypointPolicy(PolicyConfig(observations.shape[1], actions.shape[1], config.chunk, config.hidden,
                                         config.layers))
    policy.set_normalisation(observations[~val_mask], chunks[~val_mask])
    obs = policy.normalise_obs(torch.as_tensor(observations, dtype=torch.float32))
    target = policy.normalise_actions(torch.as_tensor(chunks, dtype=torch.float32))
    train_idx, val_idx = np.flatnonzero(~val_mask), np.flatnonzero(val_mask)
    optimiser = torch.optim.AdamW(policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, config.epochs))
    started = time.monotonic()
    train_loss = val_loss = float('nan')
    for epoch in range(config.epochs):
        policy.train()
        order = rng.permutation(train_idx)
        losses = []
        for i in range(0, len(order), config.batch_size):
            batch = torch.as_tensor(order[i:i + config.batch_size])
            loss = torch.nn.functional.smooth_l1_loss(policy(obs[batch]), target[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        schedule.step()
        train_loss = float(np.mean(losses)) if losses else float('nan')
        if len(val_idx):
            policy.eval()
            with torch.no_grad():
                val_loss = torch.nn.functional.smooth_l1_loss(policy(obs[val_idx]), target[val_idx]).item()
        if progress is not None:
            progress(epoch, train_loss, val_loss)
    policy.eval()
    metrics = {'train_loss': train_loss, 'validation_loss': val_loss, 'samples': len(observations),
               'episodes': len(episode_ends), 'train_seconds': time.monotonic() - started,
               'config': asdict(config)}
    logger.info('trained on %d samples from %d episodes: loss %.4f, validation %.4f',
                len(observations), len(episode_ends), train_loss, val_loss)
    return policy, metrics
