"""The YAML launch parser: what a good file resolves to, and errors for bad input."""

import textwrap

import pytest

from skill_stack.launch.description import (
    LaunchFileError,
    join_namespace,
    node_command,
    parse_launch_file,
)

pytestmark = pytest.mark.usefixtures('fixture_prefix')


def write(tmp_path, text, name='test.launch.yaml'):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


SERVER = '{pkg: skill_stack_fixtures, exec: scene_server}'


def test_namespaces_compose_like_launch_ros():
    assert join_namespace('', '') == '/'
    assert join_namespace('/a', 'b') == '/a/b'
    assert join_namespace('/a', '/b') == '/b'
    assert join_namespace('/a/', 'b/c/') == '/a/b/c'


def test_args_lets_groups_and_params_resolve(tmp_path):
    path = write(tmp_path, """
        launch:
        - arg: {name: robot, default: arm, description: which robot}
        - arg: {name: rate, default: "15"}
        - let: {name: ns, value: "$(var robot)_ns"}
        - group:
          - push-ros-namespace: {namespace: "$(var ns)"}
          - let: {name: inner, value: hidden}
          - node:
              pkg: skill_stack_fixtures
              exec: scene_server
              name: server
              namespace: cam
              output: screen
              respawn: "true"
              respawn_delay: 0.5
              param:
              - {name: rate_hz, value: "$(var rate)"}
              - {name: flag, value: "true"}
              - {name: label, value: "$(env SKILL_STACK_TEST_UNSET fallback)"}
              - name: limits
                param:
                - {name: max, value: 1.5}
              remap:
              - {from: scene, to: /world/scene}
        - node: {pkg: skill_stack_fixtures, exec: scene_client, if: "$(var use_client)"}
        - arg: {name: use_client, default: "false"}
        """)
    # use_client is declared after its use: like ros2 launch, that is an error.
    with pytest.raises(LaunchFileError, match="'use_client' is not set"):
        parse_launch_file(path)

    path = path.replace('test.launch', 'fixed.launch')
    text = (tmp_path / 'test.launch.yaml').read_text().replace(
        '- arg: {name: use_client, default: "false"}\n', '')
    text = text.replace('launch:\n', 'launch:\n- arg: {name: use_client, default: "false"}\n')
    (tmp_path / 'fixed.launch.yaml').write_text(text)
    description = parse_launch_file(path, {'rate': '30'})
    [node] = description.nodes
    assert node.namespace == '/arm_ns/cam'
    assert node.name == 'server'
    assert node.respawn is True
    assert node.respawn_delay == 0.5
    assert node.parameters == [{'rate_hz': 30}, {'flag': True}, {'label': 'fallback'},
                               {'limits': {'max': 1.5}}]
    assert node.remappings == [('scene', '/world/scene')]
    assert {a.name for a in description.args} == {'robot', 'rate', 'use_client'}

    cmd = node_command(node, str(tmp_path))
    assert cmd[0].endswith('lib/skill_stack_fixtures/scene_server')
    assert cmd[1:6] == ['--ros-args', '-r', '__node:=server', '-r', '__ns:=/arm_ns/cam']
    assert cmd[-2:] == ['-r', 'scene:=/world/scene']


def test_include_passes_args_and_sees_command_line_args(tmp_path):
    write(tmp_path, """
        launch:
        - arg: {name: who}
        - arg: {name: ns, default: default_ns}
        - node: {pkg: skill_stack_fixtures, exec: scene_server, name: "$(var who)", namespace: "$(var ns)"}
        """, name='child.launch.yaml')
    path = write(tmp_path, """
        launch:
        - arg: {name: ns, default: top}
        - include:
            file: "$(dirname)/child.launch.yaml"
            arg:
            - {name: who, value: included}
        """)
    [node] = parse_launch_file(path, {'ns': 'from_cli'}).nodes
    assert (node.name, node.namespace) == ('included', '/from_cli')


def test_group_is_scoped(tmp_path):
    path = write(tmp_path, """
        launch:
        - group:
          - let: {name: inner, value: x}
        - node: {pkg: skill_stack_fixtures, exec: scene_server, name: "$(var inner)"}
        """)
    with pytest.raises(LaunchFileError, match="'inner' is not set"):
        parse_launch_file(path)


# -- bad input: each names the problem, and the file and line where there is one --

def test_missing_file(tmp_path):
    with pytest.raises(LaunchFileError, match='nope.launch.yaml: launch file does not exist'):
        parse_launch_file(str(tmp_path / 'nope.launch.yaml'))


def test_unknown_command_line_argument(tmp_path):
    path = write(tmp_path, 'launch:\n- arg: {name: robot, default: arm}\n')
    with pytest.raises(LaunchFileError, match=r'unknown launch argument\(s\) robto; declared: robot'):
        parse_launch_file(path, {'robto': 'hand'})


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, 'launch:\n- arg: {name: robot\n- node: x\n')
    with pytest.raises(LaunchFileError, match=r'test.launch.yaml:\d+: malformed YAML'):
        parse_launch_file(path)


def test_unknown_substitution(tmp_path):
    path = write(tmp_path, f'launch:\n- let: {{name: a, value: "$(bogus x)"}}\n- node: {SERVER}\n')
    with pytest.raises(LaunchFileError, match=r'test.launch.yaml:2: .*unknown substitution \$\(bogus\)'):
        parse_launch_file(path)


def test_missing_required_argument(tmp_path):
    path = write(tmp_path, 'launch:\n- arg: {name: scene, description: the scene file}\n')
    with pytest.raises(LaunchFileError, match=r":2: launch argument 'scene' is required .*pass scene:=VALUE"):
        parse_launch_file(path)


def test_unknown_executable_lists_available(tmp_path):
    path = write(tmp_path, 'launch:\n- node: {pkg: skill_stack_fixtures, exec: nope}\n')
    with pytest.raises(LaunchFileError, match="unknown executable 'nope'.*available: scene_client, scene_server"):
        parse_launch_file(path)


def test_unknown_package(tmp_path):
    path = write(tmp_path, 'launch:\n- node: {pkg: no_such_pkg, exec: x}\n')
    with pytest.raises(LaunchFileError, match="package 'no_such_pkg' not found"):
        parse_launch_file(path)


def test_unknown_key_is_refused_like_ros2_launch(tmp_path):
    path = write(tmp_path, 'launch:\n- node: {pkg: skill_stack_fixtures, exec: scene_server, nmae: x}\n')
    with pytest.raises(LaunchFileError, match=r":2: 'node': unexpected key\(s\) \['nmae'\]"):
        parse_launch_file(path)


def test_unquoted_number_where_launch_wants_a_string(tmp_path):
    path = write(tmp_path, 'launch:\n- arg: {name: rate, default: 15}\n')
    with pytest.raises(LaunchFileError, match="'default' must be a string"):
        parse_launch_file(path)


def test_unknown_entity_and_bad_root(tmp_path):
    path = write(tmp_path, 'launch:\n- timer: {period: "1"}\n')
    with pytest.raises(LaunchFileError, match="unsupported entity 'timer'"):
        parse_launch_file(path)
    path = write(tmp_path, 'nodes: []\n')
    with pytest.raises(LaunchFileError, match="exactly one root key, 'launch'"):
        parse_launch_file(path)


def test_bad_condition_value(tmp_path):
    path = write(tmp_path, 'launch:\n- node: {pkg: skill_stack_fixtures, exec: scene_server, if: "maybe"}\n')
    with pytest.raises(LaunchFileError, match="'if' must be true, false, 1 or 0"):
        parse_launch_file(path)


def test_missing_parameter_file(tmp_path):
    path = write(tmp_path, 'launch:\n- node:\n    pkg: skill_stack_fixtures\n    exec: scene_server\n'
                           '    param:\n    - {from: /no/such/params.yaml}\n')
    with pytest.raises(LaunchFileError, match="parameter file '/no/such/params.yaml' does not exist"):
        parse_launch_file(path)
