"""Small keypoint-conditioned policies: an MLP with an action-chunk head, and their checkpoints.

Input: the skill's observation vector (proprioception and target keypoints
relative to the robot). Output: the next ``chunk`` actions (action chunking,
as in ACT); the controller executes the first and re-plans every step, which
keeps the loop closed. Inputs and outputs are normalised with statistics
stored in the checkpoint, so a checkpoint is self-contained.
"""

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class PolicyConfig:
    obs_dim: int
    action_dim: int
    chunk: int = 4
    hidden: int = 256
    layers: int = 3


class KeypointPolicy(nn.Module):
    def __init__(self, config: PolicyConfig):
        super().__init__()
        self.config = config
        dims = [config.obs_dim] + [config.hidden] * (config.layers - 1)
        blocks = []
        for a, b in itertools.pairwise(dims):
            blocks += [nn.Linear(a, b), nn.LayerNorm(b), nn.GELU()]
        blocks.append(nn.Linear(dims[-1], config.action_dim * config.chunk))
        self.net = nn.Sequential(*blocks)
        self.register_buffer('obs_mean', torch.zeros(config.obs_dim))
        self.register_buffer('obs_std', torch.ones(config.obs_dim))
        self.register_buffer('act_mean', torch.zeros(config.action_dim))
        self.register_buffer('act_std', torch.ones(config.action_dim))

    def set_normalisation(self, observations: np.ndarray, actions: np.ndarray) -> None:
        self.obs_mean.copy_(torch.as_tensor(observations.mean(0)))
        self.obs_std.copy_(torch.as_tensor(observations.std(0) + 1e-6))
        self.act_mean.copy_(torch.as_tensor(actions.reshape(-1, self.config.action_dim).mean(0)))
        self.act_std.copy_(torch.as_tensor(actions.reshape(-1, self.config.action_dim).std(0) + 1e-6))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Normalised observation batch -> normalised action chunks (B, chunk, action_dim)."""
        return self.net(obs).view(-1, self.config.chunk, self.config.action_dim)

    def normalise_obs(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def normalise_actions(self, actions: torch.Tensor) -> torch.Tensor:
        return (actions - self.act_mean) / self.act_std

    @torch.no_grad()
    def act(self, observation: np.ndarray) -> np.ndarray:
        """The action chunk (chunk, action_dim) in physical units for one observation."""
        obs = torch.as_tensor(np.asarray(observation, dtype=np.float32)).view(1, -1)
        chunk = self.forward(self.normalise_obs(obs))[0]
        return (chunk * self.act_std + self.act_mean).numpy()


def save_checkpoint(path: Path, policy: KeypointPolicy, meta: Dict[str, Any]) -> None:
    """State, architecture and ``meta`` (skill, seed, training config, metrics, the command that made it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'config': asdict(policy.config), 'state_dict': policy.state_dict(), 'meta': meta}, path)


def load_checkpoint(path: Path) -> tuple[KeypointPolicy, Dict[str, Any]]:
    """The policy (eval mode, one CPU thread is plenty) and its metadata."""
    data = torch.load(Path(path), map_location='cpu', weights_only=True)
    policy = KeypointPolicy(PolicyConfig(**data['config']))
    policy.load_state_dict(data['state_dict'])
    policy.eval()
    return policy, data['meta']
