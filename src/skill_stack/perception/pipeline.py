"""The embedded perception core: one RGB-D frame and a camera model in, a scene of objects out.

No model weights and no simulator knowledge: it works the same on rendered and
on real tabletop frames. The steps, each in its own module:

1. check the input, and say what is wrong in `PerceivedScene.status` instead
   of raising;
2. find the support (table or ground) plane by RANSAC on a sparse grid of
   back-projected pixels (geometry);
3. segment what stands on it, from height above the plane and depth
   discontinuities, plus flat things that differ in colour (segmentation);
4. keep what rests on the support: pieces of one object cut apart by an
   occluder or by its own rim are joined (grouping, visibility); what floats
   (the robot's arm or fingers), what is taller than any tabletop object, and
   what lies in a keep-out volume is dropped;
5. per object: colour name (colors), shape, pose and extent (shapes, with the
   outline actually seen and free space from visibility), keypoints
   (keypoints) and affordances (affordances).

The robot in the image: nothing here knows which pixels are the robot, so it
is excluded by what objects are not - they rest on the support and are at most
`max_object_height` tall, while the arm's links and the hand's fingers hang
above it. What does stand on the support, the arm's base column, is declared
as a keep-out cylinder (`PerceptionConfig.for_embodiment("arm")`: the arm's
base is the world origin by definition). A caller that knows more, for
example from rendering the robot model at its joint states (a robot self
filter), passes `exclude_mask`. An object held in the gripper does not rest on
the table and is not reported.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from skill_stack.perception.affordances import affordances
from skill_stack.perception.colors import SurfaceColor, name_color
from skill_stack.perception.geometry import (
    Plane,
    fill_depth_holes,
    fit_support_plane,
    height_image,
    pixels_to_world,
    quantile,
    refine_plane,
    yaw_quaternion,
)
from skill_stack.perception.grouping import Piece, join_pieces, rests
from skill_stack.perception.keypoints import object_keypoints
from skill_stack.perception.segmentation import SegmentationParams, segment
from skill_stack.perception.shapes import ImageEvidence, ShapeParams, estimate_shape
from skill_stack.perception.types import CameraModel, PerceivedObject, PerceivedScene
from skill_stack.perception.visibility import Frame, free_space, seen_outline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeepOut:
    """A vertical cylinder in the world frame where nothing is an object (the robot's own fixed parts)."""

    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class PerceptionConfig:
    """Everything the core can be tuned by; the defaults suit a D435-class camera over a table."""

    min_range: float = 0.1  # m: nearer depth is invalid (D435 minimum)
    max_range: float = 4.0  # m: further depth is too noisy on a real sensor to use
    hole_fill_passes: int = 0  # real sensors: 1-2 fill depth holes up to 4 px wide per pass (~2 ms each)
    plane_threshold: float = 0.006  # m: RANSAC inlier distance
    plane_max_tilt_deg: float | None = 25.0  # the support is horizontal in the world frame (None: any plane)
    plane_stride: int = 6  # fit the plane on every n-th pixel in each direction
    min_plane_inliers: int = 200  # fewer and there is no support plane in view
    max_object_height: float = 0.30  # m: anything taller is the robot or furniture, not a tabletop object
    rest_tolerance: float = 0.02  # m: an object's lowest seen point is this near the plane (or in its lower half)
    merge_distance: float = 0.006  # m: pieces of the same colour this close in 3D are one object
    bridge_distance: float = 0.08  # m: ... and this close when what hides the gap is no object (a finger)
    flat_min_height: float = 0.002  # m: a flat thing (pad) stands at least this proud of the plane
    keep_out: tuple[KeepOut, ...] = ()
    segmentation: SegmentationParams = field(default_factory=SegmentationParams)
    shapes: ShapeParams = field(default_factory=ShapeParams)
    gripper_width: float = 0.085  # m, for the graspable score
    seed: int = 0  # RANSAC draws; the same frame always gives the same scene

    @classmethod
    def for_embodiment(cls, embodiment: str, **overrides) -> PerceptionConfig:
        """Defaults for a robot of the scene contract.

        Arm: its base column (at the origin) is kept out. 0.10 m covers the
        arm's 0.065 m base and the joint housings above it. The scene contract
        keeps object centres 0.2 m from the base; a large object reaching
        within 0.10 m of it would lose the part inside.

        Quadrotor: its body camera looks down at the ground from 1-3 m, two to
        three times as far as a tabletop camera, and depth noise grows with
        the square of the range, so bare ground far off rises above the
        tabletop's 8 mm `min_height` in specks. Over 40-60 random hovers at
        1-3 m (pads 0.05-0.3 m, tilts to 15 degrees) with Gaussian depth noise
        of 0.001-0.002 z^2 m (1-2 mm at 1 m, 9-18 mm at 3 m), 8 mm gave 7-9
        pads taken for boxes or bowls and up to 600 false objects; 20 mm gave
        no false object and at most 1 wrong label. Pads (5 mm) are found by
        colour either way; on the simulator's noiseless frames both find every
        pad within 1.5 mm.
        """
        if embodiment == 'arm':
            overrides.setdefault('keep_out', (KeepOut(0.0, 0.0, 0.10),))
        elif embodiment == 'quadrotor':
            overrides.setdefault('segmentation', SegmentationParams(min_height=0.02))
        elif embodiment != 'hand':
            raise ValueError(f"unknown embodiment {embodiment!r}, expected arm, hand or quadrotor")
        return cls(**overrides)


class ScenePerception:
    """RGB-D frame -> PerceivedScene, with the support plane, objects, keypoints and affordances.

    Keeps only the last support plane between frames (to skip RANSAC while the
    camera stands still); one instance serves one camera, one frame at a time.
    """

    def __init__(self, config: PerceptionConfig | None = None):
        self.config = config or PerceptionConfig()
        self._last: tuple[Plane, np.ndarray] | None = None  # plane and camera pose of the last frame


    def perceive(self, rgb: np.ndarray, depth: np.ndarray, camera: CameraModel,
                 exclude_mask: np.ndarray | None = None, stamp: float = 0.0) -> PerceivedScene:
        """Objects resting on the support, in the world frame; a status sentence instead of an exception.

        rgb: HxWx3 uint8; depth: HxW metres along the optical axis (float; 0 or NaN = invalid;
        uint16 is read as millimetres); exclude_mask: optional HxW bool, True where the caller
        knows there is no object (the robot).
        """
        problem = _check_input(rgb, depth, camera, exclude_mask)
        if problem:
            logger.debug('bad frame: %s', problem)
            return PerceivedScene(objects=[], status=problem, stamp=stamp)
        config = self.config
        depth = depth.astype(np.float32) / 1000.0 if depth.dtype == np.uint16 else depth.astype(np.float32)
        with np.errstate(invalid='ignore'):
            valid = np.isfinite(depth) & (depth > config.min_range) & (depth < config.max_range)
        if not valid.any():
            return PerceivedScene(objects=[], stamp=stamp, status=(
                f'depth has no valid pixels (all zero, NaN or outside {config.min_range}-{config.max_range} m)'))
        depth = np.where(valid, depth, np.float32(0.0))
        if config.hole_fill_passes:
            depth, valid = fill_depth_holes(depth, valid, config.hole_fill_passes)

        plane, surface = self._support(rgb, depth, valid, camera)
        if plane is None:
            return PerceivedScene(objects=[], stamp=stamp, status='no support plane (table or ground) in view')
        frame = Frame(depth=depth, valid=valid, heights=height_image(depth, camera, plane), camera=camera,
                      min_height=config.segmentation.min_height)
        differs = None
        if surface is not None:
            # Up to twice min_height: depth noise lifts pixels of a pad above min_height here and there.
            differs = surface.differs(rgb, valid & (np.abs(frame.heights) < 2.0 * config.segmentation.min_height))
        exclude = self._keep_out_mask(frame, differs, exclude_mask)
        segments = segment(rgb, depth, frame.heights, valid, differs, exclude, config.segmentation)
        pieces = join_pieces(self._pieces(segments, rgb, frame), frame, config.merge_distance,
                             config.bridge_distance, config.rest_tolerance)
        objects = [obj for obj in (self._describe(piece, rgb, frame, plane) for piece in pieces) if obj is not None]
        objects.sort(key=lambda o: (round(float(o.position[0]), 3), round(float(o.position[1]), 3)))
        for index, obj in enumerate(objects):
            obj.id = f'obj_{index}'
        status = 'ok' if objects else 'no objects on the support surface'
        return PerceivedScene(objects=objects, status=status, stamp=stamp,
                              support_height=plane.height_at(*camera_look_point(camera, plane)))

    # --- steps ---------------------------------------------------------------------------------

    def _support(self, rgb, depth, valid, camera) -> tuple[Plane | None, SurfaceColor | None]:
        """The support plane from a sparse pixel grid, and the colour of its surface.

        A fixed camera sees the same table frame after frame, so the last plane
        is tried first: if it still explains as much of the grid as when it was
        found, RANSAC is skipped (one least-squares step keeps it exact).
        """
        config = self.config
        stride = max(1, int(config.plane_stride))
        rows, cols = np.nonzero(valid[::stride, ::stride])
        rows, cols = rows * stride, cols * stride
        if len(rows) < config.min_plane_inliers:
            return None, None
        points = pixels_to_world(camera, rows, cols, depth[rows, cols])
        pose = np.asarray(camera.world_from_camera, float)
        plane = self._reuse_plane(points, pose)
        if plane is None:
            plane = fit_support_plane(points, np.random.default_rng(config.seed), config.plane_threshold,
                                      max_tilt_deg=config.plane_max_tilt_deg)
        if plane is None or plane.inliers < config.min_plane_inliers:
            self._last = None
            return None, None
        if plane.height(pose[:3, 3]) <= 0.0:
            self._last = None
            return None, None  # a ceiling: the camera must look down at what things rest on
        self._last = (plane, pose)
        on_surface = np.abs(plane.height(points)) < 0.5 * config.plane_threshold
        return plane, SurfaceColor.fit(rgb[rows[on_surface], cols[on_surface]])

    def _reuse_plane(self, points: np.ndarray, pose: np.ndarray) -> Plane | None:
        """The last frame's plane, refined, if the camera has not moved and it still holds as many points."""
        if self._last is None or not np.array_equal(self._last[1], pose):
            return None
        last = self._last[0]
        threshold = self.config.plane_threshold
        inliers = points[np.abs(last.height(points)) < threshold]
        if len(inliers) < max(self.config.min_plane_inliers, 0.9 * last.inliers):
            return None
        return refine_plane(inliers, threshold, points)

    def _keep_out_mask(self, frame: Frame, differs, exclude_mask) -> np.ndarray | None:
        """The caller's mask plus candidate object pixels that fall in a keep-out cylinder."""
        exclude = None if exclude_mask is None else np.asarray(exclude_mask, bool).copy()
        if not self.config.keep_out:
            return exclude
        candidates = frame.valid & (frame.heights > self.config.segmentation.min_height)
        if differs is not None:
            candidates |= differs
        above = np.flatnonzero(candidates)
        if len(above) == 0:
            return exclude
        rows, cols = np.divmod(above, frame.depth.shape[1])
        xy = pixels_to_world(frame.camera, rows, cols, frame.depth[rows, cols])[:, :2]
        inside = np.zeros(len(above), bool)
        for zone in self.config.keep_out:
            inside |= np.hypot(xy[:, 0] - zone.x, xy[:, 1] - zone.y) < zone.radius
        if exclude is None:
            exclude = np.zeros(frame.depth.shape, bool)
        exclude.reshape(-1)[above[inside]] = True
        return exclude

    def _pieces(self, segments, rgb, frame: Frame) -> list[Piece]:
        """3D points and colour of each segment; drops what is too tall to be an object."""
        pieces = []
        width = frame.depth.shape[1]
        for seg in segments:
            h = frame.heights[seg.rows, seg.cols]
            if quantile(h, 0.99) > self.config.max_object_height:
                continue
            points = pixels_to_world(frame.camera, seg.rows, seg.cols, frame.depth[seg.rows, seg.cols])
            color, _ = name_color(rgb[seg.rows, seg.cols])
            pieces.append(Piece([seg], points, h, seg.rows * width + seg.cols, color, seg.flat))
        return pieces

    def _evidence(self, piece: Piece, frame: Frame) -> ImageEvidence:
        """The image's say on a piece's shape: its outline where seen, and free space where asked."""
        reach = self.config.segmentation.flat_margin + 2 if piece.flat else 2
        outline, occluded = seen_outline(frame, piece.pixel_index, reach)
        own = np.sort(piece.pixel_index)
        margin = max(0.006, 0.2 * quantile(piece.heights, 0.995))

        def visibility(points: np.ndarray) -> np.ndarray:
            return free_space(frame, points, own=own, margin=margin)[0]

        return ImageEvidence(outline=outline, occluded_share=occluded, visibility=visibility)

    def _describe(self, piece: Piece, rgb, frame: Frame, plane: Plane) -> PerceivedObject | None:
        """The object a piece is, or None when it does not rest on the support or is not an object."""
        config = self.config
        if len(piece.points) < config.segmentation.min_pixels:
            return None
        if not rests(piece.heights, config.rest_tolerance):
            return None  # floats above the support: the robot's arm or fingers
        if piece.flat and float(np.median(piece.heights)) < config.flat_min_height:
            return None  # a mark or shadow on the surface, not a thing on it
        try:
            shape = estimate_shape(piece.points, plane, flat=piece.flat, params=config.shapes,
                                   evidence=self._evidence(piece, frame))
        except (cv2.error, np.linalg.LinAlgError, ValueError) as err:
            logger.debug('shape estimation failed on a segment of %d points: %s', len(piece.points), err)
            return None
        if shape is None:
            return None
        rows, cols = np.divmod(piece.pixel_index, frame.depth.shape[1])
        color, color_confidence = name_color(rgb[rows, cols])
        truncated = any(s.touches_border for s in piece.segments)
        support = min(1.0, len(piece.points) / 150.0)
        confidence = shape.confidence * math.sqrt(max(color_confidence, 0.0)) * support * (0.5 if truncated else 1.0)
        return PerceivedObject(
            id='', label=shape.label, color=color, position=shape.center,
            quaternion=yaw_quaternion(shape.yaw), extent=shape.extent, confidence=float(confidence),
            keypoints=object_keypoints(shape, plane, frame.camera),
            affordances=affordances(shape.label, shape.extent, config.gripper_width),
            bbox=(int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())), num_points=len(rows))


_DEFAULT = ScenePerception()


def perceive(rgb: np.ndarray, depth: np.ndarray, camera: CameraModel, exclude_mask: np.ndarray | None = None,
             stamp: float = 0.0, config: PerceptionConfig | None = None) -> PerceivedScene:
    """One frame with the default configuration (or `config`); see `ScenePerception.perceive`."""
    runner = _DEFAULT if config is None else ScenePerception(config)
    return runner.perceive(rgb, depth, camera, exclude_mask=exclude_mask, stamp=stamp)


def camera_look_point(camera: CameraModel, plane: Plane) -> tuple[float, float]:
    """World (x, y) where the optical axis meets the plane, or below the camera if it looks away from it."""
    pose = np.asarray(camera.world_from_camera, float)
    origin, axis = pose[:3, 3], pose[:3, 2]
    denominator = float(plane.normal @ axis)
    if abs(denominator) > 1e-6:
        t = -(plane.height(origin)) / denominator
        if t > 0:
            point = origin + t * axis
            return float(point[0]), float(point[1])
    return float(origin[0]), float(origin[1])


def _check_input(rgb, depth, camera, exclude_mask) -> str | None:
    """Why this frame cannot be used, or None."""
    if not isinstance(camera, CameraModel):
        return f'camera model missing (got {type(camera).__name__})'
    problem = camera.validate()
    if problem:
        return problem
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        got = f'{rgb.dtype} {rgb.shape}' if isinstance(rgb, np.ndarray) else type(rgb).__name__
        return f'colour image must be HxWx3 uint8, got {got}'
    if not isinstance(depth, np.ndarray) or depth.ndim != 2 or not (
            np.issubdtype(depth.dtype, np.floating) or depth.dtype == np.uint16):
        got = f'{depth.dtype} {depth.shape}' if isinstance(depth, np.ndarray) else type(depth).__name__
        return f'depth image must be HxW float metres (or uint16 millimetres), got {got}'
    if rgb.shape[:2] != depth.shape:
        return (f'colour ({rgb.shape[1]}x{rgb.shape[0]}) and depth ({depth.shape[1]}x{depth.shape[0]}) '
                'differ in size; register depth to colour first')
    if (camera.width, camera.height) != (depth.shape[1], depth.shape[0]):
        return (f'camera model is for {camera.width}x{camera.height} images but the frame is '
                f'{depth.shape[1]}x{depth.shape[0]}')
    if exclude_mask is not None and np.shape(exclude_mask) != depth.shape:
        return f'exclude mask is {np.shape(exclude_mask)}, the frame {depth.shape}'
    return None

