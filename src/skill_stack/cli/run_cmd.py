"""``skill-stack run``: one language task end to end, headless, in simulation.

Starts the scene's stack from the same launch file a person would use
(``arm_stack``, ``hand_stack`` or ``quadrotor_stack``), sends the instruction
through an ``ExecuteTask`` action client, prints the scheduler's feedback as it
comes (stderr), sends each correction SECONDS after the goal is accepted, and
always stops every process it started (also on Ctrl-C, SIGTERM, timeout or
error). Exit 0 on success, 1 on task failure, 2 on a usage or set-up error.
With ``--json`` stdout holds one JSON object (docs/architecture.md): success, message,
plan, the simulator's ground truth after the task, timings.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from skill_stack.cli.goal_cmd import FeedbackPrinter, correction_arg, print_outcome, run_with_cancel

STARTUP_TIMEOUT_S = 180.0  # the stack's processes start, the camera renders, perception sends a first scene


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('run', help='run one language task end to end in simulation (headless)',
                       description=' '.join(__doc__.replace('``', '').split('\n\n', 2)[1].split()),
                       epilog='examples:\n'
                              '  skill-stack run --scene config/scenes/arm_blocks.yaml '
                              '"put the red cube in the blue bowl"\n'
                              '  skill-stack run --scene config/scenes/arm_blocks.yaml "pick up the red cube" '
                              '--correction "2:no, the green one" --json\n'
                              '  skill-stack run --scene config/scenes/quadrotor_pads.yaml "land on the green pad" '
                              '--video out/land.mp4',
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('instruction', help='what the robot should do, in words')
    p.add_argument('--scene', required=True, metavar='SCENE.yaml',
                   help='scene file (see docs/architecture.md) to simulate')
    p.add_argument('--json', action='store_true', help='print the outcome as one JSON object on stdout')
    p.add_argument('--correction', action='append', default=[], metavar='SECONDS:TEXT', type=correction_arg,
                   help='send TEXT as a correction SECONDS after the goal is accepted (repeatable)')
    p.add_argument('--video', metavar='OUT.mp4', help="record the camera view with keypoints and the plan drawn")
    p.add_argument('--timeout', type=float, default=300.0, metavar='SECONDS',
                   help='cancel the task after SECONDS (default 300; start-up has its own limit)')
    p.add_argument('--planner', default='embedded', help='the scheduler backend: embedded (default), vlm, http')
    p.add_argument('--record', metavar='OUT.mcap', help='also record every topic to this MCAP file')
    p.add_argument('--logs', metavar='DIR', help='where the processes write their logs (default out/run/TIME)')
    p.set_defaults(handler=run)


def _error(text: str, as_json: bool = False) -> int:
    """A usage or set-up error: exit 2 (with --json, stdout still holds one JSON object)."""
    print(f'skill-stack run: error: {text}', file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({'success': False, 'message': f'error: {text}', 'plan': [], 'world': {}, 'timings': {}}),
              flush=True)
    return 2


def _launch_file(embodiment: str) -> str:
    from skill_stack.cli.launch_cmd import resolve_launch_file

    return resolve_launch_file(f'{embodiment}_stack')


class _Stack:
    """The launch description running in this process (LaunchRunner in a thread), logs in ``log_dir``."""

    def __init__(self, path: str, launch_args: dict, log_dir: Path):
        from skill_stack.launch.description import parse_launch_file
        from skill_stack.launch.runner import LaunchRunner

        self.log_path = log_dir / 'launch.log'
        self._log = open(self.log_path, 'w', encoding='utf-8')
        self.runner = LaunchRunner(parse_launch_file(path, launch_args), log_dir=str(log_dir), stdout=self._log)
        self.exit_code: Optional[int] = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.exit_code = self.runner.run(install_signal_handlers=False)

    def start(self) -> None:
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.runner.shutdown()
        self.thread.join(30.0)
        if self.thread.is_alive():  # a second shutdown escalates to SIGKILL at once
            self.runner.shutdown()
            self.thread.join(15.0)
        self._log.close()


def run(args: argparse.Namespace) -> int:
    from skill_stack.sim.scene_file import SceneFileError, load_scene

    if not args.instruction.strip():
        return _error('the instruction is empty', args.json)
    if not args.timeout > 0:
        return _error(f'--timeout must be a positive number of seconds, got {args.timeout}', args.json)
    try:
        scene = load_scene(args.scene)
    except SceneFileError as exc:
        return _error(str(exc), args.json)
    if args.video and Path(args.video).suffix.lower() not in ('.mp4', '.avi'):
        return _error(f"--video '{args.video}' must end in .mp4 or .avi", args.json)
    try:
        launch_file = _launch_file(scene.embodiment)
    except ValueError as exc:
        return _error(f'no stack for the {scene.embodiment}: {exc}', args.json)
    log_dir = Path(args.logs or Path('out', 'run', datetime.datetime.now().strftime('%Y%m%d-%H%M%S')))
    log_dir.mkdir(parents=True, exist_ok=True)
    launch_args = {'scene': os.path.abspath(args.scene), 'real_time': 'true', 'planner': args.planner}
    if args.record:
        launch_args.update(record='true', record_path=os.path.abspath(args.record))

    # SIGTERM (a supervisor, `timeout`) ends the run like Ctrl-C: cancel, then tear down.
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    stack = client = video = None
    try:
        try:
            stack = _Stack(launch_file, launch_args, log_dir)
        except ValueError as exc:
            return _error(str(exc), args.json)
        stack.start()
        print(f'starting the {scene.embodiment} stack ({Path(launch_file).name}); logs in {log_dir}',
              file=sys.stderr, flush=True)
        from skill_stack.nodes.task_client import TaskClient

        client = TaskClient(scene.embodiment, node_name='skill_stack_run')
        try:
            _wait_ready(client, stack)
        except TimeoutError as exc:
            return _error(f'{exc} (launch log: {stack.log_path})', args.json)
        printer = FeedbackPrinter()
        on_feedback = printer
        if args.video:
            from skill_stack.nodes.task_video import TaskVideo, record_debug_images

            video = TaskVideo(args.video)
            record_debug_images(client.node, video)

            def on_feedback(feedback):  # the printer, and the video's overlay
                printer(feedback)
                video.set_status(feedback.state, feedback.text,
                                 [(f'{s.skill} {s.args_json}', s.status) for s in feedback.plan],
                                 feedback.current_step)
        print(f'goal: {args.instruction}', file=sys.stderr, flush=True)
        outcome, interrupted = run_with_cancel(client, args.instruction, args.correction, args.timeout,
                                               read_world=True, on_feedback=on_feedback)
        if video is not None:
            video.set_status('done' if outcome.success else 'failed', outcome.message,
                             [(f"{s['skill']} {json.dumps(s['args'])}", s['status']) for s in outcome.plan], -1)
            time.sleep(0.5)  # a last frame or two with the outcome written on it
        print_outcome(outcome, args.json)
        if interrupted:
            return 1
        return 0 if outcome.success else 1
    except KeyboardInterrupt:
        print('interrupted; stopping the stack', file=sys.stderr, flush=True)
        return 1
    finally:
        if video is not None:
            path = video.close()
            print(f'video: {path}' if path else 'video: no camera frame arrived, nothing written',
                  file=sys.stderr, flush=True)
        if client is not None:
            client.close()
        if stack is not None:
            stack.stop()
        signal.signal(signal.SIGTERM, previous)


def _wait_ready(client, stack: _Stack) -> None:
    """Until the stack answers, failing early when the launch itself has ended (a node that cannot start)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        ended = stack.runner.ended()
        if ended or not stack.running:
            logs = ', '.join(str(stack.log_path.parent / f'{label}.log') for label in ended)
            raise TimeoutError(f"the stack's {', '.join(ended) or 'launch'} stopped during start-up"
                               + (f' (see {logs})' if logs else ''))
        try:
            client.wait_ready(min(5.0, max(0.1, deadline - time.monotonic())))
            return
        except TimeoutError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f'the stack was not ready within {STARTUP_TIMEOUT_S:g} s: {exc}') from None
