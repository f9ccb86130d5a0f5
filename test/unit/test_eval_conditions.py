"""Success conditions on ground-truth worlds: each holds when it should, fails with a measured reason when not."""

import copy
import math

import pytest

from skill_stack.eval.conditions import ConditionError, evaluate, parse_condition, rotation_degrees, yaw_degrees
from skill_stack.sim.scene_file import parse_scene

ARM = parse_scene({'embodiment': 'arm', 'objects': [
    {'name': 'red_cube', 'shape': 'box', 'color': 'red', 'size': [0.04, 0.04, 0.04], 'position': [0.45, 0.15]},
    {'name': 'green_bowl', 'shape': 'bowl', 'color': 'green', 'size': [0.08, 0.05], 'position': [0.42, -0.2]},
    {'name': 'yellow_box', 'shape': 'box', 'color': 'yellow', 'size': [0.1, 0.06, 0.04], 'position': [0.55, 0.0]},
    {'name': 'pad', 'shape': 'pad', 'color': 'blue', 'size': [0.06], 'position': [0.35, 0.3]},
]})
QUAD = parse_scene({'embodiment': 'quadrotor', 'objects': [
    {'name': 'red_pad', 'shape': 'pad', 'color': 'red', 'size': [0.3], 'position': [2.0, 1.0]},
]})
UP = [1.0, 0.0, 0.0, 0.0]


def world(**positions):
    """An arm world at the scene's start, with some objects moved."""
    start = {'red_cube': [0.45, 0.15, 0.02], 'green_bowl': [0.42, -0.2, 0.025], 'yellow_box': [0.55, 0.0, 0.02],
             'pad': [0.35, 0.3, 0.0025]}
    start.update(positions)
    return {'objects': {n: {'position': p, 'quaternion': list(UP)} for n, p in start.items()},
            'robots': {'arm': {'position': [0.3, 0.0, 0.3]}}}


def check(raw, before, after, scene=ARM):
    return evaluate([parse_condition(raw, scene, 'expect.conditions[0]')], before, after)[0]


def yawed(degrees):
    half = math.radians(degrees) / 2
    return [math.cos(half), 0.0, 0.0, math.sin(half)]


def test_inside_a_bowl_holds_only_below_the_rim_and_within_it():
    cond = {'inside': {'object': 'red_cube', 'container': 'green_bowl'}}
    assert check(cond, world(), world(red_cube=[0.43, -0.19, 0.03])).ok
    assert not check(cond, world(), world()).ok  # still on the table
    beside = check(cond, world(), world(red_cube=[0.42, -0.09, 0.02]))
    assert not beside.ok
    assert '11.0 cm' in beside.detail
    assert not check(cond, world(), world(red_cube=[0.42, -0.2, 0.09])).ok  # held above the bowl


def test_on_top_of_a_box_uses_its_extent_and_top():
    cond = {'on_top_of': {'object': 'red_cube', 'support': 'yellow_box'}}
    assert check(cond, world(), world(red_cube=[0.59, 0.02, 0.061])).ok
    assert not check(cond, world(), world(red_cube=[0.55, 0.06, 0.061])).ok  # beyond its 3 cm half width
    assert not check(cond, world(), world(red_cube=[0.55, 0.0, 0.02])).ok  # not on top (z)
    pad = {'on_top_of': {'object': 'red_cube', 'support': 'pad'}}
    assert check(pad, world(), world(red_cube=[0.36, 0.31, 0.026])).ok


def test_moved_by_distance_and_direction():
    left = {'moved_by': {'object': 'red_cube', 'min': 0.05, 'max': 0.15, 'direction': 'left'}}
    assert check(left, world(), world(red_cube=[0.46, 0.25, 0.02])).ok
    assert not check(left, world(), world(red_cube=[0.45, 0.05, 0.02])).ok  # right, not left
    assert not check(left, world(), world(red_cube=[0.45, 0.17, 0.02])).ok  # too short
    assert not check(left, world(), world(red_cube=[0.45, 0.35, 0.02])).ok  # too far
    assert check({'moved_by': {'object': 'red_cube', 'direction': -90}}, world(), world(red_cube=[0.45, 0.1, 0.02])).ok


def test_lifted_compares_heights():
    cond = {'lifted': {'object': 'red_cube', 'min_height': 0.05}}
    assert check(cond, world(), world(red_cube=[0.45, 0.15, 0.1])).ok
    failed = check(cond, world(), world(red_cube=[0.45, 0.15, 0.04]))
    assert not failed.ok
    assert '2.0 cm' in failed.detail


def test_landed_on_needs_the_body_on_the_pad_and_down():
    cond = {'landed_on': {'pad': 'red_pad'}}

    def quad(body):
        return {'objects': {'red_pad': {'position': [2.0, 1.0, 0.0025], 'quaternion': UP}},
                'robots': {'quadrotor': {'position': body}}}

    start = quad([0.0, 0.0, 0.05])
    assert check(cond, start, quad([2.1, 1.05, 0.06]), QUAD).ok
    assert not check(cond, start, quad([2.1, 1.05, 1.0]), QUAD).ok  # hovering above it
    assert not check(cond, start, quad([0.0, 0.0, 0.05]), QUAD).ok  # never left


def test_rotated_by_reads_the_yaw_change():
    before, after = world(), world()
    after['objects']['red_cube']['quaternion'] = yawed(85.0)
    assert check({'rotated_by': {'object': 'red_cube', 'degrees': 90}}, before, after).ok
    assert not check({'rotated_by': {'object': 'red_cube', 'degrees': -90}}, before, after).ok
    assert yaw_degrees(yawed(170.0)) == pytest.approx(170.0)
    assert rotation_degrees(UP, yawed(30.0)) == pytest.approx(30.0)


def test_unchanged_all_checks_every_object_and_optionally_the_robot():
    before = world()
    assert check({'unchanged': 'all'}, before, copy.deepcopy(before)).ok
    nudged = world(green_bowl=[0.42, -0.18, 0.025])
    failed = check({'unchanged': 'all'}, before, nudged)
    assert not failed.ok
    assert 'green_bowl moved 2.0 cm' in failed.detail
    assert check({'unchanged': ['red_cube']}, before, nudged).ok
    turned = copy.deepcopy(before)
    turned['objects']['red_cube']['quaternion'] = yawed(40.0)
    assert not check({'unchanged': ['red_cube']}, before, turned).ok
    moved_arm = copy.deepcopy(before)
    moved_arm['robots']['arm']['position'] = [0.4, 0.0, 0.3]
    assert check({'unchanged': 'all'}, before, moved_arm).ok
    assert not check({'unchanged': {'objects': 'all', 'robot': True}}, before, moved_arm).ok


def test_no_world_after_fails_every_condition():
    verdict = evaluate([parse_condition({'unchanged': 'all'}, ARM, 'c')], world(), None)[0]
    assert not verdict.ok
    assert 'no ground truth' in verdict.detail


def test_a_world_without_the_object_fails_instead_of_raising():
    after = world()
    del after['objects']['red_cube']
    verdict = check({'lifted': {'object': 'red_cube', 'min_height': 0.05}}, world(), after)
    assert not verdict.ok
    assert 'cannot evaluate' in verdict.detail


@pytest.mark.parametrize(('raw', 'field', 'words'), [
    ({'levitated': {'object': 'red_cube'}}, 'c', 'unknown condition'),
    ({'inside': {'object': 'red_cube'}}, 'c.inside.container', 'missing'),
    ({'inside': {'object': 'blue_cube', 'container': 'green_bowl'}}, 'c.inside.object', 'not an object'),
    ({'inside': {'object': 'red_cube', 'container': 'yellow_box'}}, 'c.inside.container', 'not a bowl'),
    ({'inside': {'object': 'red_cube', 'container': 'green_bowl', 'depth': 1}}, 'c.inside.depth', 'unknown'),
    ({'lifted': {'object': 'red_cube', 'min_height': 'high'}}, 'c.lifted.min_height', 'number'),
    ({'moved_by': {'object': 'red_cube'}}, 'c.moved_by', 'at least one'),
    ({'moved_by': {'object': 'red_cube', 'min': 0.2, 'max': 0.1}}, 'c.moved_by', 'more than max'),
    ({'moved_by': {'object': 'red_cube', 'direction': 'up'}}, 'c.moved_by.direction', 'degrees'),
    ({'landed_on': {'pad': 'pad'}}, 'c.landed_on', 'quadrotor'),
    ({'unchanged': []}, 'c.unchanged.objects', 'non-empty'),
    ({'unchanged': ['red_cube', 'ghost']}, 'c.unchanged.objects[1]', 'not an object'),
    ({'unchanged': {'objects': 'all', 'tolerance': 5}}, 'c.unchanged.tolerance', '0.0..1.0'),
    ('inside', 'c', 'one mapping'),
    ({'inside': {}, 'lifted': {}}, 'c', 'one mapping'),
])
def test_bad_conditions_are_refused_naming_the_field(raw, field, words):
    with pytest.raises(ConditionError) as err:
        parse_condition(raw, ARM, 'c')
    assert err.value.field == field
    assert words in str(err.value)


def test_a_can_taller_than_the_bowl_standing_in_it_is_inside():
    scene = parse_scene({'embodiment': 'arm', 'objects': [
        {'name': 'can', 'shape': 'cylinder', 'color': 'yellow', 'size': [0.02, 0.08], 'position': [0.45, 0.15]},
        {'name': 'bowl', 'shape': 'bowl', 'color': 'red', 'size': [0.08, 0.037], 'position': [0.42, -0.2]}]})

    def at(can):
        return {'objects': {'can': {'position': can, 'quaternion': UP},
                            'bowl': {'position': [0.42, -0.2, 0.0185], 'quaternion': UP}},
                'robots': {'arm': {'position': [0.3, 0.0, 0.3]}}}

    cond = {'inside': {'object': 'can', 'container': 'bowl'}}
    before = at([0.45, 0.15, 0.04])
    assert check(cond, before, at([0.42, -0.2, 0.043]), scene).ok  # centre above the 3.7 cm rim, bottom inside
    assert not check(cond, before, at([0.42, -0.2, 0.09]), scene).ok  # held above it
    assert not check(cond, before, at([0.42, -0.05, 0.04]), scene).ok  # beside it
