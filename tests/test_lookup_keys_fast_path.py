"""`all_lookup_keys` computes an object's keys in one pass (`addresses._entra_lookup_keys`,
`addresses._ad_lookup_keys`); it must give exactly the keys the claims and the targets give, the definition the cache and every
source index answer look-ups by. A key it missed would make a cached holder invisible: a false pass.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dupfix_policy.addresses import all_lookup_keys, claims_of, target_keys_of
from dupfix_policy.model import DirectoryObject, Quarantined
from dupfix_policy.sources.records import record_to_object

SETTINGS = settings(max_examples=800, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples", "tenant.json")


def _defined(obj: DirectoryObject) -> set[str]:
    return {c.key for c in claims_of(obj)} | target_keys_of(obj)


TEXT = st.sampled_from([
    "alice@contoso.com", "Alice@Contoso.COM ", "SMTP:alice@contoso.com", "smtp:Alice@contoso.com  ", " SMTP:a@b.c",
    "SIP:alice@contoso.com", "X500:/o=Contoso/cn=alice", "smtp:", "smtp: ", ":alice@contoso.com", "sm tp:a@b.c",
    "a@b:c@d", "zoë@contoso.com", "SMTP:Zoë@Contoso.com", "ＳＭＴＰ:a@b.c", "smtp:ß@contoso.com", "", "  ",
    "alice", "S-1-5-21-1-2-3-1001", "s-1-5-21-1-2-3-1001 ", "AAECAwQFBgcICQoLDA0ODw==", "CN=Alice,OU=Staff,DC=contoso,DC=com",
    "0123456789abcdef0123456789abcdefalice@contoso.com", "Unified", "true", "false",
])  # fmt: skip
VALUE = st.one_of(TEXT, TEXT, st.lists(TEXT, max_size=3).map(tuple), st.none(), st.booleans())
NAMES = st.sampled_from(["userPrincipalName", "proxyAddresses", "mail", "targetAddress", "mailNickname",
                         "onPremisesImmutableId", "onPremisesSecurityIdentifier", "distinguishedName",
                         "mailEnabled", "groupTypes", "displayName", "userType"])  # fmt: skip


@st.composite
def entra_objects(draw) -> DirectoryObject:
    attributes = draw(st.dictionaries(NAMES, VALUE, max_size=8))
    if isinstance(attributes.get("userPrincipalName"), (tuple, bool)):
        attributes["userPrincipalName"] = draw(TEXT)  # single-valued text in every source (records.TEXT_ATTRIBUTES)
    quarantined = tuple(
        Quarantined(p, v)
        for p, v in draw(st.lists(st.tuples(st.sampled_from(["UserPrincipalName", "ProxyAddresses"]), TEXT), max_size=1))
    )
    return DirectoryObject(
        draw(st.sampled_from(["0123456789ABCDEF0123456789ABCDEF", "u-1", "Group-7"])),
        draw(st.sampled_from(["user", "group", "contact"])),
        "entra",
        draw(st.sampled_from(["active", "soft-deleted"])),
        attributes,
        quarantined,
    )


@SETTINGS
@given(entra_objects())
def test_an_entra_objects_keys_are_its_claims_and_targets_keys(obj):
    assert all_lookup_keys(obj) == _defined(obj)


AD_TEXT = st.sampled_from([
    "alice@contoso.com", "Jörg@Contoso.com", "alice@contoso.onmicrosoft.com", "bob@contoso.mail.onmicrosoft.com",
    "SMTP:alice@contoso.com", "smtp:alice@contoso.onmicrosoft.com", "smtp:a@fabrikam.mail.onmicrosoft.com",
    "X400:c=US;a= ;p=Contoso;o=Exchange;s=Alice", "MS:CONTOSO/ALICE", "SIP:alice@contoso.com", "smtp:", "",
    "  ", "alice", "ALICE ", "CN=Alice,OU=Staff,DC=contoso,DC=com", "cn = Jörg ,ou=Staff, dc=Contoso,dc=COM",
    "CN=Doe\\, Jo,OU=Staff,DC=contoso,DC=com", "OU=Staff", "02421913-e80a-5e4c-8fff-8a9fee273e7f",
    "{02421913-E80A-5E4C-8FFF-8A9FEE273E7F}", "not-a-guid", "EykCAgroTF6P/4qf7ic+fw==", "S-1-5-21-1-2-3-1136",
])  # fmt: skip
AD_VALUE = st.one_of(AD_TEXT, AD_TEXT, st.lists(AD_TEXT, max_size=3).map(tuple), st.none(), st.booleans())
AD_NAMES = st.sampled_from(["userPrincipalName", "proxyAddresses", "mail", "targetAddress", "mailNickname",
                            "distinguishedName", "sAMAccountName", "objectGUID", "mS-DS-ConsistencyGuid",
                            "sourceAnchor", "objectSid", "mailEnabled", "groupTypes", "displayName"])  # fmt: skip


@st.composite
def ad_objects(draw) -> DirectoryObject:
    attributes = draw(st.dictionaries(AD_NAMES, AD_VALUE, max_size=9))
    if isinstance(attributes.get("userPrincipalName"), (tuple, bool)):
        attributes["userPrincipalName"] = draw(AD_TEXT)
    return DirectoryObject(
        draw(st.sampled_from(["02421913-e80a-5e4c-8fff-8a9fee273e7f", "u-1"])),
        draw(st.sampled_from(["user", "group", "contact"])),
        "ad",
        draw(st.sampled_from(["active", "soft-deleted"])),
        attributes,
        (),
    )


@SETTINGS
@given(ad_objects())
def test_an_ad_objects_keys_are_its_claims_and_targets_keys(obj):
    assert all_lookup_keys(obj) == _defined(obj)


def test_an_ad_user_with_a_recorded_anchor_is_also_found_by_its_consistency_guid_and_object_guid():
    obj = DirectoryObject("02421913-e80a-5e4c-8fff-8a9fee273e7f", "user", "ad", "active", {
        "objectGUID": "02421913-e80a-5e4c-8fff-8a9fee273e7f", "mS-DS-ConsistencyGuid": "11111111-2222-3333-4444-555555555555",
        "sourceAnchor": "recorded-by-ldap", "distinguishedName": "CN=Diego,OU=Staff,DC=contoso,DC=com"}, ())  # fmt: skip
    keys = all_lookup_keys(obj)
    assert {"anchor:recorded-by-ldap", "anchor:ExlCAgroTF6P/4qf7ic+fw==", "anchor:ERERESIiMzNERFVVVVVVVQ=="} <= keys
    assert keys == _defined(obj)


def test_soft_deleted_user_is_found_by_its_original_upn_and_keeps_its_addresses():
    obj = DirectoryObject("0123456789abcdef0123456789abcdef", "user", "entra", "soft-deleted", {
        "userPrincipalName": "0123456789abcdef0123456789abcdefalice@contoso.com",
        "proxyAddresses": ("SMTP:alice@contoso.com",), "mail": "alice@contoso.com"}, ())  # fmt: skip
    keys = all_lookup_keys(obj)
    assert {"upn:alice@contoso.com", "proxy:smtp:alice@contoso.com"} <= keys
    assert keys == _defined(obj)


def test_every_object_of_the_demo_tenant_has_its_defined_keys():
    with open(EXAMPLES, encoding="utf-8") as fh:
        records = json.load(fh)["objects"]
    objects = [record_to_object(r) for r in records]
    assert any(o.directory == "entra" for o in objects) and any(o.directory == "ad" for o in objects)
    for obj in objects:
        assert all_lookup_keys(obj) == _defined(obj), obj.id
