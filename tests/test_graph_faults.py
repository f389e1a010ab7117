"""Graph faults: throttling is waited out within the budget, everything else fails closed (exit 3).

A Graph answer that could not be read (throttled past the budget, a failed `$batch` item, a
truncated body, a 401/403) must never look like "nobody holds this value": the check would
pass a duplicate. Each test injects one fault into the fake Graph and runs `dupfix check`.
"""

from __future__ import annotations

import time

import pytest
from graph_support import TENANT, user
from graphfake import Directory, Fault

from dupfix_policy import cli

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

DUPLICATE = (
    "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com}}\n"
)
CLEAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: quinn@contoso.com}}\n"


def check(tmp_path, plan: str, *flags: str) -> int:
    path = tmp_path / "plan.yaml"
    path.write_text(plan)
    return cli.main(["check", str(path), "--source", "graph", "--quiet", *flags])


def posts(graph) -> int:
    return sum(1 for method, _ in graph.stats.requests if method == "POST")


def with_alice(graph) -> None:
    graph.directory = Directory.of([user("alice@contoso.com")], TENANT)


def test_a_throttled_batch_is_sent_again_after_retry_after_and_the_duplicate_is_found(graph, tmp_path):
    with_alice(graph)
    graph.inject(Fault("/$batch", status=429, retry_after=1, where="http"))
    started = time.monotonic()
    assert check(tmp_path, DUPLICATE) == 1
    assert time.monotonic() - started >= 1
    assert posts(graph) == 3  # quarantine + look-up batches, and the throttled one again


def test_a_throttled_request_inside_a_batch_is_asked_again_on_its_own(graph, tmp_path):
    with_alice(graph)
    graph.inject(Fault("userPrincipalName eq 'alice@contoso.com'", status=429, retry_after=1, where="item"))
    started = time.monotonic()
    assert check(tmp_path, DUPLICATE) == 1
    assert time.monotonic() - started >= 1
    asked_for_alice = [f for f in graph.stats.filters if "userPrincipalName eq 'alice@contoso.com'" in f]
    assert len(asked_for_alice) == 1  # the throttled attempt never reached the directory


def test_scan_pages_answered_503_are_read_again(graph, tmp_path):
    graph.directory = Directory.of([user(f"u{i}@contoso.com") for i in range(5)], TENANT)
    graph.inject(Fault("/users?", status=503, retry_after=0, where="http", times=2))
    out = tmp_path / "t.jsonl"
    assert cli.main(["snapshot", "--source", "graph", "--quiet", "--output", str(out)]) == 0
    assert out.read_text().count('"kind":"user"') == 5


def test_a_truncated_answer_is_read_again_never_taken_as_empty(graph, tmp_path):
    with_alice(graph)
    graph.inject(Fault("/$batch", truncate=True, where="http"))
    assert check(tmp_path, DUPLICATE) == 1
    assert posts(graph) == 3  # quarantine + look-up batches, and the truncated one again


def test_an_answer_that_stays_truncated_is_exit_3(graph, tmp_path, capsys):
    with_alice(graph)
    graph.inject(Fault("/$batch", truncate=True, where="http", times=None))
    assert check(tmp_path, DUPLICATE) == 3
    assert "unreadable" in capsys.readouterr().err


def test_a_batch_item_that_keeps_failing_is_exit_3_even_for_a_clean_plan(graph, tmp_path, capsys):
    graph.inject(Fault("/contacts", status=500, where="item", times=None))
    assert check(tmp_path, CLEAN, "--fail-on", "never") == 3
    err = capsys.readouterr().err
    assert "GET /contacts" in err and "500" in err


def test_a_batch_item_missing_from_the_answer_is_asked_again(graph, tmp_path):
    with_alice(graph)
    graph.inject(Fault("userPrincipalName eq 'alice@contoso.com'", drop=True, where="item"))
    assert check(tmp_path, DUPLICATE) == 1


def test_throttling_longer_than_the_budget_is_exit_3_naming_endpoint_and_status(graph, tmp_path, capsys):
    graph.inject(Fault("/$batch", status=429, retry_after=120, where="http", times=None))
    started = time.monotonic()
    assert check(tmp_path, CLEAN, "--timeout", "10") == 3
    assert time.monotonic() - started < 5  # no point waiting for a retry that can't fit
    err = capsys.readouterr().err
    assert "POST /$batch" in err and "429" in err and "--timeout" in err


def test_a_slow_answer_past_the_budget_is_exit_3(graph, tmp_path, capsys):
    graph.inject(Fault("/organization", delay=3, where="http"))
    started = time.monotonic()
    assert check(tmp_path, CLEAN, "--timeout", "1") == 3
    assert time.monotonic() - started < 2.5
    assert "GET /organization" in capsys.readouterr().err


def test_a_rejected_token_is_exit_3_naming_the_permission(graph, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DUPFIX_GRAPH_TOKEN", "an-expired-token")
    assert check(tmp_path, CLEAN) == 3
    err = capsys.readouterr().err
    assert "401" in err and "Directory.Read.All" in err


def test_a_missing_contact_permission_is_exit_3_naming_it(graph, tmp_path, capsys):
    graph.roles = {"User.Read.All", "Group.Read.All", "Organization.Read.All"}
    assert check(tmp_path, CLEAN) == 3
    err = capsys.readouterr().err
    assert "403" in err and "OrgContact.Read.All" in err


def test_throttling_waits_are_dupfix_own_and_counted_not_hidden_in_the_sdk(graph):
    from dupfix_policy.sources.graph.source import GraphSource

    graph.inject(Fault("/organization", status=429, retry_after=1, where="http"))
    source = GraphSource("graph", graph.url, quiet=True)
    try:
        assert source.tenant == TENANT
        assert (source.stats.retries, source.stats.throttled_s) == (1, 1.0)
    finally:
        source.close()


def test_an_endpoint_nobody_answers_on_is_exit_3(graph, tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert check(tmp_path, CLEAN, "--graph-url", f"http://127.0.0.1:{port}/v1.0") == 3
    assert "ConnectError" in capsys.readouterr().err


def test_an_answer_with_proxy_addresses_as_a_string_is_exit_3(graph, tmp_path, capsys):
    directory = Directory.of([user("alice@contoso.com")], TENANT)
    users = directory.collections["users"]
    record = dict(users.records[0], proxyAddresses="SMTP:alice@contoso.com")
    users.replace_all([record])
    graph.directory = directory
    assert check(tmp_path, DUPLICATE) == 3
    assert "proxyAddresses should be a list of strings" in capsys.readouterr().err


@pytest.mark.parametrize("retry_after", [0, -5])
def test_retry_after_of_zero_or_less_backs_off_instead_of_asking_again_at_once(graph, tmp_path, monkeypatch, retry_after):
    from dupfix_policy.sources.graph import http as graph_http

    monkeypatch.setattr(graph_http, "THROTTLE_BACKOFF_S", 1.5)
    with_alice(graph)
    graph.inject(Fault("/$batch", status=429, retry_after=retry_after, where="http"))
    started = time.monotonic()
    assert check(tmp_path, DUPLICATE) == 1
    assert time.monotonic() - started >= 1.5
