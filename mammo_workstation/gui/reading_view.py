"""The reading view: the stages of a hanging protocol, each a grid of viewports.

Page Down or Space shows the next stage, Page Up the previous one. Viewports of one sync group
follow each other's pan, zoom or window; a same-size stage shows every image at equal
millimetres per screen pixel. Stack viewports (CT, MR) step through their slices with the
mouse wheel or the Up and Down keys; Ctrl+wheel zooms them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QGridLayout, QMenu, QWidget

from mammo_workstation.dicom.model import Instance, Patient, Study, StudyCollection
from mammo_workstation.gui.loading import BackgroundLoader
from mammo_workstation.gui.viewport import GLViewport, SoftwareViewport, ViewportBehaviour
from mammo_workstation.hanging.comparison import (
    SizedImage,
    follow_camera,
    mm_per_pixel,
    opposite,
    same_size_cameras,
)
from mammo_workstation.hanging.layout import CURRENT, Layout, Placement, choose_layout, place
from mammo_workstation.hanging.library import ProtocolLibrary
from mammo_workstation.hanging.matching import Hanging, HungStage, choose, describe_rule
from mammo_workstation.hanging.protocol import SyncProperty
from mammo_workstation.pipeline.image import DisplayImage
from mammo_workstation.render.camera import Camera

logger = logging.getLogger(__name__)

# Decoded frames kept for stage changes and stack scrolling, by total pixel bytes. Four
# 4500 x 2900 16-bit mammograms take about 105 MB.
# NOTE: a fixed budget; revisit when the cache engineer adds a memory setting.
_IMAGE_CACHE_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class _Token:
    generation: int
    index: int
    slice_index: int


class _ImageCache:
    """Decoded frames by (SOP Instance UID, frame), least recently used dropped first."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._images: OrderedDict[tuple[str, int], DisplayImage] = OrderedDict()

    def get(self, key: tuple[str, int]) -> DisplayImage | None:
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
        return image

    def put(self, key: tuple[str, int], image: DisplayImage) -> None:
        self._images[key] = image
        self._images.move_to_end(key)
        while len(self._images) > 1 and sum(i.pixels.nbytes for i in self._images.values()) > self._budget:
            self._images.popitem(last=False)

    def clear(self) -> None:
        self._images.clear()


class _SyncedGL(GLViewport):
    """GLViewport that reports camera changes made by the user, for sync groups."""

    camera_changed = Signal(object)  # the camera before the change

    def set_camera(self, camera: Camera) -> None:
        old = self.camera
        super().set_camera(camera)
        self.camera_changed.emit(old)


class _SyncedSoftware(SoftwareViewport):
    camera_changed = Signal(object)

    def set_camera(self, camera: Camera) -> None:
        old = self.camera
        super().set_camera(camera)
        self.camera_changed.emit(old)


class ReadingView(QWidget):
    """Shows the stages of the protocol chosen for a study; images decode in the background."""

    all_loaded = Signal()
    image_failed = Signal(str)
    protocol_chosen = Signal(str)  # protocol_summary: "Protocol X chosen: reason"
    stage_changed = Signal(int)  # 0-based stage index
    status_changed = Signal(str)  # one line for the status bar after each stage change

    def __init__(self, loader: BackgroundLoader, use_gpu: bool, parent: QWidget | None = None,
                 library: ProtocolLibrary | None = None) -> None:
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
        self.library = library or ProtocolLibrary()
        self.hanging: Hanging | None = None
        self.stage_index = 0
        self.protocol_summary = ""
        self.slice_indices: list[int] = []
        self._collection: StudyCollection | None = None
        self._patient: Patient | None = None
        self._study_labels: dict[str, str] = {}
        self._cache = _ImageCache(_IMAGE_CACHE_BYTES)
        self._generation = 0
        self._pending = 0
        self._syncing = False
        self._same_size_active = False
        loader.image_loaded.connect(self._on_image_loaded)
        loader.image_failed.connect(self._on_image_failed)
        self.actions_for_menu = self._create_actions()
        # The main window adds this to its View menu; it lists the candidates of the shown study.
        self.protocol_menu = QMenu("Hanging &protocol", self)
        self.protocol_menu.aboutToShow.connect(self._fill_protocol_menu)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_protocol_files_changed)
        self._watcher.fileChanged.connect(self._on_protocol_files_changed)
        self._watch_protocol_folders()

    # -- actions ---------------------------------------------------------------------------

    def _create_actions(self) -> list[QAction]:
        """Stage, slice and reload actions; the main window lists them in its View menu."""
        specs = [
            ("Next &stage", self.next_stage, [QKeySequence(Qt.Key.Key_PageDown), QKeySequence(Qt.Key.Key_Space)]),
            ("Pre&vious stage", self.previous_stage, [QKeySequence(Qt.Key.Key_PageUp)]),
            ("Next slice", lambda: self.step_slices(1), [QKeySequence(Qt.Key.Key_Down)]),
            ("Previous slice", lambda: self.step_slices(-1), [QKeySequence(Qt.Key.Key_Up)]),
            ("Reload &hanging protocols", self.reload_protocols, [QKeySequence(Qt.Key.Key_F5)]),
        ]
        actions = []
        for text, slot, keys in specs:
            action = QAction(text, self)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            actions.append(action)
        return actions

    # -- choosing and showing a protocol -----------------------------------------------------

    def show_study(self, collection: StudyCollection, study: Study, protocol_name: str | None = None) -> str:
        """Hang ``study`` (priors from ``collection``) and return a one-line status summary."""
        self.library.reload_if_changed()
        self._watch_protocol_folders()
        self._collection = collection
        try:
            self._patient = collection.patient_of(study)
        except KeyError:
            self._patient = None
        hanging = choose(self.library.protocols, collection, study, protocol_name)
        if hanging is None:
            return self._show_without_protocol(study)
        self.hanging = hanging
        self.protocol_summary = f"Protocol {hanging.protocol.name} chosen: {hanging.reason}"
        self._study_labels = {study.study_instance_uid: "Current"}
        if hanging.prior is not None:
            self._study_labels[hanging.prior.study_instance_uid] = "Prior"
        self._cache.clear()
        self.protocol_chosen.emit(self.protocol_summary)
        return self.show_stage(0)

    def _show_without_protocol(self, study: Study) -> str:
        """Hang with the built-in layout, because no installed protocol is eligible."""
        self.hanging = None
        layout = choose_layout(study)
        self.protocol_summary = f"No hanging protocol matched; built-in {layout.name} used"
        self.protocol_chosen.emit(self.protocol_summary)
        placements = place(layout, study.instances)
        self.show_layout(layout, placements, self._patient, {study.study_instance_uid: "Current"})
        return self._status(layout.name, placements)

    @property
    def stage_count(self) -> int:
        return len(self.hanging.stages) if self.hanging else 0

    def show_stage(self, index: int) -> str:
        """Show stage ``index`` (0-based, clamped to the protocol's stages); returns a status line."""
        if self.hanging is None or not self.hanging.stages:
            return self.protocol_summary
        self.stage_index = max(0, min(index, self.stage_count - 1))
        stage = self.hanging.stages[self.stage_index]
        self.show_layout(stage.layout, stage.placements, self._patient, self._study_labels)
        status = self._status(f"{self.hanging.protocol.name}, stage {self.stage_index + 1} of "
                              f"{self.stage_count} ({stage.stage.name})", stage.placements)
        self.stage_changed.emit(self.stage_index)
        self.status_changed.emit(status)
        return status

    def next_stage(self) -> None:
        if self.hanging is not None and self.stage_index + 1 < self.stage_count:
            self.show_stage(self.stage_index + 1)

    def previous_stage(self) -> None:
        if self.hanging is not None and self.stage_index > 0:
            self.show_stage(self.stage_index - 1)

    @property
    def current_stage(self) -> HungStage | None:
        return self.hanging.stages[self.stage_index] if self.hanging and self.hanging.stages else None

    def reload_protocols(self) -> None:
        """Reread the protocol folders and hang the shown study again, on the same stage."""
        self.library.reload()
        self._rehang()

    def _on_protocol_files_changed(self, _path: str) -> None:
        if self.library.reload_if_changed():
            self._rehang()
        self._watch_protocol_folders()

    def use_protocol(self, name: str) -> str:
        """Hang the shown study again with the protocol called ``name``; returns a status line."""
        if self.hanging is None or self._collection is None:
            return self.protocol_summary
        return self.show_study(self._collection, self.hanging.current, name)

    def _fill_protocol_menu(self) -> None:
        """List every candidate: eligible ones first, the others disabled with their failed rules."""
        self.protocol_menu.clear()
        if self.hanging is None:
            self.protocol_menu.addAction("No study shown").setEnabled(False)
            return
        for candidate in self.hanging.candidates:
            name = candidate.protocol.name
            action = self.protocol_menu.addAction(f"{name} (score {candidate.score:g})")
            action.setCheckable(True)
            action.setChecked(name == self.hanging.protocol.name)
            action.setEnabled(candidate.eligible)
            failed = [describe_rule(r.rule) for r in candidate.results if r.rule.required and not r.passed]
            action.setToolTip("failed: " + "; ".join(failed) if failed else candidate.protocol.description)
            action.triggered.connect(lambda _checked=False, n=name: self.use_protocol(n))
        self.protocol_menu.setToolTipsVisible(True)

    def _rehang(self) -> None:
        if self.hanging is None or self._collection is None:
            return
        stage = self.stage_index
        self.show_study(self._collection, self.hanging.current)
        if stage:
            self.show_stage(stage)

    def _watch_protocol_folders(self) -> None:
        """Watch the folders (files added or removed) and each file (edited in place)."""
        existing = set(self._watcher.directories()) | set(self._watcher.files())
        paths = [str(f) for f in self.library.folders if f.is_dir()]
        paths += [str(entry.path) for entry in self.library.loaded.values()]
        paths += [error.source for error in self.library.errors]
        missing = [p for p in paths if p not in existing]
        if missing:
            self._watcher.addPaths(missing)

    @staticmethod
    def _status(name: str, placements: list[Placement]) -> str:
        count = sum(1 for p in placements if p.instance is not None)
        return f"{name}: {count} of {len(placements)} viewports filled"

    # -- viewports ---------------------------------------------------------------------------

    def show_layout(self, layout: Layout, placements: list[Placement], patient: Patient | None,
                    study_labels: dict[str, str] | None = None) -> None:
        """Replace the viewports with ``layout`` and start decoding each placed image."""
        self._generation += 1
        self._clear()
        self.layout_model = layout
        self.placements = placements
        self._patient = patient
        self._study_labels = study_labels or {}
        self.slice_indices = [0] * len(placements)
        self._same_size_active = False
        viewport_class = _SyncedGL if self._use_gpu else _SyncedSoftware
        self._pending = 0
        for index, placement in enumerate(placements):
            viewport = viewport_class(placement.spec, self)
            self._grid.addWidget(viewport, placement.spec.row, placement.spec.column)
            self.viewports.append(viewport)
            viewport.camera_changed.connect(lambda old, i=index: self._on_camera_changed(i, old))
            viewport.pipeline_changed.connect(lambda i=index: self._on_pipeline_changed(i))
            if placement.spec.stack:
                viewport.installEventFilter(self)
            if placement.instance is None:
                viewport.clear_image(self._empty_text(placement))
                continue
            viewport.clear_image(f"{placement.spec.label}\nloading…")
            self._pending += 1
            self._request(index, 0)
        for row in range(layout.rows):
            self._grid.setRowStretch(row, 1)
        for column in range(layout.columns):
            self._grid.setColumnStretch(column, 1)
        self._label_protocol()
        has_stacks = any(p.slices for p in placements)
        for action in self.actions_for_menu[2:4]:
            action.setEnabled(has_stacks)  # so Up and Down reach other widgets otherwise
        if self._pending == 0:
            self.all_loaded.emit()

    def _empty_text(self, placement: Placement) -> str:
        label = placement.spec.label
        if placement.spec.study != CURRENT:
            has_study = self.hanging is not None and self.hanging.prior is not None
            return f"{label}\n{'not in the prior study' if has_study else 'no prior study found'}"
        return f"{label}\nnot in this study"

    def _slice_of(self, index: int, slice_index: int) -> tuple[Instance, int]:
        placement = self.placements[index]
        if placement.slices:
            chosen = placement.slices[slice_index]
            return chosen.instance, chosen.frame
        assert placement.instance is not None
        return placement.instance, 0

    def _request(self, index: int, slice_index: int) -> None:
        instance, frame = self._slice_of(index, slice_index)
        cached = self._cache.get((instance.sop_instance_uid, frame))
        token = _Token(self._generation, index, slice_index)
        if cached is not None:
            # Deliver after the caller finished building the layout, as a decode would.
            QTimer.singleShot(0, lambda: self._on_image_loaded(token, cached))
            return
        self._loader.load(token, instance, frame)

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
        instance, frame = self._slice_of(token.index, token.slice_index)
        self._cache.put((instance.sop_instance_uid, frame), image)
        if self.slice_indices[token.index] != token.slice_index:
            return  # the user scrolled on before this slice arrived
        viewport = self.viewports[token.index]
        first = viewport.display_image is None
        keep = (viewport.camera, viewport.fitted, viewport.pipeline) if not first else None
        viewport.set_image(image, self.placements[token.index].transform)
        if keep is not None:
            self._keep_view(viewport, image, *keep)
        viewport.overlay_lines = self._overlay_for(token.index, instance)
        viewport.update()  # type: ignore[attr-defined]
        if first:
            self._one_done()

    @staticmethod
    def _keep_view(viewport: ViewportBehaviour, image: DisplayImage, camera: Camera, fitted: bool,
                   pipeline: object) -> None:
        """Keep zoom, pan and window while scrolling a stack."""
        if not fitted:
            viewport.camera, viewport.fitted = camera, False
        window = getattr(pipeline, "window", None)
        if window is not None and viewport.pipeline is not None:
            viewport.pipeline = viewport.pipeline.with_window(window)

    def _on_image_failed(self, token: object, message: str) -> None:
        if not isinstance(token, _Token) or token.generation != self._generation:
            return
        label = self.placements[token.index].spec.label
        self.viewports[token.index].clear_image(f"{label}: cannot display\n{message}")
        self.image_failed.emit(message)
        if token.slice_index == 0:
            self._one_done()

    def _one_done(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._apply_same_size()
            self.all_loaded.emit()

    # -- overlays -----------------------------------------------------------------------------

    def _overlay_for(self, index: int, instance: Instance) -> dict[str, list[str]]:
        lines = _overlay_lines(instance, self._patient, self._study_labels)
        placement = self.placements[index]
        if len(placement.slices) > 1:
            lines["title"].append(f"Slice {self.slice_indices[index] + 1} / {len(placement.slices)}")
        if index == self._protocol_viewport():
            lines["study"].insert(0, self.stage_text())
        return lines

    def stage_text(self) -> str:
        """``Protocol name, stage 2 of 8: Current and prior CC``, or empty without a protocol."""
        stage = self.current_stage
        if self.hanging is None or stage is None:
            return ""
        return f"{self.hanging.protocol.name}, stage {self.stage_index + 1} of {self.stage_count}: {stage.stage.name}"

    def _protocol_viewport(self) -> int:
        """Return the index of the viewport that shows the protocol and stage (the first with an image)."""
        return next((i for i, p in enumerate(self.placements) if p.instance is not None), 0)

    def _label_protocol(self) -> None:
        index = self._protocol_viewport()
        if self.viewports and self.placements and self.placements[index].instance is None and self.stage_text():
            viewport = self.viewports[index]
            viewport.clear_image(f"{viewport.empty_text}\n\n{self.stage_text()}")

    # -- stacks ------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and watched in self.viewports:
            wheel: QWheelEvent = event  # type: ignore[assignment]
            if not wheel.modifiers() & Qt.KeyboardModifier.ControlModifier:
                steps = -round(wheel.angleDelta().y() / 120.0)
                if steps:
                    self.step_slice(self.viewports.index(watched), steps)  # type: ignore[arg-type]
                return True
        return super().eventFilter(watched, event)

    def step_slice(self, index: int, steps: int) -> None:
        """Move stack viewport ``index`` by ``steps`` slices, stopping at the first and last."""
        placement = self.placements[index]
        if not placement.slices:
            return
        target = max(0, min(self.slice_indices[index] + steps, len(placement.slices) - 1))
        if target == self.slice_indices[index]:
            return
        self.slice_indices[index] = target
        self._request(index, target)

    def step_slices(self, steps: int) -> None:
        """Step the focused stack viewport, or every stack viewport when none has focus."""
        focused = [i for i, v in enumerate(self.viewports) if v.hasFocus() and self.placements[i].slices]  # type: ignore[attr-defined]
        for index in focused or range(len(self.placements)):
            self.step_slice(index, steps)

    # -- sync groups and same-size display ------------------------------------------------------

    def _sync_properties(self, index: int) -> frozenset[SyncProperty]:
        stage = self.current_stage
        group = self.placements[index].spec.sync_group
        if stage is None or group is None or stage.layout is not self.layout_model:
            return frozenset()
        return stage.stage.sync_groups.get(group, frozenset())

    def _group_members(self, index: int) -> list[int]:
        group = self.placements[index].spec.sync_group
        return [i for i, p in enumerate(self.placements)
                if i != index and p.spec.sync_group == group and self.viewports[i].display_image is not None]

    def _on_camera_changed(self, index: int, old: Camera) -> None:
        self._same_size_active = False
        properties = self._sync_properties(index) & {SyncProperty.PAN, SyncProperty.ZOOM}
        if self._syncing or not properties:
            return
        source = self.viewports[index]
        self._syncing = True
        try:
            for member in self._group_members(index):
                target = self.viewports[member]
                mirrored = opposite(self.placements[index].spec.justify, self.placements[member].spec.justify)
                width = float(target.viewport_size()[0])
                target.set_camera(follow_camera(old, source.camera, target.camera, properties, mirrored, width))
        finally:
            self._syncing = False

    def _on_pipeline_changed(self, index: int) -> None:
        if self._syncing or SyncProperty.WINDOW not in self._sync_properties(index):
            return
        source = self.viewports[index].pipeline
        window = source.window if source is not None else None
        if window is None:
            return
        self._syncing = True
        try:
            for member in self._group_members(index):
                pipeline = self.viewports[member].pipeline
                if pipeline is not None:
                    self.viewports[member].set_pipeline(pipeline.with_window(window))
        finally:
            self._syncing = False

    def _apply_same_size(self) -> None:
        stage = self.current_stage
        if stage is None or not stage.stage.same_size or stage.layout is not self.layout_model:
            return
        shown = [(v, p) for v, p in zip(self.viewports, self.placements, strict=True) if v.display_image]
        sized = [
            SizedImage(v.displayed_image_size(), v.viewport_size(), p.spec.justify,
                       mm_per_pixel(v.display_image.attributes, p.transform.rotation))  # type: ignore[union-attr]
            for v, p in shown
        ]
        for (viewport, _), camera in zip(shown, same_size_cameras(sized), strict=True):
            if camera is not None:
                # Still the automatic view: a resize refits, and resizeEvent reapplies same size.
                viewport.camera, viewport.fitted = camera, True
                viewport.update()  # type: ignore[attr-defined]
        self._same_size_active = True

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._same_size_active:
            QTimer.singleShot(0, self._apply_same_size)

    # -- actions on every viewport ------------------------------------------------------------

    def fit_all(self) -> None:
        for viewport in self.viewports:
            viewport.fit()
        self._apply_same_size()

    def one_to_one_all(self) -> None:
        self._syncing = True
        try:
            for viewport in self.viewports:
                viewport.one_to_one()
        finally:
            self._syncing = False

    def reset_all(self) -> None:
        for viewport in self.viewports:
            viewport.reset()
        self._apply_same_size()

    def invert_all(self) -> None:
        for viewport in self.viewports:
            viewport.toggle_invert()

    def preset_all(self, index: int) -> None:
        self._syncing = True
        try:
            for viewport in self.viewports:
                viewport.apply_preset(index)
        finally:
            self._syncing = False


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
