"""What perception produces: objects with 3D keypoints and affordances, and grounding answers.

Positions are metres in the frame the camera extrinsics map into (the robot's
``world`` frame: REP 103, x forward, y left, z up); quaternions are w, x, y, z.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

SHAPES = ('box', 'cylinder', 'sphere', 'bowl', 'pad')
COLOR_NAMES = ('red', 'green', 'blue', 'yellow', 'orange', 'purple', 'white', 'black')
AFFORDANCES = ('graspable', 'container', 'support', 'pushable', 'landable', 'rotatable')


@dataclass
class CameraModel:
    """Pinhole intrinsics and the camera's pose (optical frame: z forward, x right, y down) in the world."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    world_from_camera: np.ndarray  # 4x4 homogeneous transform

    def validate(self) -> Optional[str]:
        """A sentence naming what is wrong, or None."""
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(values)) or self.fx <= 0 or self.fy <= 0:
            return f'camera intrinsics are missing or invalid (fx={self.fx}, fy={self.fy}, cx={self.cx}, cy={self.cy})'
        if self.width <= 0 or self.height <= 0:
            return f'camera image size {self.width}x{self.height} is invalid'
        pose = np.asarray(self.world_from_camera, dtype=float)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            return 'camera extrinsics must be a finite 4x4 transform'
        return None


@dataclass
class Keypoint:
    name: str  # center, top, bottom, rim, handle, grasp, grasp_side, left, right, front, back, ...
    position: np.ndarray  # (3,) world frame
    direction: np.ndarray = field(default_factory=lambda: np.zeros(3))  # approach direction (unit) or zeros
    width: float = 0.0  # gripper opening for grasp points, m
    confidence: float = 1.0
    pixel: Optional[Tuple[int, int]] = None  # (u, v) in the image, if it projects into it


@dataclass(eq=False)  # objects are compared by identity: their fields hold numpy arrays
class PerceivedObject:
    id: str  # e.g. "obj_2"; the perception node keeps it from frame to frame (perception/tracking.py)
    label: str  # a shape from SHAPES, or a detector's label
    color: str  # a name from COLOR_NAMES
    position: np.ndarray  # (3,) centre, world frame
    quaternion: np.ndarray  # (4,) w, x, y, z: yaw about world z for tabletop objects
    extent: np.ndarray  # (3,) full size along the object's axes, m
    confidence: float
    keypoints: List[Keypoint] = field(default_factory=list)
    affordances: Dict[str, float] = field(default_factory=dict)  # name -> score in 0..1
    bbox: Optional[Tuple[int, int, int, int]] = None  # u0, v0, u1, v1 in the image
    num_points: int = 0

    def keypoint(self, name: str) -> Optional[Keypoint]:
        return next((k for k in self.keypoints if k.name == name), None)


@dataclass
class PerceivedScene:
    objects: List[PerceivedObject]
    status: str = 'ok'  # 'ok', or a sentence saying why the scene is empty or partial
    support_height: Optional[float] = None  # z of the table or ground plane found, world frame
    stamp: float = 0.0


@dataclass
class Grounding:
    """The answer to "which object, which part?": explicit about no match and ambiguity."""

    status: str  # 'matched', 'ambiguous', 'no_match'
    confidence: float
    objects: List[PerceivedObject]  # best first; several when the phrase asks for several or is ambiguous
    keypoints: List[Keypoint]  # the part named ("the rim of ..."), if any
    alternatives: List[str]  # other readings considered, as short sentences
    message: str
