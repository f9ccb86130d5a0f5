"""Complete ``ros2msg`` message definitions, concatenated the way rosbag2 stores them in MCAP schemas.

A reader that does not know our types (Foxglove, mcap_ros2, rosbags) decodes a
message from its schema alone, so the schema holds the type's ``.msg`` text and,
after it, every type it uses, recursively, each once, preceded by a line of 80
``=`` and ``MSG: pkg/Type`` (rosbag2's ``LocalMessageDefinitionSource``, whose
depth-first, sorted order this follows). The ``.msg`` files come from the
installed share directories (the ROS wheels' and our package's), found through
the ament index as rosbag2 finds them.
"""

import os
import re
from typing import Callable, Dict, List, Tuple

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

SEPARATOR = '=' * 80
PRIMITIVE_TYPES = frozenset({
    'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16',
    'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'})
_NAME = r'[A-Za-z][A-Za-z0-9_]*'
_TYPE_RE = re.compile(rf'^({_NAME})/(?:({_NAME})/)?({_NAME})$')
MAX_DEPTH = 50  # deeper nesting means a cycle, which .msg files cannot express


class UnknownMessageType(ValueError):
    """A type whose ``.msg`` definition cannot be found; the message names the type and where it looked."""


def normalize_type(type_name: str) -> Tuple[str, str]:
    """``pkg/msg/Type`` or ``pkg/Type`` -> (``pkg/msg/Type``, ``pkg/Type``); other forms are refused."""
    match = _TYPE_RE.match(type_name)
    if match is None:
        raise UnknownMessageType(f"message type '{type_name}' is not of the form pkg/msg/Type")
    package, interface, name = match.group(1), match.group(2) or 'msg', match.group(3)
    if interface != 'msg':
        raise UnknownMessageType(
            f"type '{type_name}' is an interface of '{interface}', not 'msg'; "
            f'only message (.msg) types have ros2msg schemas')
    return f'{package}/msg/{name}', f'{package}/{name}'


def field_types(text: str, package: str) -> List[str]:
    """The non-primitive field types of a ``.msg`` text as ``pkg/Type``, sorted, each once.

    Constants (``uint8 FOO=1``) are primitive; arrays (``Type[]``, ``Type[3]``, ``Type[<=5]``)
    and bounded strings (``string<=10``) count as their element type; a bare ``Type`` is of
    the same package.
    """
    found = set()
    for line in text.splitlines():
        tokens = line.split('#', 1)[0].split()
        if not tokens:
            continue
        base = tokens[0].split('[', 1)[0].split('<=', 1)[0]
        if base in PRIMITIVE_TYPES:
            continue
        found.add(base if '/' in base else f'{package}/{base}')
    return sorted(found)


class DefinitionSource:
    """Reads ``.msg`` files from share directories and builds complete definitions (cached)."""

    def __init__(self, share_directory: Callable[[str], str] = get_package_share_directory):
        self._share_directory = share_directory
        self._texts: Dict[str, str] = {}
        self._full: Dict[str, str] = {}

    def msg_text(self, type_name: str) -> str:
        """The ``.msg`` file's text for ``pkg/Type`` or ``pkg/msg/Type``."""
        _, short = normalize_type(type_name)
        if short not in self._texts:
            package, name = short.split('/')
            try:
                share = self._share_directory(package)
            except (PackageNotFoundError, ValueError):
                raise UnknownMessageType(
                    f"message type '{type_name}': package '{package}' is not in the ament index "
                    f'(AMENT_PREFIX_PATH)') from None
            path = os.path.join(share, 'msg', f'{name}.msg')
            try:
                with open(path, encoding='utf-8') as f:
                    self._texts[short] = f.read()
            except FileNotFoundError:
                raise UnknownMessageType(f"message type '{type_name}': no definition at {path}") from None
        return self._texts[short]

    def full_text(self, type_name: str) -> str:
        """The complete ``ros2msg`` definition of ``type_name``: its text, then each dependency once."""
        full_name, _ = normalize_type(type_name)
        if full_name not in self._full:
            seen = set()

            def append(name: str, depth: int) -> str:
                if depth > MAX_DEPTH:
                    raise UnknownMessageType(f"message type '{type_name}': definitions nest deeper than {MAX_DEPTH}")
                text = self.msg_text(name)
                for dependency in field_types(text, name.split('/')[0]):
                    if dependency not in seen:
                        seen.add(dependency)
                        text += f'\n{SEPARATOR}\nMSG: {dependency}\n' + append(dependency, depth + 1)
                return text

            self._full[full_name] = append(full_name, 0)
        return self._full[full_name]
