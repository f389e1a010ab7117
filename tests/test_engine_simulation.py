"""The plan is judged on the final state after all its changes (docs/semantics.md "Entra Connect projection", "Anchors", "Soft match")."""

from __future__ import annotations

from dupfix_policy.model import Tenant
from dupfix_policy.testing import (
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

BOB = entra_user("bob@contoso.com", mail="bob@contoso.com", proxyAddresses=("SMTP:bob@contoso.com",))
CAROL = entra_user("carol@contoso.com", mail="carol@contoso.com", proxyAddresses=("SMTP:carol@contoso.com",))


# --- changes inside one plan -----------------------------------------------------------------


def test_two_creates_with_one_upn_are_dup005_each_naming_the_other():
    report = run(
        [
            change("create", set={"userPrincipalName": "new@contoso.com"}, line=3),
            change("create", set={"userPrincipalName": "New@contoso.com"}, line=9),
        ]
    )
    assert codes(report) == ["DUP005", "DUP005"]
    first, second = report.findings
    assert first.finding.holders[0].change.location.line == 9
    assert second.finding.holders[0].change.location.line == 3


def test_two_changes_to_one_identity_are_not_dup005():
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "new@contoso.com", "proxyAddresses": ["SMTP:new@contoso.com"]},
            ),
            change(
                "update",
                target={"userPrincipalName": "new@contoso.com"},
                add={"proxyAddresses": ["smtp:n@contoso.com"]},
            ),
        ]
    )
    assert codes(report) == []


def test_create_plus_group_with_the_users_upn_as_smtp_is_dup005():
    report = run(
        [
            change("create", set={"userPrincipalName": "team@contoso.com"}),
            change(
                "create",
                "group",
                set={
                    "displayName": "Team",
                    "mailEnabled": True,
                    "mailNickname": "team",
                    "proxyAddresses": ["SMTP:team@contoso.com"],
                },
            ),
        ]
    )
    assert codes(report).count("DUP005") == 2


def test_swap_of_addresses_between_two_users_passes_with_move_warnings():
    bob = entra_user("bob@contoso.com", proxyAddresses=("SMTP:bob@contoso.com", "smtp:lead@contoso.com"))
    carol = entra_user(
        "carol@contoso.com", proxyAddresses=("SMTP:carol@contoso.com", "smtp:deputy@contoso.com")
    )
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                remove={"proxyAddresses": ["smtp:lead@contoso.com"]},
                add={"proxyAddresses": ["smtp:deputy@contoso.com"]},
            ),
            change(
                "update",
                target={"userPrincipalName": "carol@contoso.com"},
                remove={"proxyAddresses": ["smtp:deputy@contoso.com"]},
                add={"proxyAddresses": ["smtp:lead@contoso.com"]},
            ),
        ],
        [bob, carol],
    )
    assert codes(report) == ["DUP006", "DUP006"]
    assert {r.severity for r in report.findings} == {"warning"}


def test_taking_an_address_equal_to_a_users_kept_upn_is_dup003_even_in_a_swap():
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                remove={"proxyAddresses": ["SMTP:bob@contoso.com"]},
                set={"mail": None},
            ),
            change(
                "update",
                target={"userPrincipalName": "carol@contoso.com"},
                add={"proxyAddresses": ["smtp:bob@contoso.com"]},
            ),
        ],
        [BOB, CAROL],
    )
    assert "DUP003" in codes(report)


def test_address_released_by_update_and_taken_in_same_plan_is_only_a_warning():
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                set={"mail": None},
                remove={"proxyAddresses": ["SMTP:bob@contoso.com"]},
            ),
            change(
                "create",
                "contact",
                set={"displayName": "Bob ext", "proxyAddresses": ["SMTP:bob@contoso.com"]},
            ),
        ],
        [BOB],
    )
    f = only(report, "DUP006")
    assert f.severity == "warning"
    assert "bob@contoso.com" in f.finding.message


def test_address_released_after_it_is_taken_still_counts_on_the_final_state():
    # Order inside the plan does not matter: the final state is what syncs.
    report = run(
        [
            change(
                "create",
                "contact",
                set={"displayName": "Bob ext", "proxyAddresses": ["SMTP:bob@contoso.com"]},
            ),
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                set={"mail": None},
                remove={"proxyAddresses": ["SMTP:bob@contoso.com"]},
            ),
        ],
        [BOB],
    )
    assert "DUP002" not in codes(report)


def test_delete_of_the_holder_plus_create_in_the_same_plan_is_dup004_warning():
    report = run(
        [
            change("delete", target={"userPrincipalName": "bob@contoso.com"}),
            change(
                "create",
                set={
                    "userPrincipalName": "bob@contoso.com",
                    "mail": "bob@contoso.com",
                    "proxyAddresses": ["SMTP:bob@contoso.com"],
                },
            ),
        ],
        [BOB],
    )
    dup004 = [r for r in report.findings if r.finding.code == "DUP004"]
    assert dup004 and {r.severity for r in dup004} == {"warning"}
    assert "error" not in {r.severity for r in report.findings}
    # the UPN itself is freed by the soft delete, and moves in the same cycle
    assert any(r.finding.code == "DUP006" and r.finding.key == "upn:bob@contoso.com" for r in report.findings)


def test_purged_holder_frees_its_addresses():
    deleted = entra_user(
        "0c1ebob@contoso.com", id="0c1e", state="soft-deleted", proxyAddresses=("SMTP:bob@contoso.com",)
    )
    report = run(
        [
            change("delete", target={"id": "0c1e"}, purge=True),
            change(
                "create",
                set={"userPrincipalName": "bob2@contoso.com", "proxyAddresses": ["SMTP:bob@contoso.com"]},
            ),
        ],
        [deleted],
    )
    assert "DUP004" not in codes(report)


def test_deleting_a_contact_is_a_hard_delete():
    contact = entra_obj("contact", "partner", displayName="Partner", proxyAddresses=("SMTP:p@fabrikam.com",))
    report = run(
        [
            change("delete", "contact", target={"id": contact.id}),
            change(
                "create",
                "contact",
                set={"displayName": "Partner 2", "proxyAddresses": ["SMTP:p@fabrikam.com"]},
            ),
        ],
        [contact],
    )
    assert "DUP004" not in codes(report) and "DUP002" not in codes(report)
    assert codes(report) == ["DUP006"]


def test_deleting_an_ad_user_soft_deletes_its_entra_twin():
    ad, cloud = synced_pair("dan@contoso.com", proxyAddresses=("SMTP:dan@contoso.com",))
    report = run(
        [
            change("delete", directory="ad", target={"objectGUID": ad.id}),
            change(
                "create",
                set={"userPrincipalName": "dan2@contoso.com", "proxyAddresses": ["SMTP:dan@contoso.com"]},
            ),
        ],
        [ad, cloud],
        dirs=("entra", "ad"),
    )
    assert only(report, "DUP004").severity == "warning"


def test_case_only_change_of_your_own_upn_is_nothing():
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                set={"userPrincipalName": "Bob@Contoso.com"},
            )
        ],
        [BOB],
    )
    assert codes(report) == []


def test_renaming_upn_to_anothers_upn_is_dup001():
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "bob@contoso.com"},
                set={"userPrincipalName": "carol@contoso.com"},
            )
        ],
        [BOB, CAROL],
    )
    assert codes(report) == ["DUP001"]


# --- existing conflicts ----------------------------------------------------------------------


def test_pre_existing_conflict_on_a_touched_key_is_a_note():
    one = entra_user("x1@contoso.com", proxyAddresses=("SMTP:shared@contoso.com",))
    two = entra_obj("group", "shared", displayName="Shared", proxyAddresses=("smtp:shared@contoso.com",))
    report = run(
        [change("update", target={"userPrincipalName": "x1@contoso.com"}, set={"displayName": "X One"})],
        [one, two],
    )
    f = only(report, "DUP009")
    assert f.severity == "note"
    assert len(f.finding.holders) == 2


def test_conflict_the_plan_does_not_touch_is_not_reported():
    one = entra_user("x1@contoso.com", proxyAddresses=("SMTP:shared@contoso.com",))
    two = entra_obj("group", "shared", displayName="Shared", proxyAddresses=("smtp:shared@contoso.com",))
    report = run([change("create", set={"userPrincipalName": "other@contoso.com"})], [one, two])
    assert codes(report) == []


def test_resolving_an_existing_conflict_is_not_reported():
    one = entra_user("x1@contoso.com", proxyAddresses=("SMTP:x1@contoso.com", "smtp:shared@contoso.com"))
    two = entra_obj("group", "shared", displayName="Shared", proxyAddresses=("SMTP:shared@contoso.com",))
    report = run(
        [
            change(
                "update",
                target={"userPrincipalName": "x1@contoso.com"},
                remove={"proxyAddresses": ["smtp:shared@contoso.com"]},
            )
        ],
        [one, two],
    )
    assert codes(report) == []


# --- targets ---------------------------------------------------------------------------------


def test_update_of_unknown_target_is_ref001():
    report = run(
        [change("update", target={"userPrincipalName": "ghost@contoso.com"}, set={"displayName": "G"})], [BOB]
    )
    f = only(report, "REF001")
    assert f.severity == "error"
    assert "ghost@contoso.com" in f.finding.message


def test_update_of_a_soft_deleted_object_says_restore_it_first():
    deleted = entra_user("0c1ebob@contoso.com", id="0c1e", state="soft-deleted")
    report = run([change("update", target={"id": "0c1e"}, set={"displayName": "B"})], [deleted])
    f = only(report, "REF001")
    assert "restore" in f.finding.fix.lower()


def test_target_in_a_directory_no_source_covers_is_a_note():
    report = run(
        [
            change(
                "update",
                directory="ad",
                target={"distinguishedName": "CN=Bob,DC=contoso,DC=com"},
                set={"displayName": "B"},
            )
        ],
        [BOB],
        dirs=("entra",),
    )
    assert only(report, "REF001").severity == "note"


def test_ambiguous_target_is_ref001():
    a = entra_user("a@contoso.com", mail="team@contoso.com")
    b = entra_user("b@contoso.com", mail="team@contoso.com")
    report = run([change("update", target={"mail": "team@contoso.com"}, set={"displayName": "T"})], [a, b])
    assert "names 2 objects" in only(report, "REF001").finding.message


def test_restore_reclaims_the_original_upn_and_its_addresses():
    deleted = entra_user(
        "0c1e0000000000000000000000000009bob@contoso.com",
        id="0c1e0000-0000-0000-0000-000000000009",
        state="soft-deleted",
        proxyAddresses=("SMTP:bob@contoso.com",),
    )
    new_bob = entra_user("bob@contoso.com", mail="robert@contoso.com")
    report = run([change("restore", target={"userPrincipalName": "bob@contoso.com"})], [deleted, new_bob])
    assert "DUP001" in codes(report)


def test_restore_of_a_user_whose_values_are_free_passes():
    deleted = entra_user(
        "0c1eeve@contoso.com", id="0c1e", state="soft-deleted", proxyAddresses=("SMTP:eve@contoso.com",)
    )
    report = run([change("restore", target={"id": "0c1e"})], [deleted])
    assert codes(report) == []


def test_restore_of_an_active_object_is_ref001():
    report = run([change("restore", target={"userPrincipalName": "bob@contoso.com"})], [BOB])
    assert "nothing to restore" in only(report, "REF001").finding.message


# --- derived values: MOERA -------------------------------------------------------------------


def test_moera_taken_is_dup007_warning_on_a_prediction():
    holder = entra_user(
        "frank@fabrikam.com", proxyAddresses=("SMTP:frank@fabrikam.com", "smtp:frank@contoso.onmicrosoft.com")
    )
    report = run([change("create", set={"userPrincipalName": "frank@contoso.com"})], [holder])
    f = only(report, "DUP007")
    assert f.severity == "warning"
    assert f.finding.predicted is True
    assert "frank@contoso.onmicrosoft.com" in f.finding.message


def test_two_creates_deriving_one_moera_are_dup007():
    report = run(
        [
            change("create", set={"userPrincipalName": "gus@contoso.com"}),
            change("create", set={"userPrincipalName": "gus@fabrikam.com"}),
        ]
    )
    assert codes(report) == ["DUP007", "DUP007"]


def test_moera_uses_mail_nickname_over_upn_prefix():
    holder = entra_user("x@contoso.com", proxyAddresses=("smtp:gus@contoso.onmicrosoft.com",))
    report = run(
        [change("create", set={"userPrincipalName": "gus@contoso.com", "mailNickname": "gus.g"})], [holder]
    )
    assert "DUP007" not in codes(report)


def test_guests_get_no_moera():
    holder = entra_user(
        "x@contoso.com", proxyAddresses=("smtp:hal_fabrikam.com#EXT#@contoso.onmicrosoft.com",)
    )
    report = run(
        [
            change(
                "create",
                set={
                    "userPrincipalName": "hal_fabrikam.com#EXT#@contoso.onmicrosoft.com",
                    "userType": "Guest",
                },
            )
        ],
        [holder],
    )
    assert "DUP007" not in codes(report)


def test_moera_skipped_with_a_note_when_initial_domain_unknown():
    report = run([change("create", set={"userPrincipalName": "ida@contoso.com"})], [], tenant=Tenant())
    assert codes(report) == []
    assert any("initial domain is unknown" in n for n in report.notes)


# --- soft match: when a duplicate is a takeover ----------------------------------------------


def test_ad_create_matching_a_cloud_only_user_is_dup011_not_dup001():
    cloud = entra_user("jon@contoso.com", mail="jon@contoso.com", proxyAddresses=("SMTP:jon@contoso.com",))
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "jon@contoso.com",
                    "mail": "jon@contoso.com",
                    "distinguishedName": "CN=Jon,OU=Staff,DC=contoso,DC=com",
                    "proxyAddresses": ["SMTP:jon@contoso.com"],
                },
            )
        ],
        [cloud],
        dirs=("entra", "ad"),
    )
    assert codes(report) == ["DUP011"]
    assert only(report, "DUP011").severity == "warning"


def test_ad_create_matching_a_synced_user_is_an_ordinary_duplicate():
    ad, cloud = synced_pair("kay@contoso.com", proxyAddresses=("SMTP:kay@contoso.com",))
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "kay@contoso.com",
                    "distinguishedName": "CN=Kay2,OU=Staff,DC=contoso,DC=com",
                },
            )
        ],
        [ad, cloud],
        dirs=("entra", "ad"),
    )
    assert "DUP001" in codes(report) and "DUP011" not in codes(report)


def test_cloud_create_matching_a_not_yet_synced_ad_user_is_dup011():
    pending = ad_user("lou@contoso.com", mail="lou@contoso.com", proxyAddresses=("SMTP:lou@contoso.com",))
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "lou@contoso.com", "proxyAddresses": ["SMTP:lou@contoso.com"]},
            )
        ],
        [pending],
        dirs=("entra", "ad"),
    )
    assert codes(report) == ["DUP011"]


def test_soft_match_across_object_types_is_an_ordinary_duplicate():
    cloud_group = entra_obj(
        "group", "mo", displayName="Mo", mailEnabled=True, proxyAddresses=("SMTP:mo@contoso.com",)
    )
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "mo@contoso.com",
                    "distinguishedName": "CN=Mo,DC=contoso,DC=com",
                    "proxyAddresses": ["SMTP:mo@contoso.com"],
                },
            )
        ],
        [cloud_group],
        dirs=("entra", "ad"),
    )
    assert "DUP011" not in codes(report)
    assert "DUP002" in codes(report)


def test_soft_match_blocked_by_policy_makes_it_an_error():
    cloud = entra_user("jon@contoso.com", proxyAddresses=("SMTP:jon@contoso.com",))
    report = run(
        [
            change(
                "create",
                directory="ad",
                set={
                    "userPrincipalName": "jon@contoso.com",
                    "distinguishedName": "CN=Jon,DC=contoso,DC=com",
                    "proxyAddresses": ["SMTP:jon@contoso.com"],
                },
            )
        ],
        [cloud],
        dirs=("entra", "ad"),
        policy=StubPolicy(soft_match=False),
    )
    assert "DUP011" not in codes(report)
    assert {"DUP001", "DUP002"} <= set(codes(report))


def test_findings_are_in_a_stable_order():
    changes = [
        change("create", set={"userPrincipalName": "bob@contoso.com"}, line=4),
        change("create", set={"userPrincipalName": "carol@contoso.com"}, line=2),
    ]
    first = [(r.finding.code, r.fingerprint) for r in run(changes, [BOB, CAROL]).findings]
    second = [(r.finding.code, r.fingerprint) for r in run(changes, [CAROL, BOB]).findings]
    assert first == second


def test_fingerprint_survives_moving_the_change_to_another_line():
    a = run([change("create", set={"userPrincipalName": "bob@contoso.com"}, line=4)], [BOB])
    b = run([change("create", set={"userPrincipalName": "bob@contoso.com"}, line=40)], [BOB])
    assert a.findings[0].fingerprint == b.findings[0].fingerprint


# --- one problem, one finding ----------------------------------------------------------------


def test_values_predicted_from_a_taken_upn_are_not_reported_again():
    # A Terraform create: SMTP address and alias are derived from the UPN, which is taken.
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "bob@contoso.com"},
                predicted={"proxyAddresses": ("SMTP:bob@contoso.com",), "mailNickname": "bob"},
            )
        ],
        [entra_user("bob@contoso.com", mailNickname="bob", proxyAddresses=("SMTP:bob@contoso.com",))],
    )
    assert codes(report) == ["DUP001"]


def test_predicted_value_colliding_with_another_holder_is_reported_as_predicted():
    report = run(
        [
            change(
                "create",
                set={"userPrincipalName": "newbie@contoso.com"},
                predicted={"proxyAddresses": ("SMTP:sales@contoso.com",)},
            )
        ],
        [entra_obj("group", "sales", displayName="Sales", proxyAddresses=("SMTP:sales@contoso.com",))],
    )
    f = only(report, "DUP002")
    assert f.finding.predicted is True


def test_two_nameless_rows_creating_one_upn_keep_distinct_fingerprints():
    report = run(
        [
            change("create", set={"userPrincipalName": "twin@contoso.com"}),
            change("create", set={"userPrincipalName": "twin@contoso.com"}),
        ]
    )
    prints = [r.fingerprint for r in report.findings if r.finding.code == "DUP005"]
    assert len(prints) == 2 and len(set(prints)) == 2
