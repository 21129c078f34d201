"""Our Storage SCP (PS3.4 Annex B): receives C-MOVE sub-operations and pushed instances.

Instances of a study that a retrieve is waiting for go into that retrieve's
:class:`Reception`, and reach the cache only when the retrieve commits. Instances that no
retrieve waits for (a PACS pushing on its own) are committed one by one.
"""

from __future__ import annotations

import errno
import io
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from mammo_workstation.cache.store import Batch, CacheStore, MissingAttributeError
from mammo_workstation.net.association import (
    MAX_PDU_BYTES,
    hide_identifiers_in_logs,
    set_tcp_nodelay,
)
from mammo_workstation.net.contexts import storage_scp_contexts
from mammo_workstation.net.status import DicomNetworkError
from mammo_workstation.settings import LocalAE

logger = logging.getLogger(__name__)

# C-STORE failure statuses, PS3.4 B.2.3.
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_CANNOT_UNDERSTAND = 0xC000


@dataclass
class Reception:
    """Instances of one retrieve as they arrive; thread-safe counters for progress."""

    study_uid: str
    batch: Batch
    started: float = field(default_factory=time.monotonic)
    received: int = 0
    duplicates: int = 0
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self, event: evt.Event, received: ReceivedInstance | None = None) -> int:
        """Stage the instance of a C-STORE request and return the C-STORE status."""
        if self.batch.closed:
            # The retrieve was cancelled or failed; the peer may still be sending.
            return STATUS_OUT_OF_RESOURCES
        if received is None:
            try:
                received = ReceivedInstance.from_event(event)
            except (InvalidDicomError, ValueError, EOFError) as error:
                logger.warning("Rejected a C-STORE from %s: %s", _requestor(event), error)
                return STATUS_CANNOT_UNDERSTAND
        return _stage(self, event, received)

    @property
    def mb_per_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.bytes_received / 1e6 / elapsed if elapsed > 0 else 0.0


@dataclass
class ReceivedInstance:
    """A C-STORE request's data set as a DICOM file image, with its header decoded."""

    encoded: bytes
    header: Dataset
    transfer_syntax_uid: str

    @classmethod
    def from_event(cls, event: evt.Event) -> ReceivedInstance:
        encoded = event.encoded_dataset(include_meta=True)
        header = dcmread(io.BytesIO(encoded), stop_before_pixels=True)
        return cls(encoded, header, str(event.context.transfer_syntax[0]))


def _stage(reception: Reception, event: evt.Event, received: ReceivedInstance) -> int:
    encoded = received.encoded
    try:
        added = reception.batch.add_encoded(received.header, encoded,
                                            received.transfer_syntax_uid)
    except (MissingAttributeError, ValueError) as error:
        logger.warning("Rejected a C-STORE from %s: %s", _requestor(event), error)
        return STATUS_CANNOT_UNDERSTAND
    except OSError as error:
        logger.error("Could not write a received instance into the cache: %s", error)
        return STATUS_OUT_OF_RESOURCES
    with reception._lock:
        reception.bytes_received += len(encoded)
        if added:
            reception.received += 1
        else:
            reception.duplicates += 1
    return 0x0000


def _requestor(event: evt.Event) -> str:
    requestor = event.assoc.requestor
    return f"{requestor.ae_title} at {requestor.address}:{requestor.port}"


class StorageSCP:
    """A pynetdicom Storage SCP bound to the local AE's address and port."""

    def __init__(self, local: LocalAE, store: CacheStore, timeout_s: float = 30.0) -> None:
        self.local = local
        self.store = store
        self.timeout_s = timeout_s
        self._server: ThreadedAssociationServer | None = None
        self._receptions: dict[str, Reception] = {}
        self._lock = threading.Lock()
        self.unsolicited_received = 0

    @property
    def port(self) -> int:
        """The port actually listened on (useful when ``local.port`` is 0)."""
        if self._server is None:
            return 0
        return int(self._server.server_address[1])

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen for associations; raise :class:`DicomNetworkError` if the port is taken."""
        hide_identifiers_in_logs()
        ae = AE(ae_title=self.local.ae_title)
        ae.maximum_pdu_size = MAX_PDU_BYTES
        ae.network_timeout = self.timeout_s
        ae.acse_timeout = self.timeout_s
        ae.dimse_timeout = self.timeout_s
        ae.maximum_associations = 16
        ae.require_calling_aet = list(self.local.allowed_calling_ae_titles)
        contexts = storage_scp_contexts()
        handlers: list[Any] = [(evt.EVT_CONN_OPEN, set_tcp_nodelay), (evt.EVT_C_STORE, self._handle_store)]
        address = (self.local.bind_address or "0.0.0.0", self.local.port)
        try:
            self._server = ae.start_server(address, block=False, evt_handlers=handlers,
                                           contexts=contexts)
        except OSError as error:
            raise DicomNetworkError(_bind_failure(self.local, error)) from error
        logger.info("Storage SCP %s listening on %s:%d", self.local.ae_title,
                    address[0], self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
            logger.info("Storage SCP %s stopped", self.local.ae_title)

    def expect(self, study_uid: str, batch: Batch) -> Reception:
        """Route the instances of ``study_uid`` into ``batch`` until :meth:`release`."""
        reception = Reception(study_uid, batch)
        with self._lock:
            if study_uid in self._receptions:
                raise DicomNetworkError(
                    "This study is already being retrieved; wait for that retrieve to finish."
                )
            self._receptions[study_uid] = reception
        return reception

    def release(self, reception: Reception) -> None:
        with self._lock:
            if self._receptions.get(reception.study_uid) is reception:
                del self._receptions[reception.study_uid]

    def _handle_store(self, event: evt.Event) -> int:
        try:
            received = ReceivedInstance.from_event(event)
        except (InvalidDicomError, ValueError, EOFError) as error:
            logger.warning("Rejected a C-STORE from %s: %s", _requestor(event), error)
            return STATUS_CANNOT_UNDERSTAND
        study_uid = str(received.header.get("StudyInstanceUID", ""))
        with self._lock:
            reception = self._receptions.get(study_uid)
        if reception is not None:
            return reception.store(event, received)
        return self._store_unsolicited(event, received)

    def _store_unsolicited(self, event: evt.Event, received: ReceivedInstance) -> int:
        batch = self.store.begin_batch(event.assoc.requestor.ae_title)
        try:
            status = _stage(Reception("", batch), event, received)
            if status == 0x0000:
                batch.commit()
                self.unsolicited_received += 1
            return status
        except OSError as error:
            logger.error("Could not commit a received instance into the cache: %s", error)
            return STATUS_OUT_OF_RESOURCES
        finally:
            batch.discard()


def _bind_failure(local: LocalAE, error: OSError) -> str:
    where = f"{local.bind_address or '0.0.0.0'}:{local.port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"The Storage SCP could not start: port {local.port} is already in use on {where}. "
            "Another DICOM program (or a second copy of this one) is listening there; stop it "
            "or choose another port in PACS > Nodes, and register that port on the PACS."
        )
    if error.errno == errno.EACCES:
        return (
            f"The Storage SCP could not start: no permission to listen on port {local.port}. "
            "Ports below 1024 need administrator rights; choose a port above 1024."
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"The Storage SCP could not start: {local.bind_address} is not an address of "
            "this computer. Fix the bind address in PACS > Nodes (0.0.0.0 listens on all)."
        )
    return f"The Storage SCP could not start on {where}: {error}."
