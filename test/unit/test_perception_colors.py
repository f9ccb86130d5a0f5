"""Colour naming survives shading; white and black go by brightness; the surface model finds what differs from it."""

import numpy as np
import pytest

from skill_stack.perception.colors import SurfaceColor, name_color, pixel_color_classes, pixel_color_ids
from skill_stack.perception.types import COLOR_NAMES
from skill_stack.sim.scene_file import COLORS

# How much light a face gets: shaded side, half lit, lit, over-exposed.
SHADING = (0.35, 0.6, 1.0, 1.25)


def patch(rgb01, light: float, n: int = 200, seed: int = 0) -> np.ndarray:
    """n pixels of a paint `rgb01` (0..1) under `light`, with a little sensor noise."""
    noise = np.random.default_rng(seed).normal(0.0, 3.0, size=(n, 3))
    return np.clip(np.asarray(rgb01) * light * 255.0 + noise, 0, 255).astype(np.uint8)


# A white thing wholly in deep shade is grey: nothing in its own pixels tells it from dark grey.
CASES = [(name, light) for name in COLORS for light in SHADING if not (name == 'white' and light < 0.5)]


@pytest.mark.parametrize(('name', 'light'), CASES)
def test_scene_colours_are_named_under_any_shading(name, light):
    got, confidence = name_color(patch(COLORS[name], light))
    assert got == name
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize(('rgb', 'name'), [
    ((200, 30, 40), 'red'), ((255, 140, 0), 'orange'), ((240, 220, 60), 'yellow'), ((40, 160, 70), 'green'),
    ((30, 60, 200), 'blue'), ((120, 50, 160), 'purple'), ((235, 235, 230), 'white'), ((25, 25, 30), 'black'),
])
def test_other_paints_land_on_the_nearest_name(rgb, name):
    assert name_color(patch(np.array(rgb) / 255.0, 1.0))[0] == name


def test_a_white_object_with_grey_shaded_faces_is_white_and_a_lit_black_one_black():
    white = np.vstack([patch(COLORS['white'], 1.0, 120), patch(COLORS['white'], 0.4, 80)])
    assert name_color(white)[0] == 'white'
    black = np.vstack([patch(COLORS['black'], 1.0, 100), patch((0.2, 0.2, 0.2), 1.0, 20)])
    assert name_color(black)[0] == 'black'


def test_a_coloured_object_with_a_specular_highlight_keeps_its_colour():
    blue = np.vstack([patch(COLORS['blue'], 1.0, 170), np.full((30, 3), 250, np.uint8)])
    assert name_color(blue)[0] == 'blue'


def test_pixel_ids_and_classes():
    pixels = np.vstack([patch(COLORS[name], 1.0, 1) for name in COLORS])
    assert [COLOR_NAMES[i] for i in pixel_color_ids(pixels)] == list(COLORS)
    classes = pixel_color_classes(pixels)
    names = list(COLORS)
    assert classes[names.index('white')] == classes[names.index('black')]  # one class without hue
    assert len(set(classes.tolist())) == 7


def test_no_pixels_is_a_name_with_no_confidence():
    assert name_color(np.zeros((0, 3), np.uint8))[1] == 0.0


def test_surface_model_finds_a_coloured_and_a_white_mat_on_a_grey_table():
    table = (0.55, 0.55, 0.57)
    image = np.broadcast_to(patch(table, 1.0, 1), (40, 60, 3)).copy()
    image += np.random.default_rng(1).integers(0, 4, size=image.shape, dtype=np.uint8)  # texture
    image[5:15, 5:15] = patch(COLORS['green'], 1.0, 1)
    image[20:30, 30:40] = patch(COLORS['white'], 1.0, 1)
    surface = SurfaceColor.fit(image[30:, :].reshape(-1, 3))
    assert surface is not None
    differs = surface.differs(image)
    assert differs[5:15, 5:15].all()
    assert differs[20:30, 30:40].all()
    assert differs.sum() == 200
    mask = np.zeros(differs.shape, bool)
    mask[:, :20] = True
    assert surface.differs(image, mask).sum() == 100  # only inside the mask
    assert SurfaceColor.fit(image[:1, :5].reshape(-1, 3)) is None  # too few pixels to say
