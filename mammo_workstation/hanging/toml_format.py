"""Read hanging-protocol TOML files into :class:`~mammo_workstation.hanging.protocol.Protocol`.

The format is documented in ``docs/hanging-protocols.md``; :mod:`.schema` lists every key.
A file with any problem is rejected as a whole with a :class:`ProtocolFileError` that lists
each problem with its key path, line and the allowed values.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from mammo_workstation.dicom.model import CodedView, Laterality
from mammo_workstation.dicom.views import VIEW_CODES, VIEW_MODIFIER_CODES, view_label
from mammo_workstation.hanging.layout import (
    CURRENT,
    ImageSelector,
    Justify,
    Layout,
    ViewportSpec,
    mammography_justify,
    mammography_orientation,
)
from mammo_workstation.hanging.protocol import (
    COUNT_KINDS,
    PriorPolicy,
    PriorSelection,
    Protocol,
    Rule,
    RuleKind,
    RuleMode,
    Stage,
    StageContent,
    SyncProperty,
)
from mammo_workstation.hanging.schema import PROTOCOL, Problem, as_list, join, validate


class ProtocolFileError(ValueError):
    """A protocol file that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        listed = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"invalid hanging protocol file {source}:\n{listed}")


def load_protocol_file(path: Path) -> Protocol:
    """Read and check one TOML protocol file; raises ProtocolFileError naming each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProtocolFileError(str(path), [Problem("", f"failed to read the file ({error})")]) from None
    return parse_protocol(text, str(path))


def parse_protocol(text: str, source: str) -> Protocol:
    """Parse TOML text into a Protocol; ``source`` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = _decode_error_line(str(error))
        raise ProtocolFileError(source, [Problem("", f"invalid TOML: {error}", line)]) from None
    problems: list[Problem] = []
    validate(data, PROTOCOL, "", problems)
    protocol = None
    if not problems:
        protocol = _build_protocol(data, source, problems)
    if problems or protocol is None:
        lines = key_lines(text)
        located = [Problem(p.key_path, p.message, p.line or _line_of(p.key_path, lines)) for p in problems]
        raise ProtocolFileError(source, located)
    return protocol


# -- building the model from a validated file ----------------------------------------------


def _build_protocol(data: dict[str, Any], source: str, problems: list[Problem]) -> Protocol | None:
    rules = tuple(
        rule
        for index, item in enumerate(data.get("rules", []))
        if (rule := _build_rule(item, join("rules", index), problems)) is not None
    )
    stages = tuple(
        stage
        for index, item in enumerate(data["stages"])
        if (stage := _build_stage(item, join("stages", index), problems)) is not None
    )
    if not data["stages"]:
        problems.append(Problem("stages", "a protocol needs at least one stage"))
    names = [s.name for s in stages]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(Problem(join(join("stages", index), "name"), f"duplicate stage name {name!r}"))
    if problems:
        return None
    priors = data.get("priors", {})
    return Protocol(
        name=data["name"],
        stages=stages,
        rules=rules,
        priors=PriorPolicy(PriorSelection(priors.get("select", "most_recent")), priors.get("n", 1),
                           priors.get("months", 0)),
        description=data.get("description", ""),
        priority=data.get("priority", 0),
        source=source,
    )


def _build_rule(item: dict[str, Any], path: str, problems: list[Problem]) -> Rule | None:
    kind = RuleKind(item["kind"])
    values = as_list(item.get("values"))
    minimum, maximum = item.get("min"), item.get("max")
    count_of_problems = len(problems)
    if kind in COUNT_KINDS:
        if minimum is None and maximum is None:
            problems.append(Problem(path, f"a {kind} rule needs min, max or both"))
        elif minimum is not None and maximum is not None and minimum > maximum:
            problems.append(Problem(join(path, "min"), f"min {minimum} is above max {maximum}"))
    elif kind is not RuleKind.STUDY_PRESENT and not values:
        problems.append(Problem(join(path, "values"), f"a {kind} rule needs at least one value"))
    if kind is RuleKind.VIEW:
        _check_codes(values, tuple(VIEW_CODES), join(path, "values"), problems)
    if kind is RuleKind.VIEW_MODIFIER:
        _check_codes(values, tuple(VIEW_MODIFIER_CODES), join(path, "values"), problems)
    if kind in (RuleKind.SERIES_DESCRIPTION, RuleKind.STUDY_DESCRIPTION):
        for value in values:
            try:
                re.compile(value)
            except re.error as error:
                problems.append(Problem(join(path, "values"), f"invalid regular expression {value!r}: {error}"))
    if len(problems) > count_of_problems:
        return None
    return Rule(
        kind=kind,
        values=values,
        modifiers=as_list(item["modifiers"]) if "modifiers" in item else None,
        minimum=minimum,
        maximum=maximum,
        mode=RuleMode(item.get("mode", "any")),
        study=item.get("study", CURRENT),
        weight=float(item.get("weight", 1.0)),
        required=item.get("required", False),
        description=item.get("description", ""),
        where=path,
    )


def _check_codes(values: tuple[str, ...], allowed: tuple[str, ...], path: str, problems: list[Problem]) -> None:
    invalid = [v for v in values if v not in allowed]
    if invalid:
        problems.append(Problem(path, f"invalid value {', '.join(map(repr, invalid))}; allowed values: "
                                      f"{', '.join(allowed)}"))


def _build_stage(item: dict[str, Any], path: str, problems: list[Problem]) -> Stage | None:
    content = StageContent(item.get("content", "fixed"))
    groups = {name: frozenset(SyncProperty(p) for p in as_list(props))
              for name, props in item.get("sync_groups", {}).items()}
    rows, columns = item.get("rows", 1), item.get("columns", 1)
    count_of_problems = len(problems)
    if content is StageContent.FIXED:
        if "rows" not in item or "columns" not in item:
            problems.append(Problem(path, "a fixed stage needs rows and columns"))
        if not item.get("viewports"):
            problems.append(Problem(join(path, "viewports"), "a fixed stage needs at least one viewport"))
    elif item.get("viewports"):
        problems.append(Problem(join(path, "viewports"), f"a {content} stage generates its viewports; "
                                                         "remove the [[stages.viewports]] entries"))
    viewports = []
    cells: dict[tuple[int, int], int] = {}
    for index, viewport_item in enumerate(item.get("viewports", [])):
        where = join(join(path, "viewports"), index)
        spec = _build_viewport(viewport_item, where, rows, columns, groups, problems)
        if spec is None:
            continue
        if (spec.row, spec.column) in cells:
            problems.append(Problem(where, f"row {spec.row}, column {spec.column} is already used by "
                                           f"viewport {cells[(spec.row, spec.column)]}"))
        cells[(spec.row, spec.column)] = index
        viewports.append(spec)
    if len(problems) > count_of_problems:
        return None
    name = item["name"]
    return Stage(name, Layout(name, rows, columns, tuple(viewports)), content, groups,
                 item.get("same_size", False), item.get("max_viewports", 16), item.get("optional", False))


def _build_viewport(
    item: dict[str, Any], path: str, rows: int, columns: int, groups: dict[str, Any], problems: list[Problem]
) -> ViewportSpec | None:
    count_of_problems = len(problems)
    if item["row"] >= rows:
        problems.append(Problem(join(path, "row"), f"row {item['row']} is outside the {rows} rows (0 to {rows - 1})"))
    if item["column"] >= columns:
        problems.append(Problem(join(path, "column"),
                                f"column {item['column']} is outside the {columns} columns (0 to {columns - 1})"))
    group = item.get("sync_group")
    if group is not None and group not in groups:
        allowed = ", ".join(groups) or "none defined; add [stages.sync_groups]"
        problems.append(Problem(join(path, "sync_group"), f"unknown sync group {group!r}; allowed values: {allowed}"))
    laterality, view, modifiers = _image_parts(item, path, problems)
    if len(problems) > count_of_problems:
        return None
    side = Laterality(laterality) if laterality else None
    selector = ImageSelector(side, view, modifiers, item.get("sop_instance_uid"), item.get("modality"),
                             item.get("series_description"), item.get("any_modifiers", False))
    orientation = tuple(item["orientation"]) if "orientation" in item else None
    if orientation is None and side in (Laterality.RIGHT, Laterality.LEFT) and view is not None:
        orientation = mammography_orientation(side, view)
    justify = Justify(item["justify"]) if "justify" in item else mammography_justify(side)
    return ViewportSpec(
        item["row"], item["column"], item.get("label") or _default_label(item, side, view, modifiers),
        selector, orientation, justify,
        item.get("study", CURRENT), item.get("mirror", False), group, item.get("stack", False),
    )


_IMAGE_SHORTHAND = re.compile(r"^\s*([RLBU]?)([A-Z]+)((?:\s+[A-Z]+)*)\s*$")


def _image_parts(
    item: dict[str, Any], path: str, problems: list[Problem]
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Laterality, view and modifiers from the ``image`` shorthand or the separate keys."""
    laterality, view = item.get("laterality"), item.get("view")
    modifiers = as_list(item.get("modifiers"))
    if "image" not in item:
        return laterality, view, modifiers
    if {"laterality", "view", "modifiers"} & item.keys():
        problems.append(Problem(join(path, "image"), "give either image or laterality/view/modifiers, not both"))
        return None, None, ()
    match = _IMAGE_SHORTHAND.match(item["image"].upper())
    side = match.group(1) if match else ""
    code = match.group(2) if match else ""
    if match and code not in VIEW_CODES and side + code in VIEW_CODES:
        side, code = "", side + code  # "LM" is the latero-medial view, not a left M view
    parts = tuple(match.group(3).split()) if match else ()
    if match is None or code not in VIEW_CODES or any(p not in VIEW_MODIFIER_CODES for p in parts):
        problems.append(Problem(
            join(path, "image"),
            f"invalid image {item['image']!r}: expected an optional laterality (R, L, B, U), a view "
            f"({', '.join(VIEW_CODES)}) and optional modifiers ({', '.join(VIEW_MODIFIER_CODES)}), "
            "for example 'RCC' or 'LMLO S'",
        ))
        return None, None, ()
    return side or None, code, parts


def _default_label(item: dict[str, Any], side: Laterality | None, view: str | None,
                   modifiers: tuple[str, ...]) -> str:
    if view is not None:
        return view_label(side.value if side else None, CodedView(view, modifiers))
    return item.get("modality") or item.get("series_description") or "image"


# -- line numbers for key paths --------------------------------------------------------------

_ARRAY_HEADER = re.compile(r"^\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\[\s*([^\]]+?)\s*\]")
_KEY = re.compile(r"^([A-Za-z0-9_\-\"' .]+?)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Map key paths such as ``stages[1].viewports[0].view`` to 1-based line numbers.

    Follows table and array-of-tables headers and ``key =`` lines; keys inside inline tables
    map to the line of their parent key.
    """
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    table = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if array := _ARRAY_HEADER.match(line):
            table = _resolve(array.group(1), counters, new_item=True)
            lines.setdefault(table, number)
        elif header := _TABLE_HEADER.match(line):
            table = _resolve(header.group(1), counters, new_item=False)
            lines.setdefault(table, number)
        elif key := _KEY.match(line):
            name = key.group(1).strip().strip("\"'")
            lines.setdefault(join(table, name), number)
    return lines


def _resolve(dotted: str, counters: dict[str, int], *, new_item: bool) -> str:
    parts = [p.strip().strip("\"'") for p in dotted.split(".")]
    path = ""
    for part in parts[:-1]:
        path = join(path, part)
        if path in counters:
            path = join(path, counters[path] - 1)
    path = join(path, parts[-1])
    if new_item:
        counters[path] = counters.get(path, 0) + 1
        path = join(path, counters[path] - 1)
    return path


def _line_of(key_path: str, lines: dict[str, int]) -> int | None:
    path = key_path
    while path:
        if path in lines:
            return lines[path]
        parent = re.sub(r"(\.?[^.\[\]]+|\[\d+\])$", "", path)
        if parent == path:
            return None
        path = parent
    return None


def _decode_error_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None
