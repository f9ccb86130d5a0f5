"""`skill-stack bench --only transport`: an RGB-D frame's trip between two processes is measured."""

import json
import math
import subprocess

import pytest

from repo_paths import CLI

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_quick_transport_bench_measures_frames_between_processes(ros_env):
    result = subprocess.run([str(CLI), 'bench', '--quick', '--only', 'transport'], env=ros_env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures['image_transport_frames'] > 0
    assert figures['image_transport_frames'] + figures['image_transport_frames_lost'] == 30
    for key in ('image_transport_ms_p50', 'image_transport_ms_p95'):
        assert math.isfinite(figures[key])
        assert figures[key] > 0
    assert figures['image_transport_ms_p95'] >= figures['image_transport_ms_p50']


def test_bad_frame_count_is_refused():
    from skill_stack.nodes.transport_probe import measure

    with pytest.raises(ValueError, match='frames must be >= 1'):
        measure(frames=0)
