"""The main window: menus, the reading view, the status bar and the load-problem list."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from mammo_workstation import __version__
from mammo_workstation.dicom.model import LoadProblem, Study, StudyCollection
from mammo_workstation.gui.loading import BackgroundLoader
from mammo_workstation.gui.pacs import install_pacs_menu
from mammo_workstation.gui.reading_view import ReadingView
from mammo_workstation.gui.tools.sizing import show_same_size, show_true_size
from mammo_workstation.settings import Settings

logger = logging.getLogger(__name__)

ATTRIBUTION = (
    "The demo exam contains modified images from CBIS-DDSM: Sawyer-Lee R, Gimenez F, Hoogi A, "
    "Rubin D. Curated Breast Imaging Subset of Digital Database for Screening Mammography "
    "(CBIS-DDSM). The Cancer Imaging Archive, 2016. doi:10.7937/K9/TCIA.2016.7O02S9CY. "
    "Licensed under CC BY 3.0 (creativecommons.org/licenses/by/3.0/). The images were "
    "re-encoded and given new headers; they are test data, not clinical images."
)


class MainWindow(QMainWindow):
    """Opens studies and shows the newest one in the reading view."""

    study_shown = Signal()
    # Study Instance UIDs the reading window starts or stops showing (the current study with
    # the same patient's other studies), for cache eviction protection and prior prefetch.
    studies_opened = Signal(list)
    studies_closed = Signal(list)

    def __init__(self, use_gpu: bool, renderer_note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mammo Workstation")
        self.loader = BackgroundLoader(self)
        self.reading_view = ReadingView(self.loader, use_gpu, self)
        self.setCentralWidget(self.reading_view)
        self.collection = StudyCollection()
        self.current_study: Study | None = None
        self.scan_done = False  # the latest open_paths scan has finished
        self._open_study_uids: list[str] = []
        self._scan_token = 0
        self._problems = QListWidget()
        self._problems_dock = QDockWidget("Files that could not be opened", self)
        self._problems_dock.setWidget(self._problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self._problems_dock)
        self._problems_dock.hide()
        self.loader.scanned.connect(self._on_scanned)
        self.reading_view.image_failed.connect(self._on_image_failed)
        self.reading_view.status_changed.connect(self.statusBar().showMessage)
        self.reading_view.protocol_chosen.connect(self._on_protocol_chosen)
        self._build_menus()
        self.statusBar().showMessage(renderer_note)
        self.renderer_note = renderer_note
        self.protocol_summary = ""

    # -- menus ----------------------------------------------------------------------------

    def _build_menus(self) -> None:
        self._build_file_menu()
        self._build_view_menu()
        self._build_tools_menu()
        install_pacs_menu(self, self.open_paths)
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "&Keyboard and mouse", self._show_help)
        self._add_action(help_menu, "&About", self._show_about)

    def _build_file_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_key = QKeySequence.StandardKey.Open
        self._add_action(file_menu, "&Open Files or DICOMDIR…", self._open_files_dialog, open_key)
        self._add_action(file_menu, "Open &Folder…", self._open_folder_dialog, "Ctrl+Shift+O")
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

    def _build_view_menu(self) -> None:
        view_menu = self.menuBar().addMenu("&View")
        view = self.reading_view
        self._add_action(view_menu, "&Fit", view.fit_all, "F")
        self._add_action(view_menu, "&1:1 (one image pixel per screen pixel)", view.one_to_one_all, "O")
        self._add_action(view_menu, "&Reset window and zoom", view.reset_all, "R")
        self._add_action(view_menu, "&Invert", view.invert_all, "I")

        presets = view_menu.addMenu("Window &presets")
        for number in range(1, 10):
            # QAction.triggered passes "checked"; the preset number must not take its place.
            apply = lambda *_checked, n=number: view.preset_all(n - 1)  # noqa: E731
            self._add_action(presets, f"Preset {number}", apply, str(number))

        view_menu.addSeparator()
        for action in view.actions_for_menu:
            view_menu.addAction(action)
        view_menu.addMenu(view.protocol_menu)
        view_menu.addSeparator()
        self._add_action(view_menu, "Show &load problems", self._problems_dock.show)

    def _build_tools_menu(self) -> None:
        tools_menu = self.menuBar().addMenu("&Tools")
        self._add_action(tools_menu, "&Distance (left-drag measures in mm)", self._toggle_distance, "D")
        self._add_action(tools_menu, "&Magnifier", self._toggle_magnifier, "M")
        self._add_action(tools_menu, "&True size (1 mm on screen is 1 mm)", self._true_size, "T")
        self._add_action(tools_menu, "&Same size across images", self._same_size, "S")
        self._add_action(tools_menu, "O&verlay planes", self._toggle_overlays, "V")

    def _add_action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts of actions in submenus only fire when the window has them
        return action

    def _toggle_distance(self) -> None:
        viewports = self.reading_view.viewports
        active = not any(v.distance_tool.active for v in viewports)
        for viewport in viewports:
            viewport.distance_tool.active = active
            if not active:
                viewport.distance_tool.clear()
            viewport.update()  # type: ignore[attr-defined]
        self.statusBar().showMessage("Distance tool on: left-drag to measure" if active else "Distance tool off")

    def _toggle_magnifier(self) -> None:
        viewports = self.reading_view.viewports
        active = not any(v.magnifier.active for v in viewports)
        for viewport in viewports:
            viewport.magnifier.active = active
            viewport.update()  # type: ignore[attr-defined]

    def _toggle_overlays(self) -> None:
        viewports = self.reading_view.viewports
        visible = not any(v.overlay_planes.visible for v in viewports)
        for viewport in viewports:
            viewport.overlay_planes.visible = visible
            viewport.update()  # type: ignore[attr-defined]

    def _true_size(self) -> None:
        calibration = Settings.load().display.true_size_calibration
        shown = [show_true_size(v, calibration) for v in self.reading_view.viewports if v.display_image]
        if shown and not all(shown):
            self.statusBar().showMessage("True size: some images have no pixel spacing and stay as they were")

    def _same_size(self) -> None:
        show_same_size(self.reading_view.viewports)

    def _open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open DICOM files or a DICOMDIR")
        if files:
            self.open_paths([Path(f) for f in files])

    def _open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of DICOM files")
        if folder:
            self.open_paths([Path(folder)])

    def _show_help(self) -> None:
        QMessageBox.information(self, "Keyboard and mouse", (
            "Left-drag: pan\nRight-drag: window (left/right) and level (up/down)\n"
            "Wheel: zoom around the cursor; on a CT or MR stack, next or previous slice (Ctrl+wheel zooms)\n"
            "F: fit   O: 1:1   R: reset   I: invert\n"
            "1-9: window presets from the image, the last one is the automatic window\n"
            "Space or Page Down: next stage of the hanging protocol   Page Up: previous stage\n"
            "Up/Down: previous/next slice of a stack   F5: reload hanging protocols"
        ))

    def _show_about(self) -> None:
        text = f"Mammo Workstation {__version__}\n\nRenderer: {self.renderer_note}\n\n{ATTRIBUTION}"
        QMessageBox.about(self, "About Mammo Workstation", text)

    # -- opening --------------------------------------------------------------------------

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Scan ``paths`` in the background, then show the newest study found."""
        self._scan_token += 1
        self.scan_done = False
        self.statusBar().showMessage(f"Reading {len(paths)} path(s)…")
        self.loader.scan(self._scan_token, list(paths))

    def _on_scanned(self, token: object, collection: StudyCollection) -> None:
        if token != self._scan_token:
            return
        self.scan_done = True
        self.collection = collection
        self._show_problems(collection.problems)
        studies = [s for s in collection.studies if any(i.has_pixel_data for i in s.instances)]
        if not studies:
            self.statusBar().showMessage("No displayable images found")
            return
        self.show_study(studies[0])

    def show_study(self, study: Study) -> None:
        """Hang ``study`` (with its priors from the same collection) in the reading view."""
        if self._open_study_uids:
            self.studies_closed.emit(self._open_study_uids)
        self.current_study = study
        summary = self.reading_view.show_study(self.collection, study)
        self.statusBar().showMessage(summary)
        patient = self.collection.patient_of(study)
        others = [uid for uid in patient.studies if uid != study.study_instance_uid]
        self._open_study_uids = [study.study_instance_uid, *others]
        self.studies_opened.emit(self._open_study_uids)
        self.study_shown.emit()

    def _on_protocol_chosen(self, summary: str) -> None:
        self.protocol_summary = summary
        self.statusBar().showMessage(summary)

    def _show_problems(self, problems: list[LoadProblem]) -> None:
        self._problems.clear()
        for problem in problems:
            self._problems.addItem(f"{problem.path}: {problem.reason}")
        self._problems_dock.setVisible(bool(problems))

    def _on_image_failed(self, message: str) -> None:
        self._problems.addItem(message)
        self._problems_dock.show()

    def closeEvent(self, event: object) -> None:
        if self._open_study_uids:
            self.studies_closed.emit(self._open_study_uids)
            self._open_study_uids = []
        self.reading_view.release_gpu()
        self.loader.shutdown()
        super().closeEvent(event)  # type: ignore[arg-type]
