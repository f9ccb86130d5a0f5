"""The perception core on frames the simulator renders, and on bad input: a status, never an exception."""

import math
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np
import pytest

from skill_stack.perception import pipeline
from skill_stack.perception.bench import camera_model
from skill_stack.perception.geometry import fit_support_plane, yaw_quaternion
from skill_stack.perception.pipeline import KeepOut, PerceptionConfig, ScenePerception, perceive
from skill_stack.perception.types import CameraModel
from skill_stack.sim.scene_file import load_scene, parse_scene
from skill_stack.sim.world import World

from repo_paths import REPO

SCENES = REPO / 'config' / 'scenes'


def render(scene):
    """(rgb, depth, camera, ground-truth positions by name) of a scene file or mapping."""
    spec = parse_scene(scene) if isinstance(scene, dict) else load_scene(scene)
    with World(spec) as world:
        rgb, depth = world.render()
        truth = {name: np.array(pose['position']) for name, pose in world.ground_truth()['objects'].items()}
        return rgb, depth, camera_model(world), truth, spec


@pytest.fixture(scope='module')
def arm_frame():
    return render(SCENES / 'arm_blocks.yaml')


@pytest.fixture(scope='module')
def arm_scene(arm_frame):
    rgb, depth, camera, _, _ = arm_frame
    return ScenePerception(PerceptionConfig.for_embodiment('arm')).perceive(rgb, depth, camera, stamp=12.5)


def nearest(scene, position):
    return min(scene.objects, key=lambda o: np.linalg.norm(o.position - position))


def test_every_object_of_the_arm_scene_is_found_named_and_placed(arm_frame, arm_scene):
    _, _, _, truth, spec = arm_frame
    assert arm_scene.status == 'ok'
    assert arm_scene.stamp == 12.5
    assert arm_scene.support_height == pytest.approx(0.0, abs=0.002)
    assert len(arm_scene.objects) == len(spec.objects)  # the arm itself is not an object
    for obj in spec.objects:
        seen = nearest(arm_scene, truth[obj.name])
        assert np.linalg.norm(seen.position - truth[obj.name]) < 0.01, obj.name
        assert (seen.label, seen.color) == (obj.shape, obj.color)
        assert seen.extent[2] == pytest.approx(obj.height, abs=0.006)
        assert 0.0 < seen.confidence <= 1.0
    assert [o.id for o in arm_scene.objects] == [f'obj_{i}' for i in range(len(spec.objects))]


def test_keypoints_and_affordances_of_the_rendered_objects(arm_frame, arm_scene):
    _, _, _, truth, _ = arm_frame
    cube = nearest(arm_scene, truth['red_cube'])
    left, right = cube.keypoint('left').position, cube.keypoint('right').position
    front, back = cube.keypoint('front').position, cube.keypoint('back').position
    assert left[1] > right[1]
    assert front[0] < back[0]
    assert np.linalg.norm(left - right) == pytest.approx(0.04, abs=0.01)  # a 4 cm cube
    assert cube.keypoint('grasp').width == pytest.approx(0.04, abs=0.005)
    u0, v0, u1, v1 = cube.bbox
    u, v = cube.keypoint('center').pixel
    assert u0 <= u <= u1
    assert v0 <= v <= v1
    assert cube.affordances['graspable'] == 1.0
    bowl = nearest(arm_scene, truth['blue_bowl'])
    assert bowl.keypoint('opening').position[2] == pytest.approx(0.06, abs=0.005)
    assert bowl.affordances['container'] == 1.0
    assert nearest(arm_scene, truth['purple_pad']).affordances['landable'] == 1.0


def test_the_hand_is_not_an_object_and_its_scene_is_found():
    rgb, depth, camera, truth, spec = render(SCENES / 'hand_cube.yaml')
    scene = ScenePerception(PerceptionConfig.for_embodiment('hand')).perceive(rgb, depth, camera)
    assert sorted((o.color, o.label) for o in scene.objects) == [('green', 'pad'), ('red', 'box')]
    for obj in spec.objects:
        assert np.linalg.norm(nearest(scene, truth[obj.name]).position - truth[obj.name]) < 0.01


def test_like_coloured_objects_one_behind_the_other_stay_two_and_colours_do_not_bleed():
    rgb, depth, camera, truth, _ = render({'embodiment': 'arm', 'objects': [
        {'name': 'front', 'shape': 'box', 'color': 'red', 'size': [0.05, 0.05, 0.1], 'position': [0.5, 0.0]},
        {'name': 'back', 'shape': 'box', 'color': 'red', 'size': [0.04, 0.04, 0.04], 'position': [0.42, 0.03]},
        {'name': 'can', 'shape': 'cylinder', 'color': 'black', 'size': [0.025, 0.08], 'position': [0.45, -0.2]},
        {'name': 'ball', 'shape': 'sphere', 'color': 'purple', 'size': [0.03], 'position': [0.38, -0.2]},
    ]})
    scene = perceive(rgb, depth, camera, config=PerceptionConfig.for_embodiment('arm'))
    assert len(scene.objects) == 4
    for name, (label, color) in {'front': ('box', 'red'), 'back': ('box', 'red'), 'can': ('cylinder', 'black'),
                                 'ball': ('sphere', 'purple')}.items():
        seen = nearest(scene, truth[name])
        assert (seen.label, seen.color) == (label, color), name
        assert np.linalg.norm(seen.position - truth[name]) < 0.015, name


def test_the_robot_base_is_kept_out_only_where_declared(arm_frame):
    rgb, depth, camera, _, spec = arm_frame
    plain = perceive(rgb, depth, camera)  # no keep-out: the arm's base column stands on the table
    assert len(plain.objects) == len(spec.objects) + 1
    assert min(np.hypot(*o.position[:2]) for o in plain.objects) < 0.05
    custom = ScenePerception(PerceptionConfig(keep_out=(KeepOut(0.0, 0.0, 0.1),))).perceive(rgb, depth, camera)
    assert len(custom.objects) == len(spec.objects)
    with pytest.raises(ValueError, match='embodiment'):
        PerceptionConfig.for_embodiment('submarine')


def test_the_callers_mask_removes_what_it_covers(arm_frame, arm_scene):
    rgb, depth, camera, truth, _ = arm_frame
    mask = np.zeros(depth.shape, bool)
    u0, v0, u1, v1 = nearest(arm_scene, truth['red_cube']).bbox
    mask[v0:v1 + 1, u0:u1 + 1] = True
    scene = ScenePerception(PerceptionConfig.for_embodiment('arm')).perceive(rgb, depth, camera, exclude_mask=mask)
    assert len(scene.objects) == len(arm_scene.objects) - 1
    assert all(np.linalg.norm(o.position - truth['red_cube']) > 0.05 for o in scene.objects)


def test_same_frame_same_scene_and_depth_in_millimetres(arm_frame, arm_scene):
    rgb, depth, camera, _, _ = arm_frame
    runner = ScenePerception(PerceptionConfig.for_embodiment('arm'))
    again = runner.perceive(rgb, depth, camera)
    assert [(o.label, o.color, o.position.tolist()) for o in again.objects] == \
        [(o.label, o.color, o.position.tolist()) for o in arm_scene.objects]
    millimetres = runner.perceive(rgb, np.round(depth * 1000.0).astype(np.uint16), camera)
    assert len(millimetres.objects) == len(arm_scene.objects)
    for a, b in zip(millimetres.objects, arm_scene.objects, strict=True):
        assert a.label == b.label
        assert np.linalg.norm(a.position - b.position) < 0.005


def test_a_still_camera_reuses_its_table_and_a_moved_one_looks_again(arm_frame, arm_scene, monkeypatch):
    rgb, depth, camera, _, _ = arm_frame
    runner = ScenePerception(PerceptionConfig.for_embodiment('arm'))
    runner.perceive(rgb, depth, camera)
    fits = []
    monkeypatch.setattr(pipeline, 'fit_support_plane', lambda *a, **k: fits.append(1) or fit_support_plane(*a, **k))
    again = runner.perceive(rgb, depth, camera)
    assert fits == []
    assert len(again.objects) == len(arm_scene.objects)
    for a, b in zip(again.objects, arm_scene.objects, strict=True):
        assert a.position == pytest.approx(b.position, abs=0.001)
    moved = CameraModel(camera.fx, camera.fy, camera.cx, camera.cy, camera.width, camera.height,
                        camera.world_from_camera + _shift(0.001))
    runner.perceive(rgb, depth, moved)
    assert fits == [1]
    empty = runner.perceive(rgb, np.zeros_like(depth), camera)  # a bad frame in between does not matter
    assert empty.status.startswith('depth has no valid pixels')


def _shift(dz: float) -> np.ndarray:
    shift = np.zeros((4, 4))
    shift[2, 3] = dz
    return shift


@pytest.mark.parametrize('embodiment', ['arm', 'hand'])
def test_an_empty_table_and_nothing_but_the_robot(embodiment):
    rgb, depth, camera, _, _ = render({'embodiment': embodiment, 'objects': []})
    scene = ScenePerception(PerceptionConfig.for_embodiment(embodiment)).perceive(rgb, depth, camera)
    assert scene.objects == []
    assert scene.status == 'no objects on the support surface'
    assert scene.support_height == pytest.approx(0.0, abs=0.002)


def bad_camera(**changes):
    values = {'fx': 600.0, 'fy': 600.0, 'cx': 319.5, 'cy': 239.5, 'width': 640, 'height': 480,
              'world_from_camera': np.eye(4)}
    values.update(changes)
    return CameraModel(**values)


LEVEL = np.array([[0.0, 0.0, 1.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
GOOD_RGB = np.zeros((480, 640, 3), np.uint8)
GOOD_DEPTH = np.ones((480, 640), np.float32)


@pytest.mark.parametrize(('rgb', 'depth', 'camera', 'mask', 'status'), [
    (GOOD_RGB, np.ones((240, 320), np.float32), bad_camera(), None, 'differ in size'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(fx=0.0, fy=0.0, cx=0.0, cy=0.0), None, 'intrinsics are missing or invalid'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(fx=float('nan')), None, 'intrinsics are missing or invalid'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(width=0, height=0), None, 'image size 0x0 is invalid'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(world_from_camera=np.eye(3)), None, 'extrinsics'),
    (GOOD_RGB, GOOD_DEPTH, None, None, 'camera model missing'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(width=320, height=240), None, 'camera model is for 320x240'),
    (GOOD_RGB, np.zeros((480, 640), np.float32), bad_camera(), None, 'depth has no valid pixels'),
    (GOOD_RGB, np.full((480, 640), np.nan, np.float32), bad_camera(), None, 'depth has no valid pixels'),
    (GOOD_RGB.astype(np.float32), GOOD_DEPTH, bad_camera(), None, 'colour image must be HxWx3 uint8'),
    (GOOD_RGB[:, :, 0], GOOD_DEPTH, bad_camera(), None, 'colour image must be HxWx3 uint8'),
    (None, GOOD_DEPTH, bad_camera(), None, 'colour image must be HxWx3 uint8'),
    (GOOD_RGB, GOOD_DEPTH.astype(np.int32), bad_camera(), None, 'depth image must be'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(), np.zeros((10, 10), bool), 'exclude mask'),
    (GOOD_RGB, GOOD_DEPTH, bad_camera(), None, 'no support plane'),  # looking up at a ceiling
    (GOOD_RGB, GOOD_DEPTH, bad_camera(world_from_camera=LEVEL), None, 'no support plane'),  # at a wall
])
def test_bad_input_gives_a_status_not_an_exception(rgb, depth, camera, mask, status):
    scene = ScenePerception().perceive(rgb, depth, camera, exclude_mask=mask, stamp=3.0)
    assert scene.objects == []
    assert status in scene.status
    assert scene.stamp == 3.0


@pytest.mark.parametrize(('height', 'tilt_deg', 'noise'), [
    (1.25, 0.0, 0.0), (1.5, 10.0, 0.0), (2.0, 8.0, 0.002), (2.5, 8.0, 0.0015)])
def test_a_pad_seen_from_the_quadrotor_body_camera(height, tilt_deg, noise):
    """Hovering near the green pad, tilted and turned; `noise` m per m^2 of range: depth noise grows with range,
    and at 2-2.5 m it made the tabletop thresholds take the pad for a box."""
    with World(SCENES / 'quadrotor_pads.yaml') as world:
        root = world.model.joint('root').qposadr[0]
        tilt = math.radians(tilt_deg)
        quaternion = np.zeros(4)
        mujoco.mju_mulQuat(quaternion, [math.cos(tilt / 2), math.sin(tilt / 2), 0.0, 0.0], yaw_quaternion(0.6))
        world.data.qpos[root:root + 7] = [3.1, -1.55, height, *quaternion]
        mujoco.mj_forward(world.model, world.data)
        rgb, depth = world.render()
        camera = camera_model(world)
    if noise:
        rng = np.random.default_rng(0)
        depth = np.where(depth > 0, depth + rng.normal(0.0, noise, depth.shape) * depth ** 2, 0.0).astype(np.float32)
    scene = ScenePerception(PerceptionConfig.for_embodiment('quadrotor')).perceive(rgb, depth, camera)
    assert scene.status == 'ok', scene.status
    assert [(o.label, o.color) for o in scene.objects] == [('pad', 'green')]
    assert scene.objects[0].position[:2] == pytest.approx([3.0, -1.5], abs=0.01 if noise else 0.003)
    assert scene.support_height == pytest.approx(0.0, abs=0.005)
