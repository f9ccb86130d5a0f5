"""Colour names for objects, robust to shading, and a colour model of the support surface.

Names come from hue where a pixel has colour at all, and from brightness where
it has none (white, black). Hue and saturation do not change when a surface is
lit more or less, so the shaded side of a red cube stays red; only very dark or
washed-out pixels lose their hue, and those vote for white or black instead.

Thresholds were calibrated on the simulator's rendered objects (8 named
colours, every shape, lit and shaded faces, measured against the renderer's
segmentation) and sit at the midpoints between the measured hues, so
moderately different real paints land on the same names:

    measured hue (deg): red 0, orange 28-34, yellow 52-59, green 131, blue 229, purple 279
    boundaries (deg):   red|orange 14, orange|yellow 44, yellow|green 90,
                        green|blue 180, blue|purple 255, purple|red 320

Measured saturation of every coloured paint was >= 0.72 on lit and shaded
faces alike, the grey table's 0.04, so 0.30 separates hue from no hue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from skill_stack.perception.types import COLOR_NAMES

# Upper hue bound (degrees, exclusive) of each chromatic name, in hue order; red wraps around 0.
HUE_BOUNDS = ((14.0, 'red'), (44.0, 'orange'), (90.0, 'yellow'), (180.0, 'green'), (255.0, 'blue'),
              (320.0, 'purple'), (360.0, 'red'))
MIN_SATURATION = 0.30  # below this a pixel has no reliable hue (grey, white, black, highlights)
MIN_VALUE = 0.18  # below this a pixel is too dark for its hue to mean anything
WHITE_MIN_VALUE = 0.40  # achromatic objects: median brightness above this is white, below black
MIN_CHROMATIC_SHARE = 0.35  # an object is coloured when at least this share of its pixels has a hue
MAX_NAMING_PIXELS = 2000

_INDEX = {name: i for i, name in enumerate(COLOR_NAMES)}
# Lookup from hue in whole degrees (0..359) to a colour index.
_HUE_TO_INDEX = np.empty(360, dtype=np.int16)
_lower = 0
for _upper, _name in HUE_BOUNDS:
    _HUE_TO_INDEX[_lower:int(_upper)] = _INDEX[_name]
    _lower = int(_upper)


def _hsv(rgb_pixels: np.ndarray) -> np.ndarray:
    """(N, 3) float32 hue in degrees, saturation and value in 0..1, from (N, 3) uint8 RGB."""
    pixels = np.ascontiguousarray(rgb_pixels, dtype=np.uint8).reshape(-1, 1, 3)
    if len(pixels) == 0:
        return np.zeros((0, 3), np.float32)
    return cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV).reshape(-1, 3)


def pixel_color_ids(rgb_pixels: np.ndarray) -> np.ndarray:
    """Index into COLOR_NAMES of each pixel's colour (N,), from (N, 3) uint8 RGB."""
    hsv = _hsv(rgb_pixels)
    ids = _HUE_TO_INDEX[np.clip(hsv[:, 0].astype(np.int32), 0, 359)].astype(np.int16)
    achromatic = (hsv[:, 1] < MIN_SATURATION) | (hsv[:, 2] < MIN_VALUE)
    ids[achromatic] = np.where(hsv[achromatic, 2] >= WHITE_MIN_VALUE, _INDEX['white'], _INDEX['black'])
    return ids


@lru_cache(maxsize=1)
def _class_table() -> np.ndarray:
    """Colour class of every RGB colour at 6 bits per channel (256 KiB), built once on first use."""
    levels = (np.arange(64, dtype=np.uint16) * 4 + 2).astype(np.uint8)  # the middle of each bin
    r, g, b = np.meshgrid(levels, levels, levels, indexing='ij')
    hsv = _hsv(np.column_stack([r.ravel(), g.ravel(), b.ravel()]))
    table = (_HUE_TO_INDEX[np.clip(hsv[:, 0].astype(np.int32), 0, 359)] + 1).astype(np.int8)
    table[(hsv[:, 1] < MIN_SATURATION) | (hsv[:, 2] < MIN_VALUE)] = _INDEX['white'] + 1
    table.setflags(write=False)
    return table


def pixel_color_classes(rgb_pixels: np.ndarray) -> np.ndarray:
    """Coarse colour class per pixel (N,) int8: 1 + hue name index for coloured pixels, 1 + white/black else.

    Used to cut segments where the paint changes, on every pixel above the
    table, so it is a table lookup rather than a colour conversion. White and
    black share one class because the shaded faces of a white object are as
    dark as a black one's lit faces.
    """
    pixels = np.asarray(rgb_pixels, np.uint8).reshape(-1, 3) >> 2
    index = (pixels[:, 0].astype(np.int32) << 12) | (pixels[:, 1].astype(np.int32) << 6) | pixels[:, 2]
    return _class_table()[index]


def name_color(rgb_pixels: np.ndarray) -> tuple[str, float]:
    """The colour name of an object from its pixels, and the share of pixels that agree (0..1).

    Coloured pixels vote by hue, weighted by saturation so pale highlights count
    less; an object with too few coloured pixels is white or black by its
    median brightness, since shaded faces of a white object are grey.
    """
    if len(rgb_pixels) > MAX_NAMING_PIXELS:  # an even sample names a colour as well as all of them
        rgb_pixels = rgb_pixels[np.linspace(0, len(rgb_pixels) - 1, MAX_NAMING_PIXELS).astype(int)]
    hsv = _hsv(rgb_pixels)
    if len(hsv) == 0:
        return 'black', 0.0
    chromatic = (hsv[:, 1] >= MIN_SATURATION) & (hsv[:, 2] >= MIN_VALUE)
    share = float(chromatic.mean())
    if share >= MIN_CHROMATIC_SHARE:
        ids = _HUE_TO_INDEX[np.clip(hsv[chromatic, 0].astype(np.int32), 0, 359)]
        votes = np.bincount(ids, weights=hsv[chromatic, 1], minlength=len(COLOR_NAMES))
        best = int(np.argmax(votes))
        return COLOR_NAMES[best], float(votes[best] / votes.sum()) * min(1.0, share / 0.6)
    value = float(np.median(hsv[:, 2]))
    name = 'white' if value >= WHITE_MIN_VALUE else 'black'
    margin = abs(value - WHITE_MIN_VALUE) / max(WHITE_MIN_VALUE, 1.0 - WHITE_MIN_VALUE)
    return name, float(min(1.0, 0.5 + margin)) * (1.0 - share)


@dataclass(frozen=True)
class SurfaceColor:
    """The support surface's colour, to find flat things (pads, mats) that differ from it.

    Distance is the largest per-channel RGB difference: on a whole image that
    is three cheap uint8 operations, and what it must tell apart - a coloured,
    white or black mat from a table or floor - differs in some channel by far
    more than lighting changes the surface. The threshold adapts to the
    surface: a plain grey table gives a tight one, a wood grain or a checkered
    floor a looser one. It comes from the 75th percentile of the surface's own
    spread, not a higher one, because plane inliers also include things flat
    enough to pass as the plane (pads).
    """

    rgb: np.ndarray  # (3,) median colour of the surface, 0..255
    threshold: float  # largest per-channel difference still counted as the surface

    @classmethod
    def fit(cls, rgb_pixels: np.ndarray, min_threshold: float = 30.0, spread_factor: float = 2.5
            ) -> SurfaceColor | None:
        """From pixels known to lie on the surface (plane inliers); None when there are too few."""
        if len(rgb_pixels) < 20:
            return None
        pixels = np.asarray(rgb_pixels, np.float32).reshape(-1, 3)
        centre = np.median(pixels, axis=0)
        spread = float(np.percentile(np.abs(pixels - centre).max(axis=1), 75))
        return cls(rgb=centre, threshold=max(min_threshold, spread_factor * spread))

    def differs(self, rgb_image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Boolean image: pixels whose colour is not the surface's (only inside `mask` when given)."""
        if mask is not None and not mask.any():
            return np.zeros(rgb_image.shape[:2], bool)
        diff = cv2.absdiff(np.ascontiguousarray(rgb_image), (*(float(c) for c in self.rgb), 0.0))
        red, green, blue = cv2.split(diff)
        distinct = cv2.max(cv2.max(red, green), blue) > self.threshold
        return distinct if mask is None else distinct & mask
