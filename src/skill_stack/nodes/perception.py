"""The ``perception`` node: RGB-D frames in, the scene (objects, keypoints, affordances) out.

Colour, depth and camera_info are paired by stamp; each pair becomes a
``scene`` message in the robot's frame (the camera's extrinsics are
parameters, as a calibration would give them) and, when someone listens, a
``debug_image`` with the objects and keypoints drawn. The ``ground`` service
answers "which object, which part?" against the latest scene. Bad frames give
a scene with a status that says what is wrong, never a crash.
"""

import math
import sys
import threading
from dataclasses import replace
from typing import Optional

import cv2
import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from skill_stack.msg import Scene
from skill_stack.nodes.convert import image_to_numpy, numpy_to_image
from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.nodes.scene_convert import keypoint_to_msg, object_to_msg, scene_to_msg
from skill_stack.perception.geometry import pose_matrix
from skill_stack.perception.grounding import ground
from skill_stack.perception.models.config import ModelBackendsConfig, load_backends
from skill_stack.perception.models.lifting import detections_to_objects
from skill_stack.perception.pipeline import PerceptionConfig, ScenePerception
from skill_stack.perception.types import CameraModel, PerceivedScene
from skill_stack.srv import Ground


class PerceptionNode(Node):
    def __init__(self):
        super().__init__('perception')
        route_python_logging(self)
        position = list(declare(self, 'camera_position', [0.0, 0.0, 0.0],
                                 "camera optical frame's position in frame_id (m), from calibration"))
        quaternion = list(declare(self, 'camera_quaternion', [1.0, 0.0, 0.0, 0.0],
                                   "camera optical frame's orientation in frame_id (w, x, y, z)"))
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
        self.world_from_camera = pose_matrix(position, quaternion)
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

        frames = MutuallyExclusiveCallbackGroup()
        qos = QoSProfile(depth=2)
        self.create_subscription(Image, 'camera/color/image_raw', self.on_color, qos, callback_group=frames)
        self.create_subscription(Image, 'camera/depth/image_raw', self.on_depth, qos, callback_group=frames)
        self.create_subscription(CameraInfo, 'camera/color/camera_info', self.on_info, qos, callback_group=frames)
        self.scene_pub = self.create_publisher(Scene, 'scene', 10)
        self.debug_pub = self.create_publisher(Image, 'debug_image', qos)
        self.create_service(Ground, 'ground', self.on_ground, callback_group=MutuallyExclusiveCallbackGroup())

    # -- frames -----------------------------------------------------------

    def on_info(self, msg: CameraInfo) -> None:
        self._info = msg

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
        self.process(color, depth, self._info)

    def process(self, color: Image, depth: Image, info: Optional[CameraInfo]) -> None:
        header = Header(stamp=color.header.stamp, frame_id=self.frame_id)
        scene = self._perceive(color, depth, info)
        scene.stamp = _seconds(color.header.stamp)
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
                             height=info.height, world_from_camera=self.world_from_camera)
        scene = self.perception.perceive(rgb, depth_m, camera)
        if self.detector is not None and scene.status == 'ok' and self.detector_queries:
            found = self.detector.detect(rgb, list(self.detector_queries))
            scene.objects += detections_to_objects(found, rgb, depth_m, camera, support_height=scene.support_height)
        if self.pointer is not None:
            with self._lock:
                self._last_frame = (rgb, depth_m, camera)
        return scene

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
    return run_node(PerceptionNode, 'perception')


if __name__ == '__main__':
    sys.exit(main())
