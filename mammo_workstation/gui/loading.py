"""Scanning and decoding on worker threads; results reach the GUI thread through signals.

Images load progressively. A JPEG 2000 image is first decoded at the coarsest resolution level
that is still at least as fine as the largest window shows it when fitted (libopenjp2's reduce
factor, about a tenth of the full decode), and delivered as a :class:`ProgressiveImage`. Its
full-resolution decode is queued behind the other images' first decodes and replaces the
pixels in place, so a viewport keeps its zoom, pan and window. Every full-resolution image
also carries its pixels averaged down to that level, so a fitted viewport uploads a small
texture, and is written to the pixel cache, so the next open of the same image skips decoding.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication

from mammo_workstation.dicom import fast_decode
from mammo_workstation.dicom.decode import DecodedFrame, DecodeError, decode_frame, read_dataset
from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import Instance
from mammo_workstation.pipeline.image import DisplayImage, display_image_from

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from mammo_workstation.cache.pixels import PixelCache

logger = logging.getLogger(__name__)

# Used when no window is shown yet and the screen size is unknown: a 5-megapixel portrait
# mammography display.
_FALLBACK_PREVIEW_SIZE = (2048, 2560)


@dataclass
class ProgressiveImage(DisplayImage):
    """A DisplayImage with smaller copies of its pixels for minified display.

    ``frame`` contains the full-resolution decode or, until :meth:`refine`, a decode ``reduce``
    levels below it. ``display_levels`` maps a level L to the full-resolution pixels averaged
    over 2**L x 2**L blocks (:func:`box_reduce`), so that a fitted viewport uploads a small
    texture in a few ms instead of the whole image (about 150 ms with mipmaps on llvmpipe).
    ``size`` is always the full-resolution size, so geometry (camera, ``screen_to_image``,
    overlays) works in full-resolution image pixels from the first paint.
    """

    full_size: tuple[int, int] = (0, 0)  # (columns, rows) at full resolution
    reduce: int = 0  # levels below full resolution of ``frame``; 0 once refined
    display_levels: dict[int, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._listeners: list[weakref.WeakMethod[Callable[[DisplayImage, DisplayImage], None]]] = []

    @property
    def size(self) -> tuple[int, int]:
        return self.full_size

    @property
    def is_reduced(self) -> bool:
        return self.reduce > 0

    def level_for(self, scale: float) -> tuple[int, np.ndarray]:
        """Return the coarsest level (and its pixels) still as fine as ``scale`` shows it.

        ``scale`` is screen pixels per full-resolution pixel; a level L is fine enough when
        2**-L >= scale. Without one, the finest level there is.
        """
        levels = {**self.display_levels, self.reduce: self.frame.pixels}
        fine_enough = [level for level in levels if 2.0**-level >= scale * (1 - 1e-9)]
        level = max(fine_enough) if fine_enough else min(levels)
        return level, levels[level]

    def add_listener(self, callback: Callable[[DisplayImage, DisplayImage], None]) -> None:
        """Call the bound method ``callback(self, previous)`` after refining.

        ``previous`` is a copy of this image as it was before. The method is held by weak
        reference, so a deleted viewport is not kept alive.
        """
        self._listeners.append(weakref.WeakMethod(callback))

    def refine(self, full: DisplayImage, display_levels: dict[int, np.ndarray]) -> None:
        """Take the pixels, presets and default pipeline of the full-resolution ``full``."""
        previous = dataclasses.replace(self)
        self.frame = full.frame
        self.pipeline = full.pipeline
        self.presets = full.presets
        self.window_count = full.window_count
        self.voi_lut_count = full.voi_lut_count
        self.attributes = full.attributes
        self.reduce = 0
        self.display_levels = display_levels
        listeners, self._listeners = self._listeners, []
        for reference in listeners:
            callback = reference()
            if callback is not None:
                callback(self, previous)


class BackgroundLoader(QObject):
    """Runs folder scans and image decodes off the GUI thread.

    Each request carries a ``token`` chosen by the caller; results come back with it, so a
    result that arrives after the user moved on can be recognised and dropped.
    ``image_loaded`` fires once per request, possibly with a reduced-resolution
    :class:`ProgressiveImage`; ``full_resolution_loaded`` fires when that same object has been
    refined to full resolution (or at once, for an image delivered at full resolution).
    ``busy`` stays true, and ``idle`` fires, until every request is at full resolution or has
    failed: wait for it, not for ``image_loaded``, before comparing pixels or saving a
    screenshot.
    """

    scanned = Signal(object, object)  # token, StudyCollection
    image_loaded = Signal(object, object)  # token, DisplayImage
    image_failed = Signal(object, str)  # token, message naming the file and the cause
    full_resolution_loaded = Signal(object, object)  # token, DisplayImage at full resolution
    idle = Signal()  # every requested image is at full resolution, or failed
    _refined = Signal(object, object, object)  # token, ProgressiveImage, (DisplayImage, levels)
    _finished = Signal()  # one load request is done: full resolution, failed or dropped

    def __init__(
        self,
        parent: QObject | None = None,
        workers: int | None = None,
        *,
        progressive: bool = True,
        reduced_textures: bool = True,
        use_pixel_cache: bool = True,
        pixel_cache: PixelCache | None = None,
    ) -> None:
        super().__init__(parent)
        self._workers = workers or max(2, os.cpu_count() or 2)
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="decode")
        self.progressive = progressive  # False: no reduced-resolution first decode
        self.reduced_textures = reduced_textures  # False: fitted viewports upload the whole image
        # None disables the pixel cache; the default is the user's, under cache_dir().
        self.pixel_cache = None
        if use_pixel_cache:
            from mammo_workstation.cache.pixels import PixelCache  # imported late: startup time

            self.pixel_cache = pixel_cache or PixelCache()
        # (columns, rows) in device pixels that a first paint must at least fill; None means
        # the largest visible registered viewport, else the largest window, else the screen.
        self.preview_size: tuple[int, int] | None = None
        self._requests: list[tuple[object, Instance, int]] = []
        self._outstanding = 0  # load requests not yet at full resolution; GUI thread only
        # Pixel cache writes wait until every request is at full resolution, so that they never
        # take a core from a decode that a viewport is waiting for.
        self._unsaved: list[tuple[str, int, DecodedFrame]] = []
        self._unsaved_lock = threading.Lock()
        self._refined.connect(self._on_refined)
        self._finished.connect(self._on_finished)

    def scan(self, token: object, paths: Sequence[Path]) -> None:
        self._executor.submit(self._scan, token, list(paths))

    @property
    def busy(self) -> bool:
        """Whether a requested image is still decoding (possibly shown at reduced resolution)."""
        return self._outstanding > 0

    def load(self, token: object, instance: Instance, frame: int = 0) -> None:
        """Decode ``instance`` from the next event-loop turn on, once new viewports have a size.

        A caller that creates viewports and then requests their images has, by then, posted
        the layout request that sizes them; the preview level is chosen after it runs.
        """
        self._outstanding += 1
        if not self._requests:
            QTimer.singleShot(0, self._dispatch)
        self._requests.append((token, instance, frame))

    def _dispatch(self) -> None:
        requests, self._requests = self._requests, []
        target = self.preview_size or _largest_viewport_size() or _largest_window_size()
        for token, instance, frame in requests:
            self._submit(self._load, token, instance, frame, target)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _scan(self, token: object, paths: list[Path]) -> None:
        try:
            collection = load_paths(paths)
        except Exception as error:
            logger.exception("Scanning failed")
            from mammo_workstation.dicom.model import LoadProblem, StudyCollection

            collection = StudyCollection(problems=[LoadProblem(Path(str(paths[0])), str(error))])
        self.scanned.emit(token, collection)

    def _load(self, token: object, instance: Instance, frame: int, target: tuple[int, int]) -> None:
        path = instance.path
        try:
            dataset = read_dataset(path)
            full = self._from_cache(path, dataset, frame)
            preview = None
            if full is None and self.progressive:
                preview = self._preview(path, dataset, frame, target)
            if preview is not None:
                self.image_loaded.emit(token, preview)
                # Queued behind the other requests' first decodes: every viewport paints first.
                self._submit(self._load_full, token, weakref.ref(preview), path, dataset, frame, target)
                return
            if full is None:
                full = self._decode_full(path, dataset, frame)
            image = _with_display_levels(full, target if self.reduced_textures else None)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none kills the worker.
            self._report_failure(token, path, error)
            return
        self.image_loaded.emit(token, image)
        self.full_resolution_loaded.emit(token, image)
        self._finished.emit()

    def _load_full(self, token: object, preview: weakref.ref[ProgressiveImage], path: Path,
                   dataset: Dataset, frame: int, target: tuple[int, int]) -> None:
        if preview() is None:
            self._finished.emit()
            return  # Dropped by the receiver (the user opened something else): skip the work.
        try:
            full = self._decode_full(path, dataset, frame)
            levels = display_levels(full.frame, target if self.reduced_textures else None)
        except Exception as error:  # noqa: BLE001 - every failure is reported, none kills the worker.
            self._report_failure(token, path, error)
            return
        image = preview()
        if image is None:
            self._finished.emit()
        else:
            self._refined.emit(token, image, (full, levels))

    def _report_failure(self, token: object, path: Path, error: Exception) -> None:
        """Send a failed decode to the viewer; log the traceback when it is not a DecodeError."""
        if isinstance(error, DecodeError):
            message = str(error)
        else:
            logger.error("Unexpected error decoding %s", path.name, exc_info=error)
            message = f"{path.name}: unexpected decoding error ({error})"
        self.image_failed.emit(token, message)
        self._finished.emit()

    def _on_refined(self, token: object, image: ProgressiveImage,
                    result: tuple[DisplayImage, dict[int, np.ndarray]]) -> None:
        image.refine(*result)
        self.full_resolution_loaded.emit(token, image)
        self._on_finished()

    def _on_finished(self) -> None:
        self._outstanding -= 1
        if self._outstanding > 0:
            return
        with self._unsaved_lock:
            unsaved, self._unsaved = self._unsaved, []
        for entry in unsaved:
            self._submit(self._store, *entry)
        self.idle.emit()

    def _from_cache(self, path: Path, dataset: Dataset, frame: int) -> DisplayImage | None:
        if self.pixel_cache is None or "SOPInstanceUID" not in dataset:
            return None
        shape = (int(dataset.get("Rows", 0) or 0), int(dataset.get("Columns", 0) or 0))
        decoded = self.pixel_cache.load(str(dataset.SOPInstanceUID), frame, shape)
        if decoded is None:
            return None
        return display_image_from(path, dataset, decoded, frame=frame)

    def _preview(self, path: Path, dataset: Dataset, frame: int,
                 target: tuple[int, int]) -> ProgressiveImage | None:
        if not fast_decode.can_reduce(dataset):
            return None
        full_size = (int(dataset.Columns), int(dataset.Rows))
        reduce = fast_decode.choose_reduce(full_size, target)
        if reduce == 0:
            return None
        threads = max(1, (os.cpu_count() or 1) // self._workers)
        try:
            reduced = fast_decode.decode_reduced(dataset, frame, reduce, threads=threads, name=path.name)
        except (DecodeError, fast_decode.OpenJPEGUnavailableError) as error:
            logger.info("No reduced-resolution preview of %s (%s); decoding at full resolution",
                        path.name, error)
            return None
        image = display_image_from(path, dataset, reduced.frame, frame=frame)
        return ProgressiveImage(**_fields_of(image), full_size=full_size, reduce=reduce)

    def _decode_full(self, path: Path, dataset: Dataset, frame: int) -> DisplayImage:
        decoded = decode_frame(dataset, frame, name=path.name)
        image = display_image_from(path, dataset, decoded, frame=frame)
        if self.pixel_cache is not None and "SOPInstanceUID" in dataset:
            with self._unsaved_lock:
                self._unsaved.append((str(dataset.SOPInstanceUID), frame, decoded))
        return image

    def _submit(self, function: Callable[..., None], *args: object) -> None:
        """Queue ``function`` behind the work already queued; after shutdown, drop it."""
        try:
            self._executor.submit(function, *args)
        except RuntimeError:
            logger.debug("Loader shut down; %s not run", function.__name__)

    def _store(self, sop_instance_uid: str, frame: int, decoded: DecodedFrame) -> None:
        if self.pixel_cache is None:
            return
        try:
            self.pixel_cache.store(sop_instance_uid, frame, decoded)
        except (OSError, RuntimeError, ValueError) as error:
            logger.warning("Cannot write the pixel cache for %s frame %d (%s)",
                           sop_instance_uid, frame + 1, error)


def _fields_of(image: DisplayImage) -> dict[str, Any]:
    return {f.name: getattr(image, f.name) for f in dataclasses.fields(DisplayImage)}


def display_levels(frame: DecodedFrame, target: tuple[int, int] | None) -> dict[int, np.ndarray]:
    """The one box-averaged level a viewport within ``target`` needs at most, or none.

    ``target`` is (columns, rows) in device pixels; see :func:`fast_decode.choose_reduce`.
    Colour and 32-bit frames get none and are uploaded whole.
    """
    pixels = frame.pixels
    if target is None or pixels.ndim != 2 or pixels.dtype.itemsize > 2:
        return {}
    level = fast_decode.choose_reduce((pixels.shape[1], pixels.shape[0]), target)
    return {level: fast_decode.box_reduce(pixels, level)} if level > 0 else {}


def _with_display_levels(image: DisplayImage, target: tuple[int, int] | None) -> DisplayImage:
    levels = display_levels(image.frame, target)
    if not levels:
        return image
    return ProgressiveImage(**_fields_of(image), full_size=image.size, display_levels=levels)


_viewports: weakref.WeakSet[QWidget] = weakref.WeakSet()


def register_viewport(viewport: QWidget) -> None:
    """Let the loader size reduced-resolution first decodes by ``viewport`` (weakly held)."""
    _viewports.add(viewport)


def _largest_viewport_size() -> tuple[int, int] | None:
    """The largest width and height, in device pixels, of the visible registered viewports."""
    sizes = []
    for widget in list(_viewports):
        try:
            if not widget.isVisible() or widget.width() <= 1 or widget.height() <= 1:
                continue
            ratio = widget.devicePixelRatioF()
            sizes.append((int(widget.width() * ratio), int(widget.height() * ratio)))
        except RuntimeError:  # Qt deleted the widget; only its Python wrapper is left.
            _viewports.discard(widget)
    if not sizes:
        return None
    return max(width for width, _ in sizes), max(height for _, height in sizes)


def _largest_window_size() -> tuple[int, int]:
    """The largest visible top-level window in device pixels, else the primary screen's size."""
    from PySide6.QtWidgets import QApplication

    sizes = [
        (int(widget.width() * widget.devicePixelRatioF()), int(widget.height() * widget.devicePixelRatioF()))
        for widget in QApplication.topLevelWidgets()
        if widget.isVisible() and widget.isWindow()
    ]
    if sizes:
        return max(sizes, key=lambda size: size[0] * size[1])
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return _FALLBACK_PREVIEW_SIZE
    geometry = screen.size() * screen.devicePixelRatio()
    return geometry.width(), geometry.height()
