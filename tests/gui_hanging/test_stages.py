"""The reading view steps through protocol stages, syncs pan and zoom, and scrolls stacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.conftest import DEMO_CURRENT, DEMO_DIR, DEMO_PRIOR, data_path


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _action(view, key: Qt.Key) -> QAction:
    found = [a for a in view.actions_for_menu if QKeySequence(key) in a.shortcuts()]
    assert len(found) == 1, f"one action for {key}"
    assert found[0].shortcutContext() is Qt.ShortcutContext.WindowShortcut
    return found[0]


def _open(window, qtbot, path: Path):
    view = window.reading_view
    with qtbot.waitSignal(view.protocol_chosen, timeout=60_000) as chosen, \
            qtbot.waitSignal(view.all_loaded, timeout=120_000):
        window.open_paths([path])
    return view, chosen.args[0]


def _wheel(widget, steps: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    anchor = QPointF(100.0, 100.0)
    event = QWheelEvent(anchor, widget.mapToGlobal(anchor), QPoint(), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


@pytest.fixture
def demo_view(main_window, qtbot):
    view, summary = _open(main_window, qtbot, DEMO_DIR)
    assert summary == view.protocol_summary
    return view


def test_protocol_summary_names_protocol_and_reason(demo_view) -> None:
    assert demo_view.protocol_summary.startswith("Protocol MG screening with prior chosen: score 24")
    assert "prior from 2023-10-30" in demo_view.protocol_summary
    assert demo_view.stage_text() == "MG screening with prior, stage 1 of 7: Current 4-up"
    assert demo_view.viewports[0].overlay_lines["study"][0] == demo_view.stage_text()


def test_stage_actions_step_through_stages(demo_view, qtbot) -> None:
    following, previous = _action(demo_view, Qt.Key.Key_PageDown), _action(demo_view, Qt.Key.Key_PageUp)
    assert QKeySequence(Qt.Key.Key_Space) in following.shortcuts()
    with qtbot.waitSignal(demo_view.all_loaded, timeout=120_000):
        following.trigger()
    assert demo_view.stage_index == 1
    expected = [_uid(DEMO_CURRENT / "RCC.dcm"), _uid(DEMO_CURRENT / "LCC.dcm"),
                _uid(DEMO_PRIOR / "RCC.dcm"), _uid(DEMO_PRIOR / "LCC.dcm")]
    qtbot.waitUntil(lambda: all(v.display_image is not None for v in demo_view.viewports))
    shown = [str(v.display_image.dataset.SOPInstanceUID) for v in demo_view.viewports]
    assert shown == expected
    assert demo_view.viewports[2].overlay_lines["study"] == ["Prior 2023-10-30"]
    with qtbot.waitSignal(demo_view.all_loaded, timeout=120_000):
        previous.trigger()
    assert demo_view.stage_index == 0
    previous.trigger()
    assert demo_view.stage_index == 0, "no stage before the first"


def test_same_size_across_current_and_prior(demo_view, qtbot) -> None:
    with qtbot.waitSignal(demo_view.all_loaded, timeout=120_000):
        demo_view.show_stage(1)
    spacing = [float(v.display_image.dataset.ImagerPixelSpacing[1]) for v in demo_view.viewports]
    assert len(set(spacing)) == 1, "the demo images share one spacing, so equal mm means equal scale"
    scales = [v.camera.scale for v in demo_view.viewports]
    assert scales == pytest.approx([scales[0]] * 4)
    fits = [min(v.viewport_size()[0] / v.displayed_image_size()[0], v.viewport_size()[1] / v.displayed_image_size()[1])
            for v in demo_view.viewports]
    assert scales[0] == pytest.approx(min(fits)), "the largest scale at which every image fits"
    assert max(fits) > min(fits) * 1.01, "plain fitting would have shown them at different sizes"


def test_pan_and_zoom_follow_the_sync_group(demo_view, qtbot) -> None:
    views = demo_view.viewports
    before = [v.camera for v in views]
    qtbot.mousePress(views[0], Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(views[0], QPoint(130, 110))
    qtbot.mouseRelease(views[0], Qt.MouseButton.LeftButton, pos=QPoint(130, 110))
    moved = [(v.camera.offset_x - b.offset_x, v.camera.offset_y - b.offset_y) for v, b in zip(views, before, strict=True)]
    assert moved == [pytest.approx((30, 10)), pytest.approx((-30, 10)), pytest.approx((30, 10)),
                     pytest.approx((-30, 10))], "left images pan mirrored"
    scale = views[3].camera.scale
    _wheel(views[0], 1)
    assert all(v.camera.scale == pytest.approx(scale * 1.15) for v in views)


def test_incomplete_exam_and_extra_stage(main_window, qtbot) -> None:
    folder = data_path("exams", "DEMO-0002", "2025-11-13_screening")
    view, summary = _open(main_window, qtbot, folder)
    assert "MG diagnostic with extra views" in summary
    lmlo = view.viewports[3]
    assert lmlo.display_image is None
    assert lmlo.empty_text == "LMLO\nnot in this study"
    with qtbot.waitSignal(view.all_loaded, timeout=120_000):
        view.next_stage()
    assert [p.spec.label for p in view.placements] == ["SPOT RCC"]
    qtbot.waitUntil(lambda: view.viewports[0].display_image is not None)
    assert str(view.viewports[0].display_image.dataset.SOPInstanceUID) == _uid(folder / "RCC_SPOT.dcm")


def test_stack_scrolls_with_wheel_and_keys(main_window, qtbot) -> None:
    path = data_path("real", "decoding", "pydicom-data", "emri_small.dcm")
    view, summary = _open(main_window, qtbot, path)
    assert "CT and MR stacks" in summary
    stack = view.viewports[0]
    assert stack.overlay_lines["title"][-1] == "Slice 1 / 10"
    _wheel(stack, -1)
    qtbot.waitUntil(lambda: stack.display_image.frame_index == 1)
    assert stack.overlay_lines["title"][-1] == "Slice 2 / 10"
    down = _action(view, Qt.Key.Key_Down)
    assert down.isEnabled()
    down.trigger()
    qtbot.waitUntil(lambda: stack.display_image.frame_index == 2)
    for _ in range(12):
        view.step_slice(0, 1)
    qtbot.waitUntil(lambda: stack.display_image.frame_index == 9)
    assert stack.overlay_lines["title"][-1] == "Slice 10 / 10"
    scale = stack.camera.scale
    _wheel(stack, 1, Qt.KeyboardModifier.ControlModifier)
    assert stack.camera.scale == pytest.approx(scale * 1.15), "Ctrl+wheel zooms a stack"
    assert view.slice_indices[0] == 9


def test_user_protocol_reloads_without_restart(main_window, qtbot, tmp_path, monkeypatch) -> None:
    user = tmp_path / "config"
    (user / "protocols").mkdir(parents=True)
    monkeypatch.setenv("MAMMO_WORKSTATION_CONFIG_DIR", str(user))
    view, summary = _open(main_window, qtbot, DEMO_CURRENT)
    assert "Protocol MG screening chosen" in summary
    with qtbot.waitSignal(view.protocol_chosen, timeout=10_000):
        (user / "protocols" / "mine.toml").write_text(
            'name = "MG screening"\ndescription = "mine"\n[[rules]]\nkind = "modality"\nvalues = ["MG"]\n'
            'required = true\nweight = 10\n[[stages]]\nname = "Only RCC"\nrows = 1\ncolumns = 1\n'
            'viewports = [{ row = 0, column = 0, image = "RCC" }]\n', encoding="utf-8")
    assert view.hanging.protocol.description == "mine"
    assert [p.spec.label for p in view.placements] == ["RCC"]


def test_window_follows_its_sync_group(main_window, qtbot, tmp_path, monkeypatch) -> None:
    user = tmp_path / "config"
    (user / "protocols").mkdir(parents=True)
    (user / "protocols" / "window.toml").write_text(
        'name = "Window pair"\n[[rules]]\nkind = "modality"\nvalues = ["MG"]\nweight = 100\n[[stages]]\nname = "CC pair"\nrows = 1\ncolumns = 3\n'
        'sync_groups = { cc = ["window"] }\nviewports = [\n'
        '  { row = 0, column = 0, image = "RCC", sync_group = "cc" },\n'
        '  { row = 0, column = 1, image = "LCC", sync_group = "cc" },\n'
        '  { row = 0, column = 2, image = "RMLO" },\n]\n', encoding="utf-8")
    monkeypatch.setenv("MAMMO_WORKSTATION_CONFIG_DIR", str(user))
    view, summary = _open(main_window, qtbot, DEMO_CURRENT)
    assert "Protocol Window pair chosen" in summary
    rcc, lcc, rmlo = view.viewports
    unsynced = rmlo.pipeline.window
    window = dataclasses.replace(rcc.pipeline.window, center=12345.0, width=2345.0)
    rcc.set_pipeline(rcc.pipeline.with_window(window))
    assert (lcc.pipeline.window.center, lcc.pipeline.window.width) == (12345.0, 2345.0)
    assert rmlo.pipeline.window == unsynced, "outside the sync group"
    camera = lcc.camera
    qtbot.mousePress(rcc, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(rcc, QPoint(130, 110))
    qtbot.mouseRelease(rcc, Qt.MouseButton.LeftButton, pos=QPoint(130, 110))
    assert lcc.camera == camera, "the group shares the window only"


def test_protocol_menu_switches_protocol(demo_view, qtbot) -> None:
    demo_view._fill_protocol_menu()
    actions = {a.text().split(" (score")[0]: a for a in demo_view.protocol_menu.actions()}
    assert actions["MG screening with prior"].isChecked()
    assert not actions["CT and MR stacks"].isEnabled()
    assert "failed: Modality CT/MR" in actions["CT and MR stacks"].toolTip()
    with qtbot.waitSignal(demo_view.protocol_chosen, timeout=10_000) as chosen:
        actions["MG screening"].trigger()
    assert chosen.args[0].startswith("Protocol MG screening chosen: requested by name")
    assert demo_view.hanging.protocol.name == "MG screening"
