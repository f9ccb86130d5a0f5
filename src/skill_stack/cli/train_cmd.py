"""``skill-stack train SKILL``: re-create a skill's checkpoint from scratch on CPU.

Generates demonstrations with the scripted expert in simulation, trains the
keypoint-conditioned policy and the end-to-end baseline, and writes both
checkpoints with their config, seed, metrics and this command.
"""

import argparse
import logging
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('train', help='re-create a skill checkpoint (demonstrations + behaviour cloning)',
                       description=__doc__.split('\n\n')[0] + '. ' + __doc__.split('\n\n')[1].replace('\n', ' '))
    from skill_stack.skills.library import LIBRARY

    p.add_argument('skill', metavar='SKILL', help=f"one of: {', '.join(LIBRARY)}")
    p.add_argument('--episodes', type=int, default=None, help="expert demonstrations (default: the skill's own)")
    p.add_argument('--epochs', type=int, default=None, help="training epochs (default: the skill's own)")
    p.add_argument('--seed', type=int, default=0, help='seed of the demonstration tasks and training (default 0)')
    p.add_argument('--out', type=Path, default=None, metavar='DIR',
                   help="checkpoint directory (default: the package's skills/checkpoints)")
    p.add_argument('--no-baseline', action='store_true', help='skip the end-to-end baseline')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from skill_stack.skills.library import LIBRARY

    if args.skill not in LIBRARY:
        print(f"skill-stack train: error: unknown skill '{args.skill}'; trainable skills: "
              f"{', '.join(LIBRARY)}", file=sys.stderr)
        return 2
    for name in ('episodes', 'epochs'):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f'skill-stack train: error: --{name} must be at least 1, got {value}', file=sys.stderr)
            return 2
    logging.basicConfig(level=logging.INFO, format='[train] %(message)s', stream=sys.stderr)
    from skill_stack.skills.evaluate import train_skill

    path = train_skill(args.skill, args.episodes, args.epochs, args.seed, args.out, baseline=not args.no_baseline)
    print(path)
    return 0
