"""A video of a task: perception's annotated camera view with the plan and the current skill written over it.

Perception's ``debug_image`` already carries the objects and their keypoints;
this adds what the scheduler is doing (state, plan with the running step
marked, its last sentence). Frames are placed by their stamps, so the video
plays at the speed the robot moved even when frames arrive unevenly.
"""

import threading
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from skill_stack.nodes.convert import image_to_numpy

STATUS_COLORS = {'succeeded': (0, 200, 0), 'failed': (0, 0, 230), 'running': (0, 215, 255),
                 'cancelled': (160, 160, 160), 'skipped': (160, 160, 160)}  # BGR


class TaskVideo:
    """Writes annotated frames to an MP4 file (OpenCV's mp4v encoder), ``fps`` frames per second of stamp time."""

    def __init__(self, path: str, fps: float = 10.0):
        self.path = Path(path)
        if self.path.suffix.lower() not in ('.mp4', '.avi'):
            raise ValueError(f"video path '{path}' must end in .mp4 or .avi")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self._writer: Optional[cv2.VideoWriter] = None
        self._first_stamp: Optional[float] = None
        self._lock = threading.Lock()
        self.frames_written = 0
        self.state = ''
        self.text = ''
        self.steps: List[tuple] = []   # (label, status)
        self.current = -1

    def set_status(self, state: str, text: str, steps: List[tuple], current: int) -> None:
        with self._lock:
            self.state, self.text, self.steps, self.current = state, text, list(steps), current

    def add_frame(self, rgb: np.ndarray, stamp: float) -> None:
        """Append a frame (RGB); repeated as needed so that frame index follows the stamp."""
        with self._lock:
            if self._first_stamp is None:
                self._first_stamp = stamp
            frame = self._annotate(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            if self._writer is None:
                fourcc = cv2.VideoWriter_fourcc(*('mp4v' if self.path.suffix.lower() == '.mp4' else 'MJPG'))
                self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (frame.shape[1], frame.shape[0]))
                if not self._writer.isOpened():
                    raise OSError(f"cannot write video '{self.path}'")
            target = round((stamp - self._first_stamp) * self.fps) + 1
            repeats = max(1, min(target - self.frames_written, int(self.fps * 5)))
            for _ in range(repeats):
                self._writer.write(frame)
            self.frames_written += repeats

    def _annotate(self, bgr: np.ndarray) -> np.ndarray:
        height = 22 + 18 * len(self.steps) + (18 if self.text else 0)
        overlay = bgr.copy()
        cv2.rectangle(overlay, (0, 0), (bgr.shape[1], height), (0, 0, 0), -1)
        out = cv2.addWeighted(overlay, 0.55, bgr, 0.45, 0)
        _write(out, f'task: {self.state or "starting"}', 6, 16, (255, 255, 255))
        for i, (label, status) in enumerate(self.steps):
            marker = '>' if i == self.current else ' '
            color = STATUS_COLORS.get(status, (230, 230, 230))
            _write(out, f'{marker} {i + 1}. {label} [{status}]', 6, 34 + 18 * i, color)
        if self.text:
            _write(out, self.text[:90], 6, 34 + 18 * len(self.steps), (255, 255, 255))
        return out

    def close(self) -> Optional[str]:
        """Finish the file; its path, or None when no frame ever came."""
        with self._lock:
            if self._writer is None:
                return None
            self._writer.release()
            self._writer = None
            return str(self.path)


def _write(img: np.ndarray, text: str, x: int, y: int, color) -> None:
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)


def record_debug_images(node: Node, video: TaskVideo, topic: str = 'debug_image'):
    """Subscribe ``node`` to perception's annotated frames and feed them to ``video``."""

    def on_image(msg: Image) -> None:
        video.add_frame(image_to_numpy(msg), msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    return node.create_subscription(Image, topic, on_image, qos_profile_sensor_data)
