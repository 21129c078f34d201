"""DICOM TLS to Orthanc with a self-signed server certificate and a client certificate."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mammo_workstation.net import StudyQuery, echo, find_studies
from mammo_workstation.settings import RemoteNode
from tests.net.dicom_peers import DEMO_0002, Netns, Orthanc

pytestmark = pytest.mark.network


def make_certificate(folder: Path, name: str, ip_address: str) -> tuple[Path, Path]:
    """Write a self-signed certificate and its key, valid for ``ip_address``."""
    certificate, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(certificate), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=IP:{ip_address}"],
        check=True, capture_output=True, timeout=60)
    return certificate, key


@pytest.fixture(scope="module")
def tls_orthanc(netns: Netns, tmp_path_factory) -> Iterator[tuple[Orthanc, dict[str, Path]]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (Debian package openssl)")
    folder = tmp_path_factory.mktemp("tls")
    server_certificate, server_key = make_certificate(folder, "orthanc", netns.peer_ip)
    client_certificate, client_key = make_certificate(folder, "mammows", netns.host_ip)
    other_certificate, _ = make_certificate(folder, "other", netns.peer_ip)
    peer = Orthanc(netns, folder / "orthanc", {}, dicom_port=4260, http_port=8060, extra={
        "DicomTlsEnabled": True,
        "DicomTlsCertificate": str(server_certificate),
        "DicomTlsPrivateKey": str(server_key),
        "DicomTlsTrustedCertificates": str(client_certificate),
        "DicomTlsRemoteCertificateRequired": True,
    })
    peer.start()
    try:
        peer.upload([DEMO_0002 / "RCC_SPOT.dcm"])
        yield peer, {"ca": server_certificate, "cert": client_certificate, "key": client_key,
                     "other_ca": other_certificate}
    finally:
        peer.stop()


def tls_node(peer: Orthanc, files: dict[str, Path], ca: str = "ca") -> RemoteNode:
    return RemoteNode(name="tls", ae_title=peer.ae_title, host=peer.host, port=peer.port,
                      tls=True, tls_ca_file=str(files[ca]), tls_cert_file=str(files["cert"]),
                      tls_key_file=str(files["key"]))


def test_tls_echo_and_find(tls_orthanc, calling):
    peer, files = tls_orthanc
    node = tls_node(peer, files)
    result = echo(node, calling)
    assert result.ok, result.message
    studies = find_studies(node, StudyQuery(patient_id="DEMO-0002"), calling)
    assert [study.patient_id for study in studies] == ["DEMO-0002"]


def test_tls_untrusted_server_fails(tls_orthanc, calling):
    peer, files = tls_orthanc
    result = echo(tls_node(peer, files, ca="other_ca"), calling)
    assert not result.ok
    assert f"ORTHANC at {peer.host}:{peer.port}" in result.message
    assert "TLS handshake failed" in result.message


def test_plain_to_tls_port_fails(tls_orthanc, calling):
    peer, _ = tls_orthanc
    node = RemoteNode(name="plain", ae_title=peer.ae_title, host=peer.host, port=peer.port)
    result = echo(node, calling)
    assert not result.ok
    assert "TLS" in result.message


def test_missing_tls_file_is_plain(tls_orthanc, calling, tmp_path):
    peer, files = tls_orthanc
    node = tls_node(peer, files)
    node.tls_ca_file = str(tmp_path / "missing.pem")
    result = echo(node, calling)
    assert not result.ok
    assert "cannot load the TLS files" in result.message
