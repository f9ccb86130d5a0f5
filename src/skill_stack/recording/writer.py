"""An MCAP file of serialized (CDR) ROS 2 messages, laid out like rosbag2's MCAP storage.

Profile ``ros2``, one ``ros2msg`` schema per type (the complete definition,
`definitions.py`), one ``cdr`` channel per topic, chunked and indexed with a
summary, so ``mcap info``, Foxglove and ``mcap_ros2`` read it without our
package. Messages arrive already serialized (a raw subscription), so nothing is
decoded or re-encoded on the way. Thread-safe: subscriptions may write from
several executor threads while another closes the file.
"""

import os
import threading
import time
from typing import Dict, Optional

from mcap.exceptions import McapError
from mcap.well_known import MessageEncoding, Profile, SchemaEncoding
from mcap.writer import CompressionType, Writer

from skill_stack.recording.definitions import DefinitionSource, normalize_type

COMPRESSIONS = {'zstd': CompressionType.ZSTD, 'lz4': CompressionType.LZ4, 'none': CompressionType.NONE}
LIBRARY = 'skill_stack recorder'


def default_path() -> str:
    """A fresh file name in the working directory, like rosbag2's ``rosbag2_YYYY_MM_DD-HH_MM_SS``."""
    return time.strftime('recording_%Y_%m_%d-%H_%M_%S.mcap', time.localtime())


class McapRecording:
    """Writes ``(topic, type, CDR bytes, times)`` to ``path``; call ``close()`` (or use ``with``) to finish it.

    Raises ValueError naming ``path`` when the file cannot be created (missing or
    read-only directory, an existing file without ``overwrite``), naming
    ``compression`` when that is unknown or its library is missing.
    """

    def __init__(self, path: str, compression: str = 'zstd', overwrite: bool = False,
                 chunk_size: int = 4 * 1024 * 1024, definitions: Optional[DefinitionSource] = None):
        if compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got '{compression}'")
        if not path:
            raise ValueError('path is empty')
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise ValueError(f"cannot write '{path}': directory '{directory}' does not exist")
        if os.path.isdir(path):
            raise ValueError(f"cannot write '{path}': it is a directory; give a file name (*.mcap)")
        try:
            self._file = open(path, 'wb' if overwrite else 'xb')  # closed in close()
        except FileExistsError:
            raise ValueError(f"'{path}' exists; choose another path or allow overwriting") from None
        except OSError as exc:
            raise ValueError(f"cannot write '{path}': {exc.strerror}") from None
        try:
            self._writer = Writer(self._file, chunk_size=chunk_size, compression=COMPRESSIONS[compression])
        except McapError as exc:
            self._file.close()
            os.unlink(path)
            raise ValueError(f"compression '{compression}' is not available here: {exc}") from None
        self._writer.start(profile=Profile.ROS2, library=LIBRARY)
        self.path = path
        self._definitions = definitions or DefinitionSource()
        self._lock = threading.Lock()
        self._schemas: Dict[str, int] = {}
        self._channels: Dict[str, int] = {}
        self._types: Dict[str, str] = {}
        self.counts: Dict[str, int] = {}
        self.closed = False

    def add_topic(self, topic: str, type_name: str, offered_qos_profiles: str = '') -> None:
        """Register a topic (absolute name) and its type; raises ValueError naming a bad name or unknown type."""
        if not topic.startswith('/'):
            raise ValueError(f"topic '{topic}' must be an absolute name (starting with /)")
        full_type, _ = normalize_type(type_name)
        with self._lock:
            if topic in self._channels:
                if self._types[topic] != full_type:
                    raise ValueError(f"topic '{topic}' is already recorded as {self._types[topic]}, not {full_type}")
                return
            if full_type not in self._schemas:
                text = self._definitions.full_text(full_type)  # UnknownMessageType (a ValueError) names the type
                self._schemas[full_type] = self._writer.register_schema(full_type, SchemaEncoding.ROS2, text.encode())
            metadata = {'offered_qos_profiles': offered_qos_profiles} if offered_qos_profiles else {}
            self._channels[topic] = self._writer.register_channel(
                topic, MessageEncoding.CDR, self._schemas[full_type], metadata)
            self._types[topic] = full_type
            self.counts[topic] = 0

    def write(self, topic: str, data: bytes, log_time_ns: int, publish_time_ns: Optional[int] = None) -> bool:
        """Append one serialized message; False (and nothing written) once the file is closed."""
        with self._lock:
            if self.closed:
                return False
            channel = self._channels.get(topic)
            if channel is None:
                raise ValueError(f"topic '{topic}' was not added; call add_topic first")
            self._writer.add_message(channel, log_time=log_time_ns, data=bytes(data),
                                     publish_time=log_time_ns if publish_time_ns is None else publish_time_ns,
                                     sequence=self.counts[topic])
            self.counts[topic] += 1
            return True

    def close(self) -> None:
        """Write the summary and index and close the file; later writes are dropped."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self._writer.finish()
            finally:
                self._file.close()

    def __enter__(self) -> 'McapRecording':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
