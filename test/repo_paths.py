"""Paths tests share: the repository, its test fixtures, and the installed CLI."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / 'test' / 'fixtures'
CLI = REPO / '.venv' / 'bin' / 'skill-stack'
