"""The Qt binding must not leak or drop references on hot calls."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QWidget


def test_void_calls_keep_none_refcount(qtbot) -> None:
    """A window/level drag calls update() hundreds of times a second; None must survive it.

    PySide6 6.12.0 dropped one reference to None per call returning nothing, which aborts
    Python 3.11 with "none_dealloc" after a few thousand calls.
    """
    widget = QWidget()
    qtbot.addWidget(widget)
    before = sys.getrefcount(None)
    for _ in range(2000):
        widget.update()
    assert abs(sys.getrefcount(None) - before) < 100
