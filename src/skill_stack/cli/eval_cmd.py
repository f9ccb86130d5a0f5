"""``skill-stack eval``: run a suite of scenarios on the simulated stacks and write a report.

The suite is the public one shipped with the package, files named on the command line, or scenarios generated
by seed (``--generate N``, eval/generate.py); generated scenarios are also written to ``OUT/scenarios`` so any
one of them can be run again by its file.

Each embodiment's stack starts once and serves its scenarios (reset to each scene); progress goes to stderr,
the overall rate and the report's path to stdout.  Exit 0 when every scenario passed, 1 when one failed,
2 on a usage or set-up error (a bad scenario file is named with its field before anything starts).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

from skill_stack.eval.generate import ALL_FAMILIES, FAMILIES, generate
from skill_stack.eval.scenario import CATEGORIES, ScenarioError, load_suite, select, write_scenarios
from skill_stack.sim.scene_file import EMBODIMENTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        'eval', help='run evaluation scenarios, write a report',
        description='Run scenarios (a scene, an instruction, optional timed corrections and success conditions on '
                    'the ground truth) on the simulated stacks, one stack per embodiment, and write report.md, '
                    'results.json and plots. Default: the public suite shipped with the package.',
        epilog='examples:\n  skill-stack eval --list\n  skill-stack eval --only-embodiment arm --category impossible'
               '\n  skill-stack eval my_scenarios/ --out out/mine'
               '\n  skill-stack eval --generate 300 --embodiment arm --seed 1 --out out/gen_arm'
               '\n  skill-stack eval --generate 20 --embodiment arm --family push --family beside --list',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', metavar='DIR_OR_FILE', help='scenario files or directories of them')
    p.add_argument('--out', default='out/eval', metavar='DIR', help='where the report goes (default out/eval)')
    p.add_argument('--only-embodiment', action='append', default=[], choices=EMBODIMENTS, metavar='EMBODIMENT',
                   help=f"run only this embodiment's scenarios ({', '.join(EMBODIMENTS)}); repeatable")
    p.add_argument('--category', action='append', default=[], choices=CATEGORIES, metavar='CATEGORY',
                   help=f"run only this category ({', '.join(CATEGORIES)}); repeatable")
    p.add_argument('--match', default='', metavar='SUBSTRING', help='run only scenarios whose name contains this')
    p.add_argument('--list', action='store_true', help='list the selected scenarios and exit')
    gen = p.add_argument_group('generated scenarios (instead of files)')
    gen.add_argument('--generate', type=_positive, metavar='N',
                     help='draw N scenarios per embodiment from the scene contract and the phrase families')
    gen.add_argument('--embodiment', action='append', default=[], choices=EMBODIMENTS, metavar='EMBODIMENT',
                     help=f"generate for this embodiment ({', '.join(EMBODIMENTS)}; default all); repeatable")
    gen.add_argument('--family', action='append', default=[], choices=ALL_FAMILIES, metavar='FAMILY',
                     help='only this phrase family; repeatable. Families: '
                          + '; '.join(f"{e}: {', '.join(f)}" for e, f in FAMILIES.items()))
    gen.add_argument('--seed', type=int, default=0, metavar='S', help='seed of the generated scenarios (default 0)')
    p.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a whole number of scenarios >= 1, got {text!r}')
    return value


def public_suite() -> Path:
    """The scenarios installed with the package (config/scenarios)."""
    try:
        return Path(get_package_share_directory('skill_stack')) / 'config' / 'scenarios'
    except PackageNotFoundError as err:
        raise ScenarioError('config/scenarios', 'the skill_stack package is not installed (run `make setup`)') \
            from err


def _progress(text: str) -> None:
    print(f'[eval] {text}', file=sys.stderr, flush=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: the stack is stopped, the report written


def _scenarios(args: argparse.Namespace) -> List:
    if args.generate is None:
        if args.embodiment or args.family:
            raise ValueError('--embodiment and --family select generated scenarios: add --generate N '
                             '(or use --only-embodiment / --category on files)')
        return load_suite(args.paths or [public_suite()])
    if args.paths:
        raise ValueError('give scenario files or --generate N, not both')
    return generate(args.generate, args.seed, args.embodiment or EMBODIMENTS, args.family)


def run(args: argparse.Namespace) -> int:
    try:
        scenarios = _scenarios(args)
    except (ScenarioError, ValueError) as err:
        print(f'skill-stack eval: error: {err}', file=sys.stderr)
        return 2
    chosen = select(scenarios, args.only_embodiment, args.category, args.match)
    if not chosen:
        print(f'skill-stack eval: error: no scenario of the {len(scenarios)} loaded matches the selection',
              file=sys.stderr)
        return 2
    if args.list:
        for s in chosen:
            print(f'{s.name:40s} {s.embodiment:10s} {s.family:12s} "{s.instruction}"')
        return 0
    from skill_stack.eval.report import write_report
    from skill_stack.eval.runner import run_suite
    from skill_stack.eval.stack import launched_stack

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.generate is not None:
        write_scenarios(chosen, out / 'scenarios')
    previous = signal.signal(signal.SIGTERM, _interrupt)
    results: List = []
    start = time.monotonic()
    interrupted = False
    try:
        with tempfile.TemporaryDirectory(prefix='skill_stack_eval_') as work:
            def stack(embodiment: str, scene: Path, label: str):
                return launched_stack(embodiment, scene, out / 'logs' / f'{label}_stack.log')

            run_suite(chosen, stack, Path(work), _progress, into=results)
    except KeyboardInterrupt:
        interrupted = True
        _progress(f'interrupted after {len(results)} of {len(chosen)} scenario(s); the stacks are stopped')
    finally:
        signal.signal(signal.SIGTERM, previous)
    wall = time.monotonic() - start
    paths = write_report(out, results, wall, {'selected': len(chosen), 'interrupted': interrupted,
                                              'generated': _generation(args),
                                              'commit': _commit(),
                                              'ros_domain_id': os.environ.get('ROS_DOMAIN_ID', '0')})
    passed = sum(r.passed for r in results)
    rate = 100.0 * passed / len(results) if results else 0.0
    print(f'{passed}/{len(results)} scenarios passed ({rate:.1f}%) in {wall:.0f} s; report: {paths["markdown"]}')
    if interrupted:
        return 130
    return 0 if passed == len(chosen) else 1


def _generation(args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    if args.generate is None:
        return None
    return {'count': args.generate, 'seed': args.seed, 'embodiments': args.embodiment or list(EMBODIMENTS),
            'families': args.family}


def _commit() -> str:
    """The checkout's commit (with '+changes' when the tree differs), so a report says what it measured."""
    root = Path(__file__).resolve().parents[3]
    try:
        head = subprocess.run(['git', '-C', str(root), 'rev-parse', '--short', 'HEAD'], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', str(root), 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    return f'{head}+changes' if dirty else head
