"""Writing snapshots: deterministic layout, round trips through the reader, atomic replacement."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dupfix_policy.model import DirectoryObject, Quarantined, Tenant
from dupfix_policy.sources.snapshot.source import SnapshotSource
from dupfix_policy.sources.snapshot.writer import format_for_path, write_snapshot

TENANT = Tenant("contoso.onmicrosoft.com", ("contoso.com", "fabrikam.com"))
BOB_GUID = "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab"

OBJECTS = [
    DirectoryObject(
        "e2",
        "user",
        "entra",
        "active",
        {
            "userPrincipalName": "élodie@contoso.com",
            "proxyAddresses": ("SMTP:élodie@contoso.com", "smtp:e@contoso.com"),
            "displayName": "Élodie Müller",
            "accountEnabled": True,
        },
        (Quarantined("ProxyAddress", "smtp:el@contoso.com"),),
    ),
    DirectoryObject(
        "g1",
        "group",
        "entra",
        "soft-deleted",
        {"mailNickname": "sales", "mailEnabled": True, "groupTypes": ("Unified",)},
    ),
    DirectoryObject(
        BOB_GUID,
        "user",
        "ad",
        "active",
        {
            "objectGUID": BOB_GUID,
            "distinguishedName": "CN=Smith\\, Bob,OU=Staff,DC=contoso,DC=com",
            "sAMAccountName": "bsmith",
        },
    ),
    DirectoryObject(
        "e1", "user", "entra", "active", {"userPrincipalName": "alice@contoso.com", "mail": None}
    ),
]


def body_lines(path: Path) -> list[dict]:
    """The object lines: after the header, before the end record."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:-1]]


def test_writes_objects_sorted_by_directory_kind_and_id(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    write_snapshot(str(path), OBJECTS, TENANT, None)

    assert [(r["directory"], r["kind"], r["id"]) for r in body_lines(path)] == [
        ("ad", "user", BOB_GUID),
        ("entra", "group", "g1"),
        ("entra", "user", "e1"),
        ("entra", "user", "e2"),
    ]


def test_writes_keys_in_fixed_then_sorted_order_with_quarantine_last(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    write_snapshot(str(path), OBJECTS, TENANT, None)

    elodie = body_lines(path)[3]
    assert list(elodie) == [
        "id",
        "kind",
        "directory",
        "state",
        "accountEnabled",
        "displayName",
        "proxyAddresses",
        "userPrincipalName",
        "quarantined",
    ]


def test_header_carries_tenant_as_of_and_directories_from_the_objects(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    write_snapshot(str(path), OBJECTS, TENANT, "2026-11-20T08:00:00Z")

    header = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert header == {
        "version": 1,
        "endRecord": True,
        "tenant": {
            "initialDomain": "contoso.onmicrosoft.com",
            "verifiedDomains": ["contoso.com", "fabrikam.com"],
        },
        "asOf": "2026-11-20T08:00:00Z",
        "directories": ["ad", "entra"],
    }


def test_directories_given_explicitly_cover_an_empty_directory(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    write_snapshot(str(path), [], None, None, directories=["entra", "ad"])

    assert SnapshotSource(str(path)).directories == frozenset({"entra", "ad"})


def test_writes_utf8_as_is_not_as_escapes(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"

    write_snapshot(str(path), OBJECTS, TENANT, None)

    assert "Élodie Müller" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["tenant.jsonl", "tenant.json", "tenant.ndjson"])
def test_read_write_read_gives_equal_objects(tmp_path: Path, name: str) -> None:
    first = tmp_path / f"first-{name}"
    write_snapshot(str(first), OBJECTS, TENANT, "2026-11-20T08:00:00Z")
    read = list(SnapshotSource(str(first)).scan())
    second = tmp_path / f"second-{name}"

    write_snapshot(str(second), read, TENANT, "2026-11-20T08:00:00Z")

    again = list(SnapshotSource(str(second)).scan())
    assert again == read
    assert sorted(again, key=lambda o: o.id) == sorted(OBJECTS, key=lambda o: o.id)


def test_writing_the_same_objects_twice_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"

    write_snapshot(str(a), OBJECTS, TENANT, "2026-11-20T08:00:00Z")
    write_snapshot(str(b), list(reversed(OBJECTS)), TENANT, "2026-11-20T08:00:00Z")

    assert a.read_bytes() == b.read_bytes()


def test_format_follows_the_extension_unless_given() -> None:
    assert format_for_path("x.jsonl") == "jsonl"
    assert format_for_path("x.NDJSON") == "jsonl"
    assert format_for_path("x.json") == "json"
    assert format_for_path("x.json", "jsonl") == "jsonl"


def test_json_format_is_one_document(tmp_path: Path) -> None:
    path = tmp_path / "t.json"

    write_snapshot(str(path), OBJECTS, TENANT, None)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["version"] == 1
    assert [o["id"] for o in document["objects"]] == [BOB_GUID, "g1", "e1", "e2"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_snapshot(str(path), OBJECTS, TENANT, None)
    before = path.read_bytes()
    broken = DirectoryObject("x", "user", "entra", "active", {"objectGUID": b"\x1e\x0b"})

    with pytest.raises(ValueError, match="bytes"):
        write_snapshot(str(path), [*OBJECTS, broken], TENANT, None)

    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.jsonl"]


def test_replacing_a_snapshot_keeps_its_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_snapshot(str(path), OBJECTS, TENANT, None)
    os.chmod(path, 0o600)

    write_snapshot(str(path), OBJECTS[:1], TENANT, None)

    assert path.stat().st_mode & 0o777 == 0o600


def test_attribute_named_like_a_fixed_field_is_refused(tmp_path: Path) -> None:
    clash = DirectoryObject("x", "user", "entra", "active", {"state": "enabled"})

    with pytest.raises(ValueError, match="reserved"):
        write_snapshot(str(tmp_path / "t.jsonl"), [clash], TENANT, None)


def test_unknown_directory_in_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown directories"):
        write_snapshot(str(tmp_path / "t.jsonl"), [], TENANT, None, directories=["okta"])
