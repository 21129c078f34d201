"""Coded views and their ACR labels (PS3.16 CID 4014 and CID 4015)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mammo_workstation.dicom.views import coded_view, view_label


def code(value: str, scheme: str, meaning: str = "") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def mammogram(view: Dataset, *modifiers: Dataset, laterality: str = "R") -> Dataset:
    ds = Dataset()
    ds.ImageLaterality = laterality
    if modifiers:
        view.ViewModifierCodeSequence = Sequence(list(modifiers))
    ds.ViewCodeSequence = Sequence([view])
    return ds


@pytest.mark.parametrize(
    ("value", "scheme", "expected"),
    [
        ("399162004", "SCT", "CC"),
        ("R-10242", "SRT", "CC"),
        ("R-10242", "SNM3", "CC"),
        ("399368009", "SCT", "MLO"),
        ("399260004", "SCT", "ML"),
        ("R-10224", "SRT", "ML"),
        ("R-10226", "SNM3", "MLO"),
        ("399192008", "SCT", "XCCL"),
    ],
)
def test_view_code_schemes(value: str, scheme: str, expected: str) -> None:
    view = coded_view(mammogram(code(value, scheme)))
    assert view is not None
    assert view.view == expected


def test_ml_distinct_from_mlo() -> None:
    ml = coded_view(mammogram(code("399260004", "SCT")))
    mlo = coded_view(mammogram(code("399368009", "SCT")))
    assert view_label("R", ml) == "RML"
    assert view_label("R", mlo) == "RMLO"


@pytest.mark.parametrize(
    ("modifiers", "laterality", "expected"),
    [
        ((), "R", "RCC"),
        ((("399209000", "SCT"),), "R", "RCCID"),
        ((("R-102D5", "SRT"),), "L", "LCCID"),
        ((("399055006", "SCT"),), "R", "SPOT RCC"),
        ((("R-102D6", "SNM3"),), "L", "MAG LCC"),
        ((("399163009", "SCT"), ("399055006", "SCT")), "R", "MAG SPOT RCC"),
        ((("399197002", "SCT"),), "R", "RCCRL"),
        ((("414493004", "SCT"),), "L", "LCCRI"),
    ],
)
def test_view_labels_with_modifiers(
    modifiers: tuple[tuple[str, str], ...], laterality: str, expected: str
) -> None:
    ds = mammogram(code("399162004", "SCT"), *(code(v, s) for v, s in modifiers), laterality=laterality)
    assert view_label(laterality, coded_view(ds)) == expected


def test_top_level_modifier_sequence_read() -> None:
    ds = mammogram(code("399368009", "SCT"), laterality="L")
    ds.ViewModifierCodeSequence = Sequence([code("399209000", "SCT")])
    assert view_label("L", coded_view(ds)) == "LMLOID"


def test_view_position_fallback_and_unknown() -> None:
    ds = Dataset()
    ds.ViewPosition = "MLO"
    assert view_label("L", coded_view(ds)) == "LMLO"
    assert view_label(None, None) == "?"
    assert view_label("B", None) == "?"
