"""Noun phrases of an instruction resolved to scene objects: grounding, plus what grounding cannot know.

Perception's ``ground`` answers for a phrase on its own; an instruction also
has pronouns ("it", "them") and "there" that point back to earlier clauses,
coordinated phrases ("the red cube and the blue one"), quantity pronouns
("everything", "everything that fits"), exceptions ("all the cubes except the
red one"), "the rest" (what was not named yet), and words that are not objects
("the table").  ``Resolver`` keeps what earlier clauses named and answers all of
these as a ``Ref``.  A put's destination "it" is the last object named that is
not the one moved ("take the ball closest to the bowl and drop it into it").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence

from skill_stack.perception.grounding import ground
from skill_stack.perception.language import COLOR_WORDS
from skill_stack.perception.language import parse as parse_phrase
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
    fitting: bool = False  # "everything that fits": only what the destination can take

    @property
    def empty(self) -> bool:
        return self.status == 'empty'


EMPTY = Ref('', 'empty')
IN_WORDS = ('in', 'into', 'in to', 'inside', 'inside of')
ON_WORDS = ('on', 'onto', 'on to', 'on top of', 'upon', 'atop')
# "put X into it": the pronoun with its preposition, as a put's destination.
PRONOUN_DESTINATIONS = {f'{p} {w}': (p, w) for p in (*IN_WORDS, *ON_WORDS) for w in ('it', 'that', 'this', 'that one')}
HOLDS_AT = 0.5  # container or support affordance that makes an object a place to put things


class Resolver:
    """Resolves phrases in one scene; ``last_theme`` and ``last_destination`` are what "it" and "there" mean."""

    def __init__(self, scene: PerceivedScene, robot_position: Sequence[float]):
        self.scene, self.robot_position = scene, robot_position
        self.last_theme: List[PerceivedObject] = []
        self.last_destination: Optional[Ref] = None
        self.mentioned: List[PerceivedObject] = []  # every object the plan named so far, landmarks too, in order

    def __call__(self, phrase: str) -> Ref:
        for filler in lx.TRAILING_FILLERS:
            if phrase.endswith(' ' + filler):
                phrase = phrase[:-len(filler) - 1]
        words = tuple(phrase.split())
        fits = lx.suffix(words, lx.FITTING)
        if 0 < fits < len(words):
            return replace(self(' '.join(words[:-fits])), phrase=phrase, fitting=True)
        phrase = lx.QUANTITY_PRONOUNS.get(phrase, phrase)
        words = tuple(phrase.split())
        if len(words) == 2 and words[0] in ('everything', 'anything') and words[1] in COLOR_WORDS:
            phrase = f'all the {words[1]} objects'  # "everything black"
            words = tuple(phrase.split())
        if not words:
            return Ref(phrase, 'empty')
        narrowed = self._rest(phrase, words) or self._exception(phrase, words)
        if narrowed is not None:
            return narrowed
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

    # -- what a phrase names besides its own objects, and what was named before ------------------------
    def landmarks(self, phrase: str) -> List[PerceivedObject]:
        """The objects a phrase names as landmarks ("the red bowl" in "the ball closest to the red bowl")."""
        expression = parse_phrase(phrase)
        words = [lm.words for rel in expression.phrase.relations for lm in rel.landmarks]
        words += [s.landmark.words for s in expression.phrase.selectors if s.landmark is not None]
        found = [ground(w, self.scene, robot_position=self.robot_position) for w in words if w]
        return [o for answer in found if answer.status == 'matched' for o in answer.objects if o.id != 'robot']

    def mention(self, ref: Ref) -> None:
        """Remember what a phrase used in a step named: its objects, then its landmarks (said after them)."""
        if ref.status == 'matched':
            self.mentioned += [*ref.objects, *self.landmarks(ref.phrase)]

    def destination(self, phrase: str, theme: Ref, preposition: str = '') -> Ref:
        """A put's destination.  A pronoun there cannot be the object moved, so it is the last object named
        that is not, and that can take it: a container for "into it", a support or container for "onto it"."""
        preposition, pronoun = PRONOUN_DESTINATIONS.get(' '.join(phrase.split()), (preposition, phrase))
        if tuple(pronoun.split()) not in lx.PRONOUNS or not theme.objects:
            return self(phrase)
        moved = {o.id for o in theme.objects}
        named = [*self.mentioned, *theme.objects, *self.landmarks(theme.phrase)]
        for obj in reversed(named):
            if obj.id not in moved and _holds(obj, preposition):
                return Ref(phrase, 'matched', [obj])
        return self(phrase)

    def _rest(self, phrase: str, words: tuple) -> Optional[Ref]:
        """"the rest": every movable object not named yet; "the rest of the cubes", "the other bowl": of those."""
        if words in lx.REST:
            pool = [o for o in self.scene.objects if movable(o)]
        else:
            lead = next((n for n in range(len(words), 0, -1) if words[:n] in lx.REST_OF), 0)
            if not lead or lead == len(words) or words[lead:] in (('one',), ('ones',)):
                return None
            group = self('all the ' + ' '.join(words[lead:]).removeprefix('the '))
            if group.status != 'matched':
                return group
            pool = group.objects
        named = {o.id for o in self.mentioned}
        left = [o for o in pool if o.id not in named]
        if not left:
            return Ref(phrase, 'no_match', message=f'"{phrase}": nothing is left that was not named already')
        return Ref(phrase, 'matched', left)

    def _exception(self, phrase: str, words: tuple) -> Optional[Ref]:
        """"all the cubes except the red one": the group less what the words after the exception name in it."""
        for i in range(1, len(words) - 1):
            key, n = lx.match(words, i, set(lx.EXCEPT))
            if key is None:
                continue
            group = self(' '.join(words[:i]))
            if group.status != 'matched' or len(group.objects) < 2:
                return None
            left_out = Resolver(PerceivedScene(objects=group.objects), self.robot_position)(' '.join(words[i + n:]))
            if left_out.status != 'matched':
                return Ref(phrase, 'no_match', message=f'"{" ".join(words[i + n:])}" is not one of '
                           f'"{" ".join(words[:i])}" ({left_out.message})')
            ids = {o.id for o in left_out.objects}
            return Ref(phrase, 'matched', [o for o in group.objects if o.id not in ids], group.confidence)
        return None


def _holds(obj: PerceivedObject, preposition: str) -> bool:
    """Whether ``obj`` can take things put in it (in, into) or on it (on, onto); any object for other words."""
    if preposition in IN_WORDS:
        return obj.affordances.get('container', 0.0) >= HOLDS_AT
    if preposition in ON_WORDS:
        return max(obj.affordances.get('container', 0.0), obj.affordances.get('support', 0.0)) >= HOLDS_AT
    return True


def movable(obj: PerceivedObject) -> bool:
    """What "the rest" moves: things to pick up, not the bowls and pads they go into or onto."""
    return obj.affordances.get('graspable', 0.0) >= HOLDS_AT and obj.affordances.get('container', 0.0) < HOLDS_AT
