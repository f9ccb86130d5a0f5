"""Generated scenarios: seeded scenes drawn from the whole scene contract, instructions in many surface forms.

The public suite was written next to the stack; these scenarios were not.  Each one is drawn from a
``numpy`` generator seeded by ``(seed, embodiment, index)``, so scenario *i* of a seed is the same whatever
``count`` or the other embodiments are, and a failure can be re-run alone.  A scenario is a plain mapping in
the scenario-file format (``eval/scenario.py``), validated by ``parse_scenario`` like a hand-written one.

Scenes: 1 to 8 objects of every shape, colour names or RGB triples near them, sizes across the contract,
positions anywhere in the embodiment's region (the arm's ``sim.random_scenes.REGIONS``, the hand's reach), random yaw,
look-alikes (same colour other shape, same shape other colour, two sizes of one kind) and, for the arm,
distractors beyond its reach.  Instructions: one family of phrases per scenario (``FAMILIES``), each family
rendered from templates with synonyms, politeness, articles, number words or digits and units.  What counts
as done is said with the conditions of ``eval/conditions.py``, judged on the simulator's ground truth.
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.eval.scenario import Scenario, parse_scenario
from skill_stack.sim.footprint import footprint, overlaps
from skill_stack.sim.random_scenes import REGIONS, Region, _grown
from skill_stack.sim.scene_file import COLORS, SceneFileError, parse_scene
from skill_stack.skills.hand import GRASP_SITE, PALM_HIGH

# Families of phrases per embodiment, in the order scenarios cycle through them.
FAMILIES: Dict[str, Tuple[str, ...]] = {
    'arm': ('place', 'stack', 'beside', 'push', 'pick', 'put_down', 'swap', 'sequence', 'quantifier',
            'reference', 'selection', 'correction', 'out_of_reach'),
    'hand': ('grasp', 'release', 'rotate'),
    'quadrotor': ('take_off', 'hover', 'fly_to', 'go_direction', 'land_on', 'return_home', 'flight_sequence'),
}
# The public suite's categories, so generated results fall in the same report columns.
FAMILY_CATEGORY = {
    'place': 'paraphrases', 'stack': 'multi_step', 'beside': 'relations', 'push': 'paraphrases',
    'pick': 'paraphrases', 'put_down': 'multi_step', 'swap': 'multi_step', 'sequence': 'multi_step',
    'quantifier': 'multi_step', 'reference': 'multi_step', 'selection': 'relations', 'correction': 'corrections',
    'out_of_reach': 'impossible', 'grasp': 'paraphrases', 'release': 'multi_step', 'rotate': 'paraphrases',
    'take_off': 'paraphrases', 'hover': 'paraphrases', 'fly_to': 'paraphrases', 'go_direction': 'paraphrases',
    'land_on': 'paraphrases', 'return_home': 'multi_step', 'flight_sequence': 'multi_step',
}
ALL_FAMILIES = tuple(f for fams in FAMILIES.values() for f in fams)

GRASP_WIDTH = (0.03, 0.06)  # m across the fingers: inside the arm gripper's hold (skills/arm.py HOLDING_MAX)
OBJECT_SIZE = (0.03, 0.08)  # m across, what the contract's arm and hand objects span
GAP = 0.04  # m between footprints: room for the fingers
SIZE_RATIO = 2.0  # look-alikes are told apart by size ('the big one') only when one is this much bigger
OUT_OF_REACH_REGION = Region(min_radius=0.66, max_radius=0.80, max_angle=math.radians(45.0))
LEFTOVER_REGION = Region(min_radius=0.63, max_radius=0.65, max_angle=math.radians(30.0))
QUADROTOR_REGION = Region(half_square=3.5)
# Under the hand: where its pinch reaches at any wrist yaw (the palm's travel less the grasp site's offset).
HAND_REGION = Region(half_square=round(float(PALM_HIGH[0] - np.hypot(*GRASP_SITE[:2])), 3))
QUADROTOR_CLEAR_START = 0.8  # m: nothing but a home pad within this of the take-off point
TIMEOUTS = {'arm': 150.0, 'hand': 120.0, 'quadrotor': 300.0}
SHAPE_NOUNS = {'box': ('cube', 'block', 'box'), 'sphere': ('ball', 'sphere'), 'cylinder': ('cylinder', 'can'),
               'bowl': ('bowl', 'dish'), 'pad': ('pad', 'mat', 'disc')}
PLURALS = {'cube': 'cubes', 'block': 'blocks', 'box': 'boxes', 'ball': 'balls', 'sphere': 'spheres',
           'cylinder': 'cylinders', 'can': 'cans'}
POLITE = ('', '', '', 'please ', 'could you ', 'can you please ', 'now ', 'robot, ')
TAIL = ('', '', '', ', please', ' for me', '.')
NUMBER_WORDS = {1: 'one', 2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six', 8: 'eight', 10: 'ten',
                12: 'twelve', 15: 'fifteen', 20: 'twenty', 30: 'thirty', 45: 'forty five', 90: 'ninety'}
DIRECTIONS = {'left': 90.0, 'right': -90.0, 'forward': 0.0, 'back': 180.0}

Obj = Dict[str, Any]
Family = Callable[['_Draw'], Dict[str, Any]]


class GenerationError(RuntimeError):
    """A family could not draw a scene that fits (it never happens for the shipped families; a bug if it does)."""


class _Draw:
    """One scenario's random choices and its table, objects placed one at a time where the contract allows."""

    def __init__(self, rng: np.random.Generator, embodiment: str):
        self.rng, self.embodiment = rng, embodiment
        self.objects: List[Obj] = []
        self.region = {'arm': REGIONS['arm'], 'hand': HAND_REGION}.get(embodiment, QUADROTOR_REGION)

    # -- choices --------------------------------------------------------------------------------
    def pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def uniform(self, low: float, high: float) -> float:
        return round(float(self.rng.uniform(low, high)), 3)

    def polite(self, text: str) -> str:
        """``text`` with a polite or addressing lead and a tail at times (not before a sentence of one's own)."""
        lead = '' if text.startswith('I ') else self.pick(POLITE)
        return f'{lead}{text}{self.pick(TAIL)}'

    def number(self, value: int) -> str:
        """Digits or words, as people write them."""
        return NUMBER_WORDS[value] if value in NUMBER_WORDS and self.chance(0.4) else str(value)

    def length(self, metres: float) -> str:
        """A length in cm, mm or m, in digits or words."""
        cm = round(metres * 100)
        unit = self.pick(('cm', 'cm', 'centimetres', 'centimeters', 'mm', 'm'))
        if unit == 'mm':
            return f'{cm * 10} mm'
        if unit == 'm':
            return f'{metres:.2f} m'.replace('0.', '0.', 1)
        return f'{self.number(cm)} {unit}'

    # -- objects --------------------------------------------------------------------------------
    def color(self, avoid: Sequence[str] = ()) -> str:
        return str(self.pick([c for c in COLORS if c not in avoid]))

    def paint(self, name: str) -> Any:
        """A colour name, or an RGB triple near it (the name still says it)."""
        if not self.chance(0.3):
            return name
        jitter = self.rng.uniform(-0.06, 0.06, 3)
        return [round(float(np.clip(c + j, 0.0, 1.0)), 3) for c, j in zip(COLORS[name], jitter, strict=True)]

    def graspable(self, shape: Optional[str] = None, color: Optional[str] = None, width: Optional[float] = None,
                  widths: Tuple[float, float] = GRASP_WIDTH) -> Obj:
        """A box, cylinder or sphere the fingers can hold (its narrow side within ``widths``)."""
        shape = shape or self.pick(('box', 'box', 'cylinder', 'sphere'))
        color = color or self.color()
        w = width if width is not None else self.uniform(*widths)
        if shape == 'box':
            size = [w, self.uniform(w, min(OBJECT_SIZE[1], w + 0.03)), self.uniform(0.03, 0.07)]
            if self.chance(0.5):
                size[1] = w  # a cube seen from above
        elif shape == 'cylinder':
            size = [round(w / 2.0, 4), self.uniform(0.03, 0.08)]
        else:
            size = [round(w / 2.0, 4)]
        return {'shape': shape, 'color': color, 'size': size}

    def bowl(self, color: Optional[str] = None, holds: float = 0.06) -> Obj:
        """A bowl whose opening takes an object ``holds`` across with room to spare."""
        radius = self.uniform(max(0.05, holds / 2.0 + 0.025), 0.09)
        return {'shape': 'bowl', 'color': color or self.color(), 'size': [radius, self.uniform(0.03, 0.05)]}

    def pad(self, color: Optional[str] = None, radius: Tuple[float, float] = (0.05, 0.08)) -> Obj:
        return {'shape': 'pad', 'color': color or self.color(), 'size': [self.uniform(*radius)]}

    def any_object(self) -> Obj:
        kind = self.pick(('graspable', 'graspable', 'graspable', 'bowl', 'pad'))
        return self.graspable() if kind == 'graspable' else self.bowl() if kind == 'bowl' else self.pad()

    def place(self, obj: Obj, region: Optional[Region] = None, near: Optional[Obj] = None,
              within: float = 0.2, attempts: int = 400) -> Obj:
        """Put ``obj`` at a free spot of ``region`` (near ``near`` when given) and add it to the table."""
        region = region or self.region
        obj = dict(obj, name=self._name(obj))
        if isinstance(obj['color'], str):
            obj['color'] = self.paint(obj['color'])
        obj.setdefault('yaw', round(float(self.rng.uniform(-math.pi, math.pi)), 3))
        for _ in range(attempts):
            if near is not None:
                a, r = self.rng.uniform(-math.pi, math.pi), self.rng.uniform(0.1, within)
                position = [near['position'][0] + r * math.cos(a), near['position'][1] + r * math.sin(a)]
                if not _in_region(position, region):
                    continue
            else:
                position = _draw(self.rng, region)
            obj['position'] = [round(v, 3) for v in position]
            if self._fits(obj):
                self.objects.append(obj)
                return obj
        raise GenerationError(f'no free spot for a {obj["shape"]} in the {self.embodiment} scene')

    def try_place(self, obj: Obj, region: Region) -> Optional[Obj]:
        """``place``, or None when the contract has no room for it there (beyond the table, say)."""
        try:
            return self.place(obj, region, attempts=60)
        except GenerationError:
            return None

    def distractors(self, most: int, lookalikes_of: Sequence[Obj] = (), avoid_shape: str = '') -> List[Obj]:
        """Up to ``most`` more objects (8 in all at most): look-alikes of the named ones, others at random,
        and on the arm's table at times one beyond its reach; none of ``avoid_shape`` (an instruction that
        names a shape alone, "the leftmost ball", must still mean the objects it was drawn for)."""
        added: List[Obj] = []
        for _ in range(int(self.rng.integers(0, most + 1))):
            if len(self.objects) >= 8:
                break
            if lookalikes_of and self.chance(0.5):
                obj = self._lookalike(self.pick(lookalikes_of))
            else:
                obj = self.any_object()
            if obj['shape'] == avoid_shape:
                continue
            placed = None
            if self.embodiment == 'arm' and self.chance(0.15):
                placed = self.try_place(obj, OUT_OF_REACH_REGION)
            try:
                added.append(placed or self.place(obj, attempts=150))
            except GenerationError:
                pass  # the table is full: fewer distractors
        return added

    def _lookalike(self, of: Obj) -> Obj:
        """Same colour other shape, same shape other colour, or the same kind in another size."""
        shape, color = of['shape'], _color_word(of)
        how = self.pick(('color', 'shape', 'size'))
        if shape in ('bowl', 'pad') or how == 'shape':
            other = self.pick([s for s in ('box', 'cylinder', 'sphere') if s != shape])
            return self.graspable(shape=other, color=color)
        if how == 'color':
            return self.graspable(shape=shape, color=self.color(avoid=[color]))
        width = of['size'][0] * (2.0 if shape != 'box' else 1.0)
        other = self.graspable(shape=shape, color=color, width=0.03 if width > 0.045 else 0.06)
        if shape == 'box':
            other['size'] = [other['size'][0]] * 3  # a cube, clearly bigger or smaller
        return other

    def _name(self, obj: Obj) -> str:
        base = f"{_color_word(obj)}_{obj['shape']}"
        taken = {o['name'] for o in self.objects}
        if base not in taken:
            return base
        return next(f'{base}_{k}' for k in range(2, 100) if f'{base}_{k}' not in taken)

    def _fits(self, obj: Obj) -> bool:
        try:
            scene = parse_scene({'embodiment': self.embodiment, 'objects': [*self.objects, _contract(obj)]})
        except SceneFileError:
            return False
        new = footprint(scene.objects[-1])
        gap = 0.3 if self.embodiment == 'quadrotor' else GAP
        return not any(overlaps(_grown(new, gap), footprint(o)) for o in scene.objects[:-1])

    # -- words ----------------------------------------------------------------------------------
    def noun(self, obj: Obj) -> str:
        """How a person names ``obj`` so that it is the only one it can mean in this scene."""
        shape, color = obj['shape'], _color_word(obj)
        nouns = SHAPE_NOUNS[shape]
        if shape == 'box' and abs(obj['size'][0] - obj['size'][1]) > 0.01:
            nouns = ('block', 'box')  # not a cube seen from above
        word = self.pick(nouns)
        same = [o for o in self.objects if o['shape'] == shape and _color_word(o) == color and o is not obj]
        if not same:
            return f'{color} {word}'
        if len(same) == 1:
            mine, other = _volume(obj), _volume(same[0])
            if max(mine, other) > SIZE_RATIO * min(mine, other):
                adjective = self.pick(('big', 'bigger', 'large')) if mine > other else \
                    self.pick(('small', 'smaller', 'little'))
                return f'{adjective} {color} {word}'
            side = 'left' if obj['position'][1] > same[0]['position'][1] else 'right'
            return f'{color} {word} on the {side}'
        raise GenerationError('more than two look-alikes to tell apart')

    def the(self, obj: Obj) -> str:
        return f'the {self.noun(obj)}'

    def scenario(self, instruction: str, conditions: List[Dict[str, Any]], success: bool = True,
                 corrections: Sequence[Tuple[float, str]] = (), timeout: Optional[float] = None) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            'scene': {'embodiment': self.embodiment, 'seed': int(self.rng.integers(0, 2 ** 31 - 1)),
                      'objects': [_contract(o) for o in self.objects]},
            'instruction': instruction, 'timeout': timeout or TIMEOUTS[self.embodiment],
            'expect': {'success': success, 'conditions': conditions}}
        if corrections:
            data['corrections'] = [{'at': float(at), 'text': text} for at, text in corrections]
        return data


# -- geometry helpers -------------------------------------------------------------------------------

def _draw(rng: np.random.Generator, region: Region) -> List[float]:
    if region.half_square is not None:
        return [float(rng.uniform(-region.half_square, region.half_square)) for _ in range(2)]
    radius = math.sqrt(rng.uniform(region.min_radius ** 2, region.max_radius ** 2))
    angle = rng.uniform(-region.max_angle, region.max_angle)
    return [radius * math.cos(angle), radius * math.sin(angle)]


def _in_region(p: Sequence[float], region: Region) -> bool:
    if region.half_square is not None:
        return abs(p[0]) <= region.half_square and abs(p[1]) <= region.half_square
    return region.min_radius <= math.hypot(*p) <= region.max_radius and abs(math.atan2(p[1], p[0])) <= \
        region.max_angle


def _contract(obj: Obj) -> Obj:
    return {k: obj[k] for k in ('name', 'shape', 'color', 'size', 'position', 'yaw') if k in obj}


def _color_word(obj: Obj) -> str:
    if isinstance(obj['color'], str):
        return obj['color']
    return min(COLORS, key=lambda c: sum((a - b) ** 2 for a, b in zip(COLORS[c], obj['color'], strict=True)))


def _extent(obj: Obj) -> float:
    size = obj['size']
    return max(size[0], size[1]) if obj['shape'] == 'box' else 2.0 * size[0]


def _volume(obj: Obj) -> float:
    """Of the object's bounding box, what 'the big one' and 'the small one' compare."""
    size = obj['size']
    if obj['shape'] == 'box':
        return size[0] * size[1] * size[2]
    height = size[1] if obj['shape'] in ('cylinder', 'bowl') else 2.0 * size[0]
    return 4.0 * size[0] ** 2 * height


def _others(draw: _Draw, *used: Obj) -> List[str]:
    return [o['name'] for o in draw.objects if all(o is not u for u in used)]


def _unchanged(draw: _Draw, *used: Obj) -> List[Dict[str, Any]]:
    rest = _others(draw, *used)
    return [{'unchanged': rest}] if rest else []


def _put_words(draw: _Draw, target: Obj) -> Tuple[str, str]:
    verb = draw.pick(('put', 'place', 'drop', 'set', 'move', 'pop'))
    if target['shape'] == 'bowl':
        return verb, draw.pick(('in', 'into', 'inside'))
    return verb, draw.pick(('on', 'onto', 'on top of'))


def _placed(obj: Obj, target: Obj) -> Dict[str, Any]:
    if target['shape'] == 'bowl':
        return {'inside': {'object': obj['name'], 'container': target['name']}}
    return {'on_top_of': {'object': obj['name'], 'support': target['name']}}


def _target(draw: _Draw, held: Obj) -> Obj:
    return draw.bowl(holds=_extent(held)) if draw.chance(0.6) else draw.pad(radius=(max(0.05, _extent(held) / 2 + 0.01),
                                                                                    0.09))


# -- arm families -----------------------------------------------------------------------------------

def _place(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable())
    target = draw.place(_target(draw, obj))
    draw.distractors(4, [obj, target])
    verb, prep = _put_words(draw, target)
    text = draw.pick((f'{verb} {draw.the(obj)} {prep} {draw.the(target)}',
                      f'{verb} {draw.the(obj)} {prep} {draw.the(target)}',
                      f'take {draw.the(obj)} and {verb} it {prep} {draw.the(target)}',
                      f'I want {draw.the(obj)} {prep} {draw.the(target)}'))
    return draw.scenario(draw.polite(text), [_placed(obj, target), *_unchanged(draw, obj, target)])


def _stack(draw: _Draw) -> Dict[str, Any]:
    lower = draw.place(draw.graspable(shape='box', widths=(0.05, 0.06)))
    upper = draw.place(draw.graspable(shape=draw.pick(('box', 'box', 'cylinder')), widths=(0.03, 0.045)))
    draw.distractors(3, [lower, upper])
    text = draw.pick((f'stack {draw.the(upper)} on {draw.the(lower)}',
                      f'put {draw.the(upper)} on top of {draw.the(lower)}',
                      f'place {draw.the(upper)} onto {draw.the(lower)}',
                      f'stack {draw.the(upper)} on top of {draw.the(lower)}'))
    return draw.scenario(draw.polite(text), [{'on_top_of': {'object': upper['name'], 'support': lower['name']}},
                                             *_unchanged(draw, upper, lower)])


_BESIDE = {'next to': None, 'beside': None, 'near': None, 'by': None, 'to the left of': 90.0,
           'left of': 90.0, 'to the right of': -90.0, 'right of': -90.0, 'in front of': 180.0, 'behind': 0.0}


def _beside(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable())
    anchor = draw.place(draw.any_object())
    draw.distractors(3, [obj])
    relation = draw.pick(tuple(_BESIDE))
    verb = draw.pick(('put', 'place', 'move', 'set'))
    near: Dict[str, Any] = {'object': obj['name'], 'target': anchor['name'], 'max': 0.08}
    if _BESIDE[relation] is not None:
        near['side'] = _BESIDE[relation]
    return draw.scenario(draw.polite(f'{verb} {draw.the(obj)} {relation} {draw.the(anchor)}'),
                         [{'near': near}, *_unchanged(draw, obj, anchor)])


def _push(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable(shape=draw.pick(('box', 'box', 'cylinder', 'sphere'))))
    verb = draw.pick(('push', 'slide', 'nudge', 'shove'))
    if draw.chance(0.3):
        goal = draw.place(draw.any_object(), near=obj, within=0.25)
        draw.distractors(2, [obj])
        toward = draw.pick(('towards', 'toward', 'in the direction of'))
        return draw.scenario(draw.polite(f'{verb} {draw.the(obj)} {toward} {draw.the(goal)}'),
                             [{'moved_toward': {'object': obj['name'], 'target': goal['name'], 'min': 0.02}},
                              *_unchanged(draw, obj, goal)])
    draw.distractors(3, [obj])
    direction = draw.pick(tuple(DIRECTIONS))
    said = {'left': ('to the left', 'left', 'leftwards'), 'right': ('to the right', 'right', 'rightwards'),
            'forward': ('forward', 'forwards', 'away from you'), 'back': ('back', 'backwards', 'towards you')}
    if draw.chance(0.3):
        amount, distance = draw.pick(('a bit', 'a little', 'slightly')), 0.05
        words = f'{verb} {draw.the(obj)} {amount} {draw.pick(said[direction])}'
        low, high = 0.015, 0.12
    else:
        distance = draw.pick((0.05, 0.08, 0.1, 0.12, 0.15))
        words = draw.pick((f'{verb} {draw.the(obj)} {draw.length(distance)} {draw.pick(said[direction])}',
                           f'{verb} {draw.the(obj)} {draw.pick(said[direction])} by {draw.length(distance)}'))
        low, high = 0.5 * distance, 1.5 * distance + 0.02
    _lane_clear(draw, obj, DIRECTIONS[direction], distance)
    return draw.scenario(draw.polite(words), [{'moved_by': {'object': obj['name'], 'min': low, 'max': high,
                                                            'direction': DIRECTIONS[direction]}},
                                              *_unchanged(draw, obj)])


def _lane_clear(draw: _Draw, obj: Obj, degrees: float, distance: float) -> None:
    """A push asked for must have room: nothing in the lane the object and the fingers behind it sweep, else
    the push shoves a second object and the scene is redrawn (touching objects of one colour also merge in
    perception's view: a push that ends against a look-alike asks for something the words did not)."""
    u = np.array([math.cos(math.radians(degrees)), math.sin(math.radians(degrees))])
    start = np.asarray(obj['position'], float)
    a, b = start - u * (_extent(obj) / 2 + 0.06), start + u * (distance * 1.5 + 0.02)
    for other in draw.objects:
        if other is obj:
            continue
        c = np.asarray(other['position'], float)
        t = float(np.clip(np.dot(c - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0))
        if np.linalg.norm(c - (a + t * (b - a))) < (_extent(obj) + _extent(other)) / 2 + 0.02:
            raise GenerationError('another object stands in the push lane')


def _pick(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable())
    draw.distractors(7, [obj])
    verb = draw.pick(('pick up', 'lift', 'grab', 'hold', 'raise', 'take', 'pick'))
    text = f'{verb} {draw.the(obj)} up' if verb == 'pick' else f'{verb} {draw.the(obj)}'
    return draw.scenario(draw.polite(text), [{'lifted': {'object': obj['name'], 'min_height': 0.03}},
                                             *_unchanged(draw, obj)])


def _put_down(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable())
    draw.distractors(4, [obj])
    n = draw.the(obj)
    text = draw.pick((f'pick up {n} and put it down', f'lift {n}, then put it back down',
                      f'grab {n} and then drop it', f'pick up {n}, then release it', f'raise {n} and set it down'))
    return draw.scenario(draw.polite(text), [{'on_table': {'object': obj['name']}}, *_unchanged(draw, obj)])


def _swap(draw: _Draw) -> Dict[str, Any]:
    a = draw.place(draw.graspable())
    b = draw.place(draw.graspable(), near=a, within=0.25)
    draw.distractors(2, [a, b])
    text = draw.pick((f'swap {draw.the(a)} and {draw.the(b)}', f'swap the places of {draw.the(a)} and {draw.the(b)}',
                      f'switch {draw.the(a)} and {draw.the(b)}', f'exchange {draw.the(a)} with {draw.the(b)}'))
    return draw.scenario(draw.polite(text), [{'took_place_of': {'object': a['name'], 'other': b['name']}},
                                             {'took_place_of': {'object': b['name'], 'other': a['name']}},
                                             *_unchanged(draw, a, b)], timeout=300.0)


def _sequence(draw: _Draw) -> Dict[str, Any]:
    first = draw.place(draw.graspable())
    target = draw.place(_target(draw, first))
    second = draw.place(draw.graspable(shape=draw.pick(('box', 'cylinder'))))
    draw.distractors(2, [first, second])
    verb, prep = _put_words(draw, target)
    direction = draw.pick(('left', 'right', 'forward', 'back'))
    _lane_clear(draw, second, DIRECTIONS[direction], 0.08)
    step1 = f'{verb} {draw.the(first)} {prep} {draw.the(target)}'
    step2 = f'push {draw.the(second)} {draw.length(0.08)} to the {direction}' if direction in ('left', 'right') \
        else f'push {draw.the(second)} {direction} by {draw.length(0.08)}'
    joined = draw.pick((f'{step1}, then {step2}', f'{step1} and then {step2}', f'{step1}. After that, {step2}',
                        f'first {step1}, then {step2}', f'{step1}; finally {step2}', f'{step1}. Then {step2}'))
    return draw.scenario(draw.polite(joined), [_placed(first, target),
                                               {'moved_by': {'object': second['name'], 'min': 0.03, 'max': 0.15,
                                                             'direction': DIRECTIONS[direction]}},
                                               *_unchanged(draw, first, target, second)], timeout=240.0)


def _quantifier(draw: _Draw) -> Dict[str, Any]:
    how = draw.pick(('all_shape', 'all_color', 'both', 'except', 'fits'))
    shape, color = draw.pick(('box', 'cylinder', 'sphere')), draw.color()
    count = 2 if how == 'both' else int(draw.rng.integers(2, 4))
    bowl = draw.place({'shape': 'bowl', 'color': draw.color(avoid=[color]), 'size': [0.09, draw.uniform(0.03, 0.05)]})
    shapes = [shape] * count if how != 'all_color' else [draw.pick(('box', 'cylinder', 'sphere')) for _ in range(count)]
    colors = [color] * count if how in ('all_color', 'both', 'except') else [draw.color() for _ in range(count)]
    movers = [draw.place(draw.graspable(shape=s, color=c, widths=(0.03, 0.038)))
              for s, c in zip(shapes, colors, strict=True)]
    noun = SHAPE_NOUNS[shape][0]
    word = PLURALS[noun]
    if how == 'all_shape':
        phrase = draw.pick((f'all the {word}', f'every {noun}', f'each {noun}', f'all {word}'))
        kept = draw.place(draw.graspable(shape=draw.pick([s for s in ('box', 'cylinder', 'sphere') if s != shape])))
    elif how == 'all_color':
        phrase = draw.pick((f'all the {color} objects', f'everything {color}', f'every {color} thing'))
        kept = draw.place(draw.graspable(color=draw.color(avoid=[color])))
    elif how == 'both':
        phrase = draw.pick((f'both {word}', f'the two {word}', f'both of the {word}'))
        kept = draw.place(draw.pad())
    elif how == 'except':
        kept = draw.place(draw.graspable(shape=shape, color=draw.color(avoid=[color]), widths=(0.03, 0.038)))
        phrase = draw.pick((f'all the {word} except the {_color_word(kept)} one',
                            f'every {noun} but the {_color_word(kept)} one'))
    else:
        phrase = draw.pick(('everything that fits', 'all that fits', 'whatever fits'))
        kept = draw.place(draw.pad())
    verb, prep = draw.pick(('put', 'place', 'move', 'drop')), draw.pick(('in', 'into'))
    conditions = [{'inside': {'object': m['name'], 'container': bowl['name']}} for m in movers]
    return draw.scenario(draw.polite(f'{verb} {phrase} {prep} {draw.the(bowl)}'),
                         [*conditions, {'unchanged': [kept['name']]}], timeout=300.0)


def _reference(draw: _Draw) -> Dict[str, Any]:
    obj = draw.place(draw.graspable())
    target = draw.place(_target(draw, obj))
    draw.distractors(3, [obj, target])
    verb, prep = _put_words(draw, target)
    n, t = draw.the(obj), draw.the(target)
    how = draw.pick(('it', 'that one', 'the same one', 'sentence'))
    if how == 'sentence':
        text = f'find {n}. {verb.capitalize()} it {prep} {t}'
    elif how == 'it':
        text = draw.pick((f'pick up {n} and {verb} it {prep} {t}', f'grab {n}, then {verb} it {prep} {t}'))
    else:
        text = f'pick up {n}, then {verb} {how} {prep} {t}'
    return draw.scenario(draw.polite(text), [_placed(obj, target), *_unchanged(draw, obj, target)])


def _selection(draw: _Draw) -> Dict[str, Any]:
    shape, color = draw.pick(('box', 'cylinder', 'sphere')), draw.color()
    noun = SHAPE_NOUNS[shape][0]
    how = draw.pick(('leftmost', 'rightmost', 'second', 'closest', 'farthest', 'biggest', 'smallest', 'between',
                     'other'))
    widths = {'biggest': (0.03, 0.055), 'smallest': (0.03, 0.055), 'second': (0.04, 0.04, 0.04)}.get(how, (0.04, 0.04))
    same = [draw.place(draw.graspable(shape=shape, color=color, width=w)) for w in widths]
    by_left = sorted(same, key=lambda o: -o['position'][1])
    if how == 'leftmost':
        chosen, phrase = by_left[0], draw.pick((f'the leftmost {noun}', f'the {noun} on the far left',
                                                f'the left-most {noun}'))
    elif how == 'rightmost':
        chosen, phrase = by_left[-1], draw.pick((f'the rightmost {noun}', f'the {noun} furthest to the right'))
    elif how == 'second':
        chosen, phrase = by_left[1], draw.pick((f'the second {noun} from the left', f'the middle {noun}'))
    elif how in ('closest', 'farthest'):
        landmark = draw.place(draw.bowl(color=draw.color(avoid=[color])))
        near, far = sorted(same, key=lambda o: math.dist(o['position'], landmark['position']))
        if math.dist(far['position'], landmark['position']) - math.dist(near['position'], landmark['position']) < 0.06:
            raise GenerationError('the two look-alikes are about as far from the landmark')
        chosen = near if how == 'closest' else far
        phrase = (draw.pick((f'the {noun} closest to {draw.the(landmark)}', f'the {noun} nearest {draw.the(landmark)}'))
                  if how == 'closest' else f'the {noun} farthest from {draw.the(landmark)}')
    elif how == 'biggest':
        chosen, phrase = same[1], draw.pick((f'the biggest {noun}', f'the larger {noun}', f'the big {noun}'))
    elif how == 'smallest':
        chosen, phrase = same[0], draw.pick((f'the smallest {noun}', f'the smaller {noun}', f'the little {noun}'))
    elif how == 'between':
        a = draw.place(draw.pad(color=draw.color(avoid=[color])))
        b = draw.place(draw.bowl(color=draw.color(avoid=[color, _color_word(a)])))
        mid = [(a['position'][k] + b['position'][k]) / 2.0 for k in range(2)]
        chosen, other = sorted(same, key=lambda o: math.dist(o['position'], mid))
        if math.dist(chosen['position'], mid) > 0.06 or math.dist(other['position'], mid) < 0.12:
            raise GenerationError('no look-alike stands between the two landmarks')
        phrase = f'the {noun} between {draw.the(a)} and {draw.the(b)}'
    else:
        chosen = draw.place(draw.graspable(shape=shape, color=draw.color(avoid=[color])))
        phrase = draw.pick((f'the {noun} that is not {color}', f'the other {noun}, not a {color} one'))
    draw.distractors(2, avoid_shape=shape)
    verb = draw.pick(('pick up', 'lift', 'grab'))
    return draw.scenario(draw.polite(f'{verb} {phrase}'), [{'lifted': {'object': chosen['name'], 'min_height': 0.03}},
                                                           *_unchanged(draw, chosen)])


def _correction(draw: _Draw) -> Dict[str, Any]:
    how = draw.pick(('reselect', 'instead', 'wait', 'stop'))
    shape = draw.pick(('box', 'cylinder', 'sphere'))
    first = draw.place(draw.graspable(shape=shape))
    second = draw.place(draw.graspable(shape=shape, color=draw.color(avoid=[_color_word(first)])))
    bowl = draw.place(draw.bowl(holds=0.06))
    noun = SHAPE_NOUNS[shape][0]
    at = draw.pick((1.0, 1.5, 2.0, 3.0))
    base = f'put the {_color_word(first)} {noun} in {draw.the(bowl)}'
    if how == 'reselect':
        said = draw.pick((f'no, the {_color_word(second)} one', f'not that one, the {_color_word(second)} {noun}',
                          f'wrong one, I meant the {_color_word(second)} one'))
        draw.distractors(2)
        return draw.scenario(draw.polite(base), [{'inside': {'object': second['name'], 'container': bowl['name']}},
                                                 {'unchanged': [first['name']]}], corrections=[(at, said)])
    if how == 'instead':
        other = draw.place(draw.bowl(holds=0.06, color=draw.color(avoid=[_color_word(bowl)])))
        said = draw.pick((f'actually put it in the {_color_word(other)} bowl instead',
                          f'no, in the {_color_word(other)} bowl', f'use the {_color_word(other)} bowl instead'))
        return draw.scenario(draw.polite(base), [{'inside': {'object': first['name'], 'container': other['name']}},
                                                 {'unchanged': [second['name']]}], corrections=[(at, said)])
    if how == 'wait':
        return draw.scenario(draw.polite(base), [{'inside': {'object': first['name'], 'container': bowl['name']}},
                                                 {'unchanged': [second['name']]}],
                             corrections=[(at, draw.pick(('wait', 'hold on', 'pause'))),
                                          (at + 3.0, draw.pick(('continue', 'go on', 'carry on', 'resume')))])
    return draw.scenario(draw.polite(base), [{'unchanged': [second['name'], bowl['name']]},
                                             {'not_inside': {'object': first['name'], 'container': bowl['name']}}],
                         success=False, corrections=[(at, draw.pick(('stop', 'cancel', 'stop, cancel that')))])


def _out_of_reach(draw: _Draw) -> Dict[str, Any]:
    obj = draw.try_place(draw.graspable(), OUT_OF_REACH_REGION) or draw.place(draw.graspable(), LEFTOVER_REGION)
    draw.place(_target(draw, obj))
    draw.distractors(2)
    verb = draw.pick(('pick up', 'grab', 'lift'))
    return draw.scenario(draw.polite(f'{verb} {draw.the(obj)}'), [{'unchanged': {'objects': 'all'}}], success=False)


# -- hand families ----------------------------------------------------------------------------------

def _hand_object(draw: _Draw, shape: Optional[str] = None) -> Obj:
    return draw.place(draw.graspable(shape=shape, widths=(0.03, 0.07)))


def _grasp(draw: _Draw) -> Dict[str, Any]:
    obj = _hand_object(draw)
    draw.distractors(1)
    verb = draw.pick(('grasp', 'pick up', 'hold', 'lift', 'grab'))
    return draw.scenario(draw.polite(f'{verb} {draw.the(obj)}'),
                         [{'lifted': {'object': obj['name'], 'min_height': 0.05}}, *_unchanged(draw, obj)])


def _release(draw: _Draw) -> Dict[str, Any]:
    obj = _hand_object(draw)
    draw.distractors(1)
    n = draw.the(obj)
    text = draw.pick((f'grasp {n}, then release it', f'pick up {n} and put it down', f'lift {n} and let go of it',
                      f'hold {n}, then drop it'))
    return draw.scenario(draw.polite(text), [{'on_table': {'object': obj['name']}}, *_unchanged(draw, obj)])


def _rotate(draw: _Draw) -> Dict[str, Any]:
    """Turning a box in the hand (a turn of a ball or a can about its axis cannot be seen, so the rotate skill
    refuses it: no family asks for it)."""
    obj = _hand_object(draw, 'box')
    draw.distractors(1)
    degrees = draw.pick((45, 90, -90, 90, 180))
    sense = 'counterclockwise' if degrees > 0 else 'clockwise'
    amount = {45: ['45 degrees', 'forty five degrees'], 90: ['90 degrees', 'a quarter turn', 'ninety degrees'],
              -90: ['90 degrees clockwise', 'a quarter turn clockwise'], 180: ['180 degrees', 'half a turn',
                                                                                'a half turn']}[degrees]
    words = draw.pick(amount)
    if degrees > 0 and draw.chance(0.3) and degrees != 180:
        words = f'{words} {sense}'
    verb = draw.pick(('rotate', 'turn', 'twist'))
    text = draw.pick((f'pick up {draw.the(obj)} and {verb} it by {words}', f'{verb} {draw.the(obj)} {words}',
                      f'grasp {draw.the(obj)}, then {verb} it {words}'))
    return draw.scenario(draw.polite(text), [{'rotated_by': {'object': obj['name'], 'degrees': degrees,
                                                             'tolerance': 25.0}},
                                             {'lifted': {'object': obj['name'], 'min_height': 0.03}},
                                             *_unchanged(draw, obj)])


# -- quadrotor families -----------------------------------------------------------------------------

def _field(draw: _Draw, pads: int = 3) -> List[Obj]:
    """Pads of distinct colours on the field, a box obstacle at times, and sometimes a home pad at the start."""
    if draw.chance(0.3):
        home = {'shape': 'pad', 'color': draw.color(), 'size': [0.3], 'position': [0.0, 0.0], 'yaw': 0.0}
        if draw._fits(dict(home, name='home_pad')):
            draw.objects.append(dict(home, name='home_pad'))
    colors = [c for c in COLORS if c not in ('black',)]
    draw.rng.shuffle(colors)
    placed = []
    for color in colors[:pads]:
        pad = draw.pad(color=color, radius=(0.2, 0.4))
        placed.append(_place_clear(draw, pad))
    if draw.chance(0.5):
        size = draw.uniform(0.2, 0.4)
        _place_clear(draw, {'shape': 'box', 'color': draw.color(), 'size': [size, size, size]})
    return placed


def _place_clear(draw: _Draw, obj: Obj) -> Obj:
    for _ in range(50):
        placed = draw.place(obj)
        if math.hypot(*placed['position']) >= QUADROTOR_CLEAR_START:
            return placed
        draw.objects.remove(placed)
    raise GenerationError('no free spot away from the take-off point')


def _height(draw: _Draw) -> Tuple[float, str]:
    h = draw.pick((1.0, 1.5, 2.0))
    said = draw.pick((f'{h:g} m', f'{h:g} metres', f'{h:g} meters')) if h != 2.0 else draw.pick(('2 m', 'two metres'))
    return h, said


def _take_off(draw: _Draw) -> Dict[str, Any]:
    _field(draw, 2)
    h, said = _height(draw)
    text = draw.pick((f'take off to {said}', f'take off and climb to {said}', f'lift off to a height of {said}',
                      f'fly up to {said}'))
    return draw.scenario(draw.polite(text), [{'airborne': {'min': h - 0.3, 'max': h + 0.3}}])


def _hover(draw: _Draw) -> Dict[str, Any]:
    _field(draw, 2)
    _h, said = _height(draw)
    seconds = draw.pick((2, 3, 5))
    text = draw.pick((f'take off to {said} and hover for {draw.number(seconds)} seconds',
                      f'take off, then hover for {draw.number(seconds)} s',
                      f'climb to {said} and stay there for {draw.number(seconds)} seconds'))
    return draw.scenario(draw.polite(text), [{'airborne': {'min': 0.5, 'max': 2.6}}])


def _fly_to(draw: _Draw) -> Dict[str, Any]:
    pads = _field(draw, 3)
    goal = draw.pick(pads)
    text = draw.pick((f'fly to {draw.the(goal)}', f'fly over {draw.the(goal)}', f'hover above {draw.the(goal)}',
                      f'go to {draw.the(goal)}'))
    return draw.scenario(draw.polite(text), [{'robot_over': {'object': goal['name'], 'max': 0.4}}])


def _go_direction(draw: _Draw) -> Dict[str, Any]:
    _field(draw, 2)
    direction = draw.pick(tuple(DIRECTIONS))
    metres = draw.pick((1, 2))
    said = draw.pick((f'{metres} m', f'{draw.number(metres)} metres', f'{metres} meters'))
    words = {'left': 'to the left', 'right': 'to the right', 'forward': 'forward', 'back': 'backwards'}[direction]
    text = draw.pick((f'take off, then fly {said} {words}', f'take off and go {said} {words}',
                      f'take off and move {words} by {said}'))
    return draw.scenario(draw.polite(text), [{'robot_moved': {'direction': DIRECTIONS[direction],
                                                              'min': metres - 0.4, 'max': metres + 0.4}}])


def _land_on(draw: _Draw) -> Dict[str, Any]:
    pads = _field(draw, 3)
    goal = draw.pick(pads)
    text = draw.pick((f'land on {draw.the(goal)}', f'touch down on {draw.the(goal)}',
                      f'fly to {draw.the(goal)} and land', f'take off and land on {draw.the(goal)}'))
    return draw.scenario(draw.polite(text), [{'landed_on': {'pad': goal['name']}}])


def _return_home(draw: _Draw) -> Dict[str, Any]:
    pads = _field(draw, 3)
    goal = draw.pick(pads)
    back = draw.pick(('return home', 'come back and land where you started', 'fly back home and land',
                      'land where you took off', 'return to the start and land'))
    text = draw.pick((f'fly to {draw.the(goal)}, then {back}', f'fly over {draw.the(goal)} and then {back}'))
    return draw.scenario(draw.polite(text), [{'returned_home': {'max': 0.4}}])


def _flight_sequence(draw: _Draw) -> Dict[str, Any]:
    pads = _field(draw, 3)
    via, goal = pads[0], pads[1]
    _h, said = _height(draw)
    text = draw.pick((f'take off to {said}, fly to {draw.the(via)}, then land on {draw.the(goal)}',
                      f'take off, hover for 2 seconds, then land on {draw.the(goal)}',
                      f'fly over {draw.the(via)} and then land on {draw.the(goal)}'))
    return draw.scenario(draw.polite(text), [{'landed_on': {'pad': goal['name']}}])


GENERATORS: Dict[str, Family] = {
    'place': _place, 'stack': _stack, 'beside': _beside, 'push': _push, 'pick': _pick, 'put_down': _put_down,
    'swap': _swap, 'sequence': _sequence, 'quantifier': _quantifier, 'reference': _reference,
    'selection': _selection, 'correction': _correction, 'out_of_reach': _out_of_reach,
    'grasp': _grasp, 'release': _release, 'rotate': _rotate,
    'take_off': _take_off, 'hover': _hover, 'fly_to': _fly_to, 'go_direction': _go_direction, 'land_on': _land_on,
    'return_home': _return_home, 'flight_sequence': _flight_sequence,
}


# -- entry points -----------------------------------------------------------------------------------

def scenario_data(seed: int, embodiment: str, index: int, families: Sequence[str] = ()) -> Dict[str, Any]:
    """Scenario ``index`` of ``seed`` for ``embodiment`` as a scenario-file mapping; the family cycles through
    ``families`` (all of the embodiment's when empty)."""
    mine = [f for f in (families or FAMILIES[embodiment]) if f in FAMILIES[embodiment]]
    if not mine:
        raise ValueError(f'none of the families {list(families)} is one of the {embodiment}\'s: '
                         f'{", ".join(FAMILIES[embodiment])}')
    family = mine[index % len(mine)]
    salt = zlib.crc32(embodiment.encode())
    rng = np.random.default_rng([seed, salt, index])
    for _attempt in range(20):
        draw = _Draw(rng, embodiment)
        try:
            data = GENERATORS[family](draw)
            break
        except GenerationError:
            continue
    else:
        raise GenerationError(f'{family}: no scene fits after 20 draws (seed {seed}, #{index})')
    name = f'gen{seed}_{embodiment}_{index:04d}_{family}'
    return {'name': name, 'category': FAMILY_CATEGORY[family], 'family': family,
            'description': f'generated: seed {seed}, {embodiment} #{index}, family {family}', **data}


def generate(count: int, seed: int, embodiments: Sequence[str] = ('arm', 'hand', 'quadrotor'),
             families: Sequence[str] = ()) -> List[Scenario]:
    """``count`` scenarios per embodiment named, validated as scenario files are."""
    unknown = sorted(set(families) - set(ALL_FAMILIES))
    if unknown:
        raise ValueError(f'unknown family {unknown[0]!r}; families: {", ".join(ALL_FAMILIES)}')
    out: List[Scenario] = []
    for embodiment in embodiments:
        if families and not set(families) & set(FAMILIES[embodiment]):
            continue
        for index in range(count):
            data = scenario_data(seed, embodiment, index, families)
            out.append(parse_scenario(data, source=f'generated:{data["name"]}'))
    if not out:
        raise ValueError(f'no family of {list(families)} belongs to {list(embodiments)}')
    return out
