"""Optional model backends: point parsers, 3D lifting, weight lookup, and the model paths end to end.

The end-to-end tests build tiny randomly initialised models here (an OWLv2 detector and a
Qwen2.5-VL pointer, each with a byte-level BPE tokenizer trained on a few sentences), save
them to a temporary directory and load them the way a node does: they prove shapes,
parsing and lifting, not accuracy.  Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skill_stack.perception.grounding import ground
from skill_stack.perception.models import (
    Detection,
    ModelBackendsConfig,
    ModelNotFoundError,
    OpenVocabularyDetector,
    PointingModel,
    detections_to_objects,
    lift_detection,
    lift_pixel,
    lift_point,
    load_backends,
    parse_json_points,
    parse_molmo_points,
    parse_points,
    resolve_model_path,
)
from skill_stack.perception.models.detector import non_max_suppression
from skill_stack.perception.models.lifting import back_project, lift_box
from skill_stack.perception.types import CameraModel, PerceivedScene

# -- a camera 1 m above the table looking straight down, image top towards +x ---------------------

WIDTH, HEIGHT, F = 160, 120, 150.0
POSE = np.eye(4)
POSE[:3, :3] = [[0, -1, 0], [-1, 0, 0], [0, 0, -1]]  # optical z down, image right = world -y, image down = -x
POSE[:3, 3] = [0.5, 0.0, 1.0]
CAMERA = CameraModel(fx=F, fy=F, cx=(WIDTH - 1) / 2, cy=(HEIGHT - 1) / 2, width=WIDTH, height=HEIGHT,
                     world_from_camera=POSE)
# A red 10 cm cube on the grey table, centred at (0.5, 0.05).
CUBE_CENTER, CUBE_SIZE = np.array([0.5, 0.05, 0.05]), 0.1


def render():
    """Depth and colour of the table with the cube, by casting each pixel's ray onto the cube's top face."""
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(float)
    top = 1.0 - CUBE_SIZE  # depth of the top face
    x = 0.5 - (v - CAMERA.cy) / F * top
    y = -(u - CAMERA.cx) / F * top
    on_cube = (np.abs(x - CUBE_CENTER[0]) <= CUBE_SIZE / 2) & (np.abs(y - CUBE_CENTER[1]) <= CUBE_SIZE / 2)
    depth = np.where(on_cube, top, 1.0).astype(np.float32)
    rgb = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    rgb[on_cube] = (200, 30, 30)
    return rgb, depth, on_cube


def cube_box():
    _, _, mask = render()
    rows, cols = np.nonzero(mask)
    return (cols.min() - 3.0, rows.min() - 3.0, cols.max() + 4.0, rows.max() + 4.0)


# -- parsers ----------------------------------------------------------------------------------------

def test_molmo_points_are_percent_of_the_image():
    text = 'Sure. <point x="61.5" y="40.2" alt="rim of the bowl">rim of the bowl</point>'
    [point] = parse_molmo_points(text, 640, 480)
    assert (point.u, point.v) == pytest.approx((0.615 * 640, 0.402 * 480))
    assert point.label == 'rim of the bowl'


def test_molmo_multi_points_and_molmo2_coords():
    text = '<points x1="10.0" y1="20.0" x2="30.5" y2="40.0" alt="handles">handles</points>'
    assert [(p.u, p.v) for p in parse_molmo_points(text, 200, 100)] == [(20.0, 20.0), (61.0, 40.0)]
    molmo2 = '<points coords="1 1 250 500 2 750 100">cups</points>'
    points = parse_molmo_points(molmo2, 400, 200)
    assert [(p.u, p.v, p.label) for p in points] == [(100.0, 100.0, 'cups'), (300.0, 20.0, 'cups')]


def test_molmo_points_off_the_image_or_malformed_are_dropped():
    assert parse_molmo_points('<point x="140" y="20" alt="x">x</point>', 100, 100) == []
    assert parse_molmo_points('<point x="abc" y="20">x</point>', 100, 100) == []
    assert parse_molmo_points('I cannot see a bowl.', 100, 100) == []


@pytest.mark.parametrize('text', [
    '```json\n[\n  {"point_2d": [120, 45], "label": "rim"}\n]\n```',
    '[{"point_2d": [120, 45], "label": "rim"}]',
    'The rim is here: {"point_2d": [120, 45], "label": "rim"}',
    "[{'point_2d': [120, 45], 'label': 'rim'}]",  # single quotes: not JSON, read field by field
    '```json\n[{"point_2d": [120, 45], "label": "rim"}, {"point_2d": [1',  # cut off by the token limit
    '[{"bbox_2d": [110, 40, 130, 50], "label": "rim"}]',  # a box: its centre
])
def test_qwen_json_points_in_their_many_shapes(text):
    [point] = parse_json_points(text, 200, 100)
    assert (point.u, point.v) == pytest.approx((120.0, 45.0))
    assert point.label == 'rim'


def test_json_points_scale_and_bounds():
    text = '[{"point_2d": [500, 250]}, {"point_2d": [1500, 10]}]'  # thousandths (Qwen3-VL); the second is off
    points = parse_json_points(text, 640, 480, x_scale=640 / 1000, y_scale=480 / 1000)
    assert [(p.u, p.v) for p in points] == [(320.0, 120.0)]
    assert parse_json_points('[[10, 20], [30, 40]]', 100, 100)[1].u == 30.0
    assert parse_json_points('no points here', 100, 100) == []
    assert parse_json_points('', 100, 100) == []


def test_parse_points_reads_either_format():
    assert parse_points('<point x="50" y="50" alt="a">a</point>', 100, 100)[0].u == 50.0
    assert parse_points('[{"point_2d": [7, 8]}]', 100, 100, x_scale=2.0, y_scale=3.0)[0].v == 24.0


# -- lifting ----------------------------------------------------------------------------------------

def test_back_projection_matches_the_camera_geometry():
    centre = back_project(CAMERA, [CAMERA.cx], [CAMERA.cy], [1.0])[0]
    np.testing.assert_allclose(centre, [0.5, 0.0, 0.0], atol=1e-12)  # straight down onto the table
    right = back_project(CAMERA, [CAMERA.cx + F], [CAMERA.cy], [1.0])[0]
    np.testing.assert_allclose(right, [0.5, -1.0, 0.0], atol=1e-12)  # image right is world -y


def test_lift_point_uses_window_depth_and_refuses_holes():
    _, depth, _ = render()
    u, v = CAMERA.cx, CAMERA.cy
    np.testing.assert_allclose(lift_pixel(u, v, depth, CAMERA), [0.5, 0.0, 0.0], atol=1e-6)
    holed = depth.copy()
    holed[59:62, 78:82] = np.nan  # one invalid pixel is covered by its neighbours
    holed[60, 80] = 0.0
    assert lift_pixel(u, v, holed, CAMERA, radius=3) is not None
    holed[50:70, 70:90] = 0.0
    assert lift_pixel(u, v, holed, CAMERA) is None
    keypoint = lift_point(70.0, 55.0, depth, CAMERA, name='rim', confidence=0.6)
    assert keypoint.name == 'rim'
    assert keypoint.pixel == (70, 55)
    assert keypoint.confidence == 0.6
    assert keypoint.position[2] == pytest.approx(0.1, abs=1e-6)  # on the cube's top face
    assert lift_point(-5.0, 10.0, depth, CAMERA, name='x') is None  # off the image


def test_lifting_refuses_mismatched_or_invalid_inputs():
    _, depth, _ = render()
    with pytest.raises(ValueError, match='depth image is 160x60'):
        lift_pixel(10, 10, depth[:60], CAMERA)
    bad = CameraModel(fx=0.0, fy=F, cx=1, cy=1, width=WIDTH, height=HEIGHT, world_from_camera=POSE)
    with pytest.raises(ValueError, match='intrinsics'):
        lift_pixel(10, 10, depth, bad)


@pytest.mark.parametrize('support', [None, 0.0])
def test_a_box_lifts_to_the_object_inside_it(support):
    _, depth, _ = render()
    center, extent, points, _ = lift_box(cube_box(), depth, CAMERA, support_height=support)
    np.testing.assert_allclose(center[:2], CUBE_CENTER[:2], atol=0.01)
    np.testing.assert_allclose(extent[:2], [CUBE_SIZE, CUBE_SIZE], atol=0.012)
    assert len(points) > 100
    if support is not None:  # resting on the table: from the table to the top face seen
        assert center[2] == pytest.approx(CUBE_CENTER[2], abs=0.005)
        assert extent[2] == pytest.approx(CUBE_SIZE, abs=0.005)
    else:  # only the top face is visible from above
        assert center[2] == pytest.approx(CUBE_SIZE, abs=0.005)


def test_a_detection_lifts_to_a_coloured_object_with_keypoints():
    rgb, depth, _ = render()
    obj = lift_detection('a mug', 0.7, cube_box(), rgb, depth, CAMERA, object_id='det_0', support_height=0.0)
    assert obj.id == 'det_0'
    assert obj.label == 'a mug'
    assert obj.color == 'red'
    assert obj.confidence == 0.7
    np.testing.assert_allclose(obj.position, CUBE_CENTER, atol=0.01)
    assert obj.keypoint('top').position[2] == pytest.approx(CUBE_SIZE, abs=0.005)
    assert obj.keypoint('center').pixel is not None
    assert obj.bbox is not None
    empty = np.zeros_like(depth)
    assert lift_detection('x', 0.5, cube_box(), rgb, empty, CAMERA, object_id='d') is None
    with pytest.raises(ValueError, match='colour image'):
        lift_detection('x', 0.5, cube_box(), rgb[:10], depth, CAMERA, object_id='d')


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes_per_label():
    boxes = [Detection('mug', 0.5, (0, 0, 10, 10)), Detection('mug', 0.9, (1, 1, 11, 11)),
             Detection('cup', 0.4, (1, 1, 11, 11)), Detection('mug', 0.3, (50, 50, 60, 60))]
    kept = non_max_suppression(boxes, 0.5)
    assert [(d.label, d.score) for d in kept] == [('mug', 0.9), ('cup', 0.4), ('mug', 0.3)]


# -- weights lookup and configuration -----------------------------------------------------------------

def test_model_modules_import_no_framework():
    """Selecting no model must not cost torch's or transformers' import (seconds) or need them to work."""
    code = ('import sys, skill_stack.perception.models, skill_stack.perception.grounding; '
            "sys.exit(int('transformers' in sys.modules or 'torch' in sys.modules))")
    result = subprocess.run([sys.executable, '-c', code], env=dict(os.environ), capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def test_missing_weights_give_a_clear_error(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path / 'hub'))
    with pytest.raises(ModelNotFoundError, match='no model given'):
        resolve_model_path('')
    with pytest.raises(ModelNotFoundError, match=str(tmp_path / 'nowhere')):
        resolve_model_path(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ModelNotFoundError, match='no config.json'):
        resolve_model_path(str(tmp_path / 'empty'))
    with pytest.raises(ModelNotFoundError, match='hf download google/owlv2-base-patch16') as info:
        resolve_model_path('google/owlv2-base-patch16')
    assert str(tmp_path / 'hub') in str(info.value)


def test_a_repo_id_resolves_from_the_hugging_face_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants

    cache = tmp_path / 'hub'
    snapshot = cache / 'models--org--tiny' / 'snapshots' / ('a' * 40)
    snapshot.mkdir(parents=True)
    (snapshot / 'config.json').write_text('{}')
    (cache / 'models--org--tiny' / 'refs').mkdir()
    (cache / 'models--org--tiny' / 'refs' / 'main').write_text('a' * 40)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(cache))
    assert resolve_model_path('org/tiny') == snapshot


def test_a_missing_image_backend_is_named_at_load(tmp_path, monkeypatch):
    import importlib.util

    (tmp_path / 'config.json').write_text('{}')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name in ('PIL', 'torchvision') else real(name, *a))
    with pytest.raises(ImportError, match='need Pillow'):
        OpenVocabularyDetector(str(tmp_path)).load()
    with pytest.raises(ImportError, match='need Pillow'):
        PointingModel(str(tmp_path)).load()


def test_backend_configuration_is_validated():
    assert ModelBackendsConfig().validate() is None
    assert load_backends(ModelBackendsConfig()) == (None, None)
    assert 'models.detector must be one of' in ModelBackendsConfig(detector='yolo').validate()
    assert 'detector_model is empty' in ModelBackendsConfig(detector='owlv2').validate()
    assert 'pointer_prompt' in ModelBackendsConfig(pointer='molmo', pointer_model='x', pointer_prompt='hi').validate()
    assert 'models.device' in ModelBackendsConfig(device='gpu').validate()
    with pytest.raises(ValueError, match='models.pointer must be one of'):
        load_backends(ModelBackendsConfig(pointer='gpt'))
    with pytest.raises(ModelNotFoundError, match='/no/such/model'):
        load_backends(ModelBackendsConfig(detector='owlv2', detector_model='/no/such/model'))
    with pytest.raises(ValueError, match='prompt must contain'):
        PointingModel('x', prompt='Where is it?')


# -- tiny models, end to end ---------------------------------------------------------------------------

def _tokenizer(special_tokens, corpus, **kwargs):
    """A byte-level BPE tokenizer trained on ``corpus``: encodes any text, like the real ones, but tiny."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=special_tokens[0]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=list(special_tokens),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    return tok, PreTrainedTokenizerFast(tokenizer_object=tok, **{'unk_token': special_tokens[0], **kwargs})


@pytest.fixture(scope='module')
def tiny_owlv2(tmp_path_factory):
    pytest.importorskip('PIL', reason='transformers image processors need Pillow (add pillow to requirements)')
    import torch
    from tokenizers import processors
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessorPil, Owlv2Processor

    # OWLv2 treats a query whose first token id is 0 as padding, so <unk> takes id 0, not the BOS.
    tok, _ = _tokenizer(['<unk>', '<|startoftext|>', '<|endoftext|>'], ['a photo of a mug', 'a red cube', 'banana'])
    bos, eos = tok.token_to_id('<|startoftext|>'), tok.token_to_id('<|endoftext|>')
    tok.post_processor = processors.TemplateProcessing(
        single='<|startoftext|> $A <|endoftext|>', special_tokens=[('<|startoftext|>', bos), ('<|endoftext|>', eos)])
    from transformers import PreTrainedTokenizerFast

    roles = {'unk_token': '<unk>', 'bos_token': '<|startoftext|>', 'eos_token': '<|endoftext|>',
             'pad_token': '<|endoftext|>'}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=16, **roles)
    processor = Owlv2Processor(image_processor=Owlv2ImageProcessorPil(size={'height': 64, 'width': 64}),
                               tokenizer=tokenizer)
    small = {'hidden_size': 32, 'intermediate_size': 37, 'num_hidden_layers': 2, 'num_attention_heads': 4}
    config = Owlv2Config(text_config={**small, 'vocab_size': len(tokenizer), 'max_position_embeddings': 16,
                                      'bos_token_id': bos, 'eos_token_id': eos, 'pad_token_id': eos},
                         vision_config={**small, 'image_size': 64, 'patch_size': 16}, projection_dim=32)
    torch.manual_seed(0)
    model = Owlv2ForObjectDetection(config)
    with torch.no_grad():  # random box-head weights saturate the boxes to zero width; a trained head stays
        for weight in model.box_head.parameters():  # near each patch's prior box, so scale it down
            weight.mul_(0.01)
    path = tmp_path_factory.mktemp('owlv2')
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_tiny_owlv2_detects_in_image_pixels_and_lifts_to_3d(tiny_owlv2):
    import torch

    rgb, depth, _ = render()
    queries = ['a mug', 'a banana']
    detector = OpenVocabularyDetector(str(tiny_owlv2), threshold=0.0, nms_iou=1.0)
    assert not detector.loaded
    detections = detector.detect(rgb, queries)
    assert detector.loaded
    assert detector.model_type == 'owlv2'
    assert detections
    assert all(d.label in queries and 0.0 <= d.score <= 1.0 for d in detections)
    assert [d.score for d in detections] == sorted((d.score for d in detections), reverse=True)
    for d in detections:
        u0, v0, u1, v1 = d.box
        assert 0 <= u0 < u1 <= WIDTH
        assert 0 <= v0 < v1 <= HEIGHT

    # The processor pads the 160x120 image to a square at the bottom before resizing: rows past
    # 120/160 of the model input are padding.  Box fractions are therefore of the 160-pixel square.
    inputs = detector._processor(text=[queries], images=rgb, return_tensors='pt')
    pixels = inputs['pixel_values'][0]
    assert float(pixels[:, 50:, :].std(dim=(1, 2)).max()) < 1e-5  # each channel constant in the padding
    assert float(pixels[:, :40, :].std(dim=(1, 2)).min()) > 1e-3
    with torch.inference_mode():
        out = detector._model(**inputs)
    scores = torch.sigmoid(out.logits[0].max(dim=-1).values)
    expected = []
    for i in np.argsort(-scores.numpy(), kind='stable'):
        cx, cy, w, h = (float(v) * WIDTH for v in out.pred_boxes[0, i])
        box = (np.clip(cx - w / 2, 0, WIDTH), np.clip(cy - h / 2, 0, HEIGHT),
               np.clip(cx + w / 2, 0, WIDTH), np.clip(cy + h / 2, 0, HEIGHT))
        if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:  # boxes in the padding have no height left
            expected.append((queries[int(out.logits[0, i].argmax())], box))
    assert len(expected) < len(scores)  # some boxes fell in the padding, so clipping was exercised
    assert [d.label for d in detections] == [label for label, _ in expected]
    np.testing.assert_allclose([d.box for d in detections], [box for _, box in expected], atol=1e-3)

    objects = detections_to_objects(detections, rgb, depth, CAMERA, support_height=0.0)
    assert objects
    assert [o.id for o in objects] == [f'det_{i}' for i in range(len(objects))]
    for obj in objects:
        assert np.all(np.isfinite(obj.position))
        assert 0.0 <= obj.position[2] <= CUBE_SIZE + 1e-6
    # Detector labels are open vocabulary: grounding finds them by word.
    answer = ground('the mug', PerceivedScene(objects=objects))
    assert answer.status in ('matched', 'ambiguous')
    assert all(o.label == 'a mug' for o in answer.objects)
    assert detector.detect(rgb, ['  ', '']) == []
    with pytest.raises(ValueError, match='RGB image'):
        detector.detect(depth, queries)


def test_load_backends_checks_the_model_family(tiny_owlv2):
    detector, pointer = load_backends(ModelBackendsConfig(detector='owlv2', detector_model=str(tiny_owlv2)))
    assert detector.loaded
    assert pointer is None
    with pytest.raises(ValueError, match="holds a 'owlv2' model"):
        load_backends(ModelBackendsConfig(detector='grounding_dino', detector_model=str(tiny_owlv2)))


_QWEN_SPECIALS = ['<unk>', '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>',
                  '<|image_pad|>', '<|video_pad|>']
_QWEN_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for c in m['content'] %}"
                  "{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ c['text'] }}"
                  "{% endif %}{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
                  "{% endif %}")


@pytest.fixture(scope='module')
def tiny_qwen(tmp_path_factory):
    pytest.importorskip('PIL', reason='transformers image processors need Pillow (add pillow to requirements)')
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    roles = {'eos_token': '<|im_end|>', 'pad_token': '<|endoftext|>'}
    _, tokenizer = _tokenizer(_QWEN_SPECIALS, ['[{"point_2d": [12, 34], "label": "rim"}]', 'Point to the rim.'],
                              **roles)
    tokenizer.chat_template = _QWEN_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _QWEN_SPECIALS}
    config = Qwen2_5_VLConfig(
        text_config={'vocab_size': len(tokenizer), 'hidden_size': 32, 'intermediate_size': 64, 'num_hidden_layers': 1,
                     'num_attention_heads': 4, 'num_key_value_heads': 2, 'max_position_embeddings': 512,
                     'rope_scaling': {'type': 'mrope', 'mrope_section': [2, 1, 1]},
                     'bos_token_id': ids['<|endoftext|>'], 'eos_token_id': ids['<|im_end|>'],
                     'pad_token_id': ids['<|endoftext|>']},
        vision_config={'depth': 1, 'hidden_size': 32, 'intermediate_size': 64, 'num_heads': 4, 'out_hidden_size': 32,
                       'patch_size': 14, 'spatial_merge_size': 2, 'temporal_patch_size': 2, 'window_size': 56,
                       'fullatt_block_indexes': [0]},
        image_token_id=ids['<|image_pad|>'], video_token_id=ids['<|video_pad|>'],
        vision_start_token_id=ids['<|vision_start|>'], vision_end_token_id=ids['<|vision_end|>'])
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('qwen')
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 16).save_pretrained(path)
    return path, tokenizer


def _forcing(tokenizer, answer):
    """A logits processor that makes a random model write ``answer``: decoding is tested, not the model."""
    import torch
    from transformers import LogitsProcessor

    target = [*tokenizer.encode(answer), tokenizer.eos_token_id]

    class Force(LogitsProcessor):
        start = None

        def __call__(self, input_ids, scores):
            self.start = input_ids.shape[1] if self.start is None else self.start
            step = min(input_ids.shape[1] - self.start, len(target) - 1)
            forced = torch.full_like(scores, -float('inf'))
            forced[:, target[step]] = 0.0
            return forced

    return Force()


def test_tiny_qwen_points_and_the_points_lift_to_3d(tiny_qwen):
    from transformers import LogitsProcessorList

    path, tokenizer = tiny_qwen
    rgb, depth, _ = render()
    # 160x120 is resized to multiples of 28 (patch 14 x merge 2) within max_pixels: Qwen2.5-VL
    # answers in pixels of that resized image, so its (x, y) maps back through the resize.
    answer = '[{"point_2d": [42, 28], "label": "rim"}]'
    pointer = PointingModel(str(path), generation_kwargs={
        'logits_processor': LogitsProcessorList([_forcing(tokenizer, answer)])})
    points = pointer.point(rgb, 'rim', 'blue bowl')
    assert pointer.model_type == 'qwen2_5_vl'
    assert pointer.last_answer == answer
    vision = pointer._image_processor(images=[rgb], return_tensors='pt')
    _, grid_h, grid_w = (int(g) for g in vision['image_grid_thw'][0])
    assert (grid_h * 14, grid_w * 14) != (HEIGHT, WIDTH)  # the test exercises the rescaling
    [point] = points
    assert (point.u, point.v) == pytest.approx((42 * WIDTH / (grid_w * 14), 28 * HEIGHT / (grid_h * 14)))
    assert point.label == 'rim'

    pointer.generation_kwargs['logits_processor'] = LogitsProcessorList([_forcing(tokenizer, answer)])
    [keypoint] = pointer.keypoints(rgb, depth, CAMERA, part='rim', obj='blue bowl')
    expected = back_project(CAMERA, [round(point.u)], [round(point.v)], [depth[round(point.v), round(point.u)]])[0]
    np.testing.assert_allclose(keypoint.position, expected, atol=1e-6)
    assert keypoint.name == 'rim'
    assert keypoint.pixel == (round(point.u), round(point.v))


def test_tiny_qwen_free_generation_parses_without_error(tiny_qwen):
    """A random model writes noise; the path must still run and return a (likely empty) list of points."""
    path, _ = tiny_qwen
    pointer = PointingModel(str(path), max_new_tokens=8)
    rgb, _, _ = render()
    points = pointer.point(rgb, 'handle', 'mug')
    assert isinstance(pointer.last_answer, str)
    assert all(0 <= p.u < WIDTH and 0 <= p.v < HEIGHT for p in points)
    assert pointer.prompt('handle', 'mug') == 'Point to the handle of the mug.'


def test_a_pointer_checkpoint_needs_a_chat_template(tiny_qwen, tmp_path):
    path, _ = tiny_qwen
    stripped = tmp_path / 'qwen_no_template'
    stripped.mkdir()
    for item in path.iterdir():
        if item.name == 'chat_template.jinja':
            continue
        data = item.read_bytes()
        if item.name == 'tokenizer_config.json':
            config = json.loads(data)
            config.pop('chat_template', None)
            data = json.dumps(config).encode()
        (stripped / item.name).write_bytes(data)
    with pytest.raises(ValueError, match='no chat template'):
        PointingModel(str(stripped)).load()
