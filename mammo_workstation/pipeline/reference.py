"""Numpy reference implementation of the grayscale pipeline.

This is the definition the GPU shader is tested against, written for clarity: float64 and the
standard's formulas as printed. It is also the software fallback when no OpenGL context can be
made.
"""

from __future__ import annotations

import numpy as np

from mammo_workstation.pipeline.grayscale import (
    DisplayPipeline,
    VOIFunction,
    Window,
    lut_equivalent_window,
)
from mammo_workstation.pipeline.lut import apply_lut


def apply_modality(pipeline: DisplayPipeline, stored: np.ndarray) -> np.ndarray:
    """Modality LUT: the LUT when present, else Rescale Slope and Intercept (PS3.3 C.11.1)."""
    if pipeline.modality_lut is not None:
        return apply_lut(pipeline.modality_lut, stored)
    return np.asarray(stored, dtype=np.float64) * pipeline.rescale_slope + pipeline.rescale_intercept


def apply_window(window: Window, x: np.ndarray) -> np.ndarray:
    """VOI window to [0, 1] by PS3.3 C.11.2.1.2.1 (LINEAR) and C.11.2.1.3 (the others)."""
    c, w = window.center, window.width
    if window.function is VOIFunction.SIGMOID:
        return 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    if window.function is VOIFunction.LINEAR_EXACT:
        y = (x - c) / w + 0.5
        y = np.where(x <= c - w / 2.0, 0.0, y)
        return np.where(x > c + w / 2.0, 1.0, y)
    if w <= 1.0:  # A width of 1 is a threshold at c - 0.5 (the formula divides by w - 1).
        return np.where(x > c - 0.5, 1.0, 0.0)
    y = (x - (c - 0.5)) / (w - 1.0) + 0.5
    y = np.where(x <= c - 0.5 - (w - 1.0) / 2.0, 0.0, y)
    return np.where(x > c - 0.5 + (w - 1.0) / 2.0, 1.0, y)


def apply_voi(pipeline: DisplayPipeline, x: np.ndarray) -> np.ndarray:
    """The one VOI transform of ``pipeline`` (PS3.3 C.11.2.1), output in [0, 1]."""
    if pipeline.window is not None:
        return apply_window(pipeline.window, x)
    if pipeline.voi_lut is not None:
        lut = pipeline.voi_lut
        if pipeline.voi_lut_window is not None:
            # A user's window/level on a VOI LUT moves and stretches the LUT's input axis.
            lut_center, lut_width = lut_equivalent_window(lut)
            center, width = pipeline.voi_lut_window
            x = lut_center + (x - center) * (lut_width / width)
        return apply_lut(lut, x) / lut.output_max
    low, high = pipeline.modality_range()
    return np.clip((x - low) / max(high - low, 1.0), 0.0, 1.0)


def render_float(pipeline: DisplayPipeline, stored: np.ndarray) -> np.ndarray:
    """Stored values to display values in [0, 1]; padding is 0 (black) whatever the polarity."""
    y = apply_voi(pipeline, apply_modality(pipeline, stored))
    if pipeline.invert:
        y = 1.0 - y
    if pipeline.padding is not None:
        low, high = pipeline.padding
        y = np.where((stored >= low) & (stored <= high), 0.0, y)
    return np.clip(y, 0.0, 1.0)


def to_uint8(y: np.ndarray) -> np.ndarray:
    """[0, 1] to 8-bit, rounding to nearest as OpenGL converts float to unsigned normalised."""
    return np.floor(y * 255.0 + 0.5).astype(np.uint8)


def render_uint8(pipeline: DisplayPipeline, stored: np.ndarray) -> np.ndarray:
    return to_uint8(render_float(pipeline, stored))
