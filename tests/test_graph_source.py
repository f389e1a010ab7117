"""The `graph` source against a Graph-compatible server, through the real msgraph-sdk and httpx.

The central promise: live state read through Graph gives the same verdict as a snapshot of the
same state. Around it, the ways Graph hides holders: quarantined values, soft-deleted objects
(whose UPN Entra rewrites), anchors only an advanced query finds, quotes in addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

from graph_support import TENANT, anchor_of, contact, group, oid, user
from graphfake import Directory

from dupfix_policy import cli
from dupfix_policy.model import Target
from dupfix_policy.sources.graph.source import GraphSource
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import write_snapshot

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

CAROL_SID = "S-1-5-21-3623811015-3361044348-30300820-1001"

TENANT_OBJECTS = [
    user("alice@contoso.com", "SMTP:alice@contoso.com", "smtp:a.smith@contoso.com", mailNickname="alice"),
    user("bob.old@contoso.com", "SMTP:bob.old@contoso.com", "smtp:robert@contoso.com", state="soft-deleted"),
    user(
        "carol@contoso.com", onPremisesImmutableId=anchor_of("carol"), onPremisesSecurityIdentifier=CAROL_SID
    ),
    user("o'brien@contoso.com", "SMTP:o'brien@contoso.com"),
    user("dave@contoso.com", quarantined=[("ProxyAddress", "smtp:sales.team@contoso.com")]),
    user("erin@contoso.com", "SMTP:erin@contoso.com", "smtp:frank@contoso.onmicrosoft.com"),
    group("Sales", mailNickname="sales"),
    group("Help Desk", quarantined=[("ProxyAddress", "helpdesk@contoso.com")]),  # quarantined without smtp:
    group("Old Team", mailNickname="oldteam", state="soft-deleted"),
    contact("partner@fabrikam.com"),
    user("gina@contoso.com"),
]

PLAN = """\
version: 1
changes:
  - {op: create, kind: user, ref: second-alice, set: {userPrincipalName: alice@contoso.com, mailNickname: alice2}}
  - op: create
    kind: user
    ref: takes-sales
    set: {userPrincipalName: new.sales@contoso.com, proxyAddresses: [SMTP:new.sales@contoso.com, smtp:sales@contoso.com]}
  - {op: create, kind: user, ref: upn-is-contact, set: {userPrincipalName: partner@fabrikam.com}}
  - op: create
    kind: user
    ref: takes-deleted-bobs
    set: {userPrincipalName: x@contoso.com, proxyAddresses: [SMTP:x@contoso.com, smtp:Robert@contoso.com]}
  - {op: create, kind: user, ref: twin-1, set: {userPrincipalName: t1@contoso.com, proxyAddresses: [smtp:twins@contoso.com]}}
  - {op: create, kind: user, ref: twin-2, set: {userPrincipalName: t2@contoso.com, proxyAddresses: [smtp:twins@contoso.com]}}
  - {op: create, kind: user, ref: frank, set: {userPrincipalName: frank@contoso.com, mailNickname: frank}}
  - {op: create, kind: user, ref: anchor-thief, set: {userPrincipalName: ghost@contoso.com, onPremisesImmutableId: "ANCHOR"}}
  - {op: create, kind: user, ref: sid-thief, set: {userPrincipalName: ghost2@contoso.com, onPremisesSecurityIdentifier: "SID"}}
  - {op: create, kind: group, ref: sales-again, set: {displayName: Sales 2, mailEnabled: true, mailNickname: sales}}
  - {op: create, kind: user, ref: alias-alice, set: {userPrincipalName: alice.b@contoso.com, mailNickname: alice}}
  - op: create
    kind: user
    ref: takes-quarantined
    set: {userPrincipalName: y@contoso.com, proxyAddresses: [SMTP:y@contoso.com, smtp:sales.team@contoso.com]}
  - op: create
    kind: user
    ref: takes-bare-quarantined
    set: {userPrincipalName: z@contoso.com, proxyAddresses: [SMTP:z@contoso.com, smtp:helpdesk@contoso.com]}
  - {op: create, kind: user, ref: takes-obrien, set: {userPrincipalName: w@contoso.com, proxyAddresses: ["smtp:O'Brien@contoso.com"]}}
  - {op: update, kind: user, target: {userPrincipalName: nobody@contoso.com}, set: {displayName: Nobody}}
  - {op: restore, kind: user, target: {userPrincipalName: bob.old@contoso.com}}
  - {op: update, kind: user, target: {mail: "o'brien@contoso.com"}, add: {proxyAddresses: [smtp:obrien2@contoso.com]}}
  - {op: delete, kind: user, target: {id: GINA}}
  - {op: create, kind: group, ref: old-team-again, set: {displayName: Old Team 2, mailEnabled: true, mailNickname: oldteam2, proxyAddresses: [SMTP:oldteam@contoso.com]}}
"""


def plan_text() -> str:
    return (
        PLAN.replace("ANCHOR", anchor_of("carol"))
        .replace('"SID"', f'"{CAROL_SID}"')
        .replace("GINA", oid("user:gina@contoso.com"))
    )


def check_json(*args: str, out: Path) -> dict:
    code = cli.main(["check", *args, "--format", f"json={out}", "--fail-on", "never"])
    assert code == 0
    return json.loads(out.read_text())


def test_graph_gives_the_same_findings_as_a_snapshot_of_the_same_tenant(graph, tmp_path):
    graph.directory = Directory.of(TENANT_OBJECTS, TENANT)
    snapshot = tmp_path / "tenant.jsonl"
    write_snapshot(str(snapshot), TENANT_OBJECTS, TENANT, "2026-11-26T08:00:00Z", directories=["entra"])
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text())

    via_graph = check_json(str(plan), "--source", "graph", out=tmp_path / "graph.json")
    via_snapshot = check_json(str(plan), "--source", f"snapshot:{snapshot}", out=tmp_path / "snap.json")

    assert via_graph["findings"] == via_snapshot["findings"]
    assert via_graph["notes"] == via_snapshot["notes"]
    codes = {f["code"] for f in via_graph["findings"]}
    assert {"DUP001", "DUP002", "DUP003", "DUP004", "DUP005", "DUP007", "DUP008", "DUP010", "DUP013",
            "REF001"} <= codes  # fmt: skip


def source(graph) -> GraphSource:
    return GraphSource("graph", graph.url, quiet=True)


def test_an_address_with_a_quote_is_found_through_an_escaped_filter(graph):
    obrien = user("o'brien@contoso.com", "SMTP:o'brien@contoso.com")
    graph.directory = Directory.of([obrien], TENANT)
    found = source(graph).lookup(["proxy:smtp:o'brien@contoso.com"], [])
    assert [o.id for o in found] == [obrien.id]
    assert any("'o''brien@contoso.com'" in f for f in graph.stats.filters)


def test_a_quarantined_value_is_held_by_its_object_with_or_without_the_smtp_prefix(graph):
    dave = user("dave@contoso.com", quarantined=[("ProxyAddress", "smtp:sales.team@contoso.com")])
    desk = group("Help Desk", quarantined=[("ProxyAddress", "helpdesk@contoso.com")])
    graph.directory = Directory.of([dave, desk], TENANT)
    src = source(graph)
    assert [o.id for o in src.lookup(["proxy:smtp:sales.team@contoso.com"], [])] == [dave.id]
    assert [o.id for o in src.lookup(["proxy:smtp:helpdesk@contoso.com"], [])] == [desk.id]


def test_a_soft_deleted_user_is_found_by_its_original_upn_as_a_restore_target(graph):
    bob = user("bob@contoso.com", state="soft-deleted")
    graph.directory = Directory.of([bob], TENANT)
    found = source(graph).lookup([], [Target("userPrincipalName", "bob@contoso.com")])
    assert [(o.id, o.state) for o in found] == [(bob.id, "soft-deleted")]


def test_a_soft_deleted_object_still_holds_its_addresses(graph):
    team = group("Old Team", state="soft-deleted")
    graph.directory = Directory.of([team], TENANT)
    found = source(graph).lookup(["proxy:smtp:old-team@contoso.com"], [])
    assert [(o.kind, o.state) for o in found] == [("group", "soft-deleted")]


def test_an_anchor_is_looked_up_with_an_advanced_query(graph):
    carol = user("carol@contoso.com", onPremisesImmutableId=anchor_of("carol"))
    graph.directory = Directory.of([carol], TENANT)
    found = source(graph).lookup([f"anchor:{anchor_of('carol')}"], [])
    assert [o.id for o in found] == [carol.id]


def test_a_key_asked_twice_is_answered_from_memory(graph):
    graph.directory = Directory.of([user("alice@contoso.com")], TENANT)
    src = source(graph)
    first = src.lookup(["upn:alice@contoso.com"], [])
    requests = graph.stats.http_requests
    again = src.lookup(["upn:alice@contoso.com"], [])
    assert again == first and graph.stats.http_requests == requests


def test_look_ups_are_packed_fifteen_clauses_to_a_request_and_twenty_requests_to_a_round_trip(graph):
    graph.directory = Directory.of([user("hire.7@contoso.com")], TENANT)
    src = source(graph)
    assert src.tenant == TENANT  # reads what every run reads once (the small recycle bin included)
    graph.stats.reset()
    keys = [f"proxy:smtp:hire.{i}@contoso.com" for i in range(300)]  # x 6 clauses: users, groups, contacts
    found = src.lookup(keys, [])
    assert [o.get("userPrincipalName") for o in found] == ["hire.7@contoso.com"]
    assert graph.stats.batch_items == 120  # 1,800 clauses / 15
    assert graph.stats.batch_posts == 6  # 120 requests / 20
    assert all(f.count(" or ") <= 14 for f in graph.stats.filters)


def test_a_small_recycle_bin_is_read_whole_once_instead_of_by_key(graph):
    team = group("Old Team", state="soft-deleted")
    graph.directory = Directory.of([team, user("bob@contoso.com", state="soft-deleted")], TENANT)
    src = source(graph)
    assert [o.id for o in src.lookup(["proxy:smtp:old-team@contoso.com"], [])] == [team.id]
    assert not [u for u in graph.stats.item_urls if "deletedItems" in u and "$filter" in u]


def test_a_recycle_bin_too_large_to_read_whole_is_asked_key_by_key(graph):
    deleted = [user(f"gone{i}@contoso.com", state="soft-deleted") for i in range(3000)]  # > 3 pages
    graph.directory = Directory.of(deleted, TENANT)
    found = source(graph).lookup(["proxy:smtp:gone2999@contoso.com"], [])
    assert [o.id for o in found] == [deleted[2999].id]
    assert any("deletedItems/graph.user?$filter" in u for u in graph.stats.item_urls)


def test_the_tenant_domains_come_from_the_organization(graph):
    assert source(graph).tenant == TENANT


def test_without_organization_permission_the_tenant_is_unknown_and_the_report_says_why(graph, tmp_path):
    graph.roles = {"User.Read.All", "Group.Read.All", "OrgContact.Read.All"}
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: quinn@contoso.com}}\n"
    )
    report = check_json(str(plan), "--source", "graph", out=tmp_path / "r.json")
    assert any("MOERA" in n for n in report["notes"])
    assert any("Organization.Read.All" in n for n in report["notes"])


def test_a_planned_target_address_is_judged_against_entra_addresses_through_graph(graph, tmp_path):
    # a.smith@contoso.com is a proxy address of Entra user alice: a contact routing there collides.
    graph.directory = Directory.of(TENANT_OBJECTS, TENANT)
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nchanges:\n  - {op: create, kind: contact, set: {displayName: Ext, "
                    "targetAddress: 'SMTP:a.smith@contoso.com'}}\n")  # fmt: skip
    report = check_json(str(plan), "--source", "graph", out=tmp_path / "r.json")
    found = [(f["code"], f["attribute"]) for f in report["findings"]]
    assert ("DUP002", "targetAddress") in found


def test_snapshot_from_graph_holds_every_object_and_the_tenant_domains(graph, tmp_path):
    objects = [user(f"user{i}@contoso.com") for i in range(2100)] + TENANT_OBJECTS  # users span 3 pages
    graph.directory = Directory.of(objects, TENANT)
    out = tmp_path / "tenant.jsonl"
    assert cli.main(["snapshot", "--source", "graph", "--output", str(out)]) == 0
    written = SnapshotSource(str(out))
    assert written.tenant == TENANT
    got = {o.id: o for o in written.scan()}
    assert set(got) == {o.id for o in objects}
    carol = got[oid("user:carol@contoso.com")]
    assert carol.get("onPremisesImmutableId") == anchor_of("carol")
    assert got[oid("user:dave@contoso.com")].quarantined == TENANT_OBJECTS[4].quarantined
    assert got[oid("user:bob.old@contoso.com")].state == "soft-deleted"
    assert sum(1 for m, p in graph.stats.requests if "skiptoken" in p) == 2  # nextLink followed twice
