"""C-ECHO (Verification SOP Class, PS3.4 Annex A): the "Test connection" button."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from mammo_workstation.net.association import CallingAE, make_ae, open_association, peer_of
from mammo_workstation.net.contexts import VERIFICATION
from mammo_workstation.net.status import SUCCESS, DicomNetworkError
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EchoResult:
    """Outcome of one C-ECHO: ``message`` is a sentence for the user."""

    ok: bool
    message: str
    round_trip_ms: float = 0.0


def echo(node: RemoteNode, calling: CallingAE) -> EchoResult:
    """Send a C-ECHO to ``node``; a network failure is returned as ``ok=False``, not raised."""
    peer = peer_of(node)
    ae = make_ae(calling)
    ae.add_requested_context(VERIFICATION)
    started = time.perf_counter()
    try:
        with open_association(ae, node, calling, "C-ECHO") as assoc:
            status = assoc.send_c_echo()
    except DicomNetworkError as error:
        return EchoResult(False, str(error))
    elapsed_ms = (time.perf_counter() - started) * 1000
    code = getattr(status, "Status", None)
    if code is None:
        return EchoResult(False, f"C-ECHO failed: {peer} did not answer within "
                                 f"{calling.timeout_s:g} s or dropped the connection.")
    if code != SUCCESS:
        return EchoResult(False, f"C-ECHO failed: {peer} answered with status 0x{code:04X}.")
    logger.info("C-ECHO to %s succeeded in %.0f ms", peer, elapsed_ms)
    return EchoResult(True, f"Connection to {peer} works (C-ECHO in {elapsed_ms:.0f} ms).",
                      elapsed_ms)
