"""DICOM networking: C-ECHO, C-FIND, C-MOVE and C-GET SCUs, our Storage SCP and priors.

Nothing here imports Qt; the PACS windows in :mod:`mammo_workstation.gui.pacs` run these
functions on worker threads.
"""

from mammo_workstation.net.association import CallingAE, parse_node_spec
from mammo_workstation.net.cancel import CancelToken
from mammo_workstation.net.echo import EchoResult, echo
from mammo_workstation.net.priors import (
    PriorFetch,
    find_patient_studies,
    most_recent_earlier_study,
    prefetch_priors,
)
from mammo_workstation.net.query import (
    InstanceResult,
    SeriesResult,
    StudyQuery,
    StudyResult,
    find_instances,
    find_series,
    find_studies,
)
from mammo_workstation.net.retrieve import (
    C_GET,
    C_MOVE,
    RetrieveProgress,
    RetrieveResult,
    retrieve_study,
)
from mammo_workstation.net.status import DicomNetworkError, OperationCancelledError, Peer
from mammo_workstation.net.storage_scp import StorageSCP

__all__ = [
    "C_GET",
    "C_MOVE",
    "CallingAE",
    "CancelToken",
    "DicomNetworkError",
    "EchoResult",
    "InstanceResult",
    "OperationCancelledError",
    "Peer",
    "PriorFetch",
    "RetrieveProgress",
    "RetrieveResult",
    "SeriesResult",
    "StorageSCP",
    "StudyQuery",
    "StudyResult",
    "echo",
    "find_instances",
    "find_patient_studies",
    "find_series",
    "find_studies",
    "most_recent_earlier_study",
    "parse_node_spec",
    "prefetch_priors",
    "retrieve_study",
]
