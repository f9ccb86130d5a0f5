"""The HTTP planner against a local chat-completions server in a thread: tool calls, JSON schema, bad answers."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List

import pytest
from test_scheduler_scenes import skills, table

from skill_stack.scheduler.plan import RobotState
from skill_stack.scheduler.planning import make_planner

SKILLS = skills()
PICK_PLACE = {'steps': [{'skill': 'pick', 'args': {'object': 'obj_0'}},
                        {'skill': 'place', 'args': {'object': 'obj_0', 'target': 'obj_3'}}]}
KEY = 'sk-test-0123456789-secret'
Reply = Dict[str, Any] | str | int  # a JSON body, a raw text body, or an HTTP error status


def tool_call(plan: Dict[str, Any]) -> Dict[str, Any]:
    call = {'id': 'call_0', 'type': 'function', 'function': {'name': 'submit_plan', 'arguments': json.dumps(plan)}}
    return {'id': 'x', 'object': 'chat.completion', 'choices': [
        {'index': 0, 'finish_reason': 'tool_calls', 'message': {'role': 'assistant', 'content': None,
                                                                 'tool_calls': [call]}}]}


def content(text: str) -> Dict[str, Any]:
    return {'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': text}, 'finish_reason': 'stop'}]}


class Server:
    """A chat-completions endpoint answering from a list of replies, recording every request."""

    def __init__(self, replies: List[Reply]):
        self.replies, self.requests = list(replies), []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                owner.requests.append({'path': self.path, 'headers': dict(self.headers), 'body': body})
                reply = owner.replies.pop(0) if owner.replies else 500
                if isinstance(reply, int):
                    self.send_error(reply, 'scripted failure')
                    return
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/v1'
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(*replies: Reply) -> Server:
        servers.append(Server(list(replies)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def planner(server: Server, **config):
    return make_planner('http', base_url=server.url, model='tiny-planner', timeout=5.0, **config)


def run(plan_fn: Callable, text: str = 'put the red cube in the blue bowl', robot: str = 'arm'):
    return plan_fn.plan(text, table(), SKILLS, RobotState(robot))


def test_a_tool_call_plan_is_validated_and_scored(serve, monkeypatch):
    monkeypatch.setenv('PLANNER_KEY', KEY)
    server = serve(tool_call(PICK_PLACE))
    result = run(planner(server, api_key_env='PLANNER_KEY'))
    assert result.ok, result.reason
    assert [(s.skill, s.args) for s in result.steps] == [(s['skill'], s['args']) for s in PICK_PLACE['steps']]
    assert all(0 < s.score <= 1 for s in result.steps)
    assert result.steps[0].refs['object'].color == 'red'
    [request] = server.requests
    assert request['path'] == '/v1/chat/completions'
    assert request['headers']['Authorization'] == f'Bearer {KEY}'
    body = request['body']
    assert body['model'] == 'tiny-planner'
    assert body['tool_choice']['function']['name'] == 'submit_plan'
    schema = body['tools'][0]['function']['parameters']
    variants = {v['properties']['skill']['const']: v for v in schema['properties']['steps']['items']['anyOf']}
    assert set(variants) == {'reach', 'pick', 'place', 'push'}  # the arm's skills only
    assert variants['pick']['properties']['args']['properties']['object']['enum'] == [f'obj_{i}' for i in range(5)]
    assert 'obj_3: blue bowl' in body['messages'][1]['content']
    assert 'put the red cube in the blue bowl' in body['messages'][1]['content']


def test_a_json_schema_answer_in_the_content(serve):
    server = serve(content('Here is the plan:\n```json\n' + json.dumps(PICK_PLACE) + '\n```'))
    result = run(planner(server, mode='json_schema'))
    assert result.ok, result.reason
    assert server.requests[0]['body']['response_format']['type'] == 'json_schema'
    assert 'tools' not in server.requests[0]['body']
    assert 'Authorization' not in server.requests[0]['headers']


def test_a_malformed_answer_is_asked_again_once(serve):
    server = serve(content('You should pick up the cube, then put it in the bowl.'), tool_call(PICK_PLACE))
    result = run(planner(server))
    assert result.ok, result.reason
    assert len(server.requests) == 2
    retry = server.requests[1]['body']['messages']
    assert retry[-1]['role'] == 'user'
    assert 'invalid' in retry[-1]['content']
    assert 'no JSON plan' in retry[-1]['content']
    assert 'attempt 1' in result.notes[0]


@pytest.mark.parametrize(('bad', 'reason'), [
    ({'steps': [{'skill': 'fly_to', 'args': {'target': 'obj_3'}}]}, "has no skill 'fly_to'"),
    ({'steps': [{'skill': 'pick', 'args': {'object': 'obj_99'}}]}, 'not an object id'),
    ({'steps': [{'skill': 'push', 'args': {'object': 'obj_0', 'direction': 0, 'distance': 3}}]}, 'maximum'),
    ({'steps': [{'skill': 'pick'}, 'junk']}, 'step 2'),
    ({'plan': []}, 'no "steps" list'),
    ('<html>Bad gateway</html>', 'not a chat completion'),
    ({'choices': []}, 'not a chat completion'),
])
def test_an_invalid_plan_twice_fails_with_the_reason(serve, bad, reason):
    reply = tool_call(bad) if isinstance(bad, dict) and 'choices' not in bad else bad
    server = serve(reply, reply)
    result = run(planner(server))
    assert not result.ok
    assert 'no valid plan in 2 attempts' in result.reason
    assert reason in result.reason, result.reason
    assert len(server.requests) == 2


def test_phrases_are_grounded_and_implicit_steps_added(serve):
    server = serve(tool_call({'steps': [{'skill': 'place', 'args': {'object': 'the red cube',
                                                                     'target': 'the blue bowl'}}]}))
    result = run(planner(server))
    assert result.ok, result.reason
    assert [(s.skill, s.args) for s in result.steps] == [('pick', {'object': 'obj_0'}),
                                                         ('place', {'object': 'obj_0', 'target': 'obj_3'})]


def test_a_declined_instruction_reports_the_models_reason(serve):
    server = serve(tool_call({'steps': [], 'reason': 'there is no door in the scene'}))
    result = run(planner(server), 'fly to the door')
    assert not result.ok
    assert result.reason == 'the model declined: there is no door in the scene'
    assert len(server.requests) == 1


def test_server_errors_fail_without_retrying(serve):
    server = serve(500)
    result = run(planner(server))
    assert not result.ok
    assert 'HTTP 500' in result.reason
    assert len(server.requests) == 1
    closed = serve()
    closed.close()
    gone = run(planner(closed))
    assert not gone.ok
    assert closed.url in gone.reason


def test_the_api_key_is_never_logged_or_reported(serve, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv('PLANNER_KEY', KEY)
    server = serve(content('no plan here'), 401)
    result = run(planner(server, api_key_env='PLANNER_KEY'))
    assert not result.ok
    text = json.dumps([result.reason, result.notes, [r.getMessage() for r in caplog.records]])
    assert KEY not in text
    assert server.requests[1]['headers']['Authorization'] == f'Bearer {KEY}'
    monkeypatch.delenv('PLANNER_KEY')
    missing = serve(tool_call(PICK_PLACE))
    result = run(planner(missing, api_key_env='PLANNER_KEY'))
    assert result.reason == 'the environment variable PLANNER_KEY (the API key) is not set'
    assert missing.requests == []


def test_bad_input_and_configuration(serve):
    server = serve()
    assert 'empty' in run(planner(server), '').reason
    assert server.requests == []
    with pytest.raises(ValueError, match='base_url'):
        make_planner('http', base_url='localhost:8000', model='m')
    with pytest.raises(ValueError, match='mode must be one of'):
        make_planner('http', base_url='http://localhost:8000/v1', model='m', mode='xml')
    with pytest.raises(ValueError, match='served model name'):
        make_planner('http', base_url='http://localhost:8000/v1', model=' ')
