"""What the skill tests share: a perceived object as perception reports it, built without a camera."""

import math

import numpy as np

from skill_stack.perception.affordances import affordances
from skill_stack.perception.types import PerceivedObject
from skill_stack.skills.sim_perception import object_keypoints


def perceived(name, label, position, extent, yaw=0.0, color='red'):
    """An upright object with perception's keypoints and affordances."""
    position = np.asarray(position, float)
    extent = np.asarray(extent, float)
    return PerceivedObject(id=name, label=label, color=color, position=position,
                           quaternion=np.array([math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)]), extent=extent,
                           confidence=1.0, keypoints=object_keypoints(label, position, yaw, extent),
                           affordances=affordances(label, extent))
