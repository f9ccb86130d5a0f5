"""The camera extrinsics the perception node is configured with match the simulated cameras."""

import numpy as np
import pytest
import yaml

from skill_stack.sim.world import World

from repo_paths import REPO


@pytest.mark.parametrize(('embodiment', 'scene'), [('arm', 'arm_blocks'), ('hand', 'hand_cube')])
def test_configured_extrinsics_match_the_simulator(embodiment, scene):
    params = yaml.safe_load((REPO / 'config' / f'camera_sim_{embodiment}.yaml').read_text())['/**']['ros__parameters']
    with World(REPO / 'config' / 'scenes' / f'{scene}.yaml') as world:
        position, quaternion = world.camera_pose()
    assert params['camera_position'] == pytest.approx(position.tolist(), abs=1e-5)
    # q and -q are the same rotation
    assert abs(float(np.dot(params['camera_quaternion'], quaternion))) == pytest.approx(1.0, abs=1e-5)
