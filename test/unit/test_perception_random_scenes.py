"""Random scenes for the perception benchmark: valid, varied, and the same for the same seed; the bench scores."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import math

import numpy as np
import pytest

from skill_stack.perception import bench
from skill_stack.sim.footprint import footprint
from skill_stack.sim.random_scenes import MIN_SIZE, random_scene, random_scenes
from skill_stack.sim.scene_file import COLORS, SHAPES, parse_scene


def as_mapping(spec):
    return {'embodiment': spec.embodiment, 'seed': spec.seed,
            'objects': [{'name': o.name, 'shape': o.shape, 'color': o.color, 'size': list(o.size),
                         'position': list(o.position), 'yaw': o.yaw} for o in spec.objects]}


def test_scenes_are_valid_varied_and_within_the_limits():
    scenes = random_scenes(60, seed=5)
    assert [s.embodiment for s in scenes[:4]] == ['arm', 'hand', 'arm', 'hand']
    shapes, colors = set(), set()
    for spec in scenes:
        assert parse_scene(as_mapping(spec), source=spec.source) == spec  # a scene file of it loads back the same
        assert 2 <= len(spec.objects) <= 6
        for obj in spec.objects:
            shapes.add(obj.shape)
            colors.add(obj.color)
            dimensions = list(obj.size) if obj.shape == 'box' else [2 * obj.size[0], *obj.size[1:]]  # diameters
            assert min(dimensions) >= MIN_SIZE - 1e-3, obj
            assert -math.pi <= obj.yaw <= math.pi
    assert shapes == set(SHAPES)
    assert colors == set(COLORS)


def test_the_same_seed_gives_the_same_scenes_and_another_seed_others():
    assert random_scenes(5, seed=1) == random_scenes(5, seed=1)
    assert random_scenes(5, seed=1) != random_scenes(5, seed=2)


def test_objects_keep_their_distance():
    rng = np.random.default_rng(0)
    for _ in range(20):
        spec = random_scene(rng, 'arm', min_objects=6, max_objects=6, min_gap=0.03)
        circles = [footprint(o) for o in spec.objects if o.shape != 'box']
        for i, a in enumerate(circles):
            for b in circles[i + 1:]:
                assert math.hypot(a.x - b.x, a.y - b.y) >= a.radius + b.radius + 0.03 - 1e-9


def test_bad_requests_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match='quadrotor'):
        random_scene(rng, 'quadrotor')
    with pytest.raises(ValueError, match='min_objects'):
        random_scene(rng, 'arm', min_objects=4, max_objects=2)


def test_the_bench_scores_a_few_scenes():
    figures = bench.run(scenes=2, seed=0)
    assert figures['scenes'] == 2
    assert figures['objects'] >= 4
    assert figures['recall'] >= 0.75
    assert figures['position_error_m_median'] < 0.01
    assert 0.0 <= figures['shape_accuracy'] <= 1.0
    assert 0.0 <= figures['color_accuracy'] <= 1.0
    assert figures['latency_ms_median'] > 0.0
    assert isinstance(figures['errors'], dict)


def test_matching_pairs_the_nearest_within_the_gate():
    truth = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    found = np.array([[1.01, 0.0, 0.0], [5.0, 0.0, 0.0], [0.02, 0.0, 0.0]])
    assert sorted(bench.match(truth, found)) == [(0, 2), (1, 0)]
    assert bench.match(truth, np.zeros((0, 3))) == []
