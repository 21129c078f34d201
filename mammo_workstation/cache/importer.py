"""Import DICOM files from folders, single files or DICOMDIRs into the local cache."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from mammo_workstation.cache.store import CacheStore, MissingAttributeError
from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import LoadProblem

logger = logging.getLogger(__name__)


@dataclass
class ImportResult:
    """Counts of one import and the files that could not be imported, with the reason."""

    added: int = 0
    skipped_duplicates: int = 0
    study_uids: set[str] = field(default_factory=set)
    problems: list[LoadProblem] = field(default_factory=list)


def import_paths(
    store: CacheStore,
    paths: Iterable[str | os.PathLike[str]],
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Copy every DICOM instance under ``paths`` into ``store`` as one batch.

    A path may be a file, a folder (searched recursively) or a DICOMDIR. Files that are not
    DICOM are listed in :attr:`ImportResult.problems` and do not stop the import.
    ``progress(done, total)`` is called after each file.
    """
    collection = load_paths(paths)
    result = ImportResult(problems=list(collection.problems))
    instances = collection.instances
    batch = store.begin_batch()
    try:
        for done, instance in enumerate(instances, start=1):
            try:
                ds = dcmread(instance.path, stop_before_pixels=True)
                if not batch.add_file(instance.path, ds, instance.transfer_syntax_uid):
                    result.skipped_duplicates += 1
            except (OSError, InvalidDicomError, MissingAttributeError) as error:
                result.problems.append(LoadProblem(instance.path, str(error)))
                logger.warning("Did not import %s: %s", instance.path, error)
            if progress:
                progress(done, len(instances))
        committed = batch.commit()
    finally:
        batch.discard()
    result.added = committed.added
    result.skipped_duplicates += committed.skipped_duplicates
    result.study_uids = committed.study_uids
    logger.info("Imported %d instances into the cache (%d already cached, %d problems)",
                result.added, result.skipped_duplicates, len(result.problems))
    return result
