"""What counts as a duplicate (docs/semantics.md)."""

from __future__ import annotations

from dupfix_policy.testing import (
    MemorySource,
    StubPolicy,
    ad_user,
    change,
    codes,
    entra_obj,
    entra_user,
    only,
    run,
    synced_pair,
)

ALICE = entra_user(
    "alice@contoso.com",
    mail="alice@contoso.com",
    mailNickname="alice",
    proxyAddresses=("SMTP:alice@contoso.com", "smtp:a.smith@contoso.com", "SIP:alice@contoso.com"),
)
SALES = entra_obj(
    "group",
    "sales",
    mail="sales@contoso.com",
    mailEnabled=True,
    mailNickname="sales",
    proxyAddresses=("SMTP:sales@contoso.com",),
    displayName="Sales",
)


def test_new_user_with_taken_upn_is_dup001_naming_the_holder():
    report = run([change("create", set={"userPrincipalName": "alice@contoso.com"})], [ALICE])
    f = only(report, "DUP001")
    assert f.severity == "error"
    assert f.finding.holders[0].name == "alice@contoso.com"
    assert f.finding.holders[0].objects[0].id == ALICE.id
    assert "already held by user alice@contoso.com (Entra ID)" in f.finding.message


def test_upn_differing_only_in_case_is_the_same_upn():
    report = run([change("create", set={"userPrincipalName": "ALICE@Contoso.com"})], [ALICE])
    assert codes(report) == ["DUP001"]
    assert only(report, "DUP001").finding.value == "ALICE@Contoso.com"
    assert only(report, "DUP001").finding.key == "upn:alice@contoso.com"


def test_secondary_smtp_equal_to_anothers_primary_SMTP_is_dup002():
    report = run(
        [
            change(
                "create",
                set={
                    "userPrincipalName": "al@contoso.com",
                    "proxyAddresses": ["SMTP:al@contoso.com", "smtp:A.Smith@contoso.com"],
                },
            )
        ],
        [ALICE],
    )
    f = only(report, "DUP002")
    assert f.finding.value == "smtp:A.Smith@contoso.com"
    assert f.finding.key == "proxy:smtp:a.smith@contoso.com"


def test_sip_address_taken_is_dup002():
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "bob@contoso.com", "proxyAddresses": ["sip:Alice@contoso.com"]},
            )
        ],
        [ALICE],
    )
    assert only(report, "DUP002").finding.key == "proxy:sip:alice@contoso.com"


def test_x500_address_taken_is_dup002():
    legacy = "X500:/o=Contoso/ou=Exchange/cn=Recipients/cn=alice"
    holder = entra_user("old@contoso.com", proxyAddresses=(legacy,))
    report = run(
        [
            change(
                "create",
                set={
                    "userPrincipalName": "bob@contoso.com",
                    "proxyAddresses": ["x500:/o=contoso/ou=exchange/cn=recipients/cn=ALICE"],
                },
            )
        ],
        [holder],
    )
    assert codes(report) == ["DUP002"]


def test_sip_and_smtp_of_the_same_address_are_different_values():
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "bob@contoso.com", "proxyAddresses": ["SIP:sales@contoso.com"]},
            )
        ],
        [SALES],
    )
    assert codes(report) == []


def test_mail_equal_to_anothers_proxy_address_is_dup002():
    report = run(
        [change("create", set={"userPrincipalName": "bob@contoso.com", "mail": "sales@contoso.com"})], [SALES]
    )
    f = only(report, "DUP002")
    assert f.finding.attribute == "mail"
    assert f.finding.holders[0].kind == "group"


def test_upn_equal_to_anothers_smtp_address_is_dup003():
    report = run([change("create", set={"userPrincipalName": "sales@contoso.com"})], [SALES])
    f = only(report, "DUP003")
    assert "smtp: address of group Sales" in f.finding.message


def test_smtp_address_equal_to_another_users_upn_only_is_dup003():
    bare = entra_user("carol@contoso.com")  # UPN only, no mail or proxies
    report = run(
        [
            change(
                "create",
                "contact",
                set={"displayName": "Carol ext", "proxyAddresses": ["SMTP:carol@contoso.com"]},
            )
        ],
        [bare],
    )
    assert codes(report) == ["DUP003"]


def test_smtp_address_held_as_smtp_and_upn_is_reported_as_the_direct_dup002():
    report = run(
        [change("create", "contact", set={"displayName": "A", "proxyAddresses": ["SMTP:alice@contoso.com"]})],
        [ALICE],
    )
    assert codes(report) == ["DUP002"]


def test_target_address_taken_by_another_contact_is_dup002():
    contact = entra_obj("contact", "ext", targetAddress="SMTP:partner@fabrikam.com", displayName="Partner")
    report = run(
        [
            change(
                "create",
                "contact",
                set={"displayName": "Partner 2", "targetAddress": "smtp:Partner@fabrikam.com"},
            )
        ],
        [contact],
    )
    f = only(report, "DUP002")
    assert f.finding.attribute == "targetAddress"


def test_soft_deleted_user_still_holds_smtp_alice_at_contoso():
    deleted = entra_user(
        "0c1e0000000000000000000000000001alice@contoso.com",
        id="0c1e0000-0000-0000-0000-000000000001",
        state="soft-deleted",
        proxyAddresses=("SMTP:alice@contoso.com",),
    )
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "alice2@contoso.com", "proxyAddresses": ["SMTP:alice@contoso.com"]},
            )
        ],
        [deleted],
    )
    f = only(report, "DUP004")
    assert f.severity == "error"
    assert f.finding.holders[0].state == "soft-deleted"
    assert f.finding.holders[0].name == "alice@contoso.com"  # the original UPN, not Entra's rewritten one


def test_soft_deleted_user_frees_its_upn():
    deleted = entra_user(
        "0c1e0000000000000000000000000001alice@contoso.com",
        id="0c1e0000-0000-0000-0000-000000000001",
        state="soft-deleted",
    )
    report = run([change("create", set={"userPrincipalName": "alice@contoso.com"})], [deleted])
    assert codes(report) == []


def test_key_held_by_an_active_and_a_soft_deleted_object_gives_both_findings():
    deleted = entra_user(
        "0c1eold@contoso.com", id="0c1e", state="soft-deleted", proxyAddresses=("smtp:sales@contoso.com",)
    )
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "bob@contoso.com", "proxyAddresses": ["SMTP:sales@contoso.com"]},
            )
        ],
        [SALES, deleted],
    )
    assert {"DUP002", "DUP004"} <= set(codes(report))


def test_quarantined_value_blocks_others_and_says_so():
    holder = entra_user(
        "dana@contoso.com",
        proxyAddresses=("SMTP:dana@contoso.com",),
        quarantined=[("ProxyAddress", "smtp:support@contoso.com")],
    )
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "erin@contoso.com", "proxyAddresses": ["SMTP:support@contoso.com"]},
            )
        ],
        [holder],
    )
    f = only(report, "DUP002")
    assert f.finding.holders[0].via == "quarantine"
    assert "quarantine" in f.finding.message


def test_quarantined_bare_upn_value_counts_as_the_upn():
    holder = entra_user(
        "frank1234@contoso.onmicrosoft.com", quarantined=[("UserPrincipalName", "frank@contoso.com")]
    )
    report = run([change("create", set={"userPrincipalName": "frank@contoso.com"})], [holder])
    assert codes(report) == ["DUP001"]


def test_synced_user_updated_on_prem_is_not_a_duplicate_of_its_entra_twin_linked_by_guid():
    ad, cloud = synced_pair("gina@contoso.com", link="guid", proxyAddresses=("SMTP:gina@contoso.com",))
    report = run(
        [
            change(
                "update",
                directory="ad",
                target={"distinguishedName": ad.get("distinguishedName")},
                add={"proxyAddresses": ["smtp:g.lopez@contoso.com"]},
                set={"mail": "gina@contoso.com"},
            )
        ],
        [ad, cloud],
        dirs=("entra", "ad"),
    )
    assert codes(report) == []


def test_synced_user_twin_linked_by_sid_is_one_identity():
    ad, cloud = synced_pair("hank@contoso.com", link="sid", proxyAddresses=("SMTP:hank@contoso.com",))
    report = run(
        [
            change(
                "update",
                directory="ad",
                target={"objectGUID": ad.id},
                set={"userPrincipalName": "Hank@contoso.com"},
            )
        ],
        [ad, cloud],
        dirs=("entra", "ad"),
    )
    assert codes(report) == []


def test_twins_appear_as_one_holder_listing_both_objects():
    ad, cloud = synced_pair("ivy@contoso.com", proxyAddresses=("SMTP:ivy@contoso.com",))
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "ivy2@contoso.com", "proxyAddresses": ["SMTP:ivy@contoso.com"]},
            )
        ],
        [ad, cloud],
        dirs=("entra", "ad"),
    )
    f = only(report, "DUP002")
    assert len(f.finding.holders) == 1
    assert {o.directory for o in f.finding.holders[0].objects} == {"entra", "ad"}
    assert "(Entra ID and on-prem AD)" in f.finding.message


def test_two_ad_objects_with_one_proxy_address_is_dup002():
    # AD enforces unique UPNs, not unique proxyAddresses: this is the gap sync trips over.
    existing = ad_user("jack@contoso.com", proxyAddresses=("SMTP:jack@contoso.com",))
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "jack.b@contoso.com",
                    "distinguishedName": "CN=Jack B,OU=Staff,DC=contoso,DC=com",
                    "proxyAddresses": ["smtp:jack@contoso.com"],
                },
            )
        ],
        [existing],
        dirs=("ad",),
    )
    assert codes(report) == ["DUP002"]


def test_non_ascii_addresses_fold_case():
    holder = entra_user("elodie@contoso.com", proxyAddresses=("SMTP:élodie@contoso.com",))
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "e2@contoso.com", "proxyAddresses": ["smtp:ÉLODIE@contoso.com"]},
            )
        ],
        [holder],
    )
    assert codes(report) == ["DUP002"]


def test_duplicate_anchor_on_another_entra_object_is_dup008():
    holder = entra_user("kim@contoso.com", onPremisesImmutableId="AAECAwQFBgcICQoLDA0ODw==")
    report = run(
        [
            change(
                "create",
                set={
                    "userPrincipalName": "kim2@contoso.com",
                    "onPremisesImmutableId": "AAECAwQFBgcICQoLDA0ODw==",
                },
            )
        ],
        [holder],
    )
    assert codes(report) == ["DUP008"]


def test_anchor_case_matters_because_it_is_base64():
    holder = entra_user("kim@contoso.com", onPremisesImmutableId="AAECAwQFBgcICQoLDA0ODw==")
    report = run(
        [
            change(
                "create",
                set={
                    "userPrincipalName": "kim2@contoso.com",
                    "onPremisesImmutableId": "aaecawqfbgcicqolda0odw==",
                },
            )
        ],
        [holder],
    )
    assert "DUP008" not in codes(report)


def test_mail_enabled_group_alias_taken_is_dup010():
    report = run(
        [
            change(
                "create",
                "group",
                set={
                    "displayName": "Sales EU",
                    "mailEnabled": True,
                    "mailNickname": "Sales",
                    "proxyAddresses": ["SMTP:sales-eu@contoso.com"],
                },
            )
        ],
        [SALES],
    )
    assert codes(report) == ["DUP010"]


def test_security_group_alias_is_not_judged():
    report = run(
        [
            change(
                "create",
                "group",
                set={"displayName": "Sales sec", "mailEnabled": False, "mailNickname": "sales"},
            )
        ],
        [SALES],
    )
    assert codes(report) == []


def test_user_alias_taken_by_another_user_is_dup013_warning():
    report = run(
        [change("create", set={"userPrincipalName": "alice.b@contoso.com", "mailNickname": "alice"})], [ALICE]
    )
    f = only(report, "DUP013")
    assert f.severity == "warning"


def test_user_alias_equal_to_a_groups_alias_is_not_a_user_alias_duplicate():
    report = run(
        [change("create", set={"userPrincipalName": "s@contoso.com", "mailNickname": "sales"})], [SALES]
    )
    assert "DUP013" not in codes(report) and "DUP010" not in codes(report)


def test_samaccountname_taken_in_the_same_ad_domain_is_dup014():
    existing = ad_user("lee@contoso.com", sAMAccountName="lee")
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "lee2@contoso.com",
                    "sAMAccountName": "LEE",
                    "distinguishedName": "CN=Lee Two,OU=New,DC=contoso,DC=com",
                },
            )
        ],
        [existing],
        dirs=("ad",),
    )
    assert codes(report) == ["DUP014"]


def test_samaccountname_in_another_domain_is_free():
    existing = ad_user("lee@contoso.com", sAMAccountName="lee")
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "lee@emea.contoso.com",
                    "sAMAccountName": "lee",
                    "distinguishedName": "CN=Lee,OU=New,DC=emea,DC=contoso,DC=com",
                },
            )
        ],
        [existing],
        dirs=("ad",),
    )
    assert "DUP014" not in codes(report)


def test_policy_severity_off_silences_a_rule():
    report = run(
        [change("create", set={"userPrincipalName": "alice@contoso.com"})],
        [ALICE],
        policy=StubPolicy(severities={"DUP001": "off"}),
    )
    assert codes(report) == []


def test_engine_asks_sources_only_for_what_the_plan_touches():
    source = MemorySource([ALICE, SALES])
    run([change("create", set={"userPrincipalName": "zed@contoso.com"})], sources=[source])
    asked = {k for keys, _ in source.lookups for k in keys}
    assert "upn:zed@contoso.com" in asked
    assert not any("alice" in k or "sales" in k for k in asked)
