"""The HTTP planner: an OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp server) plans.

The request carries the skills, the scene as text and the instruction, and asks
for the plan through a forced tool call (``mode='tools'``, function
``submit_plan``) or a JSON-schema response format (``mode='json_schema'``); the
schema (``prompting.plan_schema``) enumerates the skill names and the scene's
object ids, so servers with constrained decoding cannot even write an invalid
one.  The answer is still checked against the library (``planning.finalize``):
an invalid plan is sent back once with the reason and asked again; a second
invalid one fails with the reason.  A plan with no steps and a ``reason`` is
the model declining, reported as such.

The API key is read from the environment variable named by ``api_key_env`` at
each request and is never logged or put in a message.  stdlib urllib only.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

import numpy as np

from skill_stack.perception.grounding import ground
from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.binding import find, ref_of
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.plan import PlanResult, RobotState, Step
from skill_stack.scheduler.planning import (
    MAX_INSTRUCTION_CHARS,
    MIN_FEASIBILITY,
    as_state,
    check_instruction,
    check_scene,
    finalize,
)
from skill_stack.scheduler.prompting import SYSTEM, plan_schema, skills_text, user_text

MODES = ('tools', 'json_schema')
TOOL = 'submit_plan'


class _Invalid(ValueError):
    """The server answered, but not with a usable plan: worth asking again."""


class _Declined(ValueError):
    """The model answered that the instruction cannot be done."""


class HttpPlanner:
    """``make_planner('http', base_url='http://localhost:8000/v1', model='qwen2.5-7b', api_key_env='VLLM_KEY')``."""

    name = 'http'

    def __init__(self, base_url: str, model: str, *, api_key_env: str = '', mode: str = 'tools',
                 timeout: float = 30.0, temperature: float = 0.0, max_chars: int = MAX_INSTRUCTION_CHARS,
                 min_feasibility: float = MIN_FEASIBILITY):
        if not re.match(r'^https?://', str(base_url)):
            raise ValueError(f'the http planner needs base_url like http://host:port/v1, got {base_url!r}')
        if not str(model).strip():
            raise ValueError('the http planner needs the served model name (model)')
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if timeout <= 0:
            raise ValueError(f'timeout must be positive, got {timeout}')
        self.url = str(base_url).rstrip('/') + '/chat/completions'
        self.model, self.api_key_env, self.mode = str(model), str(api_key_env), mode
        self.timeout, self.temperature = float(timeout), float(temperature)
        self.max_chars, self.min_feasibility = int(max_chars), float(min_feasibility)

    def plan(self, instruction: str, scene: PerceivedScene, skills: Any, robot: Any = None,
             image: Optional[np.ndarray] = None) -> PlanResult:
        """A plan from the server, validated; ``image`` is not sent (text-only protocol)."""
        problem = check_instruction(instruction, self.max_chars) or check_scene(scene)
        if problem:
            return PlanResult.failure(problem, self.name)
        catalog, state = SkillCatalog.of(skills), as_state(robot)
        if not catalog.names(state.embodiment):
            return PlanResult.failure(f'no skills for a robot of embodiment {state.embodiment!r}', self.name)
        key = os.environ.get(self.api_key_env, '') if self.api_key_env else ''
        if self.api_key_env and not key:
            return PlanResult.failure(f'the environment variable {self.api_key_env} (the API key) is not set',
                                      self.name)
        schema = plan_schema(catalog, state.embodiment, scene)
        messages: List[Dict[str, Any]] = [
            {'role': 'system', 'content': f'{SYSTEM}\nSkills:\n{skills_text(catalog, state.embodiment)}'},
            {'role': 'user', 'content': user_text(instruction, scene, state)}]
        notes: List[str] = []
        for attempt in range(2):
            try:
                raw = self._post(self._body(messages, schema), key)
            except OSError as err:  # connection refused, timeout, HTTP error status
                return PlanResult.failure(self._scrub(f'planner server {self.url}: {err}', key), self.name, notes)
            try:
                answer = _answer(raw, self.mode)
                result = self._check(answer, instruction, scene, state, catalog, notes)
            except _Declined as err:
                return PlanResult.failure(f'the model declined: {err}', self.name, notes)
            except _Invalid as err:
                reason = str(err)
                answer = {'unparsed': _content_text(raw)}
            else:
                if result.ok:
                    return result
                reason = result.reason
            notes.append(f'attempt {attempt + 1}: {reason}')
            messages += [{'role': 'assistant', 'content': json.dumps(answer)},
                         {'role': 'user', 'content': f'That plan is invalid: {reason}. Answer again with a valid plan '
                                                     f'using only the skills and object ids given.'}]
        return PlanResult.failure(f'the model gave no valid plan in 2 attempts: {reason}', self.name, notes)

    def _body(self, messages: List[Dict[str, Any]], schema: Dict[str, Any]) -> Dict[str, Any]:
        body: Dict[str, Any] = {'model': self.model, 'messages': messages, 'temperature': self.temperature}
        if self.mode == 'tools':
            body['tools'] = [{'type': 'function', 'function': {
                'name': TOOL, 'description': 'Submit the plan: the steps in order, or none and the reason.',
                'parameters': schema}}]
            body['tool_choice'] = {'type': 'function', 'function': {'name': TOOL}}
        else:
            body['response_format'] = {'type': 'json_schema', 'json_schema': {'name': 'plan', 'schema': schema}}
        return body

    def _post(self, body: Dict[str, Any], key: str) -> Dict[str, Any]:
        headers = {'Content-Type': 'application/json'}
        if key:
            headers['Authorization'] = f'Bearer {key}'
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.url, data=data, headers=headers, method='POST')  # noqa: S310 - http(s)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - checked at init
                text = response.read().decode('utf-8', errors='replace')
        except urllib.error.HTTPError as err:
            raise OSError(f'HTTP {err.code} {err.reason}') from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {'_text': text}
        return data if isinstance(data, dict) else {'_text': text}

    def _check(self, answer: Dict[str, Any], instruction: str, scene: PerceivedScene, state: RobotState,
               catalog: SkillCatalog, notes: List[str]) -> PlanResult:
        steps_data = answer.get('steps')
        if not isinstance(steps_data, list):
            raise _Invalid('the answer has no "steps" list')
        if not steps_data:
            raise _Declined(str(answer.get('reason') or 'no reason given'))
        steps = []
        for n, data in enumerate(steps_data, 1):
            try:
                step = Step.from_dict(data)
            except (ValueError, TypeError) as err:
                raise _Invalid(f'step {n}: {err}') from None
            steps.append(_bind_objects(step, n, scene, catalog, state))
        return finalize(steps, scene, state, catalog, instruction=instruction, planner=self.name, notes=notes,
                        min_feasibility=self.min_feasibility)

    @staticmethod
    def _scrub(text: str, key: str) -> str:
        return text.replace(key, '***') if key else text


def _content_text(raw: Dict[str, Any]) -> str:
    try:
        return str(raw['choices'][0]['message'].get('content') or '')[:500]
    except (KeyError, IndexError, TypeError, AttributeError):
        return str(raw.get('_text', ''))[:500]


def _answer(raw: Dict[str, Any], mode: str) -> Dict[str, Any]:
    """The plan object in a chat-completions response: a tool call's arguments, or JSON in the content."""
    try:
        message = raw['choices'][0]['message']
    except (KeyError, IndexError, TypeError):
        raise _Invalid('the response is not a chat completion (no choices[0].message)') from None
    calls = message.get('tool_calls') or []
    texts: List[str] = []
    for call in calls:
        function = call.get('function') or {}
        if function.get('name') in (TOOL, None):
            arguments = function.get('arguments')
            if isinstance(arguments, dict):
                return arguments
            texts.append(str(arguments or ''))
    texts.append(str(message.get('content') or ''))
    for text in texts:
        value = _json_object(text)
        if value is not None:
            return value
    raise _Invalid(f'no JSON plan in the answer ({"tool call" if mode == "tools" else "content"}: '
                   f'{(texts[0] if texts else "")[:200]!r})')


def _json_object(text: str) -> Optional[Dict[str, Any]]:
    fenced = re.search(r'```(?:json)?\s*(.*?)```', text, re.DOTALL)
    text = fenced.group(1) if fenced else text
    start, end = text.find('{'), text.rfind('}')
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _bind_objects(step: Step, n: int, scene: PerceivedScene, catalog: SkillCatalog, state: RobotState) -> Step:
    """Object arguments as scene ids: an id stays, a phrase is grounded ("the red cube"), else invalid."""
    step.robot = state.embodiment
    for arg in catalog.object_args(step.skill):
        value = step.args.get(arg.name)
        if value is None:
            continue
        obj = find(scene, str(value))
        if obj is None:
            answer = ground(str(value), scene, robot_position=state.position)
            if answer.status != 'matched' or len(answer.objects) != 1:
                raise _Invalid(f"step {n} ({step.skill}): {arg.name}={value!r} is not an object id of the scene")
            obj = answer.objects[0]
        step.args[arg.name] = obj.id
        step.refs[arg.name] = ref_of(obj)
    return step

