"""Real DICOM peers for tests and the benchmark: Orthanc, dcmqrscp and storescp.

Orthanc 1.10 and dcmtk 3.6.7 have no bind-address option and listen on every interface, so each
peer runs inside a network namespace that these helpers create. The namespace is joined to
the host by a veth pair with two private addresses from 198.18.0.0/15 (RFC 2544, reserved for
benchmarking), so the test process reaches the peer at ``Netns.peer_ip`` and the peer reaches
our Storage SCP at ``Netns.host_ip``. Nothing listens on a host interface other than that
veth end. Creating namespaces needs root.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT / "../shared/data"
EXAMS = SHARED_DATA / "exams"

DEMO_0001_CURRENT = EXAMS / "DEMO-0001" / "2025-11-12_screening"
DEMO_0001_PRIOR = EXAMS / "DEMO-0001" / "2023-10-30_screening"
DEMO_0002 = EXAMS / "DEMO-0002" / "2025-11-13_screening"

ORTHANC_AET = "ORTHANC"
DICOM_PORT = 4242
HTTP_PORT = 8042


def why_peers_unavailable() -> str | None:
    """The reason real peers cannot run here, or None when they can."""
    if not EXAMS.is_dir():
        return f"test exams not found at {EXAMS.resolve()}"
    if os.geteuid() != 0:
        return "creating a network namespace for the DICOM peers needs root"
    for tool in ("ip", "Orthanc", "dcmqrscp", "dcmqridx", "storescp", "movescu"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian packages iproute2, orthanc, dcmtk)"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll ``condition`` until true; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"{what} not ready within {timeout_s} s")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Netns:
    """A network namespace with ``lo`` and one veth link to the host."""

    def __init__(self) -> None:
        self.suffix = f"{os.getpid() % 10000}{random.randrange(1000)}"
        self.name = f"mwtest{self.suffix}"
        self.host_link = f"mwh{self.suffix}"
        self.peer_link = f"mwn{self.suffix}"
        used = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
        for _ in range(100):
            base = random.randrange(0, 2 * 65536 // 4) * 4
            third, fourth = divmod(base, 256)
            self.host_ip = f"198.{18 + third // 256}.{third % 256}.{fourth + 1}"
            self.peer_ip = f"198.{18 + third // 256}.{third % 256}.{fourth + 2}"
            if self.host_ip not in used and self.peer_ip not in used:
                break
        self._created = False

    def create(self) -> Netns:
        self._ip("netns", "add", self.name)
        self._created = True
        self._ip("link", "add", self.host_link, "type", "veth", "peer", "name", self.peer_link)
        self._ip("link", "set", self.peer_link, "netns", self.name)
        self._ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_link)
        self._ip("link", "set", self.host_link, "up")
        self._in_ns("ip", "addr", "add", f"{self.peer_ip}/30", "dev", self.peer_link)
        self._in_ns("ip", "link", "set", self.peer_link, "up")
        self._in_ns("ip", "link", "set", "lo", "up")
        return self

    def delete(self) -> None:
        if self._created:
            subprocess.run(["ip", "link", "del", self.host_link], capture_output=True)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self._created = False

    def command(self, *args: str) -> list[str]:
        """A command line that runs ``args`` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *args]

    def _ip(self, *args: str) -> None:
        self._run(["ip", *args])

    def _in_ns(self, *args: str) -> None:
        self._run(self.command(*args))

    def _run(self, command: list[str]) -> None:
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            self.delete()
            raise NetnsError(f"{' '.join(command)} failed: {completed.stderr.strip()}")


class NetnsError(RuntimeError):
    """The namespace or its veth link could not be set up (no CAP_NET_ADMIN, no veth)."""


def create_netns_or_skip() -> Netns:
    """Create a namespace, or skip the calling test with the reason it cannot be made."""
    import pytest

    reason = why_peers_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        return Netns().create()
    except NetnsError as error:
        pytest.skip(f"cannot create a network namespace for the DICOM peers: {error}")


class Process:
    """A peer process with its log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, command: list[str], log: Path, cwd: Path | None = None) -> None:
        self.command = command
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.cwd, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Orthanc:
    """Orthanc in a namespace, with its storage in ``folder``."""

    def __init__(self, netns: Netns, folder: Path, modalities: dict[str, tuple[str, str, int]],
                 check_called_aet: bool = True, default_encoding: str = "Utf8",
                 dicom_port: int = DICOM_PORT, http_port: int = HTTP_PORT,
                 extra: dict[str, object] | None = None) -> None:
        self.netns = netns
        self.folder = folder
        self.host = netns.peer_ip
        self.port = dicom_port
        self.http_port = http_port
        self.ae_title = ORTHANC_AET
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "mammo-workstation-test",
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "storage"),
            "DicomAet": ORTHANC_AET,
            "DicomPort": dicom_port,
            "HttpPort": http_port,
            "RemoteAccessAllowed": True,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": check_called_aet,
            "DicomModalities": {name: list(value) for name, value in modalities.items()},
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowMove": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowStore": True,
            "DefaultEncoding": default_encoding,
            "DicomAssociationCloseDelay": 0,
            "DicomScuTimeout": 10,
            "StableAge": 1,
            "Plugins": [],
            **(extra or {}),
        }
        self.config_path = folder / "orthanc.json"
        self.config_path.write_text(json.dumps(config, indent=1))
        self.process = Process(netns.command("Orthanc", str(self.config_path)),
                               folder / "orthanc.log")

    @property
    def url(self) -> str:
        return f"http://{self.netns.peer_ip}:{self.http_port}"

    def start(self) -> Orthanc:
        self.process.start()
        wait_until(lambda: self._http_ok("/system"), 20, f"Orthanc HTTP at {self.url}")
        wait_until(lambda: port_open(self.host, self.port), 20, "Orthanc DICOM port")
        return self

    def stop(self, kill: bool = False) -> None:
        self.process.stop(kill=kill)

    def kill_now(self) -> None:
        """SIGKILL Orthanc without waiting: its open associations end without release."""
        if self.process.process is not None:
            os.killpg(self.process.process.pid, signal.SIGKILL)

    def upload(self, files: Iterable[Path]) -> None:
        for path in files:
            request = urllib.request.Request(
                f"{self.url}/instances", data=path.read_bytes(), method="POST",
                headers={"Content-Type": "application/dicom"})
            with _opener().open(request, timeout=30) as response:
                response.read()

    def _http_ok(self, path: str) -> bool:
        try:
            with _opener().open(self.url + path, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False


def _opener() -> urllib.request.OpenerDirector:
    # No proxy: the namespace address must never go through an HTTP proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Dcmqrscp:
    """dcmtk's dcmqrscp in a namespace, serving the files indexed with dcmqridx."""

    def __init__(self, netns: Netns, folder: Path, ae_title: str,
                 move_destinations: dict[str, tuple[str, int]], port: int = 11113) -> None:
        self.netns = netns
        self.folder = folder
        self.host = netns.peer_ip
        self.port = port
        self.ae_title = ae_title
        self.storage = folder / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        hosts = "\n".join(
            f"{name.lower()} = ({name}, {host}, {dest_port})"
            for name, (host, dest_port) in move_destinations.items()
        )
        config = (
            f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
            f"HostTable BEGIN\n{hosts}\nHostTable END\n"
            "VendorTable BEGIN\nVendorTable END\n"
            f"AETable BEGIN\n{ae_title} {self.storage} RW (100, 1024mb) ANY\nAETable END\n"
        )
        self.config_path = folder / "dcmqrscp.cfg"
        self.config_path.write_text(config)
        # -xv proposes JPEG 2000 lossless next to the uncompressed syntaxes in C-MOVE
        # sub-operations and +xv accepts it in C-GET contexts, as a PACS that stores JPEG 2000
        # would; dcmqrscp cannot transcode JPEG 2000, so without them every J2K transfer fails.
        self.process = Process(netns.command("dcmqrscp", "-xv", "+xv", "-c", str(self.config_path)),
                               folder / "dcmqrscp.log")

    def add_files(self, files: Iterable[Path]) -> None:
        copies = []
        for index, path in enumerate(files):
            copy = self.storage / f"{index:04d}_{path.parent.name}_{path.name}"
            shutil.copyfile(path, copy)
            copies.append(str(copy))
        subprocess.run(["dcmqridx", str(self.storage), *copies], check=True, capture_output=True)

    def start(self) -> Dcmqrscp:
        self.process.start()
        wait_until(lambda: port_open(self.host, self.port), 20, "dcmqrscp port")
        return self

    def stop(self) -> None:
        self.process.stop()


class Storescp:
    """dcmtk's storescp in a namespace; ``extra`` adds options such as ``--refuse``."""

    def __init__(self, netns: Netns, folder: Path, ae_title: str, port: int,
                 extra: Iterable[str] = ()) -> None:
        self.host = netns.peer_ip
        self.port = port
        self.ae_title = ae_title
        self.output = folder / "received"
        self.output.mkdir(parents=True, exist_ok=True)
        command = netns.command("storescp", "-aet", ae_title, "-od", str(self.output),
                                *extra, str(port))
        self.process = Process(command, folder / f"storescp-{port}.log")

    def start(self) -> Storescp:
        self.process.start()
        wait_until(lambda: port_open(self.host, self.port), 20, "storescp port")
        return self

    def stop(self) -> None:
        self.process.stop()
