"""PACS > Local studies: the studies in the cache, filtered like a PACS query, opened on demand."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mammo_workstation.cache import StudyFilter, StudyRow
from mammo_workstation.gui.pacs.service import PacsService
from mammo_workstation.net.query import parse_date_range

COLUMNS = ["Patient name", "Patient ID", "Study date", "Accession", "Description",
           "Modalities", "Images", "Size (MB)", "Last opened", "Pinned"]
_UID = Qt.ItemDataRole.UserRole


class LocalStudiesWindow(QWidget):
    """A sortable table of cached studies with Open, Pin and Delete."""

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Local studies")
        self.resize(1000, 500)
        self.service = service
        self.patient_name_edit = QLineEdit()
        self.patient_name_edit.setPlaceholderText("wildcards * and ?")
        self.patient_id_edit = QLineEdit()
        self.accession_edit = QLineEdit()
        self.date_edit = QLineEdit()
        self.date_edit.setPlaceholderText("YYYYMMDD, YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD")
        self.modality_edit = QLineEdit()
        search = QPushButton("Search")
        search.clicked.connect(self.refresh)
        filters = QFormLayout()
        filters.addRow("Patient name", self.patient_name_edit)
        filters.addRow("Patient ID", self.patient_id_edit)
        filters.addRow("Accession number", self.accession_edit)
        filters.addRow("Study date", self.date_edit)
        filters.addRow("Modality", self.modality_edit)
        filters.addRow("", search)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.doubleClicked.connect(lambda _: self.open_selected())

        buttons = QHBoxLayout()
        for text, slot in (("Open", self.open_selected), ("Pin / unpin", self.toggle_pin),
                           ("Delete", self.delete_selected), ("Refresh", self.refresh)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        service.cache_changed.connect(self.refresh)
        self.refresh()

    def study_filter(self) -> StudyFilter:
        date_from, date_to = (parse_date_range(self.date_edit.text())
                              if self.date_edit.text().strip() else (None, None))
        modality = self.modality_edit.text().strip().upper()
        return StudyFilter(
            patient_name=self.patient_name_edit.text().strip(),
            patient_id=self.patient_id_edit.text().strip(),
            accession_number=self.accession_edit.text().strip(),
            date_from=date_from, date_to=date_to, modalities=[modality] if modality else [],
        )

    def refresh(self) -> None:
        try:
            rows = self.service.store.studies(self.study_filter())
        except ValueError as error:
            self.message.setText(str(error))
            return
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate(_cells(row)):
                item = QTableWidgetItem(text)
                item.setData(_UID, row.study_uid)
                self.table.setItem(index, column, item)
        self.table.setSortingEnabled(True)
        self.message.setText(f"{len(rows)} studies in {self.service.store.root}")

    def selected_uids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        items = [self.table.item(row, 0) for row in rows]
        return [item.data(_UID) for item in items if item is not None]

    def open_selected(self) -> None:
        uids = self.selected_uids()
        if not uids:
            return
        self.service.open_study(uids[0])
        job = self.service.prefetch_priors_for(uids[0])
        if job is not None:
            job.finished.connect(self._priors_fetched)
            job.failed.connect(self.message.setText)

    def _priors_fetched(self, outcome: object) -> None:
        errors = getattr(outcome, "errors", [])
        if errors:
            self.message.setText("Could not retrieve the prior: " + errors[0])
        self.service.cache_changed.emit()

    def toggle_pin(self) -> None:
        pinned = {row.study_uid: row.pinned for row in self.service.store.studies()}
        for uid in self.selected_uids():
            self.service.store.index.set_pinned(uid, not pinned.get(uid, False))
        self.refresh()

    def delete_selected(self) -> None:
        for uid in self.selected_uids():
            if self.service.store.is_open(uid):
                self.message.setText("A study open in the reading window cannot be deleted.")
                continue
            self.service.store.delete_study(uid)
        self.refresh()


def _cells(row: StudyRow) -> list[str]:
    images = str(row.number_of_instances)
    if not row.complete:
        images += f" of {row.expected_instances} (incomplete)"
    return [
        row.patient_name, row.patient_id, row.study_date, row.accession_number,
        row.description, "\\".join(row.modalities), images,
        f"{row.size_bytes / 1e6:.1f}",
        time.strftime("%Y-%m-%d %H:%M", time.localtime(row.last_access)),
        "yes" if row.pinned else "",
    ]
