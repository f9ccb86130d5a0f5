"""The quadrotor's field memory, survey route and approach before a step on an object out of view."""

import threading

import numpy as np
import pytest

from skill_stack.drivers.quadrotor import QuadrotorConfig
from skill_stack.perception.types import Keypoint, PerceivedObject, PerceivedScene
from skill_stack.scheduler.binding import ref_of
from skill_stack.scheduler.field import (
    APPROACH_HEIGHT,
    SURVEY_HEIGHT,
    SURVEY_LEG,
    VIEW_SHARE,
    FieldMemory,
    FieldSearch,
    needs_survey,
    survey_points,
)
from skill_stack.scheduler.plan import Step


def _pad(obj_id, color, x, y, width=0.3):
    position = np.array([x, y, 0.0025])
    return PerceivedObject(id=obj_id, label='pad', color=color, position=position,
                           quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.array([width, width, 0.005]),
                           confidence=0.9, affordances={'landable': 0.9},
                           keypoints=[Keypoint('top', position + np.array([0.0, 0.0, 0.0025]))])


def _scene(*objects):
    return PerceivedScene(objects=list(objects), status='ok')


def test_memory_keeps_objects_out_of_view_and_takes_the_latest_sighting():
    memory = FieldMemory()
    memory.update(_scene(_pad('obj_1', 'green', 3.0, -1.5)))
    memory.update(_scene(_pad('obj_2', 'red', 2.0, 1.0)))
    merged = memory.scene(_scene(_pad('obj_2', 'red', 2.01, 1.0)))
    assert sorted(o.id for o in merged.objects) == ['obj_1', 'obj_2']
    # Seen again under a new id (perception forgot it): one object, the new id and position.
    memory.update(_scene(_pad('obj_7', 'green', 3.02, -1.5)))
    greens = [o for o in memory.scene(None).objects if o.color == 'green']
    assert [o.id for o in greens] == ['obj_7']
    assert greens[0].position[0] == pytest.approx(3.02)
    # Same colour far away is another pad.
    memory.update(_scene(_pad('obj_9', 'green', -3.0, 2.0)))
    assert len([o for o in memory.objects() if o.color == 'green']) == 2
    assert memory.scene(None).status == 'no scene from perception yet'


def test_time_going_back_means_a_new_world_and_a_fresh_memory():
    memory = FieldMemory()
    memory.update(PerceivedScene(objects=[_pad('obj_1', 'green', 3.0, -1.5)], status='ok', stamp=40.0))
    memory.surveyed = True
    memory.update(PerceivedScene(objects=[], status='ok', stamp=39.5))  # late frame: kept
    assert [o.id for o in memory.objects()] == ['obj_1']
    memory.update(PerceivedScene(objects=[_pad('obj_1', 'red', 1.0, 1.0)], status='ok', stamp=0.1))  # reset
    assert [o.color for o in memory.objects()] == ['red']
    assert not memory.surveyed


def test_the_survey_covers_the_fence_in_short_legs_from_the_nearest_corner():
    config = QuadrotorConfig()
    points = np.array(survey_points(config, (3.0, 4.0)))
    assert np.all(points[:, 2] == SURVEY_HEIGHT)
    assert points[0, 0] > 0
    assert points[0, 1] > 0
    legs = np.linalg.norm(np.diff(points[:, :2], axis=0), axis=1)
    assert legs.max() <= SURVEY_LEG + 1e-9
    lanes = sorted(set(points[:, 1].round(3)))
    gaps = np.diff([config.fence_y_min + config.fence_margin, *lanes, config.fence_y_max - config.fence_margin])
    assert gaps[0] <= 1.2 + 1e-9
    assert gaps[-1] <= 1.2 + 1e-9
    assert gaps[1:-1].max() <= 2.4 + 1e-9
    assert points[:, 0].min() >= config.fence_x_min
    assert points[:, 0].max() <= config.fence_x_max
    with pytest.raises(ValueError, match='swath'):
        survey_points(config, (0.0, 0.0), swath=0.0)


def test_only_failures_about_what_was_seen_call_for_a_survey():
    assert needs_survey('nothing to ground "on the green pad" in: the scene has no objects')
    assert needs_survey('no purple pad for "the purple pad": the pads seen are red pad obj_1')
    assert not needs_survey('I did not understand "dance": it names no action I know.')
    assert not needs_survey('the quadrotor cannot pick things up ("pick up the pad")')


class _Flight:
    """Runs steps by recording them; the live scene is whatever the test says the camera sees."""

    def __init__(self, live, fail=''):
        self.live, self.fail, self.ran = live, fail, []

    def run(self, step, stop):
        self.ran.append(step)
        return (False, 'timed out') if step.skill == self.fail else (True, 'ok')


def _search(memory, flight, airborne=True):
    return FieldSearch(memory, QuadrotorConfig(), flight.run, live_scene=lambda: flight.live,
                       position=lambda: np.array([0.0, 0.0, 1.0]), airborne=lambda: airborne)


def test_a_step_on_an_object_out_of_view_flies_over_it_first_then_runs_on_the_current_id():
    memory = FieldMemory()
    green = _pad('obj_1', 'green', 3.0, -1.5)
    memory.update(_scene(green))
    flight = _Flight(live=_scene())
    step = Step('land', {'target': 'obj_1'}, robot='quadrotor', refs={'target': ref_of(green)})
    search = _search(memory, flight)

    def arrive(step, stop):  # over the pad, perception sees it under a new id
        flight.ran.append(step)
        flight.live = _scene(_pad('obj_4', 'green', 3.01, -1.5))
        memory.update(flight.live)
        return True, 'ok'

    search._run = arrive
    assert search.execute_step(step, threading.Event()) == (True, 'ok')
    approach, land = flight.ran
    assert approach.skill == 'fly_to'
    assert approach.args['point'] == pytest.approx([3.0, -1.5, 0.0025 + APPROACH_HEIGHT])
    assert land.skill == 'land'
    assert land.args['target'] == 'obj_4'


def test_a_step_on_an_object_in_view_runs_at_once_and_a_failed_approach_says_so():
    green = _pad('obj_1', 'green', 3.0, -1.5)
    memory = FieldMemory()
    memory.update(_scene(green))
    flight = _Flight(live=_scene(green))
    step = Step('land', {'target': 'obj_1'}, robot='quadrotor', refs={'target': ref_of(green)})
    assert _search(memory, flight).execute_step(step, threading.Event()) == (True, 'ok')
    assert [s.skill for s in flight.ran] == ['land']
    flight = _Flight(live=_scene(), fail='fly_to')
    ok, message = _search(memory, flight).execute_step(step, threading.Event())
    assert not ok
    assert 'could not fly over' in message
    assert 'timed out' in message


def test_the_survey_takes_off_from_the_ground_and_marks_the_field_surveyed():
    memory = FieldMemory()
    flight = _Flight(live=_scene())
    said = []
    ok, message = _search(memory, flight, airborne=False).survey(threading.Event(), said.append)
    assert ok
    assert memory.surveyed
    assert 'surveyed the field: nothing' in message
    assert flight.ran[0].skill == 'take_off'
    assert flight.ran[0].args == {'height': SURVEY_HEIGHT}
    assert all(s.skill == 'fly_to' for s in flight.ran[1:])
    assert len(said) == len(flight.ran)
    memory = FieldMemory()
    ok, message = _search(memory, _Flight(live=_scene(), fail='fly_to')).survey(threading.Event())
    assert not ok
    assert not memory.surveyed
    assert message.startswith('survey stopped at fly_to')
    flight = _Flight(live=_scene())
    flaky = iter([(True, 'ok'), (False, 'perception late'), (True, 'ok')])
    search = _search(FieldMemory(), flight, airborne=False)
    search._run = lambda step, stop: next(flaky, (True, 'ok'))
    assert search.survey(threading.Event())[0]  # the failed leg was flown again


@pytest.mark.parametrize('width', [0.6, 0.8])
def test_a_wide_pad_is_approached_high_enough_to_show_ground_around_it(width):
    memory = FieldMemory()
    wide = _pad('obj_2', 'yellow', -2.0, 2.0, width)
    memory.update(_scene(wide))
    flight = _Flight(live=_scene())
    search = _search(memory, flight)
    step = Step('land', {'target': 'obj_2'}, robot='quadrotor', refs={'target': ref_of(wide)})
    search.execute_step(step, threading.Event())
    approach = flight.ran[0]
    assert approach.args['point'][2] == pytest.approx(0.0025 + width / VIEW_SHARE)
    assert approach.args['point'][2] > 0.0025 + APPROACH_HEIGHT
