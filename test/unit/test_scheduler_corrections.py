"""Live corrections: parsing what a person says mid-task, and amending the running plan with it."""

from __future__ import annotations

import pytest
from test_scheduler_scenes import field, skills, table

from skill_stack.scheduler.amend import MAX_OFFSET, amend
from skill_stack.scheduler.corrections import Correction, parse_correction
from skill_stack.scheduler.plan import Plan, RobotState
from skill_stack.scheduler.planning import make_planner

SKILLS = skills()


@pytest.mark.parametrize(('text', 'delta', 'size'), [
    ('a bit to the left', (0, 0.02, 0), 'small'),
    ('a little more to the left', (0, 0.02, 0), 'small'),
    ('more to the right', (0, -0.05, 0), 'medium'),
    ('right', (0, -0.05, 0), 'medium'),
    ('higher', (0, 0, 0.05), 'medium'),
    ('lower', (0, 0, -0.05), 'medium'),
    ('a tad lower please', (0, 0, -0.02), 'small'),
    ('further', (0.05, 0, 0), 'medium'),
    ('closer', (-0.05, 0, 0), 'medium'),
    ('a bit further left', (0, 0.02, 0), 'small'),
    ('5 cm forward', (0.05, 0, 0), 'exact'),
    ('move it 3 centimetres to the right', (0, -0.03, 0), 'exact'),
    ('back a bit', (-0.02, 0, 0), 'small'),
    ('way more to the left', (0, 0.1, 0), 'large'),
    ('towards me', (-0.05, 0, 0), 'medium'),
    ('away from you slightly', (0.02, 0, 0), 'small'),
    ('too far left', (0, -0.05, 0), 'medium'),
    ('too high', (0, 0, -0.05), 'medium'),
    ('no, go left', (0, 0.05, 0), 'medium'),
    ('stop, a bit to the right', (0, -0.02, 0), 'small'),
    ('down 1 cm', (0, 0, -0.01), 'exact'),
    ('raise it a little', (0, 0, 0.02), 'small'),
])
def test_adjustments_in_the_robot_frame(text, delta, size):
    correction = parse_correction(text)
    assert correction.kind == 'adjust', correction
    assert correction.delta == pytest.approx(delta, abs=1e-9)
    assert correction.size == size


def test_combined_directions_keep_the_size():
    correction = parse_correction('up and to the left')
    assert correction.delta == pytest.approx((0, 0.05 / 2 ** 0.5, 0.05 / 2 ** 0.5), abs=1e-6)
    assert parse_correction('a bit to the left', sizes={'small': 0.01, 'medium': 0.04, 'large': 0.1}).delta[1] == 0.01


@pytest.mark.parametrize(('text', 'phrase', 'other'), [
    ('no, the blue one', 'the blue one', False),
    ('the other bowl', 'the other bowl', True),
    ('not that one, the cube on the left', 'the cube on the left', False),
    ('no, not that one', 'the other one', True),
    ('wrong one', 'the other one', True),
    ('I meant the green ball', 'the green ball', False),
    ('the red cube instead', 'the red cube', False),
    ('another one', 'another one', True),
    ('nope, the yellow bowl', 'the yellow bowl', False),
    ('use the other one', 'the other one', True),
    ('no the one on the right', 'the one on the right', False),
])
def test_re_references(text, phrase, other):
    correction = parse_correction(text)
    assert correction.kind == 'reference', correction
    assert (correction.phrase, correction.other) == (phrase, other)


@pytest.mark.parametrize(('text', 'kind'), [
    ('stop', 'pause'), ('wait', 'pause'), ('hold on', 'pause'), ('Hold on a second!', 'pause'), ('pause', 'pause'),
    ('freeze', 'pause'), ('no', 'pause'), ('wait, wait', 'pause'), ('halt!', 'pause'),
    ('continue', 'resume'), ('go on', 'resume'), ('ok go', 'resume'), ('carry on', 'resume'), ('resume', 'resume'),
    ('keep going please', 'resume'), ('okay, continue', 'resume'),
    ('cancel', 'cancel'), ('abort', 'cancel'), ('never mind', 'cancel'), ('forget it', 'cancel'),
    ('stop, cancel that', 'cancel'),
])
def test_control_words(text, kind):
    assert parse_correction(text).kind == kind


@pytest.mark.parametrize(('text', 'reason'), [
    ('', 'empty'), ('   ', 'empty'), ('blah blah', 'did not understand'), ('closer to the bowl', 'not supported'),
    ('x' * 600, 'characters'), (None, 'empty'), ('42', 'did not understand'),
])
def test_unreadable_corrections_are_unknown_with_a_reason(text, reason):
    correction = parse_correction(text)
    assert correction.kind == 'unknown'
    assert reason in correction.reason


def test_corrections_round_trip_through_dicts():
    for text in ('a bit to the left', 'the other bowl', 'stop', 'blah'):
        correction = parse_correction(text)
        assert Correction.from_dict(correction.to_dict()) == correction


# -- amending ---------------------------------------------------------------------------------------

def _plan(text: str, robot='arm', where=None) -> Plan:
    result = make_planner().plan(text, where or table(), SKILLS, RobotState(robot))
    assert result.ok, result.reason
    return result.plan


def test_an_adjustment_sets_and_accumulates_the_offset_of_the_current_step():
    plan = _plan('put the red cube in the blue bowl')  # pick, place
    first = amend(plan, 1, parse_correction('a bit to the left'), table(), SKILLS)
    assert (first.changed, first.restart, first.index) == (True, True, 1)
    assert first.plan.steps[1].args['offset'] == [0.0, 0.02, 0.0]
    assert 'left' in first.message
    assert 'offset' not in plan.steps[1].args  # the plan given is not modified
    second = amend(first.plan, 1, parse_correction('2 cm forward'), table(), SKILLS)
    assert second.plan.steps[1].args['offset'] == [0.02, 0.02, 0.0]
    capped = amend(second.plan, 1, parse_correction('50 cm to the left'), table(), SKILLS)
    assert capped.plan.steps[1].args['offset'][1] == MAX_OFFSET


def test_an_adjustment_while_picking_applies_to_the_next_placing_step():
    plan = _plan('put the red cube in the blue bowl')
    amendment = amend(plan, 0, parse_correction('more to the right'), table(), SKILLS)
    assert (amendment.changed, amendment.restart) == (True, False)  # the pick goes on
    assert amendment.plan.steps[1].args['offset'] == [0.0, -0.05, 0.0]
    assert 'step 2' in amendment.message


def test_an_adjustment_with_no_step_that_takes_an_offset_is_refused():
    plan = _plan('pick up the red cube')
    amendment = amend(plan, 0, parse_correction('a bit to the left'), table(), SKILLS)
    assert not amendment.changed
    assert 'no step from here' in amendment.message
    drone = _plan('fly to the red pad', 'quadrotor', field())  # take_off, fly_to
    assert amend(drone, 1, parse_correction('higher'), field(), SKILLS).plan.steps[1].args['offset'] == [0, 0, 0.05]


def test_a_re_reference_replaces_the_object_in_the_current_and_later_steps():
    plan = _plan('pick up the red cube and put it in the yellow bowl')
    amendment = amend(plan, 0, parse_correction('no, the blue one'), table(), SKILLS)
    assert (amendment.changed, amendment.restart, amendment.index) == (True, True, 0)
    assert [s.args.get('object') for s in amendment.plan.steps] == ['obj_1', 'obj_1']
    assert amendment.plan.steps[1].refs['object'].color == 'blue'
    assert 'instead of obj_0' in amendment.message


def test_while_placing_the_blue_one_means_the_blue_bowl():
    plan = _plan('put the red cube in the yellow bowl')
    amendment = amend(plan, 1, parse_correction('no, the blue one'), table(), SKILLS)
    assert amendment.plan.steps[1].args == {'object': 'obj_0', 'target': 'obj_3'}


def test_the_other_one_excludes_the_object_used_now():
    plan = _plan('put the red cube in the yellow bowl')
    assert amend(plan, 1, parse_correction('the other bowl'), table(), SKILLS).plan.steps[1].args['target'] == 'obj_3'
    assert amend(plan, 0, parse_correction('not that one'), table(), SKILLS).plan.steps[0].args['object'] == 'obj_1'
    on_left = amend(plan, 0, parse_correction('not that one, the cube on the right'), table(), SKILLS)
    assert on_left.plan.steps[0].args['object'] == 'obj_1'


def test_the_other_bowl_while_picking_changes_the_place_that_follows():
    plan = _plan('put the red cube in the yellow bowl')  # pick obj_0, place in obj_4
    amendment = amend(plan, 0, parse_correction('no, the other bowl'), table(), SKILLS)
    assert (amendment.changed, amendment.restart) == (True, False)  # the pick goes on
    assert amendment.plan.steps[0].args['object'] == 'obj_0'
    assert amendment.plan.steps[1].args['target'] == 'obj_3'
    assert amendment.plan.steps[1].refs['target'].color == 'blue'


def test_a_re_reference_to_nothing_changes_nothing_and_says_why():
    plan = _plan('pick up the red cube')
    amendment = amend(plan, 0, parse_correction('no, the purple elephant'), table(), SKILLS)
    assert not amendment.changed
    assert 'elephant' in amendment.message
    same = amend(plan, 0, parse_correction('the red cube'), table(), SKILLS)
    assert not same.changed
    assert 'already uses' in same.message
    assert not amend(plan, 0, parse_correction('stop'), table(), SKILLS).changed
    assert not amend(Plan(), 0, parse_correction('the blue one'), table(), SKILLS).changed
