"""Hand skills: argument schemas, grounding and rejection reasons, feasibility, the robot observation from
joint states, commands, success checks, and the episode runner's safety on the simulated hand."""

import math

import numpy as np
import pytest

from skill_stack.perception.types import PerceivedScene
from skill_stack.sim.robots import HAND_FINGER_JOINTS, HAND_JOINTS
from skill_stack.skills.base import HandCommand
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.hand import (
    GRASP_SITE,
    HAND_CLOSED,
    HAND_OPEN,
    MAX_STEP,
    MAX_YAW_STEP,
    PALM_HEIGHT,
    GraspSkill,
    ReleaseSkill,
    RotateSkill,
    closure,
    grasp_site,
    hand_observation,
    holding,
    palm_yaw,
    rotate_z,
)
from skill_stack.skills.hand_env import HandEnv
from skill_stack.skills.library import skills
from skill_stack.skills.schema import SkillArgumentError

from scene_helpers import perceived


@pytest.fixture
def scene():
    return PerceivedScene(objects=[
        perceived('red_cube', 'box', [0.05, 0.0, 0.02], [0.06, 0.04, 0.04]),
        perceived('blue_cylinder', 'cylinder', [-0.08, 0.08, 0.03], [0.04, 0.04, 0.06], color='blue'),
        perceived('green_pad', 'pad', [0.05, -0.14, 0.0025], [0.1, 0.1, 0.005], color='green'),
        perceived('wide_box', 'box', [-0.1, -0.1, 0.02], [0.07, 0.065, 0.04], color='white'),
        perceived('tall_box', 'box', [0.1, 0.1, 0.05], [0.04, 0.04, 0.1], color='yellow'),
        perceived('far_cube', 'box', [0.19, 0.19, 0.02], [0.04, 0.04, 0.04], color='purple'),
    ], support_height=0.0)


def hand_at(site=(0.0, 0.0, 0.15), yaw=0.0, fingers=HAND_OPEN):
    """A hand observation whose grasp site is at ``site``, from joint positions as the driver reports them."""
    palm = np.asarray(site, float) - rotate_z(yaw, GRASP_SITE)
    positions = [palm[0], palm[1], palm[2] - PALM_HEIGHT, yaw, *fingers]
    return hand_observation(HAND_JOINTS, positions, stamp=1.0)


def holding_fingers():
    return HAND_OPEN + 0.5 * (HAND_CLOSED - HAND_OPEN)


def test_every_hand_skill_describes_itself():
    hand = skills('hand')
    assert sorted(hand) == ['grasp', 'release', 'rotate']
    for skill in hand.values():
        described = skill.describe()
        assert described['embodiment'] == 'hand'
        assert described['args']
        assert skill.control_rate_hz >= 20
        assert skill.keypoint_slots().shape == (skill.obs_dim,)
        assert skill.keypoint_slots().any()
        assert not skill.keypoint_slots().all()
    rotate = {a['name']: a for a in hand['rotate'].describe()['args']}
    assert 'z' in rotate['axis']['choices']
    assert (rotate['angle']['minimum'], rotate['angle']['maximum'], rotate['angle']['unit']) == (-90.0, 90.0, 'deg')
    assert not {a['name']: a for a in hand['release'].describe()['args']}['object']['required']
    assert 'does not grasp by itself' in hand['rotate'].description


@pytest.mark.parametrize(('skill', 'args', 'message'), [
    (GraspSkill(), {}, "missing argument 'object'"),
    (GraspSkill(), {'object': 'red_cube', 'force': 3}, 'unknown argument'),
    (ReleaseSkill(), {'target': 'table'}, 'unknown argument'),
    (RotateSkill(), {'object': 'red_cube'}, "missing argument 'angle'"),
    (RotateSkill(), {'object': 'red_cube', 'angle': 120.0}, 'above the maximum'),
    (RotateSkill(), {'object': 'red_cube', 'angle': float('nan')}, 'finite number'),
    (RotateSkill(), {'object': 'red_cube', 'angle': 30.0, 'axis': 'x'}, 'must be one of'),
])
def test_schema_rejects_with_reason(skill, args, message):
    with pytest.raises(SkillArgumentError, match=message):
        skill.validate(args)


def test_schema_fills_defaults():
    assert RotateSkill().validate({'object': 'red_cube', 'angle': 45})['axis'] == 'z'
    assert ReleaseSkill().validate({})['object'] is None


def test_hand_observation_comes_from_joint_states_alone():
    names = list(reversed(HAND_JOINTS))
    values = {name: 0.0 for name in HAND_JOINTS}
    values.update(wrist_x=0.1, wrist_y=-0.05, wrist_z=-0.1, wrist_yaw=0.7, thumb_joint0=1.2)
    robot = hand_observation(names, [values[n] for n in names], stamp=2.5)
    assert robot.embodiment == 'hand'
    assert np.allclose(robot.position, [0.1, -0.05, PALM_HEIGHT - 0.1])
    assert palm_yaw(robot) == pytest.approx(0.7)
    assert np.allclose(robot.joints, [values[n] for n in HAND_JOINTS])
    assert robot.stamp == 2.5
    with pytest.raises(ValueError, match='lacks'):
        hand_observation(HAND_JOINTS[:-1], np.zeros(len(HAND_JOINTS) - 1))
    with pytest.raises(ValueError, match='not finite'):
        hand_observation(HAND_JOINTS, [np.nan] * len(HAND_JOINTS))


def test_observed_palm_matches_the_simulated_palm():
    env = HandEnv('grasp', distractors=(0, 0))
    try:
        env.reset(0)
        env.apply(HandCommand(joints={'wrist_x': 0.05, 'wrist_y': -0.04, 'wrist_z': -0.08, 'wrist_yaw': 0.6}))
        env.advance(1.5)
        robot = env.observe()
        palm, quat = env.world.site_pose('palm')
        assert np.linalg.norm(robot.position - palm) < 0.001
        assert abs(palm_yaw(robot) - 2.0 * math.atan2(quat[3], quat[0])) < 0.01
        assert np.linalg.norm(robot.position - [0.05, -0.04, PALM_HEIGHT - 0.08]) < 0.005
    finally:
        env.close()


def test_closure_runs_along_the_synergy():
    assert closure(hand_at(fingers=HAND_OPEN)) == pytest.approx(0.0)
    assert closure(hand_at(fingers=HAND_CLOSED)) == pytest.approx(1.0)
    assert holding(hand_at(fingers=holding_fingers()))
    assert not holding(hand_at(fingers=HAND_CLOSED))  # closed on nothing
    assert not holding(hand_at(fingers=HAND_OPEN))


@pytest.mark.parametrize(('skill', 'args', 'message'), [
    (GraspSkill(), {'object': 'purple_cone'}, "no match for 'purple_cone'"),
    (GraspSkill(), {'object': 'green_pad'}, 'the hand pinches boxes'),
    (GraspSkill(), {'object': 'wide_box'}, "across; the hand's pinch takes up to 5 cm"),
    (GraspSkill(), {'object': 'tall_box'}, 'cm tall'),
    (GraspSkill(), {'object': 'far_cube'}, "out of the wrist's travel"),
    (ReleaseSkill(), {}, 'holds nothing'),
    (ReleaseSkill(), {'object': 'red_cube'}, 'not held'),
    (RotateSkill(), {'object': 'red_cube', 'angle': 30.0}, 'grasp it first'),
])
def test_targets_reject_before_anything_moves(scene, skill, args, message):
    with pytest.raises(SkillArgumentError, match=message):
        skill.targets(skill.validate(args), scene, hand_at())


def test_rotate_takes_held_boxes_within_the_wrist_limits(scene):
    rotate = RotateSkill()
    at_cylinder = hand_at(site=(-0.08, 0.08, 0.03), fingers=holding_fingers())
    with pytest.raises(SkillArgumentError, match='cannot be perceived'):
        rotate.targets(rotate.validate({'object': 'blue_cylinder', 'angle': 30.0}), scene, at_cylinder)
    at_cube = hand_at(site=(0.05, 0.0, 0.02), yaw=2.5, fingers=holding_fingers())
    with pytest.raises(SkillArgumentError, match='past its limit'):
        rotate.targets(rotate.validate({'object': 'red_cube', 'angle': 60.0}), scene, at_cube)
    targets = rotate.targets(rotate.validate({'object': 'red_cube', 'angle': -60.0}), scene, at_cube)
    assert targets['yaw_goal'][0] == pytest.approx(2.5 - math.radians(60.0))


def test_objects_are_found_by_phrase(scene):
    targets = GraspSkill().targets({'object': 'red box'}, scene, hand_at())
    assert np.allclose(targets['grasp'][:2], [0.05, 0.0])
    with pytest.raises(SkillArgumentError, match='ambiguous'):
        GraspSkill().targets({'object': 'box'}, scene, hand_at())


def test_grasp_turns_the_pinch_across_the_shorter_side(scene):
    targets = GraspSkill().targets({'object': 'red_cube'}, scene, hand_at())
    # the cube's longer side runs along x: the thumb-to-finger axis (palm x) must run along y
    assert abs(abs(targets['yaw'][0]) - math.pi / 2) < 1e-6
    assert targets['width'][0] == pytest.approx(0.04)
    round_thing = GraspSkill().targets({'object': 'blue_cylinder'}, scene, hand_at(yaw=0.3))
    assert round_thing['yaw'][0] == pytest.approx(0.3)  # nothing to align to: keep the yaw


def test_feasibility_follows_affordances_and_the_hand(scene):
    grasp, rotate = GraspSkill(), RotateSkill()
    assert grasp.feasibility({'object': 'red_cube'}, scene)[0] > 0.9
    assert grasp.feasibility({'object': 'green_pad'}, scene)[0] == 0.0
    assert grasp.feasibility({'object': 'wide_box'}, scene)[0] == 0.0
    assert grasp.feasibility({'object': 'tall_box'}, scene)[0] == 0.0
    assert grasp.feasibility({'object': 'nothing'}, scene)[0] == 0.0
    assert rotate.feasibility({'object': 'red_cube', 'axis': 'z', 'angle': 30}, scene)[0] > 0.9
    assert rotate.feasibility({'object': 'blue_cylinder', 'axis': 'z', 'angle': 30}, scene)[0] == 0.0
    assert ReleaseSkill().feasibility({'object': None}, scene)[0] == 1.0


def test_observations_have_the_declared_shapes(scene):
    robot = hand_at(site=(0.05, 0.0, 0.02), fingers=holding_fingers())
    cases = [(GraspSkill(), {'object': 'red_cube'}, hand_at()),
             (ReleaseSkill(), {'object': None}, robot),
             (RotateSkill(), {'object': 'red_cube', 'axis': 'z', 'angle': 45.0}, robot)]
    for skill, args, at in cases:
        targets = skill.targets(skill.validate(args), scene, at)
        obs = skill.observation(at, targets, skill.validate(args))
        assert obs.shape == (skill.obs_dim,)
        assert obs.dtype == np.float32
        assert np.all(np.isfinite(obs))
        assert np.allclose(obs[:3], grasp_site(at))
    grasp = GraspSkill()
    obs = grasp.observation(hand_at(), grasp.targets({'object': 'red_cube'}, scene, hand_at()), {})
    assert np.allclose(obs[7:10], [0.05, 0.0, 0.02 - 0.15])  # the grasp point relative to the grasp site


def test_command_clips_steps_keeps_the_site_and_drives_the_synergy(scene):
    skill = GraspSkill()
    targets = skill.targets({'object': 'red_cube'}, scene, hand_at())
    robot = hand_at(site=(0.0, 0.0, 0.15), yaw=0.2)
    command = skill.command(np.array([0.5, 0.0, 0.0, 1.0, 1.0]), robot, targets, {})
    assert isinstance(command, HandCommand)
    assert set(command.joints) == set(HAND_JOINTS)
    moved = hand_observation(HAND_JOINTS, [command.joints[n] for n in HAND_JOINTS])
    assert palm_yaw(moved) == pytest.approx(0.2 + MAX_YAW_STEP)
    assert np.linalg.norm(grasp_site(moved) - grasp_site(robot)) == pytest.approx(MAX_STEP)
    assert np.allclose([command.joints[n] for n in HAND_FINGER_JOINTS], HAND_CLOSED)
    # a pure turn pivots about the grasp site
    turn = skill.command(np.array([0.0, 0.0, 0.0, -0.05, 1.0]), robot, targets, {})
    turned = hand_observation(HAND_JOINTS, [turn.joints[n] for n in HAND_JOINTS])
    assert np.linalg.norm(grasp_site(turned) - grasp_site(robot)) < 1e-9
    # opening from a grip lets go gently, from anywhere else it opens fully
    gentle = skill.command(np.zeros(5), hand_at(fingers=holding_fingers()), targets, {})
    fingers = np.array([gentle.joints[n] for n in HAND_FINGER_JOINTS])
    assert 0.0 < closure(hand_at(fingers=fingers)) < 0.5
    opened = skill.command(np.zeros(5), hand_at(fingers=HAND_OPEN), targets, {})
    assert np.allclose([opened.joints[n] for n in HAND_FINGER_JOINTS], HAND_OPEN)
    with pytest.raises(ValueError, match='finite'):
        skill.command(np.array([np.nan, 0, 0, 0, 1]), robot, targets, {})
    with pytest.raises(ValueError, match='finite'):
        skill.command(np.zeros(4), robot, targets, {})


def test_demonstration_noise_perturbs_the_site_step_and_the_yaw_step():
    skill = GraspSkill()
    rng = np.random.default_rng(0)
    clean = np.array([0.01, 0.0, -0.005, 0.05, 1.0])
    noisy = np.array([skill.perturb(clean, rng, 0.003) for _ in range(2000)]) - clean
    assert np.allclose(noisy[:, :3].std(0), 0.003, rtol=0.1)
    assert noisy[:, 3].std() == pytest.approx(0.003 * skill.yaw_noise_per_m, rel=0.1)
    assert np.all(noisy[:, 4] == 0.0)  # the grip is never flipped by noise
    assert np.array_equal(skill.perturb(clean, rng, 0.0), clean)


def test_success_is_judged_from_the_perceived_scene(scene):
    rotate = RotateSkill()
    args = rotate.validate({'object': 'red_cube', 'angle': 40.0})
    robot = hand_at(site=(0.05, 0.0, 0.1), fingers=holding_fingers())
    lifted = PerceivedScene(objects=[perceived('red_cube', 'box', [0.05, 0.0, 0.1], [0.06, 0.04, 0.04])],
                            support_height=0.0)
    targets = rotate.targets(args, lifted, robot)
    turned = PerceivedScene(objects=[perceived('red_cube', 'box', [0.05, 0.0, 0.1], [0.06, 0.04, 0.04],
                                               yaw=math.radians(48.0))], support_height=0.0)
    assert rotate.success(robot, turned, targets, args)[0]
    short = PerceivedScene(objects=[perceived('red_cube', 'box', [0.05, 0.0, 0.1], [0.06, 0.04, 0.04],
                                              yaw=math.radians(20.0))], support_height=0.0)
    ok, why = rotate.success(robot, short, targets, args)
    assert not ok
    assert 'off by 20 deg' in why
    dropped = PerceivedScene(objects=[perceived('red_cube', 'box', [0.05, 0.0, 0.02], [0.06, 0.04, 0.04],
                                                yaw=math.radians(40.0))], support_height=0.0)
    assert 'dropped' in rotate.success(robot, dropped, targets, args)[1]
    assert not rotate.success(robot, None, targets, args)[0]

    release = ReleaseSkill()
    targets = release.targets({'object': None}, lifted, robot)
    away = hand_at(site=(0.05, 0.0, 0.1), fingers=HAND_OPEN)
    down = PerceivedScene(objects=[perceived('red_cube', 'box', [0.055, 0.0, 0.02], [0.06, 0.04, 0.04])],
                          support_height=0.0)
    assert release.success(away, down, targets, {'object': None})[0]
    assert 'did not open' in release.success(robot, down, targets, {'object': None})[1]
    rolled = PerceivedScene(objects=[perceived('red_cube', 'box', [0.12, 0.0, 0.02], [0.06, 0.04, 0.04])],
                            support_height=0.0)
    assert 'from where it was held' in release.success(away, rolled, targets, {'object': None})[1]


class NaNController:
    def reset(self, skill, env, args, targets):
        self.calls = 0

    def act(self, observation, robot):
        self.calls += 1
        return np.array([0.0, 0.0, -0.01, 0.0, 0.0]) if self.calls < 3 else np.full(5, np.nan)


def test_nan_policy_output_holds_the_hand_and_fails_with_the_reason():
    env = HandEnv('grasp')
    try:
        result = run_episode(GraspSkill(), NaNController(), env, seed=3)
        assert not result.success
        assert result.stopped
        assert 'non-finite' in result.reason
        assert env.driver.status().fault
        assert 'e-stop' in env.driver.status().fault
        before = env.observe().joints
        env.advance(0.5)
        assert np.abs(env.observe().joints[:3] - before[:3]).max() < 0.003  # held, not drifting on
    finally:
        env.close()


def test_expert_episode_records_demonstrations():
    from skill_stack.skills.hand_experts import GraspExpert

    env = HandEnv('grasp')
    try:
        result = run_episode(GraspSkill(), GraspExpert(), env, seed=5, record=True)
    finally:
        env.close()
    assert result.success, result.reason
    assert result.observations.shape == (result.steps, GraspSkill().obs_dim)
    assert result.actions.shape == (result.steps, 5)


@pytest.mark.parametrize('name', ['release', 'rotate'])
def test_release_and_rotate_start_from_a_held_object(name):
    env = HandEnv(name)
    try:
        task = env.reset(11)
        robot = env.observe()
        assert holding(robot)
        position, _ = env.ground_truth_pose('target')
        assert position[2] > env.ground_truth_spec('target').height / 2.0 + 0.03
        skill = skills('hand')[name]
        targets = skill.targets(skill.validate(task.args), env.perceive(), robot)
        assert targets
    finally:
        env.close()
