"""The Graph source as people meet it: `doctor`, progress on a terminal, --debug, start-up cost.

The sentinel test is the security promise: a token travels to Graph and nowhere else, not into
stdout, stderr, --debug logs, reports or error messages.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import select
import subprocess
import sys

import pytest
from graph_support import TENANT, user
from graphfake import Directory

from dupfix_policy import cli

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

SENTINEL = "SENTINEL-7f3a9c-do-not-print"
DUPLICATE = (
    "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com}}\n"
)


def write_plan(tmp_path, text: str = DUPLICATE):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return str(path)


def test_the_token_never_appears_in_output_reports_or_debug_logs(graph, tmp_path, capsys, monkeypatch):
    graph.directory = Directory.of([user("alice@contoso.com")], TENANT)
    graph.token = SENTINEL
    monkeypatch.setenv("DUPFIX_GRAPH_TOKEN", SENTINEL)
    report = tmp_path / "report.json"
    assert cli.main(["check", write_plan(tmp_path), "--source", "graph", "--debug", "--format", "text",
                     "--format", f"json={report}"]) == 1  # fmt: skip
    assert cli.main(["doctor", "--source", "graph", "--debug"]) == 0
    graph.token = "what-graph-expects-instead"  # now the sentinel is refused: the error path
    assert cli.main(["check", write_plan(tmp_path), "--source", "graph", "--debug"]) == 3
    out, err = capsys.readouterr()
    assert "Bearer [redacted]" in err  # --debug did log the Authorization header, redacted
    assert SENTINEL not in out + err + report.read_text()


def test_doctor_reports_each_check_on_one_line_and_exits_0_when_all_pass(graph, capsys):
    assert cli.main(["doctor", "--source", "graph"]) == 0
    lines = capsys.readouterr().out.splitlines()
    checks = [line.split(": ")[1] for line in lines]
    assert checks == ["endpoint", "credential", "token", "users", "groups", "org contacts", "deleted users",
                      "deleted groups", "tenant"]  # fmt: skip
    assert lines[-1] == ("ok    graph: tenant: initial domain contoso.onmicrosoft.com; "
                         "verified domains contoso.com, contoso.onmicrosoft.com")  # fmt: skip


def test_doctor_names_the_permission_a_collection_lacks_and_exits_3(graph, capsys):
    graph.roles = {"User.Read.All", "Group.Read.All", "Organization.Read.All"}
    assert cli.main(["doctor", "--source", "graph"]) == 3
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("fail")]
    assert len(failed) == 1
    assert failed[0].startswith("fail  graph: org contacts:") and "OrgContact.Read.All" in failed[0]


def test_doctor_says_which_variable_the_chosen_credential_lacks(graph, capsys, monkeypatch):
    monkeypatch.setenv("DUPFIX_GRAPH_AUTH", "client-secret")
    monkeypatch.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("AZURE_CLIENT_ID", "5b1e0c7a-0000-4000-8000-000000000001")
    assert cli.main(["doctor", "--source", "graph"]) == 3
    out = capsys.readouterr().out
    assert "info  graph: credential: client-secret: ClientSecretCredential" in out
    assert "fail  graph: token:" in out and "AZURE_CLIENT_SECRET" in out


def jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_doctor_lists_the_tokens_application_permissions_and_warns_of_missing_ones(
    graph, capsys, monkeypatch
):
    token = jwt({"aud": "https://graph.microsoft.com", "roles": ["User.Read.All"]})
    graph.token = token
    monkeypatch.setenv("DUPFIX_GRAPH_TOKEN", token)
    cli.main(["doctor", "--source", "graph"])
    out = capsys.readouterr().out
    assert "application permissions: User.Read.All" in out
    assert "warn  graph: permissions: the token lacks Group.Read.All, OrgContact.Read.All" in out
    assert token not in out


def test_doctor_on_a_source_without_checks_says_so(graph, tmp_path, capsys):
    snapshot = tmp_path / "t.json"
    snapshot.write_text('{"version": 1, "tenant": {}, "objects": []}')
    assert cli.main(["doctor", "--source", f"snapshot:{snapshot}"]) == 0
    assert capsys.readouterr().out == f"info  snapshot:{snapshot}: checks: no checks\n"


def snapshot_on_a_terminal(tmp_path, monkeypatch, *flags: str) -> str:
    """Run `dupfix snapshot` with stderr on a pseudo-terminal; return what the terminal showed."""
    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w", buffering=1)
    monkeypatch.setattr(sys, "stderr", terminal)
    try:
        assert cli.main(["snapshot", "--source", "graph", "--output", str(tmp_path / "t.jsonl"), *flags]) == 0
        terminal.flush()
        shown = b""
        while select.select([master], [], [], 0.2)[0]:
            shown += os.read(master, 65536)
    finally:
        terminal.close()
        os.close(master)
    return shown.decode()


def test_progress_is_shown_on_a_terminal(graph, tmp_path, monkeypatch):
    graph.directory = Directory.of([user(f"u{i}@contoso.com") for i in range(1500)], TENANT)
    shown = snapshot_on_a_terminal(tmp_path, monkeypatch)
    assert "graph: 1,500 objects" in shown and "pages" in shown


def test_quiet_hides_progress_even_on_a_terminal(graph, tmp_path, monkeypatch):
    graph.directory = Directory.of([user(f"u{i}@contoso.com") for i in range(1500)], TENANT)
    shown = snapshot_on_a_terminal(tmp_path, monkeypatch, "--quiet")
    assert "pages" not in shown and "wrote 1500 objects" in shown


def test_no_progress_when_stderr_is_not_a_terminal(graph, tmp_path, capsys):
    graph.directory = Directory.of([user(f"u{i}@contoso.com") for i in range(1500)], TENANT)
    assert cli.main(["snapshot", "--source", "graph", "--output", str(tmp_path / "t.jsonl")]) == 0
    assert "pages" not in capsys.readouterr().err


def test_starting_dupfix_does_not_import_msgraph_or_azure_identity():
    probe = (
        "import sys; from dupfix_policy import cli; cli.main(['rules']);"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('msgraph', 'azure', 'kiota_http', 'httpx'));"
        "sys.stderr.write(repr(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr == "[]"


def test_a_plain_http_endpoint_off_loopback_is_refused(graph, tmp_path, capsys):
    code = cli.main(
        ["check", write_plan(tmp_path), "--source", "graph", "--graph-url", "http://graph.example.com/v1.0"]
    )
    assert code == 2
    assert "plain http" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["graph:tenant", "GRAPH:x"])
def test_graph_takes_no_arguments_in_its_spec(graph, tmp_path, capsys, spec):
    assert cli.main(["check", write_plan(tmp_path), "--source", spec]) == 2
    assert "--graph-url" in capsys.readouterr().err
