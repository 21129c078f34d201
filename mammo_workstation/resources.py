"""Locations of the bundled resources (the demo exam, icons) in a checkout or a frozen app."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the ``resources`` folder: ``MAMMO_WORKSTATION_RESOURCES``, the frozen bundle, or the checkout."""
    override = os.environ.get("MAMMO_WORKSTATION_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def demo_exam_dir() -> Path:
    """Return the folder of the bundled demo exam: DEMO-0001, a current exam with its prior."""
    return resources_dir() / "demo" / "DEMO-0001"
