"""Scenario files: good ones load with their scene and conditions; bad ones are refused naming file and field.
And every scenario shipped in config/scenarios loads and validates."""

import copy
from collections import Counter

import pytest
import yaml

from skill_stack.eval.scenario import CATEGORIES, ScenarioError, load_scenario, load_suite, scenario_files, select
from skill_stack.sim.scene_file import load_scene

from repo_paths import REPO

GOOD = {
    'name': 'put_red',
    'category': 'corrections',
    'scene': {'embodiment': 'arm', 'seed': 0, 'objects': [
        {'name': 'red_cube', 'shape': 'box', 'color': 'red', 'size': [0.04, 0.04, 0.04], 'position': [0.45, 0.15]},
        {'name': 'blue_cube', 'shape': 'box', 'color': 'blue', 'size': [0.04, 0.04, 0.04], 'position': [0.5, 0.0]},
        {'name': 'green_bowl', 'shape': 'bowl', 'color': 'green', 'size': [0.08, 0.05], 'position': [0.42, -0.2]}]},
    'instruction': 'put the red cube in the bowl',
    'corrections': [{'at': 1.5, 'text': 'no, the blue one'}],
    'timeout': 90,
    'expect': {'success': True, 'conditions': [{'inside': {'object': 'blue_cube', 'container': 'green_bowl'}},
                                               {'unchanged': ['red_cube']}]},
}
SUITE = REPO / 'config' / 'scenarios'


def write(tmp_path, data, name='s.yaml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding='utf-8')
    return path


def test_a_good_scenario_loads(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert (s.name, s.category, s.embodiment, s.timeout_s) == ('put_red', 'corrections', 'arm', 90.0)
    assert s.corrections == ((1.5, 'no, the blue one'),)
    assert [c.kind for c in s.conditions] == ['inside', 'unchanged']
    assert s.expect_success is True
    # The inline scene is written out as a scene file the simulator's loader accepts.
    scene = load_scene(s.write_scene(tmp_path / 'scene.yaml'))
    assert [o.name for o in scene.objects] == ['red_cube', 'blue_cube', 'green_bowl']


def mutate(path, value):
    data = copy.deepcopy(GOOD)
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(('path', 'value', 'field', 'words'), [
    (('instruction',), KeyError, 'instruction', 'missing'),
    (('expect',), KeyError, 'expect', 'missing'),
    (('category',), 'jokes', 'category', 'unknown category'),
    (('name',), 'has space', 'name', 'letters'),
    (('timeout',), -1, 'timeout', 'seconds'),
    (('timeout',), 'long', 'timeout', 'number'),
    (('instruction',), 42, 'instruction', 'text'),
    (('corrections', 0, 'at'), -2.0, 'corrections[0].at', '0 <= at'),
    (('corrections', 0, 'at'), 500.0, 'corrections[0].at', 'timeout'),
    (('corrections', 0, 'at'), 'soon', 'corrections[0].at', 'number'),
    (('corrections', 0, 'text'), '  ', 'corrections[0].text', 'non-empty'),
    (('corrections', 0), {'at': 1.0}, 'corrections[0]', 'exactly at and text'),
    (('expect', 'success'), 'yes', 'expect.success', 'true or false'),
    (('expect', 'conditions'), [], 'expect.conditions', 'at least one'),
    (('expect', 'conditions', 0), {'teleported': {'object': 'red_cube'}}, 'expect.conditions[0]',
     'unknown condition'),
    (('expect', 'conditions', 1), {'unchanged': ['purple_elephant']}, 'expect.conditions[1].unchanged.objects[0]',
     'not an object'),
    (('scene', 'objects', 0, 'position'), [0.05, 0.0], 'scene', "object #0 'red_cube': field 'position'"),
    (('scene', 'embodiment'), 'submarine', 'scene', 'embodiment'),
    (('surprise',), 1, 'surprise', 'unknown field'),
])
def test_bad_scenarios_name_the_file_and_field(tmp_path, path, value, field, words):
    source = write(tmp_path, mutate(path, value))
    with pytest.raises(ScenarioError) as err:
        load_scenario(source)
    assert err.value.field == field
    assert str(source) in str(err.value)
    assert words in str(err.value)


def test_corrections_out_of_order_are_refused(tmp_path):
    data = mutate(('corrections',), [{'at': 3.0, 'text': 'wait'}, {'at': 1.0, 'text': 'continue'}])
    with pytest.raises(ScenarioError, match=r"corrections\[1\]\.at.*time order"):
        load_scenario(write(tmp_path, data))


def test_an_impossible_request_must_expect_a_clean_failure(tmp_path):
    data = mutate(('category',), 'impossible')
    with pytest.raises(ScenarioError, match="field 'expect'.*unchanged: all"):
        load_scenario(write(tmp_path, data))
    data['expect'] = {'success': False, 'conditions': [{'unchanged': 'all'}]}
    assert load_scenario(write(tmp_path, data)).expect_success is False


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioError, match='cannot read'):
        load_scenario(tmp_path / 'missing.yaml')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('name: [unclosed', encoding='utf-8')
    with pytest.raises(ScenarioError, match='not valid YAML'):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match='no such file'):
        scenario_files([tmp_path / 'nowhere'])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ScenarioError, match='no scenario files'):
        scenario_files([tmp_path / 'empty'])


def test_names_must_be_unique_across_a_suite(tmp_path):
    write(tmp_path, GOOD, 'a.yaml')
    write(tmp_path, GOOD, 'b.yaml')
    with pytest.raises(ScenarioError, match="b.yaml: field 'name'.*already used by .*a.yaml"):
        load_suite([tmp_path])


def test_every_shipped_scenario_loads_and_the_suite_covers_what_it_must():
    scenarios = load_suite([SUITE])
    assert len(scenarios) >= 60
    by_embodiment = Counter(s.embodiment for s in scenarios)
    assert set(by_embodiment) == {'arm', 'hand', 'quadrotor'}, by_embodiment
    assert set(Counter(s.category for s in scenarios)) == set(CATEGORIES)
    for s in scenarios:
        assert s.source.startswith(str(SUITE / s.embodiment)), f'{s.source} is not under its embodiment folder'
    assert any(s.corrections for s in scenarios)
    impossible = [s for s in scenarios if s.category == 'impossible']
    assert {s.embodiment for s in impossible} == {'arm', 'hand', 'quadrotor'}


def test_select_filters_by_embodiment_category_and_name():
    scenarios = load_suite([SUITE])
    arm_impossible = select(scenarios, ['arm'], ['impossible'])
    assert arm_impossible
    assert all(s.embodiment == 'arm' and s.category == 'impossible' for s in arm_impossible)
    assert [s.name for s in select(scenarios, match='PURPLE_ELEPHANT')] == ['arm_impossible_purple_elephant']
    assert select(scenarios, match='no such scenario') == []
