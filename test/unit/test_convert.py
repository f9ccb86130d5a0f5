"""Image conversions round-trip exactly and refuse what they cannot represent."""

import numpy as np
import pytest

from skill_stack.nodes.convert import camera_info, image_to_numpy, numpy_to_image


def test_rgb_and_depth_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    depth = rng.uniform(0.1, 5.0, (48, 64)).astype(np.float32)
    depth[0, 0] = np.nan  # no return: stays NaN, as a RealSense reports holes
    assert np.array_equal(image_to_numpy(numpy_to_image(rgb, 'rgb8')), rgb)
    back = image_to_numpy(numpy_to_image(depth, '32FC1'))
    assert np.array_equal(back, depth, equal_nan=True)


def test_padded_rows_are_read_by_step():
    msg = numpy_to_image(np.arange(12, dtype=np.uint8).reshape(3, 4), 'mono8')
    msg.step = 6
    msg.data = bytes([0, 1, 2, 3, 99, 99, 4, 5, 6, 7, 99, 99, 8, 9, 10, 11, 99, 99])
    assert image_to_numpy(msg).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match='3 channel'):
        numpy_to_image(np.zeros((4, 4), np.uint8), 'rgb8')
    msg = numpy_to_image(np.zeros((4, 4, 3), np.uint8), 'rgb8')
    msg.encoding = 'yuv422'
    with pytest.raises(ValueError, match="unsupported image encoding 'yuv422'"):
        image_to_numpy(msg)
    msg = numpy_to_image(np.zeros((4, 4, 3), np.uint8), 'rgb8')
    msg.height = 10
    with pytest.raises(ValueError, match='buffer too small'):
        image_to_numpy(msg)


def test_camera_info_matrices():
    info = camera_info(600.0, 601.0, 320.0, 240.0, 640, 480)
    assert list(info.k) == [600.0, 0.0, 320.0, 0.0, 601.0, 240.0, 0.0, 0.0, 1.0]
    assert (info.width, info.height) == (640, 480)
