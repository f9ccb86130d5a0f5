"""The command arbiter: teleop takes the device from autonomy while its commands keep coming."""

import math

import pytest

from skill_stack.drivers.arbitration import AUTONOMY, TELEOP, Arbiter


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


def test_autonomy_alone_is_always_accepted(clock):
    arbiter = Arbiter(clock=clock)
    for _ in range(5):
        assert arbiter.offer(AUTONOMY)
        clock.now += 1.0  # even with long gaps
    assert arbiter.owner == AUTONOMY
    assert arbiter.status() == {'control': AUTONOMY, 'control_for_s': None, 'control_takeovers': 0,
                                'control_dropped': {}}


def test_teleop_takes_over_and_autonomy_is_dropped_until_the_hold_times_out(clock):
    arbiter = Arbiter(hold_timeout=0.4, clock=clock)
    assert arbiter.offer(AUTONOMY)
    clock.now += 0.05
    assert arbiter.offer(TELEOP)  # takes over at once
    assert arbiter.owner == TELEOP
    for _ in range(20):  # teleop streams at 20 Hz for 1 s; autonomy keeps streaming too
        clock.now += 0.05
        assert arbiter.offer(TELEOP)
        assert not arbiter.offer(AUTONOMY)
    status = arbiter.status()
    assert status['control'] == TELEOP
    assert status['control_for_s'] == pytest.approx(1.0)
    assert status['control_dropped'] == {AUTONOMY: 20}
    clock.now += 0.39  # teleop went quiet: still holding ...
    assert not arbiter.offer(AUTONOMY)
    clock.now += 0.02  # ... until 0.4 s after its last command
    assert arbiter.owner == AUTONOMY
    assert arbiter.offer(AUTONOMY)
    assert arbiter.status()['control_takeovers'] == 1


def test_explicit_release_gives_control_back_at_once(clock):
    arbiter = Arbiter(clock=clock)
    assert arbiter.offer(TELEOP)
    assert not arbiter.release(AUTONOMY)  # not the holder
    assert arbiter.release(TELEOP)
    assert not arbiter.release(TELEOP)  # already released
    assert arbiter.offer(AUTONOMY)
    assert arbiter.owner == AUTONOMY


def test_a_higher_priority_source_preempts_a_holding_lower_one(clock):
    arbiter = Arbiter({'planner': 0, 'teleop': 5, 'safety': 9}, clock=clock)
    assert arbiter.offer('teleop')
    assert not arbiter.offer('planner')
    assert arbiter.offer('safety')
    assert not arbiter.offer('teleop')
    assert arbiter.status()['control_dropped'] == {'planner': 1, 'teleop': 1}
    assert arbiter.default == 'planner'


def test_unknown_sources_and_bad_settings_are_refused_by_name(clock):
    arbiter = Arbiter(clock=clock)
    with pytest.raises(ValueError, match="unknown command source 'joystick'"):
        arbiter.offer('joystick')
    with pytest.raises(ValueError, match='unknown command source'):
        arbiter.release(None)
    with pytest.raises(ValueError, match='hold_timeout'):
        Arbiter(hold_timeout=math.nan)
    with pytest.raises(ValueError, match='hold_timeout'):
        Arbiter(hold_timeout=0.0)
    with pytest.raises(ValueError, match="priority of 'teleop' must be an integer"):
        Arbiter({'teleop': math.nan, 'autonomy': 0})
    with pytest.raises(ValueError, match='must differ'):
        Arbiter({'teleop': 1, 'autonomy': 1})
    with pytest.raises(ValueError, match='at least one source'):
        Arbiter({})


def test_a_nan_clock_is_refused_rather_than_holding_forever(clock):
    arbiter = Arbiter(clock=clock)
    assert arbiter.offer(TELEOP)
    clock.now = math.nan
    with pytest.raises(ValueError, match='clock returned nan'):
        arbiter.offer(AUTONOMY)
