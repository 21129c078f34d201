"""PACS > Query/Retrieve: STUDY-level C-FIND, series and images on expand, retrieve with progress.

Each study row shows its own retrieve progress: instances received of the total the PACS
reported, and MB/s. A retrieve can be cancelled, and a retrieved study opens in the reading
window.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammo_workstation.gui.pacs.service import Job, PacsService
from mammo_workstation.net import (
    RetrieveProgress,
    RetrieveResult,
    StudyQuery,
    StudyResult,
    find_instances,
    find_series,
    find_studies,
    prefetch_priors,
    retrieve_study,
)
from mammo_workstation.net.query import parse_date_range
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)

COLUMNS = ["Patient name", "Patient ID", "Birth date", "Study date", "Accession",
           "Description", "Modalities", "Series", "Images", "Status"]
STATUS_COLUMN = COLUMNS.index("Status")
_KIND = Qt.ItemDataRole.UserRole
_PAYLOAD = Qt.ItemDataRole.UserRole + 1
_PLACEHOLDER = "…"


class QueryRetrieveWindow(QWidget):
    """Filters, a sortable result tree and retrieve/cancel/open buttons."""

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Query/Retrieve")
        self.resize(1100, 600)
        self.service = service
        self.retrievals: dict[str, Job] = {}
        self.studies: dict[str, StudyResult] = {}

        self.node_combo = QComboBox()
        self.patient_name_edit = QLineEdit()
        self.patient_name_edit.setPlaceholderText("e.g. DOE^J* (wildcards * and ?)")
        self.patient_id_edit = QLineEdit()
        self.accession_edit = QLineEdit()
        self.date_edit = QLineEdit()
        self.date_edit.setPlaceholderText("YYYYMMDD, YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD")
        self.modality_edit = QLineEdit("MG")
        self.find_button = QPushButton("Find")
        self.find_button.setDefault(True)
        self.find_button.clicked.connect(self.find_studies)
        filters = QFormLayout()
        filters.addRow("Node", self.node_combo)
        filters.addRow("Patient name", self.patient_name_edit)
        filters.addRow("Patient ID", self.patient_id_edit)
        filters.addRow("Accession number", self.accession_edit)
        filters.addRow("Study date", self.date_edit)
        filters.addRow("Modality", self.modality_edit)
        filters.addRow("", self.find_button)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(COLUMNS.index("Study date"), Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.itemExpanded.connect(self._expand)

        self.priors_check = QCheckBox("Also retrieve the prior study")
        self.priors_check.setChecked(True)
        self.retrieve_button = QPushButton("Retrieve")
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self.open_selected)
        actions = QHBoxLayout()
        for widget in (self.priors_check, self.retrieve_button, self.cancel_button,
                       self.open_button):
            actions.addWidget(widget)
        actions.addStretch(1)

        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.tree, 1)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        self.refresh_nodes()
        service.settings_changed.connect(self.refresh_nodes)

    def refresh_nodes(self) -> None:
        current = self.node_combo.currentText()
        self.node_combo.clear()
        self.node_combo.addItems([node.name for node in self.service.settings.pacs.nodes])
        if current:
            self.node_combo.setCurrentText(current)

    def selected_node(self) -> RemoteNode | None:
        return self.service.node(self.node_combo.currentText())

    # Query

    def query(self) -> StudyQuery:
        date_from, date_to = (parse_date_range(self.date_edit.text())
                              if self.date_edit.text().strip() else (None, None))
        return StudyQuery(
            patient_name=self.patient_name_edit.text().strip(),
            patient_id=self.patient_id_edit.text().strip(),
            accession_number=self.accession_edit.text().strip(),
            date_from=date_from, date_to=date_to,
            modality=self.modality_edit.text().strip().upper(),
        )

    def find_studies(self) -> Job | None:
        node = self.selected_node()
        if node is None:
            self.show_message("Add a node in PACS > Nodes first.", error=True)
            return None
        try:
            query = self.query()
        except ValueError as error:
            self.show_message(str(error), error=True)
            return None
        self.find_button.setEnabled(False)
        self.show_message(f"Searching {node.ae_title} at {node.host}:{node.port}…")
        job = self.service.submit(find_studies, node, query, self.service.calling)
        job.finished.connect(self._show_studies)
        job.failed.connect(self._find_failed)
        return job

    def _find_failed(self, message: str) -> None:
        self.find_button.setEnabled(True)
        self.show_message(message, error=True)

    def _show_studies(self, studies: Any) -> None:
        self.find_button.setEnabled(True)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        self.studies = {study.study_uid: study for study in studies}
        for study in studies:
            item = QTreeWidgetItem([
                study.patient_name, study.patient_id, study.birth_date, study.study_date,
                study.accession_number, study.description, "\\".join(study.modalities),
                _number(study.number_of_series), _number(study.number_of_instances), "",
            ])
            item.setData(0, _KIND, "study")
            item.setData(0, _PAYLOAD, study.study_uid)
            item.addChild(QTreeWidgetItem([_PLACEHOLDER]))
            self.tree.addTopLevelItem(item)
        self.tree.setSortingEnabled(True)
        self.show_message(f"{len(studies)} studies found.")

    def _expand(self, item: QTreeWidgetItem) -> None:
        first = item.child(0)
        if item.childCount() != 1 or first is None or first.text(0) != _PLACEHOLDER:
            return
        node = self.selected_node()
        if node is None:
            return
        kind = item.data(0, _KIND)
        if kind == "study":
            job = self.service.submit(find_series, node, item.data(0, _PAYLOAD),
                                      self.service.calling)
            job.finished.connect(lambda series: self._fill_series(item, series))
        elif kind == "series":
            study_uid, series_uid = item.data(0, _PAYLOAD)
            job = self.service.submit(find_instances, node, study_uid, series_uid,
                                      self.service.calling)
            job.finished.connect(lambda images: self._fill_images(item, images))
        else:
            return
        job.failed.connect(lambda message: self.show_message(message, error=True))

    def _fill_series(self, item: QTreeWidgetItem, series: Any) -> None:
        item.takeChildren()
        study_uid = item.data(0, _PAYLOAD)
        for entry in series:
            child = QTreeWidgetItem([f"Series {_number(entry.series_number)}: "
                                     f"{entry.description}", "", "", "", "", "",
                                     entry.modality, "", _number(entry.number_of_instances)])
            child.setData(0, _KIND, "series")
            child.setData(0, _PAYLOAD, (study_uid, entry.series_uid))
            child.addChild(QTreeWidgetItem([_PLACEHOLDER]))
            item.addChild(child)

    def _fill_images(self, item: QTreeWidgetItem, images: Any) -> None:
        item.takeChildren()
        for image in images:
            size = f"{image.rows} x {image.columns}" if image.rows else ""
            child = QTreeWidgetItem([f"Image {_number(image.instance_number)}", "", "", "", "",
                                     size])
            child.setData(0, _KIND, "image")
            item.addChild(child)

    # Retrieve

    def selected_study_uids(self) -> list[str]:
        uids = []
        for item in self.tree.selectedItems():
            parent = item.parent()
            while parent is not None:
                item, parent = parent, parent.parent()
            uid = item.data(0, _PAYLOAD)
            if uid not in uids:
                uids.append(uid)
        return uids

    def retrieve_selected(self) -> list[Job]:
        node = self.selected_node()
        if node is None:
            return []
        jobs = []
        for study_uid in self.selected_study_uids():
            if study_uid in self.retrievals and not self.retrievals[study_uid].done:
                continue
            jobs.append(self.retrieve(node, study_uid, self.priors_check.isChecked()))
        return jobs

    def retrieve(self, node: RemoteNode, study_uid: str, with_priors: bool) -> Job:
        job = self.service.submit(self._retrieve_with_priors, node, self.studies[study_uid],
                                  with_priors)
        self.retrievals[study_uid] = job
        self._set_status(study_uid, "Waiting…")
        job.progress.connect(self._show_progress)
        job.finished.connect(lambda results: self._retrieved(study_uid, results))
        job.failed.connect(lambda message: self._retrieve_failed(study_uid, message))
        return job

    def _retrieve_with_priors(self, node: RemoteNode, study: StudyResult, with_priors: bool,
                              progress: Any = None, cancel: Any = None) -> list[RetrieveResult]:
        service = self.service
        results = [retrieve_study(node, study.study_uid, service.calling, service.store,
                                  service.scp, progress=progress, cancel=cancel)]
        if with_priors:
            fetched = prefetch_priors(node, study, service.calling, service.store, service.scp,
                                      progress=progress, cancel=cancel)
            results.extend(fetched.retrieved)
        return results

    def _show_progress(self, progress: RetrieveProgress) -> None:
        total = "?" if progress.total is None else str(progress.total)
        self._set_status(progress.study_uid, f"{progress.received} of {total} images, "
                                             f"{progress.mb_per_s:.1f} MB/s")

    def _retrieved(self, study_uid: str, results: list[RetrieveResult]) -> None:
        for result in results:
            text = f"In cache ({result.received} new, {result.duplicates} already cached)"
            if result.warning:
                text = f"Incomplete: {result.failed} failed"
                self.show_message(result.warning, error=True)
            self._set_status(result.study_uid, text)
        self.service.cache_changed.emit()

    def _retrieve_failed(self, study_uid: str, message: str) -> None:
        self._set_status(study_uid, "Failed" if "cancelled" not in message else "Cancelled")
        self.show_message(message, error="cancelled" not in message)

    def cancel_selected(self) -> None:
        uids = self.selected_study_uids() or list(self.retrievals)
        for study_uid in uids:
            job = self.retrievals.get(study_uid)
            if job is not None and not job.done:
                job.cancel()
                self._set_status(study_uid, "Cancelling…")

    def open_selected(self) -> None:
        for study_uid in self.selected_study_uids()[:1]:
            if not self.service.open_study(study_uid):
                self.show_message("Retrieve the study before opening it.", error=True)

    # Helpers

    def study_item(self, study_uid: str) -> QTreeWidgetItem | None:
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            if item is not None and item.data(0, _PAYLOAD) == study_uid:
                return item
        return None

    def _set_status(self, study_uid: str, text: str) -> None:
        item = self.study_item(study_uid)
        if item is not None:
            item.setText(STATUS_COLUMN, text)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020" if error else "")


def _number(value: int | None) -> str:
    return "" if value is None else str(value)
