"""Real-device backends, picked by the ``backend`` section of a robot's config file.

Each module wraps one vendor SDK behind the interfaces of drivers/interfaces.py
and exposes ``from_config(spec, config)``, which parses its settings (errors
name ``file: backend.<field>``) and returns the backend(s) for that device.
The SDK itself is imported only when a backend is opened, so the stack runs
without any SDK installed until one is selected (requirements-hardware.txt).
A ``type`` with a dot is the import path of a backend module of one's own
(same ``from_config``), for a device this package does not know or a test's double.
"""

from __future__ import annotations

import importlib
from typing import Any

from skill_stack.drivers.config import BackendSpec, ConfigError

# device kind -> backend type -> module (under skill_stack.drivers.backends)
BACKENDS: dict[str, dict[str, str]] = {
    'arm': {'ur_rtde': 'ur_rtde', 'xarm': 'xarm'},
    'hand': {'leap': 'leap'},
    'quadrotor': {'crazyflie': 'crazyflie', 'px4': 'px4'},
    'camera': {'realsense': 'realsense'},
}


class MissingSDKError(ConfigError):
    """The selected backend's vendor SDK is not installed; the message says which package to install."""


def open_backend(kind: str, spec: BackendSpec, config: Any) -> Any:
    """The backend(s) ``spec`` selects for a device of ``kind`` (arm: (joints, gripper); hand, quadrotor,
    camera: one backend), built from its settings and the driver's ``config``; not yet connected."""
    known = BACKENDS.get(kind)
    if known is None:
        raise ValueError(f'unknown device kind {kind!r}; expected one of {sorted(BACKENDS)}')
    module_name = known.get(spec.type)
    if module_name is not None:
        module = importlib.import_module(f'{__name__}.{module_name}')
    elif '.' in spec.type:
        module = _own_module(spec)
    else:
        raise ConfigError(f"{spec.file or 'config'}: backend.type: {spec.type!r} is not a {kind} backend; "
                          f'expected one of {sorted(known)}, or the dotted path of a module of your own')
    return module.from_config(spec, config)


def _own_module(spec: BackendSpec) -> Any:
    """A backend module of one's own, by its import path (a site-specific device, or a test's double): the
    built-in names have no dot. It must have ``from_config(spec, config)`` like the modules here."""
    where = f"{spec.file or 'config'}: backend.type"
    try:
        module = importlib.import_module(spec.type)
    except ImportError as error:
        raise ConfigError(f'{where}: cannot import the backend module {spec.type!r}: {error}') from None
    if not callable(getattr(module, 'from_config', None)):
        raise ConfigError(f'{where}: module {spec.type!r} has no from_config(spec, config)')
    return module


def require_sdk(module: str, package: str) -> Any:
    """Import a vendor SDK module, or say which pip package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingSDKError(f'the {module!r} SDK is not installed ({error}); install {package!r}, e.g. '
                              f'pip install --no-deps -r requirements-hardware.txt') from None
