"""Grounding: which objects and which part of them a referring expression means, in a perceived scene.

``ground("the rim of the bowl left of the red cube", scene)`` parses the phrase
(``language.parse``) and evaluates the tree against the scene's objects:
noun and colour filter, negations ("not red", "except the big one") take out
what they name, relations to landmark phrases (resolved the same way,
recursively) filter and score, size groups and superlatives/ordinals rank
("between" ranks by the landmarks' midpoint), and the determiner decides how
many objects the phrase asks for.  "No match" and "ambiguous" are
answers in their own right with a message that says what was seen instead or
which candidates tie, so a caller can ask rather than act on a guess.

Conventions: world frame, REP 103, the robot at ``robot_position`` looking
along +x.  Left is +y, right is -y; between objects "in front of" is nearer the
robot (smaller x) and "behind" is further (larger x); with the robot itself as
the landmark, "in front of you" is +x.

``generate_expressions`` writes test expressions for a scene whose answers come
from ground truth with wide margins; ``evaluate_expressions`` scores ``ground``
on them (the ≥95% resolution benchmark).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.language import (
    DIRECTIONS,
    SHAPE_WORDS,
    Expression,
    NounPhrase,
    PartSpec,
    Relation,
    Selector,
    parse,
    singular,
)
from skill_stack.perception.types import COLOR_NAMES, SHAPES, Grounding, Keypoint, PerceivedObject, PerceivedScene

# World directions (xy) of the side words, seen from the robot looking along +x.
_AXES = {'left': np.array([0.0, 1.0]), 'right': np.array([0.0, -1.0]),
         'front': np.array([-1.0, 0.0]), 'back': np.array([1.0, 0.0])}
_RELATION_AXES = {'left': 'left', 'right': 'right', 'front': 'front', 'behind': 'back'}
_PART_AXES = {'left': (0.0, 1.0, 0.0), 'right': (0.0, -1.0, 0.0), 'front': (-1.0, 0.0, 0.0),
              'back': (1.0, 0.0, 0.0), 'top': (0.0, 0.0, 1.0), 'bottom': (0.0, 0.0, -1.0)}

# A directional relation holds within this cone (half-angle 60 degrees) about its axis: "left of"
# accepts front-left, not straight in front.
DIRECTION_COS = 0.5
NEAR_GAP = 0.15  # m between surfaces: "next to" holds below it, and scores fall off towards it
FAR_GAP = 0.15  # m between surfaces: "far from" holds above it
BETWEEN_WIDTH = 0.35  # off the line between two landmarks, as a fraction of their distance (plus 3 cm)
# A superlative or ordinal picks one object only if it beats the next by this much, else it is a tie.
POSITION_MARGIN = 0.02  # m along the direction, or in distance
HEIGHT_MARGIN = 0.01  # m
SIZE_RATIO = 1.25  # volume (or height) ratio that counts as "bigger"
# Graded relations (how squarely left, how near) pick the best candidate only by a clear lead.
SCORE_LEAD = 0.25  # e.g. squarely behind (cos 1) beats 45 degrees off (cos 0.71); 30 degrees off ties
IGNORED_WORD_FACTOR = 0.9  # confidence kept per word the parser skipped
DERIVED_PART_FACTOR = 0.9  # confidence kept for a part computed from pose and extent, not perceived

# Keypoint names to try for a part, in order, when the object lacks the one named.
_PART_FALLBACKS = {'rim': ('rim', 'opening'), 'handle': ('handle', 'grasp'),
                   'grasp': ('grasp', 'grasp_side', 'handle'), 'grasp_side': ('grasp_side', 'grasp')}
_DERIVABLE_PARTS = ('center', 'top', 'bottom', 'left', 'right', 'front', 'back')


class ReferringCase(NamedTuple):
    """A test expression and its answer: the object ids it means (empty: none) and the keypoint named."""

    text: str
    object_ids: Tuple[str, ...]
    keypoint: Optional[str]


# -- geometry of perceived objects -------------------------------------------------------

def _xy(obj: PerceivedObject) -> np.ndarray:
    return np.asarray(obj.position, dtype=float)[:2]


def _rotation(obj: PerceivedObject) -> np.ndarray:
    w, x, y, z = (float(v) for v in np.asarray(obj.quaternion, dtype=float))
    norm = math.sqrt(w * w + x * x + y * y + z * z) or 1.0
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def half_extent_along(obj: PerceivedObject, direction: np.ndarray) -> float:
    """Half the object's size along a world direction (support function of its oriented box)."""
    extent = np.abs(np.asarray(obj.extent, dtype=float))
    return float(0.5 * np.sum(np.abs(_rotation(obj).T @ direction) * extent))


def footprint_radius(obj: PerceivedObject) -> float:
    extent = np.abs(np.asarray(obj.extent, dtype=float))
    return 0.5 * float(max(extent[0], extent[1]))


def _volume(obj: PerceivedObject) -> float:
    return float(np.prod(np.maximum(np.abs(np.asarray(obj.extent, dtype=float)), 1e-4)))


def _height(obj: PerceivedObject) -> float:
    return max(2 * half_extent_along(obj, np.array([0.0, 0.0, 1.0])), 1e-4)


def _gap(a: PerceivedObject, b: PerceivedObject) -> float:
    """Distance between the objects' footprints, approximated by circles (negative when they overlap)."""
    return float(np.linalg.norm(_xy(a) - _xy(b))) - footprint_radius(a) - footprint_radius(b)


def describe(obj: PerceivedObject) -> str:
    """"obj_2 (red box at x=0.50, y=0.10)": what a message shows of an object."""
    if obj.id == 'robot':
        return 'the robot'
    x, y = (float(v) for v in _xy(obj))
    return f'{obj.id} ({obj.color} {obj.label} at x={x:.2f}, y={y:.2f})'


def _short(obj: PerceivedObject) -> str:
    return 'the robot' if obj.id == 'robot' else f'{obj.color} {obj.label} {obj.id}'


def _derived_keypoint(obj: PerceivedObject, name: str) -> Keypoint:
    """A part computed from pose and extent, for perception that did not report it."""
    center = np.asarray(obj.position, dtype=float)
    if name == 'center':
        return Keypoint(name=name, position=center.copy(), confidence=DERIVED_PART_FACTOR * obj.confidence)
    axis = np.array(_PART_AXES[name])
    position = center + axis * half_extent_along(obj, axis)
    return Keypoint(name=name, position=position, confidence=DERIVED_PART_FACTOR * obj.confidence)


def label_matches(label: str, shape: str, noun: str) -> bool:
    """Whether an object's label fits the phrase's noun: the same shape, or a detector label sharing a word."""
    label = label.lower().strip()
    if not shape:
        return True
    if label == shape:
        return True
    if label in SHAPES:
        return False
    words = {singular(w) for w in label.replace('_', ' ').split()}
    noun_words = {singular(w) for w in noun.split()} if noun else set()
    synonyms = {singular(w) for phrase in SHAPE_WORDS.get(shape, ()) for w in phrase.split()}
    return bool(words & (noun_words | synonyms | {shape}))


# -- evaluation ------------------------------------------------------------------------------

@dataclass
class _Answer:
    """The evaluation of one noun phrase."""

    status: str
    objects: List[PerceivedObject]
    message: str = ''
    factor: float = 1.0  # confidence kept after graded choices, fallbacks and ambiguous landmarks
    notes: List[str] = field(default_factory=list)
    rejected: List[Tuple[PerceivedObject, str]] = field(default_factory=list)  # near misses and why


def _point(name: str, position: Sequence[float]) -> PerceivedObject:
    """A place measured to as if it were an object: the robot's base, the midpoint between two landmarks."""
    return PerceivedObject(id=name, label=name, color='', position=np.asarray(position, float),
                           quaternion=np.array([1.0, 0, 0, 0]), extent=np.zeros(3), confidence=1.0)


class _Evaluator:
    def __init__(self, objects: Sequence[PerceivedObject], robot_position: Sequence[float]):
        self.objects = list(objects)
        self.robot = _point('robot', robot_position)

    # noun phrases
    def resolve(self, phrase: NounPhrase, exclude: Iterable[str] = ()) -> _Answer:
        what = phrase.words or 'the object'
        if phrase.shape == 'robot':
            return _Answer('matched', [self.robot], message='the robot')
        excluded = set(exclude)
        candidates = [o for o in self.objects if o.id not in excluded]
        answer = _Answer('matched', [])
        if phrase.shape:
            fitting = [o for o in candidates if label_matches(o.label, phrase.shape, phrase.noun)]
            if not fitting:
                return _Answer('no_match', [], message=f'no {phrase.noun or phrase.shape} seen; '
                               f'the scene has {self._summary(candidates)}')
            candidates = fitting
        if phrase.colors:
            kind = _plural(phrase.noun or 'object')
            fitting = [o for o in candidates if o.color in phrase.colors]
            if not fitting:
                colours = ' or '.join(dict.fromkeys(phrase.colors))
                unknown = [c for c in phrase.colors if c not in COLOR_NAMES]
                hint = f" (perception names colours {', '.join(COLOR_NAMES)})" if unknown else ''
                return _Answer('no_match', [], message=f'no {colours} {phrase.noun or "object"} for "{what}": '
                               f'the {kind} seen are {self._summary(candidates)}{hint}')
            answer.rejected += [(o, f'it is {o.color}') for o in candidates if o not in fitting]
            candidates = fitting
        return self._resolve_rest(phrase, candidates, answer)

    def _resolve_rest(self, phrase: NounPhrase, candidates: List[PerceivedObject], answer: _Answer) -> _Answer:
        what = phrase.words or 'the object'
        for excluded in phrase.negations:
            candidates = self._without(excluded, candidates, answer)
            if not candidates:
                return self._fail(answer, f'nothing fits "{what}": every {phrase.noun or "object"} left is '
                                  f'{excluded.words}')
        scores = {o.id: 1.0 for o in candidates}
        midpoints: List[PerceivedObject] = []
        for relation in phrase.relations:
            result = self._relation(relation, candidates, scores, answer, midpoints)
            if result is not None:
                return result
            candidates = [o for o in candidates if scores[o.id] > 0]
            if not candidates:
                return self._fail(answer, f'nothing fits "{what}": no {phrase.noun or "object"} is '
                                  f'{relation.words} {self._landmark_words(relation)}')
        selectors = list(phrase.selectors)
        for prop, sign in phrase.sizes:
            if phrase.plural or phrase.count:
                candidates = self._size_group(prop, sign, candidates, answer)
            else:  # "the big cube": the biggest one, if clearly so
                criterion = {('volume', 1): 'big', ('volume', -1): 'small', ('height', 1): 'tall',
                             ('height', -1): 'short'}[(prop, sign)]
                selectors.append(Selector(criterion=criterion, words=criterion))
        ranked = [(selector, None) for selector in selectors]
        if midpoints and not (phrase.plural or phrase.count):
            # "the cube between A and B": of those roughly between them, the one nearest their midpoint.
            ranked.append((Selector(criterion='near', words='nearest the midpoint'), midpoints))
        for selector, landmarks in ranked:
            result = self._select(selector, phrase, candidates, answer, landmarks)
            if result.status != 'matched':
                return result
            candidates = result.objects
        return self._determine(phrase, candidates, scores, answer)

    def _without(self, excluded: NounPhrase, candidates: List[PerceivedObject],
                 answer: _Answer) -> List[PerceivedObject]:
        """"not red", "except the big one": the candidates less those the negated phrase names among them
        (every one it could mean, when it is ambiguous; none, when it names nothing there)."""
        among = {o.id for o in candidates}
        result = self.resolve(excluded, exclude=[o.id for o in self.objects if o.id not in among])
        if result.status == 'no_match':
            answer.notes.append(f'none of them is {excluded.words}')
            return candidates
        answer.factor *= result.factor
        ids = {o.id for o in result.objects}
        answer.rejected += [(o, f'it is {excluded.words}') for o in candidates if o.id in ids]
        return [o for o in candidates if o.id not in ids]

    def _determine(self, phrase: NounPhrase, candidates: List[PerceivedObject], scores: Dict[str, float],
                   answer: _Answer) -> _Answer:
        """How many objects the phrase asks for, against how many fit."""
        what = phrase.words or 'the object'
        noun = phrase.noun or 'object'
        ranked = sorted(candidates, key=lambda o: (-scores.get(o.id, 1.0), self._robot_distance(o)))
        if not ranked:
            return self._fail(answer, f'nothing fits "{what}"')
        if phrase.count is not None:
            if len(ranked) == phrase.count:
                return self._ok(answer, ranked)
            if len(ranked) < phrase.count:
                return self._fail(answer, f'"{what}" asks for {phrase.count} but only {len(ranked)} fit: '
                                  f'{self._summary(ranked)}')
            return self._tie(answer, ranked, f'"{what}" asks for {phrase.count} but {len(ranked)} fit')
        if phrase.determiner == 'a':
            if len(ranked) > 1:
                answer.notes.append(f'any of {len(ranked)} would do; chose the best-fitting, nearest one')
                answer.rejected += [(o, 'another one that fits equally') for o in ranked[1:]]
            return self._ok(answer, ranked[:1])
        if phrase.plural or phrase.determiner == 'all':
            if len(ranked) == 1 and phrase.determiner != 'all':
                answer.notes.append(f'"{what}" is plural but only one {noun} fits')
                answer.factor *= 0.8
            return self._ok(answer, ranked)
        if len(ranked) == 1:
            return self._ok(answer, ranked)
        best, second = scores.get(ranked[0].id, 1.0), scores.get(ranked[1].id, 1.0)
        if best - second >= SCORE_LEAD:
            answer.factor *= min(1.0, best - second + 0.5)
            answer.rejected += [(o, f'fits less well (score {scores.get(o.id, 1.0):.2f} against {best:.2f})')
                                for o in ranked[1:]]
            return self._ok(answer, ranked[:1])
        return self._tie(answer, ranked, f'"{what}" fits {len(ranked)} objects')

    # relations
    def _landmarks(self, relation: Relation, answer: _Answer) -> Tuple[Optional[List[List[PerceivedObject]]],
                                                                         Optional[_Answer]]:
        groups = []
        for landmark in relation.landmarks:
            result = self.resolve(landmark)
            if result.status == 'no_match':
                return None, self._fail(answer, f'{result.message} (needed for "{relation.words} {landmark.words}")')
            if result.status == 'ambiguous':
                answer.notes.append(f'"{landmark.words}" could be any of '
                                    f'{", ".join(_short(o) for o in result.objects)}; '
                                    f'"{relation.words}" was checked against each')
                answer.factor *= 0.8
            answer.factor *= result.factor
            groups.append(result.objects)
        return groups, None

    def _relation(self, relation: Relation, candidates: List[PerceivedObject], scores: Dict[str, float],
                  answer: _Answer, midpoints: List[PerceivedObject]) -> Optional[_Answer]:
        """Multiply each candidate's score by how well the relation holds (0 drops it); an answer on failure.

        "between" also adds the midpoints of its landmark pairs to ``midpoints``, to rank by.
        """
        groups, failure = self._landmarks(relation, answer)
        if failure is not None:
            return failure
        landmark_ids = {o.id for group in groups for o in group}
        if relation.kind == 'between':
            if len(groups) == 1:
                if len(groups[0]) != 2:
                    return self._fail(answer, f'"between {relation.landmarks[0].words}" needs two objects, '
                                      f'found {len(groups[0])}')
                pairs = [tuple(groups[0])]
            else:
                pairs = [(a, b) for a in groups[0] for b in groups[1] if a.id != b.id]
            midpoints += [_point('midpoint', (np.asarray(a.position, float) + np.asarray(b.position, float)) / 2)
                          for a, b in pairs]
        for obj in candidates:
            if obj.id in landmark_ids:
                scores[obj.id] = 0.0
                continue
            if relation.kind == 'between':
                score = max((self._between(obj, a, b) for a, b in pairs), default=0.0)
            else:
                score = max(self._relation_score(relation.kind, obj, lm) for lm in groups[0])
            if score <= 0:
                answer.rejected.append((obj, f'it is not {relation.words} {self._landmark_words(relation)}'))
            scores[obj.id] *= score
        return None

    def _relation_score(self, kind: str, obj: PerceivedObject, landmark: PerceivedObject) -> float:
        delta = _xy(obj) - _xy(landmark)
        distance = float(np.linalg.norm(delta))
        if kind in _RELATION_AXES:
            side = _RELATION_AXES[kind]
            if landmark.id == 'robot' and side in ('front', 'back'):
                side = 'back' if side == 'front' else 'front'  # "in front of you" is where the robot looks
            if distance < 1e-6:
                return 0.0
            cosine = float(delta @ _AXES[side]) / distance
            return cosine if cosine >= DIRECTION_COS else 0.0
        if kind in ('near', 'far', 'above', 'below', 'in') and landmark.id == 'robot':
            gap = distance
        else:
            gap = _gap(obj, landmark)
        if kind == 'near':
            return max(0.0, 1.0 - max(gap, 0.0) / NEAR_GAP)
        if kind == 'far':
            return 1.0 if gap >= FAR_GAP else 0.0
        dz = float(obj.position[2] - landmark.position[2])
        if kind == 'above':
            return 1.0 if dz > 0.005 and distance <= footprint_radius(landmark) + 0.5 * footprint_radius(obj) else 0.0
        if kind == 'below':
            return 1.0 if dz < -0.005 and distance <= footprint_radius(obj) + 0.5 * footprint_radius(landmark) else 0.0
        if kind == 'in':
            radius = footprint_radius(landmark)
            inside = distance <= max(radius - 0.25 * footprint_radius(obj), 0.5 * radius)
            return 1.0 if inside and abs(dz) <= _height(landmark) else 0.0
        return 0.0

    @staticmethod
    def _between(obj: PerceivedObject, a: PerceivedObject, b: PerceivedObject) -> float:
        ab = _xy(b) - _xy(a)
        length = float(np.linalg.norm(ab))
        if length < 1e-6:
            return 0.0
        rel = _xy(obj) - _xy(a)
        t = float(rel @ ab) / length ** 2
        off = abs(float(rel[0] * ab[1] - rel[1] * ab[0])) / length
        limit = BETWEEN_WIDTH * length + 0.03
        if not 0.05 < t < 0.95 or off >= limit:
            return 0.0
        return 1.0 - off / limit

    # superlatives and ordinals
    def _key(self, criterion: str, obj: PerceivedObject, landmarks: Sequence[PerceivedObject]) -> float:
        """Larger is more so: further left, nearer, bigger."""
        if criterion in ('near', 'far'):
            distance = min(float(np.linalg.norm(_xy(obj) - _xy(lm))) for lm in landmarks)
            return -distance if criterion == 'near' else distance
        if criterion in ('high', 'low'):
            return float(obj.position[2]) * (1 if criterion == 'high' else -1)
        if criterion in ('big', 'small'):
            return math.log(_volume(obj)) * (1 if criterion == 'big' else -1)
        if criterion in ('tall', 'short'):
            return math.log(_height(obj)) * (1 if criterion == 'tall' else -1)
        axis = sum(_AXES[d] for d in criterion.split('+'))
        axis = axis / (np.linalg.norm(axis) or 1.0)
        return float(_xy(obj) @ axis)

    @staticmethod
    def _margin(criterion: str) -> float:
        if criterion in ('big', 'small', 'tall', 'short'):
            return math.log(SIZE_RATIO)
        if criterion in ('high', 'low'):
            return HEIGHT_MARGIN
        return POSITION_MARGIN

    def _select(self, selector: Selector, phrase: NounPhrase, candidates: List[PerceivedObject],
                answer: _Answer, landmarks: Optional[List[PerceivedObject]] = None) -> _Answer:
        """Keep the object(s) at the selector's rank, or a tie (ambiguous) when the ranking is too close.

        Distances are to ``landmarks`` when given (points, not phrases), else to the selector's landmark
        phrase, else to the robot.
        """
        what = phrase.words or 'the object'
        if landmarks is None and selector.landmark is not None:
            result = self.resolve(selector.landmark)
            if result.status == 'no_match':
                return self._fail(answer, f'{result.message} (needed for "{selector.words}")')
            if result.status == 'ambiguous':
                answer.notes.append(f'"{selector.landmark.words}" could be any of '
                                    f'{", ".join(_short(o) for o in result.objects)}; measured to the nearest')
                answer.factor *= 0.8
            landmarks = result.objects
            ids = {o.id for o in landmarks}
            candidates = [o for o in candidates if o.id not in ids]
        landmarks = landmarks or [self.robot]
        if not candidates:
            return self._fail(answer, f'nothing fits "{what}"')
        if selector.default_direction and len(candidates) > 1:
            answer.notes.append(f'"{selector.words}" read as counted from the left (say "from the right" otherwise)')
            answer.factor *= 0.9
        if selector.criterion == 'middle':
            return self._middle(candidates, answer, what)
        take = phrase.count or 1
        keys = {o.id: self._key(selector.criterion, o, landmarks) for o in candidates}
        ranked = sorted(candidates, key=lambda o: -keys[o.id])
        rank = selector.rank if selector.rank >= 0 else len(ranked) + selector.rank
        if rank < 0 or rank + take > len(ranked):
            return self._fail(answer, f'"{what}" needs at least {abs(selector.rank) + take} '
                              f'{_plural(phrase.noun or "object")}, but only {len(ranked)} fit: '
                              f'{self._summary(ranked)}')
        margin = self._margin(selector.criterion)
        chosen = ranked[rank:rank + take]
        tied = [o for o in ranked if o not in chosen and (
            abs(keys[o.id] - keys[chosen[0].id]) < margin or abs(keys[o.id] - keys[chosen[-1].id]) < margin)]
        if len(ranked) == 1:
            return _Answer('matched', chosen)
        if tied:
            if selector.criterion in ('big', 'small', 'tall', 'short'):
                within = f'within {SIZE_RATIO - 1:.0%} in size'
            else:
                within = f'within {margin * 100:.0f} cm'
            return self._tie(answer, chosen + tied, f'"{selector.words}" does not single out one '
                             f'({within} of each other)')
        answer.rejected += [(o, f'it is not {selector.words}') for o in ranked if o not in chosen]
        return _Answer('matched', chosen)

    def _middle(self, candidates: List[PerceivedObject], answer: _Answer, what: str) -> _Answer:
        if len(candidates) == 1:
            return _Answer('matched', candidates)
        points = np.array([_xy(o) for o in candidates])
        axis = 1 if np.ptp(points[:, 1]) >= np.ptp(points[:, 0]) else 0  # along the row the objects form
        ranked = sorted(candidates, key=lambda o: float(_xy(o)[axis]))
        if len(ranked) % 2 == 0:
            middle = ranked[len(ranked) // 2 - 1:len(ranked) // 2 + 1]
            return self._tie(answer, middle, f'"{what}": {len(ranked)} in a row have no single middle one')
        k = len(ranked) // 2
        values = [float(_xy(o)[axis]) for o in ranked]
        if min(values[k] - values[k - 1], values[k + 1] - values[k]) < POSITION_MARGIN:
            return self._tie(answer, ranked[k - 1:k + 2], f'"{what}": the middle of the row is too close to call')
        answer.rejected += [(o, 'it is not in the middle') for o in ranked if o is not ranked[k]]
        return _Answer('matched', [ranked[k]])

    def _size_group(self, prop: str, sign: int, candidates: List[PerceivedObject],
                    answer: _Answer) -> List[PerceivedObject]:
        """"the big cubes": the group above the widest size gap (no gap, no distinction)."""
        if len(candidates) < 2:
            return candidates
        value = (lambda o: math.log(_volume(o))) if prop == 'volume' else (lambda o: math.log(_height(o)))
        ranked = sorted(candidates, key=value)
        gaps = [value(b) - value(a) for a, b in itertools.pairwise(ranked)]
        cut = int(np.argmax(gaps))
        if gaps[cut] < math.log(SIZE_RATIO):
            answer.notes.append('all of them are about the same size')
            return candidates
        group = ranked[cut + 1:] if sign > 0 else ranked[:cut + 1]
        answer.rejected += [(o, 'its size differs') for o in candidates if o not in group]
        return group

    # answers
    def _ok(self, answer: _Answer, objects: List[PerceivedObject]) -> _Answer:
        answer.status, answer.objects = 'matched', objects
        return answer

    def _fail(self, answer: _Answer, message: str) -> _Answer:
        return _Answer('no_match', [], message=message, notes=answer.notes, rejected=answer.rejected)

    def _tie(self, answer: _Answer, objects: List[PerceivedObject], message: str) -> _Answer:
        return _Answer('ambiguous', objects, message=f'{message}: {", ".join(describe(o) for o in objects)}',
                       factor=answer.factor, notes=answer.notes, rejected=answer.rejected)

    def _robot_distance(self, obj: PerceivedObject) -> float:
        return float(np.linalg.norm(_xy(obj) - _xy(self.robot)))

    @staticmethod
    def _landmark_words(relation: Relation) -> str:
        return ' and '.join(lm.words for lm in relation.landmarks)

    @staticmethod
    def _summary(objects: Sequence[PerceivedObject]) -> str:
        if not objects:
            return 'no objects'
        return ', '.join(_short(o) for o in objects)


def _plural(noun: str) -> str:
    words = noun.split()
    if not words:
        return 'objects'
    last = words[-1]
    if singular(last) != last:
        return noun
    return ' '.join([*words[:-1], last + ('es' if last.endswith(('s', 'x', 'ch', 'sh')) else 's')])


# -- parts -----------------------------------------------------------------------------------

def _part_keypoint(obj: PerceivedObject, part: str) -> Tuple[Optional[Keypoint], str]:
    """The object's keypoint for a part, else a related one (with a note saying so), else one from geometry."""
    for name in _PART_FALLBACKS.get(part, (part,)):
        keypoint = obj.keypoint(name)
        if keypoint is not None:
            return keypoint, '' if name == part else f'{obj.id} has no {part} keypoint; used its {name}'
    if part == 'rim' and obj.label == 'bowl':
        keypoint = _derived_keypoint(obj, 'top')  # the centre of the opening, at rim height
        keypoint.name = 'rim'
        return keypoint, ''
    if part in _DERIVABLE_PARTS:
        return _derived_keypoint(obj, part), ''
    return None, ''


def _has_part(obj: PerceivedObject, part: str) -> bool:
    """Whether the object has this part of its own (for "the handle" with no object named)."""
    if part == 'rim':
        return obj.label == 'bowl' or obj.keypoint('rim') is not None or obj.keypoint('opening') is not None
    return any(obj.keypoint(name) is not None for name in _PART_FALLBACKS.get(part, (part,))[:1])


# -- the public entry point ---------------------------------------------------------------------

def ground(text: str, scene: PerceivedScene, *, robot_position: Sequence[float] = (0.0, 0.0, 0.0)) -> Grounding:
    """Resolve a referring expression to objects (and the part named) in a perceived scene.

    Returns status 'matched' (one object, or several when the phrase asks for several), 'ambiguous'
    (the tied candidates, best first, and a message suggesting how to tell them apart) or 'no_match'
    (a message saying what was seen instead).  Never raises on any text.
    """
    expression = parse(text)
    objects = [o for o in scene.objects if o is not None]
    if not objects:
        return Grounding('no_match', 0.0, [], [], [], f'nothing to ground "{text}" in: the scene has no objects'
                         f' ({scene.status})')
    phrase = expression.phrase
    if phrase.is_empty() and expression.part is None and not phrase.noun:
        return Grounding('no_match', 0.0, [], [], [f'ignored: {" ".join(expression.ignored)}'] if expression.ignored
                         else [], f'found no description of an object in "{text}" '
                         '(say e.g. "the red cube left of the bowl")')
    evaluator = _Evaluator(objects, robot_position)
    if phrase.needs_part and expression.part is not None:
        holders = [o for o in objects if _has_part(o, expression.part.name)]
        if not holders:
            return Grounding('no_match', 0.0, [], [], [], f'no object has a {expression.part.words}; '
                             f'the scene has {evaluator._summary(objects)}')
        evaluator.objects = holders
        phrase.needs_part = False
    answer = evaluator.resolve(phrase)
    return _to_grounding(expression, answer)


def _to_grounding(expression: Expression, answer: _Answer) -> Grounding:
    alternatives = list(answer.notes)
    if expression.ignored:
        alternatives.append(f'ignored the words: {" ".join(expression.ignored)}')
    factor = answer.factor * IGNORED_WORD_FACTOR ** len(expression.ignored)
    if answer.status == 'no_match':
        alternatives += [f'not {describe(o)}: {why}' for o, why in answer.rejected[:6]]
        return Grounding('no_match', 0.0, [], [], alternatives, answer.message)
    objects = answer.objects
    keypoints: List[Keypoint] = []
    part = expression.part
    if part is not None:
        if part.name == 'edge' and objects and all(o.label == 'bowl' for o in objects):
            part = PartSpec(name='rim', plural=part.plural, words=part.words)
        if part.name == 'edge':
            return _which_edge(objects, answer, alternatives, factor)
        for obj in objects:
            keypoint, note = _part_keypoint(obj, part.name)
            if keypoint is None:
                return Grounding('no_match', 0.0, [], [], [*alternatives, f'found {describe(obj)}'],
                                 f'{describe(obj)} has no {part.words}; its keypoints are '
                                 f'{", ".join(k.name for k in obj.keypoints) or "none"}')
            if note:
                alternatives.append(note)
                factor *= 0.8
            keypoints.append(keypoint)
    if answer.status == 'ambiguous':
        alternatives += [f'candidate: {describe(o)}' for o in objects]
        return Grounding('ambiguous', round(factor / len(objects), 3), objects, keypoints, alternatives,
                         answer.message + _disambiguation_hint(objects))
    alternatives += [f'not {describe(o)}: {why}' for o, why in answer.rejected[:6]]
    # A keypoint's confidence already covers its object (perceived parts, or DERIVED_PART_FACTOR x object).
    confidence = factor * min(k.confidence for k in keypoints) if keypoints else \
        factor * min(o.confidence for o in objects)
    names = ', '.join(describe(o) for o in objects)
    what = f'the {part.words} of ' if part is not None else ''
    return Grounding('matched', round(float(np.clip(confidence, 0.0, 1.0)), 3), objects, keypoints, alternatives,
                     f'"{expression.text}" is {what}{names}')


def _which_edge(objects: List[PerceivedObject], answer: _Answer, alternatives: List[str],
                factor: float) -> Grounding:
    """"the edge of the cube": four edges, so ask which."""
    obj = objects[0]
    keypoints = [_part_keypoint(obj, side)[0] for side in DIRECTIONS]
    return Grounding('ambiguous', round(factor / 4, 3), [obj], keypoints,
                     alternatives + [f'the {side} edge of {obj.id}' for side in DIRECTIONS],
                     f'which edge of {describe(obj)}: left, right, front or back?')


def _disambiguation_hint(objects: Sequence[PerceivedObject]) -> str:
    """A phrase that would tell the first two candidates apart."""
    if len(objects) < 2:
        return ''
    a, b = _xy(objects[0]), _xy(objects[1])
    if objects[0].color != objects[1].color:
        return f'; say which colour ({objects[0].color} or {objects[1].color})'
    if abs(a[1] - b[1]) >= abs(a[0] - b[0]):
        return '; say "the left one" or "the right one"'
    return '; say "the front one" or "the back one"'


# -- generated test expressions -------------------------------------------------------------------

_GEN_WORDS = {'box': ('cube', 'block', 'box'), 'sphere': ('ball', 'sphere'), 'bowl': ('bowl', 'cup'),
              'pad': ('pad', 'disc', 'landing pad'), 'cylinder': ('cylinder', 'can', 'tube')}
_GEN_RELATIONS = {'left': ('left of', 'to the left of', 'on the left side of'),
                  'right': ('right of', 'to the right of', 'on the right side of'),
                  'front': ('in front of',), 'back': ('behind', 'in back of')}
_GEN_SUPERLATIVES = {'left': ('the leftmost {n}', 'the {n} on the left', 'the left {n}', 'the {n} furthest left'),
                     'right': ('the rightmost {n}', 'the {n} on the right', 'the right {n}'),
                     'front': ('the frontmost {n}', 'the front {n}', 'the {n} in front'),
                     'back': ('the {n} at the back', 'the back {n}', 'the rearmost {n}'),
                     'near': ('the {n} closest to the robot', 'the nearest {n}', 'the {n} nearest to you'),
                     'far': ('the furthest {n}', 'the {n} farthest from the robot')}
_GEN_PARTS = {'top': ('the top of {t}', 'the top surface of {t}'), 'bottom': ('the bottom of {t}', 'the base of {t}'),
              'center': ('the center of {t}', 'the middle of {t}'),
              'left': ('the left edge of {t}', 'the left side of {t}'),
              'right': ('the right edge of {t}', 'the right side of {t}'),
              'front': ('the front edge of {t}', 'the near side of {t}'),
              'back': ('the back edge of {t}', 'the far side of {t}'),
              'rim': ('the rim of {t}', 'the lip of {t}'), 'handle': ('the handle of {t}',),
              'grasp': ('the grasp point of {t}', 'the grasping point of {t}')}
_ORDINAL_WORDS = ('first', 'second', 'third', 'fourth', 'fifth')
# Margins of the generator's answers: wider than grounding's own, so centimetre perception noise cannot flip them.
_GEN_MARGIN = 0.05  # m
_GEN_COS_STRICT = 0.85  # the target lies within about 30 degrees of the relation's axis
_GEN_COS_CLEAR = 0.2  # every other candidate lies outside about 78 degrees


def _gen_word(shape: str, rng: np.random.Generator, plural: bool = False) -> str:
    word = str(rng.choice(_GEN_WORDS[shape]))
    return _plural(word) if plural else word


def _unique_descriptions(obj: PerceivedObject, objects: Sequence[PerceivedObject],
                         rng: np.random.Generator) -> List[str]:
    """Phrases that name exactly this object by shape and colour alone."""
    same_shape = [o for o in objects if o.label == obj.label]
    same_colour = [o for o in objects if o.color == obj.color]
    same_both = [o for o in same_shape if o.color == obj.color]
    options = []
    if len(same_shape) == 1:
        options.append(f'the {_gen_word(obj.label, rng)}')
    if len(same_both) == 1:
        options.append(f'the {obj.color} {_gen_word(obj.label, rng)}')
    if len(same_colour) == 1:
        options.append(f'the {obj.color} {rng.choice(("one", "object", "thing"))}')
    return options


def _classes(objects: Sequence[PerceivedObject], rng: np.random.Generator) -> List[Tuple[str, List[PerceivedObject]]]:
    """(noun phrase without determiner, members) for each shape and each colour + shape present."""
    out = []
    for shape in sorted({o.label for o in objects}):
        members = [o for o in objects if o.label == shape]
        out.append((_gen_word(shape, rng), members))
        for colour in sorted({o.color for o in members}):
            group = [o for o in members if o.color == colour]
            out.append((f'{colour} {_gen_word(shape, rng)}', group))
    return out


def _gen_cos(obj: PerceivedObject, landmark: PerceivedObject, side: str) -> Tuple[float, float]:
    delta = _xy(obj) - _xy(landmark)
    distance = float(np.linalg.norm(delta))
    return (float(delta @ _AXES[side]) / distance if distance > 1e-9 else 0.0), distance


def generate_expressions(scene: PerceivedScene, rng: np.random.Generator, *, per_kind: int = 3,
                         parts: bool = True, negatives: bool = False) -> List[ReferringCase]:
    """Referring expressions for a (ground-truth) scene with their answers, for benchmarking ``ground``.

    Kinds: unique attributes, directional relations, superlatives, nearest-to, ordinals, between,
    size, plurals, and parts of any of these.  Each answer is computed here from positions, colours
    and shapes with margins wider than grounding's own (5 cm, a 30-degree cone against 78), so it
    is right by construction and survives centimetre perception error.  ``negatives`` adds
    phrases with no answer (expected: no_match).
    """
    objects = [o for o in scene.objects if o.label in SHAPES and o.color in COLOR_NAMES]
    if not objects:
        return []
    cases: Dict[str, List[ReferringCase]] = {}

    def add(kind: str, text: str, ids: Sequence[str], keypoint: Optional[str] = None) -> None:
        cases.setdefault(kind, []).append(ReferringCase(text, tuple(sorted(ids)), keypoint))

    for obj in objects:
        for text in _unique_descriptions(obj, objects, rng):
            add('attribute', text, [obj.id])
    classes = _classes(objects, rng)
    landmarks = [(o, _unique_descriptions(o, objects, rng)) for o in objects]
    landmarks = [(o, d) for o, d in landmarks if d]
    for noun, members in classes:
        for landmark, names in landmarks:
            others = [o for o in members if o.id != landmark.id]
            for side, phrases in _GEN_RELATIONS.items():
                fits = [o for o in others if _gen_cos(o, landmark, side)[0] >= _GEN_COS_STRICT
                        and _gen_cos(o, landmark, side)[1] >= _GEN_MARGIN]
                clear = [o for o in others if _gen_cos(o, landmark, side)[0] < _GEN_COS_CLEAR]
                if len(fits) == 1 and len(fits) + len(clear) == len(others):
                    add('relation', f'the {noun} {rng.choice(phrases)} {rng.choice(names)}', [fits[0].id])
            distances = sorted((float(np.linalg.norm(_xy(o) - _xy(landmark))), o.id) for o in others)
            if len(distances) >= 2 and distances[1][0] - distances[0][0] >= _GEN_MARGIN \
                    and distances[1][0] >= 1.3 * distances[0][0]:
                template = rng.choice(('the {n} closest to {l}', 'the {n} nearest to {l}', 'the {n} nearest {l}',
                                       'the closest {n} to {l}'))
                add('nearest', template.format(n=noun, l=rng.choice(names)), [distances[0][1]])
        if len(members) >= 2:
            for criterion, templates in _GEN_SUPERLATIVES.items():
                if criterion in ('near', 'far'):
                    key = {o.id: float(np.linalg.norm(_xy(o))) * (-1 if criterion == 'near' else 1) for o in members}
                else:
                    key = {o.id: float(_xy(o) @ _AXES[criterion]) for o in members}
                ranked = sorted(members, key=lambda o, key=key: -key[o.id])
                if key[ranked[0].id] - key[ranked[1].id] >= _GEN_MARGIN:
                    add('superlative', str(rng.choice(templates)).format(n=noun), [ranked[0].id])
            ys = sorted(members, key=lambda o: -float(_xy(o)[1]))  # left to right
            gaps = [float(_xy(a)[1] - _xy(b)[1]) for a, b in itertools.pairwise(ys)]
            if len(members) >= 3 and min(gaps) >= _GEN_MARGIN:
                k = int(rng.integers(1, min(len(members), len(_ORDINAL_WORDS))))
                if rng.random() < 0.5:
                    add('ordinal', f'the {_ORDINAL_WORDS[k]} {noun} from the left', [ys[k].id])
                else:
                    add('ordinal', f'the {noun} {_ORDINAL_WORDS[k]} from the right', [ys[-1 - k].id])
            if len(members) == 2:
                big, small = sorted(members, key=lambda o: -_volume(o))
                if _volume(big) >= 3.0 * _volume(small):
                    adjective = str(rng.choice(('big', 'large', 'bigger')))
                    add('size', f'the {adjective} {noun}', [big.id])
                    add('size', f'the {rng.choice(("small", "little", "smaller"))} {noun}', [small.id])
                add('plural', f'both {_plural(noun)}', [o.id for o in members])
            add('plural', f'{rng.choice(("all the", "the", "all"))} {_plural(noun)}', [o.id for o in members])
        for (a, a_names), (b, b_names) in itertools.combinations(landmarks, 2):
            others = [o for o in members if o.id not in (a.id, b.id)]
            inside = [o for o in others if _gen_between(o, a, b) == 'inside']
            outside = [o for o in others if _gen_between(o, a, b) == 'outside']
            if len(inside) == 1 and len(inside) + len(outside) == len(others):
                add('between', f'the {noun} between {rng.choice(a_names)} and {rng.choice(b_names)}', [inside[0].id])
    chosen: List[ReferringCase] = []
    for kind in sorted(cases):
        pool = cases[kind]
        picks = rng.permutation(len(pool))[:per_kind]
        chosen += [pool[int(i)] for i in picks]
    if parts:
        singles = [c for c in chosen if len(c.object_ids) == 1 and c.keypoint is None]
        by_id = {o.id: o for o in objects}
        for case in [singles[int(i)] for i in rng.permutation(len(singles))[:per_kind * 2]]:
            obj = by_id[case.object_ids[0]]
            names = list(_DERIVABLE_PARTS)
            if obj.label == 'bowl':
                names.append('rim')
            names += [n for n in ('handle', 'grasp') if obj.keypoint(n) is not None]
            name = str(rng.choice(names))
            chosen.append(ReferringCase(str(rng.choice(_GEN_PARTS[name])).format(t=case.text), case.object_ids, name))
    if negatives:
        colours = [c for c in COLOR_NAMES if c not in {o.color for o in objects}]
        shapes = [s for s in SHAPES if s not in {o.label for o in objects}]
        if colours:
            chosen.append(ReferringCase(f'the {rng.choice(colours)} {_gen_word(str(rng.choice(SHAPES)), rng)}', (),
                                        None))
        if shapes:
            chosen.append(ReferringCase(f'the {_gen_word(str(rng.choice(shapes)), rng)}', (), None))
    order = rng.permutation(len(chosen))
    return [chosen[int(i)] for i in order]


def _gen_between(obj: PerceivedObject, a: PerceivedObject, b: PerceivedObject) -> str:
    """'inside' clearly between a and b, 'outside' clearly not, '' in the margin."""
    ab = _xy(b) - _xy(a)
    length = float(np.linalg.norm(ab))
    rel = _xy(obj) - _xy(a)
    t = float(rel @ ab) / length ** 2
    off = abs(float(rel[0] * ab[1] - rel[1] * ab[0])) / length
    if 0.25 < t < 0.75 and off <= 0.12 * length and length >= 0.15:
        return 'inside'
    if t < -0.05 or t > 1.05 or off >= 0.55 * length + 0.05:
        return 'outside'
    return ''


@dataclass
class ExpressionScore:
    """How ``ground`` did on generated expressions."""

    total: int
    correct: int
    failures: List[Tuple[str, Tuple[str, ...], str, Tuple[str, ...], str]]  # text, expected, status, got, message

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0


def evaluate_expressions(cases: Sequence[ReferringCase], scene: PerceivedScene,
                         id_map: Optional[Dict[str, Optional[str]]] = None) -> ExpressionScore:
    """Ground each case in ``scene`` and count the right answers.

    ``id_map`` maps the cases' (ground-truth) ids to the scene's ids, for a perceived scene whose
    objects were associated with ground truth; an id mapped to None (missed by perception) makes
    its case a failure.  A case is right when the status is matched, the object ids are exactly
    the expected ones and every keypoint has the expected name; a case expecting no objects is
    right when the answer is no_match.
    """
    correct = 0
    failures = []
    for text, expected, keypoint in cases:
        answer = ground(text, scene)
        got = tuple(sorted(o.id for o in answer.objects))
        mapped = tuple(sorted(str(id_map.get(i)) for i in expected)) if id_map is not None else tuple(expected)
        if not expected:
            ok = answer.status == 'no_match'
        else:
            ok = (answer.status == 'matched' and got == mapped
                  and (keypoint is None or (bool(answer.keypoints)
                                            and all(k.name == keypoint for k in answer.keypoints))))
        if ok:
            correct += 1
        else:
            failures.append((text, mapped, answer.status, got, answer.message))
    return ExpressionScore(total=len(cases), correct=correct, failures=failures)
