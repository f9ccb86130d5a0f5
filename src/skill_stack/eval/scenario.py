"""Scenario files: one YAML file per evaluation case, loaded and validated before anything runs.

    name: arm_put_red_in_bowl        # unique in a suite
    category: paraphrases            # one of CATEGORIES
    family: place                    # optional; the phrase family of a generated scenario (default: category)
    description: ...                 # optional
    scene: {embodiment: arm, seed: 0, objects: [...]}   # inline, the scene-file format of docs/architecture.md
    instruction: put the red cube in the blue bowl
    corrections: [{at: 3.0, text: no, the blue one}]    # optional; seconds after the goal is accepted
    timeout: 120                     # optional, seconds
    expect:
      success: true                  # what the task must report
      conditions: [{inside: {object: red_cube, container: blue_bowl}}, {unchanged: [green_cube]}]

A bad file is refused with a message naming the file and the field, so a suite never half-runs on a typo.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from skill_stack.eval.conditions import Condition, ConditionError, parse_condition
from skill_stack.sim.scene_file import SceneFileError, SceneSpec, parse_scene, read_yaml

CATEGORIES = ('paraphrases', 'distractors', 'multi_step', 'relations', 'corrections', 'impossible')
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 1800.0
_FIELDS = {'name', 'category', 'family', 'description', 'scene', 'instruction', 'corrections', 'timeout', 'expect'}
_REQUIRED = ('name', 'category', 'scene', 'instruction', 'expect')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


class ScenarioError(ValueError):
    """A scenario file that cannot run; the message names the file and the field."""

    def __init__(self, source: str, problem: str, field_name: Optional[str] = None):
        where = f"{source}: field '{field_name}'" if field_name else source
        super().__init__(f'{where}: {problem}')
        self.source = source
        self.field = field_name


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the scene (parsed, and raw for writing out), the task and what must come of it."""

    name: str
    category: str
    scene: SceneSpec
    scene_data: Dict[str, Any]
    instruction: str
    corrections: Tuple[Tuple[float, str], ...]
    timeout_s: float
    expect_success: bool
    conditions: Tuple[Condition, ...]
    source: str
    description: str = ''
    family: str = ''  # the phrase family (eval/generate.py); the category when not said
    raw_conditions: Tuple[Any, ...] = ()  # as written, for writing the scenario out again

    @property
    def embodiment(self) -> str:
        return self.scene.embodiment

    def write_scene(self, path: Path) -> Path:
        """The inline scene as a scene file the simulator loads (``sim/reset``, the launch's ``scene:=``)."""
        path.write_text(f'# scene of scenario {self.name} ({self.source})\n'
                        + yaml.safe_dump(self.scene_data, sort_keys=False), encoding='utf-8')
        return path


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    return parse_scenario(read_yaml(path, ScenarioError), str(path))


def parse_scenario(data: Any, source: str = '<string>') -> Scenario:
    """Validate an already-parsed scenario mapping; ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise ScenarioError(source, f'expected a mapping with {", ".join(_REQUIRED)}, got {_kind(data)}')
    unknown = sorted(set(map(str, data)) - _FIELDS)
    if unknown:
        raise ScenarioError(source, f'unknown field (expected one of {sorted(_FIELDS)})', unknown[0])
    for key in _REQUIRED:
        if key not in data:
            raise ScenarioError(source, 'missing required field', key)
    name = data['name']
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScenarioError(source, f"expected a name of letters, digits, '_', '-', '.', got {name!r}", 'name')
    category = data['category']
    if category not in CATEGORIES:
        raise ScenarioError(source, f'unknown category {category!r}, expected one of {CATEGORIES}', 'category')
    description = data.get('description', '')
    if not isinstance(description, str):
        raise ScenarioError(source, f'expected text, got {_kind(description)}', 'description')
    family = data.get('family', category)
    if not isinstance(family, str) or not _NAME.match(family):
        raise ScenarioError(source, f"expected a name of letters, digits, '_', '-', '.', got {family!r}", 'family')
    try:
        scene = parse_scene(data['scene'], source=source)
    except SceneFileError as err:
        raise ScenarioError(source, str(err)[len(err.source) + 2:], 'scene') from err
    instruction = data['instruction']
    if not isinstance(instruction, str):
        raise ScenarioError(source, f'expected text, got {_kind(instruction)}', 'instruction')
    timeout = _number(data.get('timeout', DEFAULT_TIMEOUT_S), source, 'timeout')
    if not 0.0 < timeout <= MAX_TIMEOUT_S:
        raise ScenarioError(source, f'expected seconds in (0, {MAX_TIMEOUT_S:g}], got {timeout}', 'timeout')
    corrections = _corrections(data.get('corrections', []), timeout, source)
    expect = data['expect']
    if not isinstance(expect, dict):
        raise ScenarioError(source, f'expected a mapping with success and conditions, got {_kind(expect)}',
                            'expect')
    unknown = sorted(set(map(str, expect)) - {'success', 'conditions'})
    if unknown:
        raise ScenarioError(source, "unknown field (expected 'success', 'conditions')", f'expect.{unknown[0]}')
    if not isinstance(expect.get('success'), bool):
        raise ScenarioError(source, f'expected true or false, got {expect.get("success")!r}', 'expect.success')
    raw_conditions = expect.get('conditions', [])
    if not isinstance(raw_conditions, list):
        raise ScenarioError(source, f'expected a list, got {_kind(raw_conditions)}', 'expect.conditions')
    conditions = []
    for i, raw in enumerate(raw_conditions):
        try:
            conditions.append(parse_condition(raw, scene, f'expect.conditions[{i}]'))
        except ConditionError as err:
            raise ScenarioError(source, err.problem, err.field) from err
    if not conditions:
        raise ScenarioError(source, 'a scenario needs at least one condition on the world', 'expect.conditions')
    if category == 'impossible':
        cleanly = any(c.kind == 'unchanged' and c.args['objects'] == 'all' for c in conditions)
        if expect['success'] or not cleanly:
            raise ScenarioError(source, 'an impossible request must expect success: false and an '
                                        "'unchanged: all' condition (it fails cleanly: nothing moves)", 'expect')
    return Scenario(name=name, category=category, scene=scene, scene_data=data['scene'], instruction=instruction,
                    corrections=corrections, timeout_s=timeout, expect_success=expect['success'],
                    conditions=tuple(conditions), source=source, description=description, family=family,
                    raw_conditions=tuple(raw_conditions))


def _corrections(raw: Any, timeout: float, source: str) -> Tuple[Tuple[float, str], ...]:
    if not isinstance(raw, list):
        raise ScenarioError(source, f'expected a list of {{at: SECONDS, text: ...}}, got {_kind(raw)}', 'corrections')
    out = []
    for i, item in enumerate(raw):
        where = f'corrections[{i}]'
        if not isinstance(item, dict) or set(item) != {'at', 'text'}:
            raise ScenarioError(source, f'expected a mapping with exactly at and text, got {item!r}', where)
        at = _number(item['at'], source, f'{where}.at')
        if not 0.0 <= at < timeout:
            raise ScenarioError(source, f'expected seconds after the goal, 0 <= at < timeout ({timeout:g}), got {at}',
                                f'{where}.at')
        if out and at < out[-1][0]:
            raise ScenarioError(source, f'corrections must be in time order; {at} comes after {out[-1][0]}',
                                f'{where}.at')
        if not isinstance(item['text'], str) or not item['text'].strip():
            raise ScenarioError(source, f'expected a non-empty text, got {item["text"]!r}', f'{where}.text')
        out.append((at, item['text']))
    return tuple(out)


def _number(value: Any, source: str, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(source, f'expected a number, got {value!r}', field_name)
    return float(value)


def _kind(value: Any) -> str:
    return 'nothing' if value is None else type(value).__name__


def scenario_files(paths: Iterable[str | Path]) -> List[Path]:
    """The YAML files named, and those under the directories named (recursively, sorted)."""
    files: List[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob('*') if p.suffix in ('.yaml', '.yml') and p.is_file())
            if not found:
                raise ScenarioError(str(path), 'no scenario files (*.yaml) in this directory')
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioError(str(path), 'no such file or directory')
    return files


def load_suite(paths: Iterable[str | Path]) -> List[Scenario]:
    """Every scenario under ``paths``, validated; names must be unique across them."""
    scenarios: List[Scenario] = []
    seen: Dict[str, str] = {}
    for path in scenario_files(paths):
        scenario = load_scenario(path)
        if scenario.name in seen:
            raise ScenarioError(str(path), f'name {scenario.name!r} is already used by {seen[scenario.name]}', 'name')
        seen[scenario.name] = str(path)
        scenarios.append(scenario)
    return scenarios


def select(scenarios: Sequence[Scenario], embodiments: Sequence[str] = (), categories: Sequence[str] = (),
           match: str = '', families: Sequence[str] = ()) -> List[Scenario]:
    """The scenarios of the given embodiments, categories and families (all when empty) whose name contains
    ``match``."""
    return [s for s in scenarios
            if (not embodiments or s.embodiment in embodiments)
            and (not categories or s.category in categories)
            and (not families or s.family in families)
            and match.lower() in s.name.lower()]


def write_scenarios(scenarios: Iterable[Scenario], directory: Path) -> List[Path]:
    """Each scenario as its own file under ``directory`` (generated ones, so any can be run again alone)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in scenarios:
        data: Dict[str, Any] = {'name': s.name, 'category': s.category, 'family': s.family,
                                'description': s.description, 'scene': s.scene_data, 'instruction': s.instruction}
        if s.corrections:
            data['corrections'] = [{'at': at, 'text': text} for at, text in s.corrections]
        data['timeout'] = s.timeout_s
        data['expect'] = {'success': s.expect_success, 'conditions': list(s.raw_conditions)}
        path = directory / f'{s.name}.yaml'
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding='utf-8')
        paths.append(path)
    return paths
