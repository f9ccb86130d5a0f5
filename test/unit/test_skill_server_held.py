"""The skill server's held-object bookkeeping: an object still seen where it was taken from, with the robot
gone, was not taken (a grip can close on nothing that comes along)."""

import numpy as np

from skill_stack.nodes.skill_server import left_behind, with_held
from skill_stack.perception.types import PerceivedObject, PerceivedScene


def _cube(obj_id, x, y, z):
    return PerceivedObject(id=obj_id, label='box', color='red', position=np.array([x, y, z]),
                           quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.full(3, 0.04), confidence=0.9,
                           keypoints=[], affordances={'graspable': 0.9})


def test_an_object_left_on_the_table_is_not_held():
    taken = _cube('obj_1', 0.0, 0.0, 0.02)
    scene = PerceivedScene(objects=[_cube('obj_1', 0.002, 0.0, 0.02)], status='ok')
    assert left_behind(taken, np.array([0.0, 0.0, 0.12]), scene)


def test_a_lifted_object_or_one_out_of_view_is_still_held():
    taken = _cube('obj_1', 0.0, 0.0, 0.02)
    carried = np.array([0.0, 0.0, 0.12])
    assert not left_behind(taken, carried, PerceivedScene(objects=[], status='ok'))  # hidden by the fingers
    assert not left_behind(taken, carried, PerceivedScene(objects=[_cube('obj_1', 0.0, 0.0, 0.11)], status='ok'))
    assert not left_behind(taken, carried, PerceivedScene(objects=[_cube('obj_2', 0.0, 0.0, 0.02)], status='ok'))
    # The robot has barely moved yet: too early to tell.
    assert not left_behind(taken, np.array([0.0, 0.0, 0.03]),
                           PerceivedScene(objects=[_cube('obj_1', 0.0, 0.0, 0.02)], status='ok'))


def _bowl(obj_id, x, y, z):
    return PerceivedObject(id=obj_id, label='bowl', color='blue', position=np.array([x, y, z]),
                           quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.array([0.16, 0.16, 0.05]),
                           confidence=0.9, keypoints=[], affordances={'container': 0.9})


def test_a_held_object_seen_under_another_id_keeps_its_own():
    """A sliver of the held cube seen between the fingers as a new 'cylinder obj_7' gives way to the cube."""
    taken = _cube('obj_2', 0.5, 0.0, 0.02)
    carried = np.array([0.45, 0.1, 0.15])
    sliver = PerceivedObject(id='obj_7', label='cylinder', color='red', position=carried + 0.01,
                             quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.full(3, 0.02), confidence=0.5,
                             keypoints=[], affordances={'graspable': 0.9})
    scene = with_held(PerceivedScene(objects=[sliver, _cube('obj_3', 0.3, 0.2, 0.02)], status='ok'), taken, carried)
    assert sorted(o.id for o in scene.objects) == ['obj_2', 'obj_3']
    held = next(o for o in scene.objects if o.id == 'obj_2')
    assert held.label == 'box'
    np.testing.assert_allclose(held.position, carried)


def test_a_held_object_lowered_into_a_bowl_leaves_the_bowl_in_the_scene():
    taken = _cube('obj_2', 0.5, 0.0, 0.02)
    over_bowl = np.array([0.4, -0.2, 0.04])
    scene = with_held(PerceivedScene(objects=[_bowl('obj_0', 0.4, -0.2, 0.025)], status='ok'), taken, over_bowl)
    assert sorted(o.id for o in scene.objects) == ['obj_0', 'obj_2']


def test_a_held_object_tracked_under_its_id_is_left_as_perception_sees_it():
    taken = _cube('obj_2', 0.5, 0.0, 0.02)
    carried = np.array([0.45, 0.1, 0.15])
    seen = PerceivedScene(objects=[_cube('obj_2', 0.45, 0.1, 0.14)], status='ok')
    assert with_held(seen, taken, carried) is seen
    assert with_held(PerceivedScene(objects=[_cube('obj_2', 0.5, 0.0, 0.02)], status='ok'), taken, carried) is None


def test_a_sliver_of_the_held_colour_a_little_further_off_is_the_held_object_too():
    taken = _cube('obj_2', 0.5, 0.0, 0.02)
    carried = np.array([0.45, 0.1, 0.15])
    lower = _cube('obj_9', 0.45, 0.1, 0.095)  # red like the held cube, 5.5 cm below where its centre should be
    other = PerceivedObject(id='obj_4', label='box', color='blue', position=np.array([0.45, 0.1, 0.1]),
                            quaternion=np.array([1.0, 0.0, 0.0, 0.0]), extent=np.full(3, 0.04), confidence=0.9,
                            keypoints=[], affordances={'graspable': 0.9})
    scene = with_held(PerceivedScene(objects=[lower, other], status='ok'), taken, carried)
    assert sorted(o.id for o in scene.objects) == ['obj_2', 'obj_4']


def test_an_id_that_now_names_an_object_of_another_colour_is_reported_as_perception_losing_track():
    """A respawned perception numbers objects afresh: 'obj_1' was the red cube and is now the blue bowl."""
    from skill_stack.nodes.skill_server import changed_identity
    before = PerceivedScene(objects=[_cube('obj_0', 0.3, 0.2, 0.02), _cube('obj_1', 0.5, 0.0, 0.02)], status='ok')
    after = PerceivedScene(objects=[_bowl('obj_1', 0.4, -0.2, 0.025)], status='ok')
    said = changed_identity(before, after, ['obj_1'])
    assert "'obj_1' a blue bowl" in said
    assert 'red box' in said
    assert changed_identity(before, after, ['obj_0']) == ''  # not an argument of this skill
    moved = PerceivedScene(objects=[_cube('obj_1', 0.45, 0.1, 0.15)], status='ok')
    assert changed_identity(before, moved, ['obj_1']) == ''  # same object, moved (carried)
