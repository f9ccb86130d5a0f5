"""What a quadrotor knows of its field beyond the camera's view, and how it learns it: memory and a survey.

The quadrotor's camera looks straight down from its body (42.5 degree vertical
field of view, 4:3): at the 1 m a take-off climbs to it sees about 0.8 x 1 m of
ground, and even at the ceiling (3 m) no more than about 2 x 2.7 m, while the
pads of a field lie metres apart. So a quadrotor cannot plan "land on the
green pad" from what it sees now. `FieldMemory` keeps every object perception
reported after it leaves the view (objects are matched by label and colour
nearby, the latest sighting wins; landing pads do not move), and `FieldSearch`
lets the scheduler

- survey the field once, when an instruction names something it has not seen
  (`needs_survey`): climb to `SURVEY_HEIGHT` and fly a lawnmower over the
  geofence (`survey_points`); afterwards a request for something that is not
  there ("the purple pad") fails at once, without moving;
- approach a remembered object before a step that needs it in view: the skill
  server grounds its targets in the live scene, so a step whose object is out
  of view first flies `APPROACH_HEIGHT` above it (higher for a wide object, so
  that ground shows around it), then runs on the object as perception sees it
  then.

No ROS here: the node passes in how to run a skill step and what it sees.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.drivers.quadrotor import QuadrotorConfig
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler.binding import rebind
from skill_stack.scheduler.plan import ObjectRef, Step

# At 2.8 m (the highest set-point the geofence's margin allows) the camera sees +-1.08 m along the body's x
# and +-1.44 m along y; at 2.6 m a 0.3 m pad 1.1 m to the side of the vehicle was detected (simulator).
SURVEY_HEIGHT = 2.8  # m
SURVEY_SWATH = 2.4  # m between lanes (along y), at most: every point of the field within 1.2 m of a lane
SURVEY_END_INSET = 0.8  # m: lanes end this far inside the fence's margin (the view reaches 1.0 m past the end)
SURVEY_LEG = 4.5  # m, the longest fly_to of a survey: a leg well inside fly_to's 20 s even on a slow machine
APPROACH_HEIGHT = 1.0  # m above an object's top: the 0.8 x 1 m view there holds a pad flown to within 0.3 m
VIEW_SHARE = 0.45  # m of object width per m of height at most: the 0.78 m short side of the view at 1 m, less
#                    room for ground around it and for the approach's error
LEG_ATTEMPTS = 2  # a survey leg that fails (a skill stopped by a transient fault: perception late) is flown again
MERGE_DISTANCE = 0.5  # m: a sighting this close to a remembered object of the same label and colour is it
# Plan failures a survey cannot help: the instruction was not understood, or asks what the robot cannot do.
NOT_ABOUT_THE_FIELD = ('I did not understand', 'cannot')

RunStep = Callable[[Step, threading.Event], Tuple[bool, str]]


TIME_JUMP_S = 1.0  # scene stamps this far back in time: the world was reset


class FieldMemory:
    """Objects seen, kept when out of view; thread-safe (perception's scenes arrive on another thread)."""

    def __init__(self, merge_distance: float = MERGE_DISTANCE):
        self.merge_distance = float(merge_distance)
        self._objects: List[PerceivedObject] = []
        self._lock = threading.Lock()
        self.surveyed = False
        self._last_stamp: Optional[float] = None

    def update(self, scene: PerceivedScene) -> None:
        """Remember what ``scene`` shows: a sighting replaces the remembered object it matches. Time going
        backwards (a simulator reset, a replayed recording) means another world: the memory starts afresh."""
        with self._lock:
            stamp = scene.stamp
            if stamp is not None and self._last_stamp is not None and stamp < self._last_stamp - TIME_JUMP_S:
                self._objects.clear()
                self.surveyed = False
            if stamp is not None:
                self._last_stamp = stamp
            for obj in scene.objects:
                match = self._match(obj, self._objects)
                if match is not None:
                    self._objects.remove(match)
                self._objects.append(obj)

    def scene(self, live: Optional[PerceivedScene]) -> PerceivedScene:
        """``live`` plus every remembered object it does not show (the live status and stamp)."""
        live = live if live is not None else PerceivedScene(objects=[], status='no scene from perception yet')
        with self._lock:
            remembered = [o for o in self._objects if self._match(o, live.objects) is None]
        return replace(live, objects=[*live.objects, *remembered])

    def objects(self) -> List[PerceivedObject]:
        with self._lock:
            return list(self._objects)

    def _match(self, obj: PerceivedObject, among: Sequence[PerceivedObject]) -> Optional[PerceivedObject]:
        same = [o for o in among if o.label == obj.label and o.color == obj.color]
        if not same:
            return None
        nearest = min(same, key=lambda o: _distance(o, obj))
        return nearest if _distance(nearest, obj) <= self.merge_distance else None


def survey_points(config: QuadrotorConfig, start: Sequence[float], height: float = SURVEY_HEIGHT,
                  swath: float = SURVEY_SWATH, end_inset: float = SURVEY_END_INSET) -> List[List[float]]:
    """A lawnmower over the geofence at ``height``: lanes along x, at most ``swath`` apart along y, flown
    back and forth from the corner nearest ``start``; waypoints at most `SURVEY_LEG` apart along a lane."""
    if not swath > 0.0:
        raise ValueError(f"survey 'swath' must be positive, got {swath}")
    margin = config.fence_margin
    y_low, y_high = config.fence_y_min + margin, config.fence_y_max - margin
    x_low, x_high = config.fence_x_min + margin + end_inset, config.fence_x_max - margin - end_inset
    if x_low >= x_high:
        x_low = x_high = (config.fence_x_min + config.fence_x_max) / 2.0
    lanes = max(1, math.ceil((y_high - y_low) / swath))
    step = (y_high - y_low) / lanes
    ys = [y_low + step * (k + 0.5) for k in range(lanes)]
    if abs(start[1] - ys[-1]) < abs(start[1] - ys[0]):
        ys.reverse()
    forward = abs(start[0] - x_low) <= abs(start[0] - x_high)
    pieces = max(1, math.ceil((x_high - x_low) / SURVEY_LEG))
    xs = [x_low + (x_high - x_low) * k / pieces for k in range(pieces + 1)]
    points = []
    for y in ys:
        points += [[round(x, 3), round(y, 3), height] for x in (xs if forward else xs[::-1])]
        forward = not forward
    return points


def needs_survey(reason: str) -> bool:
    """Whether a plan that failed for ``reason`` might succeed once more of the field has been seen."""
    return not any(words in reason for words in NOT_ABOUT_THE_FIELD)


class FieldSearch:
    """The survey, and the approach before a step whose object is out of view (see the module docstring)."""

    def __init__(self, memory: FieldMemory, config: QuadrotorConfig, run_step: RunStep,
                 live_scene: Callable[[], Optional[PerceivedScene]], position: Callable[[], Optional[np.ndarray]],
                 airborne: Callable[[], bool], say: Callable[[str], None] = lambda text: None):
        self.memory, self.config, self.say = memory, config, say
        self._run, self._live, self._position, self._airborne = run_step, live_scene, position, airborne

    def survey(self, stop: threading.Event, progress: Callable[[str], None] = lambda text: None
               ) -> Tuple[bool, str]:
        """Take off (or climb) to SURVEY_HEIGHT and fly the lawnmower; the memory counts as surveyed after."""
        here = self._position()
        if here is None:
            return False, 'no robot state yet to start a survey from'
        if self._airborne():
            first = Step('fly_to', {'point': [float(here[0]), float(here[1]), SURVEY_HEIGHT]}, robot='quadrotor',
                         source='survey')
        else:
            first = Step('take_off', {'height': SURVEY_HEIGHT}, robot='quadrotor', source='survey')
        legs = [first] + [Step('fly_to', {'point': p}, robot='quadrotor', source='survey')
                          for p in survey_points(self.config, here)]
        for k, leg in enumerate(legs):
            progress(f'surveying the field ({k + 1}/{len(legs)}): {leg.describe()}')
            for _ in range(LEG_ATTEMPTS):
                ok, message = self._run(leg, stop)
                if ok or stop.is_set():
                    break
            if not ok:
                return False, f'survey stopped at {leg.describe()}: {message}'
        self.memory.surveyed = True
        seen = ', '.join(f'{o.color} {o.label}' for o in self.memory.objects()) or 'nothing'
        return True, f'surveyed the field: {seen}'

    def _approach_height(self, ref: ObjectRef) -> float:
        """How high above an object to see it whole with ground around it: a wide pad seen from 1 m fills the
        view, and perception, finding no ground to set it on, sees nothing."""
        near = [o for o in self.memory.objects() if o.label == ref.label and o.color == ref.color and
                np.linalg.norm(np.asarray(o.position, float) - ref.position) <= self.memory.merge_distance]
        width = max((float(max(o.extent[0], o.extent[1])) for o in near), default=0.0)
        return float(min(max(APPROACH_HEIGHT, width / VIEW_SHARE), SURVEY_HEIGHT))

    def execute_step(self, step: Step, stop: threading.Event) -> Tuple[bool, str]:
        """Run ``step`` on the objects as perception sees them now, first flying over any that are out of view."""
        live = self._live() or PerceivedScene(objects=[])
        for arg, ref in step.refs.items():
            if step.args.get(arg) != ref.id:
                continue
            if any(o.label == ref.label and o.color == ref.color and
                   np.linalg.norm(np.asarray(o.position, float) - ref.position) <= self.memory.merge_distance
                   for o in live.objects):
                continue
            centre = np.asarray(ref.position, float)
            point = [float(centre[0]), float(centre[1]), float(centre[2]) + self._approach_height(ref)]
            approach = Step('fly_to', {'point': point}, robot=step.robot, source=f'approach {ref.describe()}')
            self.say(f'{ref.describe()} is out of view: {approach.describe()} before {step.describe()}')
            ok, message = self._run(approach, stop)
            if not ok:
                return False, f'{step.skill}: could not fly over {ref.describe()}: {message}'
        bound, _, _ = rebind([step], self.memory.scene(self._live()))
        return self._run(bound[0], stop)


def _distance(a: PerceivedObject, b: PerceivedObject) -> float:
    return float(np.linalg.norm(np.asarray(a.position, float) - np.asarray(b.position, float)))
