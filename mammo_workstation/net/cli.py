"""``mammo-workstation pacs echo|find|retrieve|import|nodes``: the PACS from the command line.

A node is a name from the settings file or ``AET@HOST:PORT``; ``--cache-dir`` picks the cache,
so a script needs no settings file. ``--json`` prints one JSON document on stdout.
Exit status: 0 success, 1 failure, 3 retrieve finished but a study is incomplete.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from mammo_workstation.cache import CacheStore, import_paths
from mammo_workstation.net.association import CallingAE, parse_node_spec, validate_ae_title
from mammo_workstation.net.echo import echo
from mammo_workstation.net.priors import prefetch_priors
from mammo_workstation.net.query import (
    StudyQuery,
    StudyResult,
    find_instances,
    find_series,
    find_studies,
    parse_date_range,
)
from mammo_workstation.net.retrieve import C_GET, C_MOVE, RetrieveProgress, retrieve_study
from mammo_workstation.net.status import DicomNetworkError
from mammo_workstation.net.storage_scp import StorageSCP
from mammo_workstation.settings import LocalAE, RemoteNode, Settings, cache_dir

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Query and retrieve from a PACS, and import files into the local cache.

A node is a name from the settings file or AET@HOST:PORT, and --cache-dir picks the cache, so
a script needs no settings file. --json prints one JSON document on stdout.
Exit status: 0 success, 1 failure, 3 retrieve finished but a study is incomplete.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INCOMPLETE = 3


def default_cache_root() -> Path:
    """Return the folder of retrieved studies inside the application's cache folder."""
    return cache_dir() / "dicom-cache"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``pacs`` and its subcommands."""
    pacs = subparsers.add_parser(
        "pacs", help="query and retrieve from a PACS, import into the local cache",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = pacs.add_subparsers(dest="pacs_command", metavar="COMMAND", required=True)

    echo_parser = commands.add_parser("echo", help="test a node with C-ECHO")
    _add_node_options(echo_parser)

    find_parser = commands.add_parser(
        "find", help="C-FIND studies, or the series or images of one study")
    _add_node_options(find_parser)
    _add_query_options(find_parser)
    find_parser.add_argument("--level", choices=("study", "series", "image"), default="study",
                             help="query level; series and image need --study-uid")

    retrieve_parser = commands.add_parser(
        "retrieve", help="retrieve the matching studies into the cache")
    _add_node_options(retrieve_parser)
    _add_query_options(retrieve_parser)
    _add_cache_option(retrieve_parser)
    retrieve_parser.add_argument("--method", choices=(C_MOVE, C_GET), type=str.upper,
                                 help="retrieve method (default: the node's, else C-MOVE)")
    retrieve_parser.add_argument("--local-port", type=int,
                                 help="port of our Storage SCP for C-MOVE (default: settings)")
    retrieve_parser.add_argument("--bind-address",
                                 help="address our Storage SCP listens on (default: settings)")
    retrieve_parser.add_argument("--priors", action="store_true",
                                 help="also retrieve the most recent earlier study of the patient")

    import_parser = commands.add_parser("import", help="import files, folders or DICOMDIRs")
    import_parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _add_cache_option(import_parser)
    import_parser.add_argument("--json", action="store_true", help="print JSON")

    nodes_parser = commands.add_parser("nodes", help="list the nodes in the settings file")
    nodes_parser.add_argument("--json", action="store_true", help="print JSON")


def _add_node_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("node", help="node name from the settings, or AET@HOST:PORT")
    parser.add_argument("--local-aet", help="our calling AE title (default: settings)")
    parser.add_argument("--timeout", type=float,
                        help="network timeout in seconds (default: settings, 30)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patient-name", default="", help="Patient Name, wildcards * and ?")
    parser.add_argument("--patient-id", default="", help="Patient ID, wildcards * and ?")
    parser.add_argument("--accession", default="", help="Accession Number")
    parser.add_argument("--study-date", default="",
                        help="YYYYMMDD, FROM-TO, FROM- or -TO (dates as YYYYMMDD)")
    parser.add_argument("--modality", default=None,
                        help="Modalities in Study (default MG; '' for any; any with --study-uid)")
    parser.add_argument("--study-uid", default="", help="Study Instance UID")


def _add_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path,
                        help=f"cache folder (default: {default_cache_root()})")


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``pacs`` subcommand; return the exit status."""
    settings = Settings.load()
    try:
        handler = _HANDLERS[args.pacs_command]
        return handler(args, settings)
    except (DicomNetworkError, ValueError, OSError) as error:
        _fail(args, str(error))
        return EXIT_FAILED


def _fail(args: argparse.Namespace, message: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message}, indent=1))
    else:
        print(f"error: {message}", file=sys.stderr)


def resolve_node(spec: str, settings: Settings) -> RemoteNode:
    """Find a node in the settings by name (case-insensitive), or parse AET@HOST:PORT."""
    for node in settings.pacs.nodes:
        if node.name.lower() == spec.lower():
            return node
    if "@" in spec:
        return parse_node_spec(spec)
    names = ", ".join(node.name for node in settings.pacs.nodes) or "none configured"
    raise ValueError(f"unknown node {spec!r} (known: {names}); give AET@HOST:PORT instead")


def _calling(args: argparse.Namespace, settings: Settings) -> CallingAE:
    ae_title = args.local_aet or settings.pacs.local.ae_title
    validate_ae_title(ae_title)
    return CallingAE(ae_title, args.timeout or settings.pacs.network_timeout_s)


def _query(args: argparse.Namespace) -> StudyQuery:
    date_from, date_to = parse_date_range(args.study_date) if args.study_date else (None, None)
    modality = args.modality
    if modality is None:
        modality = "" if args.study_uid else "MG"
    return StudyQuery(
        patient_name=args.patient_name, patient_id=args.patient_id,
        accession_number=args.accession, date_from=date_from, date_to=date_to,
        modality=modality.upper(), study_uid=args.study_uid,
    )


def _echo(args: argparse.Namespace, settings: Settings) -> int:
    result = echo(resolve_node(args.node, settings), _calling(args, settings))
    if args.json:
        print(json.dumps(dataclasses.asdict(result), indent=1))
    else:
        print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _find(args: argparse.Namespace, settings: Settings) -> int:
    node = resolve_node(args.node, settings)
    calling = _calling(args, settings)
    if args.level != "study":
        if not args.study_uid:
            raise ValueError(f"--level {args.level} needs --study-uid")
        level_rows: list[Any] = (
            find_series(node, args.study_uid, calling) if args.level == "series"
            else find_instances(node, args.study_uid, "", calling)
        )
        _print_rows(args, [dataclasses.asdict(row) for row in level_rows])
        return EXIT_OK
    studies = find_studies(node, _query(args), calling)
    _print_rows(args, [dataclasses.asdict(study) for study in studies])
    return EXIT_OK


def _print_rows(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not rows:
        print("No matches.")
        return
    columns = [key for key in rows[0] if key not in ("issuer_of_patient_id",)]
    table = [[_cell(row[key]) for key in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in table))
              for i, column in enumerate(columns)]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "\\".join(str(item) for item in value)
    return "" if value is None else str(value)


def _open_store(args: argparse.Namespace, settings: Settings) -> CacheStore:
    root = args.cache_dir or default_cache_root()
    return CacheStore(root, settings.pacs.cache_quota_mb * 1_000_000)


def _retrieve(args: argparse.Namespace, settings: Settings) -> int:
    node = resolve_node(args.node, settings)
    calling = _calling(args, settings)
    method = (args.method or node.retrieve_method or C_MOVE).upper()
    local = _storage_scp_settings(args, settings, calling) if method == C_MOVE else None
    store = _open_store(args, settings)
    studies = find_studies(node, _query(args), calling)
    if not studies:
        _fail(args, f"no study on {node.ae_title} at {node.host}:{node.port} matches the keys")
        return EXIT_FAILED
    scp = None
    if local is not None:
        scp = StorageSCP(local, store, calling.timeout_s)
        scp.start()
    try:
        report = _retrieve_all(args, node, calling, store, scp, method, studies)
    finally:
        if scp is not None:
            scp.stop()
    if args.json:
        print(json.dumps(report, indent=1))
    if report["errors"]:
        return EXIT_FAILED
    if any(study["warning"] for study in report["studies"]):
        return EXIT_INCOMPLETE
    return EXIT_OK


def _storage_scp_settings(args: argparse.Namespace, settings: Settings,
                          calling: CallingAE) -> LocalAE:
    """Settings of the Storage SCP that receives a C-MOVE, from the options and the file."""
    port = settings.pacs.local.port if args.local_port is None else args.local_port
    if port <= 0:
        raise ValueError(
            "C-MOVE needs our Storage SCP on the port the PACS sends to: give "
            "--local-port PORT, set the port in PACS > Nodes, or use --method C-GET")
    return dataclasses.replace(
        settings.pacs.local, ae_title=calling.ae_title, port=port,
        bind_address=args.bind_address or settings.pacs.local.bind_address)


def _retrieve_all(args: argparse.Namespace, node: RemoteNode, calling: CallingAE,
                  store: CacheStore, scp: StorageSCP | None, method: str,
                  studies: list[StudyResult]) -> dict[str, Any]:
    report: dict[str, Any] = {"ok": True, "studies": [], "errors": []}
    progress = None if args.json else _print_progress
    for study in studies:
        try:
            result = retrieve_study(node, study.study_uid, calling, store, scp, method,
                                    progress=progress)
        except DicomNetworkError as error:
            report["errors"].append({"study_uid": study.study_uid, "error": str(error)})
            if not args.json:
                print(f"error: {error}", file=sys.stderr)
            continue
        entry = {**dataclasses.asdict(result), "mb_per_s": round(result.mb_per_s, 2),
                 "instances_per_s": round(result.instances_per_s, 2), "prior": False}
        report["studies"].append(entry)
        if not args.json:
            print(f"\n{study.study_uid}: {result.received} new, {result.duplicates} already "
                  f"cached, {result.mb_per_s:.1f} MB/s")
            if result.warning:
                print(f"warning: {result.warning}", file=sys.stderr)
        if args.priors:
            _retrieve_priors(args, node, calling, store, scp, study, report)
    report["ok"] = not report["errors"]
    report["cache_dir"] = str(store.root)
    return report


def _retrieve_priors(args: argparse.Namespace, node: RemoteNode, calling: CallingAE,
                     store: CacheStore, scp: StorageSCP | None, study: StudyResult,
                     report: dict[str, Any]) -> None:
    fetched = prefetch_priors(node, study, calling, store, scp)
    for result in fetched.retrieved:
        report["studies"].append({**dataclasses.asdict(result), "prior": True,
                                  "mb_per_s": round(result.mb_per_s, 2),
                                  "instances_per_s": round(result.instances_per_s, 2)})
        if not args.json:
            print(f"\nprior {result.study_uid}: {result.received} new")
    for study_uid in fetched.already_cached:
        if not args.json:
            print(f"prior {study_uid}: already cached")
    report["errors"].extend({"study_uid": "", "error": error} for error in fetched.errors)


def _print_progress(progress: RetrieveProgress) -> None:
    total = "?" if progress.total is None else str(progress.total)
    print(f"\r{progress.study_uid[-12:]}: {progress.received}/{total} instances, "
          f"{progress.mb_per_s:.1f} MB/s", end="", file=sys.stderr, flush=True)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    store = _open_store(args, settings)
    result = import_paths(store, args.paths)
    problems = [{"path": str(p.path), "reason": p.reason} for p in result.problems]
    if args.json:
        print(json.dumps({"ok": True, "added": result.added,
                          "skipped_duplicates": result.skipped_duplicates,
                          "study_uids": sorted(result.study_uids), "problems": problems,
                          "cache_dir": str(store.root)}, indent=1))
    else:
        print(f"Imported {result.added} instances of {len(result.study_uids)} studies into "
              f"{store.root} ({result.skipped_duplicates} already cached).")
        for problem in problems:
            print(f"skipped {problem['path']}: {problem['reason']}", file=sys.stderr)
    return EXIT_OK


def _nodes(args: argparse.Namespace, settings: Settings) -> int:
    nodes = [dataclasses.asdict(node) for node in settings.pacs.nodes]
    local = dataclasses.asdict(settings.pacs.local)
    if args.json:
        print(json.dumps({"nodes": nodes, "local": local}, indent=1))
        return EXIT_OK
    for node in settings.pacs.nodes:
        tls = ", TLS" if node.tls else ""
        print(f"{node.name}: {node.ae_title}@{node.host}:{node.port} ({node.retrieve_method}{tls})")
    print(f"local AE: {settings.pacs.local.ae_title}, Storage SCP on "
          f"{settings.pacs.local.bind_address}:{settings.pacs.local.port}")
    return EXIT_OK


_HANDLERS = {
    "echo": _echo,
    "find": _find,
    "retrieve": _retrieve,
    "import": _import,
    "nodes": _nodes,
}
