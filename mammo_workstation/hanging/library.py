"""The protocols in use: bundled, then site, then user folders, later ones overriding by name.

Each folder is ``<folder>/*.toml`` plus DICOM Hanging Protocol objects (``*.dcm``). A file that
cannot be used is reported in :attr:`ProtocolLibrary.errors` and skipped; the others load.
:meth:`ProtocolLibrary.reload_if_changed` rereads the folders when a file was added, removed
or modified, so edits apply without a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mammo_workstation.hanging.protocol import Protocol
from mammo_workstation.hanging.toml_format import ProtocolFileError, load_protocol_file
from mammo_workstation.settings import config_dir, site_config_dir

logger = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parent / "protocols"
FALLBACK_NAME = "Series grid"


def protocol_folders() -> list[Path]:
    """Bundled, site and user protocol folders, in override order (last wins)."""
    return [BUNDLED_DIR, site_config_dir() / "protocols", config_dir() / "protocols"]


@dataclass(frozen=True)
class LoadedProtocol:
    protocol: Protocol
    path: Path
    overrides: Path | None = None


class ProtocolLibrary:
    """Protocols by name, loaded from ``folders`` (default :func:`protocol_folders`)."""

    def __init__(self, folders: list[Path] | None = None) -> None:
        self._fixed_folders = folders
        self.loaded: dict[str, LoadedProtocol] = {}
        self.errors: list[ProtocolFileError] = []
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()
        self.reload()

    @property
    def folders(self) -> list[Path]:
        return self._fixed_folders if self._fixed_folders is not None else protocol_folders()

    @property
    def protocols(self) -> list[Protocol]:
        return [entry.protocol for entry in self.loaded.values()]

    def get(self, name: str) -> Protocol | None:
        entry = self.loaded.get(name)
        return entry.protocol if entry else None

    def reload(self) -> None:
        """Reread every folder; unusable files go to :attr:`errors`, each logged once."""
        loaded: dict[str, LoadedProtocol] = {}
        errors: list[ProtocolFileError] = []
        for path in self._files():
            try:
                protocols = _load_any(path)
            except ProtocolFileError as error:
                logger.warning("%s", error)
                errors.append(error)
                continue
            for protocol in protocols:
                previous = loaded.get(protocol.name)
                if previous is not None and previous.path.parent == path.parent:
                    logger.warning("Hanging protocol %r in %s repeats the name used in %s; the later file wins",
                                   protocol.name, path, previous.path)
                loaded[protocol.name] = LoadedProtocol(protocol, path, previous.path if previous else None)
        self.loaded, self.errors = loaded, errors
        self._fingerprint = self._current_fingerprint()

    def reload_if_changed(self) -> bool:
        """Reload when any protocol file was added, removed or modified; returns whether it did."""
        if self._current_fingerprint() == self._fingerprint:
            return False
        logger.info("Hanging protocol files changed; reloading")
        self.reload()
        return True

    def _files(self) -> list[Path]:
        files: list[Path] = []
        for folder in self.folders:
            if folder.is_dir():
                files += sorted(p for p in folder.iterdir() if p.suffix.lower() in (".toml", ".dcm") and p.is_file())
        return files

    def _current_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        entries = []
        for path in self._files():
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(entries)


def _load_any(path: Path) -> list[Protocol]:
    if path.suffix.lower() == ".dcm":
        from mammo_workstation.hanging.dicom_protocol import load_dicom_protocol

        return [load_dicom_protocol(path)]
    return [load_protocol_file(path)]
