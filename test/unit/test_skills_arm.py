"""Arm skills: argument schemas, grounding and rejection reasons, feasibility, and the episode runner's safety."""


import numpy as np
import pytest

from skill_stack.perception.types import PerceivedScene
from skill_stack.sim.scene_file import parse_scene
from skill_stack.skills.arm import (
    GRIPPER_OPEN,
    MAX_STEP,
    PickSkill,
    PlaceSkill,
    PushSkill,
    ReachSkill,
)
from skill_stack.skills.arm_env import ArmEnv, down_quaternion, gripper_yaw
from skill_stack.skills.base import RobotObservation
from skill_stack.skills.episodes import run_episode
from skill_stack.skills.library import skills
from skill_stack.skills.schema import SkillArgumentError

from scene_helpers import perceived


@pytest.fixture
def scene():
    return PerceivedScene(objects=[
        perceived('red_cube', 'box', [0.45, 0.05, 0.02], [0.04, 0.04, 0.04]),
        perceived('blue_bowl', 'bowl', [0.45, -0.15, 0.02], [0.16, 0.16, 0.04], color='blue'),
        perceived('green_pad', 'pad', [0.5, 0.2, 0.0025], [0.12, 0.12, 0.005], color='green'),
        perceived('far_cube', 'box', [0.9, 0.0, 0.02], [0.04, 0.04, 0.04], color='yellow'),
        perceived('huge_box', 'box', [0.4, 0.3, 0.05], [0.2, 0.15, 0.1], color='white'),
    ])


def robot_at(position=(0.3, 0.0, 0.3), width=GRIPPER_OPEN):
    return RobotObservation(embodiment='arm', position=np.asarray(position, float), quaternion=down_quaternion(0.0),
                            gripper_width=width)


def test_every_arm_skill_describes_itself():
    arm = skills('arm')
    assert sorted(arm) == ['pick', 'place', 'push', 'reach']
    for skill in arm.values():
        described = skill.describe()
        assert described['embodiment'] == 'arm'
        assert described['args']
        assert skill.keypoint_slots().shape == (skill.obs_dim,)


@pytest.mark.parametrize(('skill', 'args', 'message'), [
    (PickSkill(), {}, "missing argument 'object'"),
    (PickSkill(), {'object': 'red_cube', 'speed': 1}, 'unknown argument'),
    (PlaceSkill(), {'object': 'red_cube'}, "exactly one of 'target' and 'point'"),
    (PlaceSkill(), {'object': 'red_cube', 'target': 'blue_bowl', 'point': [0.4, 0, 0]},
     "exactly one of 'target' and 'point'"),
    (PushSkill(), {'object': 'red_cube', 'direction': 0.0, 'distance': 0.5}, 'above the maximum'),
    (PushSkill(), {'object': 'red_cube', 'direction': 270.0, 'distance': 0.1}, 'above the maximum'),
    (PushSkill(), {'object': 'red_cube', 'direction': 'left', 'distance': 0.1}, 'finite number'),
    (ReachSkill(), {}, "exactly one of 'object' and 'point'"),
    (ReachSkill(), {'object': 'red_cube', 'point': [0.4, 0, 0.2]}, "exactly one of 'object' and 'point'"),
    (ReachSkill(), {'point': [0.4, 0.0]}, '[x, y, z]'),
    (ReachSkill(), {'object': 'red_cube', 'part': 'handle'}, 'must be one of'),
])
def test_schema_rejects_with_reason(skill, args, message):
    with pytest.raises(SkillArgumentError, match=message.replace('[', r'\[').replace(']', r'\]')):
        skill.validate(args)


def test_schema_fills_defaults():
    assert ReachSkill().validate({'object': 'red_cube'})['height'] == 0.05
    assert PushSkill().validate({'object': 'x', 'direction': 90, 'distance': 0.1})['direction'] == 90.0


@pytest.mark.parametrize(('skill', 'args', 'message'), [
    (PickSkill(), {'object': 'purple_cone'}, "no match for 'purple_cone': no cone seen"),
    (PickSkill(), {'object': 'green_pad'}, 'not graspable'),
    (PickSkill(), {'object': 'far_cube'}, 'out of reach'),
    (PickSkill(), {'object': 'huge_box'}, 'not graspable'),
    (PlaceSkill(), {'object': 'red_cube', 'target': 'red_cube'}, 'the same'),
    (PushSkill(), {'object': 'red_cube', 'direction': 180.0, 'distance': 0.2}, 'out of reach'),
    (ReachSkill(), {'point': [0.1, 0.0, 0.05]}, 'out of reach'),
    (ReachSkill(), {'object': 'red_cube', 'part': 'rim'}, "no 'rim' keypoint"),
])
def test_targets_reject_before_anything_moves(scene, skill, args, message):
    with pytest.raises(SkillArgumentError, match=message):
        skill.targets(skill.validate(args), scene, robot_at())


def test_place_rejects_an_object_that_is_not_held(scene):
    with pytest.raises(SkillArgumentError, match='is it held'):
        PlaceSkill().targets({'object': 'red_cube', 'target': 'blue_bowl'}, scene, robot_at((0.45, 0.05, 0.02)))


def test_place_at_a_table_point_releases_just_above_the_table(scene):
    place = PlaceSkill()
    args = place.validate({'object': 'red_cube', 'point': [0.42, 0.15, 0.0]})
    holding = robot_at((0.45, 0.05, 0.05), width=0.04)
    targets = place.targets(args, scene, holding)
    assert targets['container'][0] == 0.0
    assert targets['place'].tolist() == [0.42, 0.15, 0.0]
    # The cube's bottom (5 cm below the gripper) just over the table surface.
    assert place.release_height(targets) == pytest.approx(0.05 + 0.012)
    observation = place.observation(holding, targets, args)
    assert observation.shape == (place.obs_dim,)
    assert np.all(np.isfinite(observation))
    with pytest.raises(SkillArgumentError, match='out of reach'):
        place.targets(place.validate({'object': 'red_cube', 'point': [0.25, 0.0, 0.0]}), scene, holding)


def test_a_table_point_is_feasible_only_when_free_and_in_reach(scene):
    place = PlaceSkill()
    assert place.feasibility({'object': 'red_cube', 'point': [0.42, 0.15, 0.0]}, scene)[0] > 0.5
    taken, why = place.feasibility({'object': 'red_cube', 'point': [0.45, -0.12, 0.0]}, scene)
    assert taken == 0.0
    assert 'blue_bowl' in why
    assert place.feasibility({'object': 'red_cube', 'point': [0.2, 0.0, 0.0]}, scene)[0] == 0.0


def test_objects_are_found_by_phrase(scene):
    targets = PickSkill().targets({'object': 'red box'}, scene, robot_at())
    assert np.allclose(targets['grasp'][:2], [0.45, 0.05])
    with pytest.raises(SkillArgumentError, match='ambiguous'):
        PickSkill().targets({'object': 'box'}, scene, robot_at())


def test_offset_shifts_the_target_and_is_bounded(scene):
    reach = ReachSkill()
    plain = reach.targets(reach.validate({'object': 'red_cube'}), scene, robot_at())
    shifted = reach.targets(reach.validate({'object': 'red_cube', 'offset': [0.0, 0.05, 0.0]}), scene, robot_at())
    assert np.allclose(shifted['goal'] - plain['goal'], [0.0, 0.05, 0.0])
    with pytest.raises(SkillArgumentError, match="'offset'.*longer than"):
        reach.targets(reach.validate({'object': 'red_cube', 'offset': [0.0, 0.5, 0.0]}), scene, robot_at())
    with pytest.raises(SkillArgumentError, match=r"'offset' must be \[x, y, z\]"):
        reach.validate({'object': 'red_cube', 'offset': [0.0, float('nan'), 0.0]})


def test_feasibility_follows_affordances(scene):
    pick, place, push, reach = PickSkill(), PlaceSkill(), PushSkill(), ReachSkill()
    assert pick.feasibility({'object': 'red_cube'}, scene)[0] > 0.9
    assert pick.feasibility({'object': 'green_pad'}, scene)[0] == 0.0
    assert pick.feasibility({'object': 'far_cube'}, scene)[0] == 0.0
    assert pick.feasibility({'object': 'nothing'}, scene)[0] == 0.0
    assert place.feasibility({'object': 'red_cube', 'target': 'blue_bowl'}, scene)[0] > 0.9
    assert place.feasibility({'object': 'red_cube', 'target': 'green_pad'}, scene)[0] > 0.9
    assert push.feasibility({'object': 'red_cube', 'direction': 0, 'distance': 0.1}, scene)[0] > 0.9
    assert push.feasibility({'object': 'green_pad', 'direction': 0, 'distance': 0.1}, scene)[0] == 0.0
    assert reach.feasibility({'point': [0.45, 0.0, 0.2]}, scene)[0] == 1.0
    assert reach.feasibility({'point': [0.9, 0.0, 0.2]}, scene)[0] == 0.0


@pytest.mark.parametrize(('position', 'distance'), [([0.85, 0.3], 0.901), ([0.12, 0.05], 0.130)],
                         ids=['far', 'by-the-base'])
def test_a_scene_object_out_of_reach_fails_its_task_naming_distance_and_reach(position, distance):
    """The scene contract accepts objects anywhere on the table; the skill refuses a task on one out of
    reach, in the planner's feasibility and again before its first command, naming distance and reach."""
    spec = parse_scene({'embodiment': 'arm', 'objects': [
        {'name': 'cube', 'shape': 'box', 'color': 'yellow', 'size': [0.04] * 3, 'position': position}]})
    cube = spec.object('cube')
    scene = PerceivedScene(objects=[perceived(cube.name, 'box', [*cube.position, 0.02], cube.size, color='yellow')])
    pick, push = (PickSkill(), {'object': 'cube'}), (PushSkill(), {'object': 'cube', 'direction': 0.0,
                                                                   'distance': 0.1})
    # Pick's feasibility checks the reach its targets() check: the nearest at the grasp height.
    score, why = pick[0].feasibility(pick[1], scene)
    assert score == 0.0
    assert f'out of reach ({distance:.3f} m from the arm base; a top-down gripper reaches 0.36..0.62 m' in why
    score, why = push[0].feasibility(push[1], scene)
    assert score == 0.0
    assert f'out of reach ({distance:.3f} m from the arm base; a top-down gripper reaches 0.20..0.62 m' in why
    # At the grasp height the nearest reach is farther; push names its first point out of reach.
    for (skill, args), where in ((pick, f'{distance:.3f}'), (push, r'0\.\d{3}')):
        with pytest.raises(SkillArgumentError, match=rf'out of reach \({where} m from the arm base; '
                                                     r'a top-down gripper reaches 0\.36\.\.0\.62 m'):
            skill.targets(skill.validate(args), scene, robot_at())


def test_pick_feasibility_uses_the_reach_at_the_grasp_height():
    """0.35 m is within the nearest reach at any height (0.20 m) but not at table level (0.36 m): pick's
    targets() refuse it, so its feasibility must too, and one just inside is feasible."""
    near = PerceivedScene(objects=[perceived('close', 'box', [0.35, 0.0, 0.02], [0.04] * 3),
                                   perceived('fine', 'box', [0.37, 0.05, 0.02], [0.04] * 3, color='blue')])
    pick = PickSkill()
    score, why = pick.feasibility({'object': 'close'}, near)
    assert score == 0.0
    assert '0.350 m from the arm base' in why
    assert 'reaches 0.36..0.62 m' in why
    with pytest.raises(SkillArgumentError, match='0.350 m from the arm base'):
        pick.targets({'object': 'close'}, near, robot_at())
    assert pick.feasibility({'object': 'fine'}, near)[0] > 0.5
    pick.targets({'object': 'fine'}, near, robot_at())


def test_command_clips_the_step_and_keeps_the_gripper_down(scene):
    skill = PickSkill()
    targets = skill.targets({'object': 'red_cube'}, scene, robot_at())
    command = skill.command(np.array([0.5, 0.0, 0.0, 0.9]), robot_at((0.45, 0.0, 0.2)), targets, {})
    assert np.linalg.norm(command.ee_position - [0.45, 0.0, 0.2]) == pytest.approx(MAX_STEP)
    assert command.gripper_width == GRIPPER_OPEN
    assert skill.command(np.zeros(4), robot_at(), targets, {}).gripper_width == 0.0
    assert gripper_yaw(command.ee_quaternion) == pytest.approx(targets['yaw'][0])
    with pytest.raises(ValueError, match='finite'):
        skill.command(np.array([np.nan, 0, 0, 1]), robot_at(), targets, {})


class NaNController:
    def reset(self, skill, env, args, targets):
        self.calls = 0

    def act(self, observation, robot):
        self.calls += 1
        return np.array([0.01, 0.0, 0.0, 1.0]) if self.calls < 3 else np.full(4, np.nan)


def test_nan_policy_output_holds_the_arm_and_fails_with_the_reason():
    env = ArmEnv('reach')
    try:
        result = run_episode(ReachSkill(), NaNController(), env, seed=3)
        assert not result.success
        assert result.stopped
        assert 'non-finite' in result.reason
        assert env.driver.status().fault
        assert 'e-stop' in env.driver.status().fault
        before = env.observe().position
        env.advance(0.5)
        assert np.linalg.norm(env.observe().position - before) < 0.005  # held, not drifting on
    finally:
        env.close()


def test_expert_episode_records_demonstrations():
    from skill_stack.skills.arm_experts import ReachExpert

    env = ArmEnv('reach')
    try:
        result = run_episode(ReachSkill(), ReachExpert(), env, seed=5, record=True)
    finally:
        env.close()
    assert result.success, result.reason
    assert result.observations.shape == (result.steps, ReachSkill().obs_dim)
    assert result.actions.shape == (result.steps, 4)


def test_an_object_let_go_over_a_bowl_and_seen_nowhere_is_in_it(scene):
    """A ball in a bowl is often hidden by the rim or drawn as part of the bowl: the place still succeeded."""
    place = PlaceSkill()
    args = place.validate({'object': 'red_cube', 'target': 'blue_bowl'})
    targets = place.targets(args, scene, robot_at((0.45, 0.05, 0.05), width=0.04))
    without_cube = PerceivedScene(objects=[o for o in scene.objects if o.id != 'red_cube'])
    ok, why = place.success(robot_at((0.455, -0.15, 0.1)), without_cube, targets, args)
    assert ok, why
    assert 'out of sight' in why
    assert not place.success(robot_at((0.45, 0.05, 0.1)), without_cube, targets, args)[0]  # let go elsewhere
    assert not place.success(robot_at((0.455, -0.15, 0.1), width=0.04), without_cube, targets, args)[0]  # held
    gone = PerceivedScene(objects=[o for o in without_cube.objects if o.id != 'blue_bowl'])
    assert not place.success(robot_at((0.455, -0.15, 0.1)), gone, targets, args)[0]  # no bowl to be in


def test_a_second_object_goes_where_the_bowl_has_room(scene):
    """Into an empty bowl at its centre; into one that holds a cube, at the far side of its opening."""
    place = PlaceSkill()
    args = place.validate({'object': 'red_cube', 'target': 'blue_bowl'})
    holding = robot_at((0.45, 0.05, 0.05), width=0.04)
    assert place.targets(args, scene, holding)['place'][:2] == pytest.approx([0.45, -0.15])
    inside = perceived('green_cube', 'box', [0.47, -0.15, 0.03], [0.03, 0.03, 0.03], color='green')
    filled = PerceivedScene(objects=[*scene.objects, inside])
    spot = place.targets(args, filled, holding)['place'][:2]
    assert spot[0] < 0.45 - 0.03  # away from the cube inside, still within the bowl's 8 cm
    assert np.hypot(spot[0] - 0.45, spot[1] + 0.15) < 0.08
