"""A camera on a moving body: the odometry sample matched to each image, however samples arrive."""

import math
import threading

import pytest

from skill_stack.nodes.perception import PoseHistory

LEVEL = (1.0, 0.0, 0.0, 0.0)


def test_nearest_sample_on_either_side():
    history = PoseHistory()
    assert history.nearest(1.0) is None
    for stamp in (1.00, 1.01, 1.02, 1.03):
        history.add(stamp, (stamp, 0.0, 1.0), LEVEL)
    assert history.nearest(1.014).stamp == pytest.approx(1.01)
    assert history.nearest(1.016).stamp == pytest.approx(1.02)
    assert history.nearest(0.5).stamp == pytest.approx(1.00)  # before everything: the oldest, far off
    assert history.nearest(9.0).stamp == pytest.approx(1.03)  # after everything: the newest, far off
    assert history.nearest(1.02).position == (1.02, 0.0, 1.0)


def test_samples_out_of_order_old_ones_dropped_and_a_reset_starts_afresh():
    history = PoseHistory(span_s=1.0)
    for stamp in (5.0, 5.2, 5.1):  # one late
        history.add(stamp, (stamp, 0.0, 0.0), LEVEL)
    assert history.nearest(5.1).stamp == pytest.approx(5.1)
    history.add(7.0, (7.0, 0.0, 0.0), LEVEL)  # the others are now more than a span old
    assert history.nearest(5.1).stamp == pytest.approx(7.0)
    history.add(0.1, (0.0, 0.0, 0.0), LEVEL)  # the clock went back: a simulator reset
    assert history.nearest(6.9).stamp == pytest.approx(0.1)


def test_a_bad_sample_keeps_its_reason():
    history = PoseHistory()
    history.add(2.0, (float('nan'), 0.0, 1.0), LEVEL)
    history.add(2.1, (0.0, 0.0, 1.0), LEVEL, problem="it is in frame 'map', the scene in 'world'")
    assert math.isnan(history.nearest(2.0).position[0])  # kept: the caller says why it is no pose
    assert 'map' in history.nearest(2.1).problem


def test_filled_and_read_from_two_threads():
    history = PoseHistory(span_s=0.5)
    errors = []

    def fill():
        for i in range(2000):
            history.add(i * 0.001, (0.0, 0.0, 1.0), LEVEL)

    def read():
        try:
            for i in range(2000):
                history.nearest(i * 0.001)
        except Exception as exc:  # noqa: BLE001 - any error in the reader fails the test
            errors.append(exc)

    threads = [threading.Thread(target=fill), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert history.nearest(1.999).stamp == pytest.approx(1.999)
