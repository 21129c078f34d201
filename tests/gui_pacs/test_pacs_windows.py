"""The PACS menu, nodes dialog, query/retrieve window and local study browser, driven by qtbot."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from mammo_workstation.gui.pacs import install_pacs_menu
from mammo_workstation.settings import LocalAE, PacsSettings, Settings, config_dir
from tests.gui_pacs.conftest import LOCAL_AET
from tests.net.dicom_peers import DEMO_0001_CURRENT, DEMO_0001_PRIOR

WAIT_MS = 20_000


class OpenedPaths:
    """Stands in for the main window's ``open_paths``; records what it was asked to open."""

    def __init__(self) -> None:
        self.calls: list[list[Path]] = []

    def __call__(self, paths: list[Path]) -> None:
        self.calls.append(list(paths))


@pytest.fixture
def window(qtbot):
    main = QMainWindow()
    qtbot.addWidget(main)
    main.show()
    return main


def sop_uids(folder: Path) -> set[str]:
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
            for p in folder.glob("*.dcm")}


def test_menu_on_fresh_settings(window):
    opened = OpenedPaths()
    menu = install_pacs_menu(window, opened)
    titles = [action.text() for action in menu.menu.actions()]
    assert titles == ["&Nodes…", "&Query/Retrieve…", "&Local studies…",
                      "&Import folder into cache…"]
    assert menu.service.scp is None  # No port configured, so nothing listens.
    menu.service.shutdown()


def test_port_in_use_keeps_app_running(window):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        Settings(pacs=PacsSettings(local=LocalAE(LOCAL_AET, port, "127.0.0.1"))).save()
        menu = install_pacs_menu(window, OpenedPaths())
        assert menu.service.scp is None
        assert f"port {port} is already in use" in window.statusBar().currentMessage()
        menu.service.shutdown()


def test_import_folder_then_browse_and_open(qtbot, window):
    opened = OpenedPaths()
    menu = install_pacs_menu(window, opened)
    menu.import_folder(DEMO_0001_PRIOR)
    qtbot.waitUntil(lambda: "Imported 4 images" in window.statusBar().currentMessage(),
                    timeout=WAIT_MS)
    browser = menu.show_local()
    assert browser.table.rowCount() == 1
    browser.table.selectRow(0)
    browser.open_selected()
    assert len(opened.calls) == 1
    opened_uids = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                   for p in opened.calls[0]}
    assert opened_uids == sop_uids(DEMO_0001_PRIOR)
    menu.service.shutdown()


@pytest.mark.network
def test_fresh_user_adds_node_retrieves_and_reads(qtbot, window, gui_orthanc, gui_netns,
                                                  gui_scp_port):
    opened = OpenedPaths()
    menu = install_pacs_menu(window, opened)

    dialog = menu.show_nodes()
    dialog.add_node()
    dialog.name_edit.setText("Orthanc")
    dialog.aet_edit.setText(gui_orthanc.ae_title)
    dialog.host_edit.setText(gui_orthanc.host)
    dialog.port_spin.setValue(gui_orthanc.port)
    dialog.method_combo.setCurrentText("C-MOVE")
    dialog.local_aet_edit.setText(LOCAL_AET)
    dialog.scp_check.setChecked(True)
    dialog.local_port_spin.setValue(gui_scp_port)
    dialog.bind_edit.setText(gui_netns.host_ip)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "works" in dialog.test_result.text(), timeout=WAIT_MS)
    dialog.accept()
    assert dialog.error_label.text() == ""
    saved = tomllib.loads((config_dir() / "settings.toml").read_text())
    assert saved["pacs"]["nodes"][0]["ae_title"] == "ORTHANC"
    assert menu.service.scp is not None

    query = menu.show_query()
    assert query.node_combo.currentText() == "Orthanc"
    query.patient_id_edit.setText("DEMO-0001")
    qtbot.mouseClick(query.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: query.tree.topLevelItemCount() == 2, timeout=WAIT_MS)
    current_uid = str(pydicom.dcmread(DEMO_0001_CURRENT / "RCC.dcm",
                                      stop_before_pixels=True).StudyInstanceUID)
    current_item = query.study_item(current_uid)
    assert current_item is not None
    current_item.setExpanded(True)
    qtbot.waitUntil(lambda: current_item.childCount() == 4
                    and current_item.child(0).text(0).startswith("Series 1"), timeout=WAIT_MS)

    query.tree.clearSelection()
    current_item.setSelected(True)
    assert query.priors_check.isChecked()
    qtbot.mouseClick(query.retrieve_button, Qt.MouseButton.LeftButton)
    prior_uid = str(pydicom.dcmread(DEMO_0001_PRIOR / "RCC.dcm",
                                    stop_before_pixels=True).StudyInstanceUID)
    prior_item = query.study_item(prior_uid)
    qtbot.waitUntil(lambda: current_item.text(9).startswith("In cache")
                    and prior_item.text(9).startswith("In cache"), timeout=WAIT_MS)

    qtbot.mouseClick(query.open_button, Qt.MouseButton.LeftButton)
    assert len(opened.calls) == 1
    opened_uids = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID)
                   for p in opened.calls[0]}
    assert opened_uids == sop_uids(DEMO_0001_CURRENT) | sop_uids(DEMO_0001_PRIOR)
    menu.service.shutdown()


def test_main_window_reads_cached_study(qtbot, tmp_path):
    """The real main window's PACS menu opens a cached study in the reading view."""
    from mammo_workstation.gui.app import create_main_window

    main = create_main_window(force_software=True)
    qtbot.addWidget(main)
    main.show()
    menu = main._pacs_menu
    menu.import_folder(DEMO_0001_PRIOR)
    qtbot.waitUntil(lambda: "Imported 4 images" in main.statusBar().currentMessage(),
                    timeout=WAIT_MS)
    browser = menu.show_local()
    browser.table.selectRow(0)
    with qtbot.waitSignal(main.reading_view.all_loaded, timeout=120_000):
        browser.open_selected()
    prior_uid = str(pydicom.dcmread(DEMO_0001_PRIOR / "RCC.dcm",
                                    stop_before_pixels=True).StudyInstanceUID)
    assert main.current_study is not None
    assert main.current_study.study_instance_uid == prior_uid
    assert menu.service.store.is_open(prior_uid), "a shown study is protected from eviction"
    main.close()
    assert not menu.service.store.is_open(prior_uid)
    menu.service.shutdown()
