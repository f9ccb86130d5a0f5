"""Words of instructions and corrections: verbs, connectives, quantities, directions, intensities.

The instruction grammar (``instruction.py``) and the correction grammar
(``corrections.py``) read their terminals from here; noun phrases are
perception's (``perception.language``).  Verbs map to *concepts*, not skills:
``CONCEPT_SKILLS`` says which skills can realise a concept, and a planner picks
the one the robot has (so "pick up" is ``pick`` for the arm and ``grasp`` for
the hand).  A skill's own name is always a verb for it as well.

Frame: REP 103, the robot's base frame: x forward (away from the robot), y left, z up.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Optional, Sequence, Tuple

from skill_stack.perception.language import RELATIONS
from skill_stack.perception.language import tokenize as _np_tokenize

Words = Tuple[str, ...]

# -- verbs -> concepts ---------------------------------------------------------------------------

_VERBS: Dict[str, Tuple[str, ...]] = {
    # acquire: take hold of an object
    'pick': ('acquire',), 'pick up': ('acquire',), 'pick out': ('acquire',), 'grab': ('acquire',),
    'take': ('acquire',), 'take hold of': ('acquire',), 'get hold of': ('acquire',), 'lift': ('acquire',),
    'lift up': ('acquire',), 'get': ('acquire',), 'fetch': ('acquire',), 'grasp': ('acquire',),
    'grip': ('acquire',), 'hold': ('acquire',), 'hold onto': ('acquire',), 'seize': ('acquire',),
    'collect': ('acquire',), 'snatch': ('acquire',), 'retrieve': ('acquire',), 'clutch': ('acquire',),
    'scoop up': ('acquire',), 'catch': ('acquire',), 'raise': ('acquire',), 'raise up': ('acquire',),
    # put: an object somewhere (in or on a target); without a target it lets go
    'put': ('put',), 'place': ('put',), 'drop': ('put',), 'set': ('put',), 'lay': ('put',), 'deposit': ('put',),
    'stick': ('put',), 'insert': ('put',), 'load': ('put',), 'pop': ('put',), 'toss': ('put',),
    'throw': ('put',), 'dump': ('put',), 'leave': ('put',), 'rest': ('put',), 'plop': ('put',),
    'position': ('put',), 'store': ('put',), 'return': ('put', 'home'),
    # move: put with a destination, push with a direction
    'move': ('move',), 'bring': ('move',), 'carry': ('move',), 'shift': ('move',), 'relocate': ('move',),
    'transfer': ('move',), 'transport': ('move',), 'deliver': ('move',), 'displace': ('move',),
    # stack: objects on one another
    'stack': ('stack',), 'stack up': ('stack',), 'pile': ('stack',), 'pile up': ('stack',), 'heap': ('stack',),
    # push along the table
    'push': ('push',), 'shove': ('push',), 'slide': ('push',), 'nudge': ('push',), 'sweep': ('push',),
    'scoot': ('push',), 'poke': ('push',), 'bump': ('push',), 'knock': ('push',),
    # go somewhere (an object or a point)
    'go': ('goto',), 'go to': ('goto',), 'go over to': ('goto',), 'move to': ('goto',), 'move over to': ('goto',),
    'reach': ('goto',), 'reach for': ('goto',), 'reach to': ('goto',), 'touch': ('goto',), 'tap': ('goto',),
    'approach': ('goto',), 'head': ('goto',), 'head to': ('goto',), 'head over to': ('goto',),
    'navigate': ('goto',), 'navigate to': ('goto',), 'visit': ('goto',), 'travel': ('goto',),
    'travel to': ('goto',), 'come to': ('goto',), 'get to': ('goto',), 'point at': ('goto',),
    'point to': ('goto',), 'hover over': ('fly', 'goto'), 'hover above': ('fly', 'goto'),
    'find': ('goto',), 'locate': ('goto',), 'look for': ('goto',), 'go find': ('goto',),
    'fly': ('fly',), 'fly to': ('fly',), 'fly over': ('fly',), 'fly over to': ('fly',), 'fly above': ('fly',),
    'fly towards': ('fly',), 'fly toward': ('fly',), 'fly across to': ('fly',),
    # back to where the robot started; a drone's "return home" also lands there
    'come back': ('home',), 'come home': ('home',), 'return back': ('put', 'home'),
    # in-hand rotation
    'rotate': ('rotate',), 'turn': ('rotate',), 'twist': ('rotate',), 'spin': ('rotate',), 'revolve': ('rotate',),
    'swivel': ('rotate',), 'reorient': ('rotate',), 'roll': ('rotate',),
    # let go; a robot without a release skill puts the object down on the table instead
    'release': ('release', 'put'), 'let go': ('release', 'put'), 'let go of': ('release', 'put'),
    'unhand': ('release', 'put'), 'let loose': ('release', 'put'), 'open': ('release',),
    'put down': ('land', 'put'), 'set down': ('land', 'put'),
    # swap two objects' places (a put to a spare spot and two puts into each other's place)
    'swap': ('swap',), 'swap around': ('swap',), 'swap over': ('swap',), 'switch': ('swap',),
    'switch around': ('swap',), 'switch over': ('swap',), 'exchange': ('swap',), 'interchange': ('swap',),
    'trade': ('swap',),
    # flight
    'take off': ('take_off',), 'lift off': ('take_off',), 'launch': ('take_off',), 'ascend': ('take_off',),
    'go up': ('take_off',), 'fly up': ('take_off',), 'rise': ('take_off',), 'climb': ('take_off',),
    'get airborne': ('take_off',), 'start flying': ('take_off',), 'liftoff': ('take_off',),
    'takeoff': ('take_off',), 'become airborne': ('take_off',),
    'land': ('land',), 'touch down': ('land',), 'come down': ('land',), 'descend': ('land',),
    'go down': ('land',), 'settle': ('land',),
    'hover': ('hover',), 'stay': ('hover',), 'hold position': ('hover',), 'wait': ('hover',),
    'loiter': ('hover',), 'hang': ('hover',), 'remain': ('hover',), 'stay put': ('hover',),
    'hold still': ('hover',), 'pause': ('hover',), 'stay in the air': ('hover',), 'hang in the air': ('hover',),
}
VERBS: Dict[Words, Tuple[str, ...]] = {tuple(k.split()): v for k, v in _VERBS.items()}

# Which skills realise a concept, in order of preference; the first the robot has wins.
CONCEPT_SKILLS: Dict[str, Tuple[str, ...]] = {
    'acquire': ('pick', 'grasp'), 'put': ('place', 'release'), 'release': ('release',), 'push': ('push',),
    'goto': ('reach', 'fly_to'), 'fly': ('fly_to',), 'rotate': ('rotate',), 'take_off': ('take_off',),
    'land': ('land',), 'hover': ('hover',), 'home': ('fly_to',),
}
# What a concept means in words, for messages ("the arm cannot fly").
CONCEPT_WORDS = {'acquire': 'pick things up', 'put': 'put things somewhere', 'release': 'let go',
                 'push': 'push things', 'goto': 'go to things', 'fly': 'fly', 'rotate': 'rotate things in hand',
                 'take_off': 'take off', 'land': 'land', 'hover': 'hover', 'move': 'move things',
                 'stack': 'stack things', 'swap': 'swap things', 'home': 'return to where it took off'}
# Trailing particles of separable verbs: "pick it up", "put it down", "turn it over".
PARTICLES = ('up', 'down', 'over', 'off', 'out', 'away')

# -- clause structure ----------------------------------------------------------------------------

# Words between clauses: a new clause starts after them when a verb follows.
CONNECTIVES: Tuple[Words, ...] = tuple(tuple(c.split()) for c in (
    'and then', 'and after that', 'and finally', 'and lastly', 'and next', 'and also', 'and afterwards', 'then',
    'after that', 'after this', 'afterwards', 'afterward', 'next', 'finally', 'lastly', 'last', 'later',
    'subsequently', 'once done', 'once that is done', 'once you are done', 'when done', 'when you are done',
    'when that is done', 'after which', 'also', 'and', 'plus', 'first', 'firstly', 'secondly', 'thirdly',
    'to start', 'to begin', 'start by', 'begin by', 'now', 'next up', 'followed by'))
# Connectives that end a clause even when no verb follows ("..., then the blue one" repeats the verb).
SEQUENCERS: Tuple[Words, ...] = tuple(tuple(c.split()) for c in (
    'and then', 'and after that', 'and finally', 'and lastly', 'and afterwards', 'then', 'after that', 'after this',
    'afterwards', 'afterward', 'finally', 'lastly', 'subsequently', 'once done', 'once that is done',
    'once you are done', 'when done', 'when you are done', 'when that is done', 'after which'))
# Words before a verb that ask politely or address the robot.
FILLERS = frozenset((
    'please', 'kindly', 'can', 'could', 'would', 'will', 'you', 'i', 'want', 'need', 'like', 'd', 'to', 'robot',
    'hey', 'hi', 'ok', 'okay', 'alright', 'now', 'just', 'try', 'let', 's', 'us', 'we', 'should', 'must',
    'shall', 'then', 'first', 'next', 'finally', 'also', 'and', 'carefully', 'slowly', 'quickly',
    'gently', 'immediately', 'simply', 'your', 'task', 'is', 'job', 'make', 'sure', 'be', 'able', 'mind',
    'ing', 'm', 'll', 'im', 'drone', 'arm', 'hand', 'kindly', 'do', 'me', 'favour', 'favor', 'a', 'for', 'start',
    'begin', 'by', 'lastly', 'afterwards', 'after', 'that', 'thanks', 'thank'))
FILLER_PHRASES: Tuple[Words, ...] = (('go', 'ahead'), ('go', 'on', 'and'), ('in', 'order', 'to'))
PRONOUNS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'it', 'them', 'that', 'this', 'those', 'these', 'itself', 'the same', 'the same one', 'that one', 'this one',
    'the same object', 'the same thing', 'it again', 'them again', 'that again', 'both of them', 'all of them',
    'each of them', 'each one'))
THERE = ('there', 'back there', 'over there', 'in there', 'on there', 'in it', 'on it', 'into it', 'onto it')

# Words that end a noun phrase without describing it ("there too", "the cube as well").
TRAILING_FILLERS = ('too', 'also', 'again', 'please', 'now', 'as well', 'first', 'instead', 'for me', 'thanks')
FILLER_TAILS: Tuple[Words, ...] = tuple(tuple(f.split()) for f in TRAILING_FILLERS)
# Courtesies that close a clause and say nothing of what to do ("... to the left, please", "... for me").
POLITE_TAILS: Tuple[Words, ...] = tuple(tuple(f.split()) for f in ('please', 'for me', 'thanks', 'thank you',
                                                                    'if you can', 'if you could'))
# Pronouns of quantity, as perception's grammar says them.
QUANTITY_PRONOUNS = {'everything': 'all the objects', 'all of them': 'all the objects', 'anything': 'an object',
                     'something': 'an object', 'whatever': 'all the objects', 'all': 'all the objects'}
# Prepositions that introduce where an object goes (put) or where the robot goes (goto, fly, land).
PUT_PREPOSITIONS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'on top of', 'into', 'in to', 'inside of', 'inside', 'in', 'onto', 'on to', 'on', 'upon', 'atop', 'to',
    'over', 'above', 'in the middle of', 'in the centre of', 'in the center of'))
GOTO_PREPOSITIONS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'on top of', 'over to', 'up to', 'to', 'towards', 'toward', 'over', 'above', 'at', 'onto', 'on', 'near',
    'next to', 'beside', 'by', 'into', 'in', 'in front of', 'close to', 'right above', 'directly above'))
# Where the robot started (a quadrotor: the take-off point, the world origin): "go home", "land where you took
# off"; HOME_LEADS may stand before them ("fly back to the start").
HOME = ('home', 'start', 'the start', 'back home', 'the starting point', 'the start point', 'your starting point',
        'the take off point', 'the takeoff point', 'the launch point', 'base', 'home base', 'the beginning',
        'where you started', 'where you started from', 'where you took off', 'where you took off from',
        'where you began', 'where you launched', 'where you launched from', 'where it started',
        'where it took off', 'where we started')
HOME_LEADS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'back', 'back to', 'to', 'at', 'back at', 'over', 'above', 'back over', 'back above', 'right back to',
    'straight back to', 'all the way back to', 'on', 'back on'))
# Landmarks that say "go home" rather than name an object.
NOT_OBJECTS = (*HOME, 'the ground', 'the floor', 'the table', 'ground', 'floor')

# Where beside a landmark a put leaves the object ("next to", "left of", "behind"): perception's relation
# phrases of these kinds (comparatives like "nearer than" say nothing about where).  'near' is whichever
# side is free; 'front' is nearer the robot, as grounding reads "in front of".
BESIDE_SIDES = ('near', 'left', 'right', 'front', 'behind')
BESIDE: Dict[Words, str] = {words: kind for words, kind in RELATIONS.items()
                            if kind in BESIDE_SIDES and 'than' not in words and words != ('before',)}
# How a push relates to a landmark: 'toward' it by an amount (never into it), 'all' the way to just short
# of it, or 'away' from it.
PUSH_RELATIVE: Dict[Words, str] = {tuple(k.split()): v for k, v in {
    'towards': 'toward', 'toward': 'toward', 'closer to': 'toward', 'nearer to': 'toward', 'near': 'toward',
    'in the direction of': 'toward', 'at': 'toward', 'over towards': 'toward', 'over toward': 'toward',
    'to': 'all', 'all the way to': 'all', 'all the way towards': 'all', 'all the way toward': 'all',
    'right up to': 'all', 'up to': 'all', 'over to': 'all', 'against': 'all', 'up against': 'all',
    'next to': 'all', 'until it touches': 'all', 'as far as': 'all', 'right next to': 'all', 'into': 'all',
    'away from': 'away', 'from': 'away', 'further from': 'away', 'farther from': 'away',
    'further away from': 'away', 'farther away from': 'away', 'off': 'away'}.items()}
# Comparatives that end in a preposition: "closer to the bowl" is never "to the bowl".
COMPARATIVES: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'closer to', 'nearer to', 'further from', 'farther from', 'further away from', 'farther away from'))
# "put it back where it was", "put it down on the table": a put without a destination, back where the object
# was picked up from (a final "back" or "down" is parsed as a direction or a particle before these are seen).
PUT_BACK: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'back', 'down', 'where it was', 'where it came from', 'where you found it', 'where you got it', 'in its place',
    'in place', 'on the table', 'onto the table', 'on the table top', 'on the ground', 'on the floor'))
# "swap the places of A and B", "switch A and B around", "exchange A with B": words around the two objects.
SWAP_LEADS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'the places of', 'the positions of', 'the place of', 'the position of', 'the spots of', 'the locations of',
    'places of', 'positions of', 'places', 'positions', 'places between', 'positions between'))
SWAP_TAILS: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'around', 'round', 'over', 'places', 'positions', 'their places', 'their positions', 'places around'))
SWAP_WITH: Tuple[Words, ...] = (('with',), ('and',))
# "put everything that fits into the bowl": a group narrowed to what the destination can take.
FITTING: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'that fits', 'that fit', 'which fits', 'which fit', 'that will fit', 'that can fit', 'that would fit',
    'that fits in', 'that fit in', 'fits', 'fit'))
# "all the cubes except the red one": the words before take out what follows.
EXCEPT: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'except', 'except for', 'but', 'but not', 'other than', 'apart from', 'besides', 'excluding', 'save for',
    'aside from', 'bar', 'minus', 'without'))
# "the rest": every movable object not named so far; "the rest of the cubes": of that group.
REST: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'the rest', 'all the rest', 'the others', 'all the others', 'the other ones', 'all the other ones',
    'the remaining ones', 'the remaining objects', 'the other objects', 'all the other objects',
    'everything else', 'all the remaining objects', 'the remaining things', 'the other things',
    'whatever is left', 'the leftovers', 'what is left', 'anything else'))
REST_OF: Tuple[Words, ...] = tuple(tuple(p.split()) for p in (
    'the rest of', 'all the rest of', 'the remainder of', 'the remaining', 'all the remaining', 'the other',
    'all the other'))

# -- quantities -----------------------------------------------------------------------------------

# unit word -> (dimension, factor to the base unit: metres, degrees, seconds)
UNIT_WORDS: Dict[str, Tuple[str, float]] = {}
for _words, _value in (
        (('mm', 'millimetre', 'millimetres', 'millimeter', 'millimeters', 'mil', 'mils'), ('length', 0.001)),
        (('cm', 'cms', 'centimetre', 'centimetres', 'centimeter', 'centimeters', 'centi', 'centis'),
         ('length', 0.01)),
        (('m', 'metre', 'metres', 'meter', 'meters', 'mtr', 'mtrs'), ('length', 1.0)),
        (('inch', 'inches'), ('length', 0.0254)),
        (('deg', 'degs', 'degree', 'degrees'), ('angle', 1.0)),
        (('rad', 'rads', 'radian', 'radians'), ('angle', math.degrees(1.0))),
        (('turn', 'turns', 'revolution', 'revolutions', 'rotation', 'rotations'), ('angle', 360.0)),
        (('ms', 'millisecond', 'milliseconds'), ('time', 0.001)),
        (('s', 'sec', 'secs', 'second', 'seconds'), ('time', 1.0)),
        (('min', 'mins', 'minute', 'minutes'), ('time', 60.0))):
    for _word in _words:
        UNIT_WORDS[_word] = _value

NUMBER_WORDS: Dict[str, float] = {
    'zero': 0, 'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7, 'eight': 8, 'nine': 9,
    'ten': 10, 'eleven': 11, 'twelve': 12, 'thirteen': 13, 'fourteen': 14, 'fifteen': 15, 'sixteen': 16,
    'seventeen': 17, 'eighteen': 18, 'nineteen': 19, 'twenty': 20, 'thirty': 30, 'forty': 40, 'fifty': 50,
    'sixty': 60, 'seventy': 70, 'eighty': 80, 'ninety': 90, 'hundred': 100, 'a': 1, 'an': 1, 'couple': 2,
    'few': 3, 'half': 0.5, 'quarter': 0.25, 'third': 1 / 3,
}
# Words around a quantity that say what it measures; they steer it to an argument of that name.
QUANTITY_LEAD = frozenset(('by', 'for', 'to', 'at', 'of', 'about', 'around', 'approximately', 'roughly', 'some',
                           'another', 'exactly', 'just', 'a', 'an', 'height', 'altitude', 'distance', 'angle',
                           'duration', 'up', 'further', 'extra', 'more', 'over', 'maybe', 'say', 'only', 'the'))
QUANTITY_TAIL = frozenset(('high', 'higher', 'tall', 'up', 'long', 'in', 'height', 'altitude', 'off', 'the',
                           'ground', 'more', 'further', 'farther', 'extra', 'of', 'or', 'so', 'away', 'aloft'))
HINT_NAMES: Dict[str, str] = {'high': 'height', 'higher': 'height', 'tall': 'height', 'up': 'height',
                              'height': 'height', 'altitude': 'height', 'above': 'height', 'over': 'height',
                              'off': 'height', 'ground': 'height', 'aloft': 'height', 'for': 'duration',
                              'long': 'duration', 'by': 'distance', 'away': 'distance', 'distance': 'distance',
                              'angle': 'angle', 'duration': 'duration'}
# Words around a length that make it a height above the ground, not a distance: "climb to 2 m", "2 m high".
HEIGHT_WORDS = ('to', 'at', 'height', 'altitude', 'high', 'tall', 'aloft', 'ground')

# -- directions (robot frame) and intensities ------------------------------------------------------

# A direction word -> unit vector (x forward, y left, z up).
DIRECTION_WORDS: Dict[str, Tuple[float, float, float]] = {}
for _words, _vector in (
        (('left', 'leftward', 'leftwards'), (0.0, 1.0, 0.0)),
        (('right', 'rightward', 'rightwards'), (0.0, -1.0, 0.0)),
        (('forward', 'forwards', 'ahead', 'away', 'further', 'farther'), (1.0, 0.0, 0.0)),
        (('back', 'backward', 'backwards', 'closer', 'nearer', 'rearward', 'rearwards'), (-1.0, 0.0, 0.0)),
        (('up', 'upward', 'upwards', 'higher', 'high'), (0.0, 0.0, 1.0)),
        (('down', 'downward', 'downwards', 'lower', 'low'), (0.0, 0.0, -1.0))):
    for _word in _words:
        DIRECTION_WORDS[_word] = _vector
# Comparatives that only intensify when another direction is said ("further to the left").
INTENSIFYING_DIRECTIONS = ('further', 'farther', 'closer', 'nearer')
# Words that may stand around a direction word without changing it ("to the left", "towards your right").
DIRECTION_FILLERS = frozenset(('to', 'the', 'towards', 'toward', 'your', 'my', 'its', 'side', 'hand', 'a', 'bit',
                               'more', 'and', 'slightly', 'little', 'of', 'direction', 'from', 'straight',
                               'diagonally', 'way', 'over', 'some', 'just', 'touch', 'tad', 'much', 'lot'))
# "towards me", "away from you": the robot is the landmark.
SELF_WORDS = frozenset(('me', 'you', 'yourself', 'robot', 'us', 'base', 'camera', 'myself'))
ROTATION_SENSE: Dict[Words, int] = {('clockwise',): -1, ('cw',): -1, ('counterclockwise',): 1, ('ccw',): 1,
                                    ('anticlockwise',): 1, ('counter', 'clockwise'): 1, ('anti', 'clockwise'): 1}
# Intensity of an adjustment: small, medium (unsaid), large.
INTENSITY: Dict[Words, str] = {tuple(k.split()): v for k, v in {
    'a bit': 'small', 'a little': 'small', 'a little bit': 'small', 'slightly': 'small', 'a touch': 'small',
    'a tad': 'small', 'a hair': 'small', 'a smidge': 'small', 'a fraction': 'small', 'a tiny bit': 'small',
    'just a bit': 'small', 'tiny': 'small', 'bit': 'small', 'little': 'small', 'marginally': 'small',
    'a wee bit': 'small', 'somewhat': 'small', 'a notch': 'small',
    'a lot': 'large', 'much': 'large', 'way': 'large', 'lots': 'large', 'far': 'large', 'a long way': 'large',
    'loads': 'large', 'significantly': 'large', 'a good bit': 'large', 'quite a bit': 'large',
    'a great deal': 'large', 'a lot more': 'large', 'much more': 'large', 'way more': 'large'}.items()}


def tokenize(text: str) -> List[str]:
    """Lower-case tokens of an instruction: perception's tokenizer, keeping sentence ends (as ';') and signs."""
    text = str(text).replace('\u00b0', ' degrees ').replace('\u2212', '-')
    text = re.sub(r'(?<![\w.])-(?=\d)', ' minus ', text)
    text = re.sub(r'[.!?]+(?=\s|$)', ' ; ', text)
    return _np_tokenize(text)


def match(tokens: Sequence[str], i: int, table) -> Tuple[Optional[Words], int]:
    """The longest key of ``table`` (tuples of words) starting at ``tokens[i]``, and its length."""
    for n in range(min(6, len(tokens) - i), 0, -1):
        key = tuple(tokens[i:i + n])
        if key in table:
            return key, n
    return None, 0


def suffix(words: Sequence[str], phrases: Sequence[Words]) -> int:
    """The length of the longest of ``phrases`` that ends ``words`` (0 if none)."""
    words = tuple(words)
    return max((len(p) for p in phrases if len(p) <= len(words) and words[-len(p):] == p), default=0)


def trim(words: Sequence[str], leads: Sequence[Words] = (), tails: Sequence[Words] = ()) -> Tuple[List[str], bool]:
    """``words`` less the longest of ``leads`` at the start and, repeatedly, ``tails`` at the end ("the cube back
    down on the table"), and whether anything was taken off."""
    _, n = match(words, 0, set(leads))
    words, trimmed = list(words)[n:], n > 0
    while suffix(words, tails):
        words, trimmed = words[:-suffix(words, tails)], True
    return words, trimmed


def number_at(tokens: Sequence[str], i: int) -> Tuple[Optional[float], int]:
    """A number spelled in digits or words at ``tokens[i]`` ("5", "0.5", "twenty five", "one and a half",
    "half a", "a quarter", "minus 90") and how many tokens it took."""
    sign, start = 1.0, i
    if i < len(tokens) and tokens[i] in ('minus', 'negative'):
        sign, i = -1.0, i + 1
    if i >= len(tokens):
        return None, 0
    word = tokens[i]
    if re.fullmatch(r'\d+(?:\.\d+)?', word):
        value, i = float(word), i + 1
    elif word in NUMBER_WORDS:
        value, i = float(NUMBER_WORDS[word]), i + 1
        if word in ('a', 'an') and i < len(tokens) and tokens[i] in ('half', 'quarter', 'third', 'couple', 'few'):
            value, i = float(NUMBER_WORDS[tokens[i]]), i + 1  # "a half", "a quarter", "a couple"
        elif value >= 20 and i < len(tokens) and tokens[i] in NUMBER_WORDS and NUMBER_WORDS[tokens[i]] < 10:
            value, i = value + NUMBER_WORDS[tokens[i]], i + 1  # "twenty five"
        elif i < len(tokens) and tokens[i] == 'hundred':
            value, i = value * 100, i + 1
    else:
        return None, 0
    if tokens[i:i + 3] == ['and', 'a', 'half']:
        value, i = value + 0.5, i + 3
    elif value in (0.5, 0.25, 1 / 3) and i < len(tokens) and tokens[i] in ('a', 'an', 'of'):
        i += 1  # "half a metre", "a quarter of a turn"
        if i < len(tokens) and tokens[i] in ('a', 'an'):
            i += 1
    elif i < len(tokens) and tokens[i] == 'couple' and i + 1 < len(tokens) and tokens[i + 1] == 'of':
        i += 2
    if i < len(tokens) and tokens[i] == 'of' and word in ('couple', 'few'):
        i += 1
    return sign * value, i - start


def quantity_at(tokens: Sequence[str], i: int) -> Tuple[Optional[Tuple[str, float]], int]:
    """(dimension, value in the base unit) of "5 cm", "ten centimetres", "a quarter turn", "90 degrees"."""
    value, n = number_at(tokens, i)
    if value is None:
        return None, 0
    j = i + n
    if j < len(tokens) and tokens[j] in UNIT_WORDS:
        dimension, factor = UNIT_WORDS[tokens[j]]
        return (dimension, value * factor), n + 1
    return None, 0


def direction_vector(words: Sequence[str]) -> Optional[Tuple[float, float, float]]:
    """The summed robot-frame unit vector of a direction phrase ("forward and to the left", "towards me"), or
    None when ``words`` hold anything but direction words and fillers."""
    said = [w for w in words if w in DIRECTION_WORDS]
    for k, word in enumerate(words):
        if word in ('toward', 'towards') and k + 1 < len(words) and words[k + 1] in SELF_WORDS:
            said.append('back')  # "towards me": towards the robot
        elif word not in DIRECTION_WORDS and word not in DIRECTION_FILLERS and word not in SELF_WORDS:
            return None
    if any(w not in INTENSIFYING_DIRECTIONS for w in said):
        said = [w for w in said if w not in INTENSIFYING_DIRECTIONS]
    total = [sum(DIRECTION_WORDS[w][axis] for w in said) for axis in range(3)]
    norm = math.sqrt(sum(v * v for v in total))
    if norm < 1e-9:
        return None  # nothing said, or "left and right"
    return (total[0] / norm + 0.0, total[1] / norm + 0.0, total[2] / norm + 0.0)


def take_intensity(words: Sequence[str]) -> Tuple[List[str], str]:
    """``words`` without intensity phrases that cannot describe an object ("a bit", "slightly", not "little"),
    and the intensity said ('' if none): "push the ball a little towards the bowl"."""
    out, said, i = [], '', 0
    while i < len(words):
        key, n = match(words, i, INTENSITY)
        if key is not None and (n > 1 or key[0].endswith('ly')) and key != ('a', 'touch'):
            said, i = said or INTENSITY[key], i + n
            continue
        out.append(words[i])
        i += 1
    return out, said
