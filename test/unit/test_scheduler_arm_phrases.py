"""Arm phrase families, each from many surface forms (word order, synonyms, politeness, articles):

1. putting down without a target: the held object back on the table where it was picked up from
2. swapping two objects: one to a spare spot, the other to its place, then the first to the other's place
3. a pick out of reach (at grasp height) is not planned, and does not win SayCan over a look-alike in reach
"""

from __future__ import annotations

import re
from typing import List

import numpy as np
import pytest
from test_scheduler_phrases import POLITE, THANKS, calls, plan, room
from test_scheduler_scenes import bench, obj, scene, skills

from skill_stack.perception.grounding import footprint_radius
from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.corrections import parse_correction
from skill_stack.scheduler.plan import RobotState
from skill_stack.scheduler.planning import make_planner
from skill_stack.scheduler.relative import standing_at
from skill_stack.skills.arm import REACH_RADIUS, min_radius

NAMES = {  # room()'s objects as people call them
    'cube': ['the red cube', 'the cube', 'red cube', 'the red block', 'the block'],
    'ball': ['the yellow ball', 'the ball', 'yellow ball', 'the yellow sphere'],
    'can': ['the purple cylinder', 'the cylinder', 'the purple can', 'purple cylinder'],
}


def _spot(name: str, where: PerceivedScene = None) -> List[float]:
    """The table point under an object: where it stands."""
    o = next(o for o in (where or room()).objects if o.id == name)
    return [float(o.position[0]), float(o.position[1]), 0.0]


def _pick(rng: np.random.Generator, n: str) -> str:
    verb = ['pick up {}', 'pick {} up', 'lift {}', 'grab {}', 'raise {}', 'take {}', 'grasp {}', 'lift up {}']
    return verb[rng.integers(len(verb))].format(n)


# -- 1. put it down ------------------------------------------------------------------------------------

THEN = [' and ', ', then ', ' and then ', '. Then ', ', after that ', '. ', ' and finally ']
DOWN = ['put it down', 'put it back down', 'put it back', 'drop it', 'release it', 'let go of it', 'set it down',
        'place it back down', 'put it back where it was', 'put it down on the table', 'let go', 'release',
        'lay it down', 'set it back down', 'return it', 'put it back in its place', 'drop it again',
        'put the object down', 'set down the object']


def _down_forms(seed: int, n: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        name = list(NAMES)[rng.integers(len(NAMES))]
        said = NAMES[name][rng.integers(len(NAMES[name]))]
        down = DOWN[rng.integers(len(DOWN))].replace('the object', said)
        core = f'{_pick(rng, said)}{THEN[rng.integers(len(THEN))]}{down}'
        out.append((f'{POLITE[rng.integers(len(POLITE))]}{core}{THANKS[rng.integers(len(THANKS))]}', name))
    return out


@pytest.mark.parametrize(('text', 'name'), [*_down_forms(0, 60),
    ('pick up the red cube and put it down', 'cube'), ('lift the purple cylinder, then put it back down', 'can'),
    ('grab the ball and then drop it', 'ball'), ('pick up the cube, then release it', 'cube'),
    ('pick up the cube, then let go of it', 'cube'), ('raise the cube and set it down', 'cube'),
    ('pick up the yellow ball. Put it down.', 'ball'), ('grab the cylinder. Drop it!', 'can')])
def test_putting_down_puts_the_object_back_where_it_was_picked_up(text, name):
    assert calls(plan(text)) == [('pick', {'object': name}), ('place', {'object': name, 'point': _spot(name)})], \
        text


def held_cube() -> PerceivedScene:
    """room() with the red cube up in the gripper, 15 cm over the table."""
    return scene(*[standing_at(o, [*o.position[:2], 0.13]) if o.id == 'cube' else o for o in room().objects])


@pytest.mark.parametrize('text', ['put it down', 'drop it', 'release it', 'let go', 'put down the red cube',
                                  'please set the cube down', 'let go of the cube', 'put it back on the table'])
def test_putting_down_what_was_held_before_the_plan_puts_it_on_the_table_under_it(text):
    result = make_planner('embedded').plan(text, held_cube(), skills(), RobotState('arm', holding='cube'))
    assert calls(result) == [('place', {'object': 'cube', 'point': _spot('cube')})], text


@pytest.mark.parametrize('text', ['put it down', 'drop it', 'release it', 'let go of it', 'release',
                                  'could you put it back down please', 'put the red cube down',
                                  'drop the yellow ball', 'put the cube back where it was'])
def test_putting_down_with_nothing_held_fails_with_a_way_to_say_it(text):
    result = plan(text)
    assert not result.ok, text
    assert 'nothing is held' in result.reason or 'is not held' in result.reason, result.reason
    examples = re.findall(r'"([^"]+)"', result.reason.split('try e.g.')[-1])
    assert examples[0] == 'pick up the red cube and put it down', result.reason
    for example in examples:
        assert plan(example).ok, (example, plan(example).reason)


def test_a_put_down_spot_is_where_the_object_stands_now_in_the_plan():
    """After a swap the cube stands where the ball was: that is where it is picked up from and put back."""
    steps = calls(plan('swap the red cube and the yellow ball, then pick up the cube and put it down'))
    assert steps[-2:] == [('pick', {'object': 'cube'}), ('place', {'object': 'cube', 'point': _spot('ball')})]
    # A spot taken (the cube was held over the ball when planning began): beside it, clear of the ball.
    over_ball = scene(*[standing_at(o, [0.48, -0.04, 0.13]) if o.id == 'cube' else o for o in room().objects])
    result = make_planner('embedded').plan('put it down', over_ball, skills(), RobotState('arm', holding='cube'))
    [(skill, args)] = calls(result)
    assert skill == 'place'
    assert args['point'][2] == 0.0
    assert float(np.linalg.norm(np.asarray(args['point'][:2]) - _spot('ball')[:2])) >= 0.02 + 0.02 + 0.04 - 1e-6
    assert any('beside where it was' in n for n in result.notes)


def test_putting_down_leaves_a_destination_and_corrections_as_they_were():
    assert calls(plan('pick up the red cube and drop it into the blue bowl'))[1] == (
        'place', {'object': 'cube', 'target': 'bowl'})
    assert calls(plan('pick up the red cube and put it in the bowl, please'))[1] == (
        'place', {'object': 'cube', 'target': 'bowl'})
    assert parse_correction('put it back').kind == 'adjust'  # a correction while running: a bit towards me
    assert parse_correction('put it back').delta[0] < 0.0
    hand = make_planner('embedded').plan('grasp the green ball and let go of it', bench(), skills(), 'hand')
    assert [s for s, _ in calls(hand)] == ['grasp', 'release']  # a hand that can let go does


# -- 2. swap -------------------------------------------------------------------------------------------

SWAP = ['swap {a} and {b}', 'swap the places of {a} and {b}', 'switch {a} and {b}', 'exchange {a} with {b}',
        'swap {a} and {b} around', 'swap {a} with {b}', 'switch the positions of {a} and {b}',
        'interchange {a} and {b}', 'switch {a} and {b} round', 'swap places of {a} and {b}', 'swap over {a} and {b}',
        'exchange the places of {a} and {b}', 'swap {a} and {b} over', 'trade the places of {a} and {b}']
PAIRS = [('cube', 'ball'), ('ball', 'cube'), ('ball', 'can'), ('can', 'cube'), ('cube', 'can')]


def _swap_forms(seed: int, n: int):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a, b = PAIRS[k % len(PAIRS)]
        core = SWAP[rng.integers(len(SWAP))].format(a=NAMES[a][rng.integers(len(NAMES[a]))],
                                                    b=NAMES[b][rng.integers(len(NAMES[b]))])
        out.append((f'{POLITE[rng.integers(len(POLITE))]}{core}{THANKS[rng.integers(len(THANKS))]}', a, b))
    return out


def _check_swap(steps, a: str, b: str, where: PerceivedScene) -> None:
    assert [(s, x['object']) for s, x in steps] == [('pick', a), ('place', a), ('pick', b), ('place', b),
                                                    ('pick', a), ('place', a)]
    spare = np.asarray(steps[1][1]['point'])
    assert steps[3][1]['point'] == _spot(a, where)
    assert steps[5][1]['point'] == _spot(b, where)
    radius = {o.id: footprint_radius(o) for o in where.objects}
    # The spare spot is on the table, in reach, and in nobody's way: not on either place nor any other object.
    assert spare[2] == 0.0
    assert min_radius(0.0) <= float(np.hypot(*spare[:2])) <= REACH_RADIUS[1]
    for o in where.objects:
        room_needed = radius[a] + max(radius[o.id], radius[b] if o.id == a else 0.0)
        assert float(np.linalg.norm(spare[:2] - o.position[:2])) > room_needed, (o.id, spare)


@pytest.mark.parametrize(('text', 'a', 'b'), [*_swap_forms(1, 40),
    ('swap the red cube and the yellow ball', 'cube', 'ball'), ('switch the ball and the cylinder', 'ball', 'can'),
    ('exchange the purple can with the red block', 'can', 'cube'),
    ('please swap the cube and the ball around', 'cube', 'ball')])
def test_swapping_two_objects(text, a, b):
    _check_swap(calls(plan(text)), a, b, room())


def test_swapping_the_two_of_a_kind_and_with_a_pronoun():
    two = scene(obj('left', 'sphere', 'red', 0.42, 0.12), obj('right', 'sphere', 'blue', 0.45, -0.1),
                obj('bowl', 'bowl', 'yellow', 0.55, 0.25))
    _check_swap(calls(plan('swap the two balls', two)), 'left', 'right', two)
    _check_swap(calls(plan('pick up the red cube and swap it with the ball')), 'cube', 'ball', room())
    # A later step sees the swap: the cube is now where the ball was.
    steps = calls(plan('swap the cube and the ball, then push the cube 5 cm to the left'))
    assert steps[-1] == ('push', {'object': 'cube', 'direction': 90.0, 'distance': 0.05})


def hemmed() -> PerceivedScene:
    """Two cubes side by side, bowls round them on every side: no spare spot beside either."""
    return scene(obj('a', 'box', 'red', 0.45, -0.05), obj('b', 'box', 'blue', 0.45, 0.05),
                 obj('r', 'bowl', 'green', 0.45, -0.16), obj('l', 'bowl', 'green', 0.45, 0.16),
                 obj('f', 'bowl', 'white', 0.33, 0.0), obj('k', 'bowl', 'white', 0.57, 0.0))


@pytest.mark.parametrize(('text', 'where', 'said'), [
    ('swap the red cube and the blue cube', hemmed(), 'no free table spot in reach'),
    ('swap the red cube', None, 'two objects'),
    ('swap the red cube and the red cube', None, 'two objects'),
    ('swap the red cube and the purple elephant', None, 'elephant'),
    ('exchange the red cube with', None, 'two objects'),
])
def test_a_swap_that_cannot_be_done_fails_cleanly(text, where, said):
    result = plan(text, where)
    assert not result.ok
    assert said in result.reason, result.reason
    assert 'try e.g.' in result.reason or 'say e.g.' in result.reason
    hand = make_planner('embedded').plan('swap the red cube and the blue cube', bench(), skills(), 'hand')
    assert 'cannot swap things' in hand.reason


# -- 3. reach at grasp height ------------------------------------------------------------------------------

def test_a_pick_out_of_reach_at_grasp_height_is_not_planned():
    """0.34 m is nearer than the gripper reaches at table level (0.36 m), though not than its nearest reach
    higher up (0.20 m): the plan fails naming the distance and the reach."""
    close = scene(obj('near', 'box', 'red', 0.34, 0.0), obj('bowl', 'bowl', 'blue', 0.5, 0.1))
    for text in ('pick up the red cube', 'put the red cube in the blue bowl', 'pick up the cube and put it down'):
        result = plan(text, close)
        assert not result.ok, text
        assert '0.340 m from the arm base' in result.reason, result.reason
        assert 'reaches 0.36..0.62 m' in result.reason, result.reason
        for example in re.findall(r'"([^"]+)"', result.reason.split('try e.g.')[-1]):  # none names the cube
            assert plan(example, close).ok, (example, plan(example, close).reason)


def test_saycan_prefers_the_look_alike_in_reach():
    twins = scene(obj('near', 'box', 'red', 0.34, 0.02), obj('fine', 'box', 'red', 0.45, -0.1),
                  obj('bowl', 'bowl', 'blue', 0.5, 0.15))
    for text in ('pick up the red cube', 'put the red cube in the blue bowl', 'grab the red block and drop it'):
        steps = calls(plan(text, twins))
        assert {a['object'] for _, a in steps} - {'bowl'} == {'fine'}, text
