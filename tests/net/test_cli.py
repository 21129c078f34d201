"""``mammo-workstation pacs ...`` in a subprocess, with inline nodes and --json output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.net.conftest import LOCAL_AET
from tests.net.dicom_peers import DEMO_0002, REPO_ROOT
from tests.net.test_retrieve import study_uid

pytestmark = pytest.mark.network


def pacs(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, MAMMO_WORKSTATION_CONFIG_DIR=str(config))
    return subprocess.run(
        [sys.executable, "-m", "mammo_workstation.cli", "pacs", *args],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=environment)


def test_cli_echo_find_retrieve_import(orthanc, netns, scp_port, tmp_path):
    node = f"{orthanc.ae_title}@{orthanc.host}:{orthanc.port}"
    config = tmp_path / "config"
    cache = tmp_path / "cache"

    echoed = pacs("echo", node, "--json", config=config)
    assert echoed.returncode == 0, echoed.stderr
    assert json.loads(echoed.stdout)["ok"] is True

    found = pacs("find", node, "--patient-id", "DEMO-0001", "--study-date", "20251101-",
                 "--json", config=config)
    assert found.returncode == 0, found.stderr
    studies = json.loads(found.stdout)
    assert [s["study_date"] for s in studies] == ["20251112"]

    retrieved = pacs("retrieve", node, "--study-uid", studies[0]["study_uid"], "--priors",
                     "--cache-dir", str(cache), "--local-aet", LOCAL_AET,
                     "--local-port", str(scp_port), "--bind-address", netns.host_ip,
                     "--json", config=config)
    assert retrieved.returncode == 0, retrieved.stderr
    report = json.loads(retrieved.stdout)
    assert [(s["prior"], s["received"]) for s in report["studies"]] == [(False, 4), (True, 4)]
    assert report["studies"][0]["mb_per_s"] > 0

    by_get = pacs("retrieve", node, "--patient-id", "DEMO-0002", "--method", "c-get",
                  "--cache-dir", str(cache), "--json", config=config)
    assert by_get.returncode == 0, by_get.stderr
    assert json.loads(by_get.stdout)["studies"][0]["study_uid"] == study_uid(DEMO_0002)

    imported = pacs("import", str(DEMO_0002), "--cache-dir", str(cache), "--json",
                    config=config)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["skipped_duplicates"] == 4


def test_cli_failures_exit_one(netns, tmp_path):
    config = tmp_path / "config"
    down = pacs("echo", f"DOWN@{netns.peer_ip}:4299", "--json", config=config)
    assert down.returncode == 1
    assert "DOWN at" in json.loads(down.stdout)["message"]
    unknown = pacs("find", "nosuchnode", config=config)
    assert unknown.returncode == 1
    assert "unknown node 'nosuchnode'" in unknown.stderr
    bad_date = pacs("find", f"X@{netns.peer_ip}:4299", "--study-date", "2023", config=config)
    assert bad_date.returncode == 1
    assert "invalid study date" in bad_date.stderr
