"""Protocol TOML files: every key kind parses, and malformed files name file, line, key and fix."""

from __future__ import annotations

import json

import pytest

from mammo_workstation.dicom.model import Laterality
from mammo_workstation.hanging.layout import Justify
from mammo_workstation.hanging.protocol import (
    PriorSelection,
    RuleKind,
    RuleMode,
    StageContent,
    SyncProperty,
)
from mammo_workstation.hanging.schema import json_schema
from mammo_workstation.hanging.toml_format import ProtocolFileError, key_lines, parse_protocol

FULL = """
format_version = 1
name = "Full example"
description = "every key once"
priority = 3

[priors]
select = "months_older"
months = 18

[[rules]]
kind = "modality"
values = "MG"
required = true
weight = 10

[[rules]]
kind = "view"
values = ["CC"]
modifiers = ["S"]
mode = "all"
study = "prior"

[[rules]]
kind = "image_count"
min = 2
max = 8

[[stages]]
name = "Pair"
rows = 1
columns = 2
same_size = true
sync_groups = { both = ["pan", "zoom", "window"] }

[[stages.viewports]]
row = 0
column = 0
image = "RCC"
sync_group = "both"

[[stages.viewports]]
row = 0
column = 1
laterality = "L"
view = "MLO"
modifiers = ["M"]
study = "prior"
orientation = ["A", "F"]
justify = "center"
mirror = true
label = "old LMLO mag"

[[stages]]
name = "Rest"
content = "extra_images"
max_viewports = 4
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(ProtocolFileError) as caught:
        parse_protocol(text, "site/bad.toml")
    assert "site/bad.toml" in str(caught.value)
    return [str(problem) for problem in caught.value.problems]


def test_full_example_parses() -> None:
    protocol = parse_protocol(FULL, "full.toml")
    assert protocol.name == "Full example"
    assert protocol.priority == 3
    assert protocol.priors.selection is PriorSelection.MONTHS_OLDER
    assert protocol.priors.months == 18
    modality, view, count = protocol.rules
    assert modality.values == ("MG",)
    assert modality.required
    assert modality.weight == 10
    assert view.kind is RuleKind.VIEW
    assert view.modifiers == ("S",)
    assert view.mode is RuleMode.ALL
    assert view.study == "prior"
    assert (count.minimum, count.maximum) == (2, 8)
    pair, rest = protocol.stages
    assert pair.same_size
    assert pair.sync_groups == {"both": frozenset(SyncProperty)}
    first, second = pair.layout.viewports
    assert first.selector.laterality is Laterality.RIGHT
    assert first.selector.view == "CC"
    assert first.orientation == ("P", "L"), "IHE MAMMO default for a right CC"
    assert first.justify is Justify.RIGHT
    assert first.label == "RCC"
    assert second.selector.modifiers == ("M",)
    assert (second.study, second.mirror, second.orientation) == ("prior", True, ("A", "F"))
    assert second.justify is Justify.CENTER
    assert second.label == "old LMLO mag"
    assert rest.content is StageContent.EXTRA_IMAGES
    assert rest.max_viewports == 4


@pytest.mark.parametrize(
    ("image", "expected"),
    [("LMLO", ("L", "MLO", ())), ("RCC S", ("R", "CC", ("S",))), ("LM", (None, "LM", ())),
     ("RLM", ("R", "LM", ())), ("LCC ID", ("L", "CC", ("ID",))), ("XCCL", (None, "XCCL", ()))],
)
def test_image_shorthand(image: str, expected: tuple) -> None:
    text = f'name = "x"\n[[stages]]\nname = "s"\nrows = 1\ncolumns = 1\n' \
           f'viewports = [{{ row = 0, column = 0, image = "{image}" }}]\n'
    selector = parse_protocol(text, "x.toml").stages[0].layout.viewports[0].selector
    side = selector.laterality.value if selector.laterality else None
    assert (side, selector.view, selector.modifiers) == expected


def test_invalid_toml_names_line() -> None:
    problems = _problems('name = "x"\n[[stages]\n')
    assert len(problems) == 1
    assert problems[0].startswith("line 2, ")
    assert "invalid TOML" in problems[0]


def test_invalid_values_name_key_line_and_allowed() -> None:
    text = FULL.replace('select = "months_older"', 'select = "latest"').replace(
        'justify = "center"', 'justify = "middle"')
    problems = _problems(text)
    assert len(problems) == 2
    select, justify = problems
    assert select.startswith("line 8, priors.select: invalid value 'latest'")
    assert "allowed values: most_recent, nth, months_older" in select
    assert justify.startswith("line 50, stages[0].viewports[1].justify: invalid value 'middle'")
    assert "allowed values: left, right, center" in justify


def test_invalid_image_lists_views_and_modifiers() -> None:
    problems = _problems(FULL.replace('image = "RCC"', 'image = "RXX"'))
    assert len(problems) == 1
    assert problems[0].startswith("line 39, stages[0].viewports[0].image: invalid image 'RXX'")
    assert "MLO" in problems[0]
    assert "for example 'RCC'" in problems[0]


def test_unknown_and_missing_keys() -> None:
    problems = _problems('nmae = "typo"\n[[stages]]\nname = "s"\ncontent = "series_grid"\ncolour = 1\n')
    assert "line 1, nmae: unknown key; allowed keys: format_version, name," in problems[0]
    assert "name: missing required key" in problems[1]
    assert problems[2].startswith("line 5, stages[0].colour: unknown key")


def test_cross_checks() -> None:
    text = FULL.replace('sync_group = "both"', 'sync_group = "all"').replace(
        "column = 1\nlaterality", "column = 2\nlaterality").replace("min = 2", "min = 9")
    problems = _problems(text)
    assert any("rules[2].min: min 9 is above max 8" in p for p in problems)
    assert any("stages[0].viewports[0].sync_group: unknown sync group 'all'; allowed values: both" in p
               for p in problems)
    assert any("stages[0].viewports[1].column: column 2 is outside the 2 columns (0 to 1)" in p for p in problems)


def test_rule_kinds_need_their_values() -> None:
    problems = _problems('name = "x"\n[[rules]]\nkind = "laterality"\n[[rules]]\nkind = "image_count"\n'
                         '[[rules]]\nkind = "view"\nvalues = ["CCC"]\n'
                         '[[stages]]\nname = "s"\ncontent = "series_grid"\n')
    assert problems[0] == "line 2, rules[0].values: a laterality rule needs at least one value"
    assert problems[1] == "line 4, rules[1]: a image_count rule needs min, max or both"
    assert problems[2].startswith("line 8, rules[2].values: invalid value 'CCC'; allowed values: ML, MLO,")


def test_type_errors_show_the_value() -> None:
    problems = _problems('name = 3\npriority = "high"\n[[stages]]\nname = "s"\nrows = 0\ncolumns = 1\n'
                         'viewports = [{ row = 0, column = 0, orientation = ["Q", "F"] }]\n')
    assert problems[0] == "line 1, name: expected a string, found 3"
    assert problems[1] == "line 2, priority: expected an integer, found 'high'"
    assert problems[2] == "line 5, stages[0].rows: 0 is below the minimum 1"
    assert "stages[0].viewports[0].orientation: expected two direction strings" in problems[3]


def test_key_lines_follow_arrays_of_tables() -> None:
    lines = key_lines(FULL)
    assert lines["stages[0].viewports[1].justify"] == 50
    assert lines["stages[1].content"] == 56
    assert lines["rules[2].max"] == 27


def test_json_schema_lists_every_key() -> None:
    schema = json_schema()
    text = json.dumps(schema)
    assert schema["required"] == ["name", "stages"]
    stage = schema["properties"]["stages"]["items"]
    viewport = stage["properties"]["viewports"]["items"]
    assert set(viewport["properties"]) >= {"image", "laterality", "view", "modifiers", "study", "orientation",
                                           "justify", "mirror", "sync_group", "stack"}
    assert "S" in viewport["properties"]["modifiers"]["anyOf"][0]["enum"]
    assert json.loads(text) == schema
