"""Who keeps a contested value, why, and which change takes it off the others
(dupfix_policy/audit/resolutions.py). Suggestions only: nothing here touches a directory."""

from __future__ import annotations

from dupfix_policy.addresses import guid_to_immutable_id
from dupfix_policy.audit.conflicts import find_conflicts
from dupfix_policy.audit.resolutions import all_actions, resolve
from dupfix_policy.model import Target
from dupfix_policy.testing import ad_user, entra_obj, entra_user, synced_pair


def resolution_of(objects, code: str, covered=("entra", "ad")):
    conflict = next(c for c in find_conflicts(objects, covered=covered) if c.code == code)
    return resolve(conflict, covered)


def removal(resolution) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(a.directory, a.target.attribute, a.target.value, a.remove[0][1]) for a in resolution.actions]


def test_the_holder_entra_already_quarantined_drops_the_value_at_its_on_prem_source():
    ad, dana = synced_pair(
        "dana@contoso.com", proxyAddresses=("SMTP:dana@contoso.com", "smtp:support@contoso.com")
    )
    dana = entra_user("dana@contoso.com", id=dana.id, onPremisesImmutableId=dana.get("onPremisesImmutableId"),
                      proxyAddresses=("SMTP:dana@contoso.com",),
                      quarantined=[("ProxyAddress", "smtp:support@contoso.com")])  # fmt: skip
    support = entra_obj(
        "group", "support", displayName="Support", proxyAddresses=("SMTP:support@contoso.com",)
    )
    r = resolution_of([ad, dana, support], "DUP002")
    assert removal(r) == [("ad", "objectGUID", ad.id, ("smtp:support@contoso.com",))]
    assert r.keeps == "group Support" and "quarantined" in r.reason


def test_a_cloud_only_object_yields_to_a_synced_one():
    ad, nora = synced_pair(
        "nora@contoso.com", proxyAddresses=("SMTP:nora@contoso.com", "smtp:events@contoso.com")
    )
    owen = entra_user("owen@contoso.com", proxyAddresses=("SMTP:owen@contoso.com", "smtp:events@contoso.com"))
    r = resolution_of([ad, nora, owen], "DUP002")
    assert removal(r) == [("entra", "id", owen.id, ("smtp:events@contoso.com",))]
    assert "cloud-only" in r.reason


def test_an_on_prem_object_not_yet_synced_yields_before_it_syncs():
    ad, rhea = synced_pair(
        "rhea@contoso.com", proxyAddresses=("SMTP:rhea@contoso.com", "smtp:reception@contoso.com")
    )
    ivy = ad_user("ivy@contoso.com", proxyAddresses=("SMTP:ivy@contoso.com", "smtp:reception@contoso.com"),
                  dn="CN=Ivy Temp,OU=Contractors,DC=contoso,DC=com")  # fmt: skip
    r = resolution_of([ad, rhea, ivy], "DUP002")
    assert removal(r) == [("ad", "objectGUID", ivy.id, ("smtp:reception@contoso.com",))]
    assert r.actions[0].dn == "CN=Ivy Temp,OU=Contractors,DC=contoso,DC=com"


def test_a_secondary_address_yields_to_the_same_address_used_as_primary():
    wes = entra_user("wes@contoso.com", proxyAddresses=("SMTP:wes@contoso.com", "smtp:billing@contoso.com"))
    billing = entra_obj(
        "group", "billing", displayName="Billing", proxyAddresses=("SMTP:billing@contoso.com",)
    )
    r = resolution_of([wes, billing], "DUP002")
    assert removal(r) == [("entra", "id", wes.id, ("smtp:billing@contoso.com",))]
    assert "secondary" in r.reason


def test_the_newer_object_yields_when_every_holder_has_a_creation_date():
    xena = entra_user("xena@contoso.com", createdDateTime="2024-03-01T09:00:00Z",
                      proxyAddresses=("SMTP:xena@contoso.com", "smtp:travel@contoso.com"))  # fmt: skip
    yuri = entra_user("yuri@contoso.com", createdDateTime="2026-09-15T09:00:00Z",
                      proxyAddresses=("SMTP:yuri@contoso.com", "smtp:travel@contoso.com"))  # fmt: skip
    r = resolution_of([xena, yuri], "DUP002")
    assert removal(r) == [("entra", "id", yuri.id, ("smtp:travel@contoso.com",))]
    assert "newer" in r.reason


def test_holders_on_an_equal_footing_need_a_decision_and_get_no_change():
    a = entra_user("a@contoso.com", proxyAddresses=("SMTP:a@contoso.com", "smtp:shared@contoso.com"))
    b = entra_user("b@contoso.com", proxyAddresses=("SMTP:b@contoso.com", "smtp:shared@contoso.com"))
    r = resolution_of([a, b], "DUP002")
    assert r.needs_decision and r.actions == ()
    assert r.text.startswith("Needs a decision:")


def test_a_loser_that_uses_the_value_as_its_primary_address_needs_a_new_one_chosen_by_a_person():
    ad, nora = synced_pair(
        "nora@contoso.com", proxyAddresses=("SMTP:nora@contoso.com", "smtp:info@contoso.com")
    )
    info = entra_obj("group", "info", displayName="Info", proxyAddresses=("SMTP:info@contoso.com",))
    r = resolution_of([ad, nora, info], "DUP002")  # the cloud-only group yields, but it is its primary
    assert r.needs_decision and r.actions == ()
    assert "primary SMTP address" in r.reason


def test_a_duplicate_upn_names_who_should_be_renamed_but_changes_nothing():
    cloud = entra_user("maya@contoso.com", proxyAddresses=("SMTP:maya@contoso.com",))
    ad, synced = synced_pair("maya.s@contoso.com")
    synced = entra_user("maya.s@contoso.com", id=synced.id, onPremisesImmutableId=synced.get("onPremisesImmutableId"),
                        quarantined=[("UserPrincipalName", "maya@contoso.com")])  # fmt: skip
    r = resolution_of([cloud, ad, synced], "DUP001")
    assert r.needs_decision and r.actions == ()
    assert r.keeps == "user maya@contoso.com"


def test_a_soft_deleted_holder_next_to_an_active_one_is_purged():
    gone = entra_obj("group", "old projects", state="soft-deleted", displayName="Old Projects",
                     proxyAddresses=("SMTP:projects@contoso.com",))  # fmt: skip
    new = entra_obj(
        "group", "projects 2027", proxyAddresses=("SMTP:p27@contoso.com", "smtp:projects@contoso.com")
    )
    r = resolution_of([gone, new], "DUP004")
    assert [(a.op, a.target, a.purge) for a in r.actions] == [("delete", Target("id", gone.id), True)]


def test_soft_deleted_holders_alone_need_a_decision_on_which_may_come_back():
    a = entra_obj("group", "old a", state="soft-deleted", proxyAddresses=("SMTP:projects@contoso.com",))
    b = entra_obj("group", "old b", state="soft-deleted", proxyAddresses=("smtp:projects@contoso.com",))
    r = resolution_of([a, b], "DUP004")
    assert r.needs_decision and r.actions == ()


def test_an_entra_object_deleted_while_its_ad_account_is_active_is_restored_after_the_other_lets_go():
    ad, sven = synced_pair("sven@contoso.com", proxyAddresses=("SMTP:sven@contoso.com",))
    sven = entra_user(sven.id.replace("-", "") + "sven@contoso.com", id=sven.id, state="soft-deleted",
                      onPremisesImmutableId=sven.get("onPremisesImmutableId"),
                      proxyAddresses=("SMTP:sven@contoso.com",))  # fmt: skip
    temp = entra_user(
        "sven.temp@contoso.com", proxyAddresses=("SMTP:sven.temp@contoso.com", "smtp:sven@contoso.com")
    )
    r = resolution_of([ad, sven, temp], "DUP002")
    assert [(a.op, a.target.value) for a in all_actions([r])] == [("update", temp.id), ("restore", sven.id)]


def test_a_synced_object_is_edited_in_ad_by_its_anchor_when_no_source_covers_ad():
    guid = "6f0c0c3e-9f83-4f63-8c1e-1b8b0e4b1a11"
    nora = entra_user("nora@contoso.com", onPremisesImmutableId=guid_to_immutable_id(guid),
                      proxyAddresses=("SMTP:nora@contoso.com",), quarantined=[("ProxyAddress", "events@contoso.com")])  # fmt: skip
    owen = entra_obj("group", "events", proxyAddresses=("SMTP:events@contoso.com",))
    r = resolution_of([nora, owen], "DUP002", covered=("entra",))
    assert removal(r) == [("ad", "objectGUID", guid, ("smtp:events@contoso.com",))]
    assert r.actions[0].dn is None


def test_updates_of_one_object_from_several_conflicts_become_one_change():
    wes = entra_user("wes@contoso.com",
                     proxyAddresses=("SMTP:wes@contoso.com", "smtp:billing@contoso.com", "smtp:sales@contoso.com"))  # fmt: skip
    billing = entra_obj("group", "billing", proxyAddresses=("SMTP:billing@contoso.com",))
    sales = entra_obj("group", "sales", proxyAddresses=("SMTP:sales@contoso.com",))
    resolutions = [resolve(c) for c in find_conflicts([wes, billing, sales])]
    (action,) = all_actions(resolutions)
    assert action.remove == (("proxyAddresses", ("smtp:billing@contoso.com", "smtp:sales@contoso.com")),)
