"""Train and benchmark the skills: expert, learned policy and an end-to-end baseline, side by side.

- `train_skill` generates expert demonstrations, fits the keypoint-conditioned
  policy and the end-to-end baseline (same data and network, keypoint entries
  of the observation zeroed, so it acts from proprioception and the numeric
  arguments alone), and writes ``<embodiment>_<skill>.pt`` and ``..._baseline.pt``
  with a ``.json`` beside each: config, seed, metrics and the exact command
  that re-creates it.
- `evaluate_skill` runs N seeded episodes (seeds disjoint from training) per
  controller and returns success rates and inference times.
- `benchmark` does it for several skills and writes ``report.md`` (a table)
  and ``report.png`` (a bar chart drawn with OpenCV).

Command line (what a checkpoint's json records)::

    skill-stack train pick --episodes 300 --epochs 40 --seed 0
    skill-stack bench --only skills      # 100 episodes per skill, seed 0, writes out/skills/report.*
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence

import numpy as np
import torch

from skill_stack.skills.datasets import EVAL_SPLIT, collect_demos, episode_seed
from skill_stack.skills.episodes import PolicyController, run_episode
from skill_stack.skills.library import LIBRARY, embodiment_of, entry
from skill_stack.skills.policy import KeypointPolicy, load_checkpoint, save_checkpoint
from skill_stack.skills.training import TrainConfig, train_bc

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = Path(__file__).resolve().parent / 'checkpoints'
CONTROLLERS = ('expert', 'learned', 'baseline')
POLICY_SIZE = {'hidden': 128, 'layers': 3, 'chunk': 4}


def checkpoint_path(name: str, baseline: bool = False, directory: Optional[Path] = None) -> Path:
    return Path(directory or CHECKPOINT_DIR) / f"{embodiment_of(name)}_{name}{'_baseline' if baseline else ''}.pt"


def _command(name: str, episodes: int, epochs: int, seed: int) -> str:
    return f'skill-stack train {name} --episodes {episodes} --epochs {epochs} --seed {seed}'


def train_skill(name: str, episodes: Optional[int] = None, epochs: Optional[int] = None, seed: int = 0,
                out_dir: Optional[Path] = None, baseline: bool = True) -> Path:
    """Demonstrations, training and checkpoints for one skill; returns the learned checkpoint's path."""
    spec = entry(name)
    episodes = spec.episodes if episodes is None else int(episodes)
    epochs = spec.epochs if epochs is None else int(epochs)
    out_dir = Path(out_dir or CHECKPOINT_DIR)
    torch.set_num_threads(1)
    skill = spec.skill()
    started = time.monotonic()
    demos = collect_demos(name, episodes, seed)
    data_seconds = time.monotonic() - started
    logger.info('%s: %d of %d expert demos kept (%d steps) in %.1f s', name, len(demos.episode_ends), episodes,
                len(demos.observations), data_seconds)
    config = TrainConfig(epochs=epochs, seed=seed, **POLICY_SIZE)
    mask = skill.keypoint_slots()
    variants = [(False, None)] + ([(True, mask)] if baseline else [])
    learned_path = checkpoint_path(name, False, out_dir)
    for is_baseline, zero_mask in variants:
        observations = demos.observations.copy()
        if zero_mask is not None:
            observations[:, zero_mask] = 0.0
        policy, metrics = train_bc(observations, demos.actions, demos.episode_ends, config)
        path = checkpoint_path(name, is_baseline, out_dir)
        meta: Dict[str, Any] = {
            'skill': name, 'embodiment': skill.embodiment, 'variant': 'baseline' if is_baseline else 'keypoint',
            'zero_mask': [bool(v) for v in zero_mask] if zero_mask is not None else None,
            'observation': skill.observation_names(),
            'action': list(skill.action_names), 'control_rate_hz': skill.control_rate_hz,
            'seed': seed, 'episodes': episodes, 'epochs': epochs,
            'demos': {'kept': len(demos.episode_ends), 'attempted': demos.attempted,
                      'steps': len(demos.observations), 'seconds': round(data_seconds, 1)},
            'metrics': {k: v for k, v in metrics.items() if k != 'config'},
            'train_config': metrics['config'], 'command': _command(name, episodes, epochs, seed),
        }
        save_checkpoint(path, policy, meta)
        path.with_suffix('.json').write_text(json.dumps(meta, indent=2, default=float) + '\n')
    return learned_path


def load_controller(name: str, variant: str, checkpoint_dir: Optional[Path] = None):
    """'expert', or a PolicyController for the 'learned' or 'baseline' checkpoint."""
    if variant == 'expert':
        return entry(name).expert()
    policy, meta = load_checkpoint(checkpoint_path(name, variant == 'baseline', checkpoint_dir))
    mask = meta.get('zero_mask')
    return PolicyController(policy, None if mask is None else np.array(mask, bool))


def evaluate_skill(name: str, episodes: int = 100, seed: int = 0, checkpoint_dir: Optional[Path] = None,
                   controllers: Sequence[str] = CONTROLLERS) -> Dict[str, Any]:
    """Success rate of each controller over the same ``episodes`` seeded tasks (disjoint from training)."""
    torch.set_num_threads(1)
    spec = entry(name)
    skill = spec.skill()
    env = spec.env(name)
    out: Dict[str, Any] = {'skill': name, 'episodes': episodes, 'seed': seed}
    try:
        for variant in controllers:
            if variant != 'expert' and not checkpoint_path(name, variant == 'baseline', checkpoint_dir).exists():
                out[variant] = {'error': 'no checkpoint'}
                continue
            successes, inference, failures = 0, [], []
            started = time.monotonic()
            controller = load_controller(name, variant, checkpoint_dir)
            for i in range(episodes):
                result = run_episode(skill, controller, env, episode_seed(seed, i, EVAL_SPLIT))
                successes += result.success
                inference += result.inference_s
                if not result.success and len(failures) < 5:
                    failures.append({'seed': result.seed, 'reason': result.reason})
            row = {'success_rate': successes / max(1, episodes), 'successes': successes,
                   'seconds': round(time.monotonic() - started, 1), 'failures': failures}
            if inference:
                row['inference_ms_median'] = float(np.median(inference) * 1000.0)
                row['inference_ms_p95'] = float(np.percentile(inference, 95) * 1000.0)
            out[variant] = row
    finally:
        env.close()
    return out


def policy_inference_ms(policy: KeypointPolicy, obs_dim: int, repeats: int = 500) -> float:
    """Median single-observation inference time on one thread, in milliseconds."""
    torch.set_num_threads(1)
    obs = np.zeros(obs_dim, np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        policy.act(obs)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000.0)


def benchmark(skills: Iterable[str] = tuple(LIBRARY), episodes: int = 100, seed: int = 0,
              out_dir: Path = Path('out/skills'), checkpoint_dir: Optional[Path] = None) -> Dict[str, Any]:
    """Evaluate every skill with every controller; write report.md, report.png and results.json."""
    results = {name: evaluate_skill(name, episodes, seed, checkpoint_dir) for name in skills}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'results.json').write_text(json.dumps(results, indent=2, default=float) + '\n')
    write_report(results, out_dir / 'report.md', out_dir / 'report.png')
    return results


def _rate(entry: Dict[str, Any]) -> Optional[float]:
    return entry.get('success_rate') if isinstance(entry, dict) else None


def write_report(results: Dict[str, Any], markdown: Path, image: Path) -> None:
    lines = ['# Skills: success rates', '',
             '| skill | robot | episodes | expert | learned (keypoints) | baseline (no keypoints) '
             '| learned inference, median ms |',
             '|---|---|---|---|---|---|---|']
    for name, r in results.items():
        cells = []
        for variant in CONTROLLERS:
            rate = _rate(r.get(variant, {}))
            cells.append('n/a' if rate is None else f'{rate * 100:.0f}%')
        ms = r.get('learned', {}).get('inference_ms_median')
        speed = 'n/a' if ms is None else f'{ms:.3f}'
        lines.append(f"| {name} | {embodiment_of(name)} | {r['episodes']} | {' | '.join(cells)} | {speed} |")
    seed = next(iter(results.values()))['seed'] if results else 0
    lines += ['', f'Seeded evaluation tasks (seed {seed}), disjoint from the training tasks. '
              'Re-create: `skill-stack bench --only skills` (100 episodes per skill, seed 0).', '']
    Path(markdown).write_text('\n'.join(lines))
    _bar_chart(results, Path(image))


def _bar_chart(results: Dict[str, Any], path: Path) -> None:
    import cv2  # OpenCV draws the chart: matplotlib is not a dependency

    colors = {'expert': (120, 120, 120), 'learned': (200, 120, 30), 'baseline': (60, 60, 220)}
    width, height, margin = 160 * max(1, len(results)) + 120, 420, 60
    img = np.full((height, width, 3), 255, np.uint8)
    base = height - margin
    top = margin
    for pct in range(0, 101, 25):
        y = int(base - (base - top) * pct / 100)
        cv2.line(img, (margin, y), (width - 20, y), (225, 225, 225), 1)
        cv2.putText(img, f'{pct}%', (8, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (name, r) in enumerate(results.items()):
        x0 = margin + 20 + i * 160
        for j, variant in enumerate(CONTROLLERS):
            rate = _rate(r.get(variant, {})) or 0.0
            x = x0 + j * 40
            y = int(base - (base - top) * rate)
            cv2.rectangle(img, (x, y), (x + 34, base), colors[variant], -1)
            cv2.putText(img, f'{rate * 100:.0f}', (x + 2, y - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                        cv2.LINE_AA)
        cv2.putText(img, name, (x0 + 30, base + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for j, variant in enumerate(CONTROLLERS):
        x = margin + j * 130
        cv2.rectangle(img, (x, 15), (x + 14, 29), colors[variant], -1)
        cv2.putText(img, variant, (x + 20, 27), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.line(img, (margin, base), (width - 20, base), (0, 0, 0), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)

