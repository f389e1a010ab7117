"""The Graph session's TLS context is built on a thread (sources/graph/tls.py) but must be exactly
the one httpx would build: SSL_CERT_FILE still names the trusted CAs, and a broken one still fails
the way httpx reports it."""

from __future__ import annotations

from pathlib import Path

import certifi
import httpx
import pytest

from dupfix_policy.sources.graph.tls import TlsContext

END = "-----END CERTIFICATE-----"


def test_the_context_trusts_exactly_the_ca_file_ssl_cert_file_names(tmp_path, monkeypatch):
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    one_ca = tmp_path / "corporate-ca.pem"
    one_ca.write_text(bundle[: bundle.index(END) + len(END)] + "\n", encoding="ascii")
    monkeypatch.setenv("SSL_CERT_FILE", str(one_ca))
    context = TlsContext().result()
    assert not isinstance(context, bool)
    assert len(context.get_ca_certs()) == 1


def test_without_ssl_cert_file_the_context_trusts_certifis_bundle(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = TlsContext().result()
    assert not isinstance(context, bool)
    assert len(context.get_ca_certs()) == Path(certifi.where()).read_text(encoding="ascii").count(END)


def test_a_ca_file_that_is_missing_is_left_to_httpx_to_report(tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    assert TlsContext().result() is True  # the client builds its own, and fails as it always did
    with pytest.raises(OSError):
        httpx.AsyncClient(trust_env=True)
