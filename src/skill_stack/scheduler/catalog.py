"""The skill library as planners see it: schemas read from ``Skill.describe()``, validation, SayCan scoring.

Planners never hard-code argument lists: they ask the catalog which arguments a
skill takes, of what kind and unit, and fill them by kind.  A skill added to the
library (or an argument added to one) is planned for without touching the
scheduler.  ``assess`` is SayCan's product: the planner's confidence in a step
times the skill's own feasibility in the current scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.plan import Step

OBJECT_KINDS = ('object', 'keypoint')
# Units a skill argument may declare, as (dimension, factor to the dimension's base unit: m, deg, s).
UNITS: Dict[str, Tuple[str, float]] = {'m': ('length', 1.0), 'cm': ('length', 0.01), 'mm': ('length', 0.001),
                                       'deg': ('angle', 1.0), 'rad': ('angle', 57.29577951308232),
                                       's': ('time', 1.0), 'ms': ('time', 0.001)}
OFFSET_ARG = 'offset'  # a point argument by this name shifts a skill's target (live corrections)


@dataclass(frozen=True)
class ArgInfo:
    """One argument of a skill, from its JSON description."""

    name: str
    kind: str
    description: str = ''
    required: bool = False
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    unit: str = ''
    choices: Tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArgInfo:
        return cls(name=str(data['name']), kind=str(data['kind']), description=str(data.get('description', '')),
                   required=bool(data.get('required', False)), default=data.get('default'),
                   minimum=data.get('minimum'), maximum=data.get('maximum'), unit=str(data.get('unit', '')),
                   choices=tuple(data.get('choices', ())))

    @property
    def dimension(self) -> str:
        """'length', 'angle', 'time', or '' for a number without a known unit (and for other kinds)."""
        return UNITS.get(self.unit, ('', 1.0))[0] if self.kind == 'number' else ''

    def from_base(self, value: float) -> float:
        """A value in the dimension's base unit (m, deg, s) in this argument's unit."""
        return float(value) / UNITS.get(self.unit, ('', 1.0))[1]

    def clip(self, value: float) -> float:
        low = self.minimum if self.minimum is not None else value
        high = self.maximum if self.maximum is not None else value
        return float(min(max(value, low), high))


class SkillCatalog:
    """The skills a planner may use, by name; built from ``skills.library.skills()`` or any Skill mapping."""

    def __init__(self, skills: Mapping[str, Any]):
        self._skills = dict(skills)
        self._descriptions = {name: skill.describe() for name, skill in self._skills.items()}
        self._args = {name: [ArgInfo.from_dict(a) for a in d.get('args', ())]
                      for name, d in self._descriptions.items()}

    @classmethod
    def of(cls, skills: Any) -> SkillCatalog:
        """A catalog from a catalog or a mapping of skills (what planners accept)."""
        return skills if isinstance(skills, SkillCatalog) else cls(skills)

    def names(self, embodiment: Optional[str] = None) -> List[str]:
        return [n for n, d in self._descriptions.items() if embodiment is None or d.get('embodiment') == embodiment]

    def description(self, name: str) -> Dict[str, Any]:
        return self._descriptions[name]

    def args(self, name: str) -> List[ArgInfo]:
        return list(self._args.get(name, ()))

    def arg(self, name: str, arg: str) -> Optional[ArgInfo]:
        return next((a for a in self._args.get(name, ()) if a.name == arg), None)

    def object_args(self, name: str) -> List[ArgInfo]:
        return [a for a in self._args.get(name, ()) if a.kind in OBJECT_KINDS]

    def takes_offset(self, name: str) -> bool:
        arg = self.arg(name, OFFSET_ARG)
        return arg is not None and arg.kind == 'point'

    def validate(self, step: Step) -> Tuple[Optional[Dict[str, Any]], str]:
        """(typed arguments with defaults, '') or (None, the skill's reason)."""
        if step.skill not in self._skills:
            return None, f"unknown skill '{step.skill}' (skills: {', '.join(self._skills)})"
        try:
            return self._skills[step.skill].validate(step.args), ''
        except (ValueError, TypeError) as err:  # SkillArgumentError is a ValueError
            return None, str(err)

    def feasibility(self, step: Step, scene: PerceivedScene) -> Tuple[float, str]:
        """The skill's own estimate that it can succeed now (0..1) and why; 0 with the reason if invalid."""
        args, error = self.validate(step)
        if args is None:
            return 0.0, error
        try:
            score, why = self._skills[step.skill].feasibility(args, scene)
        except (ValueError, KeyError, TypeError) as err:
            return 0.0, f'{step.skill}: {err}'
        return float(min(max(score, 0.0), 1.0)), str(why)

    def assess(self, step: Step, scene: PerceivedScene) -> Step:
        """The step with its feasibility and reason set: its score is now confidence x feasibility (SayCan)."""
        step.feasibility, step.why = self.feasibility(step, scene)
        return step


def rank(steps: Iterable[Step]) -> List[Step]:
    """Candidate steps best first by SayCan score (stable: earlier candidates win ties)."""
    return sorted(steps, key=lambda s: -s.score)


def clear_winner(ranked: Sequence[Step], lead: float = 2.0) -> Optional[Step]:
    """The best candidate if it is feasible and scores ``lead`` times the runner-up, else None (a real tie)."""
    if not ranked or ranked[0].score <= 0.0:
        return None
    if len(ranked) == 1 or ranked[0].score >= lead * ranked[1].score:
        return ranked[0]
    return None
