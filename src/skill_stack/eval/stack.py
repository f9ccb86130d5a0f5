"""An embodiment's whole stack as a background launch, with a task client on it, for the length of a block.

The launch runs in its own session so a Ctrl-C at the terminal reaches only the evaluation, which then stops
the stack once, the way ``skill-stack launch`` expects (SIGINT, then SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

LAUNCH_FILES = {'arm': 'arm_stack', 'hand': 'hand_stack', 'quadrotor': 'quadrotor_stack'}
READY_TIMEOUT_S = 240.0  # a cold start on a loaded 2-core machine: MuJoCo, perception, torch, the scheduler
STOP_TIMEOUT_S = 30.0
DIED = '[launch]: process has died'  # what `skill-stack launch` logs when a node exits


def launch_file(embodiment: str) -> str:
    """The installed launch file of an embodiment's stack; a RuntimeError when it is not installed."""
    name = LAUNCH_FILES[embodiment]
    try:
        path = Path(get_package_share_directory('skill_stack')) / 'launch' / f'{name}.launch.yaml'
    except PackageNotFoundError as err:
        raise RuntimeError('the skill_stack package is not installed (run `make setup`)') from err
    if not path.is_file():
        raise RuntimeError(f'no launch file for the {embodiment} stack: {path}')
    return str(path)


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(encoding='utf-8', errors='replace')[-chars:]
    except OSError:
        return ''


@contextlib.contextmanager
def launched_stack(embodiment: str, scene: Path, log_path: Path,
                   ready_timeout_s: float = READY_TIMEOUT_S) -> Iterator[object]:
    """Start ``<embodiment>_stack`` on ``scene`` in real time; yield a ready TaskClient; stop both after."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from skill_stack.nodes.task_client import TaskClient  # rclpy only when a stack really runs

    command = [sys.executable, '-m', 'skill_stack.cli', 'launch', launch_file(embodiment), f'scene:={scene}',
               'real_time:=true']
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open('w', encoding='utf-8') as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=log_path.parent)
        client = None
        owns_context = not rclpy.ok()
        if owns_context:  # without rclpy's handlers, Ctrl-C raises KeyboardInterrupt instead of killing the context
            rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
        try:
            client = TaskClient(embodiment, node_name=f'skill_stack_eval_{embodiment}')
            client.launch_pid = proc.pid  # the launch process: its children are the stack's nodes
            deadline = time.monotonic() + ready_timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f'the {embodiment} stack exited with code {proc.returncode} before it was '
                                       f'ready; its log ({log_path}) ends:\n{_tail(log_path)}')
                try:
                    client.wait_ready(timeout_s=min(10.0, max(0.1, deadline - time.monotonic())))
                    break
                except TimeoutError:
                    if DIED in _tail(log_path, 200_000):
                        raise RuntimeError(f'a node of the {embodiment} stack died while it started; its log '
                                           f'({log_path}) ends:\n{_tail(log_path)}') from None
                    if time.monotonic() > deadline:
                        raise
            yield client
        finally:
            if client is not None:
                client.close()
            if owns_context:
                rclpy.try_shutdown()
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Like one Ctrl-C to ``skill-stack launch``; it stops its nodes itself, escalating if they hang."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
