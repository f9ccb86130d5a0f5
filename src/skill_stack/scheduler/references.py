"""Noun phrases of an instruction resolved to scene objects: grounding, plus what grounding cannot know.

Perception's ``ground`` answers for a phrase on its own; an instruction also
has pronouns ("it", "them") and "there" that point back to earlier clauses,
coordinated phrases ("the red cube and the blue one"), quantity pronouns
("everything"), and words that are not objects ("the table").  ``Resolver``
keeps what earlier clauses named and answers all of these as a ``Ref``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from skill_stack.perception.grounding import ground
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler import lexicon as lx


@dataclass
class Ref:
    """A noun phrase resolved in the scene (or to an earlier phrase)."""

    phrase: str
    status: str  # matched, ambiguous, no_match, empty, robot, place
    objects: List[PerceivedObject] = field(default_factory=list)
    confidence: float = 1.0
    message: str = ''
    part: str = ''  # the keypoint named ("the rim of the bowl")

    @property
    def empty(self) -> bool:
        return self.status == 'empty'


EMPTY = Ref('', 'empty')


class Resolver:
    """Resolves phrases in one scene; ``last_theme`` and ``last_destination`` are what "it" and "there" mean."""

    def __init__(self, scene: PerceivedScene, robot_position: Sequence[float]):
        self.scene, self.robot_position = scene, robot_position
        self.last_theme: List[PerceivedObject] = []
        self.last_destination: Optional[Ref] = None

    def __call__(self, phrase: str) -> Ref:
        for filler in lx.TRAILING_FILLERS:
            if phrase.endswith(' ' + filler):
                phrase = phrase[:-len(filler) - 1]
        phrase = lx.QUANTITY_PRONOUNS.get(phrase, phrase)
        words = tuple(phrase.split())
        if not words:
            return Ref(phrase, 'empty')
        if words[0] in ('it', 'them', 'itself') and words not in lx.PRONOUNS:
            return Ref(phrase, 'no_match', message=f'"{phrase}" does not describe an object')
        if words in lx.PRONOUNS:
            if self.last_theme:
                return Ref(phrase, 'matched', list(self.last_theme))
            return Ref(phrase, 'no_match', message=f'"{phrase}": nothing was named before it')
        if phrase in lx.THERE:
            if self.last_destination is not None:
                return self.last_destination
            return Ref(phrase, 'no_match', message=f'"{phrase}": no place was named before it')
        if phrase in lx.NOT_OBJECTS or (len(words) > 1 and ' '.join(words[1:]) in lx.NOT_OBJECTS):
            return Ref(phrase, 'place', message=f'"{phrase}" is not an object I can see; name an object')
        if ' and ' in phrase:  # "the red cube and the blue one": each part must name objects by itself
            parts = [self(p.strip()) for p in phrase.split(' and ') if p.strip()]
            if len(parts) > 1 and all(p.status == 'matched' for p in parts):
                objects = list({o.id: o for p in parts for o in p.objects}.values())
                return Ref(phrase, 'matched', objects, min(p.confidence for p in parts))
        answer = ground(phrase, self.scene, robot_position=self.robot_position)
        objects = [o for o in answer.objects if o.id != 'robot']
        if answer.status == 'matched' and not objects:
            return Ref(phrase, 'robot', message=f'"{phrase}" is the robot itself')
        part = answer.keypoints[0].name if answer.keypoints else ''
        return Ref(phrase, answer.status, objects, float(answer.confidence), answer.message, part)
