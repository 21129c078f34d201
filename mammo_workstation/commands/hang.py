"""``hang``: explain which protocol hangs a study and which image each viewport shows."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.dicom.model import Study
from mammo_workstation.hanging.layout import Placement
from mammo_workstation.hanging.library import ProtocolLibrary
from mammo_workstation.hanging.matching import Hanging, choose, describe_rule
from mammo_workstation.hanging.schema import json_schema


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hang",
        help="print how PATH hangs, for protocol authors and scripts",
        description="Choose a hanging protocol for the newest study under PATH (its priors are taken "
        "from the same paths) and print, for each stage and viewport, the image shown there.",
    )
    parser.add_argument("paths", nargs="*", type=Path, help="DICOM files, folders or DICOMDIR files")
    parser.add_argument("--protocol", metavar="NAME", help="use the protocol called NAME instead of the best match")
    parser.add_argument("--study", metavar="UID", help="hang the study with this Study Instance UID "
                        "instead of the newest one")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a text summary")
    parser.add_argument("--schema", action="store_true",
                        help="print the JSON Schema of protocol files and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(json_schema(), indent=2))
        return 0
    if not args.paths:
        print("hang: give at least one PATH (or --schema)", file=sys.stderr)
        return 2
    library = ProtocolLibrary()
    for error in library.errors:
        print(f"hang: skipped {error}", file=sys.stderr)
    collection = load_paths(args.paths)
    study = _pick_study(collection.studies, args.study)
    if study is None:
        where = f"study {args.study}" if args.study else "displayable images"
        print(f"hang: no {where} found in " + ", ".join(map(str, args.paths)), file=sys.stderr)
        return 1
    hanging = choose(library.protocols, collection, study, args.protocol)
    if hanging is None:
        names = ", ".join(sorted(p.name for p in library.protocols))
        if args.protocol:
            print(f"hang: no protocol called {args.protocol!r}; available: {names}", file=sys.stderr)
        else:
            print(f"hang: no protocol matches this study and no fallback is installed; loaded: {names}",
                  file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(hanging_json(hanging), indent=2))
    else:
        print(hanging_text(hanging))
    return 0


def hanging_text(hanging: Hanging) -> str:
    """Summarize the hanging for people: protocol, reason, then one line per viewport."""
    lines = [f"Protocol: {hanging.protocol.name} ({hanging.protocol.source})", f"Reason: {hanging.reason}"]
    for number, stage in enumerate(hanging.stages, start=1):
        lines.append(f"Stage {number}: {stage.stage.name} ({stage.layout.rows} x {stage.layout.columns})")
        for placement in stage.placements:
            instance = placement.instance
            shown = "empty"
            if instance is not None:
                flip = "yes" if placement.transform.flip_horizontal else "no"
                shown = f"{instance.path.name} {instance.sop_instance_uid} rotation {placement.transform.rotation} flip {flip}"
            lines.append(f"  [{placement.spec.row},{placement.spec.column}] {placement.spec.label}: {shown}")
    return "\n".join(lines)


def _pick_study(studies: list[Study], uid: str | None) -> Study | None:
    displayable = [s for s in studies if any(i.has_pixel_data for i in s.instances)]
    if uid is not None:
        return next((s for s in displayable if s.study_instance_uid == uid), None)
    return displayable[0] if displayable else None


def hanging_json(hanging: Hanging) -> dict[str, Any]:
    """Convert the hanging to plain data: protocol, reason, candidates and each stage's viewports."""
    prior = hanging.prior
    return {
        "protocol": hanging.protocol.name,
        "reason": hanging.reason,
        "protocol_source": hanging.protocol.source,
        "current_study_instance_uid": hanging.current.study_instance_uid,
        "prior_study_instance_uid": prior.study_instance_uid if prior else None,
        "candidates": [
            {
                "protocol": c.protocol.name,
                "eligible": c.eligible,
                "score": c.score,
                "rules": [
                    {"rule": describe_rule(r.rule), "where": r.rule.where, "required": r.rule.required,
                     "weight": r.rule.weight, "passed": r.passed, "detail": r.detail}
                    for r in c.results
                ],
            }
            for c in hanging.candidates
        ],
        "stages": [
            {
                "name": stage.stage.name,
                "rows": stage.layout.rows,
                "columns": stage.layout.columns,
                "same_size": stage.stage.same_size,
                "viewports": [_viewport_json(p) for p in stage.placements],
            }
            for stage in hanging.stages
        ],
    }


def _viewport_json(placement: Placement) -> dict[str, Any]:
    instance = placement.instance
    return {
        "row": placement.spec.row,
        "column": placement.spec.column,
        "label": placement.spec.label,
        "study": placement.spec.study,
        "sop_instance_uid": instance.sop_instance_uid if instance else None,
        "study_instance_uid": instance.study_instance_uid if instance else None,
        "flip_horizontal": placement.transform.flip_horizontal,
        "rotation": placement.transform.rotation,
        "sync_group": placement.spec.sync_group,
        "slices": len(placement.slices) if placement.spec.stack else None,
    }
