"""Open associations with remote nodes: AE setup, TLS, TCP_NODELAY and plain failure messages.

Every socket we open or accept gets TCP_NODELAY: a DIMSE exchange is a few small PDUs, and with
Nagle's algorithm each one waits for the peer's delayed ACK (about 40 ms on Linux).
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynetdicom import AE, _config, evt
from pynetdicom.association import Association

from mammo_workstation.net.status import (
    DicomNetworkError,
    Peer,
    refused_message,
    unreachable_message,
)
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)

# Maximum PDU length we accept, in bytes. pynetdicom decodes a PDU in one piece, so larger PDUs
# mean fewer Python-level iterations per image, and 4 MiB bounds the buffer of one PDU.
MAX_PDU_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT_S = 30.0

_NODE_SPEC = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>\[[^\]]+\]|[^:]+):(?P<port>\d{1,5})$")


def parse_node_spec(spec: str) -> RemoteNode:
    """Parse ``AET@HOST:PORT`` (IPv6 hosts in brackets) into a :class:`RemoteNode`."""
    match = _NODE_SPEC.match(spec.strip())
    if not match:
        raise ValueError(
            f"invalid node {spec!r}: expected AET@HOST:PORT, for example ORTHANC@127.0.0.1:4242"
        )
    port = int(match["port"])
    if not 0 < port < 65536:
        raise ValueError(f"invalid port {port} in {spec!r}: expected 1 to 65535")
    ae_title = match["aet"]
    validate_ae_title(ae_title)
    return RemoteNode(name=spec, ae_title=ae_title, host=match["host"].strip("[]"), port=port)


def validate_ae_title(ae_title: str) -> None:
    """Raise ValueError unless ``ae_title`` is a valid AE title (PS3.5 6.2, VR AE)."""
    if not ae_title.strip():
        raise ValueError("invalid AE title: it is empty")
    if len(ae_title) > 16:
        raise ValueError(f"invalid AE title {ae_title!r}: longer than 16 characters")
    if "\\" in ae_title or any(ord(c) < 32 or ord(c) > 126 for c in ae_title):
        raise ValueError(
            f"invalid AE title {ae_title!r}: only printable ASCII without backslash is allowed"
        )


def peer_of(node: RemoteNode) -> Peer:
    return Peer(node.ae_title, node.host, node.port)


def set_tcp_nodelay(event: evt.Event) -> None:
    """EVT_CONN_OPEN handler that turns off Nagle's algorithm on the association's socket."""
    transport = event.assoc.dul.socket
    raw = getattr(transport, "socket", None)
    if raw is not None:
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as error:
            logger.debug("Could not set TCP_NODELAY: %s", error)


def client_ssl_context(node: RemoteNode) -> ssl.SSLContext:
    """Build a TLS client context that verifies the PACS against the node's CA file."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=node.tls_ca_file or None
    )
    if node.tls_cert_file:
        context.load_cert_chain(node.tls_cert_file, node.tls_key_file or None)
    return context


@dataclass
class CallingAE:
    """Our side of an association: AE title and timeouts in seconds."""

    ae_title: str = "MAMMOWS"
    timeout_s: float = DEFAULT_TIMEOUT_S


def hide_identifiers_in_logs() -> None:
    """Stop pynetdicom from logging C-FIND/C-MOVE identifiers (patient names, IDs) at INFO.

    These are pynetdicom's documented switches; they are process-wide.
    """
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False


def make_ae(calling: CallingAE) -> AE:
    hide_identifiers_in_logs()
    ae = AE(ae_title=calling.ae_title)
    ae.connection_timeout = calling.timeout_s
    ae.acse_timeout = calling.timeout_s
    ae.dimse_timeout = calling.timeout_s
    ae.network_timeout = calling.timeout_s
    ae.maximum_pdu_size = MAX_PDU_BYTES
    return ae


@contextmanager
def open_association(
    ae: AE,
    node: RemoteNode,
    calling: CallingAE,
    operation: str,
    ext_neg: Sequence[Any] | None = None,
    evt_handlers: list[Any] | None = None,
) -> Iterator[Association]:
    """Associate with ``node`` using the contexts already on ``ae``; release on exit.

    Raises :class:`DicomNetworkError` naming the peer when the association is rejected, the
    peer cannot be reached, or it aborts before accepting.
    """
    peer = peer_of(node)
    tls_args = None
    if node.tls:
        try:
            tls_args = (client_ssl_context(node), node.host)
        except (OSError, ssl.SSLError) as error:
            raise DicomNetworkError(
                f"{operation} failed: cannot load the TLS files of node {node.name!r} "
                f"({error}). Check the CA, certificate and key paths in the PACS settings.",
                peer,
            ) from error
    connected = threading.Event()

    def on_connection_open(event: evt.Event) -> None:
        connected.set()
        set_tcp_nodelay(event)

    handlers = [(evt.EVT_CONN_OPEN, on_connection_open), *(evt_handlers or [])]
    started = time.monotonic()
    assoc = ae.associate(
        node.host, node.port, ae_title=node.ae_title, max_pdu=MAX_PDU_BYTES,
        ext_neg=list(ext_neg) if ext_neg else None, tls_args=tls_args, evt_handlers=handlers,
    )
    if not assoc.is_established:
        if not connected.is_set():
            waited = time.monotonic() - started
            reason = "timed out" if waited >= calling.timeout_s * 0.95 else "connection refused"
            message = unreachable_message(peer, calling.timeout_s, reason)
            if node.tls:
                # pynetdicom reports a failed TLS handshake as a failed connection.
                message = unreachable_message(
                    peer, calling.timeout_s, f"{reason}, or the TLS handshake failed"
                ) + (" For TLS, check that the PACS uses TLS on this port, that the CA file "
                     "signed its certificate for this host, and that it trusts our certificate.")
            raise DicomNetworkError(message, peer)
        waited = time.monotonic() - started
        raise DicomNetworkError(_failure_message(assoc, peer, calling, operation, waited), peer)
    logger.info("%s: association with %s established", operation, peer)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            # The A-RELEASE exchange and pynetdicom's thread shutdown take 2 to 16 ms; every
            # response has arrived by now, so the caller goes on while that completes.
            threading.Thread(target=assoc.release, name="dicom-release", daemon=True).start()


def _failure_message(assoc: Association, peer: Peer, calling: CallingAE, operation: str,
                     waited_s: float) -> str:
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        reason = str(getattr(primitive, "reason_str", "") or "") if primitive else ""
        return refused_message(peer, calling.ae_title, reason)
    if waited_s >= calling.timeout_s * 0.95:
        # pynetdicom aborts the association itself when the ACSE timeout expires.
        return (
            f"{operation} timed out: {peer} accepted the connection but did not answer the "
            f"association request within {calling.timeout_s:g} s. Check that the port belongs "
            "to a DICOM service, and whether it expects TLS."
        )
    if assoc.is_aborted:
        return (
            f"{operation} failed: {peer} aborted the association before accepting it. "
            "If the node uses TLS, check that TLS is on at both ends and the certificates match; "
            "otherwise check the AE titles in the PACS log."
        )
    return (
        f"{operation} failed: {peer} did not accept the association within "
        f"{calling.timeout_s:g} s. Check the AE titles and the PACS log."
    )
