"""Skill argument validation: typed values, defaults, and refusals that name the argument."""

import pytest

from skill_stack.skills.schema import ArgSpec, SkillArgumentError, validate_args

SPECS = (
    ArgSpec('object', 'object', 'what to push'),
    ArgSpec('direction', 'choice', 'which way', choices=('left', 'right', 'forward', 'backward')),
    ArgSpec('distance', 'number', 'how far', required=False, default=0.1, minimum=0.02, maximum=0.3, unit='m'),
    ArgSpec('via', 'point', 'a point to pass', required=False),
)


def test_valid_arguments_are_typed_with_defaults():
    args = validate_args('push', SPECS, {'object': ' red cube ', 'direction': 'left', 'distance': 0.2})
    assert args == {'object': 'red cube', 'direction': 'left', 'distance': 0.2, 'via': None}
    assert validate_args('push', SPECS, {'object': 'x', 'direction': 'right'})['distance'] == 0.1


@pytest.mark.parametrize(('args', 'message'), [
    ({'direction': 'left'}, "missing argument 'object'"),
    ({'object': 'x', 'direction': 'up'}, "'direction' must be one of"),
    ({'object': 'x', 'direction': 'left', 'distance': 5.0}, "'distance' is 5.0 m, above the maximum 0.3 m"),
    ({'object': 'x', 'direction': 'left', 'distance': float('nan')}, "'distance' must be a finite number"),
    ({'object': 'x', 'direction': 'left', 'distance': True}, "'distance' must be a finite number"),
    ({'object': '', 'direction': 'left'}, "'object' must be a non-empty string"),
    ({'object': 'x', 'direction': 'left', 'via': [0, 1]}, r"'via' must be \[x, y, z\]"),
    ({'object': 'x', 'direction': 'left', 'speed': 2}, r"unknown argument\(s\) \['speed'\]"),
    ([1, 2], 'arguments must be a JSON object'),
])
def test_bad_arguments_name_the_problem(args, message):
    with pytest.raises(SkillArgumentError, match=message):
        validate_args('push', SPECS, args)


def test_bad_spec_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        ArgSpec('x', 'colour', 'bad kind')
