"""Camera geometry: back-projection and projection agree, heights come straight from depth, RANSAC finds the table."""

import math

import numpy as np
import pytest

from skill_stack.perception.geometry import (
    Plane,
    fill_depth_holes,
    fit_support_plane,
    height_image,
    mounted_camera_pose,
    pixels_to_world,
    pose_matrix,
    project,
    quantile,
    yaw_quaternion,
)
from skill_stack.perception.types import CameraModel


def look_down_camera(height: float = 1.0, tilt_deg: float = 30.0, width: int = 64, height_px: int = 48
                     ) -> CameraModel:
    """A camera `height` above the origin, optical axis tilted `tilt_deg` from straight down towards +x."""
    tilt = math.radians(tilt_deg)
    # Optical frame: z forward (down and forward), x right (-y world), y down in the image.
    z_axis = np.array([math.sin(tilt), 0.0, -math.cos(tilt)])
    x_axis = np.array([0.0, -1.0, 0.0])
    y_axis = np.cross(z_axis, x_axis)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([x_axis, y_axis, z_axis])
    pose[:3, 3] = [0.0, 0.0, height]
    return CameraModel(fx=50.0, fy=50.0, cx=(width - 1) / 2, cy=(height_px - 1) / 2, width=width, height=height_px,
                       world_from_camera=pose)


def depth_of_floor(camera: CameraModel) -> np.ndarray:
    """Depth image of the plane z = 0 seen by `camera` (ray-plane intersection per pixel)."""
    v, u = np.mgrid[0:camera.height, 0:camera.width]
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones_like(u, float)], axis=-1)
    pose = camera.world_from_camera
    world_rays = rays @ pose[:3, :3].T
    depth = -pose[2, 3] / world_rays[..., 2]  # z along the optical axis, since rays have unit z
    return depth.astype(np.float32)


def test_pose_matrix_of_identity_and_yaw():
    assert pose_matrix([1, 2, 3], [1, 0, 0, 0]) == pytest.approx(
        np.array([[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], float))
    rotation = pose_matrix([0, 0, 0], yaw_quaternion(math.pi / 2))[:3, :3]
    assert rotation @ [1.0, 0.0, 0.0] == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)
    with pytest.raises(ValueError, match="not a rotation"):
        pose_matrix([0, 0, 0], [0, 0, 0, 0])


def test_mounted_camera_pose_is_body_pose_then_mount():
    """world_from_camera = world_from_body @ body_from_camera, checked on points, not on the formula."""
    # A camera 0.1 m ahead of the body origin looking straight down, image up = body forward.
    body_from_camera = np.array([[0.0, -1.0, 0.0, 0.1], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0],
                                 [0.0, 0.0, 0.0, 1.0]])
    # The body 2 m up at (1, 2), turned 90 degrees left: body forward is world +y.
    pose = mounted_camera_pose([1.0, 2.0, 2.0], yaw_quaternion(math.pi / 2), body_from_camera)
    assert pose[:3, 3] == pytest.approx([1.0, 2.1, 2.0])  # 0.1 m ahead of the body, along world +y
    assert pose[:3, 2] == pytest.approx([0.0, 0.0, -1.0], abs=1e-12)  # still looking down
    assert pose[:3, :3] @ [0.0, -1.0, 0.0] == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)  # image up = body forward
    # A point 1.5 m along the optical axis is 1.5 m straight below the lens.
    point = pose @ [0.0, 0.0, 1.5, 1.0]
    assert point[:3] == pytest.approx([1.0, 2.1, 0.5])
    # The identity body pose leaves the mount as it is; a body rolled 90 degrees turns the view sideways.
    assert mounted_camera_pose([0, 0, 0], [1, 0, 0, 0], body_from_camera) == pytest.approx(body_from_camera)
    roll = [math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0]
    assert mounted_camera_pose([0, 0, 0], roll, body_from_camera)[:3, 2] == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)


@pytest.mark.parametrize(('position', 'quaternion', 'message'), [
    ([float('nan'), 0.0, 1.0], [1.0, 0.0, 0.0, 0.0], 'body position'),
    ([0.0, 0.0, float('inf')], [1.0, 0.0, 0.0, 0.0], 'body position'),
    ([0.0, 0.0], [1.0, 0.0, 0.0, 0.0], 'body position'),
    ([0.0, 0.0, 1.0], [float('nan'), 0.0, 0.0, 0.0], 'not 4 finite numbers'),
    ([0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], 'not a unit quaternion'),
    ([0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 0.0], 'not a unit quaternion'),
])
def test_mounted_camera_pose_refuses_what_is_no_pose(position, quaternion, message):
    with pytest.raises(ValueError, match=message):
        mounted_camera_pose(position, quaternion, np.eye(4))


def test_back_projection_and_projection_are_inverse():
    camera = look_down_camera()
    rows, cols = np.array([0, 10, 47, 20]), np.array([0, 30, 63, 5])
    depth = np.array([1.0, 1.2, 0.8, 2.0])
    points = pixels_to_world(camera, rows, cols, depth)
    uv, inside = project(camera, points)
    assert inside.all()
    assert uv == pytest.approx(np.column_stack([cols, rows]).astype(float), abs=1e-4)  # float32 ray grid
    _, inside = project(camera, np.array([[0.0, 0.0, 2.0]]))  # above and behind the camera
    assert not inside[0]


def test_height_image_matches_the_plane_distance_of_back_projected_points():
    camera = look_down_camera()
    depth = depth_of_floor(camera) - 0.05  # everything 5 cm nearer than the floor along the optical axis
    plane = Plane(normal=np.array([0.0, 0.0, 1.0]), offset=0.0)
    heights = height_image(depth, camera, plane)
    rows, cols = np.nonzero(np.ones_like(depth, bool))
    expected = plane.height(pixels_to_world(camera, rows, cols, depth[rows, cols]))
    assert heights.reshape(-1) == pytest.approx(expected, abs=1e-5)
    assert height_image(depth_of_floor(camera), camera, plane) == pytest.approx(0.0, abs=1e-5)


def test_ransac_finds_the_table_among_clutter_and_ignores_a_wall():
    rng = np.random.default_rng(3)
    table = np.column_stack([rng.uniform(-1, 1, 3000), rng.uniform(-1, 1, 3000), 0.75 + rng.normal(0, 0.001, 3000)])
    wall = np.column_stack([np.full(4000, 1.0), rng.uniform(-1, 1, 4000), rng.uniform(0, 2, 4000)])  # larger
    clutter = rng.uniform([-1, -1, 0.75], [1, 1, 1.0], size=(800, 3))
    plane = fit_support_plane(np.vstack([table, wall, clutter]), rng)
    assert plane is not None
    assert plane.normal == pytest.approx([0.0, 0.0, 1.0], abs=0.01)
    assert plane.height_at(0.2, -0.3) == pytest.approx(0.75, abs=0.002)
    assert plane.inliers >= 2900
    assert plane.rms == pytest.approx(0.001, abs=0.0007)
    # Without the tilt limit the bigger wall wins; with it, nothing vertical is a support.
    assert fit_support_plane(wall, rng) is None
    free = fit_support_plane(np.vstack([table, wall]), rng, max_tilt_deg=None)
    assert abs(free.normal[0]) == pytest.approx(1.0, abs=0.01)


def test_quantile_matches_numpy_on_order_statistics():
    values = np.random.default_rng(0).normal(size=1001)
    for q in (0.0, 0.01, 0.5, 0.995, 1.0):
        assert quantile(values, q) == pytest.approx(np.quantile(values, q, method='nearest'))


def test_small_holes_are_filled_inside_a_surface_but_not_across_an_edge():
    depth = np.full((20, 30), 1.0, np.float32)
    depth[:, 15:] = 0.8  # a step of 20 cm
    valid = np.ones(depth.shape, bool)
    valid[5:8, 3:6] = False  # a hole inside the far surface
    valid[10:12, 14:16] = False  # a hole on the edge
    filled, now_valid = fill_depth_holes(np.where(valid, depth, 0.0).astype(np.float32), valid, passes=2)
    assert now_valid[5:8, 3:6].all()
    assert filled[5:8, 3:6] == pytest.approx(1.0)
    assert not now_valid[10:12, 14:16].any()
    untouched, _ = fill_depth_holes(depth, np.ones(depth.shape, bool))
    assert np.array_equal(untouched, depth)
