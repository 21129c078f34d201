"""The PACS side of the application: settings, cache, Storage SCP and background jobs.

Every network or cache call runs on a QThreadPool worker; its result, error or progress
reaches the GUI thread through the signals of a :class:`Job`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mammo_workstation.cache import CacheStore, StudyFilter, StudyRow
from mammo_workstation.net import (
    CallingAE,
    CancelToken,
    DicomNetworkError,
    StorageSCP,
    most_recent_earlier_study,
    prefetch_priors,
)
from mammo_workstation.net.cli import default_cache_root
from mammo_workstation.net.priors import study_result_from_cache
from mammo_workstation.settings import RemoteNode, Settings

logger = logging.getLogger(__name__)


class Job(QObject):
    """Signals of one background call; ``progress`` carries whatever the call reports."""

    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_token = CancelToken()
        self.done = False

    def cancel(self) -> None:
        self.cancel_token.cancel()


class _Runnable(QRunnable):
    """Runs one call; ``progress`` gets one value, or a tuple when the call reports several."""

    def __init__(self, job: Job, function: Callable[..., Any], args: Sequence[Any]) -> None:
        super().__init__()
        self.job = job
        self.function = function
        self.args = args

    def run(self) -> None:
        keywords: dict[str, Any] = {}
        parameters = inspect.signature(self.function).parameters
        if "progress" in parameters:
            keywords["progress"] = self._report
        if "cancel" in parameters:
            keywords["cancel"] = self.job.cancel_token
        try:
            result = self.function(*self.args, **keywords)
        except DicomNetworkError as error:
            self.job.done = True
            self.job.failed.emit(str(error))
            return
        except (OSError, ValueError) as error:
            logger.warning("PACS job failed: %s", error)
            self.job.done = True
            self.job.failed.emit(str(error))
            return
        except Exception as error:
            logger.exception("PACS job %s failed unexpectedly", self.function.__name__)
            self.job.done = True
            self.job.failed.emit(f"Internal error: {error}. The log has the details.")
            return
        self.job.done = True
        self.job.finished.emit(result)

    def _report(self, *values: Any) -> None:
        self.job.progress.emit(values[0] if len(values) == 1 else values)


class PacsService(QObject):
    """One per main window: owns the cache, the Storage SCP and the worker pool."""

    settings_changed = Signal()
    cache_changed = Signal()

    def __init__(self, open_paths: Callable[[list[Path]], None],
                 parent: QObject | None = None, settings_path: Path | None = None) -> None:
        super().__init__(parent)
        self.open_paths = open_paths
        self.settings_path = settings_path
        self.settings = Settings.load(settings_path)
        self.store = CacheStore(default_cache_root(), self._quota_bytes())
        self.scp: StorageSCP | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self.jobs: list[Job] = []

    def _quota_bytes(self) -> int:
        return self.settings.pacs.cache_quota_mb * 1_000_000

    @property
    def calling(self) -> CallingAE:
        pacs = self.settings.pacs
        return CallingAE(pacs.local.ae_title, pacs.network_timeout_s)

    def node(self, name: str) -> RemoteNode | None:
        return next((n for n in self.settings.pacs.nodes if n.name == name), None)

    def save_settings(self, settings: Settings) -> str | None:
        """Store new settings, restart the Storage SCP; return an error sentence or None."""
        self.settings = settings
        settings.save(self.settings_path)
        self.store.quota_bytes = self._quota_bytes()
        self.settings_changed.emit()
        return self.restart_scp()

    def restart_scp(self) -> str | None:
        """(Re)start the Storage SCP when a port is set; return an error sentence or None."""
        self.stop_scp()
        local = self.settings.pacs.local
        if local.port <= 0:
            return None
        scp = StorageSCP(local, self.store, self.settings.pacs.network_timeout_s)
        try:
            scp.start()
        except DicomNetworkError as error:
            logger.error("%s", error)
            return str(error)
        self.scp = scp
        return None

    def stop_scp(self) -> None:
        if self.scp is not None:
            self.scp.stop()
            self.scp = None

    def submit(self, function: Callable[..., Any], *args: Any) -> Job:
        """Run ``function(*args)`` on the pool; it gets ``progress``/``cancel`` if it takes them."""
        job = Job(self)
        self.jobs = [j for j in self.jobs if not j.done] + [job]
        self.pool.start(_Runnable(job, function, args))
        return job

    def shutdown(self) -> None:
        """Cancel running jobs, wait up to 10 s for them, and stop the Storage SCP."""
        for job in self.jobs:
            job.cancel()
        self.pool.waitForDone(10_000)
        self.stop_scp()

    # Opening studies

    def open_study(self, study_uid: str) -> list[Path]:
        """Open a cached study (with its cached prior) and prefetch priors in the background."""
        rows = self.store.studies(StudyFilter(study_uid=study_uid))
        if not rows:
            return []
        current = rows[0]
        paths = self.store.study_paths(study_uid)
        # The main window's studies_opened and studies_closed signals protect the shown
        # studies from eviction while they are shown.
        prior = self.cached_prior(current)
        if prior is not None:
            paths += self.store.study_paths(prior.study_uid)
        self.open_paths(paths)
        return paths

    def cached_prior(self, current: StudyRow) -> StudyRow | None:
        candidates = self.store.studies(StudyFilter(patient_id=current.patient_id))
        chosen = most_recent_earlier_study(
            study_result_from_cache(current), [study_result_from_cache(c) for c in candidates])
        if not chosen:
            return None
        return next(c for c in candidates if c.study_uid == chosen[0].study_uid)

    def prefetch_priors_for(self, study_uid: str) -> Job | None:
        """Query the study's source node for priors and retrieve the chosen one in the background."""
        rows = self.store.studies(StudyFilter(study_uid=study_uid))
        node = self._node_for(rows[0].source_ae_title) if rows else None
        if not rows or node is None:
            return None
        current = study_result_from_cache(rows[0])
        return self.submit(self._prefetch, node, current)

    def _prefetch(self, node: RemoteNode, current: Any, progress: Any = None,
                  cancel: Any = None) -> Any:
        return prefetch_priors(node, current, self.calling, self.store, self.scp,
                               progress=progress, cancel=cancel)

    def _node_for(self, ae_title: str) -> RemoteNode | None:
        nodes = self.settings.pacs.nodes
        return next((n for n in nodes if n.ae_title == ae_title), nodes[0] if nodes else None)
