"""``skill-stack``: one command for launching, running and evaluating the stack.

Exit codes: 0 success, 1 failure of what was run, 2 usage or set-up error.
"""

import argparse
import sys
from typing import List, Optional

from skill_stack.cli import (
    bench_cmd,
    eval_cmd,
    goal_cmd,
    launch_cmd,
    record_cmd,
    run_cmd,
    skill_cmd,
    teleop_cmd,
    train_cmd,
)

SUBCOMMANDS = (launch_cmd, run_cmd, goal_cmd, skill_cmd, train_cmd, bench_cmd, eval_cmd, teleop_cmd, record_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='skill-stack',
        description='A skill-centric ROS 2 robot stack that follows language. '
                    'Run `skill-stack COMMAND --help` for the options of each command.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return args.handler(args)
