"""DICOM Hanging Protocol Storage objects imported into the protocol model."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.hanging.dicom_protocol import load_dicom_protocol
from mammo_workstation.hanging.layout import CURRENT, PRIOR
from mammo_workstation.hanging.matching import choose
from mammo_workstation.hanging.protocol import PriorSelection, RuleKind
from mammo_workstation.hanging.toml_format import ProtocolFileError
from tests.conftest import DEMO_CURRENT, data_path


@pytest.fixture(scope="module")
def neuro_path() -> Path:
    return data_path("real", "decoding", "weasis", "NeurosurgeryPlan.dcm")


def test_definition_and_image_sets_map(neuro_path: Path) -> None:
    protocol = load_dicom_protocol(neuro_path)
    dataset = pydicom.dcmread(neuro_path)
    assert protocol.name == dataset.HangingProtocolName
    modality = protocol.rules[0]
    assert modality.kind is RuleKind.MODALITY
    assert modality.required
    assert set(modality.values) == {item.Modality for item in dataset.HangingProtocolDefinitionSequence}
    assert protocol.priors.selection is PriorSelection.NTH
    assert protocol.priors.n == 1
    assert protocol.description.startswith(dataset.HangingProtocolDescription)
    assert "not mapped" in protocol.description
    assert "reformatting MPR" in protocol.description


def test_presentation_groups_become_stages(neuro_path: Path) -> None:
    protocol = load_dicom_protocol(neuro_path)
    dataset = pydicom.dcmread(neuro_path)
    groups = {int(d.DisplaySetPresentationGroup) for d in dataset.DisplaySetsSequence}
    assert len(protocol.stages) == len(groups)
    assert protocol.stages[0].name == "Current CT only"
    first_group = [d for d in dataset.DisplaySetsSequence if int(d.DisplaySetPresentationGroup) == 1]
    viewports = protocol.stages[0].layout.viewports
    assert len(viewports) == len(first_group)
    assert all(v.selector.modality == "CT" and v.study == CURRENT for v in viewports)
    assert [v.stack for v in viewports] == [
        d.ImageBoxesSequence[0].ImageBoxLayoutType in ("STACK", "TILED") for d in first_group]
    assert viewports[0].orientation == tuple(first_group[0].DisplaySetPatientOrientation)
    studies = {v.study for s in protocol.stages for v in s.layout.viewports}
    assert studies == {CURRENT, PRIOR}


def test_imported_protocol_hangs_a_ct(neuro_path: Path) -> None:
    protocol = load_dicom_protocol(neuro_path)
    ct = data_path("real", "decoding", "nema-wg04", "CT1_UNC.dcm")
    collection = load_paths([ct])
    hanging = choose([protocol], collection, collection.studies[0])
    assert hanging is not None
    shown = [p.instance.sop_instance_uid for p in hanging.stages[0].placements if p.instance]
    assert shown == [str(pydicom.dcmread(ct, stop_before_pixels=True).SOPInstanceUID)]


def test_other_dicom_file_is_rejected() -> None:
    with pytest.raises(ProtocolFileError) as caught:
        load_dicom_protocol(DEMO_CURRENT / "RCC.dcm")
    assert "SOPClassUID: is 1.2.840.10008.5.1.4.1.1.1.2, expected Hanging Protocol Storage" in str(caught.value)


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.dcm"
    path.write_bytes(b"not dicom")
    with pytest.raises(ProtocolFileError) as caught:
        load_dicom_protocol(path)
    assert str(path) in str(caught.value)
