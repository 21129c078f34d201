"""The PACS menu: nodes, query/retrieve, local studies and folder import."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from mammo_workstation.cache import import_paths
from mammo_workstation.gui.pacs.local_browser import LocalStudiesWindow
from mammo_workstation.gui.pacs.nodes_dialog import NodesDialog
from mammo_workstation.gui.pacs.query_window import QueryRetrieveWindow
from mammo_workstation.gui.pacs.service import PacsService

logger = logging.getLogger(__name__)

__all__ = ["PacsMenu", "install_pacs_menu"]


class PacsMenu:
    """The menu's actions and the windows they open, kept alive with the main window."""

    def __init__(self, window: QMainWindow, open_paths: Callable[[list[Path]], None]) -> None:
        self.window = window
        self.service = PacsService(open_paths, window)
        self.query_window: QueryRetrieveWindow | None = None
        self.local_window: LocalStudiesWindow | None = None
        menu = window.menuBar().addMenu("&PACS")
        menu.addAction("&Nodes…", self.show_nodes)
        menu.addAction("&Query/Retrieve…", self.show_query)
        menu.addAction("&Local studies…", self.show_local)
        menu.addAction("&Import folder into cache…", self.import_folder)
        self.menu = menu
        studies_opened = getattr(window, "studies_opened", None)
        if studies_opened is not None:
            studies_opened.connect(self._on_studies_opened)
            window.studies_closed.connect(self._on_studies_closed)  # type: ignore[attr-defined]
        self._prefetched: set[str] = set()
        application = QCoreApplication.instance()
        if application is not None:
            # Stop the Storage SCP and the workers before Python tears the threads down.
            application.aboutToQuit.connect(self.service.shutdown)

    def start(self) -> None:
        """Start the Storage SCP if a port is configured; report a failure without stopping."""
        problem = self.service.restart_scp()
        if problem:
            self.window.statusBar().showMessage(problem)
            box = QMessageBox(QMessageBox.Icon.Warning, "Storage SCP not running", problem,
                              parent=self.window)
            box.open()

    def _on_studies_opened(self, study_uids: list[str]) -> None:
        """Protect the shown studies from eviction and fetch the current study's prior."""
        for study_uid in study_uids:
            self.service.store.mark_open(study_uid)
        current = study_uids[0] if study_uids else None
        if current is None or current in self._prefetched:
            return
        self._prefetched.add(current)
        job = self.service.prefetch_priors_for(current)
        if job is not None:
            job.finished.connect(lambda outcome: self._prior_prefetched(current, outcome))
            job.failed.connect(self.window.statusBar().showMessage)

    def _on_studies_closed(self, study_uids: list[str]) -> None:
        for study_uid in study_uids:
            self.service.store.mark_closed(study_uid)

    def _prior_prefetched(self, study_uid: str, outcome: object) -> None:
        """Hang the study again with the prior that just arrived, so no prior stays unseen."""
        errors = getattr(outcome, "errors", [])
        if errors:
            self.window.statusBar().showMessage("Prior retrieve failed: " + "; ".join(errors))
        if not getattr(outcome, "retrieved", []):
            return
        shown = getattr(self.window, "current_study", None)
        if shown is not None and shown.study_instance_uid == study_uid:
            self.service.open_study(study_uid)
            self.window.statusBar().showMessage("Prior study retrieved; hung with the prior")

    def show_nodes(self) -> NodesDialog:
        dialog = NodesDialog(self.service, self.window)
        dialog.open()
        return dialog

    def show_query(self) -> QueryRetrieveWindow:
        if self.query_window is None:
            self.query_window = QueryRetrieveWindow(self.service, self.window)
        self.query_window.show()
        self.query_window.raise_()
        return self.query_window

    def show_local(self) -> LocalStudiesWindow:
        if self.local_window is None:
            self.local_window = LocalStudiesWindow(self.service, self.window)
        self.local_window.refresh()
        self.local_window.show()
        self.local_window.raise_()
        return self.local_window

    def import_folder(self, folder: Path | None = None) -> None:
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self.window, "Import a folder into the cache")
            if not chosen:
                return
            folder = Path(chosen)
        status = self.window.statusBar()
        status.showMessage(f"Importing {folder}…")
        job = self.service.submit(import_paths, self.service.store, [folder])
        job.finished.connect(lambda result: self._imported(folder, result))
        job.failed.connect(status.showMessage)

    def _imported(self, folder: Path, result: object) -> None:
        added = getattr(result, "added", 0)
        skipped = getattr(result, "skipped_duplicates", 0)
        problems = len(getattr(result, "problems", []))
        self.window.statusBar().showMessage(
            f"Imported {added} images from {folder} ({skipped} already cached, "
            f"{problems} files skipped).")
        self.service.cache_changed.emit()


def install_pacs_menu(window: QMainWindow, open_paths: Callable[[list[Path]], None]) -> PacsMenu:
    """Add the PACS menu to ``window`` and start the Storage SCP if one is configured."""
    pacs_menu = PacsMenu(window, open_paths)
    # The window keeps the menu object, and with it the service and the Storage SCP, alive.
    window._pacs_menu = pacs_menu  # type: ignore[attr-defined]
    pacs_menu.start()
    return pacs_menu
