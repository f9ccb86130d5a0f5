"""Live language corrections: "a bit to the left", "no, the blue one", "wait", "continue", "cancel".

    correction := interjection* ( adjustment | reference | control ) politeness*
    interjection := no | nope | not that (one) | wrong (one) | oops | actually | I meant | instead | ...
    adjustment := [verb] [it] [too] (intensity | quantity | more | direction-phrase)+
                  "a bit to the left", "more to the right", "5 cm forward", "too high" (= lower)
    reference  := a noun phrase of perception's grammar: "the blue one", "the other bowl",
                  "the cube on the left"; negation alone ("not that one") means "the other one"
    control    := cancel | pause | resume words ("never mind", "hold on", "ok go")

Directions are in the robot's frame (REP 103: x forward, away from the robot;
y left; z up).  Sizes: a bit = 2 cm, unsaid or "more" = 5 cm, a lot = 10 cm, or
the quantity said.  Content wins over control words: "stop, a bit to the left"
is an adjustment (which stops and re-runs the step anyway).  Never raises; what
it cannot read is ``kind='unknown'`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from skill_stack.perception.language import SHAPE_WORDS
from skill_stack.perception.language import parse as parse_phrase
from skill_stack.scheduler import lexicon as lx

KINDS = ('adjust', 'reference', 'pause', 'resume', 'cancel', 'unknown', 'intervention')  # intervention: teleop's
ADJUST_SIZES = {'small': 0.02, 'medium': 0.05, 'large': 0.10}  # m

_CONTROL = {
    'cancel': ('cancel', 'abort', 'never mind', 'nevermind', 'forget it', 'forget about it', 'give up', 'quit',
               'stop the task', 'stop everything', 'call it off', 'scrap that', 'scrap it', 'abandon',
               'cancel that', 'cancel the task', 'stop the whole thing', 'terminate', 'end the task'),
    'pause': ('stop', 'wait', 'hold on', 'hold it', 'pause', 'freeze', 'halt', 'hang on', 'hold up', 'whoa',
              'one moment', 'one second', 'a second', 'a moment', 'a sec', 'just a second', 'just a moment',
              'not yet', 'stop moving', 'stop there', 'stop right there', 'hold', 'wait up', 'easy', 'careful',
              'stay', 'stay there', 'don t move', 'no', 'nope', 'wrong', 'stop stop'),
    'resume': ('continue', 'go on', 'go ahead', 'ok go', 'okay go', 'resume', 'carry on', 'keep going', 'proceed',
               'go', 'unpause', 'start again', 'go again', 'all good', 'ok', 'okay', 'good', 'fine', 'alright',
               'that is fine', 'that s fine', 'thats fine', 'you can continue', 'you may continue', 'move on',
               'continue the task', 'keep at it', 'yes', 'yep', 'sure', 'right', 'good to go', 'you re good',
               'looks good', 'perfect', 'carry on then', 'back to work', 'let s go'),
}
CONTROL: Dict[lx.Words, str] = {tuple(p.split()): kind for kind, phrases in _CONTROL.items() for p in phrases}
_PRIORITY = ('cancel', 'pause', 'resume')
# Words that reject what the robot is doing without saying what instead.
NEGATIONS: Tuple[lx.Words, ...] = tuple(tuple(p.split()) for p in (
    'not that one', 'not that', 'not this one', 'not this', 'not the one', 'wrong one', 'the wrong one',
    'that s the wrong one', 'that is the wrong one', 'that s wrong', 'that is wrong', 'not it', 'no no',
    'no', 'nope', 'wrong', 'not'))
_NEGATION_SET = set(NEGATIONS)
_BARE = (('no',), ('nope',), ('wrong',))
INTERJECTIONS = frozenset(('oops', 'sorry', 'actually', 'meant', 'i', 'said', 'instead', 'rather', 'hmm', 'uh',
                           'um', 'please', 'robot', 'hey', 'now', 'there', 'again', 'but', 'then', 'mean',
                           'take', 'use', 'try', 'do', 'go', 'for', 'with', 'like', 'thanks', 'thank', 'you',
                           'a', 'bit', 'it', 'ok', 'okay', 'so', 'well', 'yes', 'wait', 'stop', 'let', 's'))
_OTHER_WORDS = ('other', 'another', 'different', 'else')
_ADJUST_WORDS = frozenset(('it', 'more', 'too', 'please', 'now', 'then', 'again', 'just', 'bit', 'little',
                           'slightly', 'extra', 'some', 'by', 'about', 'and', 'a', 'an',
                           'try', 'need', 'needs', 'should', 'be', 'is', 'go', 'move', 'shift', 'nudge',
                           'bring', 'put', 'place', 'set', 'adjust', 'it', 's', 'that', 'way', 'lot', 'much',
                           'tad', 'touch', 'hair', 'smidge', 'fraction', 'tiny', 'wee', 'notch', 'somewhat',
                           'fly', 'drop', 'raise', 'lift', 'slide', 'push', 'aim', 'reach', 'so', 'come'))
_VERTICAL_VERBS = {'raise': 'up', 'lift': 'up', 'drop': 'down'}


@dataclass(frozen=True)
class Correction:
    """A parsed correction.  ``delta`` is metres in the robot frame (adjust); ``phrase`` a noun phrase (reference)."""

    kind: str
    text: str
    delta: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    size: str = ''  # small, medium, large, or exact (a quantity was said)
    phrase: str = ''
    other: bool = False  # "the other one", "another": not the object used now
    reason: str = ''  # unknown: why

    def describe(self) -> str:
        if self.kind == 'adjust':
            return f'adjust by [{", ".join(f"{v:+.3f}" for v in self.delta)}] m ({self.size})'
        if self.kind == 'reference':
            return f'use {"another: " if self.other else ""}"{self.phrase}"'
        return self.reason if self.kind == 'unknown' else self.kind

    def to_dict(self) -> Dict[str, Any]:
        return {'kind': self.kind, 'text': self.text, 'delta': [round(v, 4) for v in self.delta], 'size': self.size,
                'phrase': self.phrase, 'other': self.other, 'reason': self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Correction:
        if data.get('kind') not in KINDS:
            raise ValueError(f"a correction's kind must be one of {KINDS}, got {data.get('kind')!r}")
        delta = tuple(float(v) for v in data.get('delta', (0.0, 0.0, 0.0)))
        return cls(kind=str(data['kind']), text=str(data.get('text', '')), delta=(delta[0], delta[1], delta[2]),
                   size=str(data.get('size', '')), phrase=str(data.get('phrase', '')),
                   other=bool(data.get('other', False)), reason=str(data.get('reason', '')))


def parse_correction(text: Any, *, sizes: Mapping[str, float] = ADJUST_SIZES) -> Correction:
    """The correction ``text`` asks for.  ``sizes`` maps small/medium/large to metres."""
    text = text if isinstance(text, str) else ''
    tokens = [t for t in lx.tokenize(text) if t not in (',', ';')]
    if not tokens:
        return _unknown(text, 'the correction is empty')
    if len(text) > 500:
        return _unknown(text, f'the correction is {len(text)} characters long; corrections are short phrases')
    adjust = _adjustment(text, tokens, sizes)
    if adjust is not None:
        return adjust
    relative = _relative(tokens)
    if relative:
        return _unknown(text, relative)
    control = _control(tokens)
    if control is not None:
        return Correction(control, text)
    content, negated = _strip_negation(tokens)
    control = _control(content)
    words = [t for t in content if t not in INTERJECTIONS or t in _OTHER_WORDS]
    while words and words[0] in lx.FILLERS and words[0] not in ('the', 'a', 'an'):
        words = words[1:]
    lead, n = lx.match(words, 0, lx.PUT_PREPOSITIONS)
    if lead is not None and n < len(words):
        words = words[n:]  # "no, in the blue bowl": the destination it names
    other = any(w in _OTHER_WORDS for w in words)
    phrase = ' '.join(words)
    if words and _is_noun_phrase(phrase):
        return Correction('reference', text, phrase=phrase, other=other)
    if negated and not words:
        if _names_one(tokens):
            return Correction('reference', text, phrase='the other one', other=True)
        return Correction('pause', text)
    if control is not None:
        return Correction(control, text)
    return _unknown(text, f'I did not understand the correction "{text.strip()[:80]}"; say e.g. "a bit to the '
                          'left", "no, the blue one", "stop", "continue" or "cancel"')


def _unknown(text: str, reason: str) -> Correction:
    return Correction('unknown', text, reason=reason)


def _control(tokens: Sequence[str]) -> Optional[str]:
    """The control kind if ``tokens`` are only control phrases and politeness, else None."""
    kinds: List[str] = []
    i = 0
    while i < len(tokens):
        key, n = lx.match(tokens, i, CONTROL)
        if key is not None:
            kinds.append(CONTROL[key])
            i += n
        elif tokens[i] in ('please', 'now', 'robot', 'hey', 'a', 'for', 'moment', 'second', 'sec', 'just',
                           'then', 'right', 'there', 'immediately', 'thanks', 'thank', 'you', 'again', 'and',
                           'the', 'task', 'it', 'that', 'all'):
            i += 1
        else:
            return None
    return next((k for k in _PRIORITY if k in kinds), None)


def _strip_negation(tokens: Sequence[str]) -> Tuple[List[str], bool]:
    """The tokens without rejections at either end ("no, the blue one", "the blue one, not that"), and whether
    there were any.  A bare "no" stays: alone it stops the robot rather than rejecting an object."""
    words, negated = list(tokens), False
    while words:
        key, n = lx.match(words, 0, _NEGATION_SET)
        if key is not None and (n < len(words) or key not in _BARE):
            words, negated = words[n:], True
            continue
        tail = next((k for k in NEGATIONS if len(words) > len(k) and tuple(words[-len(k):]) == k), None)
        if tail is None:
            break
        words, negated = words[:-len(tail)], True
    return words, negated or tuple(tokens) in _BARE


def _names_one(tokens: Sequence[str]) -> bool:
    """"not that one", "wrong one": a rejection of the object, not of the motion."""
    return 'one' in tokens or 'that' in tokens or 'this' in tokens


def _is_noun_phrase(phrase: str) -> bool:
    """Whether the words describe an object: a shape or "one", a colour, a position, a part, or any noun after a
    determiner ("the banana"), so that stray words ("blah blah") do not count."""
    expression = parse_phrase(phrase)
    np_ = expression.phrase
    known = np_.shape is not None and (np_.shape in SHAPE_WORDS or np_.shape in ('', 'robot'))
    determined = bool(set(phrase.split()) & {'the', 'that', 'this', 'a', 'an', 'another', 'other', 'those', 'these'})
    return bool(known or np_.colors or np_.selectors or np_.relations or np_.sizes or expression.part
                or (np_.noun and determined))


def _relative(tokens: Sequence[str]) -> str:
    """Why "closer to the bowl" is not handled ('' if it is not such a phrase)."""
    for i, word in enumerate(tokens[:-2]):
        if word in ('closer', 'nearer', 'further', 'farther') and tokens[i + 1] in ('to', 'from', 'than') \
                and tokens[i + 2] not in lx.SELF_WORDS:
            return ('moving relative to another object ("' + ' '.join(tokens[i:]) + '") is not supported; say a '
                    'direction: left, right, forward, back, up or down')
    return ''


def _adjustment(text: str, tokens: Sequence[str], sizes: Mapping[str, float]) -> Optional[Correction]:
    """An adjustment if every word is a direction, an amount, "too" or a filler; else None."""
    words = list(_strip_negation(tokens)[0]) or list(tokens)
    while words and words[0] in ('stop', 'wait', 'no', 'ok', 'okay', 'hey', 'robot', 'please'):
        words = words[1:]
    amount: Optional[float] = None
    size = ''
    i, rest = 0, []
    while i < len(words):
        quantity, n = lx.quantity_at(words, i)
        if quantity is not None and quantity[0] == 'length':
            amount, size, i = abs(quantity[1]), 'exact', i + n
            continue
        key, n = lx.match(words, i, lx.INTENSITY)
        if key is not None and not (words[i] == 'far' and rest[-1:] == ['too']):
            size = size or lx.INTENSITY[key]
            i += n
            continue
        rest.append(_VERTICAL_VERBS.get(words[i], words[i]))
        i += 1
    inverted = 'too' in rest
    directional = [w for w in rest if w not in _ADJUST_WORDS and w not in ('far',)]
    vector = lx.direction_vector(directional)
    if vector is None:
        return None
    if inverted:  # "too high": the other way
        vector = (0.0 - vector[0], 0.0 - vector[1], 0.0 - vector[2])
    size = size or 'medium'
    length = amount if amount is not None else float(sizes.get(size, sizes['medium']))
    delta = (round(vector[0] * length, 6) + 0.0, round(vector[1] * length, 6) + 0.0, round(vector[2] * length, 6) + 0.0)
    return Correction('adjust', text, delta=delta, size=size)
