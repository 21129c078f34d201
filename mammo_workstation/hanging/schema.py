"""The schema of hanging-protocol files: key tables, a validator and a JSON Schema export.

The same tables check a parsed TOML file (:func:`validate`), so every problem names its key
path and the allowed values, and describe the format to editors (:func:`json_schema`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mammo_workstation.dicom.views import VIEW_CODES, VIEW_MODIFIER_CODES
from mammo_workstation.hanging.layout import CURRENT, PRIOR, Justify
from mammo_workstation.hanging.protocol import (
    PriorSelection,
    RuleKind,
    RuleMode,
    StageContent,
    SyncProperty,
)

FORMAT_VERSION = 1
DIRECTIONS = ("A", "P", "R", "L", "H", "F")
LATERALITIES = ("R", "L", "B", "U")
STUDIES = (CURRENT, PRIOR)


@dataclass(frozen=True)
class Field:
    """One key of a table: its type, whether it is required, and what values it allows.

    ``type`` is one of str, regex, int, number, bool, str_list, enum, enum_list, orientation,
    table (``fields`` inside), tables (an array of tables with ``fields``) or map (any key,
    each value an ``enum_list`` of ``allowed``).
    """

    type: str
    help: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    fields: dict[str, Field] = field(default_factory=dict)


def _enum(values: Any) -> tuple[str, ...]:
    return tuple(str(v.value) if hasattr(v, "value") else str(v) for v in values)


PRIORS = {
    "select": Field("enum", "how the prior is chosen", allowed=_enum(PriorSelection)),
    "n": Field("int", "for select = nth: 1 is the most recent older study", minimum=1, maximum=50),
    "months": Field("int", "for select = months_older: minimum age difference in months", minimum=0,
                    maximum=600),
}

RULE = {
    "kind": Field("enum", "what the rule tests", required=True, allowed=_enum(RuleKind)),
    "values": Field("str_list", "accepted values (regular expressions for the description kinds)"),
    "modifiers": Field("enum_list", "view kind: the exact View Modifier abbreviations",
                       allowed=tuple(VIEW_MODIFIER_CODES)),
    "min": Field("int", "count kinds: the smallest accepted count", minimum=0),
    "max": Field("int", "count kinds: the largest accepted count", minimum=0),
    "mode": Field("enum", "image kinds: any, all or none of the images must pass",
                  allowed=_enum(RuleMode)),
    "study": Field("enum", "the image set tested", allowed=STUDIES),
    "weight": Field("number", "score added when the rule passes", minimum=0),
    "required": Field("bool", "a failure rules the protocol out"),
    "description": Field("str", "text shown when explaining the choice"),
}

VIEWPORT = {
    "row": Field("int", "0-based row", required=True, minimum=0),
    "column": Field("int", "0-based column", required=True, minimum=0),
    "image": Field("str", "shorthand for laterality, view and modifiers, for example RCC, LMLO or 'RCC S'"),
    "laterality": Field("enum", "Image Laterality", allowed=LATERALITIES),
    "view": Field("enum", "ACR view abbreviation from View Code Sequence (CID 4014)",
                  allowed=tuple(VIEW_CODES)),
    "modifiers": Field("enum_list", "ACR view modifier abbreviations (CID 4015); must match exactly",
                       allowed=tuple(VIEW_MODIFIER_CODES)),
    "any_modifiers": Field("bool", "accept the view with any modifiers"),
    "modality": Field("str", "Modality of the image, for example MG or CT"),
    "series_description": Field("regex", "regular expression searched in Series Description"),
    "sop_instance_uid": Field("str", "one exact image"),
    "study": Field("enum", "the image set to take the image from", allowed=STUDIES),
    "label": Field("str", "text shown when the viewport is empty; default from the selector"),
    "orientation": Field("orientation", "Patient Orientation shown on screen, [row, column], "
                         "letters A P R L H F; default IHE MAMMO for mammograms"),
    "justify": Field("enum", "edge the image touches", allowed=_enum(Justify)),
    "mirror": Field("bool", "flip left-right after orienting"),
    "sync_group": Field("str", "name of a sync group of this stage"),
    "stack": Field("bool", "show the whole series one frame at a time (wheel and arrow keys)"),
}

STAGE = {
    "name": Field("str", "shown in the overlay and the View menu", required=True),
    "content": Field("enum", "fixed viewports, or generated from extra images or series",
                     allowed=_enum(StageContent)),
    "rows": Field("int", "grid rows (fixed stages)", minimum=1, maximum=8),
    "columns": Field("int", "grid columns (fixed stages)", minimum=1, maximum=8),
    "same_size": Field("bool", "equal millimetres per screen pixel for every image of the stage"),
    "optional": Field("bool", "leave the stage out when none of its viewports finds an image"),
    "max_viewports": Field("int", "generated stages: the most viewports", minimum=1, maximum=64),
    "sync_groups": Field("map", "group name -> what its viewports share", allowed=_enum(SyncProperty)),
    "viewports": Field("tables", "the viewports of a fixed stage", fields=VIEWPORT),
}

PROTOCOL = {
    "format_version": Field("int", "version of this format", minimum=FORMAT_VERSION,
                            maximum=FORMAT_VERSION),
    "name": Field("str", "unique name; a user or site file with the same name overrides", required=True),
    "description": Field("str", "one line for people"),
    "priority": Field("int", "breaks score ties: higher wins"),
    "priors": Field("table", "how the prior image set is chosen", fields=PRIORS),
    "rules": Field("tables", "match rules on the current study or the prior", fields=RULE),
    "stages": Field("tables", "the stages, stepped with Page Down and Page Up", required=True, fields=STAGE),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (key path, line when known) and what."""

    key_path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.key_path or 'top level'}: {self.message}"


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate(data: dict[str, Any], fields: dict[str, Field], path: str, problems: list[Problem]) -> None:
    """Append a :class:`Problem` for every unknown key, missing key or invalid value."""
    for key in data:
        if key not in fields:
            problems.append(Problem(join(path, key), f"unknown key; allowed keys: {', '.join(fields)}"))
    for key, spec in fields.items():
        if key not in data:
            if spec.required:
                problems.append(Problem(join(path, key), f"missing required key ({spec.help})"))
            continue
        _check_value(data[key], spec, join(path, key), problems)


def _check_value(value: Any, spec: Field, path: str, problems: list[Problem]) -> None:
    message = _type_problem(value, spec)
    if message:
        problems.append(Problem(path, message))
        return
    if spec.type == "table":
        validate(value, spec.fields, path, problems)
    elif spec.type == "tables":
        for index, item in enumerate(value):
            validate(item, spec.fields, join(path, index), problems)
    elif spec.type == "map":
        for name, properties in value.items():
            item_spec = Field("enum_list", spec.help, allowed=spec.allowed)
            _check_value(properties, item_spec, join(path, name), problems)


def _type_problem(value: Any, spec: Field) -> str | None:
    """Why ``value`` does not fit ``spec``, or None when it does."""
    checks = {
        "str": lambda: None if isinstance(value, str) else f"expected a string, found {value!r}",
        "regex": lambda: _regex_problem(value),
        "bool": lambda: None if isinstance(value, bool) else f"expected true or false, found {value!r}",
        "int": lambda: _number_problem(value, spec, integer=True),
        "number": lambda: _number_problem(value, spec, integer=False),
        "enum": lambda: _enum_problem(value, spec.allowed),
        "str_list": lambda: _list_problem(value, None),
        "enum_list": lambda: _list_problem(value, spec.allowed),
        "orientation": lambda: _orientation_problem(value),
        "table": lambda: None if isinstance(value, dict) else "expected a table",
        "tables": lambda: None if isinstance(value, list) and all(isinstance(v, dict) for v in value)
        else "expected an array of tables ([[...]] sections)",
        "map": lambda: None if isinstance(value, dict) else "expected a table of name = [...] entries",
    }
    return checks[spec.type]()


def _number_problem(value: Any, spec: Field, *, integer: bool) -> str | None:
    allowed = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        return f"expected {'an integer' if integer else 'a number'}, found {value!r}"
    if spec.minimum is not None and value < spec.minimum:
        return f"{value} is below the minimum {spec.minimum:g}"
    if spec.maximum is not None and value > spec.maximum:
        return f"{value} is above the maximum {spec.maximum:g}"
    return None


def _enum_problem(value: Any, allowed: tuple[str, ...]) -> str | None:
    if isinstance(value, str) and value in allowed:
        return None
    return f"invalid value {value!r}; allowed values: {', '.join(allowed)}"


def _list_problem(value: Any, allowed: tuple[str, ...] | None) -> str | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        return f"expected a string or an array of strings, found {value!r}"
    if allowed is not None:
        invalid = [v for v in items if v not in allowed]
        if invalid:
            return f"invalid value {', '.join(map(repr, invalid))}; allowed values: {', '.join(allowed)}"
    return None


def _regex_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected a regular expression string, found {value!r}"
    try:
        re.compile(value)
    except re.error as error:
        return f"invalid regular expression {value!r}: {error}"
    return None


def _orientation_problem(value: Any) -> str | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, str) and v and all(c in DIRECTIONS for c in v.upper()) for v in value)
    ):
        return None
    return f"expected two direction strings such as [\"P\", \"L\"] made of {' '.join(DIRECTIONS)}, found {value!r}"


def as_list(value: str | list[str] | None) -> tuple[str, ...]:
    """Return a string or an array of strings from a validated file as a tuple."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def json_schema() -> dict[str, Any]:
    """Describe the file format as a JSON Schema (draft 2020-12) document, for editors and linters."""
    schema = _table_schema(PROTOCOL)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mammo_workstation hanging protocol"
    return schema


def _table_schema(fields: dict[str, Field]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [k for k, f in fields.items() if f.required],
        "properties": {key: _field_schema(spec) for key, spec in fields.items()},
    }


def _field_schema(spec: Field) -> dict[str, Any]:
    string_list = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    enum_list = {"type": "array", "items": {"enum": list(spec.allowed)}}
    shapes: dict[str, dict[str, Any]] = {
        "str": {"type": "string"},
        "regex": {"type": "string", "format": "regex"},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "number": {"type": "number"},
        "enum": {"enum": list(spec.allowed)},
        "str_list": string_list,
        "enum_list": {"anyOf": [{"enum": list(spec.allowed)}, enum_list]},
        "orientation": {"type": "array", "minItems": 2, "maxItems": 2,
                        "items": {"type": "string", "pattern": f"^[{''.join(DIRECTIONS)}]+$"}},
        "table": _table_schema(spec.fields),
        "tables": {"type": "array", "items": _table_schema(spec.fields)},
        "map": {"type": "object", "additionalProperties": enum_list},
    }
    result = dict(shapes[spec.type])
    result["description"] = spec.help
    if spec.minimum is not None:
        result["minimum"] = spec.minimum
    if spec.maximum is not None:
        result["maximum"] = spec.maximum
    return result
