"""Local cache of DICOM studies: files under the cache folder and their SQLite index."""

from mammo_workstation.cache.importer import ImportResult, import_paths
from mammo_workstation.cache.index import CacheIndex, StudyFilter, StudyRow
from mammo_workstation.cache.store import Batch, CacheStore, CommitResult

__all__ = [
    "Batch",
    "CacheIndex",
    "CacheStore",
    "CommitResult",
    "ImportResult",
    "StudyFilter",
    "StudyRow",
    "import_paths",
]
