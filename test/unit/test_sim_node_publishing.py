"""The sim node's physics loop outlives a message DDS cannot take: it reports it and goes on."""

import pytest
from rclpy._rclpy_pybind11 import RCLError

from skill_stack.nodes.sim import survive_publishing


class _Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, text, **kwargs):
        self.warnings.append((text, kwargs))


def test_a_failed_publish_is_reported_and_the_loop_goes_on():
    logger, sent = _Logger(), []

    def publish(stamp):
        if stamp == 2:
            raise RCLError('Failed to publish: cannot publish data')
        sent.append(stamp)

    results = [survive_publishing(logger, publish, stamp) for stamp in (1, 2, 3)]
    assert results == [True, False, True]
    assert sent == [1, 3]
    ((text, kwargs),) = logger.warnings
    assert 'cannot publish data' in text
    assert kwargs['throttle_duration_sec'] > 0


def test_other_errors_are_not_swallowed():
    def broken():
        raise ValueError('a bug, not the transport')

    with pytest.raises(ValueError, match='a bug'):
        survive_publishing(_Logger(), broken)
