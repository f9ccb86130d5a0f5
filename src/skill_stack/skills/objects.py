"""The objects and keypoints a skill's arguments name, looked up in the perceived scene."""

import numpy as np

from skill_stack.perception.grounding import ground
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.skills.schema import SkillArgumentError


def find_object(scene: PerceivedScene, ref: str, skill: str, argument: str) -> PerceivedObject:
    """The one object ``ref`` names: an object id, or a phrase perception's grounding resolves
    ("the red cube", "the block left of the bowl"); no match or an ambiguous phrase is refused."""
    for obj in scene.objects:
        if obj.id == ref:
            return obj
    answer = ground(ref.replace('_', ' '), scene)
    if answer.status == 'matched' and len(answer.objects) == 1:
        return answer.objects[0]
    if answer.status == 'matched':
        ids = ', '.join(o.id for o in answer.objects)
        raise SkillArgumentError(f"{skill}: argument '{argument}': '{ref}' names {len(answer.objects)} objects "
                                 f'({ids}); this skill takes one')
    raise SkillArgumentError(f"{skill}: argument '{argument}': {answer.status.replace('_', ' ')} for '{ref}': "
                             f'{answer.message}')


def keypoint(obj: PerceivedObject, name: str, skill: str) -> np.ndarray:
    point = obj.keypoint(name)
    if point is None:
        raise SkillArgumentError(f"{skill}: object '{obj.id}' has no '{name}' keypoint "
                                 f"(it has {[k.name for k in obj.keypoints]})")
    return np.asarray(point.position, float).copy()
