"""numpy <-> ROS message conversions, whole-buffer (never element by element).

cv_bridge is not installable here; these cover what the stack sends: rgb8
colour, 32FC1 depth in metres, camera_info from pinhole intrinsics.
"""

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

_ENCODINGS = {'rgb8': (np.uint8, 3), 'bgr8': (np.uint8, 3), 'mono8': (np.uint8, 1),
              '32FC1': (np.float32, 1), '16UC1': (np.uint16, 1)}


def numpy_to_image(array: np.ndarray, encoding: str, header=None) -> Image:
    dtype, channels = _ENCODINGS[encoding]
    array = np.ascontiguousarray(array, dtype=dtype)
    if array.ndim != (3 if channels > 1 else 2) or (channels > 1 and array.shape[2] != channels):
        raise ValueError(f'{encoding} needs an H x W image with {channels} channel(s), got shape {array.shape}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = array.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = array.strides[0]
    msg.data = array.tobytes()
    return msg


def image_to_numpy(msg: Image) -> np.ndarray:
    """A read-only view of the message's buffer with the encoding's dtype and shape."""
    if msg.encoding not in _ENCODINGS:
        raise ValueError(f"unsupported image encoding '{msg.encoding}'; supported: {', '.join(_ENCODINGS)}")
    dtype, channels = _ENCODINGS[msg.encoding]
    row = msg.width * channels * np.dtype(dtype).itemsize
    if msg.step < row or len(msg.data) < msg.step * msg.height:
        raise ValueError(f'image buffer too small: {len(msg.data)} bytes for {msg.height} rows of step {msg.step}')
    flat = np.frombuffer(msg.data, dtype=np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    pixels = flat[:, :row].view(dtype)
    return pixels.reshape(msg.height, msg.width, channels) if channels > 1 else pixels.reshape(msg.height, msg.width)


def camera_info(fx: float, fy: float, cx: float, cy: float, width: int, height: int, header=None) -> CameraInfo:
    msg = CameraInfo()
    if header is not None:
        msg.header = header
    msg.width, msg.height = int(width), int(height)
    msg.distortion_model = 'plumb_bob'
    msg.d = [0.0] * 5
    msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg
