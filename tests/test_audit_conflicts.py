"""What the audit calls a conflict: the check's claim keys, identities and rule order, applied to
values nobody is changing (dupfix_policy/audit/conflicts.py)."""

from __future__ import annotations

from dupfix_policy.audit.conflicts import find_conflicts
from dupfix_policy.testing import ad_user, change, entra_obj, entra_user, run, synced_pair


def found(objects, **kw) -> list[tuple[str, str, list[str]]]:
    return [
        (c.code, c.key, sorted(h.identity.name for h in c.holders)) for c in find_conflicts(objects, **kw)
    ]


def test_a_secondary_address_two_users_hold_is_a_duplicate_proxy_address():
    objects = [
        entra_user("ann@contoso.com", proxyAddresses=("SMTP:ann@contoso.com", "smtp:events@contoso.com")),
        entra_user("ben@contoso.com", proxyAddresses=("SMTP:ben@contoso.com", "SMTP:Events@Contoso.com")),
    ]
    assert found(objects) == [
        ("DUP002", "proxy:smtp:events@contoso.com", ["ann@contoso.com", "ben@contoso.com"])
    ]


def test_a_synced_user_and_its_ad_twin_are_one_holder_not_a_conflict():
    ad, entra = synced_pair(
        "carl@contoso.com", proxyAddresses=("SMTP:carl@contoso.com",), mail="carl@contoso.com"
    )
    assert found([ad, entra]) == []


def test_twins_count_once_beside_another_holder():
    ad, entra = synced_pair(
        "dora@contoso.com", proxyAddresses=("SMTP:dora@contoso.com", "smtp:desk@contoso.com")
    )
    other = entra_user("eve@contoso.com", proxyAddresses=("SMTP:eve@contoso.com", "smtp:desk@contoso.com"))
    (conflict,) = find_conflicts([ad, entra, other])
    assert [len(h.refs) for h in conflict.holders] == [2, 1]
    assert conflict.holder_ids == tuple(sorted([f"ad:{ad.id}", f"entra:{entra.id}", f"entra:{other.id}"]))


def test_a_upn_another_object_has_only_as_smtp_address_is_a_upn_proxy_collision():
    objects = [
        entra_user("desk@contoso.com", mail="zara@contoso.com", proxyAddresses=("SMTP:zara@contoso.com",)),
        entra_obj("group", "service desk", displayName="Service Desk",
                  proxyAddresses=("SMTP:servicedesk@contoso.com", "smtp:desk@contoso.com")),
    ]  # fmt: skip
    assert [(c, k) for c, k, _ in found(objects)] == [("DUP003", "upn:desk@contoso.com")]


def test_a_upn_that_is_also_the_other_holders_address_is_reported_once_as_the_direct_duplicate():
    # Fay's UPN is her own SMTP address too: the group holding smtp:fay@ collides with both, and
    # "already held as a proxy address" says it (docs/semantics.md, departure 1).
    objects = [
        entra_user("fay@contoso.com", proxyAddresses=("SMTP:fay@contoso.com",)),
        entra_obj("group", "fay's team", displayName="Fay's team", proxyAddresses=("SMTP:team@contoso.com",
                  "smtp:fay@contoso.com")),
    ]  # fmt: skip
    assert [c for c, _, _ in found(objects)] == ["DUP002"]


def test_an_address_still_held_by_a_soft_deleted_user_is_a_soft_deleted_holder_conflict():
    gone = entra_user("00aa11bb22cc33dd44ee55ff66778899olivia@contoso.com", id="00aa11bb-22cc-33dd-44ee-55ff66778899",
                      state="soft-deleted", proxyAddresses=("SMTP:olivia@contoso.com",))  # fmt: skip
    group = entra_obj("group", "orders", displayName="Orders", proxyAddresses=("SMTP:olivia@contoso.com",))
    assert [(c, k) for c, k, _ in found([gone, group])] == [("DUP004", "proxy:smtp:olivia@contoso.com")]


def test_two_soft_deleted_holders_conflict_for_the_restore():
    a = entra_obj("group", "old a", state="soft-deleted", proxyAddresses=("SMTP:projects@contoso.com",))
    b = entra_obj("group", "old b", state="soft-deleted", proxyAddresses=("smtp:projects@contoso.com",))
    assert [c for c, _, _ in found([a, b])] == ["DUP004"]


def test_a_user_alias_twice_is_a_user_alias_duplicate_and_a_user_and_group_sharing_one_is_not():
    objects = [
        entra_user("theo@contoso.com", mailNickname="theo"),
        entra_user("theo.b@contoso.com", mailNickname="Theo"),
        entra_obj("group", "theo", mailEnabled=True, mailNickname="theo"),
    ]
    assert [(c, k) for c, k, _ in found(objects)] == [("DUP013", "alias:theo")]


def test_two_mail_enabled_groups_with_one_alias_are_a_group_alias_duplicate():
    objects = [
        entra_obj("group", "a", mailEnabled=True, mailNickname="events"),
        entra_obj("group", "b", groupTypes=("Unified",), mailNickname="events"),
        entra_obj("group", "c", mailEnabled=False, mailNickname="events"),  # security group: no alias claim
    ]
    (conflict,) = find_conflicts(objects)
    assert (conflict.code, len(conflict.holders)) == ("DUP010", 2)


def test_two_ad_accounts_with_one_samaccountname_in_a_domain_are_a_duplicate():
    objects = [
        ad_user("a1@contoso.com", sAMAccountName="jdoe"),
        ad_user("a2@contoso.com", sAMAccountName="JDoe"),
    ]
    assert [(c, k) for c, k, _ in found(objects)] == [("DUP014", "sam:contoso.com\\jdoe")]


def test_two_entra_users_with_one_stale_anchor_are_a_duplicate_anchor():
    anchor = "m3boMWV8WF+duMvVhUBjMQ=="
    objects = [entra_user("uma@contoso.com", onPremisesImmutableId=anchor),
               entra_user("uma.old@contoso.com", onPremisesImmutableId=anchor)]  # fmt: skip
    assert [(c, k) for c, k, _ in found(objects)] == [("DUP008", f"anchor:{anchor}")]


def test_two_entra_users_carrying_one_ad_objects_anchor_are_two_holders_of_it():
    ad, entra = synced_pair("kim@contoso.com")
    copy = entra_user("kim.copy@contoso.com", onPremisesImmutableId=entra.get("onPremisesImmutableId"))
    (conflict,) = find_conflicts([ad, entra, copy])
    assert conflict.code == "DUP008"
    assert sorted(r.id for h in conflict.holders for r in h.refs) == sorted([entra.id, copy.id])


def test_an_ad_only_and_a_cloud_only_user_sharing_the_upn_will_soft_match():
    cloud = entra_user("mira@contoso.com", mail="mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    onprem = ad_user("mira@contoso.com", mail="mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    assert [c for c, _, _ in found([cloud, onprem])] == ["DUP011"]


def test_with_soft_match_blocked_the_same_pair_is_an_ordinary_duplicate():
    cloud = entra_user("mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    onprem = ad_user("mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    assert sorted(c for c, _, _ in found([cloud, onprem], soft_match=False)) == ["DUP001", "DUP002"]


def test_soft_match_needs_both_directories_read():
    cloud = entra_user("mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    onprem = ad_user("mira@contoso.com", proxyAddresses=("SMTP:mira@contoso.com",))
    assert "DUP011" not in [c for c, _, _ in found([cloud, onprem], covered=("ad",))]


def test_every_quarantined_value_is_reported_with_its_object_first_and_who_else_holds_it():
    ad, dana = synced_pair(
        "dana@contoso.com", proxyAddresses=("SMTP:dana@contoso.com", "smtp:support@contoso.com")
    )
    dana = entra_user("dana@contoso.com", id=dana.id, onPremisesImmutableId=dana.get("onPremisesImmutableId"),
                      proxyAddresses=("SMTP:dana@contoso.com",),
                      quarantined=[("ProxyAddress", "smtp:support@contoso.com")])  # fmt: skip
    support = entra_obj(
        "group", "support", displayName="Support", proxyAddresses=("SMTP:support@contoso.com",)
    )
    lone = entra_user("lee@contoso.com", quarantined=[("ProxyAddress", "lee.old@contoso.com")])
    conflicts = {(c.code, c.key): c for c in find_conflicts([ad, dana, support, lone])}
    quarantined = conflicts[("DUP012", "proxy:smtp:support@contoso.com")]
    assert [h.identity.name for h in quarantined.holders] == ["dana@contoso.com", "Support"]
    assert quarantined.quarantine is not None and quarantined.quarantine.ref == dana.ref
    assert [h.identity.name for h in conflicts[("DUP012", "proxy:smtp:lee.old@contoso.com")].holders] == [
        "lee@contoso.com"
    ]
    assert ("DUP002", "proxy:smtp:support@contoso.com") in conflicts


def test_the_audit_and_the_check_agree_on_which_keys_are_already_in_conflict():
    """Each key the audit reports is one the check calls an existing conflict (DUP009) when a
    plan touches a holder, and the reverse: one definition of "duplicate" for both."""
    ad, entra = synced_pair(
        "dora@contoso.com", proxyAddresses=("SMTP:dora@contoso.com", "smtp:desk@contoso.com")
    )
    objects = [
        ad,
        entra,
        entra_user("eve@contoso.com", proxyAddresses=("SMTP:eve@contoso.com", "smtp:desk@contoso.com")),
        entra_user("theo@contoso.com", mailNickname="theo"),
        entra_user("theo.b@contoso.com", mailNickname="theo"),
        entra_obj("group", "orders", displayName="Orders", proxyAddresses=("SMTP:orders@contoso.com",)),
        entra_obj("group", "old", state="soft-deleted", proxyAddresses=("smtp:orders@contoso.com",)),
        entra_user("ann@contoso.com", proxyAddresses=("SMTP:ann@contoso.com", "smtp:fine@contoso.com")),
    ]
    audited = {c.key for c in find_conflicts(objects, covered=("entra", "ad"))}
    touches = [change("update", target={"id": o.id}, directory=o.directory, set={"displayName": "touched"})
               for o in objects if o.state == "active"]  # fmt: skip
    report = run(touches, objects, dirs=("entra", "ad"))
    existing = {r.finding.key for r in report.findings if r.finding.code == "DUP009"}
    assert (
        audited == existing == {"proxy:smtp:desk@contoso.com", "alias:theo", "proxy:smtp:orders@contoso.com"}
    )


def test_the_audit_compares_ad_upns_as_ad_does_mueller_with_and_without_umlaut():
    objects = [ad_user("müller@contoso.com"), ad_user("muller@contoso.com")]
    assert ("DUP001", "adupn:muller@contoso.com", ["muller@contoso.com", "müller@contoso.com"]) in found(objects)


def test_the_audit_finds_two_ad_objects_at_one_name():
    objects = [ad_user("a@contoso.com", dn="CN=Pat Lee,OU=Staff,DC=contoso,DC=com"),
               ad_user("b@contoso.com", dn="cn=pat lee,ou=staff,dc=contoso,dc=com")]  # fmt: skip
    assert [c[0] for c in found(objects)] == ["DUP015"]


def test_the_audit_judges_ad_objects_by_their_projection_reserved_addresses_never_collide():
    objects = [ad_user("a@contoso.com", proxyAddresses=("SMTP:a@contoso.com", "smtp:x@contoso.onmicrosoft.com")),
               ad_user("b@contoso.com", proxyAddresses=("SMTP:b@contoso.com", "smtp:x@contoso.onmicrosoft.com"))]  # fmt: skip
    assert found(objects) == []


def test_an_ad_consistency_guid_equal_to_another_ad_objects_anchor_is_dup008_in_the_audit():
    olga = ad_user("olga@contoso.com")
    taker = ad_user("max@contoso.com", **{"mS-DS-ConsistencyGuid": olga.id})
    assert [c[0] for c in found([olga, taker])] == ["DUP008"]
