"""DIMSE status codes and association failures as messages a PACS administrator can act on.

Status values are from PS3.4 Annex C.4 (C-FIND, C-MOVE, C-GET) and PS3.7 Annex C.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCESS = 0x0000
CANCEL = 0xFE00
PENDING = (0xFF00, 0xFF01)
SUB_OPERATIONS_FAILED = 0xB000


@dataclass(frozen=True)
class Peer:
    """The remote AE of an operation, shown in messages as ``AE title at host:port``."""

    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title} at {self.host}:{self.port}"


class DicomNetworkError(Exception):
    """A DICOM network operation failed; the message names the peer and what to do."""

    def __init__(self, message: str, peer: Peer | None = None, status: int | None = None):
        super().__init__(message)
        self.peer = peer
        self.status = status


class OperationCancelledError(DicomNetworkError):
    """The user cancelled the operation."""


def status_message(status: int, peer: Peer, operation: str, local_ae_title: str = "") -> str:
    """Return a plain sentence for a non-success DIMSE ``status`` of ``operation``."""
    code = f"0x{status:04X}"
    if status == 0xA801:
        return (
            f"{operation} failed: {peer} does not know the move destination "
            f"{local_ae_title or 'AE title'} (status {code}). Add this workstation to the PACS "
            f"as a DICOM node (AE title {local_ae_title or 'ours'}, this computer's address and "
            "the Storage SCP port), or retrieve with C-GET instead."
        )
    if status == 0xA702:
        return (
            f"{operation} failed: {peer} ran out of resources or could not send the images "
            f"to us (status {code}, unable to perform sub-operations). Check that our Storage "
            "SCP is reachable from the PACS and accepts its transfer syntax, then retry."
        )
    if status == 0xA701:
        return (
            f"{operation} failed: {peer} ran out of resources to compute the number of matches "
            f"(status {code}). Narrow the query or retry later."
        )
    if status == SUB_OPERATIONS_FAILED:
        return (
            f"{operation} finished with warnings: {peer} could not send some images "
            f"(status {code}, one or more sub-operations failed). The images that arrived were "
            "kept; check the PACS log for the failed ones and retry to complete the study."
        )
    if status == CANCEL:
        return f"{operation} was cancelled; {peer} stopped sending."
    if operation == "C-MOVE" and 0xC000 <= status <= 0xCFFF:
        return (
            f"{operation} failed: {peer} could not process the request (status {code}). "
            f"Orthanc answers this way when it does not know the move destination "
            f"{local_ae_title or 'AE title'} or cannot connect to it: check that the PACS lists "
            "this workstation with its AE title, address and Storage SCP port, that the "
            "Storage SCP accepts the PACS's calling AE title, or retrieve with C-GET."
        )
    if status == 0xA900 or 0xC000 <= status <= 0xCFFF:
        return (
            f"{operation} failed: {peer} rejected the request identifier "
            f"(status {code}, identifier does not match SOP class or unable to process). "
            "Check the query keys and the PACS log."
        )
    if status == 0x0122:
        return (
            f"{operation} failed: {peer} does not support this query/retrieve model "
            f"(status {code}, SOP class not supported)."
        )
    if status == 0x0124:
        return f"{operation} failed: {peer} refused it as not authorised (status {code})."
    return f"{operation} failed: {peer} returned status {code}."


def refused_message(peer: Peer, local_ae_title: str, reason: str = "") -> str:
    detail = f" ({reason.strip()})" if reason.strip() else ""
    return (
        f"{peer} rejected the association{detail}. Check that the AE title {peer.ae_title!r} is "
        f"right and that the PACS knows this workstation as calling AE title "
        f"{local_ae_title!r}."
    )


def unreachable_message(peer: Peer, timeout_s: float, reason: str = "") -> str:
    detail = f" ({reason})" if reason else ""
    return (
        f"Could not connect to {peer} within {timeout_s:g} s{detail}. Check the host name and "
        "port, that the PACS is running, and that no firewall blocks the port."
    )


def aborted_message(peer: Peer, operation: str) -> str:
    return (
        f"{operation} stopped: the association with {peer} was aborted or the connection "
        "dropped. Nothing partial was kept; retry to fetch the study again."
    )


def timeout_message(peer: Peer, operation: str, timeout_s: float) -> str:
    return (
        f"{operation} timed out: {peer} did not answer within {timeout_s:g} s. The PACS may "
        "be busy; retry, or raise the network timeout in the PACS settings."
    )
