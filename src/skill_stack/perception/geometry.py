"""Camera geometry for RGB-D perception: back-projection, projection, rigid transforms, the support plane.

Everything is vectorised over pixels: a 640x480 frame is 307 200 points, so a
per-pixel Python loop would cost seconds where numpy costs milliseconds.
Heights above the support plane are computed straight from the depth image
(`height_image`) without building a point cloud, because segmentation needs a
height for every pixel but 3D points only for the few thousand on objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from skill_stack.perception.types import CameraModel

WORLD_UP = np.array([0.0, 0.0, 1.0])


def pose_matrix(position, quaternion) -> np.ndarray:
    """4x4 homogeneous transform from a position and a unit quaternion (w, x, y, z)."""
    w, x, y, z = (float(v) for v in quaternion)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError(f'quaternion {list(quaternion)} is not a rotation')
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    matrix[:3, 3] = np.asarray(position, dtype=float).reshape(3)
    return matrix


def mounted_camera_pose(body_position, body_quaternion, body_from_camera: np.ndarray,
                        quaternion_tolerance: float = 0.01) -> np.ndarray:
    """world_from_camera of a camera fixed to a moving body: world_from_body @ body_from_camera.

    body_position, body_quaternion (w, x, y, z): the body's pose in the world, as odometry
    reports it; body_from_camera: the camera's optical frame in the body frame (4x4, the
    mount's calibration). A pose that is not finite, or a quaternion whose norm is off 1 by
    more than `quaternion_tolerance` (a broken estimator, not rounding), raises ValueError
    saying which.
    """
    position = np.asarray(body_position, dtype=float).reshape(-1)
    quaternion = np.asarray(body_quaternion, dtype=float).reshape(-1)
    if position.shape != (3,) or not np.all(np.isfinite(position)):
        raise ValueError(f'body position {position.tolist()} is not 3 finite numbers')
    if quaternion.shape != (4,) or not np.all(np.isfinite(quaternion)):
        raise ValueError(f'body orientation {quaternion.tolist()} is not 4 finite numbers (w, x, y, z)')
    norm = float(np.linalg.norm(quaternion))
    if abs(norm - 1.0) > quaternion_tolerance:
        raise ValueError(f'body orientation {quaternion.tolist()} is not a unit quaternion (norm {norm:.4g})')
    return pose_matrix(position, quaternion) @ np.asarray(body_from_camera, dtype=float)


def yaw_quaternion(yaw: float) -> np.ndarray:
    """[w, x, y, z] of a rotation by `yaw` about the world z axis."""
    return np.array([math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0)])


@lru_cache(maxsize=8)
def _normalised_grid(fx: float, fy: float, cx: float, cy: float, width: int, height: int):
    """(x/z per column, y/z per row) of the pinhole rays; cached because the camera rarely changes."""
    xn = ((np.arange(width, dtype=np.float32) - np.float32(cx)) / np.float32(fx))
    yn = ((np.arange(height, dtype=np.float32) - np.float32(cy)) / np.float32(fy))
    xn.setflags(write=False)
    yn.setflags(write=False)
    return xn, yn


def normalised_grid(camera: CameraModel) -> tuple[np.ndarray, np.ndarray]:
    """Per-column x/z and per-row y/z of the optical rays (float32, read-only)."""
    return _normalised_grid(float(camera.fx), float(camera.fy), float(camera.cx), float(camera.cy),
                            int(camera.width), int(camera.height))


def pixels_to_world(camera: CameraModel, rows: np.ndarray, cols: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """World points (N, 3) of the pixels (rows, cols) with depth along the optical axis (metres)."""
    xn, yn = normalised_grid(camera)
    z = depth.astype(np.float64)
    cam = np.stack([xn[cols] * z, yn[rows] * z, z], axis=1)
    pose = np.asarray(camera.world_from_camera, dtype=float)
    return cam @ pose[:3, :3].T + pose[:3, 3]


def project(camera: CameraModel, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (N, 2) of world points, and which of them lie in front of the camera and in the image."""
    points = np.atleast_2d(np.asarray(points, dtype=float))
    pose = np.asarray(camera.world_from_camera, dtype=float)
    cam = (points - pose[:3, 3]) @ pose[:3, :3]  # camera_from_world applied to row vectors
    z = cam[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        uv = np.stack([camera.fx * cam[:, 0] / z + camera.cx, camera.fy * cam[:, 1] / z + camera.cy], axis=1)
    inside = (z > 1e-6) & (uv[:, 0] >= -0.5) & (uv[:, 0] < camera.width - 0.5) \
        & (uv[:, 1] >= -0.5) & (uv[:, 1] < camera.height - 0.5)
    return uv, inside


def quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile (0..1) of a 1-D array by selection rather than sorting: cheap for many small calls."""
    k = round(q * (len(values) - 1))
    return float(np.partition(values, k)[k])


def fill_depth_holes(depth: np.ndarray, valid: np.ndarray, passes: int = 2, size: int = 5,
                     tolerance: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Depth with small holes filled, and the new validity mask.

    Real sensors drop pixels (glare, dark paint, stereo shadows); a hole inside
    an object would cut it in two. A missing pixel is filled where the valid
    depths around it (a `size` window) agree within `tolerance` - inside a
    surface, never across an edge between two. Each pass fills holes up to
    `size` - 1 pixels wide, for about 2 ms on a 640x480 frame.
    """
    kernel = np.ones((size, size), np.uint8)
    depth, valid = depth.copy(), valid.copy()
    for _ in range(passes):
        if valid.all():
            break
        nearest = cv2.erode(np.where(valid, depth, np.float32(np.inf)).astype(np.float32), kernel)
        furthest = cv2.dilate(np.where(valid, depth, np.float32(0.0)).astype(np.float32), kernel)
        fill = ~valid & np.isfinite(nearest) & (furthest - nearest < tolerance)
        if not fill.any():
            break
        depth[fill] = 0.5 * (nearest[fill] + furthest[fill])
        valid |= fill
    return depth, valid


@dataclass(frozen=True)
class Plane:
    """The plane n . p + d = 0 in the world frame, n a unit normal pointing up (away from the support)."""

    normal: np.ndarray
    offset: float
    inliers: int = 0
    rms: float = 0.0  # m, RMS distance of the inliers: the depth noise at the support

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of world points above the plane."""
        return np.asarray(points) @ self.normal + self.offset

    def height_at(self, x: float, y: float) -> float:
        """z of the plane above the world point (x, y) (the plane is never vertical here)."""
        n = self.normal
        return float(-(self.offset + n[0] * x + n[1] * y) / n[2])


def height_image(depth: np.ndarray, camera: CameraModel, plane: Plane) -> np.ndarray:
    """Height above `plane` of every pixel (float32), from depth alone.

    With p_world = R p_cam + t and p_cam = z (xn, yn, 1): n . p_world + d =
    z ((R^T n) . (xn, yn, 1)) + (n . t + d), one multiply-add per pixel.
    """
    pose = np.asarray(camera.world_from_camera, dtype=float)
    a, b, c = pose[:3, :3].T @ plane.normal
    e = float(plane.normal @ pose[:3, 3] + plane.offset)
    xn, yn = normalised_grid(camera)
    ray = np.float32(a) * xn[None, :] + (np.float32(b) * yn[:, None] + np.float32(c))
    return depth * ray + np.float32(e)


def fit_support_plane(points: np.ndarray, rng: np.random.Generator, threshold: float = 0.006,
                      iterations: int = 100, max_tilt_deg: float | None = 25.0,
                      sample_size: int = 800) -> Plane | None:
    """The dominant plane of `points` (N, 3) by RANSAC, refined by least squares on its inliers.

    Hypotheses are drawn all at once and scored on a random subset, so the cost
    does not grow with the cloud size. With the support covering a third of
    the view, 100 three-point draws all miss it with probability
    (1 - 1/27)^100 < 3%; covering half of it, < 2e-6. With `max_tilt_deg`,
    only planes whose normal is within that angle of world up are candidates:
    the support of a tabletop or the ground is horizontal, and walls or box
    sides must not win.
    """
    points = np.asarray(points, dtype=float)
    if len(points) < 3:
        return None
    subset = points[rng.integers(0, len(points), size=min(sample_size, len(points)))]
    triples = points[rng.integers(0, len(points), size=(iterations, 3))]
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    good = lengths > 1e-9
    normals, triples, lengths = normals[good], triples[good], lengths[good]
    normals /= lengths[:, None]
    normals *= np.where(normals[:, 2:3] < 0.0, -1.0, 1.0)  # up is positive z
    if max_tilt_deg is not None:
        upright = normals @ WORLD_UP >= math.cos(math.radians(max_tilt_deg))
        normals, triples = normals[upright], triples[upright]
    if len(normals) == 0:
        return None
    offsets = -np.einsum('ij,ij->i', normals, triples[:, 0])
    counts = np.count_nonzero(np.abs(subset @ normals.T + offsets) < threshold, axis=0)
    best = int(np.argmax(counts))
    normal, offset = normals[best], offsets[best]
    inliers = points[np.abs(points @ normal + offset) < threshold]
    if len(inliers) < 3:
        return None
    first = refine_plane(inliers, threshold, points)
    tight = points[np.abs(first.height(points)) < 0.6 * threshold]
    return refine_plane(tight, threshold, points) if len(tight) >= 3 else first


def refine_plane(inliers: np.ndarray, threshold: float, points: np.ndarray) -> Plane:
    """Least-squares plane through `inliers` (normal up), with its inlier count and RMS over `points`."""
    centre = inliers.mean(axis=0)
    centred = inliers - centre
    _, vectors = np.linalg.eigh(centred.T @ centred)  # the normal is the direction of least spread
    normal = vectors[:, 0] if vectors[2, 0] >= 0.0 else -vectors[:, 0]
    offset = -float(normal @ centre)
    distances = np.abs(points @ normal + offset)
    inlier = distances < threshold
    rms = float(np.sqrt(np.mean(distances[inlier] ** 2))) if inlier.any() else 0.0
    return Plane(normal=normal, offset=offset, inliers=int(inlier.sum()), rms=rms)
