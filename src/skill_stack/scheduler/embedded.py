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
previous one, biggest at the bottom.  "Put X next to / left of / behind Y"
places X at a free table point beside Y and "push X towards / away from Y"
pushes along the line between them (``relative``); a put's destination "it"
is the last object named that is not the one moved.  A put without a
destination ("put it down", "drop it", "let go of it", "put it back") leaves the
held object where it was picked up from; "swap A and B" sets A down on a spare
spot, B in A's place and A in B's.  Table spots are worked out in the scene as
the steps before leave it (``effects.settle``).  When a phrase is ambiguous the
skills' feasibility decides if one candidate is clearly better (SayCan; a put
is no more feasible than the pick it needs), else the plan fails with
grounding's question.  A quadrotor's flight to no object starts where the steps
before leave it (``effects.flown``): "fly 2 m to the left" goes to the point that
far along (REP 103 at the take-off point; "go up 1 m" once flying), "go home" back
over the take-off point, and "return home" (or "come back") lands there too, as a
drone's return-to-home does.  ``planning.finalize`` then inserts implicit
steps (pick before place, take_off before fly_to) and scores every step.
A failure ends with instructions that would work in this scene (``examples``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.grounding import describe, footprint_radius
from skill_stack.perception.language import parse as parse_phrase
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler import lexicon as lx
from skill_stack.scheduler.binding import find, ref_of
from skill_stack.scheduler.catalog import SkillCatalog, clear_winner, rank
from skill_stack.scheduler.effects import apply, complete, effect, flown, settle
from skill_stack.scheduler.examples import suggestion
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
from skill_stack.scheduler.references import EMPTY, HOLDS_AT, Ref, Resolver, movable
from skill_stack.scheduler.relative import GAP, push_along, spots_beside, standing_at, table_point
from skill_stack.scheduler.slots import MOVE_SIZES, Unplannable, direction_arg, fill

SUGGESTED = ('say e.g.', 'try e.g.')  # a failure message that already shows a way to say it
IGNORED_WORD_FACTOR = 0.9  # confidence kept per word before the verb the grammar did not know
# Prepositions that make "take X to Y" a put; "take the cube on the pad" only locates the cube.
DIRECTIONAL = tuple(tuple(p.split()) for p in ('into', 'in to', 'onto', 'on to', 'to', 'towards', 'toward',
                                                'on top of'))
_SEEN = ('matched', 'ambiguous')
# Arguments whose amounts add up over repeated steps: a request beyond the skill's maximum is split.
_CUMULATIVE = {'rotate': 'angle', 'push': 'distance'}
MAX_PARTS = 4  # at most this many steps for one such request
_STATUS_WEIGHT = {'matched': 3.0, 'ambiguous': 2.0, 'empty': 1.0, 'robot': 0.5, 'no_match': 0.0, 'place': 0.0}
# Verbs that fly the robot back to where it took off when they name no object but home; of those, "return" and
# "come back" also land there, as a drone's return-to-home does ("go back to the start" only flies there).
HOME_CONCEPTS = ('home', 'land', 'fly', 'goto', 'move')
LANDS_HOME = ('home', 'land')
# Verbs that fly a distance in a direction said ("fly 2 m to the left"), and the verbs whose own direction
# that is once the robot flies ("go up 1 m", "descend 50 cm").
ALONG_CONCEPTS = ('fly', 'goto', 'move')
VERTICAL_CONCEPTS = {'take_off': 1.0, 'land': -1.0}
AT_HOME = 0.15  # m from the take-off point (the world origin) within which a vehicle on the ground is home


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
        result = self._plan(instruction, scene, catalog, state)
        if not result.ok and not any(hint in result.reason for hint in SUGGESTED):
            tip = suggestion(scene, catalog, state.embodiment)
            result = replace(result, reason=f'{result.reason.rstrip(". ")}; {tip}' if tip else result.reason)
        return result

    def _plan(self, instruction: str, scene: PerceivedScene, catalog: SkillCatalog, state: RobotState) -> PlanResult:
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
            if elliptical and previous is None and self._says_where(clause):
                clause, elliptical = replace(clause, verb='put', concepts=('move',)), False  # "I want X in Y"
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

    def _says_where(self, clause: Clause) -> bool:
        """A clause with no verb that still says which object goes into or onto which ("I want the red cube in
        the bowl"): both sides name objects of the scene."""
        return any(self.resolve(reading.theme).status in _SEEN and self.resolve(reading.destination).status in _SEEN
                   for reading in clause.readings(lx.PUT_PREPOSITIONS) if reading.theme and reading.destination)

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
        if concept == 'swap':
            return self._on_table() is not None
        return self._skill(concept) is not None

    def _on_table(self) -> Optional[str]:
        """The put skill when it can also leave an object at a spot on the table (place's ``point``)."""
        put = self._skill('put')
        return put if put is not None and self.catalog.arg(put, 'point') is not None else None

    def clause(self, clause: Clause, elliptical: bool = False) -> None:
        confidence = IGNORED_WORD_FACTOR ** len(clause.ignored)
        if self._flight(clause, confidence):
            return
        concept = next((c for c in clause.concepts if self._available(c)), None)
        if concept is None:
            wanted = clause.concepts[0]
            what = lx.CONCEPT_WORDS.get(wanted, f"run '{wanted}'")
            raise Unplannable(f'the {self.state.embodiment} cannot {what} ("{_clip(clause.words)}"): its skills '
                              f'are {skill_list(self.catalog, self.state.embodiment)}')
        if clause.ignored:
            self.notes.append(f'ignored the words: {" ".join(clause.ignored)}')
        if concept in ('acquire', 'move', 'put', 'stack'):
            self._placing(concept, clause, confidence, elliptical)
        elif concept == 'swap':
            self._swap(clause, confidence)
        elif concept == 'push' and clause.direction is None and self._push_relative(clause, confidence):
            return
        else:
            self._simple(self._skill(concept), clause, confidence)

    # -- flights relative to the vehicle --------------------------------------------------------------
    def _flight(self, clause: Clause, confidence: float) -> bool:
        """A flight to no object: back to where the vehicle took off ("return home", "land where you took off")
        or a distance in a direction ("fly 2 m to the left", "go up 1 m" once flying).  False when the clause
        is no such flight, or the robot does not fly."""
        fly = self._skill('fly')
        if fly is None:
            return False
        concepts = set(clause.concepts)
        if concepts & set(HOME_CONCEPTS) and self._says_home(clause):
            self._fly_home(fly, clause, confidence, land=bool(concepts & set(LANDS_HOME)))
            return True
        if clause.direction is None and (toward := lx.direction_vector(clause.body)) is not None:
            # "fly to the left", "move to the right by 2 m": the verb took the "to", so the body is the direction
            clause = replace(clause, body=[], direction=toward, direction_words=' '.join(clause.body))
        if clause.body:  # "fly to the red pad a bit to the left": the direction shifts the pad's goal
            return False
        length = next((q for q in clause.quantities if q.dimension == 'length'), None)
        said = length.words.split() if length is not None else []
        height = bool(set(said) & set(lx.HEIGHT_WORDS))
        vector = None
        if concepts & set(ALONG_CONCEPTS):  # "fly 2 m to the left", "fly 1 m up", "fly at 2 m"
            vector = (clause.direction or lx.direction_vector([w for w in said if w in lx.DIRECTION_WORDS])
                      or ((0.0, 0.0, 1.0) if height else None))
        sign = next((VERTICAL_CONCEPTS[c] for c in clause.concepts if c in VERTICAL_CONCEPTS), 0.0)
        if vector is None and sign and clause.direction is None and length is not None and self._vehicle().airborne:
            vector = (0.0, 0.0, sign)  # "go up 1 m", "descend to 1 m" once flying
        if vector is None:
            return False
        self._fly_along(fly, vector, clause, confidence, height=height and bool(vector[2]))
        return True

    def _says_home(self, clause: Clause) -> bool:
        """Whether the clause names the take-off point ("home", "back to the start", "where you took off", "there"
        after one of these), or says nothing more after a verb of returning ("come back")."""
        body = lx.trim(clause.body, lx.HOME_LEADS, lx.FILLER_TAILS)[0]
        if not body:
            return 'home' in clause.concepts
        return self.resolve(' '.join(body)).phrase in lx.HOME

    def _vehicle(self) -> RobotState:
        """The robot as the steps so far leave it, with the steps they imply (a take_off before the first
        flight): whether it flies, and where (``effects.flown``)."""
        state, completed = self.state, complete(self.steps, self.state, self.catalog)[0]
        for step in completed if completed is not None else self.steps:
            state = flown(step, state, self.scene, self.catalog)
        return state

    def _airborne(self) -> RobotState:
        """The vehicle before a flight: on the ground, the take_off that ``complete`` will insert climbs first."""
        state = self._vehicle()
        take_off = self._skill('take_off')
        if state.airborne or take_off is None:
            return state
        return flown(Step(take_off, {}), state, self.scene, self.catalog)

    def _fly_along(self, fly: str, direction: Sequence[float], clause: Clause, confidence: float,
                   height: bool = False) -> None:
        """fly_to the point a distance along ``direction`` (REP 103 at the take-off point: x forward, y left, z up)
        from where the steps so far leave the vehicle; ``height``: the length said is the height to fly at."""
        said, clause = _take_length(clause)
        if said is None:
            toward = clause.direction_words or ('up' if direction[2] > 0 else 'down')
            toward = f'to {toward}' if toward.startswith('the ') else toward  # "fly to the left": "to" was the verb's
            raise Unplannable(f'how far? "{_clip(clause.words)}" says no distance; say e.g. "fly 1 m {toward}"')
        point = np.asarray(self._airborne().position, float) + said * np.asarray(direction, float)
        if height:
            point[2] = said
        self._emit(fly, {}, replace(clause, direction=None, direction_words=''), confidence,
                   given={'point': [round(float(v), 4) + 0.0 for v in point]})

    def _fly_home(self, fly: str, clause: Clause, confidence: float, land: bool) -> None:
        """fly_to above the take-off point (the world origin) at the height flown (or the height said), then land
        there when ``land``; a vehicle there already only lands (on the ground: nothing to do)."""
        said, clause = _take_length(clause)  # "return home at 2 m"
        clause = replace(clause, direction=None, direction_words='')
        state = self._vehicle()
        home = math.hypot(*state.position[:2]) <= AT_HOME and (said is None or not state.airborne)
        if not home:
            z = said if said is not None else self._airborne().position[2]
            self._emit(fly, {}, clause, confidence, given={'point': [0.0, 0.0, round(float(z), 4)]})
        if (land or (home and not state.airborne)) and self._skill('land') is not None:
            self._emit(self._skill('land'), {}, clause, confidence)  # on the ground already: skipped as such
        self.resolve.last_destination = Ref('home', 'place', message='"home" is where the robot took off')

    def _placing(self, concept: str, clause: Clause, confidence: float, elliptical: bool) -> None:
        """Verbs that may move an object to a destination: acquire ("take X to Y"), move, put, stack."""
        put, push = self._skill('put'), self._skill('push')
        if concept == 'move' and clause.direction is not None and push is not None:
            return self._simple(push, clause, confidence)
        if concept == 'put' and self._on_table() is not None:
            back, said = _put_back(clause)  # "put it back (down)", "put it back where it was", "... on the table"
            if said and not any(r.destination for r in back.readings(lx.PUT_PREPOSITIONS)):
                return self._put_down(back, confidence)
        pair = None
        if put is not None:
            prepositions = DIRECTIONAL if concept == 'acquire' else lx.PUT_PREPOSITIONS
            found, score = self._ranked(clause, prepositions, need_destination=True)
            pair = found[:2] if found is not None else None
            beside, beside_score = self._ranked(clause, lx.BESIDE, True) if concept in ('move', 'put') else (None, -1)
            side_part = found is not None and found[1].part in ('left', 'right', 'front', 'back')
            if beside is not None and beside[1].status != 'no_match' and (
                    beside_score > score or (beside_score == score and side_part)):
                return self._put_beside(put, *beside, clause, confidence)  # "on the left of the bowl": beside it
            if pair is None and elliptical and self.resolve.last_destination is not None and concept != 'acquire':
                pair = (self.resolve(' '.join(clause.body)), self.resolve.last_destination)
        if concept == 'stack':
            theme, destination = pair or (self.resolve(' '.join(clause.body)), EMPTY)
            return self._stack(put, theme, destination, clause, confidence)
        placeable = pair is not None and pair[1].status in ('matched', 'ambiguous')
        if concept == 'move' and not placeable and push is not None and self._push_relative(clause, confidence):
            return None  # "move the cube towards the bowl"
        if pair is not None and (concept != 'acquire' or placeable):
            return self._put(put, pair[0], pair[1], clause, confidence)
        if concept == 'acquire':
            return self._simple(self._skill('acquire'), clause, confidence)
        if concept == 'put' and self._skill('release') is not None:
            return self._simple(self._skill('release'), clause, confidence)
        if concept == 'put' and self._on_table() is not None:
            return self._put_down(_put_back(clause)[0], confidence)  # "put it down", "drop it", "let go of it"
        raise Unplannable(f'say where to {clause.verb} {" ".join(clause.body) or "it"} '
                          f'("{_clip(clause.words)}"): into or onto which object, or next to which?')

    # -- readings ------------------------------------------------------------------------------------
    def _best(self, clause: Clause, prepositions, need_destination: bool) -> Optional[Tuple[Ref, Ref]]:
        """The (theme, destination) of the reading that grounds best; later splits win ties."""
        best, _ = self._ranked(clause, prepositions, need_destination)
        if best is None:
            return None if need_destination else (EMPTY, EMPTY)
        return best[0], best[1]

    def _ranked(self, clause: Clause, prepositions, need_destination: bool
                ) -> Tuple[Optional[Tuple[Ref, Ref, str]], float]:
        """The (theme, destination, preposition) of the reading that grounds best, and its score (-1: none)."""
        best, best_score = None, -1.0
        for reading in clause.readings(prepositions):
            if need_destination and not reading.destination:
                continue
            theme = self.resolve(reading.theme)
            destination = self.resolve.destination(reading.destination, theme, reading.preposition)
            score = _STATUS_WEIGHT[theme.status] + _STATUS_WEIGHT[destination.status] + _named(reading.destination)
            if score >= best_score:
                best, best_score = (theme, destination, reading.preposition), score
        return best, best_score

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
        if theme.fitting:
            theme = self._fitting(skill, theme, destination)
        theme = _things_to_move(theme, destination)
        refs = {object_args[0].name: theme, object_args[1].name: destination}
        self._drop_trailing_acquires(theme.objects)
        self._emit(skill, refs, clause, confidence, multiple=object_args[0].name)
        self.resolve.last_theme, self.resolve.last_destination = theme.objects, destination

    def _fitting(self, skill: str, theme: Ref, destination: Ref) -> Ref:
        """"everything that fits into the bowl": the objects the robot can pick up (not containers) that the
        place skill rates as fitting the destination."""
        _require(destination, 'where it should fit')
        if len(destination.objects) != 1:
            raise Unplannable(f'fit into which one? "{destination.phrase}" fits {len(destination.objects)} objects')
        target = destination.objects[0]
        held_arg, target_arg = (a.name for a in self.catalog.object_args(skill)[:2])
        acquire = self._skill('acquire')

        def fits(obj: PerceivedObject) -> bool:
            place = Step(skill, {held_arg: obj.id, target_arg: target.id})
            pick = Step(acquire, {effect(acquire).acquires: obj.id}) if acquire else None
            return (obj.id != target.id and obj.affordances.get('container', 0.0) < HOLDS_AT
                    and self.catalog.feasibility(place, self.scene)[0] >= HOLDS_AT
                    and (pick is None or self.catalog.feasibility(pick, self.scene)[0] >= HOLDS_AT))

        objects = [o for o in theme.objects if fits(o)]
        if not objects:
            raise Unplannable(f'nothing of "{theme.phrase}" fits into {describe(target)}')
        return replace(theme, objects=objects)

    def _put_beside(self, skill: str, theme: Ref, landmark: Ref, preposition: str, clause: Clause,
                    confidence: float) -> None:
        """"put X next to / left of / behind Y": X at a free table spot on that side of Y (``relative``)."""
        side = lx.BESIDE[tuple(preposition.split())]
        target = _landmark(landmark, f'put it {preposition}')
        if self.catalog.arg(skill, 'point') is None:
            raise Unplannable(f'{skill} only puts things into or onto objects; say which one')
        if theme.empty:
            theme = self.resolve('it')
        _require(theme, f'what to put {preposition} {landmark.phrase}')
        said, clause = _take_length(clause)
        gap = said if said is not None else GAP  # "put it 10 cm left of the bowl": the gap
        held_arg = self.catalog.object_args(skill)[0].name
        where = {'near': 'next to', 'behind': 'behind', 'front': 'in front of'}.get(side, f'{side} of')
        self._drop_trailing_acquires(theme.objects)
        for obj in self._order([o for o in theme.objects if o.id != target.id], {}):
            spot, why = self._free_spot(skill, held_arg, obj, [self._current(target)], side, gap)
            if spot is None:
                raise Unplannable(f'cannot put {describe(obj)} {where} {describe(target)}: {why}')
            one = Ref(theme.phrase, 'matched', [obj], theme.confidence)
            self._emit(skill, {held_arg: one}, clause, confidence, given={'point': spot})
        self.resolve.last_theme = theme.objects

    def _free_spot(self, skill: str, held_arg: str, obj: PerceivedObject, landmarks: Sequence[PerceivedObject],
                   side: str, gap: float, keep_clear: Sequence[Tuple[np.ndarray, float]] = ()
                   ) -> Tuple[Optional[List[float]], str]:
        """The first spot beside one of ``landmarks`` that the skill rates feasible in the scene the steps so far
        leave, clear of ``keep_clear`` (point, radius); or None and why."""
        now = self._now()
        why = 'no free table there'
        for landmark in landmarks:
            for spot in spots_beside(obj, landmark, now, side, gap, keep_clear):
                point = [round(float(v), 4) + 0.0 for v in spot.point]
                score, why = self.catalog.feasibility(Step(skill, {held_arg: obj.id, 'point': point}), now)
                if score >= MIN_FEASIBILITY:
                    return point, ''
        return None, why

    def _now(self) -> PerceivedScene:
        """The scene as the steps so far leave it: what they put at table spots stands there (``effects``)."""
        scene = self.scene
        for step in self.steps:
            scene = settle(step, scene)
        return scene

    def _current(self, obj: PerceivedObject) -> PerceivedObject:
        """``obj`` where the steps so far leave it."""
        return find(self._now(), obj.id) or obj

    def _held(self) -> Optional[PerceivedObject]:
        """What the gripper holds after the steps so far (a put's own pick is left implicit, so a put
        releases what it puts)."""
        state = self.state
        for step in self.steps:
            state = apply(step, state)
        return find(self.scene, state.holding) if state.holding is not None else None

    def _origin(self, obj: PerceivedObject) -> List[float]:
        """The table spot ``obj`` stands on as the steps so far leave it, where a pick takes it from (free again
        once it is held); for an object held since before the plan, the table under it."""
        current = self._current(obj)
        lifted = obj.id == self.state.holding and current is find(self.scene, obj.id)
        return [round(float(v), 4) + 0.0 for v in table_point(current, self.scene, resting=not lifted)]

    def _put_down(self, clause: Clause, confidence: float) -> None:
        """"put it down", "drop it", "release it", "put it back": the held object back on the table where it was
        picked up from, or (when a step before took that spot) on a free spot beside it."""
        skill = self._on_table()
        held_arg = self.catalog.object_args(skill)[0].name
        held, phrase = self._held(), ' '.join(clause.body)
        theme = self.resolve(phrase) if phrase else EMPTY
        if tuple(clause.body) in lx.PRONOUNS and theme.status != 'matched':
            theme = EMPTY  # "put it down" as the first thing said: whatever is held
        if held is not None and theme.empty:
            theme = Ref(phrase or 'it', 'matched', [held])
        tip = suggestion(self.scene, self.catalog, self.state.embodiment, about='put it down')
        if theme.empty:
            raise Unplannable(f'nothing is held to put down: say what to pick up first; {tip}'.rstrip('; '))
        obj = next((o for o in theme.objects if held is not None and o.id == held.id), None)  # of look-alikes too
        if obj is None:
            _require(theme, 'what to put down')
            raise Unplannable(f'{describe(theme.objects[0])} is not held, so there is nothing to put down: pick it '
                              f'up first; {tip}'.rstrip('; '))
        point = self._origin(obj)
        if self.catalog.feasibility(Step(skill, {held_arg: obj.id, 'point': point}), self._now())[0] < MIN_FEASIBILITY:
            point, why = self._free_spot(skill, held_arg, obj, [standing_at(obj, point)], 'near', GAP)
            if point is None:
                raise Unplannable(f'cannot put {describe(obj)} down where it was or beside it: {why}')
            self.notes.append(f'{obj.id} is put down beside where it was: a step before took that spot')
        self._drop_trailing_acquires([obj])
        self._emit(skill, {held_arg: Ref(theme.phrase, 'matched', [obj], theme.confidence)}, clause, confidence,
                   given={'point': point})
        self.resolve.last_theme = [obj]

    def _swap(self, clause: Clause, confidence: float) -> None:
        """"swap A and B", "exchange A with B": A to a spare spot beside them, B to A's place, then A to B's.
        The spots are fixed now, from where the two stand; the spare one keeps clear of both places."""
        skill = self._on_table()
        body, _ = lx.trim(clause.body, lx.SWAP_LEADS, (*lx.SWAP_TAILS, *lx.FILLER_TAILS))  # "the places of A and B"
        clause = replace(clause, body=body)
        found = self._ranked(clause, lx.SWAP_WITH, need_destination=True)[0]  # "A and B", "A with B"
        theme, other = found[:2] if found is not None else (self.resolve(' '.join(body)), EMPTY)  # "the two balls"
        _require(theme, 'which two objects to swap')
        if not other.empty:
            _require(other, f'what to swap {theme.phrase} with')
        named = {o.id: (ref, o) for ref in (theme, other) for o in ref.objects}
        if len(named) != 2:
            said = ' and '.join(r.phrase for r in (theme, other) if not r.empty)
            raise Unplannable(f'swapping takes two objects; "{said}" names {len(named)}')
        (a_ref, a), (b_ref, b) = named.values()
        held_arg = self.catalog.object_args(skill)[0].name
        a_place, b_place = self._origin(a), self._origin(b)
        spare, why = self._free_spot(skill, held_arg, a, [self._current(a), self._current(b)], 'near', GAP,
                                     keep_clear=[(np.asarray(a_place), footprint_radius(b))])
        if spare is None:
            raise Unplannable(f'cannot swap {describe(a)} and {describe(b)}: no free table spot in reach to set '
                              f'{a.id} down meanwhile ({why})')
        self._drop_trailing_acquires([a])
        for ref, obj, point in ((a_ref, a, spare), (b_ref, b, a_place), (a_ref, a, b_place)):
            self._emit(skill, {held_arg: replace(ref, objects=[obj])}, clause, confidence, given={'point': point})
        self.resolve.last_theme = [a, b]

    def _push_relative(self, clause: Clause, confidence: float) -> bool:
        """"push X towards / all the way to / away from Y"; False when the clause names no such landmark."""
        push = self._skill('push')
        body, intensity = lx.take_intensity(clause.body)
        clause = replace(clause, body=body, intensity=clause.intensity or intensity)
        found, _ = self._ranked(clause, lx.PUSH_RELATIVE, need_destination=True)
        if push is None or direction_arg(self.catalog, push) is None or found is None \
                or found[1].status in ('robot', 'place'):
            return False
        theme, landmark, preposition = found
        kind = lx.PUSH_RELATIVE[tuple(preposition.split())]
        target = _landmark(landmark, f'push it {preposition}')
        theme = self.resolve('it') if theme.empty else theme
        _require(theme, 'what to push')
        said, clause = _take_length(clause)
        distance_arg = self.catalog.arg(push, 'distance')
        shortest = distance_arg.minimum if distance_arg is not None and distance_arg.minimum is not None else 0.0
        longest = distance_arg.maximum if distance_arg is not None and distance_arg.maximum is not None else math.inf
        objects = sorted((o for o in theme.objects if o.id != target.id), key=lambda o: _distance(o, target.position))
        for obj in objects:
            direction, distance, room = push_along(obj, target, kind, MOVE_SIZES[clause.intensity], said)
            if kind != 'away' and room < shortest:
                raise Unplannable(f'{describe(obj)} is already {max(room, 0.0) * 100:.0f} cm from {describe(target)}; '
                                  f'the shortest push is {shortest * 100:.0f} cm')
            if said is not None and distance < said:
                self.notes.append(f'push: {said * 100:g} cm would run into {target.id}; pushing '
                                  f'{distance * 100:.1f} cm')
            pushes = max(1, math.ceil(distance / longest - 1e-9))  # "all the way" beyond one push: several
            if pushes > 1:
                self.notes.append(f'push: {distance * 100:.0f} cm is longer than one push; {pushes} pushes')
            one = Ref(theme.phrase, 'matched', [obj], theme.confidence)
            for _ in range(pushes):
                self._emit(push, {'object': one}, clause, confidence,
                           given={'direction': direction, 'distance': round(distance / pushes, 4)})
        self.resolve.last_theme = objects
        return True

    def _stack(self, skill: Optional[str], theme: Ref, destination: Ref, clause: Clause, confidence: float) -> None:
        if skill is None or len(self.catalog.object_args(skill)) < 2:  # the hand's release puts nothing on anything
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
              multiple: str = '', given: Optional[Dict[str, Any]] = None) -> None:
        """Steps of ``skill`` for the resolved phrases: one per object of a plural phrase, SayCan among ties.

        ``given``: arguments already worked out from the scene (a table spot, a push towards a landmark)."""
        refs = {name: ref for name, ref in refs.items() if not ref.empty}
        plural = multiple or next((n for n, r in refs.items() if r.status == 'matched' and len(r.objects) > 1), '')
        for name, ref in refs.items():
            if ref.status in ('no_match', 'place', 'robot'):
                raise Unplannable(ref.message or f'"{ref.phrase}" names nothing I can see')
            if ref.status == 'matched' and len(ref.objects) > 1 and name != plural:
                raise Unplannable(f'"{ref.phrase}" fits {len(ref.objects)} objects; {skill} takes one '
                                  f'({", ".join(o.id for o in ref.objects)})')
        part = next((r.part for r in refs.values() if r.part), '')
        numbers = fill(self.catalog, skill, clause, part, self.notes, given)
        numbers, repeats = self._in_parts(skill, numbers)
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
            self.steps += [replace(chosen) for _ in range(repeats)]
        for ref in refs.values():
            self.resolve.mention(ref)

    def _in_parts(self, skill: str, numbers: Dict[str, Any]) -> Tuple[Dict[str, Any], int]:
        """A turn or push longer than the skill does at once, as that many equal steps ("half a turn" with a
        rotate of at most 90 degrees: two quarter turns); the amounts add up, so this is what was asked."""
        name = _CUMULATIVE.get(skill)
        spec = self.catalog.arg(skill, name) if name else None
        value = numbers.get(name) if spec is not None else None
        if value is None or spec.maximum is None or abs(value) <= spec.maximum or spec.maximum <= 0:
            return numbers, 1
        parts = math.ceil(abs(value) / spec.maximum - 1e-9)
        if parts > MAX_PARTS:
            return numbers, 1  # far beyond what the skill does: the schema says so
        self.notes.append(f'{skill}: {value:g} {spec.unit} is more than one {skill} does; {parts} steps')
        return {**numbers, name: round(value / parts, 6)}, parts

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
            steps.append(self._assess(step))
        if not steps:
            names = ', '.join(f'{n}={r.phrase!r}' for n, r in refs.items())
            raise Unplannable(f'{skill}: one object cannot fill two arguments ({names})')
        return steps

    def _assess(self, step: Step) -> Step:
        """A candidate scored (SayCan); one that needs its object held, and not held yet, needs the pick as well,
        so it is no more feasible than that pick (a look-alike out of reach loses)."""
        self.catalog.assess(step, self.scene)
        needs = effect(step.skill).needs_held
        wanted = step.args.get(needs) if needs else None
        acquire, held = self._skill('acquire'), self._held()
        if wanted is not None and acquire is not None and (held is None or held.id != wanted):
            score, why = self.catalog.feasibility(Step(acquire, {effect(acquire).acquires: wanted}), self.scene)
            if score < step.feasibility:
                step.feasibility, step.why = score, why
        return step

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

def _things_to_move(theme: Ref, destination: Ref) -> Ref:
    """Of several objects put somewhere ("everything blue", "all the objects"), those one moves: not the
    destination, not the bowls and pads things go into (unless nothing else was named)."""
    if theme.status != 'matched' or len(theme.objects) < 2:
        return theme
    into = {o.id for o in destination.objects}
    moved = [o for o in theme.objects if movable(o) and o.id not in into]
    return replace(theme, objects=moved) if moved else theme


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


def _landmark(ref: Ref, doing: str) -> PerceivedObject:
    """The one object a relative phrase is about ("next to the bowl", "towards the ball")."""
    _require(ref, f'where to {doing}')
    if len(ref.objects) != 1:
        raise Unplannable(f'{doing} which one? {ref.message or ref.phrase}')
    return ref.objects[0]


def _put_back(clause: Clause) -> Tuple[Clause, bool]:
    """The clause less politeness and the words that say where the object was ("back", "down", "where it was",
    "on the table"; "back" parsed as a direction too), and whether it said any of them."""
    back = clause.direction_words == 'back'
    body, said = lx.trim(lx.trim(clause.body, tails=lx.FILLER_TAILS)[0], tails=lx.PUT_BACK)
    return replace(clause, body=body, **({'direction': None, 'direction_words': ''} if back else {})), back or said


def _take_length(clause: Clause) -> Tuple[Optional[float], Clause]:
    """The first length said ("10 cm left of the bowl", "5 cm towards the ball") and the clause without it."""
    said = next((q for q in clause.quantities if q.dimension == 'length'), None)
    if said is None:
        return None, clause
    return abs(said.value), replace(clause, quantities=[q for q in clause.quantities if q is not said])


def _volume(obj: PerceivedObject) -> float:
    return float(np.prod(np.abs(np.asarray(obj.extent, float))))


def _distance(obj: PerceivedObject, origin: Sequence[float]) -> float:
    return float(np.linalg.norm(np.asarray(obj.position, float)[:2] - np.asarray(origin, float)[:2]))


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + '...'
