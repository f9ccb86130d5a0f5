"""The ``perception`` node: RGB-D frames in, the scene (objects, keypoints, affordances) out.

Colour, depth and camera_info are paired by stamp; each pair becomes a
``scene`` message in the robot's frame (the camera's extrinsics are
parameters, as a calibration would give them) and, when someone listens, a
``debug_image`` with the objects and keypoints drawn. The ``ground`` service
answers "which object, which part?" against the latest scene. Bad frames give
a scene with a status that says what is wrong, never a crash.

Two kinds of camera:

- *static* (``camera_mount_odom`` empty, the default): ``camera_position`` and
  ``camera_quaternion`` are the optical frame in ``frame_id`` (a camera on a
  tripod or a wall, config/camera_sim_arm.yaml);
- *on a moving body* (``camera_mount_odom`` names a nav_msgs/Odometry topic,
  e.g. ``odom``, the quadrotor's): they are the optical frame in the body frame
  (the odometry's child frame, config/camera_sim_quadrotor.yaml), and each
  frame's pose is world_from_body, from the odometry sample nearest the image
  stamp, times body_from_camera (`geometry.mounted_camera_pose`). Topics keep
  no order between them, and a busy machine delivers odometry late, so like a
  tf2 message filter, frames wait (a few, up to ODOMETRY_WAIT_S, never by
  sleeping) for the odometry of their time; the newest frame whose odometry
  has come is processed and older ones are dropped. The odometry must be in
  ``frame_id``; with no sample within ``camera_mount_tolerance_s`` of the
  image, or a sample that is not a pose (NaN, a non-unit quaternion, another
  frame), the scene is empty and its status says why.
"""

import bisect
import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np
from nav_msgs.msg import Odometry
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.exceptions import InvalidTopicNameException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.validate_topic_name import validate_topic_name
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from skill_stack.msg import Scene
from skill_stack.nodes.convert import image_to_numpy, numpy_to_image
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.nodes.scene_convert import keypoint_to_msg, object_to_msg, scene_to_msg
from skill_stack.perception.geometry import mounted_camera_pose, pose_matrix
from skill_stack.perception.grounding import ground
from skill_stack.perception.models.config import ModelBackendsConfig, load_backends
from skill_stack.perception.models.lifting import detections_to_objects
from skill_stack.perception.pipeline import PerceptionConfig, ScenePerception
from skill_stack.perception.tracking import IdTracker
from skill_stack.perception.types import CameraModel, PerceivedScene
from skill_stack.srv import Ground

# A mounted camera's frames wait for the odometry of their time: at most this many (half a second of a
# 15 Hz camera; the oldest is dropped beyond), each at most this many wall-clock seconds, after which it
# is processed with what has come (its status says the pose is unknown when that is not near enough).
MAX_WAITING_FRAMES = 8
ODOMETRY_WAIT_S = 0.5


class PerceptionNode(Node):
    def __init__(self):
        super().__init__('perception')
        route_python_logging(self)
        position = list(declare(self, 'camera_position', [0.0, 0.0, 0.0],
                                 "camera optical frame's position (m), from calibration: in frame_id, "
                                 "or in the body frame when camera_mount_odom is set"))
        quaternion = list(declare(self, 'camera_quaternion', [1.0, 0.0, 0.0, 0.0],
                                   "camera optical frame's orientation (w, x, y, z): in frame_id, "
                                   "or in the body frame when camera_mount_odom is set"))
        mount_topic = declare(self, 'camera_mount_odom', '',
                              'empty: a static camera; else the nav_msgs/Odometry topic of the body the camera '
                              'is mounted on (e.g. odom), whose pose moves the camera')
        self.mount_tolerance = declare(self, 'camera_mount_tolerance_s', 0.02,
                                       'largest stamp difference between an image and the odometry sample used')
        self.frame_id = declare(self, 'frame_id', 'world', 'frame of the published scene (the robot base)')
        embodiment = declare(self, 'embodiment', 'arm',
                              "the robot in view (arm, hand, quadrotor): where its own body is kept out")
        if embodiment not in ('arm', 'hand', 'quadrotor'):
            raise ValueError(f"parameter 'embodiment' must be arm, hand or quadrotor, got '{embodiment}'")
        self.sync_tolerance = declare(self, 'sync_tolerance_s', 0.02,
                                       'largest stamp difference between a colour and a depth frame paired')
        if len(position) != 3 or not all(math.isfinite(v) for v in position):
            raise ValueError(f"parameter 'camera_position' must be 3 finite numbers, got {position}")
        norm = math.sqrt(sum(v * v for v in quaternion)) if len(quaternion) == 4 else 0.0
        if len(quaternion) != 4 or not math.isfinite(norm) or abs(norm - 1.0) > 1e-3:
            raise ValueError(f"parameter 'camera_quaternion' must be a unit quaternion (w, x, y, z), got {quaternion}")
        if not (math.isfinite(self.sync_tolerance) and 0.0 <= self.sync_tolerance <= 1.0):
            raise ValueError(f"parameter 'sync_tolerance_s' must be in [0, 1] s, got {self.sync_tolerance}")
        if mount_topic:
            try:
                validate_topic_name(mount_topic)
            except InvalidTopicNameException as exc:
                raise ValueError(f"parameter 'camera_mount_odom' must be a topic name or empty, got "
                                 f"'{mount_topic}': {exc}") from None
        if not (math.isfinite(self.mount_tolerance) and 0.0 < self.mount_tolerance <= 1.0):
            raise ValueError(f"parameter 'camera_mount_tolerance_s' must be in (0, 1] s, got {self.mount_tolerance}")
        # Static: world_from_camera. Mounted: body_from_camera, and each frame's pose comes from the odometry.
        self.extrinsics = pose_matrix(position, quaternion)
        self.body_poses: Optional[PoseHistory] = PoseHistory() if mount_topic else None
        self.perception = ScenePerception(PerceptionConfig.for_embodiment(embodiment))
        models = ModelBackendsConfig(
            detector=declare(self, 'models.detector', 'none', 'open-vocabulary detector: none, owlv2, grounding_dino'),
            detector_model=declare(self, 'models.detector_model', '', 'local path or Hugging Face id in the cache'),
            detector_threshold=declare(self, 'models.detector_threshold', 0.2, 'detection score threshold'),
            detector_queries=tuple(declare(self, 'models.detector_queries', [''],
                                            'what to detect besides the embedded shapes, e.g. [mug, banana]')),
            pointer=declare(self, 'models.pointer', 'none',
                             'pointing VLM for parts: none, qwen2_5_vl, qwen3_vl, molmo'),
            pointer_model=declare(self, 'models.pointer_model', '', 'local path or Hugging Face id in the cache'))
        models = replace(models, detector_queries=tuple(q for q in models.detector_queries if q))
        # Loaded now, only when selected, so a missing model stops the node at start-up with its path.
        self.detector, self.pointer = load_backends(models)
        self.detector_queries = models.detector_queries
        self._last_frame = None  # (rgb, depth, camera) for the pointer

        self._lock = threading.Lock()
        self._color: Optional[Image] = None
        self._depth: Optional[Image] = None
        self._info: Optional[CameraInfo] = None
        self._latest = PerceivedScene(objects=[], status='no camera frame received yet')
        self.tracker = IdTracker()  # object ids stay the same from frame to frame

        frames = MutuallyExclusiveCallbackGroup()
        qos = QoSProfile(depth=2)
        self.create_subscription(Image, 'camera/color/image_raw', self.on_color, qos, callback_group=frames)
        self.create_subscription(Image, 'camera/depth/image_raw', self.on_depth, qos, callback_group=frames)
        self.create_subscription(CameraInfo, 'camera/color/camera_info', self.on_info, qos, callback_group=frames)
        self.mount_topic = ''
        self._waiting: deque = deque()  # (color, depth, info, wall time) of frames waiting for their odometry
        if self.body_poses is not None:
            # Reliable, as the drivers publish it (best effort lost runs of 20 samples on a busy machine; a
            # best-effort publisher, as some flight stacks have, needs a relay). Its own group and thread:
            # the executor takes one message per subscription per round, so a stream sharing the frames'
            # group would fall further behind with every frame processed.
            odom_qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
            sub = self.create_subscription(Odometry, mount_topic, self.on_odometry, odom_qos,
                                           callback_group=MutuallyExclusiveCallbackGroup())
            self.mount_topic = sub.topic_name
            self.create_timer(0.02, self._process_waiting, callback_group=frames)
            self.get_logger().info(f"camera mounted on the body of '{self.mount_topic}': its extrinsics are in "
                                   'the body frame')
        elif embodiment == 'quadrotor':
            self.get_logger().info('static camera with a quadrotor: for its body camera, set camera_mount_odom')
        self.scene_pub = self.create_publisher(Scene, 'scene', 10)
        self.debug_pub = self.create_publisher(Image, 'debug_image', qos)
        self.create_service(Ground, 'ground', self.on_ground, callback_group=MutuallyExclusiveCallbackGroup())

    # -- frames -----------------------------------------------------------

    def on_info(self, msg: CameraInfo) -> None:
        self._info = msg

    def on_odometry(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        problem = None
        if msg.header.frame_id not in ('', self.frame_id):
            problem = f"it is in frame '{msg.header.frame_id}', the scene in '{self.frame_id}'"
        self.body_poses.add(_seconds(msg.header.stamp), (p.x, p.y, p.z), (q.w, q.x, q.y, q.z), problem)

    def on_color(self, msg: Image) -> None:
        self._color = msg
        self._try_pair()

    def on_depth(self, msg: Image) -> None:
        self._depth = msg
        self._try_pair()

    def _try_pair(self) -> None:
        color, depth = self._color, self._depth
        if color is None or depth is None:
            return
        if abs(_seconds(color.header.stamp) - _seconds(depth.header.stamp)) > self.sync_tolerance:
            return  # the partner of this frame has not arrived yet
        self._color = self._depth = None
        if self.body_poses is None:
            self.process(color, depth, self._info)
            return
        self._waiting.append((color, depth, self._info, time.monotonic()))
        if len(self._waiting) > MAX_WAITING_FRAMES:
            self._waiting.popleft()
        self._process_waiting()

    def _process_waiting(self) -> None:
        """The newest waiting frame whose odometry has come (odometry at or after its stamp), dropping older
        ones, whose scenes would be stale; else the oldest once it has waited ODOMETRY_WAIT_S."""
        if not self._waiting:
            return
        newest = self.body_poses.newest_stamp()
        covered = [i for i, frame in enumerate(self._waiting)
                   if newest is not None and newest >= _seconds(frame[0].header.stamp)]
        if covered:
            for _ in range(covered[-1]):
                self._waiting.popleft()
        elif time.monotonic() - self._waiting[0][3] < ODOMETRY_WAIT_S:
            return
        color, depth, info, _ = self._waiting.popleft()
        self.process(color, depth, info)

    def process(self, color: Image, depth: Image, info: Optional[CameraInfo]) -> None:
        header = Header(stamp=color.header.stamp, frame_id=self.frame_id)
        scene = self._perceive(color, depth, info)
        scene.stamp = _seconds(color.header.stamp)
        scene = self.tracker.update(scene)
        if scene.status != 'ok':
            self.get_logger().warning(f'scene: {scene.status}', throttle_duration_sec=5.0)
        with self._lock:
            self._latest = scene
        self.scene_pub.publish(scene_to_msg(scene, header))
        if self.debug_pub.get_subscription_count() > 0:
            try:
                rgb = image_to_numpy(color)
            except ValueError:
                return
            self.debug_pub.publish(numpy_to_image(draw_scene(rgb, scene), 'rgb8', color.header))

    def _perceive(self, color: Image, depth: Image, info: Optional[CameraInfo]) -> PerceivedScene:
        if info is None:
            return PerceivedScene(objects=[], status='no camera_info received: intrinsics unknown')
        world_from_camera, problem = self._camera_pose(_seconds(color.header.stamp))
        if world_from_camera is None:
            return PerceivedScene(objects=[], status=problem)
        try:
            rgb = image_to_numpy(color)
            depth_m = image_to_numpy(depth)
        except ValueError as exc:
            return PerceivedScene(objects=[], status=f'bad image: {exc}')
        if color.encoding != 'rgb8':
            rgb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_BGR2RGB) if color.encoding == 'bgr8' else None
            if rgb is None:
                return PerceivedScene(objects=[], status=f"colour encoding '{color.encoding}' is not rgb8 or bgr8")
        if depth.encoding == '16UC1':
            depth_m = depth_m.astype(np.float32) / 1000.0  # RealSense raw depth is millimetres
        elif depth.encoding != '32FC1':
            return PerceivedScene(objects=[], status=f"depth encoding '{depth.encoding}' is not 32FC1 or 16UC1")
        camera = CameraModel(fx=info.k[0], fy=info.k[4], cx=info.k[2], cy=info.k[5], width=info.width,
                             height=info.height, world_from_camera=world_from_camera)
        scene = self.perception.perceive(rgb, depth_m, camera)
        if self.detector is not None and scene.status == 'ok' and self.detector_queries:
            found = self.detector.detect(rgb, list(self.detector_queries))
            scene.objects += detections_to_objects(found, rgb, depth_m, camera, support_height=scene.support_height)
        if self.pointer is not None:
            with self._lock:
                self._last_frame = (rgb, depth_m, camera)
        return scene

    def _camera_pose(self, stamp: float) -> tuple[Optional[np.ndarray], str]:
        """(world_from_camera, '') for an image taken at `stamp`, or (None, why not)."""
        if self.body_poses is None:
            return self.extrinsics, ''
        sample = self.body_poses.nearest(stamp)
        if sample is None:
            return None, f"no odometry received on '{self.mount_topic}': the mounted camera's pose is unknown"
        gap = abs(sample.stamp - stamp)
        if gap > self.mount_tolerance:
            return None, (f"no odometry on '{self.mount_topic}' within {self.mount_tolerance:g} s of the image "
                          f'(nearest {gap:.3f} s away): the mounted camera\'s pose is unknown')
        problem = sample.problem
        if problem is None:
            try:
                return mounted_camera_pose(sample.position, sample.quaternion, self.extrinsics), ''
            except ValueError as exc:
                problem = str(exc)
        return None, f"odometry on '{self.mount_topic}' at the image's time is not a usable pose: {problem}"

    # -- grounding --------------------------------------------------------

    def on_ground(self, request, response):
        with self._lock:
            scene = self._latest
        text = request.text.strip()
        if not text:
            response.status, response.message = 'no_match', 'empty text: say which object or part'
            return response
        if not scene.objects:
            response.status = 'no_match'
            response.message = f'no objects in the scene ({scene.status})'
            return response
        answer = ground(text, scene)
        keypoints = list(answer.keypoints)
        if self.pointer is not None and answer.status == 'matched' and not keypoints and ' of ' in text:
            # A part the geometry has no keypoint for ("the handle of the mug"): ask the pointing model.
            with self._lock:
                frame = self._last_frame
            if frame is not None:
                part, _, obj = text.partition(' of ')
                keypoints = self.pointer.keypoints(*frame, part=part.removeprefix('the ').strip(), obj=obj.strip())
        response.status = answer.status
        response.confidence = float(answer.confidence)
        response.objects = [object_to_msg(o) for o in answer.objects]
        response.keypoints = [keypoint_to_msg(k) for k in keypoints]
        response.alternatives = list(answer.alternatives)
        response.message = answer.message
        return response


@dataclass(frozen=True)
class BodyPose:
    """One odometry sample: the body's pose in the world at `stamp`, or the reason it is no pose."""

    stamp: float
    position: tuple[float, float, float]
    quaternion: tuple[float, float, float, float]  # w, x, y, z
    problem: Optional[str] = None


class PoseHistory:
    """The last `span_s` seconds of a body's poses, by stamp; safe to fill and read from two threads.

    Stamps that jump back by more than the span (a simulator reset, a replayed
    log) start the history afresh, so no stale pose is matched to a new image.
    """

    def __init__(self, span_s: float = 2.0):
        self.span_s = span_s
        self._lock = threading.Lock()
        self._stamps: list[float] = []
        self._poses: list[BodyPose] = []

    def add(self, stamp: float, position, quaternion, problem: Optional[str] = None) -> None:
        pose = BodyPose(stamp, tuple(position), tuple(quaternion), problem)
        with self._lock:
            if self._stamps and stamp < self._stamps[-1] - self.span_s:
                self._stamps, self._poses = [], []
            index = bisect.bisect_right(self._stamps, stamp)
            self._stamps.insert(index, stamp)
            self._poses.insert(index, pose)
            old = bisect.bisect_left(self._stamps, self._stamps[-1] - self.span_s)
            if old:
                del self._stamps[:old], self._poses[:old]

    def newest_stamp(self) -> Optional[float]:
        with self._lock:
            return self._stamps[-1] if self._stamps else None

    def nearest(self, stamp: float) -> Optional[BodyPose]:
        """The sample nearest `stamp` (None when there is none); the caller judges whether it is near enough."""
        with self._lock:
            if not self._stamps:
                return None
            index = bisect.bisect_left(self._stamps, stamp)
            candidates = self._poses[max(index - 1, 0):index + 1]
        return min(candidates, key=lambda pose: abs(pose.stamp - stamp))


def draw_scene(rgb: np.ndarray, scene: PerceivedScene) -> np.ndarray:
    """The image with each object's box, name and keypoints drawn (what a person checks first)."""
    out = np.ascontiguousarray(rgb).copy()
    for obj in scene.objects:
        if obj.bbox is not None:
            u0, v0, u1, v1 = (int(v) for v in obj.bbox)
            cv2.rectangle(out, (u0, v0), (u1, v1), (255, 255, 0), 1)
            cv2.putText(out, f'{obj.id} {obj.color} {obj.label}', (u0, max(v0 - 4, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
        for keypoint in obj.keypoints:
            if keypoint.pixel is not None:
                cv2.circle(out, (int(keypoint.pixel[0]), int(keypoint.pixel[1])), 3, (0, 255, 255), -1)
    return out


def _seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def main() -> int:
    return run_node(PerceptionNode, 'perception', threads=3)


if __name__ == '__main__':
    sys.exit(main())
