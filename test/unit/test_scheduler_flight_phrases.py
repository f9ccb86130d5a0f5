"""Flight phrasings the generated evaluation found unplanned: a distance in a direction ("fly 2 m to the left"),
back to where the vehicle took off ("return home", "land where you took off"), and a courtesy after a bare
verb ("... and land, please").  Points are in the world frame at the take-off point (REP 103: x forward,
y left, z up); the default take-off height is 1 m and the test pads' tops are 1.5 cm high."""

import pytest
from test_scheduler_scenes import airfield, obj, scene, skills, table

from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.effects import flown
from skill_stack.scheduler.plan import RobotState, Step
from skill_stack.scheduler.planning import make_planner

LEADS = ('', 'please ', 'could you ', 'robot, ', 'now ')
TAILS = ('', ', please', ' for me', '.', ', thank you')
DISTANCES = {2.0: ('2 m', 'two metres', '2 meters', '2 metres', '2m'), 1.0: ('1 m', 'one metre', '1 metres',
                                                                           '1 meter')}
DIRECTIONS = {'to the left': (0, 1, 0), 'to the right': (0, -1, 0), 'forward': (1, 0, 0), 'backwards': (-1, 0, 0),
              'back': (-1, 0, 0), 'left': (0, 1, 0), 'ahead': (1, 0, 0)}
PAD_TOP = 0.015  # m
OVER_RED = (1.5, 0.5, PAD_TOP + 1.0)  # where "fly to the red pad" leaves the vehicle


def plan(text, robot='quadrotor', where=None):
    return make_planner('embedded').plan(text, where if where is not None else airfield(), skills(), robot=robot)


def steps(text, robot='quadrotor', where=None):
    result = plan(text, robot, where)
    assert result.ok, result.reason
    return [(s.skill, {k: v for k, v in s.args.items() if v is not None}) for s in result.plan.steps]


def point(*xyz):
    return pytest.approx(list(xyz), abs=1e-3)


# -- a distance in a direction -----------------------------------------------------------------------------

@pytest.mark.parametrize('metres', DISTANCES)
@pytest.mark.parametrize('direction', DIRECTIONS)
@pytest.mark.parametrize('form', ['take off, then fly {d} {w}', 'take off and go {d} {w}',
                                  'take off and move {w} by {d}', 'take off and head {d} {w}', 'fly {d} {w}'])
def test_a_distance_in_a_direction_flies_from_above_the_take_off_point(form, direction, metres):
    for k, said in enumerate(DISTANCES[metres]):
        text = LEADS[k % len(LEADS)] + form.format(d=said, w=direction) + TAILS[k % len(TAILS)]
        (take_off, _), (skill, args) = steps(text)
        x, y, z = DIRECTIONS[direction]
        assert (take_off, skill) == ('take_off', 'fly_to'), text
        assert args == {'point': point(metres * x, metres * y, 1.0 + metres * z)}, text


@pytest.mark.parametrize(('text', 'goal'), [
    ('take off to 1.5 m, then fly 1 m to the left', (0, 1, 1.5)),
    ('take off to two metres and move to the right by 1 metre', (0, -1, 2)),
    ('fly to the red pad, then fly 1 m forward', (2.5, 0.5, OVER_RED[2])),
    ('fly over the red pad and then go 2 metres backwards', (-0.5, 0.5, OVER_RED[2])),
    ('take off and go up 1 m', (0, 0, 2)),
    ('take off, then fly one metre up', (0, 0, 2)),
    ('take off and fly up by 50 cm', (0, 0, 1.5)),
    ('take off to 2 m and descend 50 cm', (0, 0, 1.5)),
    ('take off and climb to 2 m', (0, 0, 2)),
    ('take off to 2 m and come down to 1 m', (0, 0, 1)),
    ('take off and fly at a height of 2.5 m', (0, 0, 2.5)),
])
def test_relative_flights_start_where_the_steps_before_leave_the_vehicle(text, goal):
    assert steps(text)[-1] == ('fly_to', {'point': point(*goal)})


def test_flights_in_turn_add_up():
    assert steps('take off, fly 1 m forward, then 1 m to the left and then go up 50 cm') == [
        ('take_off', {}), ('fly_to', {'point': point(1, 0, 1)}),
        ('fly_to', {'point': point(1, 1, 1)}), ('fly_to', {'point': point(1, 1, 1.5)})]


def test_a_flying_vehicle_flies_from_where_it_is():
    flying = RobotState('quadrotor', airborne=True, position=(1.0, -1.0, 1.2))
    assert steps('fly 2 m to the left', flying) == [('fly_to', {'point': point(1, 1, 1.2)})]
    assert steps('go down 50 cm', flying) == [('fly_to', {'point': point(1, -1, 0.7)})]


def test_going_up_from_the_ground_is_still_a_take_off():
    assert steps('go up 1 m') == [('take_off', {'height': 1.0})]


@pytest.mark.parametrize('text', ['take off and fly to the left', 'fly forward', 'take off, then go backwards please',
                                  'take off and move to the right'])
def test_a_direction_without_a_distance_asks_for_one(text):
    result = plan(text)
    assert not result.ok
    assert 'how far' in result.reason
    assert 'say e.g. "fly 1 m' in result.reason


def test_a_flight_out_of_the_geofence_is_refused():
    result = plan('take off and fly 6 m forward')
    assert not result.ok
    assert 'geofence' in result.reason


def test_a_direction_after_an_object_still_shifts_its_goal():
    assert steps('fly to the red pad a bit to the left')[-1] == (
        'fly_to', {'target': 'pad_0', 'offset': [0.0, 0.03, 0.0]})


# -- back to where it took off ------------------------------------------------------------------------------

@pytest.mark.parametrize('back', ['return home', 'come back and land where you started', 'fly back home and land',
                                  'land where you took off', 'return to the start and land', 'come back',
                                  'return to base', 'head back to the starting point and land',
                                  'go home and land there', 'touch down back at the start'])
@pytest.mark.parametrize('before', ['fly to the red pad, then ', 'fly over the red pad and then '])
def test_returning_home_flies_back_over_the_take_off_point_and_lands(before, back):
    for lead, tail in zip(LEADS, TAILS, strict=True):
        text = lead + before + back + tail
        assert steps(text) == [('take_off', {}), ('fly_to', {'target': 'pad_0'}),
                               ('fly_to', {'point': point(0, 0, OVER_RED[2])}), ('land', {})], text


@pytest.mark.parametrize('back', ['go back to the start', 'go home', 'fly back to where you started',
                                  'head home now'])
def test_going_home_flies_back_without_landing_unless_told(back):
    assert steps(f'fly to the red pad, then {back}')[-1] == ('fly_to', {'point': point(0, 0, OVER_RED[2])})
    assert steps(f'fly to the red pad, then {back} and land')[-2:] == [
        ('fly_to', {'point': point(0, 0, OVER_RED[2])}), ('land', {})]


def test_home_from_where_the_vehicle_is():
    flying = RobotState('quadrotor', airborne=True, position=(2.0, 1.0, 1.7))
    assert steps('return home', flying) == [('fly_to', {'point': point(0, 0, 1.7)}), ('land', {})]
    assert steps('return home at 2 m', flying) == [('fly_to', {'point': point(0, 0, 2)}), ('land', {})]
    over_home = RobotState('quadrotor', airborne=True, position=(0.05, 0.0, 1.0))
    assert steps('return home', over_home) == [('land', {})]
    assert steps('land on the red pad, then return home') == [
        ('take_off', {}), ('land', {'target': 'pad_0'}), ('take_off', {}), ('fly_to', {'point': point(0, 0, 1)}),
        ('land', {})]


def test_home_on_the_ground_there_is_nothing_to_do():
    result = plan('return home')
    assert result.ok
    assert result.steps == []
    assert 'already on the ground' in result.reason


def test_the_arm_still_returns_things():
    assert [s.skill for s in plan('return the red cube to the blue bowl', 'arm', table()).steps] == ['pick', 'place']
    assert 'cannot return to where it took off' in plan('come back', 'arm', table()).reason


# -- courtesies after a bare verb -------------------------------------------------------------------------

@pytest.mark.parametrize('tail', [', please', ' please', ', thanks', ' for me', ', thank you', ', if you can'])
@pytest.mark.parametrize('noun', ['disc', 'pad', 'mat'])
def test_a_courtesy_after_a_bare_land_is_no_object(noun, tail):
    assert steps(f'fly to the yellow {noun} and land{tail}') == [
        ('take_off', {}), ('fly_to', {'target': 'pad_3'}), ('land', {})]
    flying = RobotState('quadrotor', airborne=True)
    assert steps(f'land{tail}', flying) == [('land', {})]
    assert steps(f'hover{tail}', flying) == [('hover', {})]


# -- what worked before keeps working -------------------------------------------------------------------------

@pytest.mark.parametrize(('text', 'expected'), [
    ('take off to 2 metres, hover for 2 seconds, then land on the blue pad',
     [('take_off', {'height': 2.0}), ('hover', {'duration': 2.0}), ('land', {'target': 'pad_2'})]),
    ('land on the pad nearest the red pad', [('take_off', {}), ('land', {'target': 'pad_2'})]),
    ('fly over the red pad and then land on the blue pad',
     [('take_off', {}), ('fly_to', {'target': 'pad_0'}), ('land', {'target': 'pad_2'})]),
    ('hover above the green pad', [('take_off', {}), ('fly_to', {'target': 'pad_1'})]),
    ('fly to the red pad and land on it', [('take_off', {}), ('fly_to', {'target': 'pad_0'}),
                                           ('land', {'target': 'pad_0'})]),
])
def test_flights_to_pads(text, expected):
    assert steps(text) == expected


def test_flown_tracks_where_each_flight_leaves_the_vehicle():
    catalog, here = SkillCatalog.of(skills()), RobotState('quadrotor')
    track = [(Step('take_off', {'height': 1.5}), (0, 0, 1.5), True),
             (Step('fly_to', {'target': 'pad_0', 'height': 0.5, 'offset': [0.0, 0.1, 0.0]}), (1.5, 0.6, 0.515), True),
             (Step('hover', {}), (1.5, 0.6, 0.515), True),
             (Step('fly_to', {'point': [1.0, 1.0, 2.0]}), (1, 1, 2), True),
             (Step('land', {'target': 'pad_1', 'offset': [0.1, 0.0, 0.3]}), (-0.9, 1, PAD_TOP), False),
             (Step('take_off', {}), (-0.9, 1, 1), True),
             (Step('land', {}), (-0.9, 1, 0), False)]
    for step, where, airborne in track:
        here = flown(step, here, airfield(), catalog)
        assert (list(here.position), here.airborne) == (point(*where), airborne), step.describe()


def test_the_airfield_pads_are_landable_where_they_lie():
    from skill_stack.skills import library

    land = library.make_skill('land')
    for pad in airfield().objects:
        assert land.feasibility({'target': pad.id}, airfield())[0] > 0.5


def test_a_pad_at_the_take_off_point_is_still_a_pad():
    home_pad = scene(*airfield().objects, obj('pad_4', 'pad', 'white', 0.0, 0.0, size=1.5))
    assert steps('fly to the red pad, then land on the white pad', where=home_pad)[-1] == (
        'land', {'target': 'pad_4'})
