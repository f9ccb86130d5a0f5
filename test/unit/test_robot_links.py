"""The quadrotor link's decisions without ROS: when it holds the vehicle by itself, and the driver's flags."""

import json
import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from skill_stack.nodes.robot_links import LINKS, HoverKeeper, QuadrotorLink, driver_flags
from skill_stack.skills.quadrotor import quadrotor_observation

YAW_90 = (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))


def _robot(position, airborne=True, quaternion=(1.0, 0.0, 0.0, 0.0)):
    return quadrotor_observation(position, quaternion, (0.0, 0.0, 0.0), armed=airborne, stamp=0.0,
                                 landed=not airborne)


def test_the_quadrotor_has_a_link():
    assert LINKS['quadrotor'] is QuadrotorLink


def test_a_silent_stream_turns_into_a_hold_where_the_vehicle_is():
    keeper = HoverKeeper(idle_after_s=0.25)
    keeper.commanded(10.0)
    assert keeper.tick(_robot([1.0, 2.0, 1.5]), 10.1) is None  # the skill is still streaming
    point, yaw = keeper.tick(_robot([1.0, 2.0, 1.5], quaternion=YAW_90), 10.3)
    assert np.allclose(point, [1.0, 2.0, 1.5])
    assert math.isclose(yaw, math.pi / 2)
    # Held where it was when the stream stopped, not wherever it drifts to.
    again, _ = keeper.tick(_robot([1.2, 2.0, 1.4]), 11.0)
    assert np.allclose(again, [1.0, 2.0, 1.5])
    keeper.commanded(11.1)  # a skill streams again: the hold ends
    assert keeper.tick(_robot([1.2, 2.0, 1.4]), 11.2) is None


def test_hold_takes_effect_at_once_and_stays_inside_the_fence():
    keeper = HoverKeeper()
    keeper.commanded(5.0)
    keeper.hold(_robot([4.95, -1.0, 0.12]))  # past the fence margin and under fence_z_min
    point, _ = keeper.tick(_robot([4.95, -1.0, 0.12]), 5.01)
    assert np.allclose(point, [4.8, -1.0, 0.2])


def test_nothing_is_streamed_on_the_ground_or_during_a_landing():
    keeper = HoverKeeper()
    assert keeper.tick(None, 0.0) is None  # no state yet
    assert keeper.tick(_robot([0.0, 0.0, 0.08], airborne=False), 1.0) is None
    keeper.commanded(2.0, land=True)
    assert keeper.tick(_robot([0.0, 0.0, 0.9]), 5.0) is None  # the flight controller lands it
    keeper.hold(_robot([0.0, 0.0, 0.7]))  # a cancel during the landing lets it finish
    assert keeper.tick(_robot([0.0, 0.0, 0.6]), 5.5) is None
    assert keeper.tick(_robot([0.0, 0.0, 0.08], airborne=False), 7.0) is None
    assert not keeper.landing  # landed: the next flight starts afresh
    assert keeper.tick(_robot([0.0, 0.0, 1.0]), 20.0) is not None  # airborne again, nobody streaming


def test_driver_flags_are_read_from_the_status_values():
    def status(**values):
        return DiagnosticStatus(values=[KeyValue(key=k, value=v) for k, v in values.items()])

    assert driver_flags(status(armed=json.dumps(True), landed=json.dumps(False))) == (True, False)
    assert driver_flags(status(armed='true', landed='not json')) == (True, None)
    assert driver_flags(status(armed='1', landed='null')) == (None, None)  # not booleans
    assert driver_flags(status()) == (None, None)
