"""Which discovered topics a recording takes: named ones, a regular expression, or all.

Like ``ros2 bag record``: with neither names nor a pattern, every topic; names and
pattern together take the union; hidden topics (a name part starting with ``_``,
such as an action's ``_action/feedback``) only when named or asked for.
"""

import re
from typing import Iterable, Optional


def parse_topic_list(text: str) -> list:
    """``'/a, /b /c'`` -> ``['/a', '/b', '/c']`` (commas or white space between names)."""
    return [name for name in re.split(r'[\s,]+', text.strip()) if name]


def is_hidden(topic: str) -> bool:
    return any(part.startswith('_') for part in topic.split('/'))


class TopicSelection:
    """Decides from a topic's absolute name whether to record it."""

    def __init__(self, topics: Iterable[str] = (), regex: str = '', include_hidden: bool = False):
        self.topics = frozenset(topics)
        for name in self.topics:
            if not name.startswith('/'):
                raise ValueError(f"topic '{name}' must be resolved to an absolute name (starting with /)")
        try:
            self.pattern: Optional[re.Pattern] = re.compile(regex) if regex else None
        except re.error as exc:
            raise ValueError(f"regex '{regex}' is not a valid regular expression: {exc}") from None
        self.include_hidden = include_hidden

    @property
    def everything(self) -> bool:
        return not self.topics and self.pattern is None

    def wants(self, topic: str) -> bool:
        if topic in self.topics:
            return True
        if is_hidden(topic) and not self.include_hidden:
            return False
        if self.everything:
            return True
        return self.pattern is not None and self.pattern.fullmatch(topic) is not None
