"""PACS > Nodes: remote nodes, our local AE and the cache quota, with "Test connection"."""

from __future__ import annotations

import copy
import dataclasses

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mammo_workstation.gui.pacs.service import PacsService
from mammo_workstation.net import C_GET, C_MOVE, echo
from mammo_workstation.net.association import validate_ae_title
from mammo_workstation.settings import RemoteNode, Settings

DEFAULT_SCP_PORT = 11112


class NodesDialog(QDialog):
    """Edits a copy of the settings; OK validates, saves and restarts the Storage SCP."""

    def __init__(self, service: PacsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS nodes")
        self.service = service
        self.settings: Settings = copy.deepcopy(service.settings)
        self._current = -1
        self.node_list = QListWidget()
        self.node_list.currentRowChanged.connect(self._select)
        add = QPushButton("Add")
        add.clicked.connect(self.add_node)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_node)
        left = QVBoxLayout()
        left.addWidget(self.node_list)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        left.addLayout(buttons)

        self.form = self._node_form()
        top = QHBoxLayout()
        top.addLayout(left, 1)
        top.addWidget(self.form, 2)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._local_group())
        layout.addWidget(self.error_label)
        layout.addWidget(box)
        for node in self.settings.pacs.nodes:
            self.node_list.addItem(node.name)
        if self.settings.pacs.nodes:
            self.node_list.setCurrentRow(0)
        self.form.setEnabled(bool(self.settings.pacs.nodes))

    # Building

    def _node_form(self) -> QGroupBox:
        group = QGroupBox("Remote node")
        form = QFormLayout(group)
        self.name_edit = QLineEdit()
        self.aet_edit = QLineEdit()
        self.aet_edit.setMaxLength(16)
        self.host_edit = QLineEdit()
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.method_combo = QComboBox()
        self.method_combo.addItems([C_MOVE, C_GET])
        self.tls_check = QCheckBox("Use TLS")
        self.ca_edit, ca_row = self._file_row()
        self.cert_edit, cert_row = self._file_row()
        self.key_edit, key_row = self._file_row()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        form.addRow("Name", self.name_edit)
        form.addRow("AE title", self.aet_edit)
        form.addRow("Host", self.host_edit)
        form.addRow("Port", self.port_spin)
        form.addRow("Retrieve with", self.method_combo)
        form.addRow("", self.tls_check)
        form.addRow("TLS CA file", ca_row)
        form.addRow("TLS certificate", cert_row)
        form.addRow("TLS key", key_row)
        form.addRow(self.test_button, self.test_result)
        self.name_edit.textEdited.connect(self._rename)
        return group

    def _file_row(self) -> tuple[QLineEdit, QWidget]:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit()
        browse = QPushButton("…")
        browse.setFixedWidth(32)
        browse.clicked.connect(lambda: self._browse(edit))
        layout.addWidget(edit)
        layout.addWidget(browse)
        return edit, row

    def _browse(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a PEM file", edit.text(),
                                              "PEM files (*.pem *.crt *.key);;All files (*)")
        if path:
            edit.setText(path)

    def _local_group(self) -> QGroupBox:
        local = self.settings.pacs.local
        group = QGroupBox("This workstation")
        form = QFormLayout(group)
        self.local_aet_edit = QLineEdit(local.ae_title)
        self.local_aet_edit.setMaxLength(16)
        self.scp_check = QCheckBox("Run the Storage SCP (needed for C-MOVE)")
        self.scp_check.setChecked(local.port > 0)
        self.local_port_spin = QSpinBox()
        self.local_port_spin.setRange(1, 65535)
        self.local_port_spin.setValue(local.port or DEFAULT_SCP_PORT)
        self.bind_edit = QLineEdit(local.bind_address)
        self.allowed_edit = QLineEdit(", ".join(local.allowed_calling_ae_titles))
        self.allowed_edit.setPlaceholderText("empty: accept any calling AE title")
        self.quota_spin = QSpinBox()
        self.quota_spin.setRange(100, 10_000_000)
        self.quota_spin.setSuffix(" MB")
        self.quota_spin.setValue(self.settings.pacs.cache_quota_mb)
        form.addRow("AE title", self.local_aet_edit)
        form.addRow("", self.scp_check)
        form.addRow("Storage SCP port", self.local_port_spin)
        form.addRow("Listen on address", self.bind_edit)
        form.addRow("Allowed calling AE titles", self.allowed_edit)
        form.addRow("Cache size quota", self.quota_spin)
        return group

    # Editing

    def add_node(self) -> None:
        self._store_form()
        number = len(self.settings.pacs.nodes) + 1
        node = RemoteNode(name=f"PACS {number}", ae_title="ORTHANC", host="127.0.0.1", port=4242)
        self.settings.pacs.nodes.append(node)
        self.node_list.addItem(node.name)
        self.form.setEnabled(True)
        self.node_list.setCurrentRow(len(self.settings.pacs.nodes) - 1)

    def remove_node(self) -> None:
        row = self.node_list.currentRow()
        if row < 0:
            return
        self._current = -1
        del self.settings.pacs.nodes[row]
        self.node_list.takeItem(row)
        self.form.setEnabled(bool(self.settings.pacs.nodes))

    def _select(self, row: int) -> None:
        self._store_form()
        self._current = row
        if row < 0 or row >= len(self.settings.pacs.nodes):
            return
        node = self.settings.pacs.nodes[row]
        self.name_edit.setText(node.name)
        self.aet_edit.setText(node.ae_title)
        self.host_edit.setText(node.host)
        self.port_spin.setValue(node.port)
        self.method_combo.setCurrentText(node.retrieve_method.upper())
        self.tls_check.setChecked(node.tls)
        self.ca_edit.setText(node.tls_ca_file)
        self.cert_edit.setText(node.tls_cert_file)
        self.key_edit.setText(node.tls_key_file)
        self.test_result.clear()

    def _rename(self, text: str) -> None:
        item = self.node_list.item(self._current)
        if item is not None:
            item.setText(text)

    def _store_form(self) -> None:
        if 0 <= self._current < len(self.settings.pacs.nodes):
            self.settings.pacs.nodes[self._current] = self._form_node()

    def _form_node(self) -> RemoteNode:
        return RemoteNode(
            name=self.name_edit.text().strip(), ae_title=self.aet_edit.text().strip(),
            host=self.host_edit.text().strip(), port=self.port_spin.value(),
            retrieve_method=self.method_combo.currentText(), tls=self.tls_check.isChecked(),
            tls_ca_file=self.ca_edit.text().strip(), tls_cert_file=self.cert_edit.text().strip(),
            tls_key_file=self.key_edit.text().strip(),
        )

    def test_connection(self) -> None:
        """C-ECHO the node as shown in the form, on a worker thread."""
        node = self._form_node()
        calling = dataclasses.replace(self.service.calling,
                                      ae_title=self.local_aet_edit.text().strip() or "MAMMOWS")
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Testing {node.ae_title} at {node.host}:{node.port}…")
        job = self.service.submit(echo, node, calling)
        job.finished.connect(self._show_echo)
        job.failed.connect(lambda message: self._show_echo_text(False, message))

    def _show_echo(self, result: object) -> None:
        self._show_echo_text(bool(getattr(result, "ok", False)), str(getattr(result, "message", "")))

    def _show_echo_text(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText(message)
        self.test_result.setStyleSheet("color: #006400" if ok else "color: #b00020")

    # Saving

    def validated_settings(self) -> Settings:
        """Return the edited settings; raise ValueError naming the first invalid field."""
        self._store_form()
        names = set()
        for node in self.settings.pacs.nodes:
            if not node.name:
                raise ValueError("A node has no name; give each node a name.")
            if node.name in names:
                raise ValueError(f"Two nodes are named {node.name!r}; names must differ.")
            names.add(node.name)
            try:
                validate_ae_title(node.ae_title)
            except ValueError as error:
                raise ValueError(f"Node {node.name!r}: {error}") from None
            if not node.host:
                raise ValueError(f"Node {node.name!r} has no host; enter a host name or address.")
        local = self.settings.pacs.local
        local.ae_title = self.local_aet_edit.text().strip()
        validate_ae_title(local.ae_title)
        local.port = self.local_port_spin.value() if self.scp_check.isChecked() else 0
        local.bind_address = self.bind_edit.text().strip() or "0.0.0.0"
        allowed = [a.strip() for a in self.allowed_edit.text().split(",") if a.strip()]
        for ae_title in allowed:
            validate_ae_title(ae_title)
        local.allowed_calling_ae_titles = allowed
        self.settings.pacs.cache_quota_mb = self.quota_spin.value()
        return self.settings

    def accept(self) -> None:
        try:
            settings = self.validated_settings()
        except ValueError as error:
            self.error_label.setText(str(error))
            return
        problem = self.service.save_settings(settings)
        if problem:
            self.error_label.setText(f"Settings saved. {problem}")
            return
        super().accept()
