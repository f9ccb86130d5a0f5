"""The ``recorder`` node: topics of the running graph to an MCAP file (``ros2 bag record`` for this stack).

It discovers topics (all, the named ones, or those matching ``regex``), and
re-scans every ``rescan_period_s`` so publishers that start later are recorded
too. Each topic is subscribed serialized (``raw``), so messages go to the file
as the publisher sent them, with a QoS that matches every publisher (reliable
only when all offer it, transient-local only when all keep it, as rosbag2
does). A topic is taken once it has a publisher, so a later best-effort
publisher is never missed by a reliable subscription. SIGINT (the launch
runner's stop) or shutdown closes the file with its summary and index.
"""

import functools
import importlib
import math
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Set

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from skill_stack.nodes.logging_bridge import route_python_logging
from skill_stack.nodes.runtime import declare, run_node
from skill_stack.recording.selection import TopicSelection, parse_topic_list
from skill_stack.recording.writer import COMPRESSIONS, McapRecording, default_path


@dataclass
class RecorderParams:
    """The node's parameters, validated; a bad value names the parameter."""

    path: str
    topics: str
    regex: str
    include_hidden: bool
    rescan_period_s: float
    compression: str
    overwrite: bool
    qos_depth: int

    def validate(self) -> None:
        if not math.isfinite(self.rescan_period_s) or not 0.0 < self.rescan_period_s <= 60.0:
            raise ValueError(f"parameter 'rescan_period_s' must be in (0, 60] s, got {self.rescan_period_s}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"parameter 'compression' must be one of {', '.join(COMPRESSIONS)}, "
                             f"got '{self.compression}'")
        if not 1 <= self.qos_depth <= 10000:
            raise ValueError(f"parameter 'qos_depth' must be in [1, 10000], got {self.qos_depth}")


class RecorderNode(Node):
    def __init__(self, node_name: str = 'recorder', **node_options):
        super().__init__(node_name, **node_options)
        route_python_logging(self)
        p = RecorderParams(
            path=declare(self, 'path', '', 'MCAP file to write; empty: recording_<date>-<time>.mcap here'),
            topics=declare(self, 'topics', '', 'topics to record, separated by commas or spaces (relative names '
                                               'resolve in the node namespace); empty with empty regex: all'),
            regex=declare(self, 'regex', '', 'also record topics whose full name matches this Python regex'),
            include_hidden=declare(self, 'include_hidden', False,
                                   'record hidden topics (a name part starting with _) when recording all or by regex'),
            rescan_period_s=declare(self, 'rescan_period_s', 1.0, 'how often to look for new topics, (0, 60] s'),
            compression=declare(self, 'compression', 'zstd', f"chunk compression: {', '.join(COMPRESSIONS)}"),
            overwrite=declare(self, 'overwrite', False, 'replace an existing file at path instead of failing'),
            qos_depth=declare(self, 'qos_depth', 50, 'subscription queue depth per topic (keep-last)'),
        )
        p.validate()
        try:
            self.selection = TopicSelection([self.resolve_topic_name(t) for t in parse_topic_list(p.topics)],
                                            p.regex, p.include_hidden)
        except ValueError as exc:
            raise ValueError(f"parameter 'topics' or 'regex': {exc}") from None
        path = p.path or default_path()
        try:
            self.recording = McapRecording(path, p.compression, p.overwrite)
        except ValueError as exc:
            raise ValueError(f"parameter 'path': {exc}") from None
        self.qos_depth = p.qos_depth
        self._group = MutuallyExclusiveCallbackGroup()  # one writer; scans and writes never overlap
        self._recorded: Dict[str, object] = {}
        self._skipped: Set[str] = set()  # topics that cannot be recorded, reported once
        self.get_logger().info(f"recording {'all topics' if self.selection.everything else 'selected topics'} "
                               f'to {path}')
        self.scan()
        self.create_timer(p.rescan_period_s, self.scan, callback_group=self._group)

    def scan(self) -> None:
        """Subscribe to every wanted topic that has a publisher and is not recorded yet."""
        for topic, types in self.get_topic_names_and_types():
            if topic in self._recorded or topic in self._skipped or not self.selection.wants(topic):
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue  # taken once someone publishes, with a QoS that matches them
            try:
                if len(types) != 1:
                    raise ValueError(f'it has several types ({", ".join(types)})')
                msg_type = import_message_type(types[0])
                self.recording.add_topic(topic, types[0], offered_qos_yaml(publishers))
            except ValueError as exc:
                self._skipped.add(topic)
                self.get_logger().warning(f"not recording '{topic}': {exc}")
                continue
            self._recorded[topic] = self.create_subscription(
                msg_type, topic, functools.partial(self.on_message, topic), adapted_qos(publishers, self.qos_depth),
                raw=True, callback_group=self._group)
            self.get_logger().info(f'recording {topic} ({types[0]})')

    def on_message(self, topic: str, data: bytes, info) -> None:
        received = info.get('received_timestamp') or time.time_ns()
        self.recording.write(topic, data, received, info.get('source_timestamp') or received)

    def destroy_node(self):
        recording = getattr(self, 'recording', None)  # absent when start-up failed before opening the file
        if recording is not None and not recording.closed:
            recording.close()
            self.get_logger().info(f'wrote {sum(recording.counts.values())} messages on {len(recording.counts)} '
                                   f'topics to {recording.path}')
        return super().destroy_node()


def import_message_type(type_name: str):
    """The Python class of ``pkg/msg/Type``; ValueError when its package is not importable."""
    parts = type_name.split('/')
    if len(parts) != 3:
        raise ValueError(f"type '{type_name}' is not of the form pkg/msg/Type")
    try:
        return getattr(importlib.import_module(f'{parts[0]}.{parts[1]}'), parts[2])
    except (ImportError, AttributeError):
        raise ValueError(f"type '{type_name}' has no Python message class here") from None


def adapted_qos(publishers: List, depth: int) -> QoSProfile:
    """A subscription QoS that matches every offer: the weakest reliability and durability among them."""
    profiles = [p.qos_profile for p in publishers]
    reliable = all(q.reliability == ReliabilityPolicy.RELIABLE for q in profiles)
    transient = all(q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in profiles)
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL if transient else DurabilityPolicy.VOLATILE)


def offered_qos_yaml(publishers: List) -> str:
    """The publishers' QoS as the channel metadata rosbag2 writes (``offered_qos_profiles``)."""
    lines = []
    for p in publishers:
        q = p.qos_profile
        lines += [f'- history: {q.history.name.lower()}', f'  depth: {q.depth}',
                  f'  reliability: {q.reliability.name.lower()}', f'  durability: {q.durability.name.lower()}']
    return '\n'.join(lines)


def main() -> int:
    return run_node(RecorderNode, 'recorder')


if __name__ == '__main__':
    sys.exit(main())
