"""The simulated world: settled objects, servo tracking, flight, RGB-D camera geometry, ground truth."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco
import numpy as np
import pytest

from skill_stack.sim import robots
from skill_stack.sim.objects import body_name
from skill_stack.sim.scene_file import SceneSpec, load_scene, parse_scene
from skill_stack.sim.world import World
from skill_stack.skills.arm import REACH_RADIUS
from skill_stack.skills.hand import PALM_HIGH

SCENES = Path(__file__).resolve().parents[2] / "config" / "scenes"


@pytest.fixture
def arm_world():
    with World(load_scene(SCENES / "arm_blocks.yaml")) as world:
        yield world


@pytest.fixture
def quadrotor_world():
    with World(SCENES / "quadrotor_pads.yaml") as world:
        yield world


def _tilt(quaternion: np.ndarray) -> float:
    """Angle between the body's z axis and the world's, radians."""
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, quaternion)
    return float(np.arccos(np.clip(matrix[8], -1.0, 1.0)))


# Out of the arm's reach but on its table: by the base, at a far corner, behind it.
OUT_OF_REACH = parse_scene({"embodiment": "arm", "objects": [
    {"name": "by_base", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04], "position": [0.12, 0.05]},
    {"name": "far", "shape": "cylinder", "color": "blue", "size": [0.03, 0.06], "position": [0.9, 0.7]},
    {"name": "behind", "shape": "sphere", "color": "green", "size": [0.02], "position": [-0.3, -0.6]}]})


@pytest.mark.parametrize("scene", ["arm_blocks", "hand_cube", "quadrotor_pads", OUT_OF_REACH],
                         ids=["arm_blocks", "hand_cube", "quadrotor_pads", "arm_out_of_reach"])
def test_objects_rest_on_the_surface_where_the_file_put_them(scene):
    with World(scene if isinstance(scene, SceneSpec) else SCENES / f"{scene}.yaml") as world:
        assert world.time == 0.0
        truth = world.ground_truth()["objects"]
        for obj in world.scene.objects:
            pose = truth[obj.name]
            assert pose["position"][2] == pytest.approx(obj.height / 2.0, abs=0.002), obj.name
            assert pose["position"][:2] == pytest.approx(list(obj.position), abs=0.003), obj.name
            assert _tilt(np.array(pose["quaternion"])) < 0.02, obj.name
        # and they stay there
        world.step(250)
        for obj in world.scene.objects:
            assert world.ground_truth()["objects"][obj.name]["position"][2] == pytest.approx(obj.height / 2.0,
                                                                                            abs=0.002)


@pytest.mark.parametrize("embodiment", ["arm", "hand"])
def test_the_fixed_camera_sees_all_the_robot_can_reach(embodiment):
    """Scenes may put objects where the camera does not look (they go unseen); never where the robot works."""
    if embodiment == "arm":  # the top-down reach (skills/arm.py), a half ring in front of the base
        low, high = REACH_RADIUS
        reach = [(r * np.cos(a), r * np.sin(a)) for r in (low, high) for a in np.linspace(-np.pi / 2, np.pi / 2, 13)]
    else:  # the wrist's travel (skills/hand.py)
        reach = [(sx * PALM_HIGH[0], sy * PALM_HIGH[1]) for sx in (-1, 1) for sy in (-1, 1)]
    with World(parse_scene({"embodiment": embodiment})) as world:
        fx, fy, cx, cy, width, height = world.camera_intrinsics()
        position, quaternion = world.camera_pose()
        rotation = np.zeros(9)
        mujoco.mju_quat2Mat(rotation, quaternion)
        for x, y in reach:
            local = rotation.reshape(3, 3).T @ (np.array([x, y, 0.0]) - position)
            u, v = fx * local[0] / local[2] + cx, fy * local[1] / local[2] + cy
            assert 0 <= u < width, (x, y)
            assert 0 <= v < height, (x, y)


def test_bowl_is_a_container(arm_world):
    """A ball dropped over the bowl ends up inside it, below the rim."""
    bowl = arm_world.scene.object("blue_bowl")
    ball = arm_world.model.joint(body_name("yellow_sphere"))
    arm_world.data.qpos[ball.qposadr[0]:ball.qposadr[0] + 3] = [*bowl.position, bowl.size[1] + 0.05]
    arm_world.step(750)
    position = np.array(arm_world.ground_truth()["objects"]["yellow_sphere"]["position"])
    assert np.linalg.norm(position[:2] - bowl.position) < bowl.size[0]
    assert position[2] < bowl.size[1]


def test_arm_reaches_joint_targets_within_a_second(arm_world):
    targets = np.array([0.5, 0.3, 0.6, 0.4, 1.0, -0.5])
    applied = arm_world.set_joint_targets(targets)
    np.testing.assert_allclose(applied, targets)
    arm_world.step(round(1.0 / arm_world.timestep))
    np.testing.assert_allclose(arm_world.joint_positions(), targets, atol=0.02)
    assert np.all(np.abs(arm_world.joint_velocities()) < 0.05)
    efforts = arm_world.joint_efforts()
    assert np.all(np.abs(efforts) <= np.array([50, 50, 32, 32, 32, 20]) + 1e-6)


def test_arm_starts_at_home_with_the_gripper_pointing_down(arm_world):
    np.testing.assert_allclose(arm_world.joint_positions(), robots.ARM_HOME, atol=0.01)
    position, quaternion = arm_world.site_pose("ee")
    np.testing.assert_allclose(position, [0.3, 0.0, 0.3], atol=0.01)
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, quaternion)
    np.testing.assert_allclose(matrix.reshape(3, 3)[:, 2], [0.0, 0.0, -1.0], atol=0.02)  # approach axis down


def _arm_ik(world: World, target: np.ndarray, yaw: float) -> np.ndarray:
    """Joint targets putting the tool centre point at `target`, pointing down, fingers across `yaw`."""
    model = world.model
    data = mujoco.MjData(model)
    data.qpos[:] = world.data.qpos
    site = model.site("ee").id
    qpos = [model.joint(j).qposadr[0] for j in world.joint_names]
    dofs = [model.joint(j).dofadr[0] for j in world.joint_names]
    q = world.joint_positions()
    finger_axis = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    for _ in range(100):
        data.qpos[qpos] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        axes = data.site_xmat[site].reshape(3, 3)
        rotation_error = 0.5 * (np.cross(axes[:, 2], [0.0, 0.0, -1.0]) + np.cross(axes[:, 1], finger_axis))
        error = np.concatenate([target - data.site_xpos[site], rotation_error])
        jacp, jacr = np.zeros((3, model.nv)), np.zeros((3, model.nv))
        mujoco.mj_jacSite(model, data, jacp, jacr, site)
        jac = np.vstack([jacp, jacr])[:, dofs]
        q = q + jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(6), error)
    return q


def test_arm_picks_the_cube_and_drops_it_in_the_bowl(arm_world):
    """End to end through the physics: friction holds a squeezed cube, the bowl catches it."""
    world = arm_world
    cube = world.scene.object("red_cube")
    start = np.array(world.ground_truth()["objects"]["red_cube"]["position"])
    bowl = np.array(world.ground_truth()["objects"]["blue_bowl"]["position"])
    up = np.array([0.0, 0.0, 1.0])

    def move(target, seconds=1.0):
        world.set_joint_targets(_arm_ik(world, np.asarray(target), cube.yaw))
        world.step(round(seconds / world.timestep))

    move(start + 0.1 * up)
    move(start)
    world.set_gripper(0.0)
    world.step(250)
    assert world.gripper_width() == pytest.approx(cube.size[0], abs=0.003)  # firm pads: little sinking in
    move(start + 0.2 * up)
    lifted = np.array(world.ground_truth()["objects"]["red_cube"]["position"])
    assert lifted[2] > start[2] + 0.15
    move(bowl + 0.2 * up, seconds=1.5)
    world.set_gripper(robots.GRIPPER_MAX_WIDTH)
    world.step(500)
    dropped = np.array(world.ground_truth()["objects"]["red_cube"]["position"])
    assert np.linalg.norm(dropped[:2] - bowl[:2]) < world.scene.object("blue_bowl").size[0]
    assert dropped[2] < world.scene.object("blue_bowl").size[1]


def test_joint_targets_by_name_are_clipped_and_non_finite_refused(arm_world):
    _, upper = arm_world.joint_limits()
    applied = arm_world.set_joint_targets({"joint2": 10.0})
    assert applied[1] == pytest.approx(upper[1])
    np.testing.assert_allclose(applied[[0, 2, 3, 4, 5]], np.array(robots.ARM_HOME)[[0, 2, 3, 4, 5]])
    with pytest.raises(ValueError, match="finite"):
        arm_world.set_joint_targets({"joint1": float("nan")})
    with pytest.raises(ValueError, match="unknown joint"):
        arm_world.set_joint_targets({"elbow": 0.0})
    with pytest.raises(ValueError, match="6 joint targets"):
        arm_world.set_joint_targets([0.0, 0.0])
    assert arm_world.joint_targets()[1] == pytest.approx(upper[1])  # refused commands changed nothing


def test_gripper_opens_and_closes(arm_world):
    assert arm_world.gripper_width() == pytest.approx(robots.GRIPPER_MAX_WIDTH, abs=0.002)
    assert arm_world.set_gripper(-1.0) == 0.0
    arm_world.step(250)
    assert arm_world.gripper_width() < 0.002
    arm_world.set_gripper(0.05)
    arm_world.step(250)
    assert arm_world.gripper_width() == pytest.approx(0.05, abs=0.002)
    with pytest.raises(ValueError, match="no rotors"):
        arm_world.set_rotor_thrusts([1.0] * 4)


def test_hand_fingers_and_wrist_track_targets():
    with World(SCENES / "hand_cube.yaml") as world:
        position, _ = world.site_pose("palm")
        np.testing.assert_allclose(position, [0.0, 0.0, 0.25], atol=0.005)  # origin: table top under the palm
        targets = world.joint_targets()
        targets[:4] = [0.05, -0.05, 0.05, 0.3]
        targets[world.joint_names.index("index_joint1")] = 0.8
        targets[world.joint_names.index("thumb_joint0")] = 1.2
        world.set_joint_targets(targets)
        world.step(500)
        np.testing.assert_allclose(world.joint_positions(), targets, atol=0.03)
        with pytest.raises(ValueError, match="no gripper"):
            world.set_gripper(0.01)


def test_quadrotor_hovers_level(quadrotor_world):
    world = quadrotor_world
    mass = world.model.body_subtreemass[world.model.body("base_link").id]
    hover = mass * robots.GRAVITY / len(world.rotor_names)
    start = world.odometry()["position"]
    assert start[:2] == pytest.approx([0.0, 0.0], abs=1e-3)  # origin: the ground at the take-off point
    world.set_rotor_thrusts([1.3 * hover] * 4)
    world.step(150)
    world.set_rotor_thrusts([hover] * 4)
    world.step(100)  # let the rotors spin down to hover thrust
    climb = world.odometry()["linear_velocity"][2]
    world.step(250)
    odometry = world.odometry()
    assert odometry["position"][2] > start[2] + 0.1
    assert odometry["linear_velocity"][2] == pytest.approx(climb, abs=0.05)  # no net vertical force
    assert _tilt(odometry["quaternion"]) < np.radians(2.0)
    assert np.linalg.norm(odometry["angular_velocity"]) < 0.05


def test_quadrotor_yaws_with_differential_thrust(quadrotor_world):
    """Speeding up the clockwise pair turns the body counter-clockwise (reaction torque)."""
    world = quadrotor_world
    mass = world.model.body_subtreemass[world.model.body("base_link").id]
    hover = mass * robots.GRAVITY / 4
    thrusts = [hover * (1.2 if spin < 0 else 1.0) for _, spin in robots.ROTORS]
    world.set_rotor_thrusts(thrusts)
    world.step(200)
    assert world.odometry()["angular_velocity"][2] > 0.1
    clipped = world.set_rotor_thrusts([-1.0, 100.0, 1.0, 1.0])
    np.testing.assert_allclose(clipped, [0.0, world.max_rotor_thrust, 1.0, 1.0])


def test_render_gives_realsense_like_rgbd(arm_world):
    rgb, depth = arm_world.render()
    assert rgb.shape == (480, 640, 3)
    assert rgb.dtype == np.uint8
    assert depth.shape == (480, 640)
    assert depth.dtype == np.float32
    valid = depth[depth > 0]
    assert valid.size > 0.9 * depth.size
    assert valid.min() > 0.3
    assert valid.max() < 10.0
    assert 0.8 < np.median(valid) < 2.5  # the table, about a metre and a half away
    assert rgb.std() > 10  # an image, not a blank
    only_rgb, no_depth = arm_world.render(depth=False)
    assert no_depth is None
    np.testing.assert_array_equal(only_rgb, rgb)


def test_depth_back_projects_onto_the_scene(arm_world):
    """Intrinsics, optical-frame pose and depth agree: table pixels land on z = 0, objects where they are."""
    _, depth = arm_world.render(rgb=False)
    fx, fy, cx, cy, width, height = arm_world.camera_intrinsics()
    assert (width, height) == (640, 480)
    assert fy == pytest.approx(617.0, abs=5.0)  # D435 colour at 640x480
    position, quaternion = arm_world.camera_pose()
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, quaternion)
    rotation = rotation.reshape(3, 3)

    def project(point):
        local = rotation.T @ (np.asarray(point) - position)
        return fx * local[0] / local[2] + cx, fy * local[1] / local[2] + cy

    def back_project(u, v):
        z = depth[v, u]
        return rotation @ np.array([(u - cx) / fx * z, (v - cy) / fy * z, z]) + position

    for u, v in [(20, 470), (620, 470), (320, 400)]:
        assert back_project(u, v)[2] == pytest.approx(0.0, abs=0.003)
    cube_top = np.array(arm_world.ground_truth()["objects"]["red_cube"]["position"]) + np.array([0.0, 0.0, 0.02])
    u, v = project(cube_top)
    assert np.linalg.norm(back_project(round(u), round(v)) - cube_top) < 0.01


def test_quadrotor_camera_looks_down(quadrotor_world):
    world = quadrotor_world
    mass = world.model.body_subtreemass[world.model.body("base_link").id]
    world.set_rotor_thrusts([1.4 * mass * robots.GRAVITY / 4] * 4)
    world.step(400)
    position, quaternion = world.camera_pose()
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, quaternion)
    np.testing.assert_allclose(rotation.reshape(3, 3)[:, 2], [0.0, 0.0, -1.0], atol=0.02)
    _, depth = world.render(rgb=False)
    assert depth[240, 320] == pytest.approx(position[2], rel=0.02)  # straight down to the ground


@pytest.mark.parametrize(("scene", "site"), [("arm_blocks", "ee"), ("hand_cube", "palm"), ("quadrotor_pads", "body")])
def test_ground_truth_shape(scene, site):
    with World(SCENES / f"{scene}.yaml") as world:
        truth = world.ground_truth()
        assert set(truth) == {"objects", "robots"}
        assert set(truth["objects"]) == {obj.name for obj in world.scene.objects}
        for pose in truth["objects"].values():
            assert len(pose["position"]) == 3
            assert len(pose["quaternion"]) == 4
        assert list(truth["robots"]) == [world.embodiment]
        assert truth["robots"][world.embodiment]["position"] == pytest.approx(world.site_pose(site)[0].tolist())


def test_same_scene_same_motion():
    """Deterministic: two worlds from one scene, given the same commands, stay bit-identical."""
    scene = load_scene(SCENES / "arm_blocks.yaml")
    worlds = [World(scene), World(scene)]
    for world in worlds:
        world.set_joint_targets([0.3, 0.4, 0.5, 0.0, 0.8, 0.0])
        world.set_gripper(0.0)
        world.step(300)
    np.testing.assert_array_equal(worlds[0].data.qpos, worlds[1].data.qpos)


def test_reset_returns_to_the_settled_start_and_can_switch_scene(arm_world):
    start = arm_world.data.qpos.copy()
    arm_world.set_joint_targets([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    arm_world.step(100)
    arm_world.reset()
    assert arm_world.time == 0.0
    np.testing.assert_array_equal(arm_world.data.qpos, start)
    arm_world.reset(parse_scene({"embodiment": "quadrotor"}))
    assert arm_world.embodiment == "quadrotor"
    assert arm_world.joint_names == ()
    assert list(arm_world.ground_truth()["robots"]) == ["quadrotor"]


def test_quadrotor_imu_reads_gravity_at_rest():
    with World(SCENES / "quadrotor_pads.yaml") as world:
        world.step(50)
        imu = world.imu()
    assert imu["linear_acceleration"] == pytest.approx([0.0, 0.0, 9.81], abs=0.05)
    assert imu["angular_velocity"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-3)
