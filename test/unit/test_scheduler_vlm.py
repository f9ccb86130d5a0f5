"""The VLM planner with tiny randomly initialised models built here: valid plans whatever the model says.

A text-only Llama and a LLaVA (CLIP vision tower) with a byte-level BPE tokenizer
trained on the prompt's own words, saved to a temporary directory and loaded the
way a node does.  They prove the decoding is constrained and the image path
runs, not that the plans are good.  Nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from test_scheduler_scenes import SCENES, skills

from skill_stack.perception.models.hub import ModelNotFoundError
from skill_stack.scheduler.catalog import SkillCatalog
from skill_stack.scheduler.effects import complete
from skill_stack.scheduler.plan import RobotState
from skill_stack.scheduler.planning import make_planner
from skill_stack.scheduler.prompting import scene_text, skills_text

torch = pytest.importorskip('torch')
torch.set_num_threads(1)
SKILLS = skills()
CATALOG = SkillCatalog(SKILLS)
ROLES = {'unk_token': '<unk>', 'bos_token': '<s>', 'eos_token': '</s>', 'pad_token': '</s>'}
TEMPLATE = ("{% for m in messages %}<s>{{ m['role'] }}: {% for c in m['content'] %}{% if c['type'] == 'image' %}"
            "<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
            "{% if add_generation_prompt %}assistant: {% endif %}")


def _tokenizer():
    """A byte-level BPE tokenizer trained on the prompts' words: encodes any text, prompts in few tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [skills_text(CATALOG, e) for e in SCENES] + [scene_text(s()) for s in SCENES.values()]
    corpus += ['pick(object=obj_0)', 'place(object=obj_0, target=obj_3)', 'done', 'Instruction: put the red cube']
    tok = Tokenizer(models.BPE(unk_token=ROLES['unk_token']))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=[*dict.fromkeys(ROLES.values()), '<image>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, **ROLES)
    tokenizer.chat_template = TEMPLATE
    return tokenizer


def _text_config(tokenizer):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                       pad_token_id=tokenizer.pad_token_id, bos_token_id=1, eos_token_id=2)


@pytest.fixture(scope='module')
def tiny_llama(tmp_path_factory):
    from transformers import LlamaForCausalLM

    tokenizer = _tokenizer()
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('llama')
    LlamaForCausalLM(_text_config(tokenizer)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope='module')
def tiny_llava(tmp_path_factory):
    pytest.importorskip('PIL', reason='image processors need Pillow')
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = _tokenizer()
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=16, projection_dim=16)
    config = LlavaConfig(vision_config=vision, text_config=_text_config(tokenizer),
                         image_token_index=tokenizer.convert_tokens_to_ids('<image>'),
                         vision_feature_select_strategy='default', vision_feature_layer=-1)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('llava')
    LlavaForConditionalGeneration(config).save_pretrained(path)
    images = CLIPImageProcessorPil(size={'shortest_edge': 32}, crop_size={'height': 32, 'width': 32})
    LlavaProcessor(image_processor=images, tokenizer=tokenizer, patch_size=16, vision_feature_select_strategy='default',
                   num_additional_image_tokens=1, chat_template=TEMPLATE).save_pretrained(path)
    return str(path)


def _assert_valid(result, robot: RobotState):
    """A plan the robot can run as it is: valid arguments, its own skills, known objects, nothing implicit missing."""
    assert result.ok or result.reason
    if not result.ok:
        return
    ids = {o.id for o in SCENES[robot.embodiment]().objects}
    for step in result.steps:
        assert SKILLS[step.skill].embodiment == robot.embodiment
        SKILLS[step.skill].validate(step.args)
        assert {step.args[a.name] for a in CATALOG.object_args(step.skill) if step.args.get(a.name)} <= ids
        assert 0.0 < step.confidence <= 1.0
        assert step.score == pytest.approx(step.confidence * step.feasibility)
    completed, error, _, _ = complete(result.steps, robot, CATALOG)
    assert not error
    assert [s.skill for s in completed] == [s.skill for s in result.steps]  # preconditions already met


CASES = [('put the red cube in the blue bowl', RobotState('arm')), ('push the ball left', RobotState('arm')),
         ('grab the red cube and turn it 45 degrees', RobotState('hand')),
         ('fly to the red pad and land', RobotState('quadrotor')),
         ('hover', RobotState('quadrotor', airborne=True)), ('qwertz uiop', RobotState('arm'))]


@pytest.mark.parametrize(('instruction', 'robot'), CASES, ids=[c[0] for c in CASES])
def test_a_random_model_yields_only_valid_plans(tiny_llama, instruction, robot):
    planner = make_planner('vlm', model=tiny_llama, embedded_prior=0.0, max_steps=4)
    result = planner.plan(instruction, SCENES[robot.embodiment](), SKILLS, robot)
    assert result.planner == 'vlm'
    _assert_valid(result, robot)


def test_the_embedded_parse_guides_the_model(tiny_llama):
    robot = RobotState('arm')
    planner = make_planner('vlm', model=tiny_llama, embedded_prior=30.0)
    instruction = 'pick up the red cube and put it in the blue bowl'
    result = planner.plan(instruction, SCENES['arm'](), SKILLS, robot)
    expected = make_planner().plan(instruction, SCENES['arm'](), SKILLS, robot)
    assert [(s.skill, s.args) for s in result.steps] == [(s.skill, s.args) for s in expected.steps]
    assert all(s.confidence > 0.9 for s in result.steps)
    assert 'embedded parse' in result.notes[0]
    _assert_valid(result, robot)


def test_a_vision_language_model_scores_with_the_image(tiny_llava):
    planner = make_planner('vlm', model=tiny_llava, embedded_prior=30.0, batch_size=4)
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    result = planner.plan('put the red cube in the blue bowl', SCENES['arm'](), SKILLS, RobotState('arm'), image=image)
    assert planner.model_type == 'llava'
    _assert_valid(result, RobotState('arm'))
    assert [s.skill for s in result.steps] == ['pick', 'place']
    prompt = planner._prompt('pick up the ball', SCENES['arm'](), CATALOG, RobotState('arm'), [], with_image=True)
    assert prompt.count('<image>') == 1
    lines = ['pick(object=obj_2)', 'done']
    with_image = planner._loglik(prompt, lines, image)
    other = planner._loglik(prompt, lines, 255 - image)
    assert np.all(np.isfinite(with_image))
    assert np.abs(with_image - other).max() > 1e-7  # the pixels reach the language model
    blind = planner.plan('pick up the ball', SCENES['arm'](), SKILLS, RobotState('arm'))  # no camera image
    assert [s.skill for s in blind.steps] == ['pick']


def test_bad_input_fails_before_any_model_is_loaded(tiny_llama):
    planner = make_planner('vlm', model=tiny_llama)
    assert 'empty' in planner.plan('  ', SCENES['arm'](), SKILLS, 'arm').reason
    assert 'characters' in planner.plan('x' * 5000, SCENES['arm'](), SKILLS, 'arm').reason
    assert not planner.loaded


def test_a_missing_model_is_named():
    with pytest.raises(ValueError, match='needs a model'):
        make_planner('vlm', model='')
    with pytest.raises(ModelNotFoundError, match='/no/such/model'):
        make_planner('vlm', model='/no/such/model').load()
    with pytest.raises(ValueError, match='planner must be one of'):
        make_planner('gpt')


def test_model_frameworks_are_imported_only_when_a_model_planner_is_selected():
    code = ('import sys; from skill_stack.scheduler import make_planner, RobotState; '
            'make_planner("embedded"); make_planner("http", base_url="http://localhost:1/v1", model="m"); '
            'make_planner("vlm", model="/no/such/model"); '
            "sys.exit(int('torch' in sys.modules or 'transformers' in sys.modules))")
    result = subprocess.run([sys.executable, '-c', code], env=dict(os.environ), capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
