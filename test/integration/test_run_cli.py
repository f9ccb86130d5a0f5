"""`skill-stack run` end to end: the full arm stack from its launch file, a language goal, the JSON outcome with
the simulator's ground truth, a video, and no process left behind (also after Ctrl-C)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from repo_paths import CLI, FIXTURES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCENE = str(FIXTURES / 'scenes' / 'two_cubes_bowl.yaml')


def _processes_with(marker: str) -> list:
    """Processes whose environment carries `marker` (the test's private ROS log dir)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if marker.encode() in Path(f'/proc/{pid}/environ').read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_run_json_success_matches_the_world(ros_env, tmp_path):
    video = tmp_path / 'run.mp4'
    result = subprocess.run([str(CLI), 'run', '--scene', SCENE, 'put the red cube in the bowl', '--json',
                             '--video', str(video), '--logs', str(tmp_path / 'logs')],
                            env=ros_env, capture_output=True, text=True, timeout=600)
    outcome = json.loads(result.stdout)
    assert result.returncode == (0 if outcome['success'] else 1), result.stderr
    assert outcome['success'], (outcome['message'], result.stderr[-3000:])
    # A step that failed and was re-planned stays in the record; the ones that worked are the pick and place.
    assert [s['skill'] for s in outcome['plan'] if s['status'] == 'succeeded'] == ['pick', 'place']
    cube = np.array(outcome['world']['objects']['red_cube']['position'])
    bowl = np.array(outcome['world']['objects']['green_bowl']['position'])
    assert np.linalg.norm(cube[:2] - bowl[:2]) < 0.05
    assert 'arm' in outcome['world']['robots']
    assert 0 < outcome['timings']['goal_to_first_motion_s'] < outcome['timings']['total_s']
    assert '[executing]' in result.stderr
    assert f'video: {video}' in result.stderr
    capture = cv2.VideoCapture(str(video))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) > 20
    ok, frame = capture.read()
    assert ok
    assert frame.shape == (480, 640, 3)
    assert _processes_with(ros_env['ROS_LOG_DIR']) == []


def test_ctrl_c_cancels_and_tears_down(ros_env, tmp_path):
    run = subprocess.Popen([str(CLI), 'run', '--scene', SCENE, 'put the red cube in the bowl', '--json',
                            '--logs', str(tmp_path / 'logs')],
                           env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ''
        deadline = time.monotonic() + 300
        while '[executing]' not in seen and time.monotonic() < deadline and run.poll() is None:
            seen += run.stderr.readline()
        assert '[executing]' in seen, seen
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, err
    outcome = json.loads(out)
    assert not outcome['success']
    assert 'cancelled by the user' in outcome['message']
    time.sleep(1.0)
    assert _processes_with(ros_env['ROS_LOG_DIR']) == []
