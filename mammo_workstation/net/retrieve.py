"""Retrieve a study into the local cache with C-MOVE or C-GET (PS3.4 C.4.2, C.4.3).

The instances of one retrieve are staged in a cache batch and committed in one step when the
PACS reports the end of the retrieve. A cancelled, aborted or failed retrieve discards the batch,
so the cache never contains part of a study from it. Running the retrieve again fetches the study
in full. When the PACS reports that some sub-operations failed (B000), the instances that did
arrive are committed and the study is recorded with the number of instances expected, so the
local study browser can show it as incomplete.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.association import Association

from mammo_workstation.cache.store import Batch, CacheStore
from mammo_workstation.net.association import CallingAE, make_ae, open_association, peer_of
from mammo_workstation.net.cancel import CancelToken
from mammo_workstation.net.contexts import STUDY_ROOT_GET, STUDY_ROOT_MOVE, get_contexts
from mammo_workstation.net.query import find_instances
from mammo_workstation.net.status import (
    CANCEL,
    PENDING,
    SUB_OPERATIONS_FAILED,
    SUCCESS,
    DicomNetworkError,
    OperationCancelledError,
    Peer,
    aborted_message,
    status_message,
    timeout_message,
)
from mammo_workstation.net.storage_scp import Reception, StorageSCP
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)

C_MOVE = "C-MOVE"
C_GET = "C-GET"
# After a C-CANCEL, how long the PACS gets to send its final response before we abort, in s.
CANCEL_GRACE_S = 5.0


@dataclass
class RetrieveProgress:
    """Progress of one study: instances received of the total the PACS reported."""

    study_uid: str
    received: int
    total: int | None
    failed: int
    bytes_received: int
    elapsed_s: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes_received / 1e6 / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass
class RetrieveResult:
    """Outcome of a retrieve that reached the cache (success or partial success)."""

    study_uid: str
    method: str
    received: int
    duplicates: int
    failed: int
    bytes_received: int
    elapsed_s: float
    warning: str = ""

    @property
    def mb_per_s(self) -> float:
        return self.bytes_received / 1e6 / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def instances_per_s(self) -> float:
        count = self.received + self.duplicates
        return count / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressCallback = Callable[[RetrieveProgress], None]


@dataclass
class _Counts:
    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int | None = None

    def update(self, status: Dataset) -> None:
        for attribute, keyword in (
            ("completed", "NumberOfCompletedSuboperations"),
            ("failed", "NumberOfFailedSuboperations"),
            ("warning", "NumberOfWarningSuboperations"),
        ):
            value = status.get(keyword)
            if value is not None:
                setattr(self, attribute, int(value))
        remaining = status.get("NumberOfRemainingSuboperations")
        if remaining is not None:
            self.remaining = int(remaining)

    @property
    def total(self) -> int | None:
        if self.remaining is None:
            return None
        return self.completed + self.failed + self.warning + self.remaining


def retrieve_study(
    node: RemoteNode,
    study_uid: str,
    calling: CallingAE,
    store: CacheStore,
    scp: StorageSCP | None = None,
    method: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RetrieveResult:
    """Retrieve one study from ``node`` into ``store``.

    ``method`` defaults to the node's retrieve method. C-MOVE needs ``scp``, our running Storage
    SCP, whose AE title the PACS must know. Raises :class:`DicomNetworkError` (or
    :class:`OperationCancelledError`) with a message naming the peer; nothing is added to the
    cache then.
    """
    method = (method or node.retrieve_method or C_MOVE).upper()
    if method not in (C_MOVE, C_GET):
        raise ValueError(f"invalid retrieve method {method!r}: expected C-MOVE or C-GET")
    if method == C_MOVE and (scp is None or not scp.running):
        raise DicomNetworkError(
            "C-MOVE needs our Storage SCP, which is not running. Configure the local AE port "
            "in PACS > Nodes, or retrieve with C-GET.", peer_of(node))
    cancel = cancel or CancelToken()
    batch = store.begin_batch(node.ae_title)
    try:
        if method == C_MOVE:
            assert scp is not None
            # The sub-operations arrive on our Storage SCP, which routes them by study.
            reception = scp.expect(study_uid, batch)
            try:
                counts = _run_move(node, study_uid, calling, scp, reception, progress, cancel)
            finally:
                scp.release(reception)
        else:
            reception = Reception(study_uid, batch)
            counts = _run_get(node, study_uid, calling, reception, progress, cancel)
        return _commit(node, study_uid, method, batch, reception, counts)
    finally:
        batch.discard()


def _commit(node: RemoteNode, study_uid: str, method: str, batch: Batch,
            reception: Reception, counts: _Counts) -> RetrieveResult:
    elapsed = time.monotonic() - reception.started
    expected = counts.completed + counts.failed + counts.warning
    warning = ""
    if counts.failed:
        warning = status_message(SUB_OPERATIONS_FAILED, peer_of(node), method)
    total_arrived = reception.received + reception.duplicates
    if total_arrived < expected and not warning:
        warning = (
            f"{method} from {peer_of(node)} reported {expected} instances but {total_arrived} "
            "arrived; retry to complete the study."
        )
    committed = batch.commit({study_uid: expected} if expected else None)
    result = RetrieveResult(
        study_uid=study_uid, method=method, received=committed.added,
        duplicates=reception.duplicates + committed.skipped_duplicates,
        failed=counts.failed, bytes_received=reception.bytes_received, elapsed_s=elapsed,
        warning=warning,
    )
    logger.info("%s from %s: %d instances (%d already cached, %d failed), %.1f MB/s",
                method, peer_of(node), result.received, result.duplicates, result.failed,
                result.mb_per_s)
    return result


def _identifier(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    return ds


def _run_move(node: RemoteNode, study_uid: str, calling: CallingAE, scp: StorageSCP,
              reception: Reception, progress: ProgressCallback | None,
              cancel: CancelToken) -> _Counts:
    ae = make_ae(calling)
    ae.add_requested_context(STUDY_ROOT_MOVE)
    with open_association(ae, node, calling, C_MOVE) as assoc:
        responses = assoc.send_c_move(_identifier(study_uid), scp.local.ae_title,
                                      STUDY_ROOT_MOVE)
        return _follow(assoc, responses, node, C_MOVE, reception, progress, cancel,
                       STUDY_ROOT_MOVE, local_ae_title=scp.local.ae_title)


def _run_get(node: RemoteNode, study_uid: str, calling: CallingAE, reception: Reception,
             progress: ProgressCallback | None, cancel: CancelToken) -> _Counts:
    sop_classes = _sop_classes_of(node, study_uid, calling)
    contexts, roles = get_contexts(sop_classes)
    ae = make_ae(calling)
    for context in contexts:
        ae.add_requested_context(context.abstract_syntax, context.transfer_syntax)
    handlers = [(evt.EVT_C_STORE, reception.store)]
    with open_association(ae, node, calling, C_GET, ext_neg=roles,
                          evt_handlers=handlers) as assoc:
        responses = assoc.send_c_get(_identifier(study_uid),
                                     STUDY_ROOT_GET)
        return _follow(assoc, responses, node, C_GET, reception, progress, cancel,
                       STUDY_ROOT_GET)


def _sop_classes_of(node: RemoteNode, study_uid: str, calling: CallingAE) -> list[str]:
    """Return the SOP classes of the study from an IMAGE-level C-FIND, or [] on failure."""
    try:
        instances = find_instances(node, study_uid, "", calling)
    except DicomNetworkError as error:
        logger.info("IMAGE-level C-FIND before C-GET failed (%s); proposing the usual "
                    "mammography SOP classes", error)
        return []
    return sorted({i.sop_class_uid for i in instances if i.sop_class_uid})


def _follow(assoc: Association, responses: object, node: RemoteNode, method: str,
            reception: Reception, progress: ProgressCallback | None, cancel: CancelToken,
            query_model: str, local_ae_title: str = "") -> _Counts:
    """Read C-MOVE or C-GET responses until the final one; return the sub-operation counts."""
    peer = peer_of(node)
    counts = _Counts()
    abort_timers: list[threading.Timer] = []
    last_response = time.monotonic()

    def send_cancel() -> None:
        if assoc.is_established and not abort_timers:
            assoc.send_c_cancel(1, query_model=query_model)
            timer = threading.Timer(CANCEL_GRACE_S, _abort_if_open, (assoc,))
            timer.daemon = True
            abort_timers.append(timer)
            timer.start()

    cancel.on_cancel(send_cancel)
    try:
        for status, _ in responses:  # type: ignore[attr-defined]
            code = getattr(status, "Status", None)
            if code is None:
                _raise_lost(assoc, peer, method, cancel, time.monotonic() - last_response)
                break
            last_response = time.monotonic()
            counts.update(status)
            if code in PENDING:
                _report(progress, reception, counts)
                continue
            counts.remaining = 0
            _report(progress, reception, counts)
            _check_final(code, peer, method, cancel, local_ae_title)
            return counts
    finally:
        cancel.remove(send_cancel)
        for timer in abort_timers:
            timer.cancel()
    _raise_lost(assoc, peer, method, cancel, time.monotonic() - last_response)
    return counts  # Unreachable: _raise_lost always raises.


def _abort_if_open(assoc: Association) -> None:
    if assoc.is_established:
        logger.warning("The peer did not end the retrieve within %.0f s of C-CANCEL; "
                       "aborting the association", CANCEL_GRACE_S)
        assoc.abort()


def _report(progress: ProgressCallback | None, reception: Reception, counts: _Counts) -> None:
    if progress is None:
        return
    progress(RetrieveProgress(
        study_uid=reception.study_uid,
        received=reception.received + reception.duplicates,
        total=counts.total,
        failed=counts.failed,
        bytes_received=reception.bytes_received,
        elapsed_s=time.monotonic() - reception.started,
    ))


def _check_final(code: int, peer: Peer, method: str, cancel: CancelToken,
                 local_ae_title: str) -> None:
    if code == SUCCESS:
        return  # Everything arrived before the C-CANCEL took effect, so keep it.
    if code == SUB_OPERATIONS_FAILED and not cancel.cancelled:
        return
    if code == CANCEL or cancel.cancelled:
        raise OperationCancelledError(f"{method} was cancelled.", peer, code)
    raise DicomNetworkError(status_message(code, peer, method, local_ae_title), peer, code)


def _raise_lost(assoc: Association, peer: Peer, method: str, cancel: CancelToken,
                silent_s: float) -> None:
    """Raise for a response stream that ended without a final response."""
    if cancel.cancelled:
        raise OperationCancelledError(f"{method} was cancelled.", peer)
    timeout_s = float(assoc.dimse_timeout or 0)
    if timeout_s and silent_s >= timeout_s * 0.95:
        # pynetdicom aborts the association itself when the DIMSE timeout expires.
        raise DicomNetworkError(timeout_message(peer, method, timeout_s), peer)
    raise DicomNetworkError(aborted_message(peer, method), peer)
