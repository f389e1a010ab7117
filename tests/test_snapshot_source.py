"""The `snapshot:` source: reading both formats, exact point look-ups, validation errors.

Look-ups stream the file through a raw-bytes prefilter; these tests pin that it never drops a
holder (case, Unicode folding, JSON escapes, spacing, anchors derived from GUIDs, soft-deleted
UPNs) and that what it returns is exactly what `addresses.all_lookup_keys` says.
"""

from __future__ import annotations

import base64
import json
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dupfix_policy.addresses import (
    all_lookup_keys,
    anchor_key,
    namespace,
    proxy_key,
    sam_key,
    sid_key,
    smtp_key,
    target_address_key,
    target_key,
    upn_key,
)
from dupfix_policy.errors import EXIT_BAD_INPUT, UserInputError
from dupfix_policy.model import DirectoryObject, Quarantined, Target, Tenant
from dupfix_policy.schemas import load_schema
from dupfix_policy.sources import none as none_source
from dupfix_policy.sources.records import object_problem as _object_problem
from dupfix_policy.sources.snapshot import source as snapshot
from dupfix_policy.sources.snapshot.source import KNOWN_NAMESPACES, SnapshotSource

# Declares its directories: otherwise finding out which directories are present makes lines
# candidates of their own, which would hide a prefilter that drops holders.
HEADER: dict[str, Any] = {
    "version": 1,
    "tenant": {"initialDomain": "contoso.onmicrosoft.com", "verifiedDomains": ["contoso.com"]},
    "asOf": "2026-11-20T08:00:00Z",
    "directories": ["ad", "entra"],
}
SILENT_HEADER = {k: v for k, v in HEADER.items() if k != "directories"}
BOB_GUID = "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab"
BOB_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def user(ident: str, upn: str, **attrs: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "kind": "user",
        "directory": "entra",
        "state": "active",
        "userPrincipalName": upn,
        **attrs,
    }


def write_jsonl(
    path: Path, records: list[dict[str, Any]], header: dict[str, Any] | None = None, ascii_only: bool = False
) -> Path:
    lines = [json.dumps(header or HEADER, ensure_ascii=ascii_only)]
    lines += [json.dumps(r, ensure_ascii=ascii_only) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def source_with(tmp_path: Path, *records: dict[str, Any], ascii_only: bool = False) -> SnapshotSource:
    return SnapshotSource(str(write_jsonl(tmp_path / "tenant.jsonl", list(records), ascii_only=ascii_only)))


def ids(objects: list[DirectoryObject]) -> list[str]:
    return [o.id for o in objects]


# --- reading --------------------------------------------------------------------------------


def test_scan_reads_json_lines_objects_with_canonical_names_tuples_and_quarantine(tmp_path: Path) -> None:
    src = source_with(
        tmp_path,
        {
            "id": "u1",
            "kind": "user",
            "directory": "entra",
            "userprincipalname": "alice@contoso.com",
            "proxyAddresses": ["SMTP:alice@contoso.com", "smtp:al@contoso.com"],
            "quarantined": [{"property": "ProxyAddress", "value": "smtp:a@contoso.com"}],
        },
    )

    (obj,) = list(src.scan())

    assert obj == DirectoryObject(
        "u1",
        "user",
        "entra",
        "active",
        {
            "userPrincipalName": "alice@contoso.com",
            "proxyAddresses": ("SMTP:alice@contoso.com", "smtp:al@contoso.com"),
        },
        (Quarantined("ProxyAddress", "smtp:a@contoso.com"),),
    )


def test_reads_json_document_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    document = {**HEADER, "objects": [user("u1", "alice@contoso.com"), user("u2", "bob@contoso.com")]}
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    src = SnapshotSource(str(path))

    assert src.layout == "json"
    assert ids(list(src.scan())) == ["u1", "u2"]
    assert ids(src.lookup([upn_key("BOB@contoso.com")], [])) == ["u2"]


def test_detects_json_lines_by_content_even_when_named_json(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "tenant.json", [user("u1", "alice@contoso.com")])

    src = SnapshotSource(str(path))

    assert src.layout == "jsonl"
    assert ids(list(src.scan())) == ["u1"]


def test_reads_multi_line_json_document_named_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "tenant.jsonl"
    path.write_text(
        json.dumps({**HEADER, "objects": [user("u1", "alice@contoso.com")]}, indent=1), encoding="utf-8"
    )

    assert ids(list(SnapshotSource(str(path)).scan())) == ["u1"]


def test_reads_utf8_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "tenant.jsonl"
    body = json.dumps(HEADER) + "\n" + json.dumps(user("u1", "alice@contoso.com")) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))

    assert ids(SnapshotSource(str(path)).lookup([upn_key("alice@contoso.com")], [])) == ["u1"]


def test_header_gives_tenant_and_info(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "alice@contoso.com"))

    assert src.tenant == Tenant("contoso.onmicrosoft.com", ("contoso.com",))
    assert src.info.as_of == "2026-11-20T08:00:00Z"
    assert src.info.spec == f"snapshot:{tmp_path / 'tenant.jsonl'}"


def test_missing_as_of_is_reported_as_unknown(tmp_path: Path) -> None:
    header = {"version": 1, "tenant": {"verifiedDomains": []}}
    src = SnapshotSource(str(write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com")], header)))

    assert src.info.as_of is None


def test_directories_come_from_the_header_when_it_names_them(tmp_path: Path) -> None:
    header = {**HEADER, "directories": ["entra", "ad"]}
    src = SnapshotSource(str(write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com")], header)))

    assert src.directories == frozenset({"entra", "ad"})
    assert src.info.origin == "entra+ad"


def test_directories_come_from_the_objects_when_the_header_is_silent(tmp_path: Path) -> None:
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "objectGUID": BOB_GUID}
    src = SnapshotSource(
        str(write_jsonl(tmp_path / "t.jsonl", [user("u1", "alice@contoso.com"), ad_bob], SILENT_HEADER))
    )

    assert src.directories == frozenset({"entra", "ad"})


def test_directories_are_known_after_a_lookup_that_found_only_one_directory(tmp_path: Path) -> None:
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "objectGUID": BOB_GUID}
    src = SnapshotSource(
        str(write_jsonl(tmp_path / "t.jsonl", [user("u1", "alice@contoso.com"), ad_bob], SILENT_HEADER))
    )
    read = []
    original = src._parse_line
    src._parse_line = lambda line, offset: read.append(offset) or original(line, offset)  # type: ignore[method-assign]

    src.lookup([upn_key("alice@contoso.com")], [])
    passes_before = len(read)

    assert src.directories == frozenset({"entra", "ad"})
    assert len(read) == passes_before  # known from the look-up's own pass, no second pass


def test_entra_only_snapshot_covers_only_entra(tmp_path: Path) -> None:
    records = [user("u1", "alice@contoso.com", displayName="Ad Agency")]
    src = SnapshotSource(str(write_jsonl(tmp_path / "t.jsonl", records, SILENT_HEADER)))

    assert src.directories == frozenset({"entra"})
    assert src.info.origin == "entra"


def test_json_document_layout_written_one_object_per_line_is_streamed(tmp_path: Path) -> None:
    from dupfix_policy.sources.snapshot.writer import write_snapshot

    path = str(tmp_path / "tenant.json")
    objects = [
        DirectoryObject(f"u{i}", "user", "entra", "active", {"userPrincipalName": f"u{i}@contoso.com"})
        for i in range(3)
    ]
    write_snapshot(path, objects, Tenant("contoso.onmicrosoft.com"), None)

    src = SnapshotSource(path)

    assert src.layout == "json-lines"
    assert ids(src.lookup([upn_key("u2@contoso.com")], [])) == ["u2"]
    assert ids(list(src.scan())) == ["u0", "u1", "u2"]


# --- look-ups: what is found ----------------------------------------------------------------


def test_lookup_finds_user_by_upn_regardless_of_case(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "Alice.Smith@Contoso.com"), user("u2", "bob@contoso.com"))

    assert ids(src.lookup([upn_key("alice.smith@contoso.com")], [])) == ["u1"]


def test_lookup_finds_primary_and_secondary_smtp_holders_under_one_key(tmp_path: Path) -> None:
    src = source_with(
        tmp_path,
        user("u1", "a@contoso.com", proxyAddresses=["SMTP:Sales@contoso.com"]),
        user("u2", "b@contoso.com", proxyAddresses=["SMTP:b@contoso.com", "smtp:sales@CONTOSO.com"]),
    )

    assert ids(src.lookup([smtp_key("sales@contoso.com")], [])) == ["u1", "u2"]


def test_lookup_finds_sip_and_x500_holders(tmp_path: Path) -> None:
    x500 = "X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
    src = source_with(
        tmp_path,
        user("u1", "a@contoso.com", proxyAddresses=["SIP:Alice@contoso.com"]),
        user("u2", "b@contoso.com", proxyAddresses=[x500]),
    )

    assert ids(src.lookup([proxy_key("sip:alice@contoso.com") or ""], [])) == ["u1"]
    assert ids(src.lookup([proxy_key(x500.lower()) or ""], [])) == ["u2"]


def test_lookup_finds_mail_holder_through_its_smtp_key(tmp_path: Path) -> None:
    group = {
        "id": "g1",
        "kind": "group",
        "directory": "entra",
        "mail": "Team@contoso.com",
        "mailEnabled": True,
    }
    src = source_with(tmp_path, group)

    assert ids(src.lookup([smtp_key("team@contoso.com")], [])) == ["g1"]


def test_lookup_finds_contact_by_target_address(tmp_path: Path) -> None:
    contact = {
        "id": "c1",
        "kind": "contact",
        "directory": "entra",
        "targetAddress": "SMTP:Partner@fabrikam.example",
    }
    src = source_with(tmp_path, contact)

    assert ids(src.lookup([target_address_key("partner@fabrikam.example")], [])) == ["c1"]


def test_lookup_finds_mail_enabled_group_by_alias(tmp_path: Path) -> None:
    group = {"id": "g1", "kind": "group", "directory": "entra", "mailNickname": "Sales", "mailEnabled": True}
    src = source_with(tmp_path, group)

    assert ids(src.lookup(["alias:sales"], [])) == ["g1"]


def test_lookup_finds_quarantined_bare_value_as_smtp_address(tmp_path: Path) -> None:
    quarantined = [{"property": "ProxyAddress", "value": "Al@contoso.com"}]
    src = source_with(tmp_path, user("u1", "alice@contoso.com", quarantined=quarantined))

    assert ids(src.lookup([smtp_key("al@contoso.com")], [])) == ["u1"]


def test_lookup_finds_quarantined_upn(tmp_path: Path) -> None:
    quarantined = [{"property": "UserPrincipalName", "value": "alice@contoso.com"}]
    src = source_with(tmp_path, user("u1", "alice1234@contoso.onmicrosoft.com", quarantined=quarantined))

    assert ids(src.lookup([upn_key("Alice@contoso.com")], [])) == ["u1"]


def test_lookup_finds_soft_deleted_user_by_original_upn_as_target(tmp_path: Path) -> None:
    oid = "0c1e0000-1111-4222-8333-444455556666"
    deleted = user(oid, "0c1e00001111422283334444555566661alice@contoso.com", state="soft-deleted")
    deleted["userPrincipalName"] = oid.replace("-", "") + "Alice@contoso.com"
    src = source_with(tmp_path, user("u9", "someone@contoso.com"), deleted)

    found = src.lookup([], [Target("userPrincipalName", "alice@contoso.com")])

    assert ids(found) == [oid]


def test_lookup_does_not_return_soft_deleted_user_whose_original_upn_differs(tmp_path: Path) -> None:
    oid = "0c1e0000-1111-4222-8333-444455556666"
    deleted = user(oid, oid.replace("-", "") + "malice@contoso.com", state="soft-deleted")
    src = source_with(tmp_path, deleted)

    assert src.lookup([upn_key("alice@contoso.com")], []) == []


def test_lookup_finds_soft_deleted_user_by_secondary_smtp(tmp_path: Path) -> None:
    oid = "0c1e0000-1111-4222-8333-444455556666"
    deleted = user(
        oid,
        oid.replace("-", "") + "carol@contoso.com",
        state="soft-deleted",
        proxyAddresses=["SMTP:carol@contoso.com", "smtp:c.jones@contoso.com"],
    )
    src = source_with(tmp_path, deleted)

    assert ids(src.lookup([smtp_key("C.Jones@contoso.com")], [])) == [oid]


def test_lookup_finds_ad_object_by_anchor_derived_from_its_object_guid(tmp_path: Path) -> None:
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "objectGUID": "{" + BOB_GUID.upper() + "}"}
    src = source_with(tmp_path, ad_bob)
    anchor = base64.b64encode(uuid.UUID(BOB_GUID).bytes_le).decode()

    assert ids(src.lookup([anchor_key(anchor)], [])) == [BOB_GUID]


def test_lookup_finds_ad_object_by_consistency_guid_anchor(tmp_path: Path) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    ad_bob = {
        "id": BOB_GUID,
        "kind": "user",
        "directory": "ad",
        "objectGUID": BOB_GUID,
        "mS-DS-ConsistencyGuid": other,
    }
    src = source_with(tmp_path, ad_bob)
    anchor = base64.b64encode(uuid.UUID(other).bytes_le).decode()

    assert ids(src.lookup([anchor_key(anchor)], [])) == [BOB_GUID]


def test_lookup_finds_entra_twin_by_immutable_id_anchor(tmp_path: Path) -> None:
    anchor = base64.b64encode(uuid.UUID(BOB_GUID).bytes_le).decode()
    src = source_with(tmp_path, user("e1", "bob@contoso.com", onPremisesImmutableId=anchor))

    assert ids(src.lookup([anchor_key(anchor)], [])) == ["e1"]


def test_lookup_finds_both_twins_by_sid(tmp_path: Path) -> None:
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "objectSid": BOB_SID.lower()}
    entra_bob = user("e1", "bob@contoso.com", onPremisesSecurityIdentifier=BOB_SID)
    src = source_with(tmp_path, ad_bob, entra_bob)

    assert ids(src.lookup([sid_key(BOB_SID)], [])) == [BOB_GUID, "e1"]


def test_lookup_finds_ad_object_by_escaped_distinguished_name_target(tmp_path: Path) -> None:
    dn = "CN=Smith\\, Bob,OU=Staff,DC=contoso,DC=com"
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "distinguishedName": dn}
    ad_other = {
        "id": "11111111-2222-4333-8444-555555555555",
        "kind": "user",
        "directory": "ad",
        "distinguishedName": "CN=Smith\\, Alice,OU=Staff,DC=contoso,DC=com",
    }
    src = source_with(tmp_path, ad_bob, ad_other)

    assert ids(
        src.lookup([], [Target("distinguishedName", "cn=smith\\, bob,ou=staff,dc=contoso,dc=com")])
    ) == [BOB_GUID]


def test_lookup_finds_object_by_id_target_in_any_case(tmp_path: Path) -> None:
    src = source_with(tmp_path, user(BOB_GUID, "bob@contoso.com"))

    assert ids(src.lookup([], [Target("objectGUID", BOB_GUID.upper())])) == [BOB_GUID]


def test_lookup_finds_sam_account_name_in_the_domain_of_the_dn(tmp_path: Path) -> None:
    ad_bob = {
        "id": BOB_GUID,
        "kind": "user",
        "directory": "ad",
        "sAMAccountName": "BSmith",
        "distinguishedName": "CN=Bob Smith,OU=Staff,DC=contoso,DC=com",
    }
    src = source_with(tmp_path, ad_bob)

    assert ids(src.lookup([sam_key("contoso.com", "bsmith")], [])) == [BOB_GUID]
    assert src.lookup([sam_key("fabrikam.com", "bsmith")], []) == []


def test_lookup_returns_only_exact_holders_not_lines_sharing_a_word(tmp_path: Path) -> None:
    src = source_with(
        tmp_path,
        user("u1", "malice@contoso.com", displayName="alice@contoso.com"),
        user("u2", "alice@contoso.com.au"),
        user("u3", "alice@contoso.com"),
    )

    assert ids(src.lookup([upn_key("alice@contoso.com")], [])) == ["u3"]


def test_lookup_returns_each_holder_once_in_file_order(tmp_path: Path) -> None:
    src = source_with(
        tmp_path,
        user("u2", "bob@contoso.com", proxyAddresses=["SMTP:bob@contoso.com"]),
        user("u1", "alice@contoso.com", mail="bob@contoso.com"),
    )

    assert ids(src.lookup([upn_key("bob@contoso.com"), smtp_key("bob@contoso.com")], [])) == ["u2", "u1"]


# --- look-ups: Unicode, escapes and spacing -------------------------------------------------


def test_lookup_folds_non_ascii_case(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "ÉLODIE@contoso.com"))

    assert ids(src.lookup([upn_key("élodie@contoso.com")], [])) == ["u1"]


def test_lookup_folds_json_escaped_non_ascii(tmp_path: Path) -> None:
    path = tmp_path / "tenant.jsonl"
    path.write_text(
        json.dumps(HEADER) + "\n" + '{"id":"u1","kind":"user","directory":"entra",'
        '"userPrincipalName":"\\u00c9lodie@contoso.com"}\n',
        encoding="utf-8",
    )

    assert ids(SnapshotSource(str(path)).lookup([upn_key("élodie@contoso.com")], [])) == ["u1"]


def test_lookup_matches_decomposed_file_value_to_composed_key(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", unicodedata.normalize("NFD", "élodie@contoso.com")))

    assert ids(src.lookup([upn_key("élodie@contoso.com")], [])) == ["u1"]


def test_lookup_folds_sharp_s_to_ss(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "a@contoso.com", proxyAddresses=["smtp:straße@contoso.com"]))

    assert ids(src.lookup([smtp_key("STRASSE@contoso.com")], [])) == ["u1"]


def test_lookup_finds_values_written_with_surrounding_spaces(tmp_path: Path) -> None:
    src = source_with(
        tmp_path,
        user("u1", " alice@contoso.com "),
        user("u2", "b@contoso.com", proxyAddresses=["SMTP: bob@contoso.com"]),
    )

    assert ids(src.lookup([upn_key("alice@contoso.com")], [])) == ["u1"]
    assert ids(src.lookup([smtp_key("bob@contoso.com")], [])) == ["u2"]


def test_lookup_finds_value_behind_a_non_breaking_space(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "a@contoso.com", proxyAddresses=["SMTP:\u00a0bob@contoso.com"]))

    assert ids(src.lookup([smtp_key("bob@contoso.com")], [])) == ["u1"]


def test_lookup_finds_holder_on_a_line_with_an_escaped_quote(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "bob@contoso.com", displayName='Bob "the builder"'))

    assert ids(src.lookup([upn_key("bob@contoso.com")], [])) == ["u1"]


def test_lookup_finds_x500_written_with_escaped_slashes(tmp_path: Path) -> None:
    path = tmp_path / "tenant.jsonl"
    path.write_text(
        json.dumps(HEADER) + "\n" + '{"id":"u1","kind":"user","directory":"entra",'
        '"proxyAddresses":["X500:\\/o=ExchangeLabs\\/cn=alice"]}\n',
        encoding="utf-8",
    )

    assert ids(SnapshotSource(str(path)).lookup([proxy_key("x500:/o=exchangelabs/cn=alice") or ""], [])) == [
        "u1"
    ]


# Values people (and exports) write: mixed case, accents, spacing, colons, quotes, backslashes.
_value_chars = st.sampled_from([*"abcXYZ09.@-_ :\"\\/'éÉßẞİıø\u0301\u00a0\t", "\U0001f600"])
_values = st.text(_value_chars, min_size=1, max_size=16).filter(lambda v: v.strip() != "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    upn=_values,
    proxy=_values,
    mail=_values,
    nick=_values,
    dn=_values,
    proxy_type=st.sampled_from(["SMTP", "smtp", "SIP", "X500", "eum"]),
    ascii_only=st.booleans(),
    state=st.sampled_from(["active", "soft-deleted"]),
)
def test_lookup_never_drops_a_holder_of_any_of_its_keys(
    tmp_path: Path,
    upn: str,
    proxy: str,
    mail: str,
    nick: str,
    dn: str,
    proxy_type: str,
    ascii_only: bool,
    state: str,
) -> None:
    oid = "0c1e0000-1111-4222-8333-444455556666"
    stored_upn = oid.replace("-", "") + upn if state == "soft-deleted" else upn
    record = user(
        oid,
        stored_upn,
        state=state,
        proxyAddresses=[f"{proxy_type}:{proxy}"],
        mail=mail,
        mailNickname=nick,
        targetAddress=proxy,
        onPremisesImmutableId=proxy,
        onPremisesSecurityIdentifier=mail,
        distinguishedName=dn,
        quarantined=[{"property": "ProxyAddress", "value": nick}],
    )
    ad = {
        "id": BOB_GUID,
        "kind": "user",
        "directory": "ad",
        "objectGUID": BOB_GUID,
        "objectSid": upn,
        "sAMAccountName": nick,
        "distinguishedName": f"CN={dn},DC=contoso,DC=com",
    }
    decoy = user("decoy", "decoy@contoso.com", displayName=upn + proxy)
    path = write_jsonl(tmp_path / "prop.jsonl", [decoy, record, ad], ascii_only=ascii_only)
    src = SnapshotSource(str(path))
    objects = {o.id: o for o in src.scan()}

    for ident in (oid, BOB_GUID):
        for key in sorted(all_lookup_keys(objects[ident])):
            fresh = SnapshotSource(str(path))  # a new source: no memory of earlier look-ups
            assert ident in ids(fresh.lookup([key], [])), key


# --- repeated look-ups ----------------------------------------------------------------------


def test_repeated_lookup_of_searched_keys_does_not_read_the_file_again(tmp_path: Path, monkeypatch) -> None:
    src = source_with(tmp_path, user("u1", "alice@contoso.com"), user("u2", "bob@contoso.com"))
    first = src.lookup([upn_key("alice@contoso.com")], [])
    passes = []
    monkeypatch.setattr(src, "_chunks", lambda: passes.append(1) or iter(()))

    again = src.lookup([upn_key("alice@contoso.com")], [])

    assert ids(again) == ids(first) == ["u1"]
    assert passes == []


def test_later_lookup_searches_only_new_keys_and_still_returns_earlier_holders(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "alice@contoso.com"), user("u2", "bob@contoso.com"))
    src.lookup([upn_key("alice@contoso.com")], [])

    both = src.lookup([upn_key("alice@contoso.com"), upn_key("bob@contoso.com")], [])

    assert ids(both) == ["u1", "u2"]


def test_key_of_unknown_namespace_makes_the_pass_parse_every_line(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", " "))

    assert ids(src.lookup(["upn:"], [])) == ["u1"]  # "upn:" has no word to search for
    assert src.lookup(["future:alice"], []) == []


def test_prefilter_knows_every_key_namespace_addresses_produces() -> None:
    rich = [
        DirectoryObject(
            "e1",
            "user",
            "entra",
            "active",
            {
                "userPrincipalName": "a@contoso.com",
                "proxyAddresses": ("SMTP:a@contoso.com", "SIP:a@contoso.com"),
                "mail": "a@contoso.com",
                "targetAddress": "SMTP:a@x.example",
                "mailNickname": "a",
                "onPremisesImmutableId": "HgB6nC0/W0yKaQEjRWeJqw==",
                "onPremisesSecurityIdentifier": BOB_SID,
                "distinguishedName": "CN=a,DC=contoso,DC=com",
            },
            (Quarantined("UserPrincipalName", "q@contoso.com"),),
        ),
        DirectoryObject(
            BOB_GUID,
            "user",
            "ad",
            "active",
            {
                "objectGUID": BOB_GUID,
                "objectSid": BOB_SID,
                "sAMAccountName": "a",
                "distinguishedName": "CN=a,DC=contoso,DC=com",
            },
        ),
    ]

    produced = {namespace(k) for obj in rich for k in all_lookup_keys(obj)}

    assert produced <= KNOWN_NAMESPACES


# --- validation and errors ------------------------------------------------------------------


def test_unsupported_version_is_bad_input(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [], {"version": 2, "tenant": {}})

    with pytest.raises(UserInputError) as caught:
        SnapshotSource(str(path))

    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "snapshot version 2 is not supported (this dupfix reads version 1)" in str(caught.value)


def test_missing_file_is_bad_input_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UserInputError) as caught:
        SnapshotSource(str(tmp_path / "nope.jsonl"))

    assert "nope.jsonl" in str(caught.value)
    assert "not found" in str(caught.value)


def test_header_schema_error_names_the_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [], {"version": 1, "tenant": {"verifiedDomains": "contoso.com"}})

    with pytest.raises(UserInputError) as caught:
        SnapshotSource(str(path))

    assert caught.value.field == "tenant.verifiedDomains"
    assert caught.value.location is not None and caught.value.location.line == 1


def test_schema_error_in_a_parsed_object_names_line_and_field(tmp_path: Path) -> None:
    bad = {"id": "u2", "kind": "usr", "directory": "entra", "userPrincipalName": "alice@contoso.com"}
    src = source_with(tmp_path, user("u1", "bob@contoso.com"), bad)

    with pytest.raises(UserInputError) as caught:
        src.lookup([upn_key("alice@contoso.com")], [])

    assert caught.value.location is not None and caught.value.location.line == 3
    assert caught.value.field == "kind"
    assert "user, group, contact" in str(caught.value)


def test_scan_validates_every_line(tmp_path: Path) -> None:
    bad = {"id": "u2", "kind": "user", "directory": "entra", "proxyAddresses": "SMTP:b@contoso.com"}
    src = source_with(tmp_path, user("u1", "a@contoso.com"), bad)

    with pytest.raises(UserInputError) as caught:
        list(src.scan())

    assert caught.value.location is not None and caught.value.location.line == 3
    assert caught.value.field == "proxyAddresses"


def test_verify_option_validates_every_line_at_open(tmp_path: Path) -> None:
    bad = {"id": "u2", "kind": "user", "directory": "entra", "objectGUID": "not-a-guid"}
    path = write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com"), bad])

    with pytest.raises(UserInputError, match="GUID"):
        snapshot.create(f"snapshot:{path}", {"verify": True})


def test_invalid_json_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps(HEADER) + "\n" + '{"id": "u1", "kind": "user", "directory": "entra",\n', encoding="utf-8"
    )

    with pytest.raises(UserInputError) as caught:
        list(SnapshotSource(str(path)).scan())

    assert caught.value.location is not None and caught.value.location.line == 2


def test_truncated_export_is_reported_by_lookup(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com"), user("u2", "b@contoso.com")])
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(UserInputError, match="incomplete") as caught:
        SnapshotSource(str(path)).lookup([upn_key("zed@contoso.com")], [])

    assert caught.value.location is not None and caught.value.location.line == 3


def test_invalid_utf8_far_from_the_plan_is_still_reported(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com", displayName="Zoe")])
    path.write_bytes(path.read_bytes().replace(b"Zoe", b"Zo\xe9"))

    with pytest.raises(UserInputError, match="UTF-8"):
        SnapshotSource(str(path)).lookup([upn_key("zed@contoso.com")], [])


def test_object_outside_the_declared_directories_is_rejected(tmp_path: Path) -> None:
    ad_bob = {"id": BOB_GUID, "kind": "user", "directory": "ad", "userPrincipalName": "bob@contoso.com"}
    path = write_jsonl(tmp_path / "t.jsonl", [ad_bob], {**SILENT_HEADER, "directories": ["entra"]})

    with pytest.raises(UserInputError, match="covers only entra"):
        SnapshotSource(str(path)).lookup([upn_key("bob@contoso.com")], [])


def test_json_document_error_names_the_objects_line(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    document = {
        **HEADER,
        "objects": [user("u1", "a@contoso.com"), {"id": "u2", "kind": "user", "directory": "cloud"}],
    }
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    with pytest.raises(UserInputError) as caught:
        SnapshotSource(str(path))

    assert caught.value.field == "objects[1].directory"
    text = path.read_text().splitlines()
    assert caught.value.location is not None and caught.value.location.line is not None
    assert '"u2"' in text[caught.value.location.line - 1]


_SCHEMA_SAMPLES: list[Any] = [
    {"id": "u1", "kind": "user", "directory": "entra"},
    {"id": "", "kind": "user", "directory": "entra"},
    {"kind": "user", "directory": "entra"},
    {"id": "u1", "kind": "robot", "directory": "entra"},
    {"id": "u1", "kind": "user", "directory": "ad", "state": "deleted"},
    {"id": "u1", "kind": "user", "directory": "ad", "state": "soft-deleted"},
    {"id": "u1", "kind": "user", "directory": "ad", "userPrincipalName": None},
    {"id": "u1", "kind": "user", "directory": "ad", "userPrincipalName": 7},
    {"id": "u1", "kind": "user", "directory": "ad", "proxyAddresses": ["SMTP:a@b"]},
    {"id": "u1", "kind": "user", "directory": "ad", "proxyAddresses": ["SMTP:a@b", 3]},
    {"id": "u1", "kind": "user", "directory": "ad", "proxyAddresses": "SMTP:a@b"},
    {"id": "u1", "kind": "group", "directory": "entra", "mailEnabled": "yes"},
    {"id": "u1", "kind": "group", "directory": "entra", "mailEnabled": False},
    {"id": "u1", "kind": "user", "directory": "ad", "objectGUID": BOB_GUID},
    {"id": "u1", "kind": "user", "directory": "ad", "objectGUID": "{" + BOB_GUID.upper() + "}"},
    {"id": "u1", "kind": "user", "directory": "ad", "objectGUID": BOB_GUID.replace("-", "")},
    {
        "id": "u1",
        "kind": "user",
        "directory": "ad",
        "quarantined": [{"property": "ProxyAddress", "value": "x"}],
    },
    {"id": "u1", "kind": "user", "directory": "ad", "quarantined": [{"property": "Mail", "value": "x"}]},
    {
        "id": "u1",
        "kind": "user",
        "directory": "ad",
        "quarantined": [{"property": "ProxyAddress", "value": ""}],
    },
    {"id": "u1", "kind": "user", "directory": "ad", "quarantined": {}},
    {"id": "u1", "kind": "user", "directory": "ad", "extensionAttribute1": {"any": ["thing"]}},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("record", _SCHEMA_SAMPLES)
def test_fast_object_check_agrees_with_the_json_schema(record: Any) -> None:
    schema = load_schema("snapshot")
    validator = jsonschema.Draft202012Validator({**schema["$defs"]["object"], "$defs": schema["$defs"]})

    assert (_object_problem(record) is None) == validator.is_valid(record)


def test_attribute_given_twice_in_different_case_is_rejected() -> None:
    problem = _object_problem(
        {"id": "u1", "kind": "user", "directory": "entra", "mail": "a@b", "Mail": "c@d"}
    )

    assert problem is not None and "given twice" in problem[1]


# --- plugins --------------------------------------------------------------------------------


def test_snapshot_plugin_provides_the_snapshot_scheme(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [user("u1", "a@contoso.com")])
    from dupfix_policy.sources import snapshot as snapshot_plugin

    (factory,) = snapshot_plugin.dupfix_sources()

    src = factory.create(f"snapshot:{path}", {})

    assert factory.scheme == "snapshot"
    assert ids(src.lookup([upn_key("a@contoso.com")], [])) == ["u1"]


def test_snapshot_spec_without_a_path_is_bad_input() -> None:
    with pytest.raises(UserInputError, match="snapshot:PATH"):
        snapshot.create("snapshot:", {})


def test_none_source_covers_nothing_and_finds_nothing() -> None:
    (factory,) = none_source.dupfix_sources()
    src = factory.create("none", {})

    assert factory.scheme == "none"
    assert src.directories == frozenset()
    assert src.lookup([upn_key("a@contoso.com")], [Target("id", "u1")]) == []
    assert list(src.scan()) == []
    assert src.info.origin == "none"
    assert src.tenant is None


def test_lookup_by_target_key_helper_matches_engine_targets(tmp_path: Path) -> None:
    src = source_with(tmp_path, user("u1", "Alice@contoso.com", mail="alice.smith@contoso.com"))

    assert target_key(Target("mail", "Alice.Smith@contoso.com")) == smtp_key("alice.smith@contoso.com")
    assert ids(src.lookup([], [Target("mail", "Alice.Smith@contoso.com")])) == ["u1"]


# --- parallel passes ------------------------------------------------------------------------


def _tenant_records(count: int) -> list[dict[str, Any]]:
    return [
        user(
            f"u{i:04d}",
            f"user{i}@contoso.com",
            proxyAddresses=[f"SMTP:user{i}@contoso.com", f"smtp:u{i}@x.example"],
        )
        for i in range(count)
    ]


@pytest.mark.skipif(snapshot.parallel_workers(1 << 40, 2) == 1, reason="parallel passes need fork (Linux)")
def test_parallel_pass_finds_what_a_single_process_finds(tmp_path: Path) -> None:
    path = str(write_jsonl(tmp_path / "t.jsonl", _tenant_records(600)))
    keys = [upn_key("user5@contoso.com"), smtp_key("u599@x.example"), smtp_key("U300@x.example")]

    serial = SnapshotSource(path, workers=1).lookup(keys, [Target("id", "u0450")])
    parallel = SnapshotSource(path, workers=3).lookup(keys, [Target("id", "u0450")])

    assert ids(parallel) == ids(serial) == ["u0005", "u0300", "u0450", "u0599"]


@pytest.mark.skipif(snapshot.parallel_workers(1 << 40, 2) == 1, reason="parallel passes need fork (Linux)")
def test_error_found_by_a_parallel_worker_names_its_line(tmp_path: Path) -> None:
    records = _tenant_records(400)
    records[350]["displayName"] = "Zoe"
    path = write_jsonl(tmp_path / "t.jsonl", records)
    path.write_bytes(path.read_bytes().replace(b"Zoe", b"Zo\xe9"))

    with pytest.raises(UserInputError, match="UTF-8") as caught:
        SnapshotSource(str(path), workers=2).lookup([upn_key("user1@contoso.com")], [])

    assert caught.value.location is not None and caught.value.location.line == 352


def test_small_snapshots_and_the_environment_switch_keep_one_process(monkeypatch) -> None:
    assert snapshot.parallel_workers(1024) == 1
    monkeypatch.setenv(snapshot.WORKERS_ENV, "1")
    assert snapshot.parallel_workers(1 << 40) == 1
