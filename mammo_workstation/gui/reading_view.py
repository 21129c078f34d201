"""The reading view: a grid of viewports filled from a layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from mammo_workstation.dicom.model import Instance, Patient, Study, StudyCollection
from mammo_workstation.gui.loading import BackgroundLoader
from mammo_workstation.gui.viewport import GLViewport, SoftwareViewport, ViewportBehaviour
from mammo_workstation.hanging.layout import Layout, Placement, choose_layout, place
from mammo_workstation.pipeline.image import DisplayImage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Token:
    generation: int
    index: int


class ReadingView(QWidget):
    """Shows one layout; each viewport gets its placement's image, decoded in the background."""

    all_loaded = Signal()
    image_failed = Signal(str)

    def __init__(self, loader: BackgroundLoader, use_gpu: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._use_gpu = use_gpu
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(0)  # breasts back to back: no gap at the centre line
        self._grid.setVerticalSpacing(2)
        self.viewports: list[ViewportBehaviour] = []
        self.placements: list[Placement] = []
        self.layout_model: Layout | None = None
        self._generation = 0
        self._pending = 0
        loader.image_loaded.connect(self._on_image_loaded)
        loader.image_failed.connect(self._on_image_failed)

    def show_study(self, collection: StudyCollection, study: Study) -> str:
        """Hang ``study`` and return a one-line summary for the status bar."""
        patient = collection.patient_of(study)
        layout = choose_layout(study)
        placements = place(layout, study.instances)
        self.show_layout(layout, placements, patient, {study.study_instance_uid: "Current"})
        count = sum(1 for p in placements if p.instance is not None)
        return f"{layout.name}: {count} of {len(placements)} viewports filled"

    def show_layout(self, layout: Layout, placements: list[Placement], patient: Patient | None,
                    study_labels: dict[str, str] | None = None) -> None:
        """Replace the viewports with ``layout`` and start decoding each placed image."""
        self._generation += 1
        self._clear()
        self.layout_model = layout
        self.placements = placements
        viewport_class = GLViewport if self._use_gpu else SoftwareViewport
        self._pending = 0
        for index, placement in enumerate(placements):
            viewport = viewport_class(placement.spec, self)
            self._grid.addWidget(viewport, placement.spec.row, placement.spec.column)
            self.viewports.append(viewport)
            if placement.instance is None:
                viewport.clear_image(f"{placement.spec.label}\nnot in this study")
                continue
            viewport.overlay_lines = _overlay_lines(placement.instance, patient, study_labels or {})
            viewport.clear_image(f"{placement.spec.label}\nloading…")
            self._pending += 1
            self._loader.load(_Token(self._generation, index), placement.instance)
        for row in range(layout.rows):
            self._grid.setRowStretch(row, 1)
        for column in range(layout.columns):
            self._grid.setColumnStretch(column, 1)
        if self._pending == 0:
            self.all_loaded.emit()

    @property
    def loading(self) -> bool:
        return self._pending > 0

    def release_gpu(self) -> None:
        """Free GPU textures; call before the window goes away."""
        for viewport in self.viewports:
            if isinstance(viewport, GLViewport):
                viewport.release_gl()

    def _clear(self) -> None:
        self.release_gpu()
        for viewport in self.viewports:
            widget: QWidget = viewport  # type: ignore[assignment]
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self.viewports = []
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 0)

    def _on_image_loaded(self, token: object, image: DisplayImage) -> None:
        if not isinstance(token, _Token) or token.generation != self._generation:
            return
        placement = self.placements[token.index]
        self.viewports[token.index].set_image(image, placement.transform)
        self._one_done()

    def _on_image_failed(self, token: object, message: str) -> None:
        if not isinstance(token, _Token) or token.generation != self._generation:
            return
        label = self.placements[token.index].spec.label
        self.viewports[token.index].clear_image(f"{label}: cannot display\n{message}")
        self.image_failed.emit(message)
        self._one_done()

    def _one_done(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.all_loaded.emit()

    # -- actions on every viewport ------------------------------------------------------------

    def fit_all(self) -> None:
        for viewport in self.viewports:
            viewport.fit()

    def one_to_one_all(self) -> None:
        for viewport in self.viewports:
            viewport.one_to_one()

    def reset_all(self) -> None:
        for viewport in self.viewports:
            viewport.reset()

    def invert_all(self) -> None:
        for viewport in self.viewports:
            viewport.toggle_invert()

    def preset_all(self, index: int) -> None:
        for viewport in self.viewports:
            viewport.apply_preset(index)


def _overlay_lines(
    instance: Instance, patient: Patient | None, study_labels: dict[str, str]
) -> dict[str, list[str]]:
    name = (patient.patient_name if patient else instance.patient_name).replace("^", " ").strip()
    date = instance.study_date.isoformat() if instance.study_date else "no study date"
    study_label = study_labels.get(instance.study_instance_uid, "")
    intent = instance.presentation_intent
    title = [instance.view_label]
    if intent is not None and intent.value == "FOR PROCESSING":
        title.append("FOR PROCESSING")
    return {
        "title": title,
        "patient": [name, f"ID {instance.patient_id}"],
        "study": [f"{study_label} {date}".strip()],
    }
