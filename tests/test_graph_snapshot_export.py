"""`dupfix snapshot --source graph` renders each page while the next one is on the wire (issue 16);
the file it writes is byte for byte the one the plain path writes: `GraphSource.scan()` objects
through `snapshot_writer.write_snapshot` (real msgraph-sdk over HTTP against tests/graphfake)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graph_support import TENANT, contact, group, user
from graphfake import Directory

from dupfix_policy import cli
from dupfix_policy.sources.graph.source import GraphSource
from dupfix_policy.sources.snapshot.writer import write_snapshot

pytest_plugins = ["graph_support"]  # the fake Graph fixtures (graph_server, graph)

OBJECTS = [
    user("alice@contoso.com", "SMTP:alice@contoso.com", "smtp:a.liddell@contoso.com", onPremisesImmutableId="QUJD"),
    user("zoë@contoso.com", "SMTP:zoë@contoso.com", quarantined=[("ProxyAddress", "smtp:zoe@contoso.com")]),
    user("guest_fabrikam.com#EXT#@contoso.onmicrosoft.com", userType="Guest"),
    user("gone@contoso.com", "SMTP:gone@contoso.com", state="soft-deleted"),
    *[user(f"user{i:04d}@contoso.com", f"SMTP:user{i:04d}@contoso.com") for i in range(1500)],  # two pages
    group("Sales", "SMTP:sales@contoso.com", "smtp:vertrieb@contoso.com"),
    group("Engineers", mail_enabled=False),
    group("Old team", "SMTP:old@contoso.com", state="soft-deleted"),
    contact("partner@fabrikam.com"),
]


@pytest.mark.parametrize("name", ["tenant.jsonl", "tenant.json"])
def test_the_export_is_byte_identical_to_scan_then_write_snapshot(graph, tmp_path: Path, name: str):
    graph.directory = Directory.of(OBJECTS, TENANT)
    exported = tmp_path / name
    assert cli.main(["snapshot", "--source", "graph", "--quiet", "--output", str(exported)]) == 0
    text = exported.read_text(encoding="utf-8")
    header = json.loads(text.splitlines()[0] if name.endswith(".jsonl") else text.split(',"objects":[')[0] + "}")
    source = GraphSource("graph", graph.url, quiet=True)
    try:
        objects = list(source.scan())
        reference = tmp_path / ("reference-" + name)
        write_snapshot(str(reference), objects, source.tenant, header["asOf"], ["entra"])
    finally:
        source.close()
    assert len(objects) == len(OBJECTS)
    assert exported.read_bytes() == reference.read_bytes()
