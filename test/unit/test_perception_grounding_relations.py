"""Superlatives along a side, negation, ordinals from a side and "between", each said many ways.

Every phrase is checked twice: ``ground`` on the phrase alone, and the embedded
planner's plan for "pick up <phrase>", which grounds it inside an instruction.
Surface forms vary the article, the shape word (cube/block/box, ball/sphere,
cylinder/can) and the colours.  REP 103, the robot looking along +x: left is +y.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterator, List, Sequence, Tuple

import pytest
from test_scheduler_scenes import obj, scene, skills

from skill_stack.perception.grounding import ground
from skill_stack.perception.language import parse
from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.plan import RobotState
from skill_stack.scheduler.planning import make_planner

PLANNER = make_planner('embedded')
SKILLS = skills()
NOUNS = {'cylinder': ('cylinder', 'can'), 'box': ('cube', 'block', 'box'), 'sphere': ('ball', 'sphere')}
COLOURS = ('black', 'red', 'blue', 'white', 'yellow')
# (shape, noun, colour) in turn, so each template is said with several nouns and colours.
VARIANTS = [(shape, noun, colour) for (shape, nouns), colour in zip(
    itertools.cycle(NOUNS.items()), COLOURS * 3) for noun in nouns]
OTHER = {'cylinder': 'sphere', 'box': 'cylinder', 'sphere': 'box'}  # a distractor of another shape


def other_colour(colour: str) -> str:
    return 'green' if colour != 'green' else 'orange'


def variants(templates: Sequence[str], per_template: int = 2) -> Iterator[Tuple[str, str, str, str]]:
    """(phrase, shape, noun, colour) for each template, with ``per_template`` nouns and colours in turn:
    {n} the noun, {ns} its plural, {c} the colour, {x} another colour."""
    turn = itertools.cycle(VARIANTS)
    for template in templates:
        for shape, noun, colour in itertools.islice(turn, per_template):
            plural = noun + ('es' if noun.endswith(('x', 's')) else 's')
            yield template.format(n=noun, ns=plural, c=colour, x=other_colour(colour)), shape, noun, colour


def check(phrase: str, where: PerceivedScene, expected: str) -> None:
    """``phrase`` means ``expected`` to grounding, and "pick up <phrase>" picks it."""
    answer = ground(phrase, where)
    assert (answer.status, [o.id for o in answer.objects]) == ('matched', [expected]), answer.message
    plan = PLANNER.plan(f'pick up {phrase}', where, SKILLS, RobotState('arm'))
    assert plan.ok, plan.reason
    assert [(s.skill, s.args.get('object')) for s in plan.steps] == [('pick', expected)]


def cases(build: Callable[[str, str], PerceivedScene], table: Sequence[Tuple[str, str]], per_template: int = 2
          ) -> List[Tuple[str, PerceivedScene, str]]:
    """(phrase, scene, expected id) for templates paired with the id they mean."""
    templates = [t for t, _ in table]
    expected = [e for _, e in table for _ in range(per_template)]
    return [(phrase, build(shape, colour), answer)
            for (phrase, shape, _, colour), answer in zip(variants(templates, per_template), expected, strict=True)]


# -- superlatives along a side, and distances ------------------------------------------------------

def two_in_a_row(shape: str, colour: str) -> PerceivedScene:
    """The generated evaluation's scene: two alike at the same x, 'left' at y=0.35 and 'right' at y=0.05;
    a pad behind them, between the two in y, for the noun to rule out and to measure from."""
    return scene(obj('left', shape, colour, 0.40, 0.35), obj('right', shape, colour, 0.40, 0.05),
                 obj('pad', 'pad', 'green', 0.75, 0.30))


_SIDE_TEMPLATES = (
    'the {n} furthest to the {side}', 'the {n} farthest to the {side}', 'the {n} that is most to the {side}',
    'the {n} most to the {side}', 'the {n} that is the furthest to the {side}', 'the one furthest {side}',
    'the {side}-most {n}', 'the {side}-most', 'the one on the far {side}', 'the {n} on the far {side}',
    'the {n} closest to the {side} edge', 'the {n} nearest the {side} side', 'the furthest {n} to the {side}',
    'the furthest {side} {n}', 'the {n} furthest from the {other} edge', 'the {side}most {n}',
    'the {n} on the {side}', 'the {c} {n} furthest to the {side}', 'a {n} farthest over to the {side}')
SIDE_CASES = cases(two_in_a_row, [(t.format(side=side, other=other, n='{n}', c='{c}'), side)
                                  for side, other in (('right', 'left'), ('left', 'right'))
                                  for t in _SIDE_TEMPLATES])



def test_the_reported_instruction_picks_the_right_cylinder():
    where = two_in_a_row('cylinder', 'black')
    plan = PLANNER.plan('grab the cylinder furthest to the right', where, SKILLS, RobotState('arm'))
    assert [(s.skill, s.args.get('object')) for s in plan.steps] == [('pick', 'right')]


# 'left' is 0.53 m from the robot, 'right' 0.40 m; the pad is 0.35 m from 'left', 0.43 m from 'right'.
DISTANCE_CASES = cases(two_in_a_row, [
    ('the {n} furthest from you', 'left'), ('the {n} farthest from me', 'left'),
    ('the {n} furthest from the robot', 'left'), ('the {n} furthest away from me', 'left'),
    ('the furthest {n}', 'left'), ('the {n} nearest to me', 'right'), ('the {n} nearest to the robot', 'right'),
    ('the {n} closest to you', 'right'), ('the nearest {n}', 'right'),
    ('the {n} furthest from the green pad', 'right'), ('the {n} farthest from the landing pad', 'right'),
    ('the furthest {n} from the pad', 'right'), ('the {n} closest to the green pad', 'left'),
    ('the {n} nearest the disc', 'left')])



def test_a_side_phrase_followed_by_of_is_still_a_relation():
    phrase = parse('the cube closest to the left of the bowl').phrase
    assert [s.criterion for s in phrase.selectors] == ['near']
    assert phrase.selectors[0].landmark is not None


# -- negation ------------------------------------------------------------------------------------------

def two_colours(shape: str, colour: str) -> PerceivedScene:
    """'keep' (``colour``) and 'drop' (``other_colour``) of one shape, and one of another shape in ``colour``
    so that without the noun the phrase would not single one out."""
    return scene(obj('keep', shape, colour, 0.40, 0.20), obj('drop', shape, other_colour(colour), 0.40, -0.10),
                 obj('other', OTHER[shape], colour, 0.30, 0.00))


_NOT_TEMPLATES = (  # {x}: the colour of 'drop'
    'the {n} that is not {x}', "the {n} that isn't {x}", "the {n} that's not {x}", 'the {n} which is not {x}',
    'the non-{x} {n}', 'the {n} that is not the {x} one', 'not the {x} one, the other {n}',
    'any {n} except the {x} one', 'the {n} other than the {x} one', 'the {n} except for the {x} one',
    'the {n} but not the {x} one', 'the {c} {n}, not the {x} one', 'the {n} that is neither {x} nor purple',
    'the {n} that is not {x} and not purple')

NOT_COLOUR_CASES = cases(two_colours, [(t, 'keep') for t in _NOT_TEMPLATES], per_template=3)


def two_sizes(shape: str, colour: str) -> PerceivedScene:
    return scene(obj('big', shape, colour, 0.40, 0.20, size=1.6), obj('small', shape, colour, 0.40, -0.10),
                 obj('other', OTHER[shape], colour, 0.30, 0.00))


NOT_SIZE_CASES = cases(two_sizes, [
    ('the {n} that is not the big one', 'small'), ('the {n} that is not the small one', 'big'),
    ('the {n} that is not big', 'small'), ('the {c} {n} that is not the large one', 'small'),
    ('not the little one, the other {n}', 'big'), ('any {n} except the bigger one', 'small'),
    ('the {n} that is not the smallest', 'big')])



def three_colours(shape: str) -> PerceivedScene:
    return scene(*(obj(colour, shape, colour, 0.40, y) for colour, y in (('red', 0.25), ('blue', 0.05),
                                                                         ('green', -0.15))))


@pytest.mark.parametrize(('template', 'shape'), [
    ('the {n} that is not red', 'box'), ("the {n} that isn't red", 'sphere'), ('the non-red {n}', 'cylinder'),
    ('not the red one, the other {n}', 'box')])
def test_a_negation_that_leaves_several_is_ambiguous(template, shape):
    for noun in NOUNS[shape]:
        phrase = template.format(n=noun)
        answer = ground(phrase, three_colours(shape))
        assert answer.status == 'ambiguous', phrase
        assert sorted(o.id for o in answer.objects) == ['blue', 'green']
        assert not PLANNER.plan(f'pick up {phrase}', three_colours(shape), SKILLS, RobotState('arm')).ok


def test_any_of_what_a_negation_leaves_will_do():
    for noun in NOUNS['box']:
        answer = ground(f'any {noun} except the red one', three_colours('box'))
        assert answer.status == 'matched'
        assert [o.id for o in answer.objects] in (['blue'], ['green'])


def test_more_negations_leave_one_and_a_missing_property_leaves_all():
    assert [o.id for o in ground('the cube that is not red, not green', three_colours('box')).objects] == ['blue']
    assert [o.id for o in ground('the cube that is neither red nor blue', three_colours('box')).objects] == ['green']
    answer = ground('the cube that is not purple', three_colours('box'))
    assert answer.status == 'ambiguous'
    assert len(answer.objects) == 3
    assert any('none of them is purple' in a for a in answer.alternatives)
    nothing = ground('the cube that is not red, blue or green', three_colours('box'))
    assert nothing.status == 'no_match'


def test_negation_parses_to_excluded_phrases():
    phrase = parse("the cube that isn't the big one").phrase
    assert phrase.shape == 'box'
    assert [(n.determiner, n.sizes) for n in phrase.negations] == [('the', [('volume', 1)])]
    bare = parse('the non-red cube').phrase
    assert bare.colors == []
    assert [(n.determiner, n.colors) for n in bare.negations] == [('all', ['red'])]


# -- ordinals from a side --------------------------------------------------------------------------------

def four_in_a_row(shape: str, colour: str) -> PerceivedScene:
    """Four alike, 'o0' leftmost (+y) to 'o3' rightmost."""
    return scene(*(obj(f'o{i}', shape, colour, 0.40, y) for i, y in enumerate((0.27, 0.09, -0.09, -0.27))))


ORDINAL_CASES = cases(four_in_a_row, [
    ('the second {n} from the left', 'o1'), ('the 2nd {n} from the left', 'o1'),
    ('the {n} second from the left', 'o1'), ('the second {n} from the right', 'o2'),
    ('the {n} second from the right', 'o2'), ('the third {n} from the left', 'o2'),
    ('the third {n} from the right', 'o1'), ('the fourth {n} from the left', 'o3'),
    ('the first {n} on the left', 'o0'), ('the first {n} from the left', 'o0'),
    ('the first {n} on the right', 'o3'), ('the last {n} on the right', 'o3'),
    ('the second {c} {n} from the left', 'o1'), ('the second {n} from the right hand side', 'o2'),
    ('the second of the {ns} from the left', 'o1')])



def three_in_a_row(shape: str, colour: str) -> PerceivedScene:
    return scene(*(obj(f'o{i}', shape, colour, 0.40, y) for i, y in enumerate((0.2, 0.0, -0.2))))


MIDDLE_CASES = cases(three_in_a_row, [
    ('the middle {n}', 'o1'), ('the {n} in the middle', 'o1'), ('the central {n}', 'o1'),
    ('the {c} {n} in the centre', 'o1'), ('the second {n} from the right', 'o1')])



# -- between ---------------------------------------------------------------------------------------------

def between_pad_and_bowl(shape: str, colour: str) -> PerceivedScene:
    """A red pad (y=0.3) and a blue bowl (y=-0.2); 'mid' near their midpoint, 'aside' roughly between them
    but off the midpoint, 'out' beyond the bowl."""
    return scene(obj('pad', 'pad', 'red', 0.45, 0.30), obj('bowl', 'bowl', 'blue', 0.45, -0.20),
                 obj('mid', shape, colour, 0.45, 0.06), obj('aside', shape, colour, 0.40, 0.20),
                 obj('out', shape, colour, 0.30, -0.32))


BETWEEN_CASES = cases(between_pad_and_bowl, [
    ('the {n} between the red pad and the blue bowl', 'mid'),
    ('the {n} in between the red pad and the blue bowl', 'mid'),
    ('the {n} halfway between the pad and the bowl', 'mid'),
    ('the {n} that is between the blue bowl and the red pad', 'mid'),
    ('the {c} {n} between the pad and the blue bowl', 'mid'),
    ('a {n} between the red pad and the bowl', 'mid'),
    ('the {n} in the middle of the red pad and the blue bowl', 'mid')])



def test_between_needs_the_object_to_lie_between():
    where = scene(obj('pad', 'pad', 'red', 0.45, 0.30), obj('bowl', 'bowl', 'blue', 0.45, -0.20),
                  obj('out', 'box', 'red', 0.30, -0.32), obj('mid', 'sphere', 'red', 0.45, 0.05))
    assert ground('the cube between the red pad and the blue bowl', where).status == 'no_match'
    both = scene(*[o for o in between_pad_and_bowl('box', 'red').objects if o.id != 'mid'])
    assert [o.id for o in ground('the cube between the pad and the bowl', both).objects] == ['aside']
    assert len(ground('the cubes between the pad and the bowl', between_pad_and_bowl('box', 'red')).objects) == 2


# -- every case, through grounding and through the planner ------------------------------------------------

CASES = {'side': SIDE_CASES, 'distance': DISTANCE_CASES, 'not colour': NOT_COLOUR_CASES, 'not size': NOT_SIZE_CASES,
         'ordinal': ORDINAL_CASES, 'middle': MIDDLE_CASES, 'between': BETWEEN_CASES}


@pytest.mark.parametrize(('phrase', 'where', 'expected'), [c for table in CASES.values() for c in table],
                         ids=[f'{kind}: {c[0]}' for kind, table in CASES.items() for c in table])
def test_each_phrase_means_its_object(phrase, where, expected):
    check(phrase, where, expected)
