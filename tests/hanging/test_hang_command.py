"""``mammo-workstation hang --json``: the chosen protocol and each viewport's image."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from mammo_workstation.cli import main
from tests.conftest import DEMO_CURRENT, DEMO_DIR, DEMO_PRIOR, data_path

VIEWS = ("RCC", "LCC", "RMLO", "LMLO")


def _header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def _hang(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["hang", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and out.strip().startswith("{") else {}), err


def test_demo_with_prior(capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = _hang(capsys, str(DEMO_DIR), "--json")
    assert code == 0
    assert result["protocol"] == "MG screening with prior"
    assert "prior from 2023-10-30" in result["reason"]
    stages = result["stages"]
    assert [s["name"] for s in stages][:3] == ["Current 4-up", "Current and prior CC", "Current and prior MLO"]
    current = {v: _header(DEMO_CURRENT / f"{v}.dcm") for v in VIEWS}
    prior = {v: _header(DEMO_PRIOR / f"{v}.dcm") for v in VIEWS}
    expected = {
        0: [current["RCC"], current["LCC"], current["RMLO"], current["LMLO"]],
        1: [current["RCC"], current["LCC"], prior["RCC"], prior["LCC"]],
        2: [current["RMLO"], current["LMLO"], prior["RMLO"], prior["LMLO"]],
    }
    for index, datasets in expected.items():
        stage = stages[index]
        assert (stage["rows"], stage["columns"]) == (2, 2)
        cells = [(v["row"], v["column"]) for v in stage["viewports"]]
        assert cells == [(0, 0), (0, 1), (1, 0), (1, 1)]
        assert [v["sop_instance_uid"] for v in stage["viewports"]] == [str(d.SOPInstanceUID) for d in datasets]
        assert [v["study_instance_uid"] for v in stage["viewports"]] == [str(d.StudyInstanceUID) for d in datasets]
        assert all(v["rotation"] == 0 and v["flip_horizontal"] is False for v in stage["viewports"])
    assert [v["label"] for v in stages[1]["viewports"]] == ["RCC", "LCC", "prior RCC", "prior LCC"]


def test_demo_0002_incomplete_with_spot(capsys: pytest.CaptureFixture[str]) -> None:
    folder = data_path("exams", "DEMO-0002")
    code, result, _ = _hang(capsys, str(folder), "--json")
    assert code == 0
    four_up, extra = result["stages"]
    lmlo = four_up["viewports"][3]
    assert (lmlo["label"], lmlo["sop_instance_uid"], lmlo["study_instance_uid"]) == ("LMLO", None, None)
    spot = _header(folder / "2025-11-13_screening" / "RCC_SPOT.dcm")
    assert extra["name"] == "Extra views"
    assert [v["sop_instance_uid"] for v in extra["viewports"]] == [str(spot.SOPInstanceUID)]


def test_protocol_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = _hang(capsys, str(DEMO_DIR), "--protocol", "MG screening", "--json")
    assert code == 0
    assert result["protocol"] == "MG screening"
    assert result["reason"].startswith("requested by name")
    code, _, err = _hang(capsys, str(DEMO_DIR), "--protocol", "Nope", "--json")
    assert code == 1
    assert "no protocol called 'Nope'; available: CT and MR stacks" in err


def test_candidates_explain_rules(capsys: pytest.CaptureFixture[str]) -> None:
    _, result, _ = _hang(capsys, str(DEMO_CURRENT), "--json")
    by_name = {c["protocol"]: c for c in result["candidates"]}
    prior_rules = by_name["MG screening with prior"]["rules"]
    failed = [r for r in prior_rules if not r["passed"]]
    assert [(r["where"], r["detail"]) for r in failed] == [
        ("rules[3]", "no prior study found"), ("rules[4]", "no prior study to test")]
    assert by_name["MG screening with prior"]["eligible"] is False


def test_empty_folder_and_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _hang(capsys, str(tmp_path), "--json")
    assert code == 1
    assert "no displayable images found" in err
    assert main(["hang", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "stages" in schema["properties"]


def test_flip_for_image_stored_facing_the_wrong_way(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("LCC.dcm", "RMLO.dcm", "LMLO.dcm"):
        (tmp_path / name).write_bytes((DEMO_CURRENT / name).read_bytes())
    flipped = pydicom.dcmread(DEMO_CURRENT / "RCC.dcm")
    flipped.PatientOrientation = ["A", "L"]  # rows run toward anterior: the chest wall is on the left
    flipped.save_as(tmp_path / "RCC.dcm")
    code, result, _ = _hang(capsys, str(tmp_path), "--json")
    assert code == 0
    rcc = result["stages"][0]["viewports"][0]
    assert rcc["sop_instance_uid"] == str(flipped.SOPInstanceUID)
    assert rcc["flip_horizontal"] is True
    assert rcc["rotation"] == 0


def test_text_summary_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hang", str(DEMO_CURRENT)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Protocol: MG screening (")
    assert lines[2] == "Stage 1: Current 4-up (2 x 2)"
    assert lines[3] == f"  [0,0] RCC: RCC.dcm {_header(DEMO_CURRENT / 'RCC.dcm').SOPInstanceUID} rotation 0 flip no"
