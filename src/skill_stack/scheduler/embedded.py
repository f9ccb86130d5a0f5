"""The embedded planner: the instruction grammar, perception's grounding and the skill schemas; no weights.

For each clause of ``instruction.parse_instruction`` it chooses what the verb
means for this robot (``lexicon.CONCEPT_SKILLS``: "pick up" is pick for the arm,
grasp for the hand; "move X to Y" is a put, "move X left" a push), chooses the
reading of the clause whose noun phrases ground best in the current scene,
and fills the skill's arguments by kind from its schema: object arguments from
the grounded phrases (object ids), numbers from quantities of the same
dimension (steered by words like "height" or "for"), a push direction from a
direction phrase, choices from words or the part named.  Pronouns ("it",
"them", "there") refer to the previous clause; a clause without a verb repeats
the previous one.  Plural phrases expand to one step per object, in an order
that keeps the steps out of each other's way; "stack" puts each object on the
previous one, biggest at the bottom.  When a phrase is ambiguous the skills'
feasibility decides if one candidate is clearly better (SayCan), else the plan
fails with grounding's question.  ``planning.finalize`` then inserts implicit
steps (pick before place, take_off before fly_to) and scores every step.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.language import parse as parse_phrase
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler import lexicon as lx
from skill_stack.scheduler.binding import ref_of
from skill_stack.scheduler.catalog import SkillCatalog, clear_winner, rank
from skill_stack.scheduler.effects import effect
from skill_stack.scheduler.instruction import Clause, parse_instruction
from skill_stack.scheduler.plan import PlanResult, RobotState, Step
from skill_stack.scheduler.planning import (
    MAX_INSTRUCTION_CHARS,
    MIN_FEASIBILITY,
    as_state,
    check_instruction,
    check_scene,
    finalize,
    skill_list,
)
from skill_stack.scheduler.references import EMPTY, Ref, Resolver
from skill_stack.scheduler.slots import Unplannable, direction_arg, fill

IGNORED_WORD_FACTOR = 0.9  # confidence kept per word before the verb the grammar did not know
# Prepositions that make "take X to Y" a put; "take the cube on the pad" only locates the cube.
DIRECTIONAL = tuple(tuple(p.split()) for p in ('into', 'in to', 'onto', 'on to', 'to', 'towards', 'toward',
                                                'on top of'))
_STATUS_WEIGHT = {'matched': 3.0, 'ambiguous': 2.0, 'empty': 1.0, 'robot': 0.5, 'no_match': 0.0, 'place': 0.0}


class EmbeddedPlanner:
    """The default planner (``make_planner('embedded')``)."""

    name = 'embedded'

    def __init__(self, *, max_chars: int = MAX_INSTRUCTION_CHARS, max_steps: int = 40,
                 min_feasibility: float = MIN_FEASIBILITY):
        self.max_chars = int(max_chars)
        self.max_steps = int(max_steps)
        self.min_feasibility = float(min_feasibility)

    def plan(self, instruction: str, scene: PerceivedScene, skills: Any, robot: Any = None,
             image: Optional[np.ndarray] = None) -> PlanResult:
        """A plan for ``instruction``; ``image`` is not used (the grammar reads the scene, not pixels)."""
        problem = check_instruction(instruction, self.max_chars) or check_scene(scene)
        if problem:
            return PlanResult.failure(problem, self.name)
        catalog, state = SkillCatalog.of(skills), as_state(robot)
        if not catalog.names(state.embodiment):
            return PlanResult.failure(f'no skills for a robot of embodiment {state.embodiment!r}', self.name)
        job = _Job(instruction, scene, catalog, state)
        try:
            steps = job.run()
        except Unplannable as err:
            return PlanResult.failure(str(err), self.name, job.notes)
        if len(steps) > self.max_steps:
            return PlanResult.failure(f'the plan would take {len(steps)} steps; the limit is {self.max_steps}',
                                      self.name, job.notes)
        return finalize(steps, scene, state, catalog, instruction=instruction, planner=self.name, notes=job.notes,
                        min_feasibility=self.min_feasibility)


class _Job:
    """One call of plan(): the clauses, what earlier clauses referred to, and the steps so far."""

    def __init__(self, instruction: str, scene: PerceivedScene, catalog: SkillCatalog, state: RobotState):
        self.instruction, self.scene, self.catalog, self.state = instruction, scene, catalog, state
        self.own = catalog.names(state.embodiment)
        self.steps: List[Step] = []
        self.notes: List[str] = []
        self.resolve = Resolver(scene, state.position)

    def run(self) -> List[Step]:
        verbs = {tuple(name.split('_')): (name,) for name in self.catalog.names()}
        clauses = parse_instruction(self.instruction, verbs)
        previous: Optional[Clause] = None
        for k, clause in enumerate(clauses):
            if not clause.body and 'acquire' in clause.concepts and k + 1 < len(clauses):
                continue  # "pick and place X in Y": the place's own pick
            elliptical = not clause.concepts
            if elliptical:
                if previous is None:
                    said = clause.words if self.steps else self.instruction.strip()
                    raise Unplannable(f'I did not understand "{_clip(said)}": it names no action I know. '
                                      f'The {self.state.embodiment} can {self._abilities()}.')
                clause = _inherit(clause, previous)
            self.clause(clause, elliptical)
            previous = clause
        if not self.steps:
            raise Unplannable(f'I did not understand "{_clip(self.instruction.strip())}": it names no action I '
                              f'know. The {self.state.embodiment} can {self._abilities()}.')
        return self.steps

    def _abilities(self) -> str:
        said = [lx.CONCEPT_WORDS[c] for c, names in lx.CONCEPT_SKILLS.items() if set(names) & set(self.own)]
        return ', '.join(dict.fromkeys(said)) or f'run {skill_list(self.catalog, self.state.embodiment)}'

    # -- what the verb means here ----------------------------------------------------------------
    def _skill(self, concept: str) -> Optional[str]:
        if concept in lx.CONCEPT_SKILLS:
            return next((s for s in lx.CONCEPT_SKILLS[concept] if s in self.own), None)
        return concept if concept in self.own else None

    def _available(self, concept: str) -> bool:
        if concept == 'move':
            return self._skill('put') is not None or self._skill('push') is not None
        if concept == 'stack':
            return self._skill('put') is not None
        return self._skill(concept) is not None

    def clause(self, clause: Clause, elliptical: bool = False) -> None:
        concept = next((c for c in clause.concepts if self._available(c)), None)
        if concept is None:
            wanted = clause.concepts[0]
            what = lx.CONCEPT_WORDS.get(wanted, f"run '{wanted}'")
            raise Unplannable(f'the {self.state.embodiment} cannot {what} ("{_clip(clause.words)}"): its skills '
                              f'are {skill_list(self.catalog, self.state.embodiment)}')
        confidence = IGNORED_WORD_FACTOR ** len(clause.ignored)
        if clause.ignored:
            self.notes.append(f'ignored the words: {" ".join(clause.ignored)}')
        if concept in ('acquire', 'move', 'put', 'stack'):
            self._placing(concept, clause, confidence, elliptical)
        else:
            self._simple(self._skill(concept), clause, confidence)

    def _placing(self, concept: str, clause: Clause, confidence: float, elliptical: bool) -> None:
        """Verbs that may move an object to a destination: acquire ("take X to Y"), move, put, stack."""
        put, push = self._skill('put'), self._skill('push')
        if concept == 'move' and clause.direction is not None and push is not None:
            return self._simple(push, clause, confidence)
        pair = None
        if put is not None:
            prepositions = DIRECTIONAL if concept == 'acquire' else lx.PUT_PREPOSITIONS
            pair = self._best(clause, prepositions, need_destination=True)
            if pair is None and elliptical and self.resolve.last_destination is not None and concept != 'acquire':
                pair = (self.resolve(' '.join(clause.body)), self.resolve.last_destination)
        if concept == 'stack':
            theme, destination = pair or (self.resolve(' '.join(clause.body)), EMPTY)
            return self._stack(put, theme, destination, clause, confidence)
        if pair is not None and (concept != 'acquire' or pair[1].status in ('matched', 'ambiguous')):
            return self._put(put, pair[0], pair[1], clause, confidence)
        if concept == 'acquire':
            return self._simple(self._skill('acquire'), clause, confidence)
        if concept == 'put' and self._skill('release') is not None:
            return self._simple(self._skill('release'), clause, confidence)
        raise Unplannable(f'say where to {clause.verb} {" ".join(clause.body) or "it"} '
                          f'("{_clip(clause.words)}"): into or onto which object?')

    # -- readings ------------------------------------------------------------------------------------
    def _best(self, clause: Clause, prepositions, need_destination: bool) -> Optional[Tuple[Ref, Ref]]:
        """The (theme, destination) of the reading that grounds best; later splits win ties."""
        best, best_score = None, -1.0
        for reading in clause.readings(prepositions):
            if need_destination and not reading.destination:
                continue
            theme, destination = self.resolve(reading.theme), self.resolve(reading.destination)
            score = _STATUS_WEIGHT[theme.status] + _STATUS_WEIGHT[destination.status] + _named(reading.destination)
            if score >= best_score:
                best, best_score = (theme, destination), score
        return best if best is not None or need_destination else (EMPTY, EMPTY)

    def _reading_for(self, clause: Clause) -> Ref:
        """The one phrase a single-object skill takes ("go to X", "land on X", "touch X"): the reading whose
        phrase grounds best and leaves no other phrase unused."""
        best, best_score = EMPTY, -math.inf
        for reading in clause.readings(lx.GOTO_PREPOSITIONS):
            theme, destination = self.resolve(reading.theme), self.resolve(reading.destination)
            used, unused = (theme, destination) if not theme.empty else (destination, theme)
            score = _STATUS_WEIGHT[used.status] - (0.0 if unused.empty else 2.0)
            if score > best_score:
                best, best_score = used, score
        return best

    # -- steps ---------------------------------------------------------------------------------------
    def _simple(self, skill: str, clause: Clause, confidence: float) -> None:
        """A skill with at most one object argument, or one whose object arguments take theme then destination."""
        if clause.direction is not None and direction_arg(self.catalog, skill) is None \
                and not self.catalog.takes_offset(skill):
            clause = replace(clause, body=[*clause.body, *clause.direction_words.split()], direction=None)
        object_args = self.catalog.object_args(skill)
        refs: Dict[str, Ref] = {}
        if len(object_args) >= 2:
            theme, destination = self._best(clause, lx.GOTO_PREPOSITIONS, need_destination=False)
            refs = {object_args[0].name: theme, object_args[1].name: destination}
        elif object_args:
            refs = {object_args[0].name: self._reading_for(clause)}
        elif clause.body:
            self.notes.append(f'{skill} takes no object: ignored "{" ".join(clause.body)}"')
        self._emit(skill, refs, clause, confidence)
        named = [r for r in refs.values() if r.status == 'matched']
        if named:
            self.resolve.last_theme = named[0].objects
            if not effect(skill).acquires:  # "fly to the pad and land there"; not "pick it up ... there"
                self.resolve.last_destination = named[-1]

    def _put(self, skill: str, theme: Ref, destination: Ref, clause: Clause, confidence: float) -> None:
        object_args = self.catalog.object_args(skill)
        if len(object_args) < 2:
            raise Unplannable(f'{skill} takes no destination')
        if theme.empty:
            theme = self.resolve('it')
        refs = {object_args[0].name: theme, object_args[1].name: destination}
        self._drop_trailing_acquires(theme.objects)
        self._emit(skill, refs, clause, confidence, multiple=object_args[0].name)
        self.resolve.last_theme, self.resolve.last_destination = theme.objects, destination

    def _stack(self, skill: Optional[str], theme: Ref, destination: Ref, clause: Clause, confidence: float) -> None:
        if skill is None:
            raise Unplannable(f'the {self.state.embodiment} cannot stack things')
        _require(theme, 'what to stack')
        if len(theme.objects) < 2 and destination.empty:
            raise Unplannable(f'"{theme.phrase}" is one object; stacking needs two or more, or say what to stack '
                              'it on')
        objects = sorted(theme.objects, key=lambda o: (-_volume(o), _distance(o, self.state.position)))
        if not destination.empty:
            _require(destination, 'what to stack them on')
            if len(destination.objects) != 1:
                raise Unplannable(f'stack on which one? "{destination.phrase}" fits {len(destination.objects)}')
            objects = [destination.objects[0], *[o for o in objects if o.id != destination.objects[0].id]]
        object_args = self.catalog.object_args(skill)
        self._drop_trailing_acquires(objects)
        for below, above in itertools.pairwise(objects):
            refs = {object_args[0].name: Ref(theme.phrase, 'matched', [above], theme.confidence),
                    object_args[1].name: Ref(theme.phrase, 'matched', [below], theme.confidence)}
            self._emit(skill, refs, clause, confidence)
        self.resolve.last_theme = objects

    def _drop_trailing_acquires(self, objects: Sequence[PerceivedObject]) -> None:
        """"pick up X and put it in Y": the put's own pick replaces the explicit one (completion re-inserts it)."""
        ids = {o.id for o in objects}
        while self.steps and effect(self.steps[-1].skill).acquires and \
                self.steps[-1].args.get(effect(self.steps[-1].skill).acquires) in ids:
            self.steps.pop()

    def _emit(self, skill: str, refs: Dict[str, Ref], clause: Clause, confidence: float,
              multiple: str = '') -> None:
        """Steps of ``skill`` for the resolved phrases: one per object of a plural phrase, SayCan among ties."""
        refs = {name: ref for name, ref in refs.items() if not ref.empty}
        plural = multiple or next((n for n, r in refs.items() if r.status == 'matched' and len(r.objects) > 1), '')
        for name, ref in refs.items():
            if ref.status in ('no_match', 'place', 'robot'):
                raise Unplannable(ref.message or f'"{ref.phrase}" names nothing I can see')
            if ref.status == 'matched' and len(ref.objects) > 1 and name != plural:
                raise Unplannable(f'"{ref.phrase}" fits {len(ref.objects)} objects; {skill} takes one '
                                  f'({", ".join(o.id for o in ref.objects)})')
        part = next((r.part for r in refs.values() if r.part), '')
        numbers = fill(self.catalog, skill, clause, part, self.notes)
        many: List[Optional[PerceivedObject]] = [None]
        if plural in refs and refs[plural].status == 'matched':
            used = {o.id for n, r in refs.items() if n != plural and r.status == 'matched' for o in r.objects}
            many = [o for o in refs[plural].objects if o.id not in used] or [None]
        for obj in self._order(many, numbers):
            fixed = {n: ([obj] if n == plural and obj is not None else r.objects) for n, r in refs.items()}
            candidates = self._candidates(skill, fixed, refs, numbers, clause, confidence)
            chosen = candidates[0] if len(candidates) == 1 else clear_winner(rank(candidates))
            if chosen is None:
                ambiguous = next(r for r in refs.values() if r.status == 'ambiguous')
                scores = '; '.join(f'{c.describe()} scores {c.score:.2f}' for c in rank(candidates)[:3])
                raise Unplannable(f'{ambiguous.message} (feasibility does not settle it: {scores})')
            if len(candidates) > 1:
                self.notes.append(f'chose {chosen.describe()} (score {chosen.score:.2f}) over '
                                  f'{len(candidates) - 1} other reading(s) by feasibility')
            self.steps.append(chosen)

    def _candidates(self, skill: str, fixed: Dict[str, List[PerceivedObject]], refs: Dict[str, Ref],
                    numbers: Dict[str, Any], clause: Clause, confidence: float) -> List[Step]:
        """One step per combination of the candidate objects of each argument, scored confidence x feasibility."""
        combos: List[Dict[str, PerceivedObject]] = [{}]
        for name, objects in fixed.items():
            combos = [{**c, name: o} for c in combos for o in objects if o.id not in {x.id for x in c.values()}]
        steps = []
        for combo in combos:
            conf = confidence * math.prod(refs[n].confidence for n in combo) if combo else confidence
            step = Step(skill, {**{n: o.id for n, o in combo.items()}, **numbers}, robot=self.state.embodiment,
                        confidence=float(min(conf, 1.0)), source=clause.words,
                        refs={n: ref_of(o) for n, o in combo.items()})
            steps.append(self.catalog.assess(step, self.scene))
        if not steps:
            names = ', '.join(f'{n}={r.phrase!r}' for n, r in refs.items())
            raise Unplannable(f'{skill}: one object cannot fill two arguments ({names})')
        return steps

    def _order(self, objects: List[Optional[PerceivedObject]], numbers: Dict[str, Any]
               ) -> List[Optional[PerceivedObject]]:
        """Several objects: the one furthest along a push direction first, else the nearest to the robot first."""
        if len(objects) < 2:
            return objects
        if 'direction' in numbers:
            angle = math.radians(float(numbers['direction']))
            axis = np.array([math.cos(angle), math.sin(angle)])
            return sorted(objects, key=lambda o: -float(np.asarray(o.position, float)[:2] @ axis))
        return sorted(objects, key=lambda o: _distance(o, self.state.position))

def _inherit(clause: Clause, previous: Clause) -> Clause:
    """"..., then the blue one": the previous verb, and its amounts and destination unless said anew."""
    return replace(clause, verb=previous.verb, concepts=previous.concepts,
                   quantities=clause.quantities or previous.quantities,
                   direction=clause.direction or previous.direction,
                   direction_words=clause.direction_words or previous.direction_words,
                   sense=clause.sense or previous.sense, axis=clause.axis or previous.axis)


def _named(phrase: str) -> float:
    """A small preference for a destination with a noun ("the bowl at the back" over "the back")."""
    return 0.5 if phrase and parse_phrase(phrase).phrase.shape else 0.0


def _require(ref: Ref, what: str) -> None:
    if ref.empty:
        raise Unplannable(f'say {what}')
    if ref.status != 'matched':
        raise Unplannable(ref.message or f'"{ref.phrase}" names nothing I can see')


def _volume(obj: PerceivedObject) -> float:
    return float(np.prod(np.abs(np.asarray(obj.extent, float))))


def _distance(obj: PerceivedObject, origin: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(obj.position, float)[:2] - np.asarray(origin, float)[:2]))


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + '...'
