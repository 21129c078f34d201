"""Prior studies: find a patient's other studies on the PACS and fetch the ones needed.

The lookup is a STUDY-level C-FIND keyed on Patient ID (and Issuer of Patient ID when known).
A PATIENT-level query is not used because many PACS support only the Study Root model, where
a PATIENT level does not exist, and return nothing for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mammo_workstation.cache.index import StudyFilter, StudyRow
from mammo_workstation.cache.store import CacheStore
from mammo_workstation.net.association import CallingAE
from mammo_workstation.net.query import StudyQuery, StudyResult, find_studies
from mammo_workstation.net.retrieve import (
    CancelToken,
    ProgressCallback,
    RetrieveResult,
    retrieve_study,
)
from mammo_workstation.net.status import DicomNetworkError, OperationCancelledError
from mammo_workstation.net.storage_scp import StorageSCP
from mammo_workstation.settings import RemoteNode

logger = logging.getLogger(__name__)

PriorChooser = Callable[[StudyResult, Sequence[StudyResult]], list[StudyResult]]


def most_recent_earlier_study(current: StudyResult,
                              candidates: Sequence[StudyResult]) -> list[StudyResult]:
    """Choose the priors a screening hanging needs: the latest study before ``current``.

    Studies without a Study Date, and the current study itself, are never chosen. A study on
    the same day counts as earlier only when its Study Time is earlier. Returns [] or one study.
    """
    if not current.study_date:
        return []
    current_key = (current.study_date[:8], current.study_time)
    earlier = [
        study for study in candidates
        if study.study_uid != current.study_uid and study.study_date
        and study.patient_id == current.patient_id
        and (study.study_date[:8], study.study_time) < current_key
    ]
    if not earlier:
        return []
    return [max(earlier, key=lambda study: (study.study_date[:8], study.study_time))]


def study_result_from_cache(row: StudyRow) -> StudyResult:
    """Describe a cached study the way a C-FIND match describes it, for prior lookup."""
    return StudyResult(
        study_uid=row.study_uid, patient_id=row.patient_id, patient_name=row.patient_name,
        birth_date=row.birth_date, study_date=row.study_date, study_time=row.study_time,
        accession_number=row.accession_number, description=row.description,
        modalities=list(row.modalities), number_of_instances=row.number_of_instances,
    )


def find_patient_studies(node: RemoteNode, current: StudyResult, calling: CallingAE,
                         modality: str = "") -> list[StudyResult]:
    """Find all studies of the current study's patient on ``node``, newest first.

    ``modality`` narrows by Modalities in Study; empty finds studies of every modality.
    """
    if not current.patient_id:
        raise DicomNetworkError("Cannot look for prior studies: the study has no Patient ID.")
    query = StudyQuery(patient_id=current.patient_id, modality=modality)
    studies = find_studies(node, query, calling)
    if current.issuer_of_patient_id:
        studies = [s for s in studies if s.issuer_of_patient_id in ("",
                                                                    current.issuer_of_patient_id)]
    return [s for s in studies if s.patient_id == current.patient_id]


@dataclass
class PriorFetch:
    """Outcome of a prior prefetch: the chosen studies and what happened to each."""

    chosen: list[StudyResult] = field(default_factory=list)
    retrieved: list[RetrieveResult] = field(default_factory=list)
    already_cached: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def prefetch_priors(
    node: RemoteNode,
    current: StudyResult,
    calling: CallingAE,
    store: CacheStore,
    scp: StorageSCP | None = None,
    choose: PriorChooser = most_recent_earlier_study,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> PriorFetch:
    """Find the patient's other studies on ``node`` and retrieve the ones ``choose`` picks.

    Studies that the cache already contains in full are not retrieved again. A failed retrieve
    is recorded in :attr:`PriorFetch.errors` and the next prior is still tried.
    """
    candidates = find_patient_studies(node, current, calling, modality="")
    outcome = PriorFetch(chosen=choose(current, candidates))
    for prior in outcome.chosen:
        if _fully_cached(store, prior):
            outcome.already_cached.append(prior.study_uid)
            continue
        try:
            outcome.retrieved.append(retrieve_study(
                node, prior.study_uid, calling, store, scp, progress=progress, cancel=cancel))
        except OperationCancelledError:
            raise
        except DicomNetworkError as error:
            logger.warning("Prior prefetch from %s failed: %s", node.ae_title, error)
            outcome.errors.append(str(error))
    return outcome


def _fully_cached(store: CacheStore, study: StudyResult) -> bool:
    rows = store.studies(StudyFilter(study_uid=study.study_uid))
    if not rows:
        return False
    expected = study.number_of_instances or rows[0].expected_instances
    return rows[0].number_of_instances >= expected > 0
