"""Quadrotor skills: argument schemas, grounding and rejection reasons, feasibility, observation and command
shapes, the robot observation from ROS-shaped inputs, success checks, and the environment's safety."""

import math

import numpy as np
import pytest

from skill_stack.drivers.quadrotor import QuadrotorConfig
from skill_stack.drivers.safety import CommandError
from skill_stack.perception.types import PerceivedScene
from skill_stack.skills.base import QuadrotorCommand
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.library import entry, skills
from skill_stack.skills.quadrotor import (
    MAX_STEP_XY,
    MAX_STEP_Z,
    OBS_RANGE_XY,
    STAND_HEIGHT,
    FlyToSkill,
    HoverSkill,
    LandSkill,
    TakeOffSkill,
    quadrotor_observation,
)
from skill_stack.skills.quadrotor_env import QuadrotorEnv
from skill_stack.skills.schema import SkillArgumentError

from scene_helpers import perceived


@pytest.fixture
def scene():
    return PerceivedScene(objects=[
        perceived('red_pad', 'pad', [2.0, 1.0, 0.0025], [0.6, 0.6, 0.005]),
        perceived('blue_pad', 'pad', [-1.5, 2.0, 0.0025], [0.4, 0.4, 0.005], color='blue'),
        perceived('far_pad', 'pad', [4.95, 0.0, 0.0025], [0.4, 0.4, 0.005], color='green'),
        perceived('crate', 'box', [1.0, -1.0, 0.2], [0.4, 0.3, 0.4], color='yellow'),
    ])


def flying(position=(0.0, 0.0, 1.0), velocity=(0.0, 0.0, 0.0), yaw=0.0, stamp=10.0):
    quaternion = [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]
    return quadrotor_observation(position, quaternion, velocity, armed=True, stamp=stamp, landed=False)


def on_ground(position=(0.0, 0.0, STAND_HEIGHT), armed=False):
    return quadrotor_observation(position, [1.0, 0, 0, 0], [0.0, 0.0, 0.0], armed=armed, stamp=0.0, landed=True)


def test_every_quadrotor_skill_describes_itself():
    quad = skills('quadrotor')
    assert sorted(quad) == ['fly_to', 'hover', 'land', 'take_off']
    for skill in quad.values():
        described = skill.describe()
        assert described['embodiment'] == 'quadrotor'
        assert skill.control_rate_hz >= 20
        assert skill.keypoint_slots().shape == (skill.obs_dim,)
        assert skill.keypoint_slots().any()
        assert not skill.keypoint_slots().all()
        assert skill.noise_dims
        assert skill.demo_noise > 0
        assert entry(skill.name).env is QuadrotorEnv
    assert quad['land'].action_names == ('dx', 'dy', 'dz', 'land')
    assert quad['fly_to'].action_dim == 3
    height = next(a for a in quad['take_off'].describe()['args'] if a['name'] == 'height')
    assert height['default'] == 1.0
    assert height['minimum'] == 0.2
    assert height['maximum'] == pytest.approx(2.8)


def test_take_off_height_is_bounded_by_the_geofence():
    skill = TakeOffSkill(QuadrotorConfig(fence_z_max=2.0))
    assert skill.validate({}) == {'height': 1.0}
    with pytest.raises(SkillArgumentError, match="'height' is 2.5 m, above the maximum 1.8"):
        skill.validate({'height': 2.5})
    with pytest.raises(SkillArgumentError, match="'height' is 0.1 m, below the minimum 0.2"):
        skill.validate({'height': 0.1})
    assert skill.feasibility({'height': 2.5}, PerceivedScene([]))[0] == 0.0
    assert skill.feasibility({'height': 1.5}, PerceivedScene([]))[0] == 1.0


def test_argument_combinations_are_checked():
    with pytest.raises(SkillArgumentError, match="exactly one of 'target' and 'point'"):
        FlyToSkill().validate({})
    with pytest.raises(SkillArgumentError, match="exactly one of 'target' and 'point'"):
        FlyToSkill().validate({'target': 'the red pad', 'point': [1, 1, 1]})
    with pytest.raises(SkillArgumentError, match="at most one of 'target' and 'point'"):
        LandSkill().validate({'target': 'the red pad', 'point': [1, 1, 0]})
    assert LandSkill().validate({}) == {'target': None, 'point': None, 'offset': None}
    with pytest.raises(SkillArgumentError, match="'point' must be"):
        FlyToSkill().validate({'point': [1, 2]})
    with pytest.raises(SkillArgumentError, match="'duration'"):
        HoverSkill().validate({'duration': -1})


def test_fly_to_grounds_a_pad_phrase_height_and_offset(scene):
    skill = FlyToSkill()
    args = skill.validate({'target': 'the red pad', 'height': 1.5, 'offset': [0.0, 0.3, 0.0]})
    targets = skill.targets(args, scene, flying())
    np.testing.assert_allclose(targets['goal'], [2.0, 1.3, 0.005 + 1.5])
    targets = skill.targets(skill.validate({'point': [1.0, -2.0, 1.2]}), scene, flying())
    np.testing.assert_allclose(targets['goal'], [1.0, -2.0, 1.2])


@pytest.mark.parametrize(('args', 'robot', 'reason'), [
    ({'target': 'the purple pad'}, flying(), 'no purple pad'),
    ({'target': 'the pad'}, flying(), 'say which colour'),
    ({'point': [6.0, 0.0, 1.0]}, flying(), r'outside the geofence: x=6.00 m is above 4.8 m'),
    ({'point': [1.0, 0.0, 0.1]}, flying(), 'z=0.10 m is below 0.2 m; lower than that, land'),
    ({'point': [1.0, 0.0, 3.5]}, flying(), 'z=3.50 m is above 2.8 m'),
    ({'target': 'far_pad'}, flying(), 'outside the geofence: x=4.95'),
    ({'point': [1.0, 0.0, 1.0], 'offset': [2.0, 0.0, 0.0]}, flying(), "'offset' .* is longer than 1.0 m"),
    ({'point': [1.0, 0.0, 1.0]}, on_ground(), 'take off first'),
])
def test_fly_to_rejections_say_why(scene, args, robot, reason):
    skill = FlyToSkill()
    with pytest.raises(SkillArgumentError, match=reason):
        skill.targets(skill.validate(args), scene, robot)


def test_land_grounds_pads_points_and_here(scene):
    skill = LandSkill()
    targets = skill.targets(skill.validate({'target': 'the blue pad', 'offset': [0.1, 0.0, 0.5]}), scene, flying())
    np.testing.assert_allclose(targets['spot'], [-1.4, 2.0, 0.005])  # dz of the offset ignored
    assert targets['tolerance'][0] == pytest.approx(0.2)  # the pad's radius
    targets = skill.targets(skill.validate({'point': [1.0, 2.0, 0.7]}), scene, flying())
    np.testing.assert_allclose(targets['spot'], [1.0, 2.0, 0.0])
    targets = skill.targets(skill.validate({}), scene, flying(position=(0.5, -0.5, 1.2)))
    np.testing.assert_allclose(targets['spot'], [0.5, -0.5, 0.0])
    with pytest.raises(SkillArgumentError, match="'crate' .* is not a landing pad"):
        skill.targets(skill.validate({'target': 'crate'}), scene, flying())
    with pytest.raises(SkillArgumentError, match='no green box'):
        skill.targets(skill.validate({'target': 'the green box'}), scene, flying())
    with pytest.raises(SkillArgumentError, match='take off first'):
        skill.targets(skill.validate({}), scene, on_ground(armed=True))
    with pytest.raises(SkillArgumentError, match='outside the geofence: y=-5.50'):
        skill.targets(skill.validate({'point': [0.0, -5.5, 0.0]}), scene, flying())


def test_take_off_and_hover_ground_on_the_vehicle(scene):
    take_off = TakeOffSkill()
    targets = take_off.targets({'height': 1.5}, scene, on_ground(position=(1.0, 2.0, STAND_HEIGHT)))
    np.testing.assert_allclose(targets['goal'], [1.0, 2.0, 1.5])
    with pytest.raises(SkillArgumentError, match='already flying'):
        take_off.targets({'height': 1.5}, scene, flying())
    hover = HoverSkill()
    targets = hover.targets({'duration': 2.0}, scene, flying(position=(1.0, 1.0, 1.3), yaw=0.7))
    np.testing.assert_allclose(targets['hold'], [1.0, 1.0, 1.3])
    assert targets['yaw'][0] == pytest.approx(0.7)
    with pytest.raises(SkillArgumentError, match='take off first'):
        hover.targets({'duration': 2.0}, scene, on_ground())


def test_feasibility_comes_from_the_scene(scene):
    land, fly_to = LandSkill(), FlyToSkill()
    assert land.feasibility({'target': 'the red pad'}, scene)[0] == 1.0
    score, why = land.feasibility({'target': 'the purple pad'}, scene)
    assert score == 0.0
    assert 'purple' in why
    assert land.feasibility({'target': 'crate'}, scene)[0] == 0.0
    assert land.feasibility({}, scene)[0] == 1.0
    assert fly_to.feasibility({'target': 'crate', 'height': 1.0}, scene)[0] == 1.0
    assert fly_to.feasibility({'point': [9.0, 0.0, 1.0]}, scene)[0] == 0.0
    assert HoverSkill().feasibility({'duration': 1.0}, scene)[0] == 1.0


def test_robot_observation_from_odometry_and_status():
    yaw = math.pi / 2
    robot = quadrotor_observation([1.0, 2.0, 1.5], [math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)], [1.0, 0.0, 0.0],
                                  armed=True, stamp=3.5, landed=False)
    np.testing.assert_allclose(robot.velocity, [0.0, 1.0, 0.0], atol=1e-12)  # body x is world y at yaw 90 deg
    assert robot.airborne
    assert robot.stamp == 3.5
    assert robot.embodiment == 'quadrotor'
    assert not quadrotor_observation([0, 0, 1.5], [1, 0, 0, 0], [0, 0, 0], armed=False, stamp=0.0).airborne
    assert not quadrotor_observation([0, 0, 1.5], [1, 0, 0, 0], [0, 0, 0], armed=True, stamp=0.0,
                                     landed=True).airborne
    # Without the land detector's word, height decides
    assert quadrotor_observation([0, 0, 1.5], [1, 0, 0, 0], [0, 0, 0], armed=True, stamp=0.0).airborne
    assert not quadrotor_observation([0, 0, STAND_HEIGHT], [1, 0, 0, 0], [0, 0, 0], armed=True, stamp=0.0).airborne


def test_observation_shapes_and_keypoint_slots(scene):
    fly_to = FlyToSkill()
    robot = flying(position=(0.0, 0.0, 1.0), velocity=(0.2, 0.0, 0.0))
    args = fly_to.validate({'point': [4.0, 3.0, 2.0]})
    obs = fly_to.observation(robot, fly_to.targets(args, scene, robot), args)
    assert obs.dtype == np.float32
    assert obs.shape == (fly_to.obs_dim,)
    assert obs[:5].tolist() == pytest.approx([1.0, 0.2, 0.0, 0.0, 1.0])
    # far targets are seen in their direction, clipped to the observation range
    assert obs[5:7].tolist() == pytest.approx([OBS_RANGE_XY * 0.8, OBS_RANGE_XY * 0.6])
    assert obs[7] == pytest.approx(1.0)
    for skill in skills('quadrotor').values():
        names = np.array(skill.observation_names())
        assert names[~skill.keypoint_slots()].tolist() == ['z', 'vx', 'vy', 'vz', 'airborne']
        assert len(names[skill.keypoint_slots()]) == 3  # the target point relative to the vehicle


def test_commands_are_clipped_set_points_inside_the_fence(scene):
    fly_to = FlyToSkill()
    robot = flying(position=(4.5, 0.0, 1.0), yaw=0.3)
    targets = fly_to.targets(fly_to.validate({'point': [4.0, 0.0, 1.0]}), scene, robot)
    command = fly_to.command(np.array([3.0, 0.0, -2.0]), robot, targets, {})
    assert isinstance(command, QuadrotorCommand)
    assert not command.land
    assert not command.arm
    np.testing.assert_allclose(command.position, [4.8, 0.0, 1.0 - MAX_STEP_Z])  # fence x max 5 - margin 0.2
    assert command.yaw == pytest.approx(0.3)
    command = fly_to.command(np.array([-3.0, -4.0, 0.0]), robot, targets, {})
    np.testing.assert_allclose(command.position, [4.5 - 0.6 * MAX_STEP_XY, -0.8 * MAX_STEP_XY, 1.0])
    low = fly_to.command(np.array([0.0, 0.0, -0.3]), flying(position=(0.0, 0.0, 0.3)), targets, {})
    assert low.position[2] == pytest.approx(0.2)  # never under the fence floor: lower than that is land's job
    with pytest.raises(ValueError, match='not 3 finite numbers'):
        fly_to.command(np.array([np.nan, 0.0, 0.0]), robot, targets, {})
    with pytest.raises(ValueError, match='not 3 finite numbers'):
        fly_to.command(np.array([0.0, 0.0]), robot, targets, {})


def test_take_off_arms_on_the_ground_and_land_hands_over(scene):
    take_off = TakeOffSkill()
    ground = on_ground()
    targets = take_off.targets({'height': 1.0}, scene, ground)
    command = take_off.command(np.array([0.0, 0.0, 0.3]), ground, targets, {'height': 1.0})
    assert command.arm
    assert not command.land
    assert command.position[2] == pytest.approx(STAND_HEIGHT + 0.3)
    assert not take_off.command(np.array([0.0, 0.0, 0.3]), flying(), targets, {}).arm
    land = LandSkill()
    robot = flying(position=(1.0, 1.0, 0.5))
    targets = land.targets({'target': None, 'point': None, 'offset': None}, scene, robot)
    command = land.command(np.array([0.0, 0.0, 0.0, 0.9]), robot, targets, {})
    assert command.land
    np.testing.assert_allclose(command.position, robot.position)
    assert not land.command(np.array([0.1, 0.0, 0.0, 0.1]), robot, targets, {}).land
    with pytest.raises(ValueError, match='not 4 finite numbers'):
        land.command(np.array([0.0, 0.0, 0.0, np.inf]), robot, targets, {})


def test_success_checks_read_the_robot_and_the_scene(scene):
    land = LandSkill()
    args = land.validate({'target': 'the red pad'})
    targets = land.targets(args, scene, flying())
    assert land.finished(on_ground((2.2, 1.0, STAND_HEIGHT + 0.005)), targets, args)
    ok, why = land.success(on_ground((2.2, 1.0, STAND_HEIGHT + 0.005)), scene, targets, args)
    assert ok, why
    ok, why = land.success(on_ground((2.4, 1.0, STAND_HEIGHT + 0.005)), scene, targets, args)
    assert not ok
    assert 'off target' in why
    ok, why = land.success(flying((2.0, 1.0, 0.5)), scene, targets, args)
    assert not ok
    assert 'still flying' in why

    fly_to = FlyToSkill()
    args = fly_to.validate({'point': [1.0, 1.0, 1.0]})
    targets = fly_to.targets(args, scene, flying())
    assert fly_to.success(flying((1.05, 1.0, 1.1)), scene, targets, args)[0]
    assert not fly_to.success(flying((1.2, 1.0, 1.1)), scene, targets, args)[0]
    assert not fly_to.success(flying((1.0, 1.0, 1.0), velocity=(0.5, 0, 0)), scene, targets, args)[0]

    take_off = TakeOffSkill()
    targets = take_off.targets({'height': 1.0}, scene, on_ground())
    assert take_off.success(flying((0.0, 0.05, 1.08)), scene, targets, {'height': 1.0})[0]
    assert not take_off.success(flying((0.0, 0.0, 1.15)), scene, targets, {'height': 1.0})[0]
    assert not take_off.success(on_ground(armed=True), scene, targets, {'height': 1.0})[0]


def test_hover_must_stay_within_tolerance_for_the_whole_duration(scene):
    hover = HoverSkill()
    args = {'duration': 1.0}
    targets = hover.targets(args, scene, flying(position=(0.0, 0.0, 1.0), stamp=0.0))
    assert not hover.finished(flying((0.0, 0.0, 1.0), stamp=0.5), targets, args)  # settled: the hold starts
    assert hover.progress(flying((0.03, 0.0, 1.0), stamp=1.0), targets, args).phase == 'hold'
    assert hover.finished(flying((0.0, 0.0, 1.0), stamp=1.5), targets, args)
    assert hover.success(flying((0.0, 0.0, 1.0), stamp=1.8), scene, targets, args)[0]
    targets = hover.targets(args, scene, flying(position=(0.0, 0.0, 1.0), stamp=0.0))
    hover.finished(flying((0.0, 0.0, 1.0), stamp=0.1), targets, args)
    hover.finished(flying((0.15, 0.0, 1.0), stamp=0.6), targets, args)  # strayed mid-hold
    assert hover.finished(flying((0.0, 0.0, 1.0), stamp=1.2), targets, args)
    ok, why = hover.success(flying((0.0, 0.0, 1.0), stamp=1.5), scene, targets, args)
    assert not ok
    assert 'beyond the 0.1 m tolerance' in why
    # never settles: gives up after the settling allowance
    targets = hover.targets(args, scene, flying(position=(0.0, 0.0, 1.0), stamp=0.0))
    assert not hover.finished(flying((0.5, 0.0, 1.0), stamp=3.0), targets, args)
    assert hover.finished(flying((0.5, 0.0, 1.0), stamp=5.5), targets, args)
    assert 'never settled' in hover.success(flying((0.5, 0.0, 1.0), stamp=5.5), scene, targets, args)[1]


def test_env_start_states_are_seeded_and_as_each_skill_needs():
    env = QuadrotorEnv('take_off')
    try:
        task = env.reset(3)
        robot = env.observe()
        assert not robot.airborne
        assert robot.position[2] == pytest.approx(STAND_HEIGHT, abs=0.01)  # STAND_HEIGHT matches the model
        assert 0.2 <= task.args['height'] <= 2.8
        scene = env.perceive()
        assert scene.objects
        assert all(o.label == 'pad' for o in scene.objects)
        assert len({o.color for o in scene.objects}) == len(scene.objects)
        with pytest.raises(CommandError, match='disarmed'):
            env.apply(QuadrotorCommand(position=np.array([0.0, 0.0, 1.0])))
    finally:
        env.close()
    env = QuadrotorEnv('land')
    try:
        first = env.reset(5).args
        robot = env.observe()
        assert robot.airborne
        assert robot.position[2] > 0.4
        assert env.reset(5).args == first
    finally:
        env.close()


def test_a_non_finite_action_holds_the_vehicle_in_the_air():
    class NaNController:
        def reset(self, *args):
            pass

        def act(self, observation, robot):
            return np.array([np.nan, 0.0, 0.0])

    env = QuadrotorEnv('hover')
    try:
        result = run_episode(HoverSkill(), NaNController(), env, seed=2)
        assert result.stopped
        assert not result.success
        assert 'non-finite' in result.reason
        before = env.observe()
        env.advance(1.0)  # the watchdog must not land it either: hold is not a stream
        after = env.observe()
        assert before.airborne
        assert after.airborne
        assert abs(after.position[2] - before.position[2]) < 0.1
        assert np.linalg.norm(after.velocity) < 0.5
        assert env.driver.status().details['watchdog'] == 'idle'
    finally:
        env.close()


def test_unknown_skill_has_no_environment():
    with pytest.raises(ValueError, match='no quadrotor environment'):
        QuadrotorEnv('pick')
