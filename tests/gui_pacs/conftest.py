"""An Orthanc of its own for the PACS window tests, and isolated settings and cache folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.net.dicom_peers import (
    DEMO_0001_CURRENT,
    DEMO_0001_PRIOR,
    Netns,
    Orthanc,
    create_netns_or_skip,
    free_port,
)

LOCAL_AET = "MAMMOWS"


@pytest.fixture(autouse=True)
def user_folders(tmp_path, monkeypatch):
    """Each test starts from a fresh settings file and an empty cache."""
    monkeypatch.setenv("MAMMO_WORKSTATION_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MAMMO_WORKSTATION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="module")
def gui_netns() -> Iterator[Netns]:
    namespace = create_netns_or_skip()
    try:
        yield namespace
    finally:
        namespace.delete()


@pytest.fixture(scope="module")
def gui_scp_port(gui_netns: Netns) -> int:
    return free_port(gui_netns.host_ip)


@pytest.fixture(scope="module")
def gui_orthanc(gui_netns: Netns, gui_scp_port: int, tmp_path_factory) -> Iterator[Orthanc]:
    folder = tmp_path_factory.mktemp("gui-orthanc")
    peer = Orthanc(gui_netns, folder, {LOCAL_AET: (LOCAL_AET, gui_netns.host_ip, gui_scp_port)})
    peer.start()
    try:
        peer.upload([*DEMO_0001_CURRENT.glob("*.dcm"), *DEMO_0001_PRIOR.glob("*.dcm")])
        yield peer
    finally:
        peer.stop()
