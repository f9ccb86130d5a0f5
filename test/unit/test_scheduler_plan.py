"""Plan types and their JSON, the skill catalog read from schemas, implicit steps, and rebinding ids to new scenes."""

from __future__ import annotations

import json

import pytest
from test_scheduler_scenes import obj, scene, skills, table

from skill_stack.scheduler.binding import rebind, ref_of
from skill_stack.scheduler.catalog import SkillCatalog, clear_winner, rank
from skill_stack.scheduler.effects import apply, check, complete
from skill_stack.scheduler.plan import ObjectRef, Plan, RobotState, Step
from skill_stack.skills import library

CATALOG = SkillCatalog(skills())


def test_steps_and_plans_round_trip_through_json():
    ref = ObjectRef('obj_0', 'box', 'red', (0.4, 0.15, 0.02))
    step = Step('place', {'object': 'obj_0', 'target': 'obj_3'}, robot='arm', status='failed', message='dropped',
                confidence=0.8, feasibility=0.5, why='ok', source='put it in the bowl', refs={'object': ref})
    plan = Plan([step, Step('pick', {'object': 'obj_1'})], instruction='put it in the bowl', robot='arm')
    back = Plan.from_json(plan.to_json())
    assert back == plan
    assert back.steps[0].score == pytest.approx(0.4)
    assert json.loads(step.args_json()) == {'object': 'obj_0', 'target': 'obj_3'}
    assert Step.from_dict({'skill': 'pick', 'args': '{"object": "obj_1"}'}).args == {'object': 'obj_1'}
    assert Plan.from_dict([{'skill': 'hover'}]).steps[0].args == {}
    assert plan.score == pytest.approx(0.4)
    assert 'red box obj_0' in step.describe()


@pytest.mark.parametrize('bad', [{'args': {}}, {'skill': 'pick', 'args': [1]}, {'skill': 'pick', 'status': 'done'}, 3])
def test_malformed_steps_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match='step|skill'):
        Step.from_dict(bad)


def test_the_catalog_reads_the_library_schemas():
    catalog = SkillCatalog(library.skills())
    assert catalog.names('arm') == ['reach', 'pick', 'place', 'push']
    assert [a.name for a in catalog.object_args('place')] == ['object', 'target']
    distance = catalog.arg('push', 'distance')
    assert (distance.dimension, distance.minimum, distance.maximum) == ('length', 0.03, 0.2)
    assert catalog.arg('push', 'direction').dimension == 'angle'
    assert catalog.takes_offset('place')
    assert not catalog.takes_offset('pick')
    _, error = catalog.validate(Step('push', {'object': 'obj_0', 'direction': 0, 'distance': 1.0}))
    assert 'maximum' in error
    assert catalog.validate(Step('fly', {}))[1].startswith("unknown skill 'fly'")


def test_feasibility_comes_from_the_skill_and_ranks_candidates():
    far = scene(obj('near', 'box', 'red', 0.4, 0.0), obj('far', 'box', 'red', 0.9, 0.0))
    steps = [CATALOG.assess(Step('pick', {'object': oid}, confidence=0.5), far) for oid in ('far', 'near')]
    assert steps[0].feasibility == 0.0
    assert 'out of reach' in steps[0].why
    ranked = rank(steps)
    assert [s.args['object'] for s in ranked] == ['near', 'far']
    assert clear_winner(ranked).args['object'] == 'near'
    tie = [Step('pick', {}, confidence=0.5, feasibility=0.8), Step('pick', {}, confidence=0.5, feasibility=0.7)]
    assert clear_winner(rank(tie)) is None


def test_completion_inserts_implicit_steps_and_drops_achieved_ones():
    arm = RobotState('arm')
    steps, error, _, state = complete([Step('place', {'object': 'obj_0', 'target': 'obj_3'})], arm, CATALOG)
    assert not error
    assert [(s.skill, s.source) for s in steps] == [('pick', 'implicit'), ('place', '')]
    assert state.holding is None
    drone = RobotState('quadrotor')
    steps, _, _, state = complete([Step('fly_to', {'target': 'pad_0'}), Step('land', {})], drone, CATALOG)
    assert [s.skill for s in steps] == ['take_off', 'fly_to', 'land']
    assert not state.airborne
    steps, _, notes, _ = complete([Step('take_off', {}), Step('hover', {})], RobotState('quadrotor', airborne=True),
                                  CATALOG)
    assert [s.skill for s in steps] == ['hover']
    assert 'already flying' in notes[0]
    steps, _, notes, _ = complete([Step('land', {})], drone, CATALOG)
    assert steps == []
    assert 'already on the ground' in notes[0]


def test_completion_refuses_what_the_gripper_cannot_do():
    holding = RobotState('arm', holding='obj_1')
    _, error, _, _ = complete([Step('pick', {'object': 'obj_0'})], holding, CATALOG)
    assert 'already holds obj_1' in error
    _, error, _, _ = complete([Step('push', {'object': 'obj_0', 'direction': 0, 'distance': 0.05})], holding, CATALOG)
    assert 'empty gripper' in error
    steps, error, notes, _ = complete([Step('pick', {'object': 'obj_1'})], holding, CATALOG)
    assert steps == []
    assert not error
    assert 'already holding' in notes[0]
    assert check(Step('place', {'object': 'obj_0', 'target': 'obj_3'}), RobotState('arm'))
    assert apply(Step('grasp', {'object': 'obj_2'}), RobotState('hand')).holding == 'obj_2'


def test_rebinding_follows_objects_to_new_ids_and_reports_lost_ones():
    before = table()
    steps = [Step('pick', {'object': 'obj_0'}, refs={'object': ref_of(before.objects[0])}),
             Step('place', {'object': 'obj_0', 'target': 'obj_3'},
                  refs={'object': ref_of(before.objects[0]), 'target': ref_of(before.objects[3])})]
    # The next scene numbers objects differently, and the red cube moved a little.
    after = scene(obj('obj_0', 'bowl', 'blue', 0.50, 0.05), obj('obj_1', 'box', 'red', 0.42, 0.16),
                  obj('obj_2', 'box', 'blue', 0.45, -0.15))
    rebound, problems, mapping = rebind(steps, after)
    assert problems == []
    assert rebound[1].args == {'object': 'obj_1', 'target': 'obj_0'}
    assert rebound[0].refs['object'].position[0] == pytest.approx(0.42)
    assert mapping == {'obj_0': 'obj_1', 'obj_3': 'obj_0'}
    assert steps[1].args['target'] == 'obj_3'  # the input is not modified
    gone = scene(obj('obj_0', 'bowl', 'blue', 0.50, 0.05))
    _, problems, _ = rebind(steps, gone)
    assert problems == ['red box obj_0 is no longer seen']
    _, problems, _ = rebind(steps, gone, keep=['obj_0'])  # held, hidden by the fingers
    assert problems == []


def test_a_held_object_hidden_by_the_fingers_is_not_rebound_to_a_look_alike():
    big = obj('obj_1', 'box', 'red', 0.45, 0.16)
    steps = [Step('place', {'object': 'obj_1', 'target': 'obj_0'},
                  refs={'object': ref_of(big), 'target': ref_of(obj('obj_0', 'bowl', 'blue', 0.4, -0.22))})]
    # obj_1 is in the gripper, unseen; another red box (obj_2) still lies on the table.
    after = scene(obj('obj_0', 'bowl', 'blue', 0.4, -0.22), obj('obj_2', 'box', 'red', 0.54, -0.02))
    rebound, problems, _ = rebind(steps, after, keep=['obj_1'])
    assert problems == []
    assert rebound[0].args == {'object': 'obj_1', 'target': 'obj_0'}
