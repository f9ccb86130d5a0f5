"""Object ids that stay the same from frame to frame, so a plan or a skill can name an object by id.

The pipeline numbers the objects of each frame afresh. `IdTracker` renames
them: an object takes the id of the remembered object of the same colour
nearest to it (within ``max_jump`` metres, closest pairs first, each id used
once; another compact shape - box, sphere, cylinder, which a partial view
confuses - costs ``label_penalty`` metres, so the same shape wins when both are
near; a pad is only ever itself, a bowl a cylinder only where it stands, when
filled); anything else gets a new id, never reused. Objects out of
sight (a cube in the fingers, hidden by the gripper) are remembered for
``memory_s`` seconds, so when it is set down it comes back with its old id,
matched within ``max_reappear`` metres; so does an object gone from where it
was in the last frame and seen again further off (lifted, a sliver of it in
the fingers), once every near match is made.

A partly hidden object often looks like another shape (a ball in a bowl seen
from above as a box, a sliver between the fingers as a cylinder): a track keeps
the shape it was seen as most often, so its class changes only on sustained
evidence, never on a glimpse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Dict, List

import numpy as np

from skill_stack.perception.types import PerceivedScene


@dataclass
class _Track:
    color: str
    position: np.ndarray
    seen: float  # stamp of the last frame it was in
    labels: Counter = field(default_factory=Counter)  # frames seen as each shape

    @property
    def label(self) -> str:
        """The shape it was seen as most often (the first seen of equals)."""
        return self.labels.most_common(1)[0][0]


# Shapes a partial view turns into one another; pads look like nothing else, and a bowl only (filled, its
# hollow hidden) like a cylinder where it stood.
CONFUSABLE = frozenset(('box', 'sphere', 'cylinder'))
FILLED_BOWL = frozenset(('bowl', 'cylinder'))


def _same_kind(a: str, b: str, near: bool) -> bool:
    return a == b or (a in CONFUSABLE and b in CONFUSABLE) or (near and {a, b} == FILLED_BOWL)


class IdTracker:
    def __init__(self, max_jump: float = 0.08, max_reappear: float = 0.6, memory_s: float = 60.0,
                 label_penalty: float = 0.05):
        self.max_jump, self.max_reappear, self.memory_s = max_jump, max_reappear, memory_s
        self.label_penalty = label_penalty
        self._tracks: Dict[str, _Track] = {}
        self._next = 0
        self._last = float('-inf')  # stamp of the previous frame

    def reset(self) -> None:
        """Forget every object (a new scene): ids start again from obj_0."""
        self._tracks.clear()
        self._next = 0
        self._last = float('-inf')

    def update(self, scene: PerceivedScene) -> PerceivedScene:
        """``scene`` with its objects renamed to their tracked ids (a copy; the input is not changed)."""
        stamp = float(scene.stamp)
        if stamp < self._last:
            self.reset()  # time went backwards: the simulation was reset
        self._tracks = {k: t for k, t in self._tracks.items() if stamp - t.seen <= self.memory_s}
        pairs = []
        for i, obj in enumerate(scene.objects):
            for track_id, track in self._tracks.items():
                distance = float(np.linalg.norm(np.asarray(obj.position, float) - track.position))
                if track.color == obj.color and _same_kind(track.label, obj.label, distance <= self.max_jump):
                    # In the previous frame and near: the same object, moved a little.  Else (hidden a while, or
                    # gone from where it just was: lifted into the fingers) it may come back within max_reappear,
                    # once every near match is made.
                    near = track.seen == self._last and distance <= self.max_jump
                    if near or distance <= self.max_reappear:
                        cost = distance + (0.0 if track.label == obj.label else self.label_penalty)
                        pairs.append((0 if near else 1, cost, i, track_id))
        names: Dict[int, str] = {}
        for _, _, i, track_id in sorted(pairs):
            if i not in names and track_id not in names.values():
                names[i] = track_id
        objects: List = []
        for i, obj in enumerate(scene.objects):
            if i not in names:
                names[i] = f'obj_{self._next}'
                self._next += 1
            track = self._tracks.get(names[i]) or _Track(obj.color, np.asarray(obj.position, float), stamp)
            track.labels[obj.label] += 1
            track.position, track.seen = np.asarray(obj.position, float).copy(), stamp
            self._tracks[names[i]] = track
            objects.append(replace(obj, id=names[i], label=track.label))
        self._last = stamp
        return replace(scene, objects=objects)
