"""Which model backends perception uses, from parameters: none by default, each loaded only when selected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from skill_stack.perception.models.detector import OpenVocabularyDetector
from skill_stack.perception.models.pointing import DEFAULT_PROMPT, PointingModel

DETECTORS = ('none', 'owlv2', 'grounding_dino')
POINTERS = ('none', 'qwen2_5_vl', 'qwen3_vl', 'molmo')


@dataclass
class ModelBackendsConfig:
    """Parameters of the optional models (names as a node declares them, prefixed ``models.``)."""

    detector: str = 'none'  # none | owlv2 | grounding_dino
    detector_model: str = ''  # local directory, or a Hugging Face repo id already in the cache
    detector_threshold: float = 0.2
    detector_queries: Tuple[str, ...] = ()  # what to look for besides the embedded shapes ("mug", "banana")
    pointer: str = 'none'  # none | qwen2_5_vl | qwen3_vl | molmo
    pointer_model: str = ''
    pointer_prompt: str = DEFAULT_PROMPT
    pointer_max_new_tokens: int = 96
    device: str = 'cpu'

    def validate(self) -> Optional[str]:
        """A sentence naming the bad parameter and its value, or None."""
        if self.detector not in DETECTORS:
            return f"models.detector must be one of {', '.join(DETECTORS)}, got {self.detector!r}"
        if self.pointer not in POINTERS:
            return f"models.pointer must be one of {', '.join(POINTERS)}, got {self.pointer!r}"
        if self.detector != 'none' and not self.detector_model.strip():
            return f'models.detector is {self.detector!r} but models.detector_model is empty'
        if self.pointer != 'none' and not self.pointer_model.strip():
            return f'models.pointer is {self.pointer!r} but models.pointer_model is empty'
        if not 0.0 <= self.detector_threshold <= 1.0:
            return f'models.detector_threshold must be in [0, 1], got {self.detector_threshold}'
        if '{part}' not in self.pointer_prompt or '{object}' not in self.pointer_prompt:
            return f'models.pointer_prompt must contain {{part}} and {{object}}, got {self.pointer_prompt!r}'
        if self.pointer_max_new_tokens < 1:
            return f'models.pointer_max_new_tokens must be positive, got {self.pointer_max_new_tokens}'
        if not (self.device == 'cpu' or self.device.startswith(('cuda', 'mps', 'xpu'))):
            return f"models.device must be 'cpu', 'cuda[:N]', 'mps' or 'xpu', got {self.device!r}"
        return None


def load_backends(config: ModelBackendsConfig, *, load: bool = True
                  ) -> Tuple[Optional[OpenVocabularyDetector], Optional[PointingModel]]:
    """The selected detector and pointer (None for 'none'), loaded now when ``load`` so a node fails at start-up.

    Raises ValueError for a bad configuration and ModelNotFoundError for weights not on this machine.
    """
    problem = config.validate()
    if problem is not None:
        raise ValueError(problem)
    detector = pointer = None
    if config.detector != 'none':
        detector = OpenVocabularyDetector(config.detector_model, threshold=config.detector_threshold,
                                          device=config.device)
    if config.pointer != 'none':
        pointer = PointingModel(config.pointer_model, device=config.device, prompt=config.pointer_prompt,
                                max_new_tokens=config.pointer_max_new_tokens)
    if load:
        for backend in (detector, pointer):
            if backend is not None:
                backend.load()
        _check_kind(config, detector, pointer)
    return detector, pointer


def _check_kind(config: ModelBackendsConfig, detector: Optional[OpenVocabularyDetector],
                pointer: Optional[PointingModel]) -> None:
    """The checkpoint must be the family the parameter names: its output format depends on it."""
    if detector is not None:
        family = {'owlv2': ('owlv2', 'owlvit'), 'grounding_dino': ('grounding-dino', 'mm-grounding-dino')}
        if detector.model_type not in family[config.detector]:
            raise ValueError(f'models.detector is {config.detector!r} but {config.detector_model} holds a '
                             f'{detector.model_type!r} model')
    if pointer is not None:
        family = {'qwen2_5_vl': ('qwen2_5_vl',), 'qwen3_vl': ('qwen3_vl', 'qwen3_vl_moe'),
                  'molmo': ('molmo', 'molmo2')}
        if pointer.model_type not in family[config.pointer]:
            raise ValueError(f'models.pointer is {config.pointer!r} but {config.pointer_model} holds a '
                             f'{pointer.model_type!r} model')
