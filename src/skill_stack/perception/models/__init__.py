"""Optional model backends for perception, loaded only when selected.

- ``detector.OpenVocabularyDetector``: an open-vocabulary detector (OWLv2 or
  Grounding DINO through transformers) for objects outside the embedded
  vocabulary; ``lifting.lift_detection`` turns its boxes into 3D objects.
- ``pointing.PointingModel``: a VLM that points (Qwen2.5-VL / Qwen3-VL class,
  or Molmo), prompted "Point to the {part} of the {object}"; ``pointing.parse_points``
  reads both Molmo's ``<point x=.. y=..>`` and Qwen's JSON ``point_2d`` outputs,
  and ``lifting.lift_point`` puts the points in 3D with depth.
- ``config.ModelBackendsConfig``: which of them to use, from parameters.

Nothing here imports torch or transformers at import time: the embedded
pipeline must start on a machine without either being usable, and a model
costs seconds to load, so it is loaded where it is selected.  Weights come from
a local directory or the Hugging Face cache, never the network
(``hub.resolve_model_path`` says how to fetch a missing one).
"""

from skill_stack.perception.models.config import ModelBackendsConfig, load_backends
from skill_stack.perception.models.detector import Detection, OpenVocabularyDetector
from skill_stack.perception.models.hub import ModelNotFoundError, resolve_model_path
from skill_stack.perception.models.lifting import detections_to_objects, lift_detection, lift_pixel, lift_point
from skill_stack.perception.models.pointing import (
    Point2D,
    PointingModel,
    parse_json_points,
    parse_molmo_points,
    parse_points,
)

__all__ = [
    'Detection',
    'ModelBackendsConfig',
    'ModelNotFoundError',
    'OpenVocabularyDetector',
    'Point2D',
    'PointingModel',
    'detections_to_objects',
    'lift_detection',
    'lift_pixel',
    'lift_point',
    'load_backends',
    'parse_json_points',
    'parse_molmo_points',
    'parse_points',
    'resolve_model_path',
]
