"""Instructions the embedded planner can plan, written from the scene, to end a failure message with.

A person whose instruction failed learns most from a sentence that works here:
'try e.g. "put the red cube in the blue bowl" or "push the red cube 5 cm to the
left"'.  Each example names objects by colour and shape, only where that phrase
grounds to exactly one object, and uses only what the robot can do (on objects
its skills rate in reach).
"""

from __future__ import annotations

from typing import List, Optional

from skill_stack.perception.grounding import ground
from skill_stack.perception.types import PerceivedObject, PerceivedScene
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.lexicon import CONCEPT_SKILLS
from skill_stack.scheduler.plan import Step

NOUNS = {'box': 'cube', 'sphere': 'ball'}  # what people call the scene's shapes; others by their label
AFFORDED = 0.5  # affordance score that makes an object an example's thing to move, container or pad
MAX_EXAMPLES = 2


def suggestion(scene: PerceivedScene, catalog: SkillCatalog, embodiment: str, about: str = '') -> str:
    """'try e.g. "..." or "..."' for this scene and robot, or '' when no object can be named; examples that say
    ``about`` (what failed: "put it down") first."""
    examples = sorted(phrasings(scene, catalog, embodiment), key=lambda e: about not in e)[:MAX_EXAMPLES]
    return 'try e.g. ' + ' or '.join(f'"{e}"' for e in examples) if examples else ''


def phrasings(scene: PerceivedScene, catalog: SkillCatalog, embodiment: str) -> List[str]:
    """Example instructions, the most useful first."""
    own = set(catalog.names(embodiment))

    def can(concept: str) -> bool:
        return bool(own & set(CONCEPT_SKILLS[concept]))

    def feasible(concept: str, obj: PerceivedObject) -> bool:
        return _feasible(concept, obj, scene, catalog, embodiment)

    names = {o.id: name for o in scene.objects for name in [_name(o, scene)] if name}
    named = [o for o in scene.objects if o.id in names]
    movable = [o for o in named if _has(o, 'graspable') and not _has(o, 'container') and feasible('acquire', o)]
    things = [names[o.id] for o in movable]
    holders = [o for o in named if _has(o, 'container')] or [o for o in named if _has(o, 'support')]
    holders = [o for o in holders if not movable or o.id != movable[0].id]  # not "put the red cube on the red cube"
    pads = [names[o.id] for o in named if _has(o, 'landable')]
    out: List[str] = []
    if can('put') and things and holders:
        into = 'in' if _has(holders[0], 'container') else 'on'
        out.append(f'put {things[0]} {into} {names[holders[0].id]}')
    on_table = any(a.name == 'point' for a in catalog.args('place'))  # place can leave things on the table
    if can('put') and len(things) > 1 and on_table:
        out.append(f'put {things[0]} next to {things[1]}')
    if can('push') and things:
        out.append(f'push {things[0]} 5 cm to the left')
    if can('acquire') and things:
        then = ' and rotate it by 90 degrees' if can('rotate') else ''
        out.append(f'pick up {things[0]}{then}')
    if can('put') and things and on_table:
        out.append(f'pick up {things[0]} and put it down')
    if can('fly') and pads:
        out.append(f'fly to {pads[0]} and land on it')
    goals = [o for o in named if feasible('goto', o)]
    if can('goto') and goals:
        out.append(f'go to {names[goals[0].id]}')
    return out


def _feasible(concept: str, obj: PerceivedObject, scene: PerceivedScene, catalog: SkillCatalog,
              embodiment: str) -> bool:
    """Whether the robot's skill for ``concept`` rates acting on ``obj`` feasible where it stands (in reach);
    True when it has no such skill or needs more than the object to say."""
    skill = next((s for s in CONCEPT_SKILLS[concept] if s in catalog.names(embodiment)), None)
    object_args = catalog.object_args(skill) if skill is not None else []
    step = Step(skill, {object_args[0].name: obj.id}) if object_args else None
    if step is None or catalog.validate(step)[0] is None:
        return True
    return catalog.feasibility(step, scene)[0] >= AFFORDED


def _has(obj: PerceivedObject, affordance: str) -> bool:
    return obj.affordances.get(affordance, 0.0) >= AFFORDED


def _name(obj: PerceivedObject, scene: PerceivedScene) -> Optional[str]:
    """"the red cube" when that phrase means ``obj`` alone in the scene, else None."""
    phrase = f'the {obj.color} {NOUNS.get(obj.label, obj.label)}'.replace('  ', ' ')
    answer = ground(phrase, scene)
    return phrase if answer.status == 'matched' and [o.id for o in answer.objects] == [obj.id] else None
