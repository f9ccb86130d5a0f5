"""The instruction grammar: a recursive-descent parser from an instruction to clauses (verb frames).

    instruction := clause ( boundary clause )*
    boundary    := ";" | sentence end | sequencer | ( "," | "and" ) when a verb follows
    sequencer   := then | and then | after that | next | finally | afterwards | ...
    clause      := filler* [verb] body
    verb        := a verb phrase of the lexicon ("pick up", "let go of", "fly to") or a skill's name,
                   or its -ing form ("start by picking up ...")
    body        := ( quantity | rotation-sense | axis | particle | word )* [direction-phrase]
    quantity    := [lead*] number unit [tail*]        ("by 5 cm", "at a height of 1.5 m", "3 seconds")
    reading     := theme [preposition destination]    (every split is a reading; see Clause.readings)

A clause without a verb ("..., then the blue one") repeats the previous verb.
The noun phrases themselves (theme, destination) are left as text for
perception's grounding, which has its own grammar; where a preposition could
start either a destination or a relation inside the theme ("put the cube on the
left in the bowl"), ``Clause.readings`` lists every split and the planner keeps
the one that grounds best.  Nothing here knows about skills or scenes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from skill_stack.perception.language import NOUNS, RELATIONS
from skill_stack.scheduler import lexicon as lx


@dataclass
class Quantity:
    dimension: str  # length, angle, time
    value: float  # metres, degrees, seconds
    words: str
    hints: Tuple[str, ...] = ()  # argument names the words around it suggest (height, duration, distance)


@dataclass
class Reading:
    """One way to split a clause's body: the object acted on and where it (or the robot) goes."""

    theme: str
    preposition: str = ''
    destination: str = ''


@dataclass
class Clause:
    words: str  # the clause as said
    verb: str = ''  # the verb phrase as said; '' when the clause repeats the previous verb
    concepts: Tuple[str, ...] = ()  # what the verb can mean, preferred first
    body: List[str] = field(default_factory=list)  # the rest, less quantities, particles and the direction
    quantities: List[Quantity] = field(default_factory=list)
    direction: Optional[Tuple[float, float, float]] = None  # robot-frame unit vector of a direction phrase
    direction_words: str = ''
    intensity: str = ''  # small / large, from "a bit", "a lot" in the direction phrase
    sense: int = 0  # rotation: +1 counter-clockwise, -1 clockwise (seen from above), 0 unsaid
    axis: str = ''  # "about the z axis"
    ignored: List[str] = field(default_factory=list)  # words before the verb the grammar did not know

    def readings(self, prepositions: Sequence[lx.Words]) -> List[Reading]:
        """Every split of the body at one of ``prepositions``, the unsplit body first.

        A split needs words on the destination side; a leading preposition gives an empty theme
        ("go to the pad", "fly above the red pad").
        """
        table = set(prepositions)
        phrases = set(lx.COMPARATIVES) | table
        out = [Reading(theme=' '.join(self.body))]
        for i in range(len(self.body)):
            key, n = lx.match(self.body, i, table)
            # not inside a longer phrase: the "to" of "next to" or "closer to", the "left of" of "to the left of"
            inside_relation = any(max(lx.match(self.body, j, RELATIONS)[1], lx.match(self.body, j, phrases)[1]) > i - j
                                  for j in range(max(i - 4, 0), i))
            if key is not None and i + n < len(self.body) and not inside_relation:
                out.append(Reading(' '.join(self.body[:i]), ' '.join(key), ' '.join(self.body[i + n:])))
        for i in range(1, len(self.body)):  # "put the blue cube there (too)"
            tail = ' '.join(self.body[i:])
            for filler in lx.TRAILING_FILLERS:
                tail = tail[:-len(filler) - 1] if tail.endswith(' ' + filler) else tail
            if tail in lx.THERE:
                out.append(Reading(' '.join(self.body[:i]), '', tail))
        return out


_LOCATIVE = ('at', 'on', 'in', 'of', 'from', 'the', 'is', 'are')


def _drop_politeness(rest: List[str]) -> None:
    """Take closing courtesies off a clause's end, so the particle or direction before them is its last word
    and a bare verb keeps no object ("land, please")."""
    while rest:
        tail = next((t for t in lx.POLITE_TAILS if len(rest) >= len(t) and tuple(rest[-len(t):]) == t), None)
        if rest[-1] == ',':
            rest.pop()
        elif tail is not None:
            del rest[-len(tail):]
        else:
            return
_DETERMINERS = ('the', 'a', 'an', 'every', 'each')


def _starts_place(body: Sequence[str], i: int) -> bool:
    """"5 cm in the direction of the bowl": an "in" after a quantity that starts a phrase, not "1 m in height"."""
    return body[i] == 'in' and i + 1 < len(body) and body[i + 1] in ('the', 'a', 'an', 'to', 'front')


class _Parser:
    def __init__(self, tokens: Sequence[str], verbs: Dict[lx.Words, Tuple[str, ...]]):
        self.tokens = list(tokens)
        self.verbs = verbs

    # -- verbs --------------------------------------------------------------------------------
    def verb_at(self, i: int) -> Tuple[Optional[Tuple[str, ...]], int]:
        """(concepts, length) of a verb phrase at ``i``, trying -ing forms as their stems."""
        key, n = lx.match(self.tokens, i, self.verbs)
        if key is not None:
            return self.verbs[key], n
        word = self.tokens[i] if i < len(self.tokens) else ''
        if not word.endswith('ing') or len(word) < 6 or (i + 1 < len(self.tokens)
                                                          and (self.tokens[i + 1],) in NOUNS):
            return None, 0  # "the landing pad" is a noun phrase
        stem = word[:-3]
        for candidate in (stem, stem + 'e', stem[:-1]):
            key, n = lx.match([candidate, *self.tokens[i + 1:i + 6]], 0, self.verbs)
            if key is not None:
                return self.verbs[key], n
        return None, 0

    def skip_fillers(self, i: int, end: int) -> int:
        """The first token at or after ``i`` that is not politeness or a connective ("go ahead and", "then")."""
        while i < end:
            key, n = lx.match(self.tokens, i, set(lx.FILLER_PHRASES))
            if key is None and self.verb_at(i)[0] is not None:
                return i
            if key is None:
                key, n = lx.match(self.tokens, i, set(lx.CONNECTIVES))
            if key is None and (self.tokens[i] in lx.FILLERS or self.tokens[i] == ','):
                n = 1
            if not n:
                return i
            i += n
        return i

    def verb_follows(self, i: int) -> bool:
        j = self.skip_fillers(i, len(self.tokens))
        return j < len(self.tokens) and self.verb_at(j)[0] is not None

    # -- clauses -------------------------------------------------------------------------------
    def gapped(self, start: int, at: int, after: int) -> bool:
        """"put A in B and C in D": both sides of the 'and' place something, so the second repeats the verb."""
        end = next((k for k in range(after, len(self.tokens)) if self.tokens[k] in (';', ',', 'and')),
                   len(self.tokens))
        table = set(lx.PUT_PREPOSITIONS)  # after the politeness: the "to" of "I want you to" places nothing
        return all(any(lx.match(self.tokens, k, table)[0] is not None for k in range(a + 1, b))
                   for a, b in ((self.skip_fillers(start, at), at), (after, end)))

    def split(self) -> List[Tuple[int, int]]:
        """Token ranges of the clauses."""
        spans, start, i = [], 0, 0
        sequencers = set(lx.SEQUENCERS)
        while i < len(self.tokens):
            word = self.tokens[i]
            if word == ';':
                spans.append((start, i))
                start = i = i + 1
                continue
            key, n = lx.match(self.tokens, i, set(lx.CONNECTIVES))
            boundary = word == ',' or key is not None
            if boundary and i > start:
                after = i + (1 if word == ',' else n)
                comma_then = word == ',' and lx.match(self.tokens, after, sequencers)[0] is not None
                if key in sequencers or comma_then or self.verb_follows(after) or self.gapped(start, i, after):
                    spans.append((start, i))
                    start = i = after
                    continue
            i += max(n, 1) if key is not None else 1
        spans.append((start, len(self.tokens)))
        return [(a, b) for a, b in spans if b > a]

    def clause(self, start: int, end: int) -> Optional[Clause]:
        tokens = self.tokens
        clause = Clause(words=' '.join(tokens[start:end]))
        i = self.skip_fillers(start, end)
        j, skipped = i, []
        while j < end and len(skipped) < 4:  # a few unknown words before the verb ("yo robot, grab ...")
            concepts, n = self.verb_at(j)
            noun = j > start and tokens[j - 1] in _DETERMINERS  # "the rest", "the set": a noun, not a verb
            if concepts is not None and j + n <= end and not noun:
                clause.verb, clause.concepts, clause.ignored = ' '.join(tokens[j:j + n]), concepts, skipped
                i = j + n
                break
            if tokens[j] not in lx.FILLERS:
                skipped.append(tokens[j])
            j += 1
        body = [t for t in tokens[i:end] if t not in (',', ';')]
        if not body and not clause.verb:
            return None
        self.modifiers(clause, body)
        if not (clause.verb or clause.body or clause.quantities or clause.direction):
            return None  # only a courtesy ("..., if you can")
        return clause

    def modifiers(self, clause: Clause, body: List[str]) -> None:
        """Quantities, rotation sense, axis, a separable particle and a final direction phrase out of the body."""
        rest: List[str] = []
        i = 0
        while i < len(body):
            quantity, n = lx.quantity_at(body, i)
            if quantity is not None:
                lead = []
                while rest and rest[-1] in lx.QUANTITY_LEAD:
                    lead.insert(0, rest.pop())
                tail_start = i + n
                while i + n < len(body) and body[i + n] in lx.QUANTITY_TAIL and not _starts_place(body, i + n):
                    n += 1
                hints = [lx.HINT_NAMES[w] for w in (*lead, *body[tail_start:i + n], *body[i + n:i + n + 1])
                         if w in lx.HINT_NAMES]
                clause.quantities.append(Quantity(quantity[0], quantity[1], ' '.join((*lead, *body[i:i + n])),
                                                  tuple(dict.fromkeys(hints))))
                i += n
                continue
            sense, n = lx.match(body, i, lx.ROTATION_SENSE)
            if sense is not None:
                clause.sense = lx.ROTATION_SENSE[sense]
                i += n
                continue
            if body[i] in ('about', 'around', 'along') and i + 1 < len(body):
                k = i + 1 + (body[i + 1] in ('the', 'its', 'his', 'her', 'their'))
                word, named = (body[k] if k < len(body) else ''), body[k + 1:k + 2] in (['axis'], ['axle'])
                if named or len(word) == 1:  # "about the z axis", "around z"
                    clause.axis = word
                    i = k + 1 + named
                    continue
            rest.append(body[i])
            i += 1
        _drop_politeness(rest)  # "put it down for me", "push it to the left, please"
        if len(rest) > 1 and rest[-1] in lx.PARTICLES and clause.concepts and \
                set(clause.concepts) & {'acquire', 'put', 'release', 'move', 'stack'}:
            rest.pop()  # "pick it up", "put it down": the separable particle
        for k in range(len(rest)):  # the longest final direction phrase, not a place ("at the back")
            words = rest[k:]
            if words[0] == 'the' or (k > 0 and rest[k - 1] in _LOCATIVE):
                continue
            vector = lx.direction_vector(words)
            if vector is not None:
                clause.direction, clause.direction_words = vector, ' '.join(words)
                key = next((key for j in range(len(words)) for key in [lx.match(words, j, lx.INTENSITY)[0]]
                            if key is not None), None)
                clause.intensity = lx.INTENSITY[key] if key is not None else ''
                rest = rest[:k]
                break
        clause.body = rest


def parse_instruction(text: str, extra_verbs: Optional[Dict[lx.Words, Tuple[str, ...]]] = None) -> List[Clause]:
    """The clauses of an instruction, in the order said.  Never raises; unknown words are kept or reported.

    ``extra_verbs`` adds verb phrases (a planner adds each skill's name, "take off" for take_off).
    """
    verbs = {**(extra_verbs or {}), **lx.VERBS}
    parser = _Parser(lx.tokenize(text), verbs)
    clauses = [parser.clause(a, b) for a, b in parser.split()]
    return [c for c in clauses if c is not None]
