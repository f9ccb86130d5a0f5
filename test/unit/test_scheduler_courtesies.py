"""Phrasings the generated evaluation found unplanned: a wish without a verb, courtesies after a direction or
a particle, "find X. Put it ...", and putting down on the hand (its release)."""

import pytest
from test_scheduler_scenes import bench, skills, table

from skill_stack.scheduler.planning import make_planner

TAILS = ('', ' please', ', please', ' for me', ' for me, thanks', ', thank you')


def steps(text, scene, robot='arm'):
    result = make_planner('embedded').plan(text, scene, skills(), robot=robot)
    assert result.ok, result.reason
    return [(s.skill, {k: v for k, v in s.args.items() if k in ('object', 'target', 'direction')})
            for s in result.plan.steps]


@pytest.mark.parametrize('tail', TAILS)
@pytest.mark.parametrize('wish', ['I want the red cube in the blue bowl', "I'd like the red cube in the blue bowl",
                                  'the red cube into the blue bowl'])
def test_a_wish_without_a_verb_that_says_what_goes_where_is_a_put(wish, tail):
    assert steps(wish + tail, table()) == [('pick', {'object': 'obj_0'}),
                                           ('place', {'object': 'obj_0', 'target': 'obj_3'})]


@pytest.mark.parametrize('tail', TAILS)
@pytest.mark.parametrize(('words', 'direction'), [('to the left', 90.0), ('right by 10 cm', -90.0),
                                                  ('slightly back', 180.0), ('forward by 80 mm', 0.0)])
def test_courtesies_after_a_push_direction_keep_the_direction(words, direction, tail):
    ((skill, args),) = steps(f'push the red cube {words}{tail}', table())
    assert skill == 'push'
    assert args['direction'] == pytest.approx(direction)


@pytest.mark.parametrize('tail', TAILS)
def test_courtesies_after_a_particle_keep_the_put_down(tail):
    assert [s for s, _ in steps(f'pick up the red cube and put it down{tail}', table())] == ['pick', 'place']
    assert steps(f'grasp the red cube and put it down{tail}', bench(), 'hand') == [
        ('grasp', {'object': 'obj_0'}), ('release', {'object': 'obj_0'})]


@pytest.mark.parametrize('verb', ['find', 'locate', 'look for'])
def test_find_then_a_pronoun_names_the_object_found(verb):
    plan = steps(f'{verb} the red cube. Put it into the blue bowl', table())
    assert plan[-2:] == [('pick', {'object': 'obj_0'}), ('place', {'object': 'obj_0', 'target': 'obj_3'})]


@pytest.mark.parametrize('text', ['Nehmen Sie den roten Würfel und legen Sie ihn in die Schüssel',
                                  'the purple elephant in the moon', 'blah in blah'])
def test_words_that_name_no_objects_are_no_wish(text):
    result = make_planner('embedded').plan(text, table(), skills())
    assert not result.ok
    assert 'try e.g.' in result.reason


def test_the_hand_cannot_stack_with_its_release():
    result = make_planner('embedded').plan('stack the red cube on the blue cube', bench(), skills(), robot='hand')
    assert not result.ok
    assert 'cannot stack' in result.reason


@pytest.mark.parametrize(('words', 'angle'), [('by half a turn', 90.0), ('180 degrees', 90.0),
                                              ('a half turn clockwise', -90.0)])
def test_half_a_turn_in_the_hand_is_two_quarter_turns(words, angle):
    assert steps(f'pick up the red cube and turn it {words}', bench(), 'hand')[1:] == [
        ('rotate', {'object': 'obj_0'})] * 2
    result = make_planner('embedded').plan(f'pick up the red cube and turn it {words}', bench(), skills(),
                                           robot='hand')
    assert [s.args['angle'] for s in result.plan.steps[1:]] == [angle, angle]


def test_everything_of_a_colour_is_the_things_of_that_colour_to_move():
    assert steps('put everything blue into the yellow bowl', table()) == [
        ('pick', {'object': 'obj_1'}), ('place', {'object': 'obj_1', 'target': 'obj_4'})]
