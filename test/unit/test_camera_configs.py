"""The camera extrinsics the perception node is configured with match the simulated cameras."""

import math

import mujoco
import numpy as np
import pytest
import yaml

from skill_stack.perception.geometry import mounted_camera_pose, pose_matrix
from skill_stack.sim.world import World

from repo_paths import REPO


def _extrinsics(name):
    return yaml.safe_load((REPO / 'config' / f'camera_sim_{name}.yaml').read_text())['/**']['ros__parameters']


@pytest.mark.parametrize(('embodiment', 'scene'), [('arm', 'arm_blocks'), ('hand', 'hand_cube')])
def test_configured_extrinsics_match_the_simulator(embodiment, scene):
    params = _extrinsics(embodiment)
    with World(REPO / 'config' / 'scenes' / f'{scene}.yaml') as world:
        position, quaternion = world.camera_pose()
    assert params['camera_position'] == pytest.approx(position.tolist(), abs=1e-5)
    # q and -q are the same rotation
    assert abs(float(np.dot(params['camera_quaternion'], quaternion))) == pytest.approx(1.0, abs=1e-5)


def test_quadrotor_body_camera_extrinsics_match_the_simulator():
    """Body-frame extrinsics: the sim's camera pose seen from its body, wherever the body flies."""
    params = _extrinsics('quadrotor')
    body_from_camera = pose_matrix(params['camera_position'], params['camera_quaternion'])
    with World(REPO / 'config' / 'scenes' / 'quadrotor_pads.yaml') as world:
        root = world.model.joint('root').qposadr[0]
        rng = np.random.default_rng(0)
        poses = [None]  # resting on its legs, as built
        for _ in range(3):  # flying: tilted, turned, anywhere
            axis = rng.normal(size=3)
            angle = rng.uniform(0.0, math.radians(40.0))
            poses.append((np.r_[rng.uniform(-3.0, 3.0, 2), rng.uniform(1.0, 7.0)],
                          np.r_[math.cos(angle / 2), math.sin(angle / 2) * axis / np.linalg.norm(axis)]))
        for pose in poses:
            if pose is not None:
                world.data.qpos[root:root + 3], world.data.qpos[root + 3:root + 7] = pose
                mujoco.mj_forward(world.model, world.data)
            odometry = world.odometry()
            position, quaternion = world.camera_pose()
            # What the simulator's mount is, read from the model ...
            seen = np.linalg.inv(pose_matrix(odometry['position'], odometry['quaternion'])) @ pose_matrix(
                position, quaternion)
            assert body_from_camera[:3, 3] == pytest.approx(seen[:3, 3], abs=1e-5)
            assert body_from_camera[:3, :3] == pytest.approx(seen[:3, :3], abs=1e-5)
            # ... and what the perception node makes of odometry and the configured mount.
            composed = mounted_camera_pose(odometry['position'], odometry['quaternion'], body_from_camera)
            assert composed == pytest.approx(pose_matrix(position, quaternion), abs=1e-5)
