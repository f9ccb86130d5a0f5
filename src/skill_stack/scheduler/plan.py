"""Plan types: a Step (one skill call and its outcome), a Plan, a planner's PlanResult, the robot's state.

Steps name objects by the scene's ids ("obj_2"), which perception only keeps
stable within one scene; each step therefore also remembers what each object
looked like (``refs``: label, colour, position) so ``binding.rebind`` can find
the same objects in a later scene.  Everything converts to and from plain JSON,
which is what the ExecuteTask action (``PlanStep.args_json``), the correction
log and the HTTP planner carry.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence

STATUSES = ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')


@dataclass
class ObjectRef:
    """What an object argument referred to when the step was planned: enough to find it again."""

    id: str
    label: str = ''
    color: str = ''
    position: Sequence[float] = (0.0, 0.0, 0.0)

    def to_dict(self) -> Dict[str, Any]:
        return {'id': self.id, 'label': self.label, 'color': self.color,
                'position': [round(float(v), 4) for v in self.position]}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ObjectRef:
        return cls(id=str(data['id']), label=str(data.get('label', '')), color=str(data.get('color', '')),
                   position=tuple(float(v) for v in data.get('position', (0.0, 0.0, 0.0))))

    def describe(self) -> str:
        return ' '.join(w for w in (self.color, self.label, self.id) if w)


@dataclass
class Step:
    """One skill call.  ``score`` = ``confidence`` (the planner's) x ``feasibility`` (the skill's), as in SayCan."""

    skill: str
    args: Dict[str, Any] = field(default_factory=dict)
    robot: str = ''  # the embodiment that runs it: arm, hand, quadrotor
    status: str = 'pending'
    message: str = ''
    confidence: float = 1.0
    feasibility: float = 1.0
    why: str = ''  # the skill's feasibility reason
    source: str = ''  # the words of the instruction it came from; 'implicit' when inserted for a precondition
    refs: Dict[str, ObjectRef] = field(default_factory=dict)  # object arguments: what they referred to

    @property
    def score(self) -> float:
        return float(self.confidence * self.feasibility)

    def args_json(self) -> str:
        """The arguments as PlanStep.args_json carries them."""
        return json.dumps(self.args, sort_keys=True)

    def describe(self) -> str:
        """"pick(object=obj_2 red box)": a step as a person reads it."""
        parts = []
        for key, value in self.args.items():
            if value is None:
                continue
            ref = self.refs.get(key)
            shown = ref.describe() if ref is not None and ref.id == value else _short(value)
            parts.append(f'{key}={shown}')
        return f"{self.skill}({', '.join(parts)})"

    def copy(self, **changes: Any) -> Step:
        return replace(self, args=dict(self.args), refs=dict(self.refs), **changes)

    def to_dict(self) -> Dict[str, Any]:
        return {'skill': self.skill, 'args': self.args, 'robot': self.robot, 'status': self.status,
                'message': self.message, 'confidence': round(self.confidence, 4),
                'feasibility': round(self.feasibility, 4), 'score': round(self.score, 4), 'why': self.why,
                'source': self.source, 'refs': {k: r.to_dict() for k, r in self.refs.items()}}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Step:
        """A step from its JSON form; a bare ``{"skill": ..., "args": ...}`` is enough."""
        if not isinstance(data, dict) or not isinstance(data.get('skill'), str):
            raise ValueError(f'a step must be an object with a "skill" string, got {data!r}')
        args = data.get('args', {})
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        if not isinstance(args, dict):
            raise ValueError(f'step {data["skill"]!r}: "args" must be an object, got {args!r}')
        status = str(data.get('status', 'pending'))
        if status not in STATUSES:
            raise ValueError(f'step {data["skill"]!r}: status must be one of {STATUSES}, got {status!r}')
        return cls(skill=data['skill'], args=dict(args), robot=str(data.get('robot', '')), status=status,
                   message=str(data.get('message', '')), confidence=float(data.get('confidence', 1.0)),
                   feasibility=float(data.get('feasibility', 1.0)), why=str(data.get('why', '')),
                   source=str(data.get('source', '')),
                   refs={k: ObjectRef.from_dict(v) for k, v in (data.get('refs') or {}).items()})


@dataclass
class Plan:
    """An ordered list of steps for one instruction and robot."""

    steps: List[Step] = field(default_factory=list)
    instruction: str = ''
    robot: str = ''

    @property
    def score(self) -> float:
        """The product of the step scores: the plan's SayCan score."""
        return math.prod(s.score for s in self.steps) if self.steps else 0.0

    def describe(self) -> str:
        return '; '.join(s.describe() for s in self.steps) or '(no steps)'

    def copy(self) -> Plan:
        return Plan(steps=[s.copy() for s in self.steps], instruction=self.instruction, robot=self.robot)

    def to_dict(self) -> Dict[str, Any]:
        return {'instruction': self.instruction, 'robot': self.robot, 'steps': [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> Plan:
        steps = data.get('steps') if isinstance(data, dict) else data
        if not isinstance(steps, list):
            raise ValueError(f'a plan must be a list of steps or an object with "steps", got {type(steps).__name__}')
        meta = data if isinstance(data, dict) else {}
        return cls(steps=[Step.from_dict(s) for s in steps], instruction=str(meta.get('instruction', '')),
                   robot=str(meta.get('robot', '')))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))


@dataclass
class PlanResult:
    """A planner's answer: a plan, or ok=False with a reason a person can read.  Planners never raise on input."""

    ok: bool
    plan: Plan = field(default_factory=Plan)
    reason: str = ''  # why not, when not ok; what was assumed or chosen, when ok
    planner: str = ''
    notes: List[str] = field(default_factory=list)  # choices made, words ignored, alternatives rejected

    @property
    def steps(self) -> List[Step]:
        return self.plan.steps

    @classmethod
    def failure(cls, reason: str, planner: str = '', notes: Sequence[str] = ()) -> PlanResult:
        return cls(ok=False, reason=reason, planner=planner, notes=list(notes))


@dataclass
class RobotState:
    """What a planner needs to know about the robot beyond the scene.

    ``holding`` is the id of the object in the gripper or hand (None: empty); ``airborne``
    matters for the quadrotor.  ``position`` (world frame) is where "nearest" measures from.
    """

    embodiment: str = 'arm'
    name: str = ''
    holding: Optional[str] = None
    airborne: bool = False
    position: Sequence[float] = (0.0, 0.0, 0.0)

    def to_dict(self) -> Dict[str, Any]:
        return {'embodiment': self.embodiment, 'name': self.name, 'holding': self.holding,
                'airborne': self.airborne, 'position': [float(v) for v in self.position]}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:g}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(_short(v) for v in value) + ']'
    return str(value)
