"""Tools drawn over a viewport and fed its mouse events.

A viewport keeps a ``tools`` list; it calls ``paint(painter, viewport)`` on each after drawing
the image and offers mouse events through ``mouse_press``, ``mouse_move`` and
``mouse_release`` (a tool returns True to consume an event). Each ``install_*`` function
creates a tool, appends it to a viewport and returns it, so a key binding can toggle it.
"""

from __future__ import annotations

from typing import Any

from mammo_workstation.gui.tools.distance import DistanceTool
from mammo_workstation.gui.tools.magnifier import MagnifierTool
from mammo_workstation.gui.tools.markers import ForProcessingMarker
from mammo_workstation.gui.tools.overlay_planes import OverlayPlanesTool


def install_distance_tool(viewport: Any, *, correct_magnification: bool = True) -> DistanceTool:
    """Add an inactive distance tool; set ``active`` to measure with the left button."""
    tool = DistanceTool(correct_magnification=correct_magnification)
    viewport.tools.append(tool)
    return tool


def install_magnifier(viewport: Any, *, size: int = 240, zoom: float = 2.0) -> MagnifierTool:
    """Add an inactive magnifier; set ``active`` to show it under the cursor."""
    tool = MagnifierTool(size=size, zoom=zoom)
    viewport.tools.append(tool)
    return tool


def install_overlay_planes(viewport: Any) -> OverlayPlanesTool:
    """Add the 60xx overlay painter, shown by default; ``visible`` hides it."""
    tool = OverlayPlanesTool()
    viewport.tools.insert(0, tool)  # under the measurements and the magnifier
    return tool


def install_for_processing_marker(viewport: Any) -> ForProcessingMarker:
    """Add the FOR PROCESSING banner, drawn whenever the image is a For Processing image."""
    tool = ForProcessingMarker()
    viewport.tools.append(tool)
    return tool


__all__ = [
    "DistanceTool",
    "ForProcessingMarker",
    "MagnifierTool",
    "OverlayPlanesTool",
    "install_distance_tool",
    "install_for_processing_marker",
    "install_magnifier",
    "install_overlay_planes",
]
