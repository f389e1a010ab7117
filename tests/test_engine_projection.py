"""What the two directories will really hold (issue 11, docs/semantics.md "How values compare" and
"Entra Connect projection"): AD's own comparison for AD's unique values, the values Entra Connect
writes for AD objects, anchors both ways, mail-enabled groups, sync scope and what AD refuses."""

from __future__ import annotations

import uuid
from dataclasses import replace

from dupfix_policy.addresses import guid_to_immutable_id
from dupfix_policy.policy import load_policy
from dupfix_policy.testing import ad_user, change, codes, entra_obj, entra_user, only, run, synced_pair

BOTH = ("entra", "ad")
SYNCED_ELSEWHERE = guid_to_immutable_id("5b0c6d2e-0000-4000-8000-00000000e15e")  # a holder synced from another forest


def ad_create(**attrs):
    upn = attrs.get("userPrincipalName", "new@contoso.com")
    attrs.setdefault("distinguishedName", f"CN={upn.split('@')[0]},OU=New,DC=contoso,DC=com")
    return change("create", directory="ad", set=attrs)


def policy_with(**sync):
    return load_policy("default").with_sync(sync)


# --- AD's comparison ------------------------------------------------------------------------------


def test_ascii_upn_against_an_ad_holder_with_diacritics_is_refused_by_ad():
    holder = ad_user("müller@contoso.com")
    report = run([ad_create(userPrincipalName="muller@contoso.com")], [holder], dirs=("ad",))
    f = only(report, "DUP001")
    assert f.finding.key == "adupn:muller@contoso.com"
    assert "KB 938447" in f.finding.message and "müller@contoso.com" in f.finding.message


def test_upn_with_diacritics_against_an_ascii_ad_holder_is_refused_by_ad():
    holder = ad_user("jorg@contoso.com")
    report = run([ad_create(userPrincipalName="jörg@contoso.com")], [holder], dirs=("ad",))
    assert codes(report) == ["DUP001"]


def test_full_width_letters_are_the_same_upn_in_ad():
    holder = ad_user("alice@contoso.com")
    report = run([ad_create(userPrincipalName="ａｌｉｃｅ@contoso.com")], [holder], dirs=("ad",))
    assert only(report, "DUP001").finding.key == "adupn:alice@contoso.com"


def test_sharp_s_and_ss_are_one_samaccountname_in_ad():
    holder = ad_user("strasse@contoso.com", sAMAccountName="strasse")
    report = run([ad_create(userPrincipalName="s2@contoso.com", sAMAccountName="Straße")], [holder], dirs=("ad",))
    assert codes(report) == ["DUP014"]


def test_entra_keys_keep_entras_comparison_muller_and_mueller_with_umlaut_differ():
    holder = entra_user("müller@contoso.com")
    report = run([change("create", set={"userPrincipalName": "muller@contoso.com"})], [holder])
    assert "DUP001" not in codes(report)


def test_an_ad_object_at_the_same_name_in_the_same_container_is_dup015():
    holder = ad_user("jm@contoso.com", dn="CN=Jorg Muller,OU=Staff,DC=contoso,DC=com")
    planned = ad_create(userPrincipalName="jm2@contoso.com", distinguishedName="CN=Jörg Müller, OU=Staff,DC=contoso,DC=com")
    f = only(run([planned], [holder], dirs=("ad",)), "DUP015")
    assert f.severity == "error" and "jm@contoso.com" in f.finding.message


def test_the_same_name_in_another_container_is_free():
    holder = ad_user("jm@contoso.com", dn="CN=Jorg Muller,OU=Staff,DC=contoso,DC=com")
    planned = ad_create(userPrincipalName="jm2@contoso.com", distinguishedName="CN=Jorg Muller,OU=Sales,DC=contoso,DC=com")
    assert codes(run([planned], [holder], dirs=("ad",))) == []


def test_two_creates_at_one_dn_are_dup005():
    dn = "CN=Pat,OU=New,DC=contoso,DC=com"
    report = run([ad_create(userPrincipalName="p1@contoso.com", distinguishedName=dn),
                  ad_create(userPrincipalName="p2@contoso.com", distinguishedName=dn)], dirs=("ad",))  # fmt: skip
    assert codes(report) == ["DUP005", "DUP005"]


# --- Entra Connect projection ---------------------------------------------------------------------


def test_alias_of_an_ad_user_without_mail_nickname_is_its_primary_smtp_prefix():
    cloud = entra_user("bsmith@contoso.com", mailNickname="b.smith")
    planned = ad_create(userPrincipalName="bob@contoso.com", proxyAddresses=["SMTP:b.smith@contoso.com"])
    f = only(run([planned], [cloud], dirs=BOTH), "DUP013")
    assert f.finding.value == "b.smith" and f.finding.predicted


def test_no_alias_warning_on_a_upn_prefix_sync_would_not_use():
    cloud = entra_user("bob@fabrikam.com", mailNickname="bob")
    planned = ad_create(userPrincipalName="bob@contoso.com", proxyAddresses=["SMTP:robert@contoso.com"])
    assert "DUP013" not in codes(run([planned], [cloud], dirs=BOTH))


def test_moera_follows_the_projected_alias():
    cloud = entra_user("x@contoso.com", proxyAddresses=("SMTP:x@contoso.com", "smtp:b.smith@contoso.onmicrosoft.com"))
    planned = ad_create(userPrincipalName="bob@contoso.com", proxyAddresses=["SMTP:b.smith@contoso.com"])
    f = only(run([planned], [cloud], dirs=BOTH), "DUP007")
    assert "b.smith@contoso.onmicrosoft.com" in f.finding.message


def test_onmicrosoft_address_on_prem_is_discarded_by_sync_not_a_duplicate():
    cloud = entra_user("ann@contoso.com", proxyAddresses=("SMTP:ann@contoso.com", "smtp:ann@contoso.onmicrosoft.com"))
    planned = ad_create(userPrincipalName="ann2@contoso.com",
                        proxyAddresses=["SMTP:ann2@contoso.com", "smtp:ann@contoso.onmicrosoft.com"])  # fmt: skip
    assert "DUP002" not in codes(run([planned], [cloud], dirs=BOTH))


def test_legacy_x400_address_is_discarded_by_sync_not_a_duplicate():
    x400 = "X400:C=US;A= ;P=Contoso;O=Exchange;S=Doe;G=John;"
    holder = ad_user("john@contoso.com", proxyAddresses=("SMTP:john@contoso.com", x400))
    planned = ad_create(userPrincipalName="jd@contoso.com", proxyAddresses=["SMTP:jd@contoso.com", x400])
    assert "DUP002" not in codes(run([planned], [holder], dirs=BOTH))


def test_target_address_equal_to_another_objects_proxy_address_is_dup002():
    cloud = entra_user("kim@contoso.com", proxyAddresses=("SMTP:kim@contoso.com", "smtp:kim@fabrikam.com"))
    contact = change("create", "contact", directory="ad",
                     set={"displayName": "Kim ext", "targetAddress": "SMTP:kim@fabrikam.com",
                          "distinguishedName": "CN=Kim ext,OU=Contacts,DC=contoso,DC=com"})  # fmt: skip
    f = only(run([contact], [cloud], dirs=BOTH), "DUP002")
    assert f.finding.attribute == "targetAddress"


def test_target_address_equal_to_another_users_upn_is_a_collision():
    cloud = entra_user("lea@fabrikam.com")
    contact = change("create", "contact", directory="ad",
                     set={"displayName": "Lea", "targetAddress": "lea@fabrikam.com",
                          "distinguishedName": "CN=Lea,OU=Contacts,DC=contoso,DC=com"})  # fmt: skip
    assert codes(run([contact], [cloud], dirs=BOTH)) == ["DUP003"]


def test_a_remote_mailbox_routing_address_in_its_own_proxies_is_legal():
    planned = ad_create(
        userPrincipalName="mo@contoso.com",
        proxyAddresses=["SMTP:mo@contoso.com", "smtp:mo@contoso.mail.onmicrosoft.com"],
        targetAddress="SMTP:mo@contoso.mail.onmicrosoft.com",
    )
    assert codes(run([planned], [], dirs=BOTH)) == []


def test_a_nonroutable_upn_syncs_as_prefix_at_the_initial_domain():
    cloud = entra_user("billa@contoso.onmicrosoft.com", onPremisesImmutableId=SYNCED_ELSEWHERE)  # not soft-matchable
    planned = ad_create(userPrincipalName="billa@contoso.local")
    f = only(run([planned], [cloud], dirs=BOTH), "DUP001")
    assert f.finding.key == "upn:billa@contoso.onmicrosoft.com"
    assert "billa@contoso.local (in Entra ID: billa@contoso.onmicrosoft.com)" in f.finding.message


def test_alternate_login_id_makes_mail_the_entra_upn():
    cloud = entra_user("jane@contoso.com", onPremisesImmutableId=SYNCED_ELSEWHERE)
    planned = ad_create(userPrincipalName="jdoe@corp.contoso.com", mail="jane@contoso.com")
    report = run([planned], [cloud], dirs=BOTH, policy=policy_with(upnSource="mail"))
    assert only(report, "DUP001").finding.key == "upn:jane@contoso.com"


# --- anchors --------------------------------------------------------------------------------------


def test_a_consistency_guid_taking_another_ad_objects_anchor_is_dup008():
    other = ad_user("olga@contoso.com")
    mine = ad_user("max@contoso.com")
    update = change("update", directory="ad", target={"distinguishedName": mine.get("distinguishedName")},
                    set={"mS-DS-ConsistencyGuid": other.id})  # fmt: skip
    f = only(run([update], [other, mine], dirs=("ad",)), "DUP008")
    assert "olga@contoso.com" in f.finding.message


def test_hard_match_of_a_cloud_user_to_an_unsynced_ad_user_is_one_identity():
    ad = ad_user("nina@contoso.com", proxyAddresses=("SMTP:nina@contoso.com",))
    cloud = change("create", set={"userPrincipalName": "nina@contoso.com", "mail": "nina@contoso.com",
                                  "onPremisesImmutableId": guid_to_immutable_id(ad.id)})  # fmt: skip
    assert codes(run([cloud], [ad], dirs=BOTH)) == []


def test_hard_match_to_an_anchor_already_linked_elsewhere_is_dup008():
    ad, twin = synced_pair("omar@contoso.com")
    cloud = change("create", set={"userPrincipalName": "omar2@contoso.com",
                                  "onPremisesImmutableId": guid_to_immutable_id(ad.id)})  # fmt: skip
    assert "DUP008" in codes(run([cloud], [ad, twin], dirs=BOTH))


# --- mail-enabled groups --------------------------------------------------------------------------


def test_a_group_with_mail_and_no_mail_enabled_flag_is_mail_enabled():
    holder = entra_obj("group", "sales", mail="sales@contoso.com", mailNickname="sales", displayName="Sales")
    planned = ad_create(displayName="Sales 2", mail="sales2@contoso.com", mailNickname="sales",
                        distinguishedName="CN=Sales 2,OU=Groups,DC=contoso,DC=com")  # fmt: skip
    planned = replace(planned, kind="group")
    assert codes(run([planned], [holder], dirs=BOTH)) == ["DUP010"]


def test_a_group_with_mail_enabled_false_is_not_mail_enabled():
    holder = entra_obj("group", "sec", mailEnabled=False, mailNickname="sec", mail="sec@contoso.com")
    planned = change("create", "group", set={"displayName": "Sec 2", "mailEnabled": False, "mailNickname": "sec"})
    assert "DUP010" not in codes(run([planned], [holder]))


# --- sync scope -----------------------------------------------------------------------------------

SCOPED = {"scope": {"include": ["OU=Synced,DC=contoso,DC=com"]}}


def test_an_ad_object_outside_sync_scope_holds_nothing_in_entra():
    outside = ad_user("quinn@contoso.com", dn="CN=quinn,OU=Lab,DC=contoso,DC=com",
                      proxyAddresses=("SMTP:quinn@contoso.com",))  # fmt: skip
    cloud = change("create", set={"userPrincipalName": "quinn@contoso.com"})
    report = run([cloud], [outside], dirs=BOTH, policy=policy_with(**SCOPED))
    assert codes(report) == []


def test_moving_an_ad_user_into_scope_is_its_first_sync_and_soft_matches():
    outside = ad_user("rita@contoso.com", dn="CN=rita,OU=Lab,DC=contoso,DC=com", proxyAddresses=("SMTP:rita@contoso.com",))
    cloud = entra_user("rita@contoso.com", proxyAddresses=("SMTP:rita@contoso.com",))
    move = change("update", directory="ad", target={"distinguishedName": outside.get("distinguishedName")},
                  set={"distinguishedName": "CN=rita,OU=Synced,DC=contoso,DC=com"})  # fmt: skip
    report = run([move], [outside, cloud], dirs=BOTH, policy=policy_with(**SCOPED))
    assert codes(report) == ["DUP011"]


# --- order and names ------------------------------------------------------------------------------


def test_a_restore_before_the_change_that_frees_its_address_is_a_warning_naming_the_order():
    deleted = entra_user("sam@contoso.com", id=str(uuid.uuid4()), state="soft-deleted",
                         proxyAddresses=("SMTP:sam@contoso.com", "smtp:support@contoso.com"))  # fmt: skip
    holder = entra_user("tom@contoso.com", proxyAddresses=("SMTP:tom@contoso.com", "smtp:support@contoso.com"))
    restore = change("restore", target={"id": deleted.id})
    free = change("update", target={"userPrincipalName": "tom@contoso.com"},
                  remove={"proxyAddresses": ["smtp:support@contoso.com"]})  # fmt: skip
    f = only(run([restore, free], [deleted, holder]), "DUP006")
    assert "changes run in order" in f.finding.message and "tom@contoso.com" in f.finding.message


def test_holders_are_named_by_their_current_values_not_the_planned_ones():
    holder = entra_user("uma@contoso.com", proxyAddresses=("SMTP:uma@contoso.com", "smtp:team@contoso.com"))
    rename = change("update", target={"userPrincipalName": "uma@contoso.com"}, set={"userPrincipalName": "uma.k@contoso.com"})
    taker = change("create", set={"userPrincipalName": "v@contoso.com", "proxyAddresses": ["SMTP:team@contoso.com"]})
    f = only(run([rename, taker], [holder]), "DUP002")
    assert "uma@contoso.com" in f.finding.message and "uma.k@contoso.com" not in f.finding.message


def test_existing_conflict_note_never_gives_two_holders_one_label():
    a = entra_obj("contact", "c1", mail="x@fabrikam.com", displayName="X")
    b = entra_obj("contact", "c2", mail="x@fabrikam.com", displayName="X")
    touch = change("update", "contact", target={"id": a.id}, set={"displayName": "X"})
    f = only(run([touch], [a, b]), "DUP009")
    labels = f.finding.message.split(": ", 1)[1].split("; ")
    assert len(labels) == 2 and labels[0] != labels[1]
