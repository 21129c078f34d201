"""Site and user protocol folders: override by name, reload on change, skip malformed files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mammo_workstation.dicom.loader import load_paths
from mammo_workstation.hanging.library import BUNDLED_DIR, ProtocolLibrary
from mammo_workstation.hanging.matching import choose
from tests.conftest import DEMO_CURRENT, data_path

OVERRIDE = """
name = "MG screening"
description = "site variant: MLO row first"
[[rules]]
kind = "modality"
values = ["MG"]
required = true
weight = 10
[[stages]]
name = "MLO first"
rows = 2
columns = 2
viewports = [
    { row = 0, column = 0, image = "RMLO" }, { row = 0, column = 1, image = "LMLO" },
    { row = 1, column = 0, image = "RCC" }, { row = 1, column = 1, image = "LCC" },
]
"""


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    site, user = tmp_path / "site", tmp_path / "user"
    monkeypatch.setenv("MAMMO_WORKSTATION_SITE_DIR", str(site))
    monkeypatch.setenv("MAMMO_WORKSTATION_CONFIG_DIR", str(user))
    (site / "protocols").mkdir(parents=True)
    (user / "protocols").mkdir(parents=True)
    return site / "protocols", user / "protocols"


def test_folders_follow_settings(folders: tuple[Path, Path]) -> None:
    site, user = folders
    assert ProtocolLibrary().folders == [BUNDLED_DIR, site, user]


def test_user_file_overrides_bundled_by_name(folders: tuple[Path, Path]) -> None:
    _, user = folders
    (user / "my-screening.toml").write_text(OVERRIDE, encoding="utf-8")
    library = ProtocolLibrary()
    entry = library.loaded["MG screening"]
    assert entry.path == user / "my-screening.toml"
    assert entry.overrides == BUNDLED_DIR / "mg-screening.toml"
    collection = load_paths([DEMO_CURRENT])
    hanging = choose(library.protocols, collection, collection.studies[0])
    assert hanging is not None and hanging.protocol.name == "MG screening"
    assert [p.spec.label for p in hanging.stages[0].placements] == ["RMLO", "LMLO", "RCC", "LCC"]


def test_user_overrides_site(folders: tuple[Path, Path]) -> None:
    site, user = folders
    (site / "a.toml").write_text(OVERRIDE.replace("site variant", "from site"), encoding="utf-8")
    library = ProtocolLibrary()
    assert library.get("MG screening").description == "from site: MLO row first"
    (user / "b.toml").write_text(OVERRIDE.replace("site variant", "from user"), encoding="utf-8")
    assert library.reload_if_changed()
    assert library.get("MG screening").description == "from user: MLO row first"
    assert library.loaded["MG screening"].overrides == site / "a.toml"


def test_reload_only_when_files_change(folders: tuple[Path, Path]) -> None:
    _, user = folders
    library = ProtocolLibrary()
    assert not library.reload_if_changed()
    path = user / "extra.toml"
    path.write_text(OVERRIDE.replace('name = "MG screening"', 'name = "Mine"'), encoding="utf-8")
    assert library.reload_if_changed()
    assert library.get("Mine") is not None
    path.write_text(OVERRIDE.replace('name = "MG screening"', 'name = "Renamed"'), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert library.reload_if_changed()
    assert library.get("Mine") is None
    assert library.get("Renamed") is not None
    path.unlink()
    assert library.reload_if_changed()
    assert library.get("Renamed") is None


def test_malformed_file_is_reported_and_others_load(folders: tuple[Path, Path]) -> None:
    _, user = folders
    (user / "broken.toml").write_text('name = "Broken"\n[[stages]]\nname = "s"\ncontent = "grid"\n',
                                      encoding="utf-8")
    (user / "good.toml").write_text(OVERRIDE.replace('name = "MG screening"', 'name = "Good"'),
                                    encoding="utf-8")
    library = ProtocolLibrary()
    assert library.get("Good") is not None
    assert library.get("Broken") is None
    assert library.get("MG screening with prior") is not None
    assert len(library.errors) == 1
    message = str(library.errors[0])
    assert str(user / "broken.toml") in message
    assert "line 4, stages[0].content: invalid value 'grid'; allowed values: fixed, extra_images, series_grid" \
        in message


def test_dicom_hanging_protocol_in_user_folder(folders: tuple[Path, Path]) -> None:
    _, user = folders
    shutil.copy(data_path("real", "decoding", "weasis", "NeurosurgeryPlan.dcm"), user / "neuro.dcm")
    library = ProtocolLibrary()
    assert library.get("NeurosurgeryPlan") is not None
    assert library.errors == []
