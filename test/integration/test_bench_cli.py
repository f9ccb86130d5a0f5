"""`skill-stack bench`: figures come out as JSON; a bad layer name is a usage error."""

import json
import subprocess

import pytest

from repo_paths import CLI

pytestmark = pytest.mark.integration


def test_unknown_layer_is_a_usage_error(ros_env):
    result = subprocess.run([str(CLI), 'bench', '--only', 'nope'], env=ros_env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert 'unknown layer(s) nope' in result.stderr


@pytest.mark.slow
def test_quick_sim_bench_reports_measured_figures(ros_env):
    result = subprocess.run([str(CLI), 'bench', '--quick', '--only', 'sim'], env=ros_env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures['sim_physics_steps_per_s_p50'] > 0
    assert figures['sim_render_rgbd_ms_p50'] > 0
    assert figures['sim_rtf'] > 0
    assert figures['sim_ros_joint_state_rate_hz'] > 0
    assert figures['sim_ros_command_to_state_samples'] > 0


def test_headline_figures_gather_the_layers_keys():
    from skill_stack.cli.bench_cmd import headline

    figures = {'skill_reach_learned_success': 0.9, 'skill_reach_expert_success': 1.0,
               'skill_land_learned_success': 1.0, 'skill_reach_policy_inference_ms_p50': 0.3,
               'skill_land_policy_inference_ms_p50': 0.5, 'skill_grasp_policy_inference_ms_p50': 0.8}
    assert headline(figures) == {'skill_success': {'reach': 0.9, 'land': 1.0}, 'policy_inference_ms_p50': 0.5}
    assert headline({'control_rate_hz': 19.9}) == {}
