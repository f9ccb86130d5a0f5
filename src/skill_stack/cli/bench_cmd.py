"""``skill-stack bench``: run the benchmarks and print one JSON object of medians.

Progress goes to stderr, the figures to stdout, so the output can be piped.
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
from ament_index_python.packages import get_package_share_directory

PACKAGE = 'skill_stack'


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        'bench', help='run the benchmarks, print JSON medians',
        description='Run the benchmarks of the built layers and print one JSON object of figures '
                    '(medians unless named otherwise). Progress goes to stderr.')
    p.add_argument('--quick', action='store_true', help='fewer samples (a smoke run, noisier figures)')
    p.add_argument('--only', default='', metavar='LAYERS',
                   help=f"comma-separated subset of: {', '.join(BENCHES)} (default: all)")
    p.set_defaults(handler=run)


def _scene(name: str) -> str:
    return os.path.join(get_package_share_directory(PACKAGE), 'config', 'scenes', name)


def bench_sim(quick: bool) -> Dict[str, float]:
    """Physics and rendering in-process, then the sim node over ROS (camera on, real time)."""
    from skill_stack.sim.bench import run as run_world

    figures = {f'sim_{k}': v for k, v in run_world(_scene('arm_blocks.yaml'), frames=20 if quick else 50,
                                                  blocks=20 if quick else 50).items()}
    figures['sim_rtf'] = figures.pop('sim_rtf_with_camera')
    _progress(f'sim in-process: {figures}')
    with _launched('sim', 'camera_rate_hz:=15.0', 'real_time:=true'):
        from skill_stack.nodes.sim_probe import measure

        figures.update({f'sim_ros_{k}': v for k, v in measure(window_s=4.0 if quick else 10.0,
                                                               commands=5 if quick else 20).items()})
    return figures


def bench_skill_server(quick: bool) -> Dict[str, float]:
    """The arm stack as used (sim with camera, perception, skill server): control rate while the camera and
    perception run, and cancel-to-rest time."""
    with _launched('arm_stack'):
        from skill_stack.nodes.skill_probe import measure

        figures = measure(goals=3 if quick else 10, cancels=3 if quick else 10)
    return {f'skill_server_{k}' if k != 'control_rate_hz' else k: v for k, v in figures.items()}


def bench_scheduler(quick: bool) -> Dict[str, float]:
    """The arm stack with the embedded planner: goal accepted to first motion command, and a correction to the
    amended skill's first command."""
    with _launched('arm_stack'):
        from skill_stack.nodes.task_probe import measure

        return measure(trials=3 if quick else 10)


@contextlib.contextmanager
def _launched(*launch_args: str):
    """A launch file running in the background for the duration of a benchmark, stopped like Ctrl-C."""
    launch = subprocess.Popen([sys.executable, '-m', 'skill_stack.cli', 'launch', *launch_args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield launch
    finally:
        launch.send_signal(signal.SIGINT)
        try:
            launch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            launch.kill()


def bench_drivers(quick: bool) -> Dict[str, float]:
    """The arm driver on the simulated arm: IK, a control tick, the reached end-effector error."""
    from skill_stack.drivers.bench import run as run_arm

    return {f'arm_driver_{k}': v for k, v in run_arm(10 if quick else 50, 0, _scene('arm_blocks.yaml')).items()}


def bench_skills(quick: bool) -> Dict[str, float]:
    """Success over seeded simulated episodes per skill; writes out/skills/report.*. The full run compares the
    learned policy with the scripted expert and the no-keypoint baseline (100 episodes each, about an hour
    here); --quick runs the learned policies only, 5 episodes each."""
    from skill_stack.skills.evaluate import CONTROLLERS, evaluate_skill, write_report
    from skill_stack.skills.library import LIBRARY

    episodes = 5 if quick else 100
    controllers = ('learned',) if quick else CONTROLLERS
    results = {}
    for name in LIBRARY:
        results[name] = evaluate_skill(name, episodes, seed=0, controllers=controllers)
        _progress(f"skill {name}: learned {results[name]['learned'].get('success_rate')}")
    out = Path('out/skills')
    out.mkdir(parents=True, exist_ok=True)
    (out / 'results.json').write_text(json.dumps(results, indent=2, default=float) + '\n')
    write_report(results, out / 'report.md', out / 'report.png')
    _progress('report: out/skills/report.md, out/skills/report.png')
    figures: Dict[str, float] = {}
    for skill, entry in results.items():
        for variant in controllers:
            rate = entry.get(variant, {}).get('success_rate')
            if rate is not None:
                figures[f'skill_{skill}_{variant}_success'] = rate
        ms = entry.get('learned', {}).get('inference_ms_median')
        if ms is not None:
            figures[f'skill_{skill}_policy_inference_ms_p50'] = ms
    figures['skill_episodes'] = episodes
    return figures


def bench_perception(quick: bool) -> Dict[str, float]:
    """The embedded pipeline on random simulated scenes (ground truth only scores it), and the
    cost of turning a scene into its message."""
    from std_msgs.msg import Header

    from skill_stack.nodes.scene_convert import scene_to_msg
    from skill_stack.perception.bench import run as run_perception
    from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene

    figures = run_perception(scenes=20 if quick else 200, seed=0)
    figures.pop('errors', None)
    obj = PerceivedObject('obj_0', 'box', 'red', np.zeros(3), np.array([1.0, 0, 0, 0]), np.full(3, 0.04), 1.0,
                          [Keypoint(f'k{i}', np.zeros(3)) for i in range(12)], {'graspable': 1.0})
    scene = PerceivedScene([obj] * 6)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        scene_to_msg(scene, Header())
        times.append((time.perf_counter() - start) * 1e3)
    figures['scene_to_msg_ms_median'] = float(np.median(times))
    out = {f'perception_{k}': v for k, v in figures.items() if isinstance(v, (int, float))}
    out['perception_ms_p50'] = figures['latency_ms_median'] + figures['scene_to_msg_ms_median']
    return out


def bench_transport(quick: bool) -> Dict[str, float]:
    """One 640x480 RGB-D frame (rgb8 + 32FC1, as the sim camera sends) from one process to another over DDS:
    publisher's stamp to the later of the two images received, median and p95 (ms)."""
    from skill_stack.nodes.transport_probe import measure

    return measure(frames=30 if quick else 100)


BENCHES: Dict[str, Callable[[bool], Dict[str, float]]] = {
    'sim': bench_sim,
    'perception': bench_perception,
    'drivers': bench_drivers,
    'skills': bench_skills,
    'skill_server': bench_skill_server,
    'scheduler': bench_scheduler,
    'transport': bench_transport,
}


def _progress(text: str) -> None:
    print(f'[bench] {text}', file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    selected: List[str] = [s for s in args.only.split(',') if s] or list(BENCHES)
    unknown = [s for s in selected if s not in BENCHES]
    if unknown:
        print(f"skill-stack bench: error: unknown layer(s) {', '.join(unknown)}; "
              f"choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    figures: Dict[str, float] = {}
    for name in selected:
        _progress(f'{name} ...')
        start = time.monotonic()
        figures.update(BENCHES[name](args.quick))
        _progress(f'{name} done in {time.monotonic() - start:.1f} s')
    figures.update(headline(figures))
    print(json.dumps(figures, indent=2, sort_keys=True))
    return 0


def headline(figures: Dict[str, float]) -> Dict[str, object]:
    """The figures every layer is judged by, gathered from the layers' own keys: ``skill_success`` (skill name to
    the learned policy's success rate) and ``policy_inference_ms_p50`` (median over the skills)."""
    out: Dict[str, object] = {}
    success = {key[len('skill_'):-len('_learned_success')]: value for key, value in figures.items()
               if key.startswith('skill_') and key.endswith('_learned_success')}
    if success:
        out['skill_success'] = success
    inference = [value for key, value in figures.items()
                 if key.startswith('skill_') and key.endswith('_policy_inference_ms_p50')]
    if inference:
        out['policy_inference_ms_p50'] = float(np.median(inference))
    return out
