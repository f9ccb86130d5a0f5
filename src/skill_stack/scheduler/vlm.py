"""The VLM planner: a local (vision-)language model scores candidate steps; its output is always a valid plan.

The model never writes free text.  At each step the planner enumerates what the
robot could validly do next (``candidates.next_steps``: each skill with
arguments grounded in the scene, plus the embedded planner's parse of the
instruction) and a "done" option, and scores each line by the model's mean
log-likelihood of it after the prompt (skills, scene as text, robot state,
instruction, the camera image when the model takes images, the steps chosen so
far).  The option the embedded parse expects next gets ``embedded_prior``
nats.  As in SayCan, the softmax of these scores (the step's confidence) times
the skill's feasibility picks the step.  So a random model still yields only
valid plans; a good one follows the instruction where the grammar cannot.

Weights come from a local directory or the Hugging Face cache (never the
network) and load on first use or ``load()``; torch and transformers are
imported only then.  The prompt is encoded once per step and its key-value
cache reused for the options, in batches of ``batch_size``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from skill_stack.perception.models.hub import require_image_backend, resolve_model_path
from skill_stack.perception.types import PerceivedScene
from skill_stack.scheduler.candidates import key, next_steps
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.effects import apply
from skill_stack.scheduler.embedded import EmbeddedPlanner
from skill_stack.scheduler.plan import PlanResult, RobotState, Step
from skill_stack.scheduler.planning import (
    MAX_INSTRUCTION_CHARS,
    MIN_FEASIBILITY,
    as_state,
    check_instruction,
    check_scene,
    finalize,
)
from skill_stack.scheduler.prompting import DONE, SYSTEM, skills_text, step_text, user_text

INSTRUCTIONS = 'Answer with one step per line, then a line "done".'


class VlmPlanner:
    """``make_planner('vlm', model=PATH_OR_REPO_ID, device='cpu')``; ``load()`` at start-up raises
    ModelNotFoundError when the weights are not on this machine (otherwise the first ``plan`` does)."""

    name = 'vlm'

    def __init__(self, model: str, *, device: str = 'cpu', max_steps: int = 8, embedded_prior: float = 3.0,
                 batch_size: int = 8, use_image: bool = True, max_chars: int = MAX_INSTRUCTION_CHARS,
                 min_feasibility: float = MIN_FEASIBILITY):
        if not str(model).strip():
            raise ValueError('the vlm planner needs a model: a local directory or a Hugging Face repo id in the cache')
        if max_steps < 1 or batch_size < 1:
            raise ValueError(f'max_steps and batch_size must be positive, got {max_steps} and {batch_size}')
        self.model_name, self.device = str(model), device
        self.max_steps, self.embedded_prior, self.batch_size = int(max_steps), float(embedded_prior), int(batch_size)
        self.use_image, self.max_chars, self.min_feasibility = use_image, int(max_chars), float(min_feasibility)
        self.model_type: Optional[str] = None
        self._model = self._tokenizer = self._processor = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load tokenizer (and image processor) and weights; ModelNotFoundError if they are not on this machine."""
        if self.loaded:
            return
        path = resolve_model_path(self.model_name)
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText, AutoTokenizer

        config = AutoConfig.from_pretrained(path, local_files_only=True)
        vision = getattr(config, 'vision_config', None) is not None
        if vision and self.use_image:
            from transformers import AutoProcessor

            require_image_backend()
            self._processor = AutoProcessor.from_pretrained(path, local_files_only=True)
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model_class = AutoModelForImageTextToText if vision else AutoModelForCausalLM
        self._model = model_class.from_pretrained(path, local_files_only=True).to(self.device).eval()
        self.model_type = str(config.model_type)

    # -- planning -------------------------------------------------------------------------------------
    def plan(self, instruction: str, scene: PerceivedScene, skills: Any, robot: Any = None,
             image: Optional[np.ndarray] = None) -> PlanResult:
        problem = check_instruction(instruction, self.max_chars) or check_scene(scene)
        if problem:
            return PlanResult.failure(problem, self.name)
        catalog, state = SkillCatalog.of(skills), as_state(robot)
        if not catalog.names(state.embodiment):
            return PlanResult.failure(f'no skills for a robot of embodiment {state.embodiment!r}', self.name)
        self.load()
        parse = EmbeddedPlanner(max_chars=self.max_chars).plan(instruction, scene, catalog, state)
        hints = parse.steps if parse.ok else []
        notes = [f'embedded parse: {parse.plan.describe() if parse.ok else parse.reason}']
        chosen: List[Step] = []
        current, following = state, parse.ok  # following: every step so far was the parse's
        for _ in range(self.max_steps):
            expected = hints[len(chosen)] if following and len(chosen) < len(hints) else None
            options = next_steps(catalog, scene, current, hints=[expected] if expected is not None else [])
            prompt = self._prompt(instruction, scene, catalog, current, chosen, with_image=image is not None)
            step = self._choose(prompt, options, expected, following and expected is None, image)
            if step is None:
                break
            chosen.append(step)
            current = apply(step, current)
            following = following and expected is not None and key(step) == key(expected)
        if not chosen:
            return PlanResult.failure('the model chose to do nothing' + ('' if parse.ok else f' ({parse.reason})'),
                                      self.name, notes)
        return finalize(chosen, scene, state, catalog, instruction=instruction, planner=self.name, notes=notes,
                        min_feasibility=self.min_feasibility)

    def _choose(self, prompt: str, options: List[Step], expected: Optional[Step], expect_done: bool,
                image: Optional[np.ndarray]) -> Optional[Step]:
        """The next step by softmax(log-likelihood + prior) x feasibility, or None for "done"."""
        lines = [step_text(o) for o in options] + [DONE]
        prior = np.zeros(len(lines))
        keys = [key(o) for o in options]
        if expected is not None and key(expected) in keys:
            prior[keys.index(key(expected))] = self.embedded_prior
        elif expect_done:
            prior[-1] = self.embedded_prior  # the parse is complete
        logits = self._loglik(prompt, lines, image) + prior
        probability = np.exp(logits - logits.max())
        probability /= probability.sum()
        value = probability * np.array([o.feasibility for o in options] + [1.0])
        best = int(np.argmax(value))
        if best == len(options):
            return None
        step = options[best]
        step.confidence, step.source = float(probability[best]), 'vlm'
        return step

    def _prompt(self, instruction: str, scene: PerceivedScene, catalog: SkillCatalog, state: RobotState,
                chosen: Sequence[Step], with_image: bool = False) -> str:
        system = f'{SYSTEM}\nSkills:\n{skills_text(catalog, state.embodiment)}\n{INSTRUCTIONS}'
        user = user_text(instruction, scene, state)
        history = ''.join(step_text(s) + '\n' for s in chosen)
        template = getattr(self._processor or self._tokenizer, 'chat_template', None)
        if not template:
            return f'{system}\n\n{user}\nPlan:\n{history}'
        content: List[Dict[str, str]] = [{'type': 'text', 'text': user}]
        if self._processor is not None and with_image:
            content.insert(0, {'type': 'image'})
        messages = [{'role': 'system', 'content': [{'type': 'text', 'text': system}]},
                    {'role': 'user', 'content': content}]
        owner = self._processor or self._tokenizer
        return owner.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) + history

    def _loglik(self, prompt: str, lines: Sequence[str], image: Optional[np.ndarray]) -> np.ndarray:
        """Mean log-probability per token of each line (with its newline) after ``prompt``.

        The prompt (and image) is encoded once; its key-value cache is copied for each batch of lines.
        """
        import torch

        if self._processor is not None and image is not None:
            inputs = self._processor(text=[prompt], images=[np.asarray(image)], return_tensors='pt')
        else:
            inputs = self._tokenizer([prompt], return_tensors='pt')
        inputs = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in dict(inputs).items()}
        length = int(inputs['input_ids'].shape[1])
        with torch.inference_mode():
            out = self._model(**inputs, use_cache=True, logits_to_keep=1)
        cache, first = out.past_key_values, torch.log_softmax(out.logits[0, -1].float(), dim=-1).cpu()
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        scores = np.full(len(lines), -math.inf)
        for start in range(0, len(lines), self.batch_size):
            chunk = [self._tokenizer(line + '\n', add_special_tokens=False)['input_ids'] for line in
                     lines[start:start + self.batch_size]]
            rows, width = len(chunk), max(len(c) for c in chunk)
            ids = torch.full((rows, width), pad, dtype=torch.long)
            mask = torch.zeros((rows, length + width), dtype=torch.long)
            mask[:, :length] = 1
            for r, tokens in enumerate(chunk):
                ids[r, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
                mask[r, length:length + len(tokens)] = 1
            batch_cache = copy.deepcopy(cache)
            batch_cache.batch_repeat_interleave(rows)
            with torch.inference_mode():
                logits = self._model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                     past_key_values=batch_cache, use_cache=True).logits
            logp = torch.log_softmax(logits.float(), dim=-1).cpu()  # position j predicts token j + 1
            for r, tokens in enumerate(chunk):
                if tokens:
                    rest = logp[r, torch.arange(len(tokens) - 1), torch.tensor(tokens[1:], dtype=torch.long)]
                    scores[start + r] = float((first[tokens[0]] + rest.sum()) / len(tokens))
        return scores
