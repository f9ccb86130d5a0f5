"""``skill-stack goal`` and ``skill-stack correct``: a language goal or a correction to a stack already running.

What ``ros2 action send_goal .../execute_task`` and ``ros2 topic pub
.../corrections`` would do, with the scheduler's feedback printed as it comes
and Ctrl-C cancelling the goal. ``goal`` exits 0 when the task succeeds, 1 when
it fails, 2 on a usage error or when no scheduler answers.
"""

import argparse
import json
import signal
import sys
import threading
import time
from typing import List, Optional, TextIO, Tuple


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('goal', help='send a language goal to a running stack (ExecuteTask action client)',
                       description=__doc__.split('\n\n')[0] + ' Prints feedback; Ctrl-C cancels the goal.',
                       epilog='examples:\n  skill-stack goal "put the red cube in the blue bowl"\n'
                              '  skill-stack goal --namespace quadrotor "land on the green pad" '
                              '--correction "3:no, the red one"',
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('instruction', help='what the robot should do, in words')
    p.add_argument('--namespace', default='arm', help='namespace of the robot (default: arm)')
    p.add_argument('--correction', action='append', default=[], metavar='SECONDS:TEXT', type=correction_arg,
                   help='send TEXT as a correction SECONDS after the goal is accepted (repeatable)')
    p.add_argument('--timeout', type=float, default=300.0, metavar='S',
                   help='cancel the task after S seconds (default 300)')
    p.add_argument('--json', action='store_true', help='print the outcome as one JSON object on stdout')
    p.add_argument('--wait', type=float, default=15.0, metavar='S',
                   help='how long to wait for the stack to answer (default 15)')
    p.set_defaults(handler=run_goal)

    c = sub.add_parser('correct', help='send a language correction to the running task',
                       description='Publish TEXT on <namespace>/corrections (skill_stack/Correction), '
                                   'e.g. "a bit to the left", "no, the blue one", "wait", "continue".')
    c.add_argument('text', help='the correction, in words')
    c.add_argument('--namespace', default='arm', help='namespace of the robot (default: arm)')
    c.add_argument('--source', default='operator', help='who sends it (default: operator)')
    c.add_argument('--wait', type=float, default=5.0, metavar='S',
                   help='how long to wait for the scheduler to listen (default 5)')
    c.set_defaults(handler=run_correct)


def correction_arg(value: str) -> Tuple[float, str]:
    """'SECONDS:TEXT' -> (seconds, text), for argparse."""
    seconds, sep, text = value.partition(':')
    try:
        at = float(seconds)
    except ValueError:
        at = float('nan')
    if not sep or not text.strip() or not (at >= 0.0) or at == float('inf'):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not SECONDS:TEXT with SECONDS a number >= 0 (e.g. '3.5:no, the blue one')")
    return at, text.strip()


class FeedbackPrinter:
    """Prints the scheduler's feedback when something changes: the state, the plan, the running step."""

    def __init__(self, out: TextIO = sys.stderr):
        self.out = out
        self.start = time.monotonic()
        self._last: Optional[tuple] = None

    def __call__(self, feedback) -> None:
        steps = [(s.skill, s.args_json, s.status) for s in feedback.plan]
        key = (feedback.state, feedback.current_step, tuple(steps), feedback.text)
        if key == self._last:
            return
        self._last = key
        stamp = f'{time.monotonic() - self.start:6.1f}s'
        print(f'{stamp} [{feedback.state}] {feedback.text}', file=self.out, flush=True)
        if feedback.state in ('planning', 'replanning', 'awaiting_approval') or feedback.current_step < 0:
            for i, (skill, args, status) in enumerate(steps):
                print(f'         {i + 1}. {skill} {args} [{status}]', file=self.out, flush=True)


def print_outcome(outcome, as_json: bool, out: TextIO = sys.stdout) -> None:
    if as_json:
        print(json.dumps(outcome.as_json()), file=out, flush=True)
        return
    print(('succeeded: ' if outcome.success else 'failed: ') + outcome.message, file=out)
    for i, step in enumerate(outcome.plan):
        print(f"  {i + 1}. {step['skill']} {json.dumps(step['args'])} [{step['status']}] {step['message']}", file=out)
    print(f"timings: {json.dumps(outcome.timings)}", file=out, flush=True)


def run_with_cancel(client, instruction: str, corrections: List[Tuple[float, str]], timeout: float,
                    read_world: bool, on_feedback=None):
    """``client.run`` where Ctrl-C (or SIGTERM) cancels the goal and still waits for its result; a second
    Ctrl-C gives up waiting. Returns (outcome, interrupted)."""
    stop = threading.Event()

    def on_signal(*_) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        print('cancelling the task ...', file=sys.stderr, flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = client.run(instruction, corrections, timeout, on_feedback=on_feedback or FeedbackPrinter(),
                             read_world=read_world, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop.is_set():
        outcome.message = f'cancelled by the user ({outcome.message})'
        outcome.success = False
    return outcome, stop.is_set()


def run_goal(args: argparse.Namespace) -> int:
    if not args.instruction.strip():
        print('skill-stack goal: error: the instruction is empty', file=sys.stderr)
        return 2
    from skill_stack.nodes.task_client import TaskClient

    try:
        client = TaskClient(args.namespace)
    except ValueError as exc:
        print(f'skill-stack goal: error: {exc}', file=sys.stderr)
        return 2
    try:
        try:
            client.wait_ready(args.wait, need_sim=False)
        except TimeoutError as exc:
            print(f'skill-stack goal: error: {exc}', file=sys.stderr)
            return 2
        sim = client.has_sim()
        outcome, _ = run_with_cancel(client, args.instruction, args.correction, args.timeout, read_world=sim)
        print_outcome(outcome, args.json)
        return 0 if outcome.success else 1
    finally:
        client.close()


def run_correct(args: argparse.Namespace) -> int:
    if not args.text.strip():
        print('skill-stack correct: error: the correction is empty', file=sys.stderr)
        return 2
    from skill_stack.nodes.task_client import TaskClient

    try:
        client = TaskClient(args.namespace, node_name='skill_stack_correct')
    except ValueError as exc:
        print(f'skill-stack correct: error: {exc}', file=sys.stderr)
        return 2
    try:
        # A publisher's first message is lost if it goes out before the scheduler's subscription is matched.
        deadline = time.monotonic() + args.wait
        while client.corrections.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if client.corrections.get_subscription_count() == 0:
            print(f'skill-stack correct: error: nothing listens on {client.corrections.topic_name}; '
                  'is the stack running?', file=sys.stderr)
            return 2
        client.correct(args.text.strip(), args.source)
        time.sleep(0.3)  # let DDS deliver before the node goes away
        print(f'sent to {client.corrections.topic_name}: {args.text.strip()}')
        return 0
    finally:
        client.close()
