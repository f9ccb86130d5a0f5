"""``skill-stack launch``: run a ROS 2 YAML launch file without ROS 2's launch."""

import argparse
import logging
import os
import sys
from typing import Dict, List

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

from skill_stack.launch.description import LaunchFileError, declared_args, parse_launch_file
from skill_stack.launch.runner import LaunchRunner

PACKAGE = 'skill_stack'


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        'launch',
        help='run a YAML launch file (like `ros2 launch skill_stack FILE`)',
        description='Run a ROS 2 YAML launch file: a path, or the name of one of the '
                    "package's launch files (with or without .launch.yaml). Ctrl-C stops "
                    'every process (SIGINT, then SIGTERM and SIGKILL after timeouts).',
        epilog='examples:\n  skill-stack launch sim\n  skill-stack launch sim.launch.yaml '
               'scene:=scenes/arm_blocks.yaml\n  skill-stack launch --show-args sim',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('file', metavar='FILE_OR_NAME', help='launch file path or package launch file name')
    p.add_argument('launch_args', nargs='*', metavar='name:=value', help='launch arguments')
    p.add_argument('--show-args', action='store_true', help='list the launch arguments and exit')
    p.add_argument('--sigint-timeout', type=float, default=5.0, metavar='S',
                   help='seconds to wait after SIGINT before SIGTERM (default 5)')
    p.add_argument('--sigterm-timeout', type=float, default=5.0, metavar='S',
                   help='seconds to wait after SIGTERM before SIGKILL (default 5)')
    p.set_defaults(handler=run)


def resolve_launch_file(name: str) -> str:
    """A path as given, or a launch file of the package found by name."""
    if os.path.isfile(name):
        return name
    if os.sep in name:
        raise LaunchFileError(name, None, 'launch file does not exist')
    try:
        share = os.path.join(get_package_share_directory(PACKAGE), 'launch')
    except PackageNotFoundError:
        raise LaunchFileError(name, None, f"not a file, and package '{PACKAGE}' is not built") from None
    for candidate in (name, f'{name}.launch.yaml', f'{name}.yaml'):
        path = os.path.join(share, candidate)
        if os.path.isfile(path):
            return path
    available = sorted(f for f in os.listdir(share) if f.endswith('.yaml')) if os.path.isdir(share) else []
    raise LaunchFileError(name, None, 'no such file or package launch file; available: '
                          + (', '.join(available) or 'none'))


def parse_launch_args(items: List[str]) -> Dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition(':=')
        if not sep or not name:
            raise ValueError(f"launch arguments are name:=value, got '{item}'")
        out[name] = value
    return out


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO)
    try:
        launch_args = parse_launch_args(args.launch_args)
        path = resolve_launch_file(args.file)
        if args.show_args:
            for decl in declared_args(path):
                default = 'required' if decl.default is None else f"default '{decl.default}'"
                print(f'{decl.name} ({default}): {decl.description}')
            return 0
        description = parse_launch_file(path, launch_args)
    except (LaunchFileError, ValueError) as exc:
        print(f'skill-stack launch: error: {exc}', file=sys.stderr)
        return 2
    runner = LaunchRunner(description, sigint_timeout=args.sigint_timeout,
                          sigterm_timeout=args.sigterm_timeout)
    return runner.run()
