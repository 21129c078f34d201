"""Scanning and decoding on worker threads; results reach the GUI thread through signals."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from mammo_workstation.dicom.decode import DecodeError
from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import Instance
from mammo_workstation.pipeline.image import load_display_image

logger = logging.getLogger(__name__)


class BackgroundLoader(QObject):
    """Runs folder scans and image decodes off the GUI thread.

    Each request carries a ``token`` chosen by the caller; results come back with it, so a
    result that arrives after the user moved on can be recognised and dropped.
    """

    scanned = Signal(object, object)  # token, StudyCollection
    image_loaded = Signal(object, object)  # token, DisplayImage
    image_failed = Signal(object, str)  # token, message naming the file and the cause

    def __init__(self, parent: QObject | None = None, workers: int | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(
            max_workers=workers or max(2, os.cpu_count() or 2), thread_name_prefix="decode"
        )

    def scan(self, token: object, paths: Sequence[Path]) -> None:
        self._executor.submit(self._scan, token, list(paths))

    def load(self, token: object, instance: Instance, frame: int = 0) -> None:
        self._executor.submit(self._load, token, instance, frame)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _scan(self, token: object, paths: list[Path]) -> None:
        try:
            collection = load_paths(paths)
        except Exception as error:  # noqa: BLE001 - report, never kill the worker silently.
            logger.exception("Scanning failed")
            from mammo_workstation.dicom.model import LoadProblem, StudyCollection

            collection = StudyCollection(problems=[LoadProblem(Path(str(paths[0])), str(error))])
        self.scanned.emit(token, collection)

    def _load(self, token: object, instance: Instance, frame: int) -> None:
        try:
            image = load_display_image(instance.path, frame)
        except DecodeError as error:
            self.image_failed.emit(token, str(error))
            return
        except Exception as error:  # noqa: BLE001 - a decoder bug must not take the app down.
            logger.exception("Unexpected error decoding %s", instance.path.name)
            self.image_failed.emit(token, f"{instance.path.name}: unexpected decoding error ({error})")
            return
        self.image_loaded.emit(token, image)
