"""Shape naming, pose and size from the points a camera sees of an object, on synthetic surfaces."""

import math

import numpy as np
import pytest

from skill_stack.perception.geometry import Plane
from skill_stack.perception.shapes import (
    ImageEvidence,
    estimate_shape,
    fit_circle,
    fit_resting_sphere,
    rectangle_residual,
)
from skill_stack.perception.visibility import ON_SURFACE, SEEN_THROUGH

TABLE = Plane(normal=np.array([0.0, 0.0, 1.0]), offset=0.0)
CAMERA = np.array([1.25, 0.0, 1.0])  # where the arm scene's camera stands
STEP = 0.002  # m between surface samples, about a pixel at a metre


def visible(points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The points of a convex surface that face the camera."""
    return points[np.einsum('ij,ij->i', normals, CAMERA - points) > 0.0]


def grid(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    u, v = np.meshgrid(np.arange(-a, a + 1e-9, STEP), np.arange(-b, b + 1e-9, STEP))
    return u.ravel(), v.ravel()


def box(centre_xy, size, yaw=0.0) -> np.ndarray:
    hx, hy, h = size[0] / 2, size[1] / 2, size[2]
    faces = []
    for axis, sign in ((0, 1), (0, -1), (1, 1), (1, -1)):
        half = (hx, hy)[axis]
        u, z = grid((hy, hx)[axis], h / 2)
        local = np.zeros((len(u), 3))
        local[:, axis], local[:, 1 - axis], local[:, 2] = sign * half, u, z + h / 2
        normal = np.zeros((len(u), 3))
        normal[:, axis] = sign
        faces.append((local, normal))
    u, v = grid(hx, hy)
    faces.append((np.column_stack([u, v, np.full(len(u), h)]), np.tile([0.0, 0.0, 1.0], (len(u), 1))))
    c, s = math.cos(yaw), math.sin(yaw)
    rotation = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    points = np.vstack([f[0] for f in faces]) @ rotation.T + np.array([*centre_xy, 0.0])
    normals = np.vstack([f[1] for f in faces]) @ rotation.T
    return visible(points, normals)


def cylinder(centre_xy, radius, height) -> np.ndarray:
    theta, z = np.meshgrid(np.arange(0, 2 * math.pi, STEP / radius), np.arange(0, height, STEP))
    side = np.column_stack([radius * np.cos(theta.ravel()), radius * np.sin(theta.ravel()), z.ravel()])
    side_normals = side * [1, 1, 0] / radius
    u, v = grid(radius, radius)
    inside = u ** 2 + v ** 2 <= radius ** 2
    top = np.column_stack([u[inside], v[inside], np.full(inside.sum(), height)])
    points = np.vstack([side, top]) + np.array([*centre_xy, 0.0])
    normals = np.vstack([side_normals, np.tile([0.0, 0.0, 1.0], (len(top), 1))])
    return visible(points, normals)


def sphere(centre_xy, radius) -> np.ndarray:
    count = int(4 * math.pi * radius ** 2 / STEP ** 2)
    directions = np.random.default_rng(0).normal(size=(count, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return visible(directions * radius + np.array([*centre_xy, radius]), directions)


def bowl(centre_xy, radius, height) -> np.ndarray:
    """What the camera sees of an open bowl: its rim ring, outer front wall, inner back wall and floor."""
    floor_radius = 0.6 * radius
    theta, t = np.meshgrid(np.arange(0, 2 * math.pi, STEP / radius), np.arange(0.0, 1.0, STEP / height))
    theta, t = theta.ravel(), t.ravel()
    r = floor_radius + (radius - floor_radius) * t
    wall = np.column_stack([r * np.cos(theta), r * np.sin(theta), t * height])
    towards_camera = np.cos(theta) > 0  # outer wall faces +x (the camera), inner wall seen on the far side
    u, v = grid(floor_radius, floor_radius)
    far_floor = (u ** 2 + v ** 2 <= floor_radius ** 2) & (u < 0)  # the near floor hides behind the front rim
    floor = np.column_stack([u[far_floor], v[far_floor], np.full(far_floor.sum(), 0.004)])
    return np.vstack([wall[towards_camera], wall[~towards_camera], floor]) + np.array([*centre_xy, 0.0])


def pad(centre_xy, radius) -> np.ndarray:
    u, v = grid(radius, radius)
    inside = u ** 2 + v ** 2 <= radius ** 2
    return np.column_stack([u[inside], v[inside], np.full(inside.sum(), 0.005)]) + np.array([*centre_xy, 0.0])


def test_a_box_gives_its_centre_yaw_and_size():
    shape = estimate_shape(box((0.45, 0.1), (0.06, 0.03, 0.04), yaw=0.4), TABLE)
    assert shape.label == 'box'
    assert shape.center == pytest.approx([0.45, 0.1, 0.02], abs=0.002)
    assert shape.extent == pytest.approx([0.06, 0.03, 0.04], abs=0.003)
    assert shape.yaw == pytest.approx(0.4, abs=0.03)


def test_a_cylinder_a_sphere_a_bowl_and_a_pad():
    cases = {'cylinder': (cylinder((0.3, -0.2), 0.025, 0.07), [0.3, -0.2, 0.035], [0.05, 0.05, 0.07]),
             'sphere': (sphere((0.55, 0.0), 0.025), [0.55, 0.0, 0.025], [0.05, 0.05, 0.05]),
             'bowl': (bowl((0.4, 0.2), 0.08, 0.05), [0.4, 0.2, 0.025], [0.16, 0.16, 0.05]),
             'pad': (pad((0.3, 0.0), 0.06), [0.3, 0.0, 0.0025], [0.12, 0.12, 0.005])}
    for label, (points, centre, extent) in cases.items():
        shape = estimate_shape(points, TABLE)
        assert shape.label == label
        assert shape.center == pytest.approx(centre, abs=0.003), label
        assert shape.extent == pytest.approx(extent, abs=0.004), label
        assert 0.0 < shape.confidence <= 1.0


def test_a_can_as_tall_as_it_is_wide_is_not_a_ball():
    assert estimate_shape(cylinder((0.5, 0.0), 0.02, 0.04), TABLE).label == 'cylinder'
    assert estimate_shape(sphere((0.5, 0.0), 0.02), TABLE).label == 'sphere'


def test_shapes_survive_depth_noise_of_a_real_sensor():
    rng = np.random.default_rng(1)
    noisy_table = Plane(normal=TABLE.normal, offset=0.0, rms=0.0015)
    for label, points in (('sphere', sphere((0.5, 0.1), 0.02)), ('cylinder', cylinder((0.5, 0.1), 0.02, 0.04)),
                          ('box', box((0.5, 0.1), (0.04, 0.04, 0.04), yaw=0.2))):
        shape = estimate_shape(points + rng.normal(0.0, 0.0015, points.shape), noisy_table)
        assert shape.label == label
        assert shape.center[:2] == pytest.approx([0.5, 0.1], abs=0.004)


def test_a_pad_half_hidden_is_still_round_and_centred():
    points = pad((0.3, 0.0), 0.05)
    seen = points[points[:, 1] > 0.0]  # a finger hides the right half
    angles = np.linspace(0.05, math.pi - 0.05, 60)
    outline = np.column_stack([0.3 + 0.05 * np.cos(angles), 0.05 * np.sin(angles), np.full(60, 0.005)])
    plain = estimate_shape(seen, TABLE)
    assert plain.label == 'box'  # a half disc fills its rectangle: fill ratios alone are fooled
    shape = estimate_shape(seen, TABLE, evidence=ImageEvidence(outline=outline, occluded_share=0.5))
    assert shape.label == 'pad'
    assert shape.center[:2] == pytest.approx([0.3, 0.0], abs=0.002)
    assert shape.radius == pytest.approx(0.05, abs=0.002)


def test_free_space_over_the_middle_decides_concavity():
    points = cylinder((0.4, 0.0), 0.04, 0.05)

    def see_through(world):
        return np.full(len(world), SEEN_THROUGH)

    def surface(world):
        return np.full(len(world), ON_SURFACE)

    assert estimate_shape(points, TABLE, evidence=ImageEvidence(visibility=see_through)).label == 'bowl'
    assert estimate_shape(points, TABLE, evidence=ImageEvidence(visibility=surface)).label == 'cylinder'
    hollow = bowl((0.4, 0.0), 0.06, 0.04)
    assert estimate_shape(hollow, TABLE, evidence=ImageEvidence(visibility=see_through)).label == 'bowl'


def test_fits():
    angles = np.linspace(0, 2 * math.pi, 50, endpoint=False)
    circle = np.column_stack([1 + 0.2 * np.cos(angles), -2 + 0.2 * np.sin(angles)])
    centre, radius, rms = fit_circle(circle)
    assert centre == pytest.approx([1.0, -2.0])
    assert radius == pytest.approx(0.2)
    assert rms < 1e-9
    square = np.vstack([np.column_stack([np.linspace(0, 1, 20), np.zeros(20)]),
                        np.column_stack([np.ones(20), np.linspace(0, 1, 20)])])  # two sides of a square
    assert rectangle_residual(square) < 1e-9 < rectangle_residual(circle)
    centre, radius, rms = fit_resting_sphere(sphere((0.1, 0.2), 0.03) * [1, 1, 1])
    assert centre == pytest.approx([0.1, 0.2, 0.03], abs=1e-6)
    assert radius == pytest.approx(0.03)
    assert rms < 1e-9


def test_too_few_points_is_no_shape():
    assert estimate_shape(np.zeros((5, 3)), TABLE) is None
