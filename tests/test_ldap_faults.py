"""When AD can't be read, `dupfix check` exits 3 with a sentence saying why: never a pass.

And whatever went wrong, the password is never in what dupfix prints.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from ldap_fixtures import FaultServer, Samba, closed_port

from dupfix_policy import cli

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ad_exchange, ldap_env, ...)

SECRET = "Pa55-never-Printed!"
PLAN = "version: 1\nchanges:\n  - op: create\n    kind: user\n    set: {userPrincipalName: new.hire@example.test}\n"


@pytest.fixture
def plan(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    path = Path(tmp_path) / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return str(path)


def run_check(plan: str, spec: str, capsys) -> tuple[int, str]:
    code = cli.main(["check", plan, "--source", spec, "--fail-on", "never"])
    out = capsys.readouterr()
    text = out.out + out.err
    password = os.environ.get("DUPFIX_LDAP_PASSWORD")
    assert not password or password not in text
    return code, text


@pytest.fixture
def secret_bind(ldap_env, monkeypatch):
    """The test domain's real password under another name would not bind; give every fault test a
    password that must never be printed, and the real one where the test needs a bind to work."""
    monkeypatch.setenv("DUPFIX_LDAP_PASSWORD", SECRET)


def test_a_server_that_is_down_is_exit_3(plan, ldap_env, secret_bind, capsys):
    code, text = run_check(plan, f"ldap://127.0.0.1:{closed_port()}/DC=example,DC=test", capsys)
    assert code == 3 and "cannot connect" in text


def test_a_refused_bind_is_exit_3_and_never_shows_the_password(samba: Samba, plan, ldap_env, secret_bind, capsys):
    code, text = run_check(plan, samba.plain.url, capsys)
    assert code == 3
    assert "bind as Administrator@EXAMPLE.TEST refused: invalid credentials" in text
    assert "DUPFIX_LDAP_PASSWORD" in text


def test_a_tls_failure_is_exit_3(samba: Samba, plan, ldap_env, capsys, tmp_path, monkeypatch):
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other CA",
                    "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other_ca)], check=True, capture_output=True)
    monkeypatch.setenv("DUPFIX_LDAP_CA_FILE", str(other_ca))  # a CA, but not the one that signed the DC
    code, text = run_check(plan, f"ldaps://{samba.plain.host}:636/", capsys)
    assert code == 3 and "TLS failed" in text and "DUPFIX_LDAP_CA_FILE" in text


@pytest.mark.parametrize("fault_server", ["silent"], indirect=True)
def test_a_server_that_never_answers_is_exit_3_after_the_time_out(fault_server: FaultServer, plan, ldap_env,
                                                                   secret_bind, monkeypatch, capsys):  # fmt: skip
    monkeypatch.setenv("DUPFIX_LDAP_TIMEOUT", "1")
    code, text = run_check(plan, fault_server.url, capsys)
    assert code == 3 and "no answer within 1 s" in text


@pytest.mark.parametrize("fault_server", ["size-limit"], indirect=True)
def test_a_search_cut_short_by_a_size_limit_is_exit_3(fault_server: FaultServer, plan, ldap_env, secret_bind, capsys):
    code, text = run_check(plan, fault_server.url, capsys)
    assert code == 3
    assert "size limit was exceeded" in text and "the answer would be incomplete" in text


def test_missing_credentials_are_exit_2_naming_the_variables(samba: Samba, plan, ldap_env, monkeypatch, capsys):
    monkeypatch.delenv("DUPFIX_LDAP_PASSWORD")
    code, text = run_check(plan, samba.plain.url, capsys)
    assert code == 2 and "DUPFIX_LDAP_PASSWORD not set" in text


def test_a_base_dn_that_does_not_exist_is_exit_2(samba: Samba, plan, ldap_env, capsys):
    code, text = run_check(plan, f"ldap://{samba.plain.host}:389/OU=Nowhere,DC=example,DC=test", capsys)
    assert code == 2 and "does not exist on this server" in text


def test_simple_bind_over_plain_ldap_to_a_remote_host_is_refused_before_connecting(plan, capsys, monkeypatch):
    monkeypatch.setenv("DUPFIX_LDAP_USER", "svc-dupfix@example.test")
    monkeypatch.setenv("DUPFIX_LDAP_PASSWORD", SECRET)
    monkeypatch.delenv("DUPFIX_LDAP_STARTTLS", raising=False)
    code, text = run_check(plan, "ldap://192.0.2.10:389/DC=example,DC=test", capsys)
    assert code == 3
    assert "use ldaps:// or DUPFIX_LDAP_STARTTLS=1" in text
    assert SECRET not in text
