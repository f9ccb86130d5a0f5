"""Success conditions of a scenario, judged on the simulator's ground truth before and after the task.

A world is the dict of ``sim/get_world_state``: ``{"objects": {name: {"position": [x, y, z],
"quaternion": [w, x, y, z]}}, "robots": {embodiment: {"position": [...]}}}``.  Object sizes come from the
scenario's scene (the world reports poses only).  Each condition is parsed once, strictly, so a typo in a
scenario is an error at load time naming the file and field, never a silently true check at run time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from skill_stack.drivers.quadrotor import yaw_of
from skill_stack.sim.scene_file import ObjectSpec, SceneSpec

World = Mapping[str, Any]

# Defaults, in metres and degrees, chosen to tell "done" from "not done", not to grade precision.
INSIDE_MARGIN = 0.01  # an object's centre may sit this far inside the bowl's rim radius
ON_TOP_MARGIN = 0.01  # footprint slack of a support
LANDED_MARGIN = 0.10  # the quadrotor's body may land this far beyond the pad's radius
LANDED_HEIGHT = 0.05  # landed: the body no higher than this above where it started (on the ground)
UNCHANGED_TOLERANCE = 0.01  # m
UNCHANGED_DEGREES = 15.0
DIRECTION_TOLERANCE = 45.0  # degrees
NEAR_MAX = 0.08  # footprints at most this far apart: "next to"
SWAP_MAX = 0.05  # an object of a swap within this of where the other stood
AIRBORNE_MIN = 0.3  # m above the start: flying


class ConditionError(ValueError):
    """A condition that cannot be checked as written; ``field`` names where in the scenario."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"field '{field_name}': {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Check:
    """The verdict of one condition: whether it holds and what was measured."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> Dict[str, Any]:
        return {'condition': self.name, 'ok': self.ok, 'detail': self.detail}


@dataclass(frozen=True)
class Condition:
    """One parsed condition: its kind, its arguments, and the scene that gives object sizes."""

    kind: str
    args: Mapping[str, Any]
    scene: SceneSpec = field(compare=False, repr=False)

    def describe(self) -> str:
        said = ', '.join(f'{k}={v}' for k, v in self.args.items())
        return f'{self.kind}({said})'

    def check(self, before: World, after: World) -> Check:
        try:
            ok, detail = _CHECKS[self.kind](self, before, after)
        except (KeyError, TypeError, ValueError, IndexError) as err:
            return Check(self.describe(), False, f'cannot evaluate on this world: {err!r}')
        return Check(self.describe(), ok, detail)


# -- parsing -------------------------------------------------------------------------------------

def parse_condition(raw: Any, scene: SceneSpec, where: str) -> Condition:
    """One entry of ``expect.conditions``: a mapping ``{kind: arguments}``; ``where`` names it in errors."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ConditionError(where, f'expected one mapping {{kind: arguments}} with kind one of {sorted(_SCHEMA)}, '
                                    f'got {raw!r}')
    kind, args = next(iter(raw.items()))
    if kind not in _SCHEMA:
        raise ConditionError(where, f'unknown condition {kind!r}, expected one of {sorted(_SCHEMA)}')
    where = f'{where}.{kind}'
    if kind == 'unchanged' and (args == 'all' or isinstance(args, list)):
        args = {'objects': args}
    if not isinstance(args, dict):
        raise ConditionError(where, f'expected a mapping of arguments, got {args!r}')
    required, optional = _SCHEMA[kind]
    unknown = sorted(set(map(str, args)) - set(required) - set(optional))
    if unknown:
        raise ConditionError(f'{where}.{unknown[0]}', f'unknown argument, expected {sorted(required + optional)}')
    for name in required:
        if name not in args:
            raise ConditionError(f'{where}.{name}', 'missing required argument')
    parsed: Dict[str, Any] = {}
    for name, value in args.items():
        parser = _ARG_PARSERS.get(f'{kind}.{name}', _ARG_PARSERS.get(name))
        parsed[name] = parser(value, scene, f'{where}.{name}')
    _cross_check(kind, parsed, scene, where)
    return Condition(kind, parsed, scene)


def _object_name(value: Any, scene: SceneSpec, where: str) -> str:
    names = [o.name for o in scene.objects]
    if not isinstance(value, str) or value not in names:
        raise ConditionError(where, f'{value!r} is not an object of the scene (objects: {", ".join(names) or "none"})')
    return value


def _object_names(value: Any, scene: SceneSpec, where: str) -> Any:
    if value == 'all':
        return 'all'
    if not isinstance(value, list) or not value:
        raise ConditionError(where, f'expected "all" or a non-empty list of object names, got {value!r}')
    return tuple(_object_name(v, scene, f'{where}[{i}]') for i, v in enumerate(value))


def _number(low: float = -math.inf, high: float = math.inf) -> Callable[[Any, SceneSpec, str], float]:
    def parse(value: Any, scene: SceneSpec, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConditionError(where, f'expected a number, got {value!r}')
        if not low <= value <= high:
            raise ConditionError(where, f'expected a number in {low}..{high}, got {value}')
        return float(value)
    return parse


def _flag(value: Any, scene: SceneSpec, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(where, f'expected true or false, got {value!r}')
    return value


def _direction(value: Any, scene: SceneSpec, where: str) -> float:
    """Degrees in the robot frame (0 = +x forward, 90 = +y left), or a word."""
    words = {'forward': 0.0, 'left': 90.0, 'back': 180.0, 'backward': 180.0, 'right': -90.0}
    if isinstance(value, str):
        if value not in words:
            raise ConditionError(where, f'expected degrees or one of {sorted(words)}, got {value!r}')
        return words[value]
    return _number(-360.0, 360.0)(value, scene, where)


_ARG_PARSERS: Dict[str, Callable[[Any, SceneSpec, str], Any]] = {
    'object': _object_name, 'container': _object_name, 'support': _object_name, 'pad': _object_name,
    'objects': _object_names,
    'min': _number(0.0, 100.0), 'max': _number(0.0, 100.0), 'direction': _direction,
    'direction_tolerance': _number(0.0, 180.0), 'min_height': _number(0.0, 100.0),
    'degrees': _number(-360.0, 360.0), 'rotated_by.tolerance': _number(0.0, 180.0),
    'unchanged.tolerance': _number(0.0, 1.0), 'margin': _number(0.0, 1.0),
    'degrees_tolerance': _number(0.0, 180.0), 'robot': _flag, 'target': _object_name, 'other': _object_name,
    'side': _direction, 'near.max': _number(0.0, 1.0),
}
# kind -> (required arguments, optional arguments)
_SCHEMA: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'inside': (('object', 'container'), ('margin',)),
    'on_top_of': (('object', 'support'), ('margin',)),
    'moved_by': (('object',), ('min', 'max', 'direction', 'direction_tolerance')),
    'lifted': (('object', 'min_height'), ()),
    'landed_on': (('pad',), ('margin',)),
    'rotated_by': (('object', 'degrees'), ('tolerance',)),
    'unchanged': (('objects',), ('tolerance', 'degrees_tolerance', 'robot')),
    'not_inside': (('object', 'container'), ('margin',)),
    'near': (('object', 'target'), ('max', 'side', 'direction_tolerance')),
    'moved_toward': (('object', 'target'), ('min',)),
    'on_table': (('object',), ('margin',)),
    'took_place_of': (('object', 'other'), ('max',)),
    'airborne': ((), ('min', 'max')),
    'robot_over': (('object',), ('max',)),
    'robot_moved': ((), ('min', 'max', 'direction', 'direction_tolerance')),
    'returned_home': ((), ('max',)),
}
CONDITION_KINDS = tuple(_SCHEMA)


def _cross_check(kind: str, args: Dict[str, Any], scene: SceneSpec, where: str) -> None:
    """What the arguments mean together: a bowl to be inside, a pad to land on, a sensible distance range."""
    if kind in ('inside', 'not_inside') and scene.object(args['container']).shape != 'bowl':
        raise ConditionError(f'{where}.container', f"'{args['container']}' is a "
                                                   f"{scene.object(args['container']).shape}, not a bowl")
    if kind in ('inside', 'on_top_of') and args['object'] == args.get('container', args.get('support')):
        raise ConditionError(where, 'an object cannot be inside or on top of itself')
    if kind == 'landed_on':
        if scene.embodiment != 'quadrotor':
            raise ConditionError(where, f'landed_on is for the quadrotor; this scene is for the {scene.embodiment}')
        if scene.object(args['pad']).shape != 'pad':
            raise ConditionError(f'{where}.pad', f"'{args['pad']}' is a {scene.object(args['pad']).shape}, not a pad")
    if kind in ('airborne', 'robot_over', 'robot_moved', 'returned_home') and scene.embodiment != 'quadrotor':
        raise ConditionError(where, f'{kind} is for the quadrotor; this scene is for the {scene.embodiment}')
    if kind in ('near', 'moved_toward', 'took_place_of') and args['object'] == args.get('target', args.get('other')):
        raise ConditionError(where, 'an object is always where it is: name two different objects')
    if kind in ('moved_by', 'robot_moved'):
        if 'min' not in args and 'max' not in args and 'direction' not in args:
            raise ConditionError(where, 'say at least one of min, max, direction')
        if args.get('min', 0.0) > args.get('max', math.inf):
            raise ConditionError(where, f"min {args['min']} is more than max {args['max']}")


# -- geometry ------------------------------------------------------------------------------------

def _pos(world: World, name: str) -> List[float]:
    return [float(v) for v in world['objects'][name]['position']]


def _quat(world: World, name: str) -> List[float]:
    return [float(v) for v in world['objects'][name]['quaternion']]


def _robot(world: World) -> List[float]:
    robots = world['robots']
    if len(robots) != 1:
        raise ValueError(f'expected one robot in the world, got {sorted(robots)}')
    return [float(v) for v in next(iter(robots.values()))['position']]


def _half_height(obj: ObjectSpec) -> float:
    return obj.height / 2.0


def _radius(obj: ObjectSpec) -> float:
    """The radius of a round footprint (cylinder, sphere, bowl, pad)."""
    return obj.size[0]


def yaw_degrees(quaternion: Sequence[float]) -> float:
    """Heading about +z of a (w, x, y, z) quaternion, degrees."""
    return math.degrees(yaw_of(quaternion))


def rotation_degrees(q1: Sequence[float], q2: Sequence[float]) -> float:
    """The angle of the rotation taking orientation q1 to q2, degrees (0..180)."""
    dot = abs(sum(a * b for a, b in zip(q1, q2, strict=True)))
    norm = math.sqrt(sum(a * a for a in q1) * sum(b * b for b in q2))
    return math.degrees(2.0 * math.acos(min(1.0, dot / norm)))


def _wrap(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0


def _horizontal(a: Sequence[float], b: Sequence[float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


# -- the checks ----------------------------------------------------------------------------------

def _inside(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    """Within the rim and resting in the bowl: the object's lowest point between the bowl's floor and rim (a can
    taller than the bowl stands in it with its centre above the rim)."""
    obj, bowl = c.scene.object(c.args['object']), c.scene.object(c.args['container'])
    p, b = _pos(after, obj.name), _pos(after, bowl.name)
    rim = _radius(bowl) - c.args.get('margin', INSIDE_MARGIN)
    bottom, top = b[2] - _half_height(bowl), b[2] + _half_height(bowl)
    low = p[2] - _half_height(obj)
    d = _horizontal(p, b)
    ok = d <= rim and bottom - 0.01 < low < top and p[2] > bottom
    return ok, (f'{obj.name} centre {d * 100:.1f} cm from the axis of {bowl.name} (inside: <= {rim * 100:.1f}), '
                f'its bottom at z {low:.3f} (bowl {bottom:.3f}..{top:.3f})')


def _on_top_of(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj, support = c.scene.object(c.args['object']), c.scene.object(c.args['support'])
    p, s = _pos(after, obj.name), _pos(after, support.name)
    margin = c.args.get('margin', ON_TOP_MARGIN)
    if support.shape == 'box':
        yaw = math.radians(yaw_degrees(_quat(after, support.name)))
        dx, dy = p[0] - s[0], p[1] - s[1]
        lx, ly = dx * math.cos(yaw) + dy * math.sin(yaw), -dx * math.sin(yaw) + dy * math.cos(yaw)
        over = abs(lx) <= support.size[0] / 2 + margin and abs(ly) <= support.size[1] / 2 + margin
        where = f'offset ({lx * 100:.1f}, {ly * 100:.1f}) cm in its frame'
    else:
        d = _horizontal(p, s)
        over = d <= _radius(support) + margin
        where = f'{d * 100:.1f} cm from its centre (radius {_radius(support) * 100:.1f})'
    top = s[2] + _half_height(support)
    tallest = max(obj.size) * (2.0 if obj.shape in ('sphere', 'cylinder', 'bowl') else 1.0)
    resting = top < p[2] < top + tallest + 0.01
    return over and resting, f'{obj.name} over {support.name}: {where}; z {p[2]:.3f}, support top {top:.3f}'


def _moved_by(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj = c.args['object']
    return _displacement(c, _pos(before, obj), _pos(after, obj), f'{obj} moved', 100.0, 'cm')


def _displacement(c: Condition, p0: Sequence[float], p1: Sequence[float], what: str, scale: float, unit: str
                  ) -> Tuple[bool, str]:
    """A horizontal move between ``min`` and ``max`` and, when said, within the tolerance of ``direction``."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    d = math.hypot(dx, dy)
    ok = c.args.get('min', 0.0) <= d <= c.args.get('max', math.inf)
    detail = f'{what} {d * scale:.{1 if unit == "cm" else 2}f} {unit}'
    if 'direction' in c.args:
        heading = math.degrees(math.atan2(dy, dx))
        off = abs(_wrap(heading - c.args['direction']))
        ok = ok and d > 0.005 and off <= c.args.get('direction_tolerance', DIRECTION_TOLERANCE)
        detail += f' towards {heading:.0f} deg (wanted {c.args["direction"]:.0f})'
    return ok, detail


def _lifted(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj = c.args['object']
    rise = _pos(after, obj)[2] - _pos(before, obj)[2]
    return rise >= c.args['min_height'], f'{obj} rose {rise * 100:.1f} cm (wanted >= {c.args["min_height"] * 100:.1f})'


def _landed_on(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    pad = c.scene.object(c.args['pad'])
    body, start, centre = _robot(after), _robot(before), _pos(after, pad.name)
    d = _horizontal(body, centre)
    reach = _radius(pad) + c.args.get('margin', LANDED_MARGIN)
    rise = body[2] - start[2]
    ok = d <= reach and rise <= LANDED_HEIGHT
    return ok, (f'body {d * 100:.0f} cm from the centre of {pad.name} (<= {reach * 100:.0f}), '
                f'{rise * 100:.1f} cm above its start height (landed: <= {LANDED_HEIGHT * 100:.0f})')


def _rotated_by(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj, wanted = c.args['object'], c.args['degrees']
    turned = _wrap(yaw_degrees(_quat(after, obj)) - yaw_degrees(_quat(before, obj)))
    tolerance = c.args.get('tolerance', 20.0)
    return abs(_wrap(turned - wanted)) <= tolerance, f'{obj} turned {turned:.0f} deg about z (wanted {wanted:.0f} ' \
                                                     f'+- {tolerance:.0f})'


def _unchanged(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    names = [o.name for o in c.scene.objects] if c.args['objects'] == 'all' else list(c.args['objects'])
    tolerance = c.args.get('tolerance', UNCHANGED_TOLERANCE)
    degrees = c.args.get('degrees_tolerance', UNCHANGED_DEGREES)
    moved = []
    for name in names:
        shift = math.dist(_pos(before, name), _pos(after, name))
        turn = rotation_degrees(_quat(before, name), _quat(after, name))
        if shift > tolerance or turn > degrees:
            moved.append(f'{name} moved {shift * 100:.1f} cm, turned {turn:.0f} deg')
    if c.args.get('robot', False):
        shift = math.dist(_robot(before), _robot(after))
        if shift > tolerance:
            moved.append(f'the robot moved {shift * 100:.1f} cm')
    what = f'{len(names)} object(s){" and the robot" if c.args.get("robot") else ""}'
    if moved:
        return False, '; '.join(moved)
    return True, f'{what} within {tolerance * 100:.1f} cm and {degrees:.0f} deg'


def _not_inside(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    ok, detail = _inside(c, before, after)
    return not ok, detail


def _gap(a: ObjectSpec, pa: Sequence[float], b: ObjectSpec, pb: Sequence[float]) -> float:
    """Horizontal distance between two footprints, each taken as the circle around it (0 when they touch)."""
    return max(0.0, _horizontal(pa, pb) - _footprint_radius(a) - _footprint_radius(b))


def _footprint_radius(obj: ObjectSpec) -> float:
    return math.hypot(obj.size[0], obj.size[1]) / 2.0 if obj.shape == 'box' else _radius(obj)


def _near(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    """Beside the target on the table: footprints at most ``max`` apart (default 8 cm), on ``side`` when said."""
    obj, target = c.scene.object(c.args['object']), c.scene.object(c.args['target'])
    p, t = _pos(after, obj.name), _pos(after, target.name)
    gap, limit = _gap(obj, p, target, t), c.args.get('max', NEAR_MAX)
    resting = p[2] < _pos(before, obj.name)[2] + 0.02
    ok = gap <= limit and resting
    detail = f'{obj.name} {gap * 100:.1f} cm from {target.name} (<= {limit * 100:.0f}), z {p[2]:.3f}'
    if 'side' in c.args:
        heading = math.degrees(math.atan2(p[1] - t[1], p[0] - t[0]))
        off = abs(_wrap(heading - c.args['side']))
        ok = ok and off <= c.args.get('direction_tolerance', DIRECTION_TOLERANCE)
        detail += f', at {heading:.0f} deg from it (wanted {c.args["side"]:.0f})'
    return ok, detail


def _moved_toward(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj, target = c.args['object'], c.args['target']
    d0 = _horizontal(_pos(before, obj), _pos(before, target))
    d1 = _horizontal(_pos(after, obj), _pos(after, target))
    wanted = c.args.get('min', 0.02)
    return d0 - d1 >= wanted, (f'{obj} {d0 * 100:.1f} -> {d1 * 100:.1f} cm from {target} '
                               f'(closer by >= {wanted * 100:.0f} cm)')


def _on_table(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    """Resting on the table again: its centre no higher than at the start, plus a margin (1 cm)."""
    obj = c.args['object']
    z0, z1 = _pos(before, obj)[2], _pos(after, obj)[2]
    margin = c.args.get('margin', ON_TOP_MARGIN)
    return z1 <= z0 + margin, f'{obj} centre at z {z1:.3f} (started at {z0:.3f}, resting: <= +{margin * 100:.0f} cm)'


def _took_place_of(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    obj, other = c.args['object'], c.args['other']
    d = _horizontal(_pos(after, obj), _pos(before, other))
    limit = c.args.get('max', SWAP_MAX)
    return d <= limit, f'{obj} {d * 100:.1f} cm from where {other} stood (<= {limit * 100:.0f})'


def _airborne(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    rise = _robot(after)[2] - _robot(before)[2]
    low, high = c.args.get('min', AIRBORNE_MIN), c.args.get('max', math.inf)
    return low <= rise <= high, f'the body {rise:.2f} m above its start (wanted {low:g}..{high:g})'


def _robot_over(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    name = c.args['object']
    body, centre = _robot(after), _pos(after, name)
    d, limit = _horizontal(body, centre), c.args.get('max', LANDED_MARGIN + 0.3)
    rise = body[2] - _robot(before)[2]
    return d <= limit and rise >= AIRBORNE_MIN, (f'the body {d * 100:.0f} cm from above {name} '
                                                 f'(<= {limit * 100:.0f}), {rise:.2f} m up')


def _robot_moved(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    return _displacement(c, _robot(before), _robot(after), 'the body moved', 1.0, 'm')


def _returned_home(c: Condition, before: World, after: World) -> Tuple[bool, str]:
    start, body = _robot(before), _robot(after)
    d, limit = _horizontal(start, body), c.args.get('max', LANDED_MARGIN + 0.3)
    rise = body[2] - start[2]
    return d <= limit and rise <= LANDED_HEIGHT, (f'landed {d * 100:.0f} cm from the take-off point '
                                                  f'(<= {limit * 100:.0f}), {rise * 100:.1f} cm above its start')


_CHECKS: Dict[str, Callable[[Condition, World, World], Tuple[bool, str]]] = {
    'inside': _inside, 'on_top_of': _on_top_of, 'moved_by': _moved_by, 'lifted': _lifted,
    'landed_on': _landed_on, 'rotated_by': _rotated_by, 'unchanged': _unchanged, 'not_inside': _not_inside,
    'near': _near, 'moved_toward': _moved_toward, 'on_table': _on_table, 'took_place_of': _took_place_of,
    'airborne': _airborne, 'robot_over': _robot_over, 'robot_moved': _robot_moved, 'returned_home': _returned_home,
}


def evaluate(conditions: Sequence[Condition], before: World, after: Optional[World]) -> List[Check]:
    """Every condition's verdict; with no world after the task (it could not be read) all fail."""
    if after is None:
        return [Check(c.describe(), False, 'no ground truth after the task') for c in conditions]
    return [c.check(before, after) for c in conditions]
