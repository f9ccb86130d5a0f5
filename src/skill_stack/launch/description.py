"""Parse ROS 2 YAML launch files into the processes to start.

Covers the subset of the ROS 2 YAML launch format the project uses: ``arg``,
``let``, ``node``, ``include``, ``group`` with ``push-ros-namespace``, the
``if``/``unless`` conditions, and the substitutions in ``substitutions.py``.
It is as strict as ``ros2 launch`` (unknown keys and wrongly typed attributes
are errors), so a file that parses here is valid there too. Every error names
the file and line.
"""

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import yaml
from ament_index_python.packages import PackageNotFoundError, get_package_prefix

from skill_stack.launch.substitutions import Resolver, SubstitutionError

MAX_INCLUDE_DEPTH = 16


class LaunchFileError(ValueError):
    """A launch file problem, reported as ``file:line: message``."""

    def __init__(self, path: str, line: Optional[int], message: str):
        self.path = path
        self.line = line
        where = f'{path}:{line}' if line else path
        super().__init__(f'{where}: {message}')


@dataclass
class ArgDecl:
    """A declared launch argument, for ``--show-args`` and unknown-argument checks."""

    name: str
    default: Optional[str]
    description: str
    path: str
    line: int


@dataclass
class NodeSpec:
    """One node process, fully resolved."""

    package: str
    executable: str
    executable_path: str
    name: Optional[str]
    namespace: str
    parameters: List[Any] = field(default_factory=list)  # dicts of values or parameter-file paths
    remappings: List[Tuple[str, str]] = field(default_factory=list)
    arguments: List[str] = field(default_factory=list)
    output: str = 'log'
    respawn: bool = False
    respawn_delay: float = 0.0
    path: str = ''
    line: int = 0

    @property
    def label(self) -> str:
        return self.name or self.executable


@dataclass
class LaunchDescription:
    """What a launch file (with its includes) asks for."""

    nodes: List[NodeSpec]
    args: List[ArgDecl]


class _LineDict(dict):
    line = 0


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class _Context:
    configs: Dict[str, str]
    namespace: str
    path: str
    depth: int = 0


class _Parser:
    def __init__(self):
        self.nodes: List[NodeSpec] = []
        self.args: List[ArgDecl] = []

    # -- files ------------------------------------------------------------

    def parse_file(self, path: str, ctx: _Context) -> None:
        entities, root_line = _load_root(path)
        for entity in entities:
            self.parse_entity(entity, ctx, root_line)

    # -- entities ---------------------------------------------------------

    def parse_entity(self, entity: Any, ctx: _Context, parent_line: int) -> None:
        line = getattr(entity, 'line', parent_line)
        if not isinstance(entity, dict) or len(entity) != 1:
            raise LaunchFileError(
                ctx.path, line,
                'each entry must be a mapping with exactly one key, the entity type '
                '(arg, let, node, include, group, push-ros-namespace)')
        kind, body = next(iter(entity.items()))
        handler = {
            'arg': self._arg,
            'let': self._let,
            'node': self._node,
            'include': self._include,
            'group': self._group,
            'push-ros-namespace': self._push_ros_namespace,
            'push_ros_namespace': self._push_ros_namespace,
        }.get(kind)
        if handler is None:
            raise LaunchFileError(
                ctx.path, line,
                f"unsupported entity '{kind}'; this runner supports arg, let, node, "
                f'include, group and push-ros-namespace')
        if kind != 'group' and not isinstance(body, dict):
            raise LaunchFileError(ctx.path, line, f"'{kind}' must be a mapping of attributes")
        attrs = _Attrs(body, kind, ctx, line) if isinstance(body, dict) else None
        if kind == 'group':
            handler(body, ctx, line)
        else:
            if not attrs.condition_holds():
                attrs.discard_rest()
                return
            handler(attrs, ctx)

    def _arg(self, a: '_Attrs', ctx: _Context) -> None:
        name = a.raw_str('name')
        default = a.str('default', optional=True)
        description = a.raw_str('description', optional=True) or ''
        a.done()
        self.args.append(ArgDecl(name, default, description, ctx.path, a.line))
        if name in ctx.configs:
            return
        if default is not None:
            ctx.configs[name] = default
        else:
            raise LaunchFileError(
                ctx.path, a.line,
                f"launch argument '{name}' is required (it has no default); "
                f'pass {name}:=VALUE' + (f' ({description})' if description else ''))

    def _let(self, a: '_Attrs', ctx: _Context) -> None:
        name = a.raw_str('name')
        value = a.str('value')
        a.done()
        ctx.configs[name] = value

    def _push_ros_namespace(self, a: '_Attrs', ctx: _Context) -> None:
        ctx.namespace = join_namespace(ctx.namespace, a.str('namespace'))
        a.done()

    def _node(self, a: '_Attrs', ctx: _Context) -> None:
        package = a.str('pkg')
        executable = a.str('exec')
        name = a.str('name', optional=True)
        namespace = join_namespace(ctx.namespace, a.str('namespace', optional=True) or '')
        output = a.str('output', optional=True) or 'log'
        if output not in ('screen', 'log', 'both'):
            raise LaunchFileError(ctx.path, a.line, f"output must be screen, log or both, got '{output}'")
        respawn = _to_bool(a.str('respawn', optional=True) or 'false', 'respawn', ctx.path, a.line)
        respawn_delay = a.number('respawn_delay', optional=True) or 0.0
        args_text = a.str('args', optional=True)
        arguments = args_text.split() if args_text else []
        remappings = [
            (r.str('from'), r.str('to'))
            for r in a.entity_list('remap', required=('from', 'to'))
        ]
        parameters = self._parameters(a, ctx)
        a.done()
        self.nodes.append(NodeSpec(
            package=package, executable=executable,
            executable_path=_find_executable(package, executable, ctx.path, a.line),
            name=name, namespace=namespace, parameters=parameters, remappings=remappings,
            arguments=arguments, output=output, respawn=respawn,
            respawn_delay=float(respawn_delay), path=ctx.path, line=a.line))

    def _parameters(self, a: '_Attrs', ctx: _Context) -> List[Any]:
        parameters: List[Any] = []
        for p in a.entity_list('param'):
            if p.has('from'):
                path = p.str('from')
                p.done()
                if not os.path.isfile(path):
                    raise LaunchFileError(ctx.path, p.line, f"parameter file '{path}' does not exist")
                parameters.append(path)
            else:
                parameters.append(_nested_param(p))
        return parameters

    def _include(self, a: '_Attrs', ctx: _Context) -> None:
        path = a.str('file')
        include_args = [(e.raw_str('name'), e.str('value')) for e in a.entity_list('arg', required=('name', 'value'))]
        a.done()
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.path.abspath(ctx.path)), path)
        if not os.path.isfile(path):
            raise LaunchFileError(ctx.path, a.line, f"included launch file '{path}' does not exist")
        if ctx.depth >= MAX_INCLUDE_DEPTH:
            raise LaunchFileError(ctx.path, a.line,
                                  f"includes nested deeper than {MAX_INCLUDE_DEPTH}; is there a cycle?")
        child = _Context(dict(ctx.configs), ctx.namespace, path, ctx.depth + 1)
        for key, value in include_args:
            child.configs[key] = value
        self.parse_file(path, child)

    def _group(self, body: Any, ctx: _Context, line: int) -> None:
        scoped = True
        if isinstance(body, dict):
            a = _Attrs(body, 'group', ctx, line)
            if not a.condition_holds():
                return
            scoped = _to_bool(a.str('scoped', optional=True, allow_bool=True) or 'true', 'scoped', ctx.path, line)
            children = a.take('children')
            a.done()
        else:
            children = body
        if not isinstance(children, list):
            raise LaunchFileError(ctx.path, line, "'group' must be a list of entities or have a 'children' list")
        inner = _Context(dict(ctx.configs), ctx.namespace, ctx.path, ctx.depth) if scoped else ctx
        for child in children:
            self.parse_entity(child, inner, line)


class _Attrs:
    """Attribute access with the type rules of launch_yaml and unknown-key detection."""

    def __init__(self, body: dict, kind: str, ctx: _Context, line: int):
        self.body = body
        self.kind = kind
        self.ctx = ctx
        self.line = getattr(body, 'line', line)
        self.read = set()

    def error(self, message: str) -> LaunchFileError:
        return LaunchFileError(self.ctx.path, self.line, f"'{self.kind}': {message}")

    def has(self, key: str) -> bool:
        return key in self.body

    def take(self, key: str, optional: bool = False) -> Any:
        if key not in self.body:
            if optional:
                return None
            raise self.error(f"missing required attribute '{key}'")
        self.read.add(key)
        return self.body[key]

    def raw_str(self, key: str, optional: bool = False, allow_bool: bool = False) -> Optional[str]:
        value = self.take(key, optional)
        if value is None:
            return None
        if allow_bool and isinstance(value, bool):
            return 'true' if value else 'false'
        if not isinstance(value, str):
            raise self.error(
                f"attribute '{key}' must be a string, got {type(value).__name__} {value!r} "
                f'(quote it in YAML, as ros2 launch requires)')
        return value

    def str(self, key: str, optional: bool = False, allow_bool: bool = False) -> Optional[str]:
        value = self.raw_str(key, optional, allow_bool)
        return None if value is None else self.substitute(value)

    def number(self, key: str, optional: bool = False) -> Optional[float]:
        value = self.take(key, optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"attribute '{key}' must be a number, got {value!r}")
        return float(value)

    def substitute(self, value: str) -> str:
        try:
            return Resolver(self.ctx.configs, self.ctx.path).resolve(value)
        except SubstitutionError as exc:
            raise self.error(str(exc)) from None

    def entity_list(self, key: str, required: Tuple[str, ...] = ()) -> List['_Attrs']:
        items = self.take(key, optional=True)
        if items is None:
            return []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise self.error(f"'{key}' must be a list of mappings")
        out = []
        for item in items:
            sub = _Attrs(item, f'{self.kind}.{key}', self.ctx, self.line)
            for r in required:
                if r not in item:
                    raise sub.error(f"missing required attribute '{r}'")
            out.append(sub)
        return out

    def condition_holds(self) -> bool:
        cond_if = self.str('if', optional=True, allow_bool=True)
        cond_unless = self.str('unless', optional=True, allow_bool=True)
        if cond_if is not None and not _to_bool(cond_if, 'if', self.ctx.path, self.line):
            return False
        if cond_unless is not None and _to_bool(cond_unless, 'unless', self.ctx.path, self.line):
            return False
        return True

    def discard_rest(self) -> None:
        self.read.update(self.body)

    def done(self) -> None:
        unknown = sorted(set(self.body) - self.read)
        if unknown:
            raise self.error(f'unexpected key(s) {unknown}')


def _nested_param(p: _Attrs) -> Dict[str, Any]:
    """A ``param`` entity (``name`` + ``value`` or nested ``param``) as a dict."""
    name = p.str('name')
    nested = p.entity_list('param')
    has_value = p.has('value')
    if nested and has_value:
        raise p.error(f"parameter '{name}': 'value' and nested 'param' are mutually exclusive")
    if nested:
        value: Any = {}
        for child in nested:
            value.update(_nested_param(child))
    elif has_value:
        value = _param_value(p, p.take('value'))
    else:
        raise p.error(f"parameter '{name}' needs a 'value' or nested 'param' entries")
    p.done()
    return {name: value}


def _param_value(p: _Attrs, value: Any) -> Any:
    """Substitute strings and infer their type the way launch_ros does (as YAML)."""
    if isinstance(value, list):
        return [_param_value(p, v) for v in value]
    if not isinstance(value, str):
        return value
    text = p.substitute(value)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, (bool, int, float, str)) or (
            isinstance(parsed, list) and all(isinstance(v, (bool, int, float, str)) for v in parsed)):
        return parsed
    return text


def _to_bool(text: str, what: str, path: str, line: int) -> bool:
    lowered = text.strip().lower()
    if lowered in ('true', '1'):
        return True
    if lowered in ('false', '0'):
        return False
    raise LaunchFileError(path, line, f"'{what}' must be true, false, 1 or 0, got '{text}'")


def join_namespace(base: str, ns: str) -> str:
    """Compose namespaces as launch_ros does: absolute ``ns`` wins, relative appends."""
    if ns.startswith('/'):
        combined = ns
    else:
        combined = f"{base.rstrip('/')}/{ns}" if ns else base
    combined = '/' + '/'.join(part for part in combined.split('/') if part)
    return combined


def _find_executable(package: str, executable: str, path: str, line: int) -> str:
    try:
        prefix = get_package_prefix(package)
    except (PackageNotFoundError, ValueError):
        raise LaunchFileError(path, line, f"package '{package}' not found in AMENT_PREFIX_PATH") from None
    lib_dir = os.path.join(prefix, 'lib', package)
    candidate = os.path.join(lib_dir, executable)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    if os.path.isfile(candidate):
        raise LaunchFileError(path, line, f"executable '{executable}' of package '{package}' is not "
                                          f'executable: {os.path.realpath(candidate)}')
    available = sorted(os.listdir(lib_dir)) if os.path.isdir(lib_dir) else []
    raise LaunchFileError(
        path, line,
        f"unknown executable '{executable}' in package '{package}'"
        + (f"; available: {', '.join(available)}" if available else ''))


def _load_root(path: str) -> Tuple[list, int]:
    if not os.path.isfile(path):
        raise LaunchFileError(path, None, 'launch file does not exist')
    try:
        with open(path, encoding='utf-8') as f:
            tree = yaml.load(f, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        problem = getattr(exc, 'problem', None) or str(exc)
        raise LaunchFileError(path, mark.line + 1 if mark else None, f'malformed YAML: {problem}') from None
    if not isinstance(tree, dict) or list(tree) != ['launch']:
        raise LaunchFileError(path, 1, "a YAML launch file must have exactly one root key, 'launch'")
    entities = tree['launch'] or []
    if not isinstance(entities, list):
        raise LaunchFileError(path, tree.line, "'launch' must be a list of entities")
    return entities, tree.line


def parse_launch_file(path: str, cli_args: Optional[Dict[str, str]] = None) -> LaunchDescription:
    """Resolve ``path`` with ``name:=value`` arguments into the nodes to start.

    Raises ``LaunchFileError`` naming the file and line for any problem,
    including arguments given on the command line that no file declares.
    """
    cli_args = dict(cli_args or {})
    parser = _Parser()
    path = os.path.abspath(path)
    # Like ros2 launch, command-line arguments are launch configurations of the
    # root context, visible to included files unless an include overrides them.
    parser.parse_file(path, _Context(configs=dict(cli_args), namespace='', path=path))
    declared = {a.name for a in parser.args}
    unknown = sorted(set(cli_args) - declared)
    if unknown:
        known = ', '.join(sorted(declared)) or 'none'
        raise LaunchFileError(path, None, f"unknown launch argument(s) {', '.join(unknown)}; declared: {known}")
    return LaunchDescription(nodes=parser.nodes, args=parser.args)


def declared_args(path: str) -> List[ArgDecl]:
    """The arguments ``path`` declares at its top level (for ``--show-args``)."""
    entities, _ = _load_root(os.path.abspath(path))
    out = []
    for entity in entities:
        if isinstance(entity, dict) and 'arg' in entity and isinstance(entity['arg'], dict):
            body = entity['arg']
            out.append(ArgDecl(str(body.get('name')), body.get('default'), body.get('description', ''),
                               path, getattr(body, 'line', 0)))
    return out


def node_command(node: NodeSpec, params_dir: str) -> List[str]:
    """The command line that starts ``node``, as launch_ros builds it."""
    cmd = [node.executable_path, *node.arguments, '--ros-args']
    if node.name:
        cmd += ['-r', f'__node:={node.name}']
    if node.namespace != '/':
        cmd += ['-r', f'__ns:={node.namespace}']
    for index, item in enumerate(node.parameters):
        if isinstance(item, str):
            cmd += ['--params-file', item]
        else:
            file_path = os.path.join(params_dir, f'{node.label}_{node.line}_{index}.yaml')
            with open(file_path, 'w', encoding='utf-8') as f:
                yaml.safe_dump({'/**': {'ros__parameters': copy.deepcopy(item)}}, f)
            cmd += ['--params-file', file_path]
    for source, target in node.remappings:
        cmd += ['-r', f'{source}:={target}']
    return cmd
