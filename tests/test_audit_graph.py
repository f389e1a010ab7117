"""`dupfix audit --source graph` through the real msgraph-sdk and httpx against the Graph-compatible
test server: a tenant read live gives the same audit as a snapshot of the same tenant, quarantined
values (onPremisesProvisioningErrors) and the recycle bin included."""

from __future__ import annotations

import json
from pathlib import Path

from graph_support import TENANT, group, user
from graphfake import Directory

from dupfix_policy import cli
from dupfix_policy.sources.snapshot.writer import write_snapshot

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

OBJECTS = [
    user("owen@contoso.com", "SMTP:owen@contoso.com", "smtp:events@contoso.com"),
    user(
        "nina@contoso.com",
        "SMTP:nina@contoso.com",
        "smtp:events@contoso.com",
        createdDateTime="2026-01-05T00:00:00Z",
    ),
    user("dave@contoso.com", quarantined=[("ProxyAddress", "smtp:support@contoso.com")]),
    group("Support"),
    user("victor@contoso.com", "SMTP:victor@contoso.com", "smtp:orders@contoso.com", state="soft-deleted"),
    group("Orders"),
    group("Events Team", mailNickname="events-team"),
    group("Events Crew", mailNickname="events-team", mail="events-crew@contoso.com"),
]


def audit_json(tmp_path: Path, name: str, *args: str) -> tuple[int, dict]:
    out = tmp_path / f"{name}.json"
    code = cli.main(["audit", *args, "--format", f"json={out}"])
    return code, json.loads(out.read_text(encoding="utf-8"))


def comparable(report: dict) -> list[dict]:
    return [{k: v for k, v in f.items() if k != "location"} for f in report["findings"]]


def test_an_audit_through_graph_equals_one_of_a_snapshot_of_the_same_tenant(graph, tmp_path):
    graph.directory = Directory.of(OBJECTS, TENANT)
    snapshot = tmp_path / "tenant.jsonl"
    write_snapshot(str(snapshot), OBJECTS, TENANT, "2026-11-26T08:00:00Z", directories=["entra"])

    code, live = audit_json(tmp_path, "graph", "--source", "graph")
    _, saved = audit_json(tmp_path, "snapshot", "--source", f"snapshot:{snapshot}")

    assert code == 1
    assert comparable(live) == comparable(saved)
    assert {f["location"]["path"] for f in live["findings"]} == {"graph"}
    assert {(f["code"], f["key"]) for f in live["findings"]} == {
        ("DUP002", "proxy:smtp:events@contoso.com"),
        ("DUP002", "proxy:smtp:support@contoso.com"),
        ("DUP012", "proxy:smtp:support@contoso.com"),
        ("DUP004", "proxy:smtp:orders@contoso.com"),
        ("DUP010", "alias:events-team"),
    }
