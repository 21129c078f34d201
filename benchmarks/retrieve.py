"""Retrieve throughput: our C-MOVE against dcmtk's movescu + storescp, from the same Orthanc.

``python -m benchmarks.retrieve [--runs N] [--study current|prior|both] [--json OUT]``

Orthanc, both receivers and both requestors run in one network namespace and talk over its
loopback, so neither side gets a faster path. Our side runs in a child Python process inside
the namespace: it imports and retrieves once untimed (the first transfer of a process pays
for imports and first memory touches), then times ``retrieve_study`` into a fresh cache each
run, which covers association, C-MOVE, the sub-association and the cache commit. dcmtk's
figure is the wall time of the movescu process, with storescp writing files with ``+B``.
dcmtk is measured as shipped and with ``TCP_NODELAY=1`` in the environment, which makes it
turn off Nagle's algorithm. Runs are interleaved and each figure is the median.
Needs root (network namespace), the orthanc and dcmtk Debian packages and the shared exams.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.net.dicom_peers import (
    DEMO_0001_CURRENT,
    DEMO_0001_PRIOR,
    REPO_ROOT,
    Netns,
    NetnsError,
    Orthanc,
    port_open,
    wait_until,
    why_peers_unavailable,
)

OUR_AET = "MAMMOWS"
OUR_PORT = 11112
STORESCP_AET = "STORESCP"
STORESCP_PORT = 11113
STUDIES = {"current": DEMO_0001_CURRENT, "prior": DEMO_0001_PRIOR}


def study_facts(folder: Path) -> dict[str, Any]:
    import pydicom

    files = sorted(folder.glob("*.dcm"))
    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    return {
        "study_uid": str(header.StudyInstanceUID),
        "instances": len(files),
        "bytes": sum(path.stat().st_size for path in files),
        "transfer_syntax": str(header.file_meta.TransferSyntaxUID.name),
    }


def worker(study_uid: str, cache_root: Path) -> None:
    """Inside the namespace: retrieve with our C-MOVE once per input line, print seconds.

    The first retrieve warms the process up and is not reported, as the application retrieves
    in a long-running process.
    """
    from mammo_workstation.cache import CacheStore
    from mammo_workstation.net import CallingAE, StorageSCP, retrieve_study
    from mammo_workstation.settings import LocalAE, RemoteNode

    node = RemoteNode(name="bench", ae_title="ORTHANC", host="127.0.0.1", port=4242)
    calling = CallingAE(OUR_AET, 30)
    cache_root.mkdir(parents=True, exist_ok=True)
    for run, _ in enumerate(itertools.chain(["warm-up"], sys.stdin)):
        store = CacheStore(Path(tempfile.mkdtemp(dir=cache_root)))
        scp = StorageSCP(LocalAE(OUR_AET, OUR_PORT, "127.0.0.1"), store)
        scp.start()
        try:
            started = time.perf_counter()
            result = retrieve_study(node, study_uid, calling, store, scp)
            elapsed = time.perf_counter() - started
        finally:
            scp.stop()
        if result.received == 0:
            raise SystemExit(f"retrieve {run} received nothing")
        if run > 0:
            print(elapsed, flush=True)


class OurRetriever:
    """The worker process, kept running across rounds."""

    def __init__(self, netns: Netns, study_uid: str, scratch: Path) -> None:
        command = netns.command(sys.executable, "-m", "benchmarks.retrieve", "--worker",
                                study_uid, "--scratch", str(scratch))
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=REPO_ROOT)

    def measure(self) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"our retrieve failed (exit status {self.process.wait()})")
        return float(line)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def measure_dcmtk(netns: Netns, study_uid: str, runs: int, scratch: Path,
                  nodelay: bool) -> list[float]:
    environment = dict(os.environ)
    environment.pop("TCP_NODELAY", None)
    if nodelay:
        environment["TCP_NODELAY"] = "1"
    output = scratch / ("dcmtk-nodelay" if nodelay else "dcmtk")
    output.mkdir(parents=True, exist_ok=True)
    receiver = subprocess.Popen(
        netns.command("storescp", "-aet", STORESCP_AET, "-od", str(output), "+B", "+xa",
                      "-pm", str(STORESCP_PORT)),
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = []
    try:
        wait_until(lambda: _port_in_namespace_open(netns, STORESCP_PORT), 20, "storescp")
        for _ in range(runs + 1):
            started = time.perf_counter()
            subprocess.run(
                netns.command("movescu", "-S", "-aet", "MOVESCU", "-aec", "ORTHANC",
                              "-aem", STORESCP_AET, "-k", "QueryRetrieveLevel=STUDY",
                              "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", "4242"),
                env=environment, check=True, capture_output=True, timeout=120)
            seconds.append(time.perf_counter() - started)
            for path in output.iterdir():
                path.unlink()
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    return seconds[1:]  # The first run warms Orthanc's and the page cache up, as for ours.


def _port_in_namespace_open(netns: Netns, port: int) -> bool:
    probe = subprocess.run(netns.command(sys.executable, "-c", (
        "import socket,sys\n"
        f"s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1', {port})))"
    )), capture_output=True)
    return probe.returncode == 0


def run_benchmark(runs: int, studies: list[str]) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="retrieve-bench-"))
    try:
        netns = Netns().create()
    except NetnsError as error:
        raise SystemExit(f"cannot run the retrieve benchmark: {error}") from None
    orthanc = Orthanc(netns, scratch / "orthanc", {
        OUR_AET: (OUR_AET, "127.0.0.1", OUR_PORT),
        STORESCP_AET: (STORESCP_AET, "127.0.0.1", STORESCP_PORT),
    })
    report: dict[str, Any] = {"runs": runs, "studies": {}}
    try:
        orthanc.start()
        wait_until(lambda: port_open(orthanc.host, orthanc.port), 20, "Orthanc")
        for name in studies:
            facts = study_facts(STUDIES[name])
            orthanc.upload(sorted(STUDIES[name].glob("*.dcm")))
            timings: dict[str, list[float]] = {"ours": [], "dcmtk": [], "dcmtk_nodelay": []}
            ours = OurRetriever(netns, facts["study_uid"], scratch / "ours")
            try:
                for _ in range(runs):  # Interleave the tools so drift hits all alike.
                    timings["ours"].append(ours.measure())
                    timings["dcmtk"] += measure_dcmtk(netns, facts["study_uid"], 1, scratch,
                                                      False)
                    timings["dcmtk_nodelay"] += measure_dcmtk(netns, facts["study_uid"], 1,
                                                              scratch, True)
            finally:
                ours.close()
            report["studies"][name] = {**facts, "tools": _summarise(facts, timings)}
    finally:
        orthanc.stop()
        netns.delete()
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
    return report


def _summarise(facts: dict[str, Any], timings: dict[str, list[float]]) -> dict[str, Any]:
    summary = {}
    for tool, seconds in timings.items():
        median = statistics.median(seconds)
        summary[tool] = {
            "seconds": [round(s, 4) for s in seconds],
            "median_s": round(median, 4),
            "mb_per_s": round(facts["bytes"] / 1e6 / median, 1),
            "instances_per_s": round(facts["instances"] / median, 1),
        }
    ours = summary["ours"]["median_s"]
    for tool in summary:
        # Above 1 means we are faster than that tool.
        summary[tool]["ratio_to_ours"] = round(summary[tool]["median_s"] / ours, 2)
    return summary


def print_table(report: dict[str, Any]) -> None:
    print(f"{'study':8} {'tool':14} {'median s':>9} {'MB/s':>7} {'inst/s':>7} {'its time / ours':>16}")
    for name, study in report["studies"].items():
        for tool, figures in study["tools"].items():
            print(f"{name:8} {tool:14} {figures['median_s']:9.3f} {figures['mb_per_s']:7.1f} "
                  f"{figures['instances_per_s']:7.1f} {figures['ratio_to_ours']:16.2f}")
        print(f"{'':8} ({study['instances']} instances, {study['bytes'] / 1e6:.1f} MB, "
              f"{study['transfer_syntax']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool (default 5)")
    parser.add_argument("--study", choices=("current", "prior", "both"), default="both",
                        help="DEMO-0001 current (JPEG 2000), prior (RLE) or both")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures here")
    parser.add_argument("--worker", metavar="STUDY_UID", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.scratch)
        return 0
    reason = why_peers_unavailable()
    if reason:
        print(f"cannot run the retrieve benchmark: {reason}", file=sys.stderr)
        return 2
    studies = ["current", "prior"] if args.study == "both" else [args.study]
    report = run_benchmark(args.runs, studies)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
