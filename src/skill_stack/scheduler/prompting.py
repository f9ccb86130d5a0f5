"""What model planners are told: the skills, the scene and the robot as text, steps as lines, the plan schema.

Shared by the VLM (which scores candidate step lines) and the HTTP planner
(which asks for a plan in the JSON schema of ``plan_schema``), so both see the
world the same way and a step reads the same in a prompt and in a log.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.catalog import OBJECT_KINDS, ArgInfo, SkillCatalog
from skill_stack.scheduler.plan import RobotState, Step

SYSTEM = ('You plan for a robot. Use only the skills listed, with their arguments exactly as described. Refer to '
          'objects by their id in the scene. Frame: x forward (away from the robot), y left, z up, metres; '
          'directions in degrees from +x toward +y. A place needs the object picked first; flying needs a '
          'take-off first. If the instruction cannot be done with these skills in this scene, answer with no '
          'steps and say why.')
DONE = 'done'


def skills_text(catalog: SkillCatalog, embodiment: str) -> str:
    """One line per skill: "pick(object: object, required) - Grasp an object ..."."""
    lines = []
    for name in catalog.names(embodiment):
        args = ', '.join(_arg_text(a) for a in catalog.args(name))
        lines.append(f"{name}({args}) - {catalog.description(name).get('description', '')}")
    return '\n'.join(lines)


def _arg_text(arg: ArgInfo) -> str:
    parts = [arg.kind + (f' [{arg.unit}]' if arg.unit else '')]
    if arg.choices:
        parts.append('one of ' + '/'.join(arg.choices))
    if arg.minimum is not None or arg.maximum is not None:
        low, high = ('' if v is None else v for v in (arg.minimum, arg.maximum))
        parts.append(f'{low}..{high}')
    parts.append('required' if arg.required else f'default {arg.default}' if arg.default is not None else 'optional')
    return f"{arg.name}: {', '.join(parts)}"


def scene_text(scene: PerceivedScene) -> str:
    """One line per object: "obj_2: red box at (0.50, 0.10, 0.02), size 0.04x0.04x0.04, graspable 0.90"."""
    if not scene.objects:
        return f'(no objects: {scene.status})'
    lines = []
    for o in scene.objects:
        x, y, z = (float(v) for v in np.asarray(o.position, float))
        size = 'x'.join(f'{float(v):.2f}' for v in np.asarray(o.extent, float))
        affordances = ', '.join(f'{k} {v:.2f}' for k, v in sorted(o.affordances.items()) if v >= 0.3)
        lines.append(f'{o.id}: {o.color} {o.label} at ({x:.2f}, {y:.2f}, {z:.2f}), size {size}'
                     + (f', {affordances}' if affordances else ''))
    return '\n'.join(lines)


def state_text(state: RobotState) -> str:
    held = state.holding or 'nothing'
    flying = ', flying' if state.airborne else (', on the ground' if state.embodiment == 'quadrotor' else '')
    return f'{state.embodiment} holding {held}{flying}'


def step_text(step: Step) -> str:
    """The canonical one-line form of a step: ``place(object=obj_0, target=obj_3)``."""
    args = ', '.join(f'{k}={_value(v)}' for k, v in step.args.items() if v is not None)
    return f'{step.skill}({args})'


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:g}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(_value(v) for v in value) + ']'
    return str(value)


def user_text(instruction: str, scene: PerceivedScene, state: RobotState) -> str:
    return f'Scene:\n{scene_text(scene)}\nRobot: {state_text(state)}\nInstruction: {instruction.strip()}'


def plan_schema(catalog: SkillCatalog, embodiment: str, scene: PerceivedScene) -> Dict[str, Any]:
    """JSON schema of a plan: {"steps": [{"skill": ..., "args": {...}}], "reason": "..."}, object ids enumerated."""
    ids = [o.id for o in scene.objects]
    variants = []
    for name in catalog.names(embodiment):
        args = catalog.args(name)
        variants.append({'type': 'object', 'properties': {
            'skill': {'type': 'string', 'const': name},
            'args': {'type': 'object', 'properties': {a.name: _arg_schema(a, ids) for a in args},
                     'required': [a.name for a in args if a.required], 'additionalProperties': False}},
            'required': ['skill', 'args'], 'additionalProperties': False})
    return {'type': 'object', 'properties': {
        'steps': {'type': 'array', 'items': {'anyOf': variants}},
        'reason': {'type': 'string', 'description': 'why the instruction cannot be done, when steps is empty'}},
        'required': ['steps'], 'additionalProperties': False}


def _arg_schema(arg: ArgInfo, ids: List[str]) -> Dict[str, Any]:
    out: Dict[str, Any] = {'description': arg.description + (f' ({arg.unit})' if arg.unit else '')}
    if arg.kind in OBJECT_KINDS:
        out.update({'type': 'string', **({'enum': ids} if ids else {})})
    elif arg.kind == 'number':
        out['type'] = 'number'
        out.update({k: v for k, v in (('minimum', arg.minimum), ('maximum', arg.maximum)) if v is not None})
    elif arg.kind == 'point':
        out.update({'type': 'array', 'items': {'type': 'number'}, 'minItems': 3, 'maxItems': 3})
    elif arg.kind == 'choice':
        out.update({'type': 'string', 'enum': list(arg.choices)})
    else:
        out['type'] = 'string'
    return out

