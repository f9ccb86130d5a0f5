"""``skill-stack record OUT.mcap``: record a running stack's topics to an MCAP file (``ros2 bag record``).

It runs the recorder node in this process until Ctrl-C or ``--duration``, then
closes the file with its index and prints what it wrote. Exit 0 when messages
were recorded, 1 when none came, 2 on a usage error (such as an unwritable path).
"""

import argparse
import sys
import time

from skill_stack.recording.writer import COMPRESSIONS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('record', help='record topics of a running stack to an MCAP file',
                       description=__doc__.split('\n\n')[0],
                       epilog='examples:\n  skill-stack record run.mcap --duration 10\n'
                              '  skill-stack record arm.mcap --topics /arm/joint_states /clock\n'
                              '  skill-stack record cam.mcap --regex "/arm/camera/.*"',
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('path', metavar='OUT.mcap', help='file to write')
    p.add_argument('--topics', nargs='+', default=[], metavar='TOPIC', help='topics to record (default: all)')
    p.add_argument('--regex', default='', help='also record topics whose full name matches this regex')
    p.add_argument('--include-hidden', action='store_true', help='with all or --regex, hidden topics too')
    p.add_argument('--duration', type=float, default=0.0, metavar='S', help='stop after S seconds (default: Ctrl-C)')
    p.add_argument('--compression', choices=list(COMPRESSIONS), default='zstd', help='chunk compression')
    p.add_argument('--overwrite', action='store_true', help='replace OUT.mcap if it exists')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.duration < 0:
        print(f'skill-stack record: error: --duration must be >= 0, got {args.duration}', file=sys.stderr)
        return 2
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.signals import SignalHandlerOptions

    from skill_stack.nodes.recorder import RecorderNode

    overrides = [Parameter('path', value=args.path), Parameter('topics', value=' '.join(args.topics)),
                 Parameter('regex', value=args.regex), Parameter('include_hidden', value=args.include_hidden),
                 Parameter('compression', value=args.compression), Parameter('overwrite', value=args.overwrite)]
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)  # Ctrl-C raises here and the file is closed
    try:
        try:
            node = RecorderNode('skill_stack_record', parameter_overrides=overrides)
        except ValueError as exc:
            print(f'skill-stack record: error: {exc}', file=sys.stderr)
            return 2
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        end = time.monotonic() + args.duration if args.duration else float('inf')
        try:
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.1)
        except KeyboardInterrupt:
            pass
        executor.shutdown()
        node.destroy_node()
        counts = node.recording.counts
    finally:
        rclpy.try_shutdown()
    for topic, count in sorted(counts.items()):
        print(f'{count:8d}  {topic}', file=sys.stderr)
    total = sum(counts.values())
    print(f'{total} messages on {len(counts)} topics in {args.path}', file=sys.stderr)
    return 0 if total else 1
