"""The LDAP source against a real Samba AD DC: point look-ups, scans, schema, Global Catalog, TLS.

Every test builds its case in an OU of its own (ldap_fixtures.ad) and reads it back through the
source, exactly as `dupfix check --source ldap://…` would.
"""

from __future__ import annotations

import uuid

import pytest
from ldap_fixtures import Ou, Samba, closed_port

from dupfix_policy.addresses import alias_key, anchor_key, guid_to_immutable_id, sid_key, smtp_key, upn_key
from dupfix_policy.errors import StateUnavailableError
from dupfix_policy.model import Target
from dupfix_policy.sources.ldap.source import LdapSource, create

pytest_plugins = ["ldap_fixtures"]  # the Samba fixtures (samba, ad, ad_exchange, ldap_env, ...)


def source(spec: str, **env: str) -> LdapSource:
    return create(spec, {"env": env} if env else {})


def by_dn(objects) -> dict[str, object]:
    return {o.get("distinguishedName"): o for o in objects}


# --- point look-ups ----------------------------------------------------------------------------------


def test_a_upn_look_up_finds_the_user_holding_it(ad: Ou, ldap_env):
    dn = ad.user("alice", upn=f"alice.{ad.tag}@example.test")
    with_alice = source(ad.url).lookup([upn_key(f"ALICE.{ad.tag}@Example.Test")], [])
    assert [o.get("distinguishedName") for o in with_alice] == [dn]
    assert with_alice[0].id == ad.guid(dn) and with_alice[0].directory == "ad"


@pytest.mark.parametrize("kind", ["user", "group", "contact"])
def test_a_proxy_look_up_finds_users_groups_and_contacts(ad: Ou, ldap_env, kind):
    address = f"shared.{ad.tag}@example.test"
    dn = getattr(ad, kind)(f"holder-{kind}", proxies=[f"smtp:{address}"])
    (found,) = source(ad.url).lookup([smtp_key(address.upper())], [])
    assert (found.get("distinguishedName"), found.kind) == (dn, kind)
    assert found.get("proxyAddresses") == (f"smtp:{address}",)


def test_an_smtp_look_up_also_finds_a_mail_attribute(ad: Ou, ldap_env):
    dn = ad.contact("partner", mail=f"partner.{ad.tag}@fabrikam.test")
    assert list(by_dn(source(ad.url).lookup([smtp_key(f"partner.{ad.tag}@fabrikam.test")], []))) == [dn]


def test_values_with_filter_metacharacters_are_found_exactly(ad: Ou, ldap_env):
    odd = f"o*(k)\\{ad.tag}@example.test"
    dn = ad.contact("odd", proxies=[f"smtp:{odd}"])
    ad.contact("plain", proxies=[f"smtp:ok{ad.tag}@example.test"])
    found = source(ad.url).lookup([smtp_key(odd)], [])
    assert list(by_dn(found)) == [dn]


@pytest.mark.parametrize("value", ["*", "*@example.test", "x)(objectClass=*", "(|(mail=*))", "\\", "nul\x00@example.test"])
def test_metacharacters_in_planned_values_match_nothing_and_raise_nothing(ad: Ou, ldap_env, value):
    ad.user("bystander", upn=f"bystander.{ad.tag}@example.test", proxies=[f"SMTP:bystander.{ad.tag}@example.test"])
    src = source(ad.url)
    assert src.lookup([upn_key(value), smtp_key(value), alias_key(value), "sam:example.test\\" + value], []) == []


def test_targets_resolve_by_dn_guid_and_sid(ad: Ou, ldap_env):
    dn = ad.user("bob", upn=f"bob.{ad.tag}@example.test")
    guid, sid = ad.guid(dn), ad.sid(dn)
    src = source(ad.url)
    assert [o.id for o in src.lookup([], [Target("distinguishedName", dn.upper())])] == [guid]
    assert [o.id for o in src.lookup([], [Target("objectGUID", guid)])] == [guid]
    assert [o.id for o in src.lookup([sid_key(sid)], [])] == [guid]
    assert [o.id for o in src.lookup([anchor_key(guid_to_immutable_id(guid) or "")], [])] == [guid]


def test_a_sam_look_up_finds_the_account_in_its_domain(ad: Ou, ldap_env):
    dn = ad.user("carol", upn=f"carol.{ad.tag}@example.test", sam=f"carol{ad.tag[:8]}")
    found = source(ad.url).lookup([f"sam:example.test\\carol{ad.tag[:8]}"], [])
    assert [o.get("distinguishedName") for o in found] == [dn]


def test_the_objects_carry_guid_dn_sid_and_source_anchor(ad: Ou, ldap_env):
    dn = ad.user("dave", upn=f"dave.{ad.tag}@example.test")
    (dave,) = source(ad.url).lookup([upn_key(f"dave.{ad.tag}@example.test")], [])
    assert dave.get("objectGUID") == dave.id == ad.guid(dn)
    assert dave.get("objectSid") == ad.sid(dn)
    assert dave.get("sourceAnchor") == guid_to_immutable_id(dave.id)
    assert dave.get("sourceAnchorAttribute") == "objectGUID"


def test_a_consistency_guid_becomes_the_anchor_read_from_a_dc_port(ad: Ou, ldap_env):
    dn = ad.user("erin", upn=f"erin.{ad.tag}@example.test")
    anchor = str(uuid.uuid4())
    ad.set_consistency_guid(dn, anchor)
    (erin,) = source(ad.url).lookup([anchor_key(guid_to_immutable_id(anchor) or "")], [])
    assert erin.get("distinguishedName") == dn
    assert (erin.get("sourceAnchor"), erin.get("sourceAnchorAttribute")) == (
        guid_to_immutable_id(anchor), "mS-DS-ConsistencyGuid",
    )  # fmt: skip


def test_asking_again_for_the_anchor_of_an_object_read_costs_no_search(ad: Ou, ldap_env):
    dn = ad.user("otto", upn=f"otto.{ad.tag}@example.test")
    src = source(ad.url)
    (otto,) = src.lookup([upn_key(f"otto.{ad.tag}@example.test")], [])
    searches = src.searches
    again = src.lookup([anchor_key(otto.get("sourceAnchor")), sid_key(ad.sid(dn))], [Target("distinguishedName", dn)])
    assert [o.id for o in again] == [otto.id] and src.searches == searches


def test_many_values_are_looked_up_in_few_searches(ad: Ou, ldap_env):
    for i in range(5):
        ad.contact(f"c{i}", proxies=[f"smtp:c{i}.{ad.tag}@example.test"])
    src = source(ad.url)
    keys = [smtp_key(f"c{i}.{ad.tag}@example.test") for i in range(3000)]  # 6,000 assertions
    found = src.lookup(keys, [])
    assert len(found) == 5
    setup = 2  # rootDSE + schema
    assert src.searches - setup == 3  # ceil(6000 / MAX_CLAUSES)


# --- skips -----------------------------------------------------------------------------------------------


def test_system_objects_are_left_out_as_idfix_does(ad: Ou, ldap_env):
    address = f"system.{ad.tag}@example.test"
    ad.user("svc$", proxies=[f"smtp:{address}"], sam=f"svc{ad.tag[:8]}")
    ad.contact(f"dup\\0ACNF:{uuid.uuid4()}", proxies=[f"smtp:{address}"])
    kept = ad.contact("real", proxies=[f"smtp:{address}"])
    src = source(ad.url)
    assert list(by_dn(src.lookup([smtp_key(address)], []))) == [kept]
    assert src.skipped == {"CN ends with $": 1, "replication conflict (CNF:)": 1}


def test_idfix_well_known_exclusions_are_left_out_and_named_in_the_note(ad: Ou, ldap_env):
    # IdFix's Constants.WellKnownExclusions: Exchange's health and system mailboxes never sync.
    address = f"monitoring.{ad.tag}@example.test"
    ad.user(f"HealthMailbox{ad.tag[:7]}", proxies=[f"smtp:{address}"])
    ad.user("SystemMailbox{1f05a927-3be2-4fb9-aa03-b59fe3b56f4c}", proxies=[f"smtp:{address}"],
            sam=f"SM_{ad.tag[:8]}")
    ad.user("helpdesk", proxies=[f"smtp:{address}"], sam=f"SUPPORT_{ad.tag[:8]}")
    kept = ad.user("monitoring", proxies=[f"SMTP:{address}"])
    src = source(ad.url)
    assert list(by_dn(src.lookup([smtp_key(address)], []))) == [kept]
    assert src.skipped == {"CN starts with HealthMailbox": 1, "CN starts with SystemMailbox": 1,
                           "sAMAccountName starts with SUPPORT_": 1}
    (note,) = [n for n in src.notes if "left out" in n]
    assert f"HealthMailbox{ad.tag[:7]}" in note and "that hold values the plan claims" in note


def test_exchange_system_recipient_types_are_left_out(ad_exchange: Ou, ldap_env):
    # msExchRecipientTypeDetails 0x20000000 = DiscoveryMailbox, one of IdFix's MultiTenant skips;
    # 1 = UserMailbox is an ordinary mailbox and stays.
    address = f"discovery.{ad_exchange.tag}@example.test"
    ad_exchange.user("Discovery Search", proxies=[f"smtp:{address}"], msExchRecipientTypeDetails="536870912")
    kept = ad_exchange.user("mailbox", proxies=[f"SMTP:{address}"], msExchRecipientTypeDetails="1")
    src = source(ad_exchange.url)
    assert list(by_dn(src.lookup([smtp_key(address)], []))) == [kept]
    assert src.skipped == {"msExchRecipientTypeDetails DiscoveryMailbox": 1}


def test_critical_system_objects_are_left_out(samba: Samba, ldap_env):
    src = source(samba.plain.url)
    assert src.lookup(["sam:example.test\\administrator", "sam:example.test\\krbtgt"], []) == []
    assert src.skipped["isCriticalSystemObject"] == 2


# --- schema -----------------------------------------------------------------------------------------------


def test_without_the_exchange_schema_aliases_are_noted_as_not_checked(ad: Ou, ldap_env):
    ad.user("frank", upn=f"frank.{ad.tag}@example.test")
    src = source(ad.url)
    assert src.lookup([alias_key("frank"), "proxy:smtp:frank@fabrikam.test"], []) == []
    notes = " ".join(src.report_notes(frozenset({"ad"})))
    assert "mailNickname is not in the schema (the forest has no Exchange schema): 1 look-up(s)" in notes
    assert "targetAddress is not in the schema" in notes


def test_with_the_exchange_schema_aliases_and_target_addresses_are_looked_up(ad_exchange: Ou, ldap_env):
    user = ad_exchange.user("gina", upn=f"gina.{ad_exchange.tag}@example.test", mailNickname=f"gina{ad_exchange.tag}")
    contact = ad_exchange.contact("ext", targetAddress=f"SMTP:ext.{ad_exchange.tag}@fabrikam.test")
    src = source(ad_exchange.url)
    found = by_dn(src.lookup([alias_key(f"GINA{ad_exchange.tag}"), f"proxy:smtp:ext.{ad_exchange.tag}@fabrikam.test"], []))
    assert set(found) == {user, contact}
    assert found[user].get("mailNickname") == f"gina{ad_exchange.tag}"
    assert found[contact].get("targetAddress") == f"SMTP:ext.{ad_exchange.tag}@fabrikam.test"
    assert src.report_notes(frozenset({"ad"})) == []


# --- Global Catalog -----------------------------------------------------------------------------------------


def test_the_global_catalog_reads_the_forest_and_the_dc_port_supplies_what_it_lacks(ad: Ou, ldap_env):
    dn = ad.user("hank", upn=f"hank.{ad.tag}@example.test", proxies=[f"SMTP:hank.{ad.tag}@example.test"])
    anchor = str(uuid.uuid4())
    ad.set_consistency_guid(dn, anchor)
    src = source(ad.gc_url)
    (hank,) = src.lookup([upn_key(f"hank.{ad.tag}@example.test")], [])
    # Samba's schema, like Windows', leaves proxyAddresses and mS-DS-ConsistencyGuid out of the GC.
    assert hank.get("proxyAddresses") == (f"SMTP:hank.{ad.tag}@example.test",)
    assert (hank.get("sourceAnchor"), hank.get("sourceAnchorAttribute")) == (
        guid_to_immutable_id(anchor), "mS-DS-ConsistencyGuid",
    )  # fmt: skip
    (by_proxy,) = src.lookup([smtp_key(f"hank.{ad.tag}@example.test")], [])
    assert by_proxy.id == hank.id
    assert "not in the Global Catalog" in " ".join(src.notes)


def test_the_global_catalog_alone_falls_back_to_objectguid_and_says_so(ad: Ou, ldap_env, monkeypatch):
    monkeypatch.setenv("DUPFIX_LDAP_DC_URL", "none")
    dn = ad.user("ivy", upn=f"ivy.{ad.tag}@example.test")
    ad.set_consistency_guid(dn, str(uuid.uuid4()))
    src = source(ad.gc_url)
    (ivy,) = src.lookup([upn_key(f"ivy.{ad.tag}@example.test")], [])
    assert ivy.get("sourceAnchorAttribute") == "objectGUID" and ivy.get("sourceAnchorFallback") is True
    assert ivy.get("sourceAnchor") == guid_to_immutable_id(ivy.id)
    notes = " ".join(src.notes)
    assert "source anchors fall back to objectGUID" in notes
    assert "proxyAddresses is not in the Global Catalog" in notes


def test_a_global_catalog_whose_dc_port_is_unreachable_is_exit_3(ad: Ou, ldap_env, monkeypatch):
    monkeypatch.setenv("DUPFIX_LDAP_DC_URL", f"ldap://127.0.0.1:{closed_port()}")
    with pytest.raises(StateUnavailableError) as err:
        source(ad.gc_url).lookup([upn_key(f"x.{ad.tag}@example.test")], [])
    assert "DUPFIX_LDAP_DC_URL=none" in str(err.value)


def test_the_exchange_global_catalog_carries_proxy_addresses_itself(ad_exchange: Ou, ldap_env):
    ad_exchange.contact("jo", proxies=[f"smtp:jo.{ad_exchange.tag}@example.test"])
    src = source(ad_exchange.gc_url)
    assert len(src.lookup([smtp_key(f"jo.{ad_exchange.tag}@example.test")], [])) == 1
    assert "proxyAddresses" not in " ".join(src.notes)  # only the anchor and the critical flag from the DC


# --- TLS -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "port", "starttls"), [("ldaps", 636, ""), ("ldap", 389, "1"), ("ldaps", 3269, "")])
def test_tls_with_the_ca_that_signed_the_dc(ad: Ou, ldap_env, monkeypatch, scheme, port, starttls):
    monkeypatch.setenv("DUPFIX_LDAP_CA_FILE", ad.server.ca_file)
    monkeypatch.setenv("DUPFIX_LDAP_STARTTLS", starttls)
    dn = ad.user("kim", upn=f"kim.{ad.tag}@example.test")
    base = "" if port == 3269 else ad.dn
    found = source(f"{scheme}://{ad.server.host}:{port}/{base}").lookup([upn_key(f"kim.{ad.tag}@example.test")], [])
    assert [o.get("distinguishedName") for o in found] == [dn]


def test_tls_against_an_untrusted_certificate_is_exit_3(samba: Samba, ldap_env):
    src = source(f"ldaps://{samba.plain.host}:636/")  # the test CA is not in the system trust store
    with pytest.raises(StateUnavailableError) as err:
        src.lookup([upn_key("anyone@example.test")], [])
    assert "TLS failed" in str(err.value) and "DUPFIX_LDAP_CA_FILE" in str(err.value)
