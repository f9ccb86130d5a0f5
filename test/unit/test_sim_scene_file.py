"""Scene files: valid ones parse to the contract; each kind of bad one is refused naming file, object and field."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from skill_stack.sim.footprint import Circle, Rectangle, overlaps, within
from skill_stack.sim.scene_file import COLORS, ObjectSpec, SceneFileError, load_scene, parse_scene

SCENES = Path(__file__).resolve().parents[2] / "config" / "scenes"

VALID = {
    "embodiment": "arm",
    "seed": 3,
    "objects": [
        {"name": "red_cube", "shape": "box", "color": "red", "size": [0.04, 0.04, 0.04], "position": [0.5, 0.1],
         "yaw": 0.3},
        {"name": "blue_bowl", "shape": "bowl", "color": [0.1, 0.2, 0.9], "size": [0.08, 0.06],
         "position": [0.4, -0.2]},
    ],
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _bad(tmp_path: Path, data: object) -> str:
    path = _write(tmp_path, data)
    with pytest.raises(SceneFileError) as info:
        load_scene(path)
    message = str(info.value)
    assert str(path) in message
    return message


def _with(index: int, **changes: object) -> dict:
    """VALID with object `index` changed; a value of None deletes the field."""
    data = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            del data["objects"][index][key]
        else:
            data["objects"][index][key] = value
    return data


def test_valid_scene_parses_to_the_contract():
    scene = parse_scene(copy.deepcopy(VALID), source="inline")
    assert scene.embodiment == "arm"
    assert scene.seed == 3
    assert scene.source == "inline"
    cube, bowl = scene.objects
    assert cube == ObjectSpec("red_cube", "box", "red", (0.04, 0.04, 0.04), (0.5, 0.1), 0.3)
    assert cube.rgb == COLORS["red"]
    assert cube.height == pytest.approx(0.04)
    assert bowl.color == (0.1, 0.2, 0.9)
    assert bowl.yaw == 0.0  # optional, defaults to 0
    assert scene.object("blue_bowl") is bowl


def test_seed_and_objects_are_optional():
    scene = parse_scene({"embodiment": "quadrotor"})
    assert scene.seed == 0
    assert scene.objects == ()


@pytest.mark.parametrize("path", sorted(SCENES.glob("*.yaml")), ids=lambda p: p.stem)
def test_example_scenes_are_valid(path):
    scene = load_scene(path)
    assert scene.objects
    assert scene.source == str(path)


def test_missing_object_field(tmp_path):
    message = _bad(tmp_path, _with(0, size=None))
    assert "object #0 'red_cube'" in message
    assert "field 'size'" in message
    assert "missing" in message


def test_unknown_object_field(tmp_path):
    message = _bad(tmp_path, _with(1, colour="blue"))
    assert "object #1 'blue_bowl'" in message
    assert "field 'colour'" in message


def test_object_without_a_name_is_named_by_index(tmp_path):
    message = _bad(tmp_path, _with(1, name=None))
    assert "object #1:" in message
    assert "field 'name'" in message


def test_unknown_top_level_field(tmp_path):
    data = copy.deepcopy(VALID)
    data["embodyment"] = "arm"
    assert "field 'embodyment'" in _bad(tmp_path, data)


def test_missing_embodiment(tmp_path):
    data = copy.deepcopy(VALID)
    del data["embodiment"]
    assert "field 'embodiment'" in _bad(tmp_path, data)


def test_unknown_embodiment(tmp_path):
    data = copy.deepcopy(VALID)
    data["embodiment"] = "humanoid"
    message = _bad(tmp_path, data)
    assert "field 'embodiment'" in message
    assert "humanoid" in message


def test_unknown_shape(tmp_path):
    message = _bad(tmp_path, _with(0, shape="cone"))
    assert "object #0 'red_cube'" in message
    assert "field 'shape'" in message
    assert "cone" in message


def test_unknown_colour_name(tmp_path):
    message = _bad(tmp_path, _with(0, color="magenta"))
    assert "object #0 'red_cube'" in message
    assert "field 'color'" in message
    assert "magenta" in message


def test_rgb_colour_out_of_range(tmp_path):
    message = _bad(tmp_path, _with(1, color=[0.1, 1.5, 0.0]))
    assert "object #1 'blue_bowl'" in message
    assert "field 'color'" in message


def test_wrong_size_length(tmp_path):
    message = _bad(tmp_path, _with(1, size=[0.08]))
    assert "object #1 'blue_bowl'" in message
    assert "field 'size'" in message
    assert "radius, height" in message


@pytest.mark.parametrize("size", [[0.04, 0.0, 0.04], [0.04, -0.02, 0.04]])
def test_non_positive_size(tmp_path, size):
    message = _bad(tmp_path, _with(0, size=size))
    assert "object #0 'red_cube'" in message
    assert "field 'size'" in message


def test_non_numeric_size(tmp_path):
    message = _bad(tmp_path, _with(0, size=[0.04, "wide", 0.04]))
    assert "field 'size'" in message


@pytest.mark.parametrize(("field_name", "value"), [("position", [math.nan, 0.1]), ("yaw", math.inf),
                                                   ("size", [0.04, -math.inf, 0.04])])
def test_non_finite_numbers(tmp_path, field_name, value):
    message = _bad(tmp_path, _with(0, **{field_name: value}))
    assert "object #0 'red_cube'" in message
    assert f"field '{field_name}'" in message


def test_duplicate_names(tmp_path):
    message = _bad(tmp_path, _with(1, name="red_cube"))
    assert "object #1 'red_cube'" in message
    assert "field 'name'" in message
    assert "duplicate" in message


def test_overlapping_boxes(tmp_path):
    data = copy.deepcopy(VALID)
    data["objects"].append(dict(data["objects"][0], name="blue_cube", color="blue", position=[0.52, 0.13]))
    message = _bad(tmp_path, data)
    assert "object #2 'blue_cube'" in message
    assert "field 'position'" in message
    assert "overlaps object 'red_cube'" in message


def test_bowl_overlapping_a_box(tmp_path):
    message = _bad(tmp_path, _with(1, position=[0.45, 0.05]))
    assert "object #1 'blue_bowl'" in message
    assert "field 'position'" in message
    assert "overlaps object 'red_cube'" in message


@pytest.mark.parametrize("position", [[0.12, 0.05], [0.9, 0.6], [-0.3, 0.3]], ids=["near-base", "far", "behind"])
def test_arm_objects_out_of_reach_are_part_of_the_world(position):
    """Only the skills judge reach: a distractor no task touches may lie anywhere on the table."""
    scene = parse_scene(_with(0, position=position))
    assert scene.object("red_cube").position == tuple(position)


@pytest.mark.parametrize("position", [[1.2, 0.0], [0.5, -0.9], [0.94, 0.0]], ids=["beyond", "beside", "overhanging"])
def test_arm_object_off_the_table_is_refused(tmp_path, position):
    message = _bad(tmp_path, _with(0, position=position, yaw=0.0))
    assert "object #0 'red_cube'" in message
    assert "field 'position'" in message
    assert "off the table top (x -0.35..0.95 m, y -0.8..0.8 m)" in message


@pytest.mark.parametrize(("shape", "size"), [("box", [0.04, 0.04, 0.04]), ("pad", [0.05])])
def test_object_inside_the_arm_base_is_refused(tmp_path, shape, size):
    message = _bad(tmp_path, _with(0, shape=shape, size=size, position=[0.08, 0.0]))
    assert "object #0 'red_cube'" in message
    assert "field 'position'" in message
    assert "overlaps the arm's base" in message


def test_hand_objects_lie_anywhere_on_its_table(tmp_path):
    data = _with(0, position=[0.05, 0.35])  # beyond the wrist's travel, still on the table
    data["embodiment"] = "hand"
    data["objects"].pop()
    assert parse_scene(copy.deepcopy(data)).object("red_cube").position == (0.05, 0.35)
    data["objects"][0]["position"] = [0.05, 0.45]
    message = _bad(tmp_path, data)
    assert "object #0 'red_cube'" in message
    assert "field 'position'" in message
    assert "off the table top" in message


def _pad(position: list[float], shape: str = "pad", size: tuple[float, ...] = (0.3,)) -> dict:
    return {"name": "home", "shape": shape, "color": "green", "size": list(size), "position": position}


@pytest.mark.parametrize("position", [[0.0, 0.0], [0.1, 0.0], [0.4, 0.2]], ids=["centred", "off-centre", "edge"])
def test_a_pad_under_the_quadrotor_is_its_home_pad(position):
    scene = parse_scene({"embodiment": "quadrotor", "objects": [_pad(position)]})
    assert scene.object("home").position == tuple(position)


@pytest.mark.parametrize(("shape", "size"), [("box", (0.2, 0.2, 0.01)), ("cylinder", (0.1, 0.3)),
                                             ("bowl", (0.1, 0.05))])
def test_anything_but_a_pad_under_the_quadrotor_is_refused(tmp_path, shape, size):
    message = _bad(tmp_path, {"embodiment": "quadrotor", "objects": [_pad([0.1, 0.0], shape, size)]})
    assert "object #0 'home'" in message
    assert "field 'position'" in message
    assert "overlaps the quadrotor" in message
    assert "only a pad may lie under it" in message


def test_quadrotor_object_off_the_field_is_refused(tmp_path):
    message = _bad(tmp_path, {"embodiment": "quadrotor", "objects": [_pad([12.0, 0.0])]})
    assert "object #0 'home'" in message
    assert "field 'position'" in message
    assert "off the flying field" in message


def test_bad_seed(tmp_path):
    data = copy.deepcopy(VALID)
    data["seed"] = -1
    assert "field 'seed'" in _bad(tmp_path, data)


def test_not_yaml(tmp_path):
    assert "YAML" in _bad(tmp_path, "embodiment: [arm\n")


def test_object_not_a_mapping(tmp_path):
    data = copy.deepcopy(VALID)
    data["objects"][1] = "a bowl"
    assert "object #1" in _bad(tmp_path, data)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SceneFileError, match="nowhere.yaml"):
        load_scene(path)


def test_rotated_boxes_overlap_only_when_they_really_do():
    # Two 0.1 m squares 0.12 m apart: clear when aligned, touching corners when one turns 45 degrees.
    assert not overlaps(Rectangle(0.0, 0.0, 0.05, 0.05, 0.0), Rectangle(0.12, 0.0, 0.05, 0.05, 0.0))
    assert overlaps(Rectangle(0.0, 0.0, 0.05, 0.05, math.pi / 4), Rectangle(0.12, 0.0, 0.05, 0.05, 0.0))
    # A circle near a box corner: inside the bounding square but clear of the corner.
    assert not overlaps(Rectangle(0.0, 0.0, 0.05, 0.05, 0.0), Circle(0.07, 0.07, 0.025))
    assert overlaps(Rectangle(0.0, 0.0, 0.05, 0.05, 0.0), Circle(0.07, 0.0, 0.025))


def test_within_needs_the_whole_outline_inside():
    table = Rectangle(0.0, 0.0, 0.5, 0.5, 0.0)
    assert within(Circle(0.45, 0.0, 0.05), table)  # touching the edge
    assert not within(Circle(0.46, 0.0, 0.05), table)
    # A 0.1 m square at x = 0.44 fits aligned, but turned 45 degrees its corner reaches 0.51.
    assert within(Rectangle(0.44, 0.0, 0.05, 0.05, 0.0), table)
    assert not within(Rectangle(0.44, 0.0, 0.05, 0.05, math.pi / 4), table)
