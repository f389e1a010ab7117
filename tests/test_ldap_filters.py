"""The LDAP source's pure parts: keys -> escaped filters, raw entries -> objects, URL -> settings.

No server is needed here; what these build is run against the real Samba in test_ldap_source.py.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid

import pytest

from dupfix_policy.addresses import (
    ad_dn_key,
    ad_upn_key,
    anchor_key,
    guid_to_immutable_id,
    proxy_key,
    sid_key,
    smtp_key,
    target_address_key,
    upn_key,
)
from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Target
from dupfix_policy.sources.ldap.entries import decode_entry, decode_sid, first_rdn_value, skip_reason
from dupfix_policy.sources.ldap.filters import (
    MAX_CLAUSES,
    Assertion,
    assertions_for_key,
    assertions_for_target,
    chunks,
    escape,
    object_filter,
)
from dupfix_policy.sources.ldap.settings import settings_from

BIND = {"DUPFIX_LDAP_USER": "svc-dupfix@contoso.com", "DUPFIX_LDAP_PASSWORD": "s3cret-Pa55"}

# --- escaping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("a*b@contoso.com", "a\\2ab@contoso.com"),
        ("(x)@contoso.com", "\\28x\\29@contoso.com"),
        ("back\\slash@contoso.com", "back\\5cslash@contoso.com"),
        ("nul\x00@contoso.com", "nul\\00@contoso.com"),
        ("*)(objectClass=*", "\\2a\\29\\28objectClass=\\2a"),
    ],
)
def test_filter_metacharacters_are_escaped_per_rfc4515(value, escaped):
    assert escape(value) == escaped


def test_an_injection_attempt_stays_one_assertion_value():
    (assertion,) = assertions_for_key(upn_key("x)(|(objectClass=*"))
    assert assertion.text == "(userPrincipalName=x\\29\\28|\\28objectclass=\\2a)"
    assert assertion.text.count("(") == 1 and assertion.text.count(")") == 1


# --- keys -> assertions ------------------------------------------------------------------------------


def test_an_smtp_key_is_looked_for_in_proxy_addresses_mail_and_target_address():
    found = assertions_for_key(smtp_key("Alice@Contoso.com"))
    assert found == [
        Assertion("proxyAddresses", "smtp:alice@contoso.com"),
        Assertion("targetAddress", "smtp:alice@contoso.com"),
        Assertion("mail", "alice@contoso.com"),
        Assertion("targetAddress", "alice@contoso.com"),  # a bare targetAddress is read as smtp:
    ]


def test_other_proxy_types_are_looked_for_in_proxy_addresses_and_target_address():
    assert assertions_for_key(proxy_key("SIP:alice@contoso.com") or "") == [
        Assertion("proxyAddresses", "sip:alice@contoso.com"),
        Assertion("targetAddress", "sip:alice@contoso.com"),
    ]


def test_a_target_address_is_an_address_key():
    assert target_address_key("alice@fabrikam.com") == smtp_key("alice@fabrikam.com")
    assert target_address_key("SMTP:Alice@Fabrikam.com") == smtp_key("alice@fabrikam.com")


def test_ad_side_keys_ask_the_value_without_diacritics_ad_compares_that_way():
    assert assertions_for_key(ad_upn_key("Jörg@contoso.com")) == [Assertion("userPrincipalName", "jorg@contoso.com")]
    assert assertions_for_key(ad_dn_key("CN=Jörg,OU=Staff,DC=contoso,DC=com")) == [
        Assertion("distinguishedName", "cn=jorg,ou=staff,dc=contoso,dc=com")
    ]


def test_a_sam_key_is_looked_for_by_name_the_domain_is_judged_from_the_dn():
    assert assertions_for_key("sam:contoso.com\\alice") == [Assertion("sAMAccountName", "alice")]


def test_an_anchor_is_looked_for_as_objectguid_and_consistency_guid_octets():
    guid = "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab"
    octets = "".join(f"\\{b:02x}" for b in uuid.UUID(guid).bytes_le)
    found = assertions_for_key(anchor_key(guid_to_immutable_id(guid) or ""))
    assert found == [Assertion("objectGUID", octets), Assertion("mS-DS-ConsistencyGuid", octets)]


def test_an_anchor_that_is_no_guid_can_match_no_ad_object():
    assert assertions_for_key(anchor_key(base64.b64encode(b"not sixteen").decode())) == []


def test_a_sid_is_asserted_in_its_string_form_and_anything_else_is_dropped():
    assert assertions_for_key(sid_key("S-1-5-21-1-2-3-1104")) == [Assertion("objectSid", "S-1-5-21-1-2-3-1104")]
    assert assertions_for_key("sid:S-1-5-21-1)(x=*") == []


def test_targets_by_dn_guid_and_upn_become_assertions():
    guid = "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab"
    assert assertions_for_target(Target("distinguishedName", "CN=Bob (IT),OU=Staff,DC=contoso,DC=com")) == [
        Assertion("distinguishedName", "CN=Bob \\28IT\\29,OU=Staff,DC=contoso,DC=com")
    ]
    assert [a.attribute for a in assertions_for_target(Target("objectGUID", guid))] == ["objectGUID"]
    assert assertions_for_target(Target("userPrincipalName", "Bob@Contoso.com")) == [
        Assertion("userPrincipalName", "bob@contoso.com")
    ]


def test_assertions_are_chunked_so_a_big_plan_costs_few_searches():
    many = [Assertion("mail", f"user{i}@contoso.com") for i in range(MAX_CLAUSES * 2 + 1)]
    sizes = [len(c) for c in chunks(many + many)]
    assert sizes == [MAX_CLAUSES, MAX_CLAUSES, 1]


def test_the_search_is_limited_to_users_groups_and_contacts():
    flt = object_filter([Assertion("mail", "a@contoso.com")])
    assert flt == "(&(|(objectCategory=person)(objectCategory=group))(mail=a@contoso.com))"


# --- entries -> objects ------------------------------------------------------------------------------


def _raw(**values: list[bytes]) -> dict[str, list[bytes]]:
    return {k.lower(): v for k, v in values.items()}


GUID = "9c7a0b1e-3f2d-4c5b-8a69-0123456789ab"
SID_BYTES = bytes([1, 5, 0, 0, 0, 0, 0, 5]) + b"".join(n.to_bytes(4, "little") for n in (21, 1, 2, 3, 1104))


def test_a_binary_sid_reads_as_its_string_form():
    assert decode_sid(SID_BYTES) == "S-1-5-21-1-2-3-1104"


def test_a_user_entry_becomes_an_ad_object_identified_by_its_guid():
    raw = _raw(objectClass=[b"top", b"person", b"organizationalPerson", b"user"], objectGUID=[uuid.UUID(GUID).bytes_le],
               objectSid=[SID_BYTES], userPrincipalName=[b"bob@contoso.com"],
               proxyAddresses=[b"SMTP:bob@contoso.com", b"smtp:b@contoso.com"])  # fmt: skip
    obj = decode_entry("CN=Bob,OU=Staff,DC=contoso,DC=com", raw).obj
    assert obj is not None
    assert (obj.id, obj.kind, obj.directory) == (GUID, "user", "ad")
    assert obj.get("distinguishedName") == "CN=Bob,OU=Staff,DC=contoso,DC=com"
    assert obj.get("objectSid") == "S-1-5-21-1-2-3-1104"
    assert obj.get("proxyAddresses") == ("SMTP:bob@contoso.com", "smtp:b@contoso.com")
    assert (obj.get("sourceAnchor"), obj.get("sourceAnchorAttribute")) == (guid_to_immutable_id(GUID), "objectGUID")


def test_a_consistency_guid_is_the_source_anchor_when_set():
    other = "1b0c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3"
    raw = _raw(objectClass=[b"user"], objectGUID=[uuid.UUID(GUID).bytes_le],
               **{"mS-DS-ConsistencyGuid": [uuid.UUID(other).bytes_le]})  # fmt: skip
    obj = decode_entry("CN=Bob,DC=contoso,DC=com", raw).obj
    assert obj is not None
    assert (obj.get("sourceAnchor"), obj.get("sourceAnchorAttribute")) == (
        guid_to_immutable_id(other), "mS-DS-ConsistencyGuid",
    )  # fmt: skip


def test_an_unreadable_consistency_guid_is_marked_as_a_fallback():
    raw = _raw(objectClass=[b"user"], objectGUID=[uuid.UUID(GUID).bytes_le])
    obj = decode_entry("CN=Bob,DC=contoso,DC=com", raw, consistency_readable=False).obj
    assert obj is not None and obj.get("sourceAnchorFallback") is True


@pytest.mark.parametrize(
    ("dn", "raw", "reason"),
    [
        ("CN=Administrator,CN=Users,DC=contoso,DC=com", {"iscriticalsystemobject": [b"TRUE"]}, "isCriticalSystemObject"),
        ("CN=SVC-BACKUP$,OU=Svc,DC=contoso,DC=com", {}, "CN ends with $"),
        ("CN=alice\\0ACNF:6a1c2f3e-0000-4000-8000-000000000001,OU=Staff,DC=contoso,DC=com", {},
         "replication conflict (CNF:)"),
    ],
)  # fmt: skip
def test_idfix_system_object_skips(dn, raw, reason):
    assert skip_reason(dn, raw) == reason


@pytest.mark.parametrize(
    ("dn", "raw", "reason"),
    [
        ("CN=krbtgt_AzureAD,CN=Users,DC=contoso,DC=com", {}, "CN starts with krbtgt"),
        ("CN=MSOL_0a1b2c3d4e5f,CN=Users,DC=contoso,DC=com", {}, "CN starts with msol"),
        ("CN=DiscoverySearchMailbox {D919BA05-46A6-415f-80AD-7E09334BB852},CN=Users,DC=contoso,DC=com", {},
         "CN starts with DiscoverySearchMailbox"),
        ("CN=Exchange Online-ApplicationAccount,CN=Users,DC=contoso,DC=com", {},
         "CN starts with Exchange Online-ApplicationAccount"),
        ("CN=Arb,CN=Users,DC=contoso,DC=com", {"msexchrecipienttypedetails": [b"8388608"]},
         "msExchRecipientTypeDetails ArbitrationMailbox"),
        ("CN=Svc,CN=Users,DC=contoso,DC=com", {"objectclass": [b"top", b"user"], "mailnickname": [b"SystemMailbox1"]},
         "mailNickname starts with SYSTEMMAILBOX"),
    ],
)  # fmt: skip
def test_idfix_exclusions_by_cn_prefix_recipient_type_and_account_prefix(dn, raw, reason):
    assert skip_reason(dn, raw) == reason


@pytest.mark.parametrize("raw", [{"msexchrecipienttypedetails": [b"1"]}, {"msexchrecipienttypedetails": [b"0x1000x"]}])
def test_ordinary_mailboxes_and_unreadable_recipient_types_are_kept(raw):
    assert skip_reason("CN=Megan Bowen,OU=Staff,DC=contoso,DC=com", raw) is None


def test_an_escaped_comma_does_not_end_the_first_rdn():
    assert first_rdn_value("CN=Smith\\, John$,OU=Staff,DC=contoso,DC=com") == "Smith\\, John$"
    assert skip_reason("CN=Cost\\, Inc,OU=X$,DC=contoso,DC=com", {}) is None


def test_computers_are_not_users():
    raw = _raw(objectClass=[b"user", b"computer"], objectGUID=[uuid.UUID(GUID).bytes_le])
    assert decode_entry("CN=PC1,DC=contoso,DC=com", raw).obj is None


def test_a_group_with_an_address_is_mail_enabled():
    raw = _raw(objectClass=[b"group"], objectGUID=[uuid.UUID(GUID).bytes_le], mail=[b"sales@contoso.com"],
               groupType=[b"-2147483646"])  # fmt: skip
    obj = decode_entry("CN=Sales,DC=contoso,DC=com", raw).obj
    assert obj is not None and obj.get("mailEnabled") is True and obj.get("securityEnabled") is True


# --- URL + environment -> settings -------------------------------------------------------------------


def test_a_dc_url_gives_host_port_and_base():
    s = settings_from("ldaps://dc1.contoso.com/OU=Staff%20EU,DC=contoso,DC=com", BIND)
    assert (s.scheme, s.host, s.port, s.base, s.global_catalog) == (
        "ldaps", "dc1.contoso.com", 636, "OU=Staff EU,DC=contoso,DC=com", False,
    )  # fmt: skip


def test_a_global_catalog_url_reads_the_forest_and_asks_the_dc_port_for_the_rest():
    s = settings_from("ldap://gc.contoso.com:3268/", BIND)
    assert (s.global_catalog, s.base, s.dc_url) == (True, None, "ldap://gc.contoso.com:389")
    assert settings_from("ldaps://gc.contoso.com:3269", BIND).dc_url == "ldaps://gc.contoso.com:636"
    alone = settings_from("ldap://gc.contoso.com:3268", {**BIND, "DUPFIX_LDAP_DC_URL": "none"})
    assert alone.dc_url is None


def test_the_password_is_never_in_the_settings_repr():
    assert "s3cret-Pa55" not in repr(settings_from("ldap://dc1.contoso.com", BIND))


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(UserInputError) as err:
        settings_from("ldap://svc:hunter2@dc1.contoso.com/", BIND)
    assert "hunter2" not in str(err.value)
    assert "DUPFIX_LDAP_USER" in str(err.value)


def test_a_missing_bind_names_both_variables():
    with pytest.raises(UserInputError) as err:
        settings_from("ldap://dc1.contoso.com", {})
    assert "DUPFIX_LDAP_USER and DUPFIX_LDAP_PASSWORD not set" in str(err.value)


@pytest.mark.parametrize(
    ("spec", "env", "says"),
    [
        ("ldap://dc1.contoso.com/??sub?(objectClass=*)", {}, "not supported"),
        ("ldap://dc1.contoso.com:99999/", {}, "bad port"),
        ("ldaps://dc1.contoso.com", {"DUPFIX_LDAP_STARTTLS": "1"}, "already uses TLS"),
        ("ldap://dc1.contoso.com", {"DUPFIX_LDAP_TIMEOUT": "soon"}, "positive number of seconds"),
        ("ldap://dc1.contoso.com", {"DUPFIX_LDAP_CA_FILE": "/nonexistent/ca.pem"}, "no such file"),
    ],
)
def test_setting_mistakes_are_exit_2_naming_what_to_fix(spec, env, says):
    with pytest.raises(UserInputError) as err:
        settings_from(spec, {**BIND, **env})
    assert says in str(err.value)


def test_registering_the_plugins_does_not_import_ldap3():
    code = ("import sys; from dupfix_policy.plugins import load_registry; r = load_registry(); "
            "assert 'ldap' in r.sources; print('ldap3' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"DUPFIX_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert out.stdout.strip() == "False"
