"""Referring expressions: a tokenizer, a small lexicon and a recursive-descent parser to a tree.

A grammar, not a list of sentences, is what lets grounding follow phrasings no
test names: modifiers, relations, ordinals and parts compose, and relations nest
("the top of the cube left of the bowl that is behind the ball").

    expression := prefix* ["not" noun_phrase ","] ( part_first | noun_phrase ["'s" part] )
    part_first := [det | quantifier] part "of" noun_phrase          the left edge of the red block
    noun_phrase:= [quantifier ["of"]] [det] [number] premod* [head [part]] postmod*
    premod     := colour | size | superlative | position | ordinal [superlative | position]
                  | "non" (colour | size) | filler
    postmod    := [that is | located ...] ( relation noun_phrase | "between" np "and" np
                  | superlative-relation np | superlative [to | from] side | position phrase
                  | ordinal | "from" direction | ("not" | "except" ...) noun_phrase )
                  | ("," | "and") postmod                                (outermost phrase only)

Words the lexicon does not know are skipped and reported, or read as an
open-vocabulary label ("the banana") when they stand where the noun belongs.
World-frame conventions (REP 103, robot looking along +x) live in grounding, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

# -- lexicon ------------------------------------------------------------------

# Shape vocabulary of the scene contract and the words people use for each shape.
SHAPE_WORDS: Dict[str, Tuple[str, ...]] = {
    'box': ('box', 'cube', 'block', 'brick', 'cuboid', 'crate'),
    'sphere': ('sphere', 'ball', 'orb'),
    'bowl': ('bowl', 'cup', 'mug', 'dish', 'basin', 'container'),
    'pad': ('pad', 'disc', 'disk', 'platform', 'mat', 'target', 'helipad', 'landing pad', 'landing zone',
            'landing spot', 'landing target', 'landing platform'),
    'cylinder': ('cylinder', 'can', 'tube', 'tin', 'bottle', 'canister', 'pipe', 'column', 'post', 'pillar',
                 'rod', 'tin can'),
}
GENERIC_NOUNS = ('object', 'thing', 'item', 'one', 'shape', 'piece', 'toy', 'solid')
ROBOT_WORDS = ('robot', 'me', 'you', 'yourself', 'myself', 'us', 'arm', 'gripper', 'drone', 'camera')

COLOR_WORDS: Dict[str, str] = {
    'red': 'red', 'crimson': 'red', 'scarlet': 'red', 'reddish': 'red',
    'green': 'green', 'lime': 'green', 'emerald': 'green', 'greenish': 'green',
    'blue': 'blue', 'navy': 'blue', 'azure': 'blue', 'bluish': 'blue', 'blueish': 'blue',
    'yellow': 'yellow', 'golden': 'yellow', 'gold': 'yellow', 'yellowish': 'yellow',
    'orange': 'orange', 'orangish': 'orange',
    'purple': 'purple', 'violet': 'purple', 'magenta': 'purple', 'lilac': 'purple', 'purplish': 'purple',
    'white': 'white', 'ivory': 'white', 'whitish': 'white',
    'black': 'black', 'blackish': 'black',
    # Colours people say that perception does not name: kept, so the answer can say none is that colour.
    'grey': 'grey', 'gray': 'grey', 'brown': 'brown', 'pink': 'pink', 'cyan': 'cyan', 'teal': 'teal',
    'turquoise': 'turquoise', 'silver': 'silver', 'beige': 'beige', 'maroon': 'maroon',
}
# Adjectives that qualify a colour or an object without changing which one is meant.
NEUTRAL_ADJECTIVES = ('light', 'dark', 'bright', 'pale', 'deep', 'vivid', 'coloured', 'colored', 'solid',
                      'plain', 'same', 'other', 'single', 'lone', 'only', 'remaining', 'whole', 'entire')

# Gradable size adjectives: (property, direction); the group of bigger or smaller objects.
SIZE_WORDS: Dict[str, Tuple[str, int]] = {
    'big': ('volume', 1), 'large': ('volume', 1), 'huge': ('volume', 1), 'giant': ('volume', 1),
    'bigger': ('volume', 1), 'larger': ('volume', 1), 'massive': ('volume', 1),
    'small': ('volume', -1), 'little': ('volume', -1), 'tiny': ('volume', -1), 'mini': ('volume', -1),
    'smaller': ('volume', -1), 'miniature': ('volume', -1), 'wee': ('volume', -1),
    'tall': ('height', 1), 'taller': ('height', 1),
    'short': ('height', -1), 'shorter': ('height', -1), 'flat': ('height', -1), 'low': ('height', -1),
}

# Criteria a superlative, positional adjective or ordinal ranks by.  Directions
# are resolved to world vectors in grounding; the rest are properties.
SUPERLATIVES: Dict[str, str] = {
    'leftmost': 'left', 'rightmost': 'right', 'frontmost': 'front', 'foremost': 'front',
    'backmost': 'back', 'rearmost': 'back', 'hindmost': 'back',
    'nearest': 'near', 'closest': 'near', 'furthest': 'far', 'farthest': 'far',
    'highest': 'high', 'topmost': 'high', 'uppermost': 'high', 'lowest': 'low', 'bottommost': 'low',
    'biggest': 'big', 'largest': 'big', 'hugest': 'big', 'smallest': 'small', 'tiniest': 'small',
    'littlest': 'small', 'tallest': 'tall', 'shortest': 'short', 'flattest': 'short',
    'middle': 'middle', 'central': 'middle', 'center': 'middle', 'centre': 'middle', 'midmost': 'middle',
}
POSITION_ADJECTIVES: Dict[str, str] = {
    'left': 'left', 'right': 'right', 'front': 'front', 'back': 'back', 'rear': 'back',
    'near': 'near', 'far': 'far', 'top': 'high', 'upper': 'high', 'bottom': 'low', 'lower': 'low',
    'closer': 'near', 'nearer': 'near', 'further': 'far', 'farther': 'far',
}
DIRECTIONS = ('left', 'right', 'front', 'back')

NUMBERS: Dict[str, int] = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7,
                           'eight': 8, 'nine': 9, 'ten': 10, 'pair': 2}
ORDINALS: Dict[str, int] = {'first': 0, 'second': 1, 'third': 2, 'fourth': 3, 'fifth': 4, 'sixth': 5,
                            'seventh': 6, 'eighth': 7, 'ninth': 8, 'tenth': 9, 'last': -1, 'penultimate': -2}
ORDINAL_PHRASES: Dict[Tuple[str, ...], int] = {
    ('second', 'to', 'last'): -2, ('second', 'last'): -2, ('next', 'to', 'last'): -2, ('last', 'but', 'one'): -2,
    ('third', 'to', 'last'): -3, ('third', 'last'): -3,
}

DEFINITE = ('the', 'this', 'that', 'these', 'those', 'my', 'your', 'our')
INDEFINITE = ('a', 'an', 'any', 'some', 'another', 'either', 'whichever')
QUANTIFIERS: Dict[str, str] = {'all': 'all', 'every': 'all', 'each': 'all', 'both': 'both'}

# Words of a relative clause that carry no meaning of their own ("the cube that is located left of ...").
CLAUSE_FILLERS = ('that', 'which', 'who', 'is', 'are', 'was', 'were', 'being', 'located', 'sitting', 'lying',
                  'placed', 'positioned', 'standing', 'situated', 'resting', 'found', 'directly', 'just',
                  'immediately', 'slightly', 'somewhat', 'exactly', 'straight', 'right', 'put', 'kept', 'set',
                  'stacked', 'more', 'further', 'farther', 'a', 'bit', 'little')

# Leading words of a command, so "pick up the red cube" grounds "the red cube".
COMMAND_WORDS = ('please', 'pick', 'grab', 'take', 'get', 'fetch', 'bring', 'find', 'locate', 'show', 'point',
                 'go', 'fly', 'move', 'land', 'touch', 'push', 'lift', 'select', 'hover', 'approach', 'reach',
                 'look', 'grasp', 'hold', 'tap', 'poke', 'can', 'could', 'would', 'will', 'you', 'me', 'i',
                 'want', 'need', 'like', 'to', 'up', 'at', 'on', 'over', 'toward', 'towards', 'for', 'onto',
                 'where', 'is', 'are', 'which', 'what', 'now', 'then', 'and', 'let', 's', 'us', 'head',
                 'navigate', 'drive', 'put', 'place')


def _pluralise(word: str) -> str:
    if word.endswith(('s', 'x', 'ch', 'sh')):
        return word + 'es'
    if word.endswith('y') and word[-2:-1] not in 'aeiou':
        return word[:-1] + 'ies'
    return word + 's'


def singular(word: str) -> str:
    """English singular of a noun (regular plurals only), for matching open-vocabulary labels."""
    if len(word) > 4 and word.endswith('ies'):
        return word[:-3] + 'y'
    if len(word) > 3 and word.endswith(('ses', 'xes', 'ches', 'shes')):
        return word[:-2]
    if len(word) > 3 and word.endswith('s') and not word.endswith(('ss', 'us', 'is')):
        return word[:-1]
    return word


def _build_nouns() -> Dict[Tuple[str, ...], Tuple[str, bool]]:
    """Word sequence -> (canonical shape, '' for any object, or 'robot'; plural?)."""
    table: Dict[Tuple[str, ...], Tuple[str, bool]] = {}
    for shape, words in SHAPE_WORDS.items():
        for phrase in words:
            parts = tuple(phrase.split())
            table[parts] = (shape, False)
            table[(*parts[:-1], _pluralise(parts[-1]))] = (shape, True)
    for word in GENERIC_NOUNS:
        table[(word,)] = ('', False)
        table[(_pluralise(word),)] = ('', True)
    for word in ROBOT_WORDS:
        table[(word,)] = ('robot', False)
    table[('robot', 'base')] = ('robot', False)
    return table


NOUNS = _build_nouns()

# Parts of an object, as keypoint names (see types.Keypoint); 'edge' is a part with no side named.
PART_NOUNS: Dict[Tuple[str, ...], str] = {}
for _name, _phrases in {
    'center': ('center', 'centre', 'middle', 'midpoint', 'centroid', 'center point', 'centre point',
               'middle point', 'core'),
    'top': ('top', 'top surface', 'top face', 'top side', 'upper surface', 'upper face', 'upper side', 'lid',
            'top center', 'top centre', 'top point'),
    'bottom': ('bottom', 'base', 'underside', 'bottom surface', 'bottom face', 'bottom side', 'foot'),
    'rim': ('rim', 'lip', 'brim', 'opening', 'mouth'),
    'handle': ('handle',),
    'grasp': ('grasp point', 'grasping point', 'grasp pose', 'grasp position', 'grasping position', 'grip point',
              'gripping point', 'grab point', 'pick point', 'picking point', 'grasp', 'grip', 'grasp location'),
    'grasp_side': ('side grasp', 'side grasp point', 'lateral grasp', 'side grip'),
    'edge': ('edge', 'side', 'end', 'border', 'boundary', 'extreme'),
}.items():
    for _phrase in _phrases:
        _words = tuple(_phrase.split())
        PART_NOUNS[_words] = _name
        PART_NOUNS[(*_words[:-1], _pluralise(_words[-1]))] = _name
# A side word before one of these names the side ("the left edge", "the far side").
SIDE_NOUNS = ('edge', 'side', 'end', 'face', 'extreme', 'part', 'half', 'corner', 'border', 'point', 'surface')
SIDE_WORDS: Dict[str, str] = {'left': 'left', 'right': 'right', 'front': 'front', 'back': 'back', 'rear': 'back',
                              'near': 'front', 'nearer': 'front', 'far': 'back', 'farther': 'back',
                              'top': 'top', 'upper': 'top', 'bottom': 'bottom', 'lower': 'bottom'}
# Parts that can follow the noun directly ("the bowl rim", "the mug handle").
COMPOUND_PARTS = ('rim', 'lip', 'handle', 'opening', 'top', 'bottom', 'center', 'centre', 'grasp', 'base')


def _side_forms(side: str) -> List[str]:
    return [f'{side} of', f'to the {side} of', f'on the {side} of', f'at the {side} of', f'to the {side} side of',
            f'on the {side} side of', f'on the {side} hand side of', f'to the {side} hand side of',
            f'{side}ward of', f'{side} from', f'to {side} of']


# Relations between an object and one or more landmark phrases.
RELATION_PATTERNS: Dict[str, List[str]] = {
    'left': _side_forms('left'),
    'right': _side_forms('right'),
    'front': ['in front of', 'in the front of', 'before', 'nearer than', 'closer than', 'on the near side of',
              'on the front side of', 'at the front of'],
    'behind': ['behind', 'in back of', 'beyond', 'past', 'behind of', 'on the far side of', 'at the back of',
               'on the back side of', 'farther than', 'further than', 'further away than', 'farther away than'],
    'above': ['on', 'on top of', 'atop', 'above', 'over', 'upon', 'onto', 'stacked on', 'resting on'],
    'below': ['under', 'underneath', 'below', 'beneath', 'supporting', 'holding up'],
    'in': ['in', 'inside', 'inside of', 'within', 'into', 'contained in'],
    'near': ['next to', 'near', 'near to', 'close to', 'beside', 'by', 'adjacent to', 'alongside', 'nearby',
             'by the side of', 'at the side of', 'neighbouring', 'neighboring', 'touching'],
    'far': ['far from', 'away from', 'far away from', 'distant from', 'apart from'],
    'between': ['between', 'in between', 'in the middle of', 'in the space between', 'halfway between'],
    # Superlative relations: the one nearest (furthest from) the landmark.
    'nearest': ['nearest to', 'nearest', 'closest to', 'closest', 'nearest from', 'closest from'],
    'farthest': ['farthest from', 'furthest from', 'farthest away from', 'furthest away from',
                 'most distant from', 'farthest to', 'furthest to'],
}
RELATIONS: Dict[Tuple[str, ...], str] = {
    tuple(p.split()): kind for kind, phrases in RELATION_PATTERNS.items() for p in phrases}

# Postmodifier phrases that pick by position without a landmark ("the cube on the left").
POSITION_PATTERNS: Dict[str, List[str]] = {
    'left': ['on the left', 'to the left', 'at the left', 'on the left side', 'on the left hand side',
             'on the far left', 'at the far left', 'to the far left', 'on the extreme left', 'leftmost', 'far left',
             'on your left', 'on my left', 'to your left', 'to my left'],
    'right': ['on the right', 'to the right', 'at the right', 'on the right side', 'on the right hand side',
              'on the far right', 'at the far right', 'to the far right', 'on the extreme right', 'rightmost',
              'far right', 'on your right', 'on my right', 'to your right', 'to my right'],
    'front': ['in front', 'at the front', 'in the front', 'in the front row', 'frontmost'],
    'back': ['at the back', 'in the back', 'at the rear', 'in the rear', 'in the back row', 'at the far end',
             'backmost'],
    'near': ['nearest to you', 'closest to you', 'nearest to me', 'closest to me', 'nearest you', 'closest you',
             'nearest me', 'closest me', 'nearest to the robot', 'closest to the robot', 'nearest of all',
             'closest of all', 'closest by'],
    'far': ['furthest away', 'farthest away', 'furthest from you', 'farthest from you', 'furthest from me',
            'farthest from me', 'furthest from the robot', 'farthest from the robot', 'far away'],
    'middle': ['in the middle', 'in the center', 'in the centre', 'in the middle of the row', 'in between'],
    'high': ['on top', 'at the top', 'highest up', 'on the top'],
    'low': ['at the bottom', 'on the bottom', 'lowest down'],
}
POSITIONS: Dict[Tuple[str, ...], str] = {
    tuple(p.split()): kind for kind, phrases in POSITION_PATTERNS.items() for p in phrases}

# Sides of the workspace: where a superlative points ("furthest to the right", "closest to the left edge")
# and where an ordinal counts from ("second from the right").
SIDES: Dict[Tuple[str, ...], str] = {}
for _side, _names in {'left': ('left', 'far left'), 'right': ('right', 'far right'), 'front': ('front', 'near'),
                      'back': ('back', 'rear', 'far')}.items():
    for _name in _names:
        for _form in (_name, *(f'{_name} {edge}' for edge in ('edge', 'side', 'end', 'hand side'))):
            if _form not in ('near', 'far'):  # "nearest to the near" means nothing; "far" alone is distance
                SIDES[tuple(_form.split())] = SIDES[('the', *_form.split())] = _side
OPPOSITE_SIDES = {'left': 'right', 'right': 'left', 'front': 'back', 'back': 'front'}
# Words that, before a side, make a superlative towards it ("most to the left", "nearest the back edge").
EXTREMES = ('furthest', 'farthest', 'most', 'closest', 'nearest')
ORDINAL_DIRECTIONS: Dict[Tuple[str, ...], str] = {
    **SIDES, **{tuple(p.split()): 'front' for p in ('the robot', 'me', 'you', 'the camera')}}

# Words that take out what follows: "the cube that is not red", "any cube except the red one", "the non-red cube".
NEGATIONS: Dict[Tuple[str, ...], str] = {tuple(p.split()): 'not' for p in (
    'not', 'except', 'except for', 'but', 'but not', 'other than', 'excluding', 'save for', 'aside from',
    'besides', 'neither', 'nor')}
NEGATED_ADJECTIVES = ('non', 'not')  # before a colour or size word: "the non-red cube"


# -- syntax tree ----------------------------------------------------------------

@dataclass
class Selector:
    """Pick by rank along a criterion: leftmost (rank 0 by 'left'), second from the right, biggest...

    ``criterion`` is a direction ('left', 'right', 'front', 'back', or several joined by '+'),
    'near'/'far' (distance to ``landmark``, or to the robot when None), 'high', 'low', 'big', 'small',
    'tall', 'short' or 'middle'.  ``rank`` is 0-based; negative counts from the other end.
    """

    criterion: str
    rank: int = 0
    landmark: Optional[NounPhrase] = None
    words: str = ''
    default_direction: bool = False  # "the second cube": no direction said, read from the left


@dataclass
class Relation:
    """A relation to landmark phrases: left/right/front/behind/above/below/in/near/far/between."""

    kind: str
    landmarks: List[NounPhrase]
    words: str = ''


@dataclass
class NounPhrase:
    """What a phrase says about the objects it means."""

    words: str = ''
    determiner: str = 'the'  # 'the', 'a' (any one will do), 'all', 'both'
    count: Optional[int] = None  # number asked for ("the two cubes", "both"); None: one, or all if plural
    plural: bool = False
    shape: Optional[str] = None  # canonical shape, '' for any object, 'robot', or None if no noun was said
    noun: str = ''  # the noun as said ("cup"), or an open-vocabulary label ("banana")
    colors: List[str] = field(default_factory=list)  # any of these (the phrase's colour words)
    sizes: List[Tuple[str, int]] = field(default_factory=list)  # ('volume' | 'height', +1 | -1)
    selectors: List[Selector] = field(default_factory=list)
    relations: List[Relation] = field(default_factory=list)
    negations: List[NounPhrase] = field(default_factory=list)  # what it is not: "not red", "except the big one"
    part: Optional[PartSpec] = None  # "the bowl rim": set by the parser, moved to Expression.part
    needs_part: bool = False  # "the handle": only objects that have the part named qualify

    def is_empty(self) -> bool:
        """True when the phrase says nothing about which object (no noun, colour, size, position)."""
        return (self.shape is None and not self.colors and not self.sizes and not self.selectors
                and not self.relations and not self.negations)


@dataclass
class PartSpec:
    name: str  # keypoint name: center, top, bottom, rim, handle, grasp, grasp_side, left, right, front, back, edge
    plural: bool = False
    words: str = ''


@dataclass
class Expression:
    """A parsed referring expression: the object phrase, the part named (if any), the words skipped."""

    text: str
    phrase: NounPhrase
    part: Optional[PartSpec] = None
    ignored: List[str] = field(default_factory=list)


# -- tokenizer --------------------------------------------------------------------

_WORD_NUMBER = re.compile(r"(\d+)(st|nd|rd|th)$")


def tokenize(text: str) -> List[str]:
    """Lower-case word tokens; "'s" and commas are tokens; hyphens split ("left-most" -> left most)."""
    text = text.lower().replace('\u2019', "'").replace('\u2018', "'")
    text = re.sub(r"\b(is|are|was|were)n't\b", r'\1 not', text)  # "the cube that isn't blue"
    text = re.sub(r"(\w)'s\b", r"\1 's", text)
    text = re.sub(r"(\w)s'(\s|$)", r"\1s 's\2", text)
    text = re.sub(r'[-_/]', ' ', text)
    tokens = re.findall(r"'s|\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+|[,;]", text)
    merged: List[str] = []
    for word in tokens:  # "left most" -> "leftmost" (what "left-most" becomes)
        if word == 'most' and merged and merged[-1] + 'most' in SUPERLATIVES:
            merged[-1] += 'most'
        else:
            merged.append(word)
    return merged


# -- parser -------------------------------------------------------------------------

class _Parser:
    """Recursive descent over tokens; multi-word terminals match longest first, in context."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        self.i = 0
        self.ignored: List[str] = []

    # word access
    def peek(self, k: int = 0) -> str:
        return self.token(self.i + k)

    def token(self, j: int) -> str:
        """The token at index ``j``, or '' past either end."""
        return self.tokens[j] if 0 <= j < len(self.tokens) else ''

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def match(self, table: Dict[Tuple[str, ...], object], at: Optional[int] = None) -> Tuple[object, int]:
        """The value and length of the longest entry of ``table`` at ``at`` (default: here), or (None, 0)."""
        start = self.i if at is None else at
        best, length = None, 0
        for n in range(min(6, len(self.tokens) - start), 0, -1):
            key = tuple(self.tokens[start:start + n])
            if key in table:
                best, length = table[key], n
                break
        return best, length

    def span(self, start: int) -> str:
        return ' '.join(self.tokens[start:self.i])

    # entry
    def parse(self, text: str) -> Expression:
        self._skip_command()
        start = self.i
        excluded = self._leading_negation()
        expression = self._part_first()
        if expression is None:
            phrase = self._noun_phrase(outer=True)
            part = phrase.part
            phrase.part = None
            if self.peek() == "'s":
                save = self.i
                self.i += 1
                part = self._part()
                if part is None:
                    self.i = save
            expression = Expression(text=text, phrase=phrase, part=part)
        expression.phrase.negations[:0] = excluded
        while not self.at_end():  # words that fit nowhere: reported, and they cost confidence
            word = self.tokens[self.i]
            if word not in (',', ';', 'please', 'now', 'thanks', 'thank', 'you'):
                self.ignored.append(word)
            self.i += 1
        expression.ignored = self.ignored
        expression.phrase.words = expression.phrase.words or ' '.join(self.tokens[start:])
        return expression

    def _skip_command(self) -> None:
        """Drop leading command words ("pick up", "land on") up to the first word that starts a phrase."""
        while not self.at_end() and self.peek() in COMMAND_WORDS and not self._starts_phrase():
            self.i += 1

    def _starts_phrase(self) -> bool:
        word = self.peek()
        if word in ('can', 'could', 'will', 'would'):
            return word == 'can' and self.peek(1) not in ('you', 'i', 'we', 'u')  # "can you ..." vs "can on the left"
        if word in ('me', 'you') and self.peek(1) == '':
            return True  # "point to me": the robot itself is the phrase
        if word in ('you', 'me', 'i', 'us', 'to', 'up', 'at', 'on', 'over', 'for', 'onto', 'is', 'are', 'which',
                    'what', 'where', 'point', 'pick', 'land'):
            return False
        return bool(word in DEFINITE or word in INDEFINITE or word in QUANTIFIERS or word in COLOR_WORDS
                    or self.match(NOUNS)[0] is not None)

    def _leading_negation(self) -> List[NounPhrase]:
        """"not the red one, the other cube": what the phrase that follows excludes."""
        if self.peek() != 'not':
            return []
        save = self.i
        self.i += 1
        excluded = self._negated()
        if not excluded:
            self.i = save
            return []
        while self.peek() in (',', ';', 'but', 'rather', 'instead'):
            self.i += 1
        return excluded

    def _negated(self) -> List[NounPhrase]:
        """The phrases after "not" or "except" ([] if none).  A property ("not red", "not a big one") excludes
        every object that has it; a definite phrase ("not the big one") only the object it names.  A negation
        inside ("not red, not green", "neither red nor blue") is one more exclusion, not a double negative."""
        definite = self.peek() in DEFINITE
        excluded = self._noun_phrase(outer=False)
        if excluded.is_empty() and not excluded.noun:
            return []
        if not definite:
            excluded.determiner, excluded.plural = 'all', True
        listed, excluded.negations = excluded.negations, []
        return [excluded, *listed]

    # parts
    def _part(self) -> Optional[PartSpec]:
        """A part name here ("the left edge", "rim", "grasp point"), consuming it, or None."""
        start = self.i
        while self.peek() in DEFINITE:
            self.i += 1
        side = SIDE_WORDS.get(self.peek())
        if side is not None and self.peek(1) == 'hand':
            self.i += 1
        if side is not None:
            self.i += 1
            noun = self.peek()
            if noun in SIDE_NOUNS or singular(noun) in SIDE_NOUNS:
                self.i += 1
                if self.peek() in ('point', 'points') and noun not in ('point', 'points'):
                    self.i += 1
                return PartSpec(name=side, plural=singular(noun) != noun, words=self.span(start))
            if noun == 'of' or noun == '' or noun == "'s":
                return PartSpec(name=side, words=self.span(start))
            self.i = start
        value, n = self.match(PART_NOUNS)
        if value is not None:
            words = self.tokens[self.i:self.i + n]
            self.i += n
            return PartSpec(name=str(value), plural=singular(words[-1]) != words[-1], words=self.span(start))
        self.i = start
        return None

    def _part_first(self) -> Optional[Expression]:
        """``[det] part of noun_phrase``, or None (and nothing consumed) when the phrase does not start so."""
        start = self.i
        quantifier = ''
        if self.peek() in QUANTIFIERS:
            quantifier = QUANTIFIERS[self.peek()]
            self.i += 1
            if self.peek() == 'of':
                self.i += 1
        determined = bool(quantifier)
        while self.peek() in DEFINITE or self.peek() in INDEFINITE:
            self.i += 1
            determined = True
        part = self._part()
        if part is None or self.peek() != 'of':
            self.i = start
            return None
        if not determined and part.words in SIDE_WORDS:
            self.i = start  # "left of the bowl" locates something; "the left of the bowl" is a part
            return None
        self.i += 1
        phrase = self._noun_phrase(outer=True)
        if quantifier and phrase.determiner == 'the' and not phrase.plural:
            phrase.determiner, phrase.plural = quantifier, True  # "all the tops of the cube(s)"
        bare_direction = part.name in DIRECTIONS and part.words.split()[-1] in SIDE_WORDS
        if bare_direction and (phrase.plural or phrase.count):
            # "the left of the two cubes" picks a cube, it does not name a part.
            phrase.selectors.insert(0, Selector(criterion=part.name, words=part.words))
            phrase.count, phrase.plural, phrase.determiner = None, False, 'the'
            return Expression(text='', phrase=phrase)
        if phrase.part is not None:
            self.ignored.append(phrase.part.words)
            phrase.part = None
        return Expression(text='', phrase=phrase, part=part)

    # noun phrases
    def _noun_phrase(self, outer: bool) -> NounPhrase:
        start = self.i
        phrase = NounPhrase()
        word = self.peek()
        if word in QUANTIFIERS:
            phrase.determiner = QUANTIFIERS[word]
            phrase.plural = True
            phrase.count = 2 if word == 'both' else None
            self.i += 1
            if self.peek() == 'of':
                self.i += 1
        if self.peek() in DEFINITE:
            if self.peek() in ('these', 'those'):
                phrase.plural = True
            self.i += 1
        elif self.peek() in INDEFINITE:
            phrase.determiner = 'a'
            self.i += 1
        self._number(phrase)
        self._premodifiers(phrase, outer)
        self._postmodifiers(phrase, outer)
        _merge_ordinal_with_position(phrase)
        phrase.words = self.span(start)
        return phrase

    def _number(self, phrase: NounPhrase) -> None:
        word = self.peek()
        value = NUMBERS.get(word)
        if value is None and word.isdigit():
            value = int(word)
        if value is None:
            return
        nxt = self.peek(1)
        if word == 'one' and nxt == 'of':  # "one of the cubes": any one of them
            self.i += 2
            phrase.determiner = 'a'
            if self.peek() in DEFINITE:
                self.i += 1
            return
        if word == 'one' and (nxt == '' or nxt in (',', "'s", 'and') or self._is_postmodifier(1)):
            return  # "the red one": a pronoun, the head noun
        self.i += 1
        if word == 'pair' and self.peek() == 'of':
            self.i += 1
        if value == 1:
            phrase.determiner = 'a' if word == 'one' else phrase.determiner
            return
        phrase.count = value
        phrase.plural = True

    def _is_postmodifier(self, k: int = 0) -> bool:
        at = self.i + k
        return (self.match(RELATIONS, at)[0] is not None or self.match(POSITIONS, at)[0] is not None
                or self._extreme_side(at)[0] is not None or self.match(NEGATIONS, at)[0] is not None
                or self.peek(k) in CLAUSE_FILLERS[:3])

    def _premodifiers(self, phrase: NounPhrase, outer: bool) -> None:
        """Modifiers up to and including the head noun (or up to where postmodifiers start)."""
        unknown: List[str] = []
        pending_ordinal: Optional[Selector] = None
        while not self.at_end():
            word = self.peek()
            ordinal, n = self.match(ORDINAL_PHRASES)
            if ordinal is None and (word in ORDINALS or _WORD_NUMBER.match(word)):
                ordinal, n = (ORDINALS[word] if word in ORDINALS else int(_WORD_NUMBER.match(word).group(1)) - 1), 1
            if ordinal is not None:
                start = self.i
                self.i += n
                pending_ordinal = Selector(criterion='left', rank=int(ordinal), default_direction=True)
                pending_ordinal.words = self.span(start)
                criterion = SUPERLATIVES.get(self.peek()) or POSITION_ADJECTIVES.get(self.peek())
                if criterion is not None and not self._starts_part_of():
                    pending_ordinal.criterion, pending_ordinal.default_direction = criterion, False
                    self.i += 1
                    pending_ordinal.words = self.span(start)
                phrase.selectors.append(pending_ordinal)
                continue
            if word in NEGATED_ADJECTIVES:  # "the non-red cube"
                excluded = NounPhrase(determiner='all', plural=True)
                self.i += 1
                if self._adjective(excluded):
                    excluded.words = self.tokens[self.i - 1]
                    phrase.negations.append(excluded)
                    continue
                self.i -= 1
            if self._adjective(phrase):
                continue
            direction = self._position_adjectives()
            if direction is not None:
                phrase.selectors.append(direction)
                continue
            if word in NEUTRAL_ADJECTIVES or word in ('very', 'really', 'most', 'quite', 'kind', 'sort'):
                self.i += 1
                continue
            noun, n = self.match(NOUNS)
            if noun is not None:
                shape, plural = noun
                phrase.noun = ' '.join(self.tokens[self.i:self.i + n])
                self.i += n
                # "the cube block": two nouns, keep the more specific (a shape over 'object').
                nxt, m = self.match(NOUNS)
                if nxt is not None and nxt[0] not in ('robot',) and self.peek() not in ROBOT_WORDS:
                    if shape == '':
                        shape, plural = nxt
                        phrase.noun = ' '.join(self.tokens[self.i:self.i + m])
                    self.i += m
                phrase.shape = shape
                phrase.plural = phrase.plural or plural
                if unknown:
                    self.ignored.extend(unknown)
                if outer:
                    self._compound_part(phrase)
                return
            if word in ('of',) and pending_ordinal is not None:
                self.i += 1  # "the second of the cubes"
                if self.peek() in DEFINITE:
                    self.i += 1
                continue
            if self._is_boundary():
                break
            if outer and phrase.part is None and not unknown and self._part_as_head(phrase):
                return
            if word.isalpha() and word not in CLAUSE_FILLERS and word not in ('and', 'or', 'with', 'of'):
                unknown.append(word)  # an adjective we do not know, or an open-vocabulary noun
                self.i += 1
                continue
            break
        if unknown:
            # No known noun: the last unknown word is the noun (open vocabulary), the others are modifiers.
            label = unknown[-1]
            phrase.noun = label
            phrase.shape = singular(label)
            phrase.plural = phrase.plural or singular(label) != label
            self.ignored.extend(unknown[:-1])

    def _adjective(self, phrase: NounPhrase) -> bool:
        """A colour or size word here, added to ``phrase`` and consumed; False if there is none."""
        word = self.peek()
        if word in COLOR_WORDS:
            phrase.colors.append(COLOR_WORDS[word])
            self.i += 1
            if self.peek() in ('and', 'or', 'nor', ',') and self.peek(1) in COLOR_WORDS:
                self.i += 1  # "the red and blue cubes", "not red, blue or green": any of the colours
            return True
        if word in SIZE_WORDS and not self._starts_part_of():
            phrase.sizes.append(SIZE_WORDS[word])
            self.i += 1
            return True
        return False

    def _part_as_head(self, phrase: NounPhrase) -> bool:
        """"the handle", "the red grasp point": a part standing where the noun belongs, of any object that has it."""
        save = self.i
        part = self._part()
        if part is None or part.name in DIRECTIONS or self.match(NOUNS)[0] is not None:
            self.i = save
            return False
        phrase.part = part
        phrase.shape = phrase.shape if phrase.shape is not None else ''
        phrase.needs_part = True
        return True

    def _starts_part_of(self) -> bool:
        """True when a part phrase followed by 'of' starts here ("top of", "left edge of")."""
        save = self.i
        part = self._part()
        ok = part is not None and self.peek() == 'of'
        self.i = save
        return ok

    def _position_adjectives(self) -> Optional[Selector]:
        """Superlatives and positional adjectives before the noun; adjacent directions combine ("front left")."""
        start = self.i
        criteria: List[str] = []
        while not self.at_end():
            word = self.peek()
            if word == 'far' and self.peek(1) in ('left', 'right'):
                self.i += 1  # "the far left cube"
                continue
            criterion = SUPERLATIVES.get(word) or POSITION_ADJECTIVES.get(word)
            if criterion is None or self._starts_part_of():
                break
            if word in POSITION_ADJECTIVES and self.match(RELATIONS)[0] is not None and self.peek(1) in ('of', 'from'):
                break  # "left of ...": a relation, not an adjective
            if word in ('near', 'closest', 'nearest', 'far', 'furthest', 'farthest') and self._is_relation_here():
                break
            if word == 'center' and self.match(NOUNS, self.i + 1)[0] is None and self.peek(1) != "'s":
                break
            criteria.append(criterion)
            self.i += 1
        if not criteria:
            self.i = start
            return None
        directions = [c for c in criteria if c in DIRECTIONS]
        if len(directions) > 1:
            criterion = '+'.join(directions)
        else:
            criterion = criteria[-1]
        return Selector(criterion=criterion, words=self.span(start))

    def _is_relation_here(self) -> bool:
        """True when a landmark follows a near/far word ("nearest to the bowl", "near the ball")."""
        kind, n = self.match(RELATIONS)
        if kind is None:
            return False
        after = self.i + n
        word = self.tokens[after] if after < len(self.tokens) else ''
        if n > 1:
            return True  # "nearest to", "closest to", "far from"
        # "nearest the bowl" has a landmark; "nearest red cube" is a superlative adjective.
        return word in DEFINITE or word in INDEFINITE or word in ROBOT_WORDS

    def _extreme_side(self, at: Optional[int] = None) -> Tuple[Optional[str], int]:
        """``[the] furthest|most|closest [away|over] [to|on|from] side`` at ``at`` (default: here): the side a
        superlative after the noun points to ("furthest to the right", "closest to the left edge") and its
        length, or (None, 0)."""
        start = self.i if at is None else at
        k = start + (self.token(start) == 'the')
        word = self.token(k)
        if word not in EXTREMES:
            return None, 0
        k += 1 + (self.token(k + 1) in ('away', 'over'))
        side, n = self._towards_side(k, away=word in ('furthest', 'farthest'))
        return (side, k + n - start) if side is not None else (None, 0)

    def _towards_side(self, at: int, away: bool) -> Tuple[Optional[str], int]:
        """``[to|towards|on|at|from] side`` at ``at``, not followed by "of" (that is a relation to a landmark):
        the side and the length.  Away from a side is the other one ("furthest from the left": the right)."""
        preposition = self.token(at) if self.token(at) in ('to', 'towards', 'toward', 'on', 'at', 'from') else ''
        side, n = self.match(SIDES, at + bool(preposition))
        end = at + bool(preposition) + n
        if side is None or self.token(end) == 'of':
            return None, 0
        return (OPPOSITE_SIDES[side] if away and preposition == 'from' else side), end - at

    def _is_boundary(self) -> bool:
        word = self.peek()
        return (word in (',', ';', "'s", 'and', 'from') or self._is_postmodifier()
                or (word == 'to' and self.peek(1) in DEFINITE))

    def _compound_part(self, phrase: NounPhrase) -> None:
        """"the bowl rim", "the mug handle": a part noun straight after the head noun."""
        if self.peek() not in COMPOUND_PARTS and (self.peek(), self.peek(1)) not in (('grasp', 'point'),):
            return
        save = self.i
        part = self._part()
        if part is None or self.peek() == 'of':
            self.i = save
            return
        phrase.part = part

    def _postmodifiers(self, phrase: NounPhrase, outer: bool) -> None:
        while not self.at_end():
            save = self.i
            word = self.peek()
            if word in (',', ';', 'and'):
                if not outer:
                    return  # a landmark ends here; what follows belongs to the outer phrase
                self.i += 1
                if not self._postmodifier(phrase):
                    self.i = save
                    return
                continue
            if not self._postmodifier(phrase):
                self.i = save
                return

    def _postmodifier(self, phrase: NounPhrase) -> bool:
        """One postmodifier, consumed; False (nothing consumed) if none starts here."""
        start = self.i
        while self.peek() in CLAUSE_FILLERS or (self.peek() == "'s" and self.peek(-1) in CLAUSE_FILLERS[:3]):
            if self.match(RELATIONS)[0] is not None or self.match(POSITIONS)[0] is not None:
                break
            self.i += 1
        word = self.peek()
        negation, n = self.match(NEGATIONS)
        if negation is not None:  # "the cylinder that is not red", "any cube except the red one"
            self.i += n
            excluded = self._negated()
            if not excluded:
                self.i = start
                return False
            phrase.negations += excluded
            return True
        side, n = self._extreme_side()
        if side is not None:  # "the cylinder furthest to the right"
            phrase.selectors.append(Selector(criterion=side, words=' '.join(self.tokens[self.i:self.i + n])))
            self.i += n
            return True
        # ordinal after the noun: "the cube second from the left"
        if word in ORDINALS or _WORD_NUMBER.match(word or 'x'):
            rank = ORDINALS[word] if word in ORDINALS else int(_WORD_NUMBER.match(word).group(1)) - 1
            if self.peek(1) == 'from':
                self.i += 1
                phrase.selectors.append(Selector(criterion='left', rank=rank, default_direction=True,
                                                 words=word))
                return self._postmodifier(phrase) or True
        pending = next((s for s in reversed(phrase.selectors) if s.criterion in ('near', 'far')
                        and s.landmark is None), None)
        if word == 'from':
            direction, n = self.match(ORDINAL_DIRECTIONS, self.i + 1)
            ordinal = next((s for s in reversed(phrase.selectors) if s.default_direction), None)
            if direction is not None and ordinal is not None:
                self.i += 1 + n
                ordinal.criterion, ordinal.default_direction = str(direction), False
                ordinal.words += ' ' + ' '.join(self.tokens[self.i - 1 - n:self.i])
                return True
        if word in ('to', 'towards', 'toward', 'from') and pending is not None:
            side, n = self._towards_side(self.i, away=pending.criterion == 'far')
            if side is not None:  # "the furthest cube to the right": the rightmost
                pending.criterion = side
                pending.words += ' ' + ' '.join(self.tokens[self.i:self.i + n])
                self.i += n
                return True
        if word in ('to', 'from') and pending is not None and self.match(RELATIONS)[0] is None \
                and self.match(POSITIONS)[0] is None:
            self.i += 1  # "the closest cube to the bowl", "the furthest cube from the bowl"
            pending.landmark = self._noun_phrase(outer=False)
            return True
        position, n = self.match(POSITIONS)
        relation, m = self.match(RELATIONS)
        if position is not None and n >= m:
            after = self.i + n
            # "on the left of the bowl", "in between the pad and the bowl" are relations; "on the left",
            # "in between" alone are positions.
            landmark = self.peek(n) == 'of' or (m == n and self.peek(n) not in ('', ',', ';', 'and'))
            if not landmark:
                words = ' '.join(self.tokens[self.i:after])
                self.i = after
                phrase.selectors.append(Selector(criterion=str(position), words=words))
                return True
        if relation is not None:
            words_start = self.i
            self.i += m
            after = self.peek()
            if after == '' or after in (',', ';', 'and'):
                if relation in ('nearest', 'farthest'):  # "the cube nearest": to the robot
                    phrase.selectors.append(Selector(criterion='near' if relation == 'nearest' else 'far',
                                                     words=self.span(words_start)))
                    return True
                self.i = start
                return False
            words = self.span(words_start)
            if relation == 'between':
                first = self._noun_phrase(outer=False)
                landmarks = [first]
                if self.peek() in ('and', ','):
                    self.i += 1
                    landmarks.append(self._noun_phrase(outer=False))
                phrase.relations.append(Relation(kind='between', landmarks=landmarks, words=words))
                return True
            landmark = self._noun_phrase(outer=False)
            if landmark.is_empty() and not landmark.noun:
                self.i = start
                return False
            if relation in ('nearest', 'farthest'):
                phrase.selectors.append(Selector(criterion='near' if relation == 'nearest' else 'far',
                                                 landmark=landmark, words=words))
            else:
                phrase.relations.append(Relation(kind=str(relation), landmarks=[landmark], words=words))
            return True
        self.i = start
        return False


def _merge_ordinal_with_position(phrase: NounPhrase) -> None:
    """"the second cube on the left" is the second from the left; "the last cube on the right" the rightmost."""
    ordinal = next((s for s in phrase.selectors if s.default_direction), None)
    position = next((s for s in phrase.selectors if s is not ordinal and s.rank == 0 and s.landmark is None
                     and s.criterion in DIRECTIONS), None)
    if ordinal is None or position is None:
        return
    ordinal.criterion, ordinal.default_direction = position.criterion, False
    ordinal.rank = 0 if ordinal.rank == -1 else ordinal.rank
    ordinal.words = f'{ordinal.words} {position.words}'
    phrase.selectors.remove(position)


def parse(text: str) -> Expression:
    """Parse a referring expression ("the rim of the bowl left of the red cube") into a tree.

    Never raises: words that fit nowhere are listed in ``Expression.ignored``.
    """
    expression = _Parser(tokenize(text)).parse(text)
    expression.text = text
    return expression
