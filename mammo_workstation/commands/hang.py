"""``hang``: explain which image each viewport shows, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.hanging.layout import Placement, choose_layout, place


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hang", help="print how PATH hangs, for protocol authors and scripts")
    parser.add_argument("paths", nargs="+", type=Path, help="DICOM files, folders or DICOMDIR files")
    parser.add_argument("--json", action="store_true", help="print JSON (the only format for now)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    collection = load_paths(args.paths)
    studies = [s for s in collection.studies if any(i.has_pixel_data for i in s.instances)]
    if not studies:
        print("hang: no displayable images found", file=sys.stderr)
        return 1
    study = studies[0]
    layout = choose_layout(study)
    placements = place(layout, study.instances)
    result = {
        "protocol": layout.name,
        "reason": "newest study; mammography images hang 4-up",
        "stages": [{
            "name": layout.name,
            "rows": layout.rows,
            "columns": layout.columns,
            "viewports": [_viewport_json(p) for p in placements],
        }],
    }
    print(json.dumps(result, indent=2))
    return 0


def _viewport_json(placement: Placement) -> dict[str, Any]:
    instance = placement.instance
    return {
        "row": placement.spec.row,
        "column": placement.spec.column,
        "label": placement.spec.label,
        "sop_instance_uid": instance.sop_instance_uid if instance else None,
        "study_instance_uid": instance.study_instance_uid if instance else None,
        "flip_horizontal": placement.transform.flip_horizontal,
        "rotation": placement.transform.rotation,
    }
