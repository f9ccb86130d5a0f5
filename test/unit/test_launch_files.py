"""Every launch file the package ships parses with its defaults and names real executables."""

from pathlib import Path

import pytest

from skill_stack.launch.description import parse_launch_file

LAUNCH = Path(__file__).resolve().parents[2] / 'launch'


@pytest.mark.parametrize('path', sorted(LAUNCH.glob('*.launch.yaml')), ids=lambda p: p.name)
def test_launch_file_resolves_with_defaults(path):
    description = parse_launch_file(str(path))
    assert description.nodes, f'{path.name} starts no node'
    for node in description.nodes:
        assert Path(node.executable_path).is_file()
    for arg in description.args:
        assert arg.description, f'{path.name}: argument {arg.name!r} has no description'
