"""Object ids stay the same from frame to frame: moved a little, hidden for a while, or renumbered."""

import numpy as np

from skill_stack.perception.tracking import IdTracker
from skill_stack.perception.types import PerceivedObject, PerceivedScene


def obj(label, color, x, y, frame_id='obj_0'):
    return PerceivedObject(frame_id, label, color, np.array([x, y, 0.02]), np.array([1.0, 0, 0, 0]),
                           np.full(3, 0.04), 1.0)


def ids(scene):
    return {o.id: (o.color, round(float(o.position[0]), 3)) for o in scene.objects}


def test_ids_follow_objects_when_the_pipeline_renumbers_them():
    tracker = IdTracker()
    first = tracker.update(PerceivedScene([obj('box', 'red', 0.4, 0.1), obj('box', 'blue', 0.5, 0.0)], stamp=1.0))
    red = next(o.id for o in first.objects if o.color == 'red')
    # Next frame: listed in the other order with the pipeline's own ids swapped, the red box moved 3 cm.
    second = tracker.update(PerceivedScene([obj('box', 'blue', 0.5, 0.0, 'obj_0'), obj('box', 'red', 0.43, 0.1,
                                                                                       'obj_1')], stamp=1.1))
    assert next(o.id for o in second.objects if o.color == 'red') == red
    assert len({o.id for o in second.objects}) == 2


def test_a_hidden_object_comes_back_with_its_id_and_new_objects_get_new_ids():
    tracker = IdTracker()
    scene = tracker.update(PerceivedScene([obj('box', 'red', 0.4, 0.1), obj('bowl', 'green', 0.4, -0.2)], stamp=1.0))
    red = next(o.id for o in scene.objects if o.color == 'red')
    tracker.update(PerceivedScene([obj('bowl', 'green', 0.4, -0.2)], stamp=2.0))  # in the gripper
    back = tracker.update(PerceivedScene([obj('bowl', 'green', 0.4, -0.2), obj('box', 'red', 0.4, -0.18),
                                          obj('box', 'yellow', 0.6, 0.0)], stamp=5.0))
    assert next(o.id for o in back.objects if o.color == 'red') == red
    yellow = next(o.id for o in back.objects if o.color == 'yellow')
    assert yellow not in {o.id for o in scene.objects}


def test_a_jump_in_one_frame_is_a_different_object_and_time_going_back_resets():
    tracker = IdTracker()
    first = tracker.update(PerceivedScene([obj('box', 'red', 0.4, 0.1)], stamp=1.0))
    jumped = tracker.update(PerceivedScene([obj('box', 'red', 0.4, 0.1), obj('box', 'red', 0.6, 0.3)], stamp=1.1))
    assert len({o.id for o in jumped.objects}) == 2
    assert first.objects[0].id in {o.id for o in jumped.objects}
    reset = tracker.update(PerceivedScene([obj('box', 'blue', 0.5, 0.0)], stamp=0.1))
    assert reset.objects[0].id == 'obj_0'


def test_a_ball_set_in_a_bowl_and_seen_as_a_box_keeps_its_id_and_shape():
    tracker = IdTracker()
    for k in range(10):
        first = tracker.update(PerceivedScene([obj('sphere', 'blue', 0.5, 0.1), obj('bowl', 'red', 0.4, -0.2)],
                                              stamp=1.0 + 0.1 * k))
    ball = next(o.id for o in first.objects if o.color == 'blue')
    tracker.update(PerceivedScene([obj('bowl', 'red', 0.4, -0.2)], stamp=3.0))  # hidden in the gripper
    placed = tracker.update(PerceivedScene([obj('bowl', 'red', 0.4, -0.2), obj('box', 'blue', 0.4, -0.19)],
                                           stamp=6.0))
    seen = next(o for o in placed.objects if o.color == 'blue')
    assert (seen.id, seen.label) == (ball, 'sphere')


def test_the_same_shape_wins_over_a_look_alike_of_another_shape_and_sustained_evidence_changes_the_class():
    tracker = IdTracker()
    scene = tracker.update(PerceivedScene([obj('box', 'red', 0.4, 0.1), obj('cylinder', 'red', 0.45, 0.1)],
                                          stamp=1.0))
    box = next(o.id for o in scene.objects if o.label == 'box')
    again = tracker.update(PerceivedScene([obj('cylinder', 'red', 0.45, 0.1), obj('box', 'red', 0.41, 0.1)],
                                          stamp=1.1))
    assert next(o.id for o in again.objects if o.label == 'box') == box
    for k in range(5):  # seen as a cylinder from now on: the class follows once that outweighs the past
        latest = tracker.update(PerceivedScene([obj('cylinder', 'red', 0.41, 0.1), obj('cylinder', 'red', 0.45, 0.1)],
                                               stamp=1.2 + 0.1 * k))
    labels = {o.id: o.label for o in latest.objects}
    assert labels[box] == 'cylinder'


def test_a_pad_and_a_box_of_one_colour_never_share_an_id():
    """A quadrotor's camera sweeps a field with a green box and a green pad: each keeps its id and shape."""
    tracker = IdTracker()
    first = tracker.update(PerceivedScene([obj('pad', 'green', 1.0, 0.0), obj('box', 'green', 1.3, 0.0)], stamp=1.0))
    pad = next(o.id for o in first.objects if o.label == 'pad')
    tracker.update(PerceivedScene([], stamp=2.0))  # out of view
    back = tracker.update(PerceivedScene([obj('box', 'green', 1.3, 0.0)], stamp=3.0))
    assert back.objects[0].id != pad
    assert back.objects[0].label == 'box'


def test_a_ball_lifted_out_of_its_place_and_seen_in_the_fingers_keeps_its_id():
    tracker = IdTracker()
    first = tracker.update(PerceivedScene([obj('sphere', 'blue', 0.5, 0.1), obj('cylinder', 'red', 0.4, -0.1)],
                                          stamp=1.0))
    ball = next(o.id for o in first.objects if o.color == 'blue')
    lifted = tracker.update(PerceivedScene([obj('cylinder', 'red', 0.4, -0.1), obj('cylinder', 'blue', 0.5, 0.25)],
                                           stamp=1.1))  # 15 cm off in a frame: carried, a sliver seen as a can
    assert next(o.id for o in lifted.objects if o.color == 'blue') == ball
    assert next(o.label for o in lifted.objects if o.color == 'blue') == 'sphere'


def test_a_filled_bowl_seen_as_a_cylinder_where_it_stands_keeps_its_id_and_shape():
    tracker = IdTracker()
    for k in range(5):
        first = tracker.update(PerceivedScene([obj('bowl', 'blue', 0.42, -0.2)], stamp=1.0 + 0.1 * k))
    bowl = first.objects[0].id
    filled = tracker.update(PerceivedScene([obj('cylinder', 'blue', 0.425, -0.2)], stamp=2.0))
    assert (filled.objects[0].id, filled.objects[0].label) == (bowl, 'bowl')
    tracker.update(PerceivedScene([], stamp=3.0))
    elsewhere = tracker.update(PerceivedScene([obj('cylinder', 'blue', 0.6, 0.1)], stamp=4.0))
    assert elsewhere.objects[0].id != bowl  # a blue can across the table is not the bowl
