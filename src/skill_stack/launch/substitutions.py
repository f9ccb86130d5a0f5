"""Launch substitutions: ``$(var)``, ``$(find-pkg-share)``, ``$(env)``, ``$(dirname)``.

The subset of ROS 2 launch substitutions the project's YAML launch files use,
with the same syntax and meaning, so files stay valid for ``ros2 launch``.
"""

import os
import shlex
from typing import Callable, Dict

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory


class SubstitutionError(ValueError):
    """A substitution that cannot be resolved; the message says which and why."""


class Resolver:
    """Resolves substitutions against launch configurations and the current file."""

    def __init__(self, configs: Dict[str, str], current_file: str):
        self.configs = configs
        self.current_file = current_file
        self._handlers: Dict[str, Callable[[list], str]] = {
            'var': self._var,
            'find-pkg-share': self._find_pkg_share,
            'env': self._env,
            'dirname': self._dirname,
        }

    def resolve(self, text: str) -> str:
        """Return ``text`` with every ``$(...)`` replaced, innermost first."""
        out = []
        i = 0
        while i < len(text):
            start = text.find('$(', i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = _matching_paren(text, start + 1)
            inner = self.resolve(text[start + 2:end])
            out.append(self._apply(inner))
            i = end + 1
        return ''.join(out)

    def _apply(self, expression: str) -> str:
        try:
            parts = shlex.split(expression)
        except ValueError as exc:
            raise SubstitutionError(f'cannot parse substitution $({expression}): {exc}') from None
        if not parts:
            raise SubstitutionError('empty substitution $()')
        name, args = parts[0], parts[1:]
        handler = self._handlers.get(name)
        if handler is None:
            known = ', '.join(f'$({k})' for k in self._handlers)
            raise SubstitutionError(f'unknown substitution $({name}); supported: {known}')
        return handler(args)

    def _var(self, args: list) -> str:
        _expect_args('var', args, 1, 1)
        name = args[0]
        if name not in self.configs:
            raise SubstitutionError(
                f"$(var {name}): launch argument '{name}' is not set; "
                f'declare it with an `arg` entity or a `let` before use')
        return self.configs[name]

    def _find_pkg_share(self, args: list) -> str:
        _expect_args('find-pkg-share', args, 1, 1)
        try:
            return get_package_share_directory(args[0])
        except PackageNotFoundError:
            raise SubstitutionError(
                f"$(find-pkg-share {args[0]}): package '{args[0]}' not found "
                f'in AMENT_PREFIX_PATH') from None

    def _env(self, args: list) -> str:
        _expect_args('env', args, 1, 2)
        if args[0] in os.environ:
            return os.environ[args[0]]
        if len(args) == 2:
            return args[1]
        raise SubstitutionError(
            f"$(env {args[0]}): environment variable '{args[0]}' is not set "
            f'and no default was given')

    def _dirname(self, args: list) -> str:
        _expect_args('dirname', args, 0, 0)
        return os.path.dirname(os.path.abspath(self.current_file))


def _expect_args(name: str, args: list, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        want = str(low) if low == high else f'{low} to {high}'
        raise SubstitutionError(f'$({name}) takes {want} argument(s), got {len(args)}: {args}')


def _matching_paren(text: str, open_index: int) -> int:
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == '(':
            depth += 1
        elif text[i] == ')':
            depth -= 1
            if depth == 0:
                return i
    raise SubstitutionError(f'unclosed substitution in {text!r}')
