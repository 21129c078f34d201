"""Command line: ``mammo-workstation [PATH...]`` opens the viewer; subcommands work headless."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mammo_workstation import __version__

SUBCOMMANDS = ("view", "render", "screenshot", "hang", "pacs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mammo-workstation",
        description="Mammography reading workstation. Without a subcommand, opens the viewer.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more: -v for INFO, -vv for DEBUG (DEBUG may show patient data)")
    subparsers = parser.add_subparsers(dest="command")

    view = subparsers.add_parser("view", help="open the viewer (the default)")
    view.add_argument("paths", nargs="*", help="DICOM files, folders or DICOMDIR files")
    view.add_argument("--demo", action="store_true", help="open the bundled demo exam")

    from mammo_workstation.commands import hang, render, screenshot

    render.add_parser(subparsers)
    screenshot.add_parser(subparsers)
    hang.add_parser(subparsers)
    _add_pacs_parser(subparsers)
    return parser


def _add_pacs_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    try:
        from mammo_workstation.net import cli as pacs_cli
    except ImportError:
        return
    pacs_cli.add_parser(subparsers)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or (arguments[0] not in SUBCOMMANDS and arguments[0] not in ("-h", "--help", "--version")
                         and not arguments[0].startswith("-v")):
        arguments.insert(0, "view")
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        args = parser.parse_args(["view", *arguments])
    _configure_logging(args.verbose)
    if args.command == "view":
        from mammo_workstation.gui.app import run_viewer

        return run_viewer(args.paths, demo=args.demo)
    if args.command == "pacs":
        from mammo_workstation.net import cli as pacs_cli

        return int(pacs_cli.run(args))
    return int(args.handler(args))


def _configure_logging(verbosity: int) -> None:
    levels = {0: logging.WARNING, 1: logging.INFO}
    logging.basicConfig(level=levels.get(verbosity, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    if verbosity < 2:
        # pydicom logs each failed decoder plugin with a traceback; our own message names the
        # file and the cause, so its log only shows with -vv.
        logging.getLogger("pydicom").setLevel(logging.CRITICAL)
        # pynetdicom logs each failed connection at ERROR; the pacs command's own message
        # names the peer and the fix.
        logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    sys.exit(main())
