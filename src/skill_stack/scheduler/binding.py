"""Keeping a plan's object ids pointing at the same objects as the scene changes.

Perception numbers objects afresh in every scene (ids are stable within one
scene only), and the objects a plan moves do move.  Each step remembers what its
object arguments looked like (``plan.ObjectRef``); ``rebind`` finds each one in a
new scene by label and colour, nearest to where it was last seen, and rewrites
the ids of the remaining steps.  An object that is gone is reported, unless the
robot holds it (the fingers often hide a held object from the camera).
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler.plan import ObjectRef, Step

HELD_REBIND_RADIUS = 0.06  # m, horizontal: a renumbered held object is found this close to where it was


def ref_of(obj: PerceivedObject) -> ObjectRef:
    return ObjectRef(id=obj.id, label=obj.label, color=obj.color,
                     position=tuple(float(v) for v in np.asarray(obj.position, float)))


def find(scene: PerceivedScene, object_id: str) -> Optional[PerceivedObject]:
    return next((o for o in scene.objects if o.id == object_id), None)


def _distance(ref: ObjectRef, obj: PerceivedObject) -> float:
    return float(np.linalg.norm(np.asarray(ref.position, float) - np.asarray(obj.position, float)))


def _held_match(ref: ObjectRef, obj: PerceivedObject) -> bool:
    """Whether ``obj`` can be the held object last seen as ``ref``: the same id (perception tracks ids), or
    (renumbered) straight above or below where it was, as a pick lifts it; a look-alike left on the table
    elsewhere would otherwise take over the held object's steps while the fingers hide it."""
    offset = np.asarray(obj.position, float)[:2] - np.asarray(ref.position, float)[:2]
    return obj.id == ref.id or float(np.linalg.norm(offset)) <= HELD_REBIND_RADIUS


def rebind(steps: List[Step], scene: PerceivedScene, keep: Iterable[str] = ()
           ) -> Tuple[List[Step], List[str], Dict[str, str]]:
    """Copies of ``steps`` with object ids of the new scene, a sentence per object no longer seen, old -> new ids.

    Refs are matched to same-label, same-colour objects, closest pairs first, each object used once;
    ids in ``keep`` (the held object) stay as they are when not seen, and are never given to a look-alike
    elsewhere on the table.
    """
    refs: Dict[str, ObjectRef] = {}
    for step in steps:
        for ref in step.refs.values():
            refs.setdefault(ref.id, ref)
    kept = set(keep)
    pairs = sorted((_distance(ref, obj), old, obj.id) for old, ref in refs.items() for obj in scene.objects
                   if obj.label == ref.label and obj.color == ref.color
                   and (old not in kept or _held_match(ref, obj)))
    mapping: Dict[str, str] = {}
    used = set()
    for _, old, new in pairs:
        if old not in mapping and new not in used:
            mapping[old] = new
            used.add(new)
    problems = [f'{ref.describe()} is no longer seen' for old, ref in refs.items()
                if old not in mapping and old not in kept]
    by_id = {o.id: o for o in scene.objects}
    out = []
    for step in steps:
        copy = step.copy()
        for arg, ref in step.refs.items():
            new = mapping.get(ref.id)
            if new is None:
                continue
            if copy.args.get(arg) == ref.id:
                copy.args[arg] = new
            copy.refs[arg] = ref_of(by_id[new])
        out.append(copy)
    return out, problems, mapping
