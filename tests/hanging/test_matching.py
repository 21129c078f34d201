"""Match rules of each kind, scoring, prior selection and stage filling, on real DICOM files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pydicom
import pytest

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import Study, StudyCollection
from mammo_workstation.hanging.layout import CURRENT, PRIOR
from mammo_workstation.hanging.matching import (
    choose,
    choose_prior,
    evaluate_rule,
    months_before,
    rank,
)
from mammo_workstation.hanging.protocol import PriorPolicy, PriorSelection, Rule, RuleKind, RuleMode
from mammo_workstation.hanging.toml_format import parse_protocol
from tests.conftest import DEMO_CURRENT, DEMO_DIR, DEMO_PRIOR, data_path


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _study_uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID)


@pytest.fixture(scope="module")
def demo() -> StudyCollection:
    return load_paths([DEMO_DIR])


@pytest.fixture(scope="module")
def demo2() -> StudyCollection:
    return load_paths([data_path("exams", "DEMO-0002")])


def _studies(collection: StudyCollection) -> dict[str, Study | None]:
    current, prior = collection.studies
    return {CURRENT: current, PRIOR: prior}


@pytest.mark.parametrize(
    ("rule", "passed", "detail"),
    [
        (Rule(RuleKind.MODALITY, ("MG",)), True, "4 of 4 images have Modality MG"),
        (Rule(RuleKind.MODALITY, ("CT", "MR")), False, "0 of 4 images have Modality CT/MR"),
        (Rule(RuleKind.LATERALITY, ("R",), mode=RuleMode.ALL), False, "2 of 4 images have Image Laterality R"),
        (Rule(RuleKind.LATERALITY, ("R", "L"), mode=RuleMode.ALL), True, "4 of 4"),
        (Rule(RuleKind.VIEW, ("CC",), modifiers=()), True, "2 of 4 images have view CC with modifiers []"),
        (Rule(RuleKind.VIEW, ("ML",), mode=RuleMode.NONE), True, "0 of 4"),
        (Rule(RuleKind.VIEW_MODIFIER, ("S", "M")), False, "0 of 4"),
        (Rule(RuleKind.PRESENTATION_INTENT, ("FOR PRESENTATION",), mode=RuleMode.ALL), True, "4 of 4"),
        (Rule(RuleKind.SERIES_DESCRIPTION, (r"^r\s+cc$",)), True, "1 of 4"),
        (Rule(RuleKind.STUDY_DESCRIPTION, ("screening",)), True, "'SCREENING MAMMOGRAPHY'"),
        (Rule(RuleKind.STUDY_DESCRIPTION, ("diagnostic",)), False, "'SCREENING MAMMOGRAPHY'"),
        (Rule(RuleKind.IMAGE_COUNT, minimum=4, maximum=4), True, "4 displayable images"),
        (Rule(RuleKind.IMAGE_COUNT, minimum=5), False, "4 displayable images"),
        (Rule(RuleKind.LATERALITY_COUNT, maximum=1), False, "2 breasts imaged"),
        (Rule(RuleKind.STUDY_PRESENT, study=PRIOR), True, "prior study from 2023-10-30"),
        (Rule(RuleKind.MODALITY, ("MG",), study=PRIOR, mode=RuleMode.ALL), True, "4 of 4"),
    ],
)
def test_rule_kinds_on_demo(demo: StudyCollection, rule: Rule, passed: bool, detail: str) -> None:
    result = evaluate_rule(rule, _studies(demo))
    assert result.passed is passed
    assert detail in result.detail


def test_view_modifier_rule_on_spot_view(demo2: StudyCollection) -> None:
    studies = {CURRENT: demo2.studies[0], PRIOR: None}
    assert evaluate_rule(Rule(RuleKind.VIEW_MODIFIER, ("S",)), studies).passed
    assert evaluate_rule(Rule(RuleKind.VIEW, ("CC",), modifiers=("S",)), studies).passed
    missing = evaluate_rule(Rule(RuleKind.STUDY_PRESENT, study=PRIOR), studies)
    assert not missing.passed
    assert missing.detail == "no prior study found"
    assert not evaluate_rule(Rule(RuleKind.MODALITY, ("MG",), study=PRIOR), studies).passed


def test_invalid_pattern_fails_without_raising(demo: StudyCollection) -> None:
    result = evaluate_rule(Rule(RuleKind.SERIES_DESCRIPTION, ("([",)), _studies(demo))
    assert not result.passed
    assert "could not be tested" in result.detail


def _dated_copies(collection: StudyCollection, dates: list[dt.date]) -> StudyCollection:
    """The prior exam's instances repeated as one study per date (new UIDs, same files)."""
    result = StudyCollection()
    template = collection.studies[1].instances
    for number, date in enumerate(dates):
        for instance in template:
            result.add(dataclasses.replace(instance, study_instance_uid=f"2.25.{number}", study_date=date,
                                           sop_instance_uid=f"{instance.sop_instance_uid}.{number}"))
    return result


DATES = [dt.date(2025, 11, 12), dt.date(2025, 1, 10), dt.date(2024, 5, 1), dt.date(2022, 2, 3)]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (PriorPolicy(), dt.date(2025, 1, 10)),
        (PriorPolicy(PriorSelection.NTH, 2), dt.date(2024, 5, 1)),
        (PriorPolicy(PriorSelection.NTH, 4), None),
        (PriorPolicy(PriorSelection.MONTHS_OLDER, months=12), dt.date(2024, 5, 1)),
        (PriorPolicy(PriorSelection.MONTHS_OLDER, months=18), dt.date(2024, 5, 1)),
        (PriorPolicy(PriorSelection.MONTHS_OLDER, months=19), dt.date(2022, 2, 3)),
        (PriorPolicy(PriorSelection.MONTHS_OLDER, months=100), None),
    ],
)
def test_prior_selection(demo: StudyCollection, policy: PriorPolicy, expected: dt.date | None) -> None:
    collection = _dated_copies(demo, DATES)
    current = collection.studies[0]
    prior = choose_prior(collection, current, policy)
    assert (prior.study_date if prior else None) == expected


def test_prior_is_never_newer_or_undated(demo: StudyCollection) -> None:
    collection = _dated_copies(demo, [dt.date(2020, 1, 1), dt.date(2021, 1, 1)])
    oldest = min(collection.studies, key=lambda s: s.study_date or dt.date.min)
    assert choose_prior(collection, oldest, PriorPolicy()) is None
    undated = _dated_copies(demo, [dt.date(2020, 1, 1)])
    for study in undated.studies:
        study.study_date = None
    assert choose_prior(undated, undated.studies[0], PriorPolicy()) is None


def test_months_before_clamps_month_end() -> None:
    assert months_before(dt.date(2025, 3, 31), 1) == dt.date(2025, 2, 28)
    assert months_before(dt.date(2024, 1, 15), 13) == dt.date(2022, 12, 15)


RANKING = """
name = "{name}"
priority = {priority}
{rules}
[[stages]]
name = "s"
content = "series_grid"
"""


def test_scoring_prefers_eligible_then_score_then_priority(demo: StudyCollection) -> None:
    required_ct = '[[rules]]\nkind = "modality"\nvalues = ["CT"]\nrequired = true\nweight = 100\n'
    heavy = '[[rules]]\nkind = "modality"\nvalues = ["MG"]\nweight = 7\n'
    light = '[[rules]]\nkind = "modality"\nvalues = ["MG"]\nweight = 2\n'
    protocols = [
        parse_protocol(RANKING.format(name="ct", priority=0, rules=required_ct), "ct"),
        parse_protocol(RANKING.format(name="light", priority=9, rules=light), "light"),
        parse_protocol(RANKING.format(name="heavy", priority=0, rules=heavy), "heavy"),
        parse_protocol(RANKING.format(name="tie", priority=1, rules=heavy), "tie"),
    ]
    ranked = rank(protocols, demo, demo.studies[0])
    assert [c.protocol.name for c in ranked] == ["tie", "heavy", "light", "ct"]
    assert not ranked[-1].eligible
    hanging = choose(protocols, demo, demo.studies[0])
    assert hanging is not None and hanging.protocol.name == "tie"
    assert hanging.reason.startswith("score 7, passed: Modality MG")
    forced = choose(protocols, demo, demo.studies[0], name="ct")
    assert forced is not None and forced.reason.startswith("requested by name")
    assert choose(protocols, demo, demo.studies[0], name="absent") is None


def test_missing_image_leaves_labelled_empty_viewport(tmp_path: Path) -> None:
    for name in ("RCC.dcm", "LCC.dcm", "RMLO.dcm"):
        shutil.copy(DEMO_CURRENT / name, tmp_path / name)
    collection = load_paths([tmp_path])
    text = RANKING.format(name="four", priority=0, rules="").replace(
        'content = "series_grid"', 'rows = 2\ncolumns = 2\nviewports = [{ row = 0, column = 0, image = "RCC" }, '
        '{ row = 0, column = 1, image = "LMLO" }]\n[[stages]]\nname = "more"\ncontent = "extra_images"')
    hanging = choose([parse_protocol(text, "four")], collection, collection.studies[0])
    assert hanging is not None
    first, extra = hanging.stages
    rcc, lmlo = first.placements
    assert rcc.instance is not None and rcc.instance.sop_instance_uid == _uid(tmp_path / "RCC.dcm")
    assert lmlo.instance is None
    assert lmlo.spec.label == "LMLO"
    assert sorted(p.instance.sop_instance_uid for p in extra.placements if p.instance) == sorted(
        _uid(tmp_path / n) for n in ("LCC.dcm", "RMLO.dcm"))


def test_prior_viewports_use_the_prior_study(demo: StudyCollection) -> None:
    text = RANKING.format(name="pair", priority=0, rules="").replace(
        'content = "series_grid"', 'rows = 1\ncolumns = 2\nviewports = [{ row = 0, column = 0, image = "RCC" }, '
        '{ row = 0, column = 1, image = "RCC", study = "prior", mirror = true }]')
    hanging = choose([parse_protocol(text, "pair")], demo, demo.studies[0])
    assert hanging is not None
    current, prior = hanging.stages[0].placements
    assert current.instance is not None and prior.instance is not None
    assert current.instance.sop_instance_uid == _uid(DEMO_CURRENT / "RCC.dcm")
    assert prior.instance.sop_instance_uid == _uid(DEMO_PRIOR / "RCC.dcm")
    assert prior.instance.study_instance_uid == _study_uid(DEMO_PRIOR / "RCC.dcm")
    assert current.transform.flip_horizontal is False
    assert prior.transform.flip_horizontal is True, "mirror flips after the IHE orientation"
