"""Prior lookup by Patient ID and background prefetch of the study the hanging needs."""

from __future__ import annotations

import pytest

from mammo_workstation.net import (
    StudyResult,
    find_patient_studies,
    most_recent_earlier_study,
    prefetch_priors,
)
from tests.net.conftest import node_of
from tests.net.dicom_peers import DEMO_0001_CURRENT, DEMO_0001_PRIOR
from tests.net.test_retrieve import RLE_LOSSLESS, assert_cached_like, study_uid


def study(uid: str, date: str, time: str = "", patient_id: str = "P1") -> StudyResult:
    return StudyResult(study_uid=uid, patient_id=patient_id, study_date=date, study_time=time)


def test_chooser_takes_latest_earlier():
    current = study("now", "20251112", "0915")
    candidates = [study("old", "20211001"), current, study("prior", "20231030"),
                  study("later", "20260101"), study("undated", "")]
    assert [s.study_uid for s in most_recent_earlier_study(current, candidates)] == ["prior"]


def test_chooser_same_day_earlier_time():
    current = study("now", "20251112", "140000")
    morning = study("morning", "20251112", "091500")
    assert most_recent_earlier_study(current, [morning, current]) == [morning]


def test_chooser_ignores_other_patients_and_no_date():
    current = study("now", "20251112")
    other = study("other", "20231030", patient_id="P2")
    assert most_recent_earlier_study(current, [other]) == []
    assert most_recent_earlier_study(study("undated", ""), [study("x", "20200101")]) == []


@pytest.mark.network
def test_find_patient_studies_by_id(orthanc, calling):
    current = StudyResult(study_uid=study_uid(DEMO_0001_CURRENT), patient_id="DEMO-0001",
                          study_date="20251112")
    found = find_patient_studies(node_of(orthanc), current, calling)
    assert {s.study_uid for s in found} == {study_uid(DEMO_0001_CURRENT),
                                            study_uid(DEMO_0001_PRIOR)}


@pytest.mark.network
def test_prefetch_retrieves_prior(orthanc, scp, store, calling):
    current = StudyResult(study_uid=study_uid(DEMO_0001_CURRENT), patient_id="DEMO-0001",
                          study_date="20251112", study_time="091500")
    outcome = prefetch_priors(node_of(orthanc), current, calling, store, scp)
    assert [s.study_uid for s in outcome.chosen] == [study_uid(DEMO_0001_PRIOR)]
    assert [r.received for r in outcome.retrieved] == [4]
    assert outcome.errors == []
    assert_cached_like(store, DEMO_0001_PRIOR, RLE_LOSSLESS)
    again = prefetch_priors(node_of(orthanc), current, calling, store, scp)
    assert again.retrieved == []
    assert again.already_cached == [study_uid(DEMO_0001_PRIOR)]
