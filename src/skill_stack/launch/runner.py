"""Start, watch and stop the processes of a launch description.

Behaves like ``ros2 launch`` for what the project needs: each node runs in its
own process group with its output prefixed by its name; a process that dies
is reported with its exit code (and restarted if it asked for ``respawn``);
shutdown sends SIGINT to every process, waits, then escalates to SIGTERM and
SIGKILL, so no child outlives the runner.
"""

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, TextIO

from skill_stack.launch.description import LaunchDescription, NodeSpec, node_command

LOG = logging.getLogger('launch')

CLEAN_EXIT_CODES = {0, -signal.SIGINT, 128 + signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGTERM}


@dataclass
class _Process:
    spec: NodeSpec
    label: str
    command: List[str]
    popen: Optional[subprocess.Popen] = None
    reader: Optional[threading.Thread] = None
    log_file: Optional[TextIO] = None
    restart_at: Optional[float] = None
    reported: bool = False  # the current popen's exit has been reported
    exit_codes: List[int] = field(default_factory=list)


class LaunchRunner:
    """Runs a ``LaunchDescription`` until its processes end or ``shutdown()`` is called."""

    def __init__(self, description: LaunchDescription, *, sigint_timeout: float = 5.0,
                 sigterm_timeout: float = 5.0, log_dir: Optional[str] = None,
                 stdout: TextIO = sys.stdout, env: Optional[dict] = None):
        self.description = description
        self.sigint_timeout = sigint_timeout
        self.sigterm_timeout = sigterm_timeout
        self.stdout = stdout
        self.env = dict(os.environ if env is None else env)
        # Children print as they go, not when their pipe buffer fills.
        self.env.setdefault('PYTHONUNBUFFERED', '1')
        self.env.setdefault('RCUTILS_COLORIZED_OUTPUT', '0')
        self._tmp = tempfile.TemporaryDirectory(prefix='skill_stack_launch_')
        self.log_dir = log_dir or self._tmp.name
        os.makedirs(self.log_dir, exist_ok=True)
        self._print_lock = threading.Lock()
        self._shutdown = threading.Event()
        self._escalate = threading.Event()
        self._failed = False
        self.processes: List[_Process] = []
        counts: dict = {}
        for spec in description.nodes:
            counts[spec.label] = counts.get(spec.label, 0) + 1
            label = f'{spec.label}-{counts[spec.label]}'
            self.processes.append(_Process(spec, label, node_command(spec, self._tmp.name)))

    # -- public -----------------------------------------------------------

    def start(self) -> None:
        for proc in self.processes:
            self._spawn(proc)

    def shutdown(self) -> None:
        """Ask every process to stop; a second call escalates at once."""
        if self._shutdown.is_set():
            self._escalate.set()
        self._shutdown.set()

    def run(self, install_signal_handlers: bool = True) -> int:
        """Start everything, supervise until done, return 0 or 1 (a process failed)."""
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: self.shutdown())
        if not self.processes:
            self._say('launch', 'nothing to launch: the description has no nodes')
            return 0
        self.start()
        try:
            while not self._shutdown.wait(0.1):
                if not self._supervise():
                    break
        finally:
            self._stop_all()
            self._tmp.cleanup()
        return 1 if self._failed else 0

    def ended(self) -> List[str]:
        """Labels of processes that have exited for good (not waiting for a respawn)."""
        return [p.label for p in self.processes
                if p.popen is not None and p.popen.poll() is not None and not p.spec.respawn]

    @property
    def pids(self) -> List[int]:
        return [p.popen.pid for p in self.processes if p.popen is not None]

    # -- supervision ------------------------------------------------------

    def _spawn(self, proc: _Process) -> None:
        if proc.log_file is None:
            proc.log_file = open(os.path.join(self.log_dir, f'{proc.label}.log'), 'a', encoding='utf-8')
        proc.popen = subprocess.Popen(
            proc.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        proc.restart_at = None
        proc.reported = False
        self._say('launch', f'process started with pid [{proc.popen.pid}]: {proc.label}')
        proc.reader = threading.Thread(target=self._pump, args=(proc, proc.popen), daemon=True)
        proc.reader.start()

    def _pump(self, proc: _Process, popen: subprocess.Popen) -> None:
        for raw in iter(popen.stdout.readline, b''):
            line = raw.decode('utf-8', errors='replace').rstrip('\n')
            proc.log_file.write(line + '\n')
            proc.log_file.flush()
            if proc.spec.output in ('screen', 'both'):
                self._say(proc.label, line, raw=True)
        popen.stdout.close()

    def _supervise(self) -> bool:
        """Reap exited processes and respawn; False once nothing is left to run."""
        alive = False
        now = time.monotonic()
        for proc in self.processes:
            if proc.restart_at is not None:
                if now >= proc.restart_at:
                    self._spawn(proc)
                alive = True
                continue
            code = proc.popen.poll()
            if code is None:
                alive = True
                continue
            if proc.reported:
                continue
            self._report_exit(proc, code)
            if proc.spec.respawn:
                proc.restart_at = now + proc.spec.respawn_delay
                alive = True
        return alive

    def _report_exit(self, proc: _Process, code: int) -> None:
        proc.exit_codes.append(code)
        proc.reported = True
        if proc.reader is not None:
            proc.reader.join(timeout=1.0)
        if code == 0:
            self._say('launch', f'process has finished cleanly [pid {proc.popen.pid}]: {proc.label}')
        else:
            self._failed = True
            self._say('launch', f'process has died [pid {proc.popen.pid}, exit code {code}, '
                      f"cmd '{' '.join(proc.command)}']: {proc.label}", level='ERROR')

    def _stop_all(self) -> None:
        running = [p for p in self.processes if p.popen is not None and p.popen.poll() is None]
        for proc in running:
            self._signal(proc, signal.SIGINT)
        deadline_int = time.monotonic() + self.sigint_timeout
        deadline_term = deadline_int + self.sigterm_timeout
        sent_term = False
        while True:
            running = [p for p in running if p.popen.poll() is None]
            if not running:
                break
            now = time.monotonic()
            if not sent_term and (now >= deadline_int or self._escalate.is_set()):
                for proc in running:
                    self._say('launch', f'process did not stop on SIGINT, sending SIGTERM: {proc.label}',
                              level='WARN')
                    self._signal(proc, signal.SIGTERM)
                sent_term = True
                self._escalate.clear()
            elif sent_term and (now >= deadline_term or self._escalate.is_set()):
                for proc in running:
                    self._say('launch', f'process did not stop on SIGTERM, sending SIGKILL: {proc.label}',
                              level='ERROR')
                    self._signal(proc, signal.SIGKILL)
                    proc.popen.wait()
                break
            time.sleep(0.05)
        for proc in self.processes:
            if proc.popen is None:
                continue
            code = proc.popen.wait()
            # Kill what the node itself may have left in its process group.
            self._signal(proc, signal.SIGKILL, quiet=True)
            if not proc.reported:
                proc.exit_codes.append(code)
                proc.reported = True
                if code in CLEAN_EXIT_CODES:
                    self._say('launch', f'process has finished cleanly [pid {proc.popen.pid}]: {proc.label}')
                else:
                    self._failed = True
                    self._say('launch', f'process has died [pid {proc.popen.pid}, exit code {code}]: '
                              f'{proc.label}', level='ERROR')
            if proc.reader is not None:
                proc.reader.join(timeout=1.0)
            if proc.log_file is not None:
                proc.log_file.close()

    def _signal(self, proc: _Process, sig: int, quiet: bool = False) -> None:
        try:
            os.killpg(proc.popen.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            if not quiet:
                self._say('launch', f'cannot signal {proc.label}: {exc}', level='ERROR')

    def _say(self, label: str, message: str, level: str = 'INFO', raw: bool = False) -> None:
        text = f'[{label}] {message}' if raw else f'[{level}] [{label}]: {message}'
        with self._print_lock:
            self.stdout.write(text + '\n')
            self.stdout.flush()
