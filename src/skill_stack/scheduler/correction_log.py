"""The correction log: every live correction with the context it was given in, for learning from corrections.

A log is a directory with ``corrections.jsonl`` (one JSON object per line, one
line per correction, appended and flushed as it happens) and ``images/`` (an
optional PNG of the camera per entry).  The format is documented field by field
in docs/corrections_dataset.md; ``read_corrections`` loads a log back.
Writing is thread-safe: corrections arrive on whatever thread the node receives
them on.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.corrections import Correction

LOG_FILE = 'corrections.jsonl'
IMAGE_DIR = 'images'
FORMAT_VERSION = 1
OUTCOMES = ('ignored', 'paused', 'resumed', 'cancelled', 'amended', 'rejected', 'not_understood', 'intervention')
_DISPLACEMENT = re.compile(r'moved by \[([^\]]*)\] m')


@dataclass
class CorrectionRecord:
    """One line of the log (see docs/corrections_dataset.md)."""

    stamp: float
    text: str
    correction: Correction
    outcome: str
    message: str = ''
    source: str = ''
    instruction: str = ''
    robot: str = ''
    state: str = ''  # the runner's state when the correction came: idle, planning, executing, paused, ...
    current_step: int = -1
    plan: List[Dict[str, Any]] = field(default_factory=list)  # Step.to_dict() of each step, before the correction
    amended_plan: Optional[List[Dict[str, Any]]] = None  # after it, when it changed the plan
    scene: List[Dict[str, Any]] = field(default_factory=list)  # the objects seen last
    image: Optional[str] = None  # path of the PNG, relative to the log directory
    index: int = 0
    version: int = FORMAT_VERSION
    directory: Optional[Path] = None  # set when read back, to resolve ``image``

    def to_dict(self) -> Dict[str, Any]:
        return {'version': self.version, 'index': self.index, 'stamp': self.stamp, 'text': self.text,
                'source': self.source, 'correction': self.correction.to_dict(), 'outcome': self.outcome,
                'message': self.message, 'instruction': self.instruction, 'robot': self.robot, 'state': self.state,
                'current_step': self.current_step, 'plan': self.plan, 'amended_plan': self.amended_plan,
                'scene': self.scene, 'image': self.image}

    @classmethod
    def from_dict(cls, data: Dict[str, Any], directory: Optional[Path] = None) -> CorrectionRecord:
        if data.get('outcome') not in OUTCOMES:
            raise ValueError(f"a correction record's outcome must be one of {OUTCOMES}, got {data.get('outcome')!r}")
        return cls(stamp=float(data['stamp']), text=str(data['text']),
                   correction=Correction.from_dict(data['correction']), outcome=str(data['outcome']),
                   message=str(data.get('message', '')), source=str(data.get('source', '')),
                   instruction=str(data.get('instruction', '')), robot=str(data.get('robot', '')),
                   state=str(data.get('state', '')), current_step=int(data.get('current_step', -1)),
                   plan=list(data.get('plan') or []), amended_plan=data.get('amended_plan'),
                   scene=list(data.get('scene') or []), image=data.get('image'), index=int(data.get('index', 0)),
                   version=int(data.get('version', FORMAT_VERSION)), directory=directory)

    def image_path(self) -> Optional[Path]:
        return None if self.image is None or self.directory is None else self.directory / self.image

    def load_image(self) -> Optional[np.ndarray]:
        """The camera image (H x W x 3 uint8) saved with the entry, or None."""
        path = self.image_path()
        if path is None:
            return None
        from PIL import Image

        with Image.open(path) as image:
            return np.asarray(image.convert('RGB'))


def intervention(text: str) -> Correction:
    """A teleop intervention as the log keeps it: kind 'intervention', never parsed as language; ``delta``
    is the displacement when the text gives one ("... moved by [dx, dy, dz] m ...", teleop/core.py)."""
    delta = (0.0, 0.0, 0.0)
    match = _DISPLACEMENT.search(text)
    if match:
        try:
            values = tuple(float(v) for v in match.group(1).split(','))
        except ValueError:
            values = ()
        if len(values) == 3 and all(math.isfinite(v) for v in values):
            delta = values
    return Correction(kind='intervention', text=text, delta=delta)


def scene_objects(scene: Optional[PerceivedScene]) -> List[Dict[str, Any]]:
    """What the log keeps of a scene: each object's id, label, colour, position and extent."""
    if scene is None:
        return []
    return [{'id': o.id, 'label': o.label, 'color': o.color,
             'position': [round(float(v), 4) for v in np.asarray(o.position, float)],
             'extent': [round(float(v), 4) for v in np.asarray(o.extent, float)]} for o in scene.objects]


class CorrectionLog:
    """Appends records to ``directory/corrections.jsonl``, with the image as ``directory/images/NNNNNN.png``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LOG_FILE
        self._lock = threading.Lock()
        self._count = len(read_corrections(self.directory))

    def write(self, record: CorrectionRecord, image: Optional[np.ndarray] = None) -> CorrectionRecord:
        """Append ``record`` (numbered here), saving ``image`` (RGB uint8) as its PNG; returns the record."""
        with self._lock:
            record.index = self._count
            if image is not None:
                record.image = f'{IMAGE_DIR}/{record.index:06d}.png'
                _save_png(self.directory / record.image, image)
            with self.path.open('a') as stream:
                stream.write(json.dumps(record.to_dict()) + '\n')
            self._count += 1
            record.directory = self.directory
            return record


def _save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip(pixels * (255.0 if pixels.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def read_corrections(directory: str | Path) -> List[CorrectionRecord]:
    """Every record of a log directory, in order (a missing log is empty)."""
    directory = Path(directory)
    path = directory / LOG_FILE
    if not path.exists():
        return []
    with path.open() as stream:
        return [CorrectionRecord.from_dict(json.loads(line), directory) for line in stream if line.strip()]
