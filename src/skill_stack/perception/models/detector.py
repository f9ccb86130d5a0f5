"""Open-vocabulary detection through transformers: text queries in, labelled pixel boxes out.

For objects the embedded pipeline has no shape for ("the banana", "the screwdriver"):
OWLv2 (``Owlv2ForObjectDetection``) or Grounding DINO, both loaded with
``AutoModelForZeroShotObjectDetection``.  The model is loaded on first use (or by
``load()``, which a node calls at start-up to fail early), from a local directory or
the Hugging Face cache.  Boxes come back in the pixel coordinates of the image given;
``lifting.lift_detection`` puts them in 3D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from skill_stack.perception.models.hub import require_image_backend, resolve_model_path

OWL_TYPES = ('owlv2', 'owlvit')
GROUNDING_DINO_TYPES = ('grounding-dino', 'mm-grounding-dino')


@dataclass
class Detection:
    label: str  # the query it answers
    score: float  # 0..1
    box: Tuple[float, float, float, float]  # u0, v0, u1, v1 in pixels of the image given


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """The image as an (H, W, 3) uint8 array, or ValueError saying what is wrong with it."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 2 or array.shape[1] < 2:
        raise ValueError(f'expected an RGB image of shape (H, W, 3), got {array.shape}')
    if array.dtype != np.uint8:
        if not np.all(np.isfinite(array)):
            raise ValueError('RGB image has NaN or infinite values')
        scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of each box in ``a`` (N, 4) with each in ``b`` (M, 4), boxes u0, v0, u1, v1."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def non_max_suppression(detections: Sequence[Detection], iou: float) -> List[Detection]:
    """Best first, dropping boxes of the same label that overlap a better one by more than ``iou``.

    OWLv2 scores every image patch, so one object comes back as a cluster of boxes.
    """
    ordered = sorted(detections, key=lambda d: -d.score)
    kept: List[Detection] = []
    for det in ordered:
        same = [k for k in kept if k.label == det.label]
        if same and box_iou(np.array([det.box]), np.array([k.box for k in same])).max() > iou:
            continue
        kept.append(det)
    return kept


class OpenVocabularyDetector:
    """OWLv2 or Grounding DINO, selected by the checkpoint's model type; loaded only when used."""

    def __init__(self, model: str, *, threshold: float = 0.2, text_threshold: float = 0.25, nms_iou: float = 0.5,
                 max_detections: int = 50, device: str = 'cpu'):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f'detector threshold must be in [0, 1], got {threshold}')
        if not 0.0 < nms_iou <= 1.0:
            raise ValueError(f'detector nms_iou must be in (0, 1], got {nms_iou}')
        self.model_name = model
        self.threshold = float(threshold)
        self.text_threshold = float(text_threshold)
        self.nms_iou = float(nms_iou)
        self.max_detections = int(max_detections)
        self.device = device
        self.model_type: Optional[str] = None
        self._model = None
        self._processor = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load processor and weights (seconds); ModelNotFoundError if they are not on this machine."""
        if self.loaded:
            return
        path = resolve_model_path(self.model_name)
        require_image_backend()
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        model = AutoModelForZeroShotObjectDetection.from_pretrained(path, local_files_only=True)
        model_type = str(model.config.model_type)
        if model_type not in OWL_TYPES + GROUNDING_DINO_TYPES:
            raise ValueError(f'{path} holds a {model_type!r} model; the detector supports '
                             f'{", ".join(OWL_TYPES + GROUNDING_DINO_TYPES)}')
        self._processor, self._model = processor, model.to(self.device).eval()
        self.model_type = model_type

    def detect(self, rgb: np.ndarray, queries: Sequence[str]) -> List[Detection]:
        """Boxes of whatever the text queries name ("a mug", "banana"), best first, after per-label NMS."""
        image = check_rgb(rgb)
        queries = [q.strip() for q in queries if isinstance(q, str) and q.strip()]
        if not queries:
            return []
        self.load()
        import torch

        height, width = image.shape[:2]
        with torch.inference_mode():
            if self.model_type in OWL_TYPES:
                raw = self._detect_owl(image, queries)
            else:
                raw = self._detect_grounding_dino(image, queries)
        detections = []
        for label, score, box in raw:
            u0, v0, u1, v1 = (float(v) for v in box)
            u0, u1 = float(np.clip(u0, 0, width)), float(np.clip(u1, 0, width))
            v0, v1 = float(np.clip(v0, 0, height)), float(np.clip(v1, 0, height))
            if u1 - u0 >= 1.0 and v1 - v0 >= 1.0:
                detections.append(Detection(label=label, score=float(score), box=(u0, v0, u1, v1)))
        return non_max_suppression(detections, self.nms_iou)[:self.max_detections]

    def _detect_owl(self, image: np.ndarray, queries: List[str]):
        inputs = self._processor(text=[queries], images=image, return_tensors='pt').to(self.device)
        outputs = self._model(**inputs)
        height, width = image.shape[:2]
        # OWLv2 pads the image to a square at the bottom and right before resizing, so its
        # normalised boxes are fractions of the padded square; OWL-ViT resizes without padding.
        size = (max(height, width),) * 2 if self.model_type == 'owlv2' else (height, width)
        result = self._processor.post_process_grounded_object_detection(
            outputs, threshold=self.threshold, target_sizes=[size])[0]
        return [(queries[int(i)], float(s), b.tolist())
                for s, i, b in zip(result['scores'], result['labels'], result['boxes'], strict=True)]

    def _detect_grounding_dino(self, image: np.ndarray, queries: List[str]):
        # Grounding DINO takes one lower-case prompt with the phrases separated by dots.
        prompt = ' '.join(q.lower().rstrip('.') + '.' for q in queries)
        inputs = self._processor(images=image, text=prompt, return_tensors='pt').to(self.device)
        outputs = self._model(**inputs)
        result = self._processor.post_process_grounded_object_detection(
            outputs, inputs['input_ids'], threshold=self.threshold, text_threshold=self.text_threshold,
            target_sizes=[image.shape[:2]])[0]
        labels = result.get('text_labels', result.get('labels'))
        return [(_closest_query(str(t), queries), float(s), b.tolist())
                for s, t, b in zip(result['scores'], labels, result['boxes'], strict=True)]


def _closest_query(text: str, queries: Sequence[str]) -> str:
    """The query a Grounding DINO phrase came from (it returns the phrase's tokens, not an index)."""
    words = set(text.lower().split())
    return max(queries, key=lambda q: (len(words & set(q.lower().split())), -abs(len(q) - len(text))))
