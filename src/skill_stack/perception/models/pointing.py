"""A VLM that points at parts: "Point to the rim of the blue bowl" -> pixels -> 3D keypoints.

Pointing VLMs answer in text, in one of two families of formats, both parsed here:

- Molmo: ``<point x="61.5" y="40.2" alt="rim">rim</point>`` and
  ``<points x1=".." y1=".." x2=".." y2=".." alt="..">..</points>``, coordinates in
  percent of the image; Molmo2: ``<points coords="1 1 615 402 2 700 300">..</points>``
  (image index, then point id, x, y in thousandths of the image).
- Qwen2.5-VL: JSON such as ``[{"point_2d": [x, y], "label": "rim"}]`` (often in a
  ```json fence, sometimes cut off by the token limit), in pixels of the image *as the
  processor resized it*; Qwen3-VL uses the same JSON in thousandths of the image.

Qwen-family inputs are built from the checkpoint's image processor and tokenizer
directly: the only other thing the Qwen processor does is repeat the image
placeholder once per merged patch, and its class cannot be built without the
torchvision-only video processor.  Other VLMs go through ``AutoProcessor``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from skill_stack.perception.models.detector import check_rgb
from skill_stack.perception.models.hub import require_image_backend, resolve_model_path
from skill_stack.perception.models.lifting import lift_point
from skill_stack.perception.types import CameraModel, Keypoint

# Checkpoints whose JSON points are pixels of the resized image (others: thousandths).
QWEN_PIXEL_TYPES = ('qwen2_5_vl',)
QWEN_TYPES = ('qwen2_5_vl', 'qwen3_vl', 'qwen3_vl_moe')
DEFAULT_PROMPT = 'Point to the {part} of the {object}.'


@dataclass
class Point2D:
    u: float  # pixels, right
    v: float  # pixels, down
    label: str = ''


# -- parsers ---------------------------------------------------------------------------

_NUMBER = r'-?\d+(?:\.\d+)?'
_TAG = re.compile(r'<(points?)\b([^>]*)>(.*?)(?:</\1>|$)', re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*["\']([^"\']*)["\']')


def _inside(u: float, v: float, width: int, height: int) -> bool:
    return -0.5 <= u <= width + 0.5 and -0.5 <= v <= height + 0.5


def _clamped(u: float, v: float, width: int, height: int, label: str) -> Point2D:
    return Point2D(float(np.clip(u, 0, width - 1)), float(np.clip(v, 0, height - 1)), label)


def parse_molmo_points(text: str, width: int, height: int) -> List[Point2D]:
    """Points of Molmo's ``<point>``/``<points>`` tags (percent) and Molmo2's ``coords`` (thousandths), in pixels.

    Points outside the image are dropped: a model that points off the image has not found the part.
    """
    points: List[Point2D] = []
    for match in _TAG.finditer(text or ''):
        attrs = {k.lower(): v for k, v in _ATTR.findall(match.group(2))}
        label = (attrs.get('alt') or re.sub(r'<[^>]*>', '', match.group(3))).strip()
        if 'coords' in attrs:
            points += _molmo2_coords(attrs['coords'], width, height, label)
            continue
        pairs = []
        if 'x' in attrs and 'y' in attrs:
            pairs.append((attrs['x'], attrs['y']))
        index = 1
        while f'x{index}' in attrs and f'y{index}' in attrs:
            pairs.append((attrs[f'x{index}'], attrs[f'y{index}']))
            index += 1
        for xs, ys in pairs:
            try:
                u, v = float(xs) / 100.0 * width, float(ys) / 100.0 * height
            except ValueError:
                continue
            if _inside(u, v, width, height):
                points.append(_clamped(u, v, width, height, label))
    return points


def _molmo2_coords(coords: str, width: int, height: int, label: str) -> List[Point2D]:
    points = []
    for group in re.split(r'[\t;:,]', coords):
        numbers = group.split()
        if len(numbers) % 3 == 1:
            numbers = numbers[1:]  # the image (or frame) index
        for i in range(0, len(numbers) - 2, 3):
            try:
                u, v = float(numbers[i + 1]) / 1000.0 * width, float(numbers[i + 2]) / 1000.0 * height
            except ValueError:
                continue
            if _inside(u, v, width, height):
                points.append(_clamped(u, v, width, height, label))
    return points


_POINT_KEYS = ('point_2d', 'point', 'points', 'point2d', 'xy', 'coordinates', 'position')
_BOX_KEYS = ('bbox_2d', 'bbox', 'box')
_FIELD = re.compile(r'["\']?(\w+)["\']?\s*:\s*(\[[^\[\]]*\]|"[^"]*"|\'[^\']*\')')


def _json_items(text: str) -> List[Any]:
    """JSON values in a model's answer: a fenced block or the outermost brackets; [] if none parse."""
    fenced = re.findall(r'```(?:json)?\s*(.*?)(?:```|$)', text, re.DOTALL)
    candidates = [*fenced, text]
    for candidate in candidates:
        start = min((i for i in (candidate.find('['), candidate.find('{')) if i >= 0), default=-1)
        if start < 0:
            continue
        end = max(candidate.rfind(']'), candidate.rfind('}'))
        if end <= start:
            continue
        try:
            value = json.loads(candidate[start:end + 1])
        except json.JSONDecodeError:
            continue
        return value if isinstance(value, list) else [value]
    return []


def _fragments(text: str) -> List[Dict[str, Any]]:
    """Field-by-field reading of ``{...}`` fragments, for answers that are not valid JSON (cut off, single quotes)."""
    items = []
    for fragment in re.findall(r'\{[^{}]*\}?', text):
        item: Dict[str, Any] = {}
        for key, raw in _FIELD.findall(fragment):
            if raw.startswith('['):
                numbers = re.findall(_NUMBER, raw)
                item[key.lower()] = [float(n) for n in numbers]
            else:
                item[key.lower()] = raw[1:-1]
        if item:
            items.append(item)
    return items


def _xy_pairs(value: Any) -> List[Tuple[float, float]]:
    """[x, y] or [[x, y], ...] as pairs."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return [(float(value[0]), float(value[1]))]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _xy_pairs(v)]
    if isinstance(value, dict) and 'x' in value and 'y' in value:
        try:
            return [(float(value['x']), float(value['y']))]
        except (TypeError, ValueError):
            return []
    return []


def parse_json_points(text: str, width: int, height: int, *, x_scale: float = 1.0,
                      y_scale: float = 1.0) -> List[Point2D]:
    """Points of Qwen-style JSON (``point_2d``, or the centre of ``bbox_2d``) in pixels: coordinate x scale.

    Reads valid JSON first; falls back to reading fields out of ``{...}`` fragments so an answer
    cut off by the token limit or written with single quotes still yields its complete points.
    """
    text = text or ''
    items = _json_items(text)
    if not any(isinstance(i, dict) for i in items):
        items = [*items, *_fragments(text)] if items else _fragments(text)
    points: List[Point2D] = []
    for item in items:
        if isinstance(item, dict):
            fields = {str(k).lower(): v for k, v in item.items()}
            label = str(fields.get('label', fields.get('name', '')))
            pairs = next((_xy_pairs(fields[k]) for k in _POINT_KEYS if k in fields), [])
            if not pairs:
                box = next((fields[k] for k in _BOX_KEYS if k in fields), None)
                if isinstance(box, (list, tuple)) and len(box) == 4:
                    try:
                        pairs = [((float(box[0]) + float(box[2])) / 2, (float(box[1]) + float(box[3])) / 2)]
                    except (TypeError, ValueError):
                        pairs = []
        else:
            label, pairs = '', _xy_pairs(item)
        for x, y in pairs:
            u, v = x * x_scale, y * y_scale
            if _inside(u, v, width, height):
                points.append(_clamped(u, v, width, height, label))
    return points


def parse_points(text: str, width: int, height: int, *, x_scale: float = 1.0, y_scale: float = 1.0) -> List[Point2D]:
    """Points in a pointing VLM's answer, whichever format it used (Molmo tags first, then JSON)."""
    points = parse_molmo_points(text, width, height)
    return points if points else parse_json_points(text, width, height, x_scale=x_scale, y_scale=y_scale)


# -- the model ---------------------------------------------------------------------------

class PointingModel:
    """A pointing VLM loaded with ``AutoModelForImageTextToText``, only when used (or by ``load()``)."""

    def __init__(self, model: str, *, device: str = 'cpu', max_new_tokens: int = 96, prompt: str = DEFAULT_PROMPT,
                 generation_kwargs: Optional[Dict[str, Any]] = None):
        if '{part}' not in prompt or '{object}' not in prompt:
            raise ValueError(f'pointing prompt must contain {{part}} and {{object}}, got {prompt!r}')
        if max_new_tokens < 1:
            raise ValueError(f'max_new_tokens must be positive, got {max_new_tokens}')
        self.model_name = model
        self.device = device
        self.max_new_tokens = int(max_new_tokens)
        self.prompt_template = prompt
        self.generation_kwargs = dict(generation_kwargs or {})
        self.model_type: Optional[str] = None
        self.last_answer = ''  # the model's last raw answer, for logs when no point parses
        self._model = None
        self._processor = None
        self._tokenizer = None
        self._image_processor = None
        self._chat_template: Optional[str] = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load processor parts and weights (seconds); ModelNotFoundError if they are not on this machine."""
        if self.loaded:
            return
        path = resolve_model_path(self.model_name)
        require_image_backend()
        from transformers import AutoConfig, AutoModelForImageTextToText

        model_type = str(AutoConfig.from_pretrained(path, local_files_only=True).model_type)
        if model_type in QWEN_TYPES:
            from transformers import AutoImageProcessor, AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._image_processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
            self._chat_template = self._tokenizer.chat_template or _read_chat_template(path)
            if not self._chat_template:
                raise ValueError(f'{path} has no chat template (tokenizer_config.json, chat_template.jinja or '
                                 'chat_template.json); the Qwen prompt cannot be built without it')
        else:
            from transformers import AutoProcessor

            self._processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            self._tokenizer = self._processor.tokenizer
        model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
        self._model = model.to(self.device).eval()
        self.model_type = model_type

    def prompt(self, part: str, obj: str) -> str:
        return self.prompt_template.format(part=part.strip(), object=obj.strip())

    def generate(self, rgb: np.ndarray, prompt: str) -> Tuple[str, Tuple[float, float]]:
        """The model's answer to ``prompt`` about the image, and the pixel scale of its JSON coordinates."""
        image = check_rgb(rgb)
        self.load()
        import torch

        messages = [{'role': 'user', 'content': [{'type': 'image'}, {'type': 'text', 'text': prompt}]}]
        if self._processor is None:
            inputs, scale = self._qwen_inputs(image, messages)
        else:
            text = self._processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            inputs = dict(self._processor(images=[image], text=[text], return_tensors='pt'))
            scale = (1.0, 1.0)
        inputs = {k: v.to(self.device) if hasattr(v, 'to') else v for k, v in inputs.items()}
        kwargs = {'max_new_tokens': self.max_new_tokens, 'do_sample': False, **self.generation_kwargs}
        with torch.inference_mode():
            output = self._model.generate(**inputs, **kwargs)
        new_tokens = output[:, inputs['input_ids'].shape[1]:]
        answer = self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)[0]
        self.last_answer = answer
        return answer, scale

    def _qwen_inputs(self, image: np.ndarray, messages: List[Dict[str, Any]]) -> Tuple[Dict[str, Any],
                                                                                           Tuple[float, float]]:
        tokenizer, processor = self._tokenizer, self._image_processor
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False,
                                             chat_template=self._chat_template)
        vision = processor(images=[image], return_tensors='pt')
        grid = [int(g) for g in vision['image_grid_thw'][0]]
        merge = int(getattr(processor, 'merge_size', 2))
        image_token = getattr(tokenizer, 'image_token', None) or '<|image_pad|>'
        if text.count(image_token) != 1:
            raise ValueError(f'the chat template put {text.count(image_token)} image placeholders ({image_token}) '
                             'in the prompt, expected 1')
        text = text.replace(image_token, image_token * (grid[0] * grid[1] * grid[2] // merge ** 2))
        inputs = dict(tokenizer([text], return_tensors='pt'))
        inputs.update(vision)
        height, width = image.shape[:2]
        if self.model_type in QWEN_PIXEL_TYPES:
            # Qwen2.5-VL answers in pixels of the image as resized to (grid_h * patch, grid_w * patch).
            patch = int(getattr(processor, 'patch_size', 14))
            return inputs, (width / (grid[2] * patch), height / (grid[1] * patch))
        return inputs, (width / 1000.0, height / 1000.0)  # Qwen3-VL: thousandths of the image

    def point(self, rgb: np.ndarray, part: str, obj: str) -> List[Point2D]:
        """Pixels the model points to for "the {part} of the {obj}" (empty when its answer holds no point)."""
        image = check_rgb(rgb)
        answer, (sx, sy) = self.generate(image, self.prompt(part, obj))
        return parse_points(answer, image.shape[1], image.shape[0], x_scale=sx, y_scale=sy)

    def keypoints(self, rgb: np.ndarray, depth: np.ndarray, camera: CameraModel, *, part: str, obj: str,
                  name: Optional[str] = None, confidence: float = 0.8) -> List[Keypoint]:
        """The part's points as 3D keypoints named ``name`` (default: the part); points without depth drop."""
        keypoints = []
        for point in self.point(rgb, part, obj):
            keypoint = lift_point(point.u, point.v, depth, camera, name=name or part.replace(' ', '_'),
                                  confidence=confidence)
            if keypoint is not None:
                keypoints.append(keypoint)
        return keypoints


def _read_chat_template(path: Path) -> Optional[str]:
    """A checkpoint's chat template kept beside the tokenizer (chat_template.jinja or chat_template.json)."""
    jinja = Path(path) / 'chat_template.jinja'
    if jinja.is_file():
        return jinja.read_text()
    js = Path(path) / 'chat_template.json'
    if js.is_file():
        value = json.loads(js.read_text()).get('chat_template')
        return value if isinstance(value, str) else None
    return None


def describe_for_prompt(label: str, color: str = '') -> str:
    """"blue bowl" from an object's colour and label, as a VLM prompt names it."""
    return ' '.join(w for w in (color, label.replace('_', ' ')) if w)

