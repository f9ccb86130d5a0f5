"""Shared fixtures: the repo's paths and an isolated ROS 2 environment per test."""

import os
import random
import sys

import pytest

from repo_paths import FIXTURES


@pytest.fixture
def ros_env(tmp_path, monkeypatch):
    """Environment for processes a test starts: a private DDS domain on localhost."""
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(random.randint(1, 100))  # noqa: S311 - isolation, not security
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['ROS_LOG_DIR'] = str(tmp_path / 'ros_log')
    for key in ('ROS_DOMAIN_ID', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_LOG_DIR'):
        monkeypatch.setenv(key, env[key])
    return env


@pytest.fixture
def fixture_prefix(tmp_path, ros_env, monkeypatch):
    """An ament prefix with a `skill_stack_fixtures` package whose executables are
    the test nodes in test/fixtures/fixture_nodes.py, found the way launch finds
    any package: through AMENT_PREFIX_PATH and the ament resource index."""
    prefix = tmp_path / 'prefix'
    (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages').mkdir(parents=True)
    (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'skill_stack_fixtures').touch()
    (prefix / 'share' / 'skill_stack_fixtures').mkdir(parents=True)
    lib = prefix / 'lib' / 'skill_stack_fixtures'
    lib.mkdir(parents=True)
    for name in ('scene_server', 'scene_client'):
        exe = lib / name
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FIXTURES / "fixture_nodes.py"}" {name} "$@"\n')
        exe.chmod(0o755)
    ros_env['AMENT_PREFIX_PATH'] = f"{prefix}{os.pathsep}{ros_env.get('AMENT_PREFIX_PATH', '')}"
    monkeypatch.setenv('AMENT_PREFIX_PATH', ros_env['AMENT_PREFIX_PATH'])
    return prefix
