"""Each bundled protocol, chosen for the study it is written for, hangs the expected images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.hanging.library import BUNDLED_DIR, FALLBACK_NAME, ProtocolLibrary
from mammo_workstation.hanging.matching import Hanging, choose
from tests.conftest import DEMO_CURRENT, DEMO_DIR, DEMO_PRIOR, data_path

VIEWS = ("RCC", "LCC", "RMLO", "LMLO")


@pytest.fixture(scope="module")
def bundled() -> ProtocolLibrary:
    return ProtocolLibrary([BUNDLED_DIR])


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _hang(library: ProtocolLibrary, *paths: Path) -> Hanging:
    collection = load_paths(list(paths))
    study = next(s for s in collection.studies if any(i.has_pixel_data for i in s.instances))
    hanging = choose(library.protocols, collection, study)
    assert hanging is not None
    return hanging


def _shown(hanging: Hanging, stage: int) -> list[str | None]:
    return [p.instance.sop_instance_uid if p.instance else None for p in hanging.stages[stage].placements]


def test_every_bundled_file_loads(bundled: ProtocolLibrary) -> None:
    assert bundled.errors == []
    assert sorted(bundled.loaded) == sorted([
        "MG screening with prior", "MG screening", "MG diagnostic with extra views", "MG one breast",
        "CT and MR stacks", FALLBACK_NAME,
    ])


def test_screening_with_prior_stages(bundled: ProtocolLibrary) -> None:
    hanging = _hang(bundled, DEMO_DIR)
    assert hanging.protocol.name == "MG screening with prior"
    assert "prior from 2023-10-30" in hanging.reason
    current = {view: _uid(DEMO_CURRENT / f"{view}.dcm") for view in VIEWS}
    prior = {view: _uid(DEMO_PRIOR / f"{view}.dcm") for view in VIEWS}
    names = [s.stage.name for s in hanging.stages]
    assert names == ["Current 4-up", "Current and prior CC", "Current and prior MLO", *VIEWS]
    assert _shown(hanging, 0) == [current[v] for v in VIEWS]
    assert _shown(hanging, 1) == [current["RCC"], current["LCC"], prior["RCC"], prior["LCC"]]
    assert _shown(hanging, 2) == [current["RMLO"], current["LMLO"], prior["RMLO"], prior["LMLO"]]
    for index, view in enumerate(VIEWS, start=3):
        assert _shown(hanging, index) == [current[view]]
    assert all(s.stage.same_size for s in hanging.stages[:3])
    assert hanging.stages[1].placements[2].spec.label == "prior RCC"


def test_screening_without_prior(bundled: ProtocolLibrary) -> None:
    hanging = _hang(bundled, DEMO_CURRENT)
    assert hanging.protocol.name == "MG screening"
    assert hanging.prior is None
    assert [s.stage.name for s in hanging.stages] == ["Current 4-up", *VIEWS]
    assert _shown(hanging, 0) == [_uid(DEMO_CURRENT / f"{view}.dcm") for view in VIEWS]


def test_diagnostic_spot_view_goes_to_extra_stage(bundled: ProtocolLibrary) -> None:
    folder = data_path("exams", "DEMO-0002", "2025-11-13_screening")
    hanging = _hang(bundled, folder)
    assert hanging.protocol.name == "MG diagnostic with extra views"
    assert [s.stage.name for s in hanging.stages] == ["Current 4-up", "Extra views"]
    four_up = hanging.stages[0].placements
    assert _shown(hanging, 0) == [_uid(folder / f"{v}.dcm") for v in ("RCC", "LCC", "RMLO")] + [None]
    assert four_up[3].spec.label == "LMLO"
    assert _shown(hanging, 1) == [_uid(folder / "RCC_SPOT.dcm")]
    assert hanging.stages[1].placements[0].spec.label == "SPOT RCC"


def test_one_breast(bundled: ProtocolLibrary, tmp_path: Path) -> None:
    for name in ("LCC.dcm", "LMLO.dcm"):
        shutil.copy(DEMO_CURRENT / name, tmp_path / name)
    hanging = _hang(bundled, tmp_path)
    assert hanging.protocol.name == "MG one breast"
    assert _shown(hanging, 0) == [_uid(tmp_path / "LCC.dcm"), _uid(tmp_path / "LMLO.dcm")]
    lcc = hanging.stages[0].placements[0]
    assert lcc.transform.flip_horizontal is False, "L CC stored as A\\R is already in IHE MAMMO orientation"


def test_ct_and_mr_hang_as_stacks(bundled: ProtocolLibrary) -> None:
    mr = data_path("real", "decoding", "pydicom-data", "emri_small.dcm")
    hanging = _hang(bundled, mr)
    assert hanging.protocol.name == "CT and MR stacks"
    placement = hanging.stages[0].placements[0]
    assert placement.spec.stack
    assert [s.frame for s in placement.slices] == list(range(10))
    ct = _hang(bundled, data_path("real", "decoding", "nema-wg04", "CT1_UNC.dcm"))
    assert ct.protocol.name == "CT and MR stacks"
    assert _shown(ct, 0) == [_uid(data_path("real", "decoding", "nema-wg04", "CT1_UNC.dcm"))]


def test_fallback_shows_any_study_as_series_grid(bundled: ProtocolLibrary) -> None:
    dx = data_path("real", "decoding", "highdicom", "dx_image.dcm")
    hanging = _hang(bundled, dx)
    assert hanging.protocol.name == FALLBACK_NAME
    assert "no rules" in hanging.reason
    assert _shown(hanging, 0) == [_uid(dx)]


def test_every_shared_file_hangs_without_error(bundled: ProtocolLibrary) -> None:
    collection = load_paths([data_path("real")])
    hung = 0
    for study in collection.studies:
        if not any(i.has_pixel_data for i in study.instances):
            continue
        hanging = choose(bundled.protocols, collection, study)
        assert hanging is not None, study.study_instance_uid
        assert hanging.stages, hanging.protocol.name
        hung += 1
    assert hung > 20
