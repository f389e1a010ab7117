"""Format rules FMT001-FMT010: each with a value that passes and one that fails, and IdFix's known
false positives (a TLD list without `.app`, apostrophes) not flagged."""

from __future__ import annotations

import json

import pytest

from dupfix_policy import cli
from dupfix_policy.engine import check
from dupfix_policy.model import Tenant
from dupfix_policy.policy import load_policy
from dupfix_policy.rules import formats
from dupfix_policy.testing import CONTOSO, TODAY, MemorySource, change, plan

FORMAT_RULES = {r.info.code: r for r in formats.dupfix_rules()}


def judge(*changes, tenant: Tenant | None = CONTOSO):
    report = check(
        [plan(*changes)], [MemorySource([], ("entra",), tenant)], FORMAT_RULES, load_policy("default"), today=TODAY
    )
    return report.findings


def found(*changes, tenant: Tenant | None = CONTOSO) -> list[tuple[str, str | None]]:
    return [(r.finding.code, r.finding.value) for r in judge(*changes, tenant=tenant)]


def user(**attrs):
    attrs.setdefault("userPrincipalName", "quinn@contoso.com")
    attrs.setdefault("displayName", "Quinn")
    return change("create", "user", set=attrs)


def ad_user(**attrs):
    attrs.setdefault("userPrincipalName", "quinn@contoso.com")
    return change("create", "user", directory="ad", set=attrs)


def codes(*changes, tenant: Tenant | None = CONTOSO) -> set[str]:
    return {code for code, _ in found(*changes, tenant=tenant)}


# --- FMT001 value-too-long: Microsoft's limits, not IdFix's off-by-one ones ------------------------


def upn(local_len: int, domain: str = "contoso.com") -> str:
    return "a" * local_len + "@" + domain


@pytest.mark.parametrize(
    ("attribute", "limit"),
    [("displayName", 256), ("givenName", 64), ("surname", 64), ("mailNickname", 64)],
)
def test_text_at_microsofts_limit_passes_and_one_more_fails(attribute, limit):
    assert "FMT001" not in codes(user(**{attribute: "x" * limit}))
    assert ("FMT001", "x" * (limit + 1)) in found(user(**{attribute: "x" * (limit + 1)}))


def test_given_name_of_64_characters_passes_although_idfix_flags_it():
    assert codes(user(givenName="G" * 64)) == set()


def test_upn_of_64_characters_before_the_at_passes_and_65_fails():
    assert "FMT001" not in codes(user(userPrincipalName=upn(64)))
    assert ("FMT001", upn(65)) in found(user(userPrincipalName=upn(65)))


def test_upn_domain_of_48_characters_passes_and_49_fails():
    domain48 = "d" * 44 + ".com"
    domain49 = "d" * 45 + ".com"
    tenant = Tenant("contoso.onmicrosoft.com", (domain48, domain49))
    assert "FMT001" not in codes(user(userPrincipalName=upn(10, domain48)), tenant=tenant)
    assert "FMT001" in codes(user(userPrincipalName=upn(10, domain49)), tenant=tenant)


def test_upn_of_113_characters_with_both_parts_at_their_limits_passes():
    domain = "d" * 44 + ".com"
    value = upn(64, domain)  # 64 + 1 + 48 = 113
    tenant = Tenant("contoso.onmicrosoft.com", (domain,))
    assert "FMT001" not in codes(user(userPrincipalName=value), tenant=tenant)


def test_proxy_address_of_256_characters_passes_and_257_fails():
    ok = "smtp:" + "a" * (256 - len("smtp:@contoso.com")) + "@contoso.com"
    long = "smtp:" + "a" * (257 - len("smtp:@contoso.com")) + "@contoso.com"
    assert len(ok) == 256 and len(long) == 257
    assert "FMT001" not in codes(user(proxyAddresses=[ok]))
    assert ("FMT001", long) in found(user(proxyAddresses=[long]))


def test_users_sam_account_name_is_limited_to_20_but_a_groups_is_not():
    assert "FMT001" not in codes(ad_user(sAMAccountName="s" * 20))
    assert "FMT001" in codes(ad_user(sAMAccountName="s" * 21))
    group = change("create", "group", directory="ad", set={"displayName": "Sales", "sAMAccountName": "g" * 21})
    assert "FMT001" not in codes(group)


# --- FMT002 invalid-character -------------------------------------------------------------------


def test_upn_with_an_ampersand_fails():
    assert ("FMT002", "r&d@contoso.com") in found(user(userPrincipalName="r&d@contoso.com"))


def test_apostrophes_are_valid_in_upns_addresses_and_aliases():
    change_ = user(
        userPrincipalName="o'brien@contoso.com",
        mail="o'brien@contoso.com",
        mailNickname="o'brien",
        proxyAddresses=["SMTP:o'brien@contoso.com", "smtp:sean.o'brien@contoso.com"],
    )
    assert codes(change_) == set()


def test_x500_address_with_spaces_parentheses_and_an_apostrophe_passes():
    x500 = "X500:/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=o'brien"
    assert codes(user(proxyAddresses=["SMTP:quinn@contoso.com", x500])) == set()


def test_x500_address_with_a_double_quote_fails():
    x500 = 'X500:/o=Contoso/cn=Recipients/cn="quinn"'
    assert ("FMT002", x500) in found(user(proxyAddresses=[x500]))


def test_smtp_proxy_with_a_space_after_the_prefix_fails():
    assert ("FMT002", "SMTP: quinn@contoso.com") in found(user(proxyAddresses=["SMTP: quinn@contoso.com"]))


def test_mail_with_a_comma_fails():
    assert ("FMT002", "quinn,north@contoso.com") in found(user(mail="quinn,north@contoso.com"))


def test_mail_nickname_with_a_space_fails_and_with_a_hyphen_passes():
    assert ("FMT002", "quinn north") in found(user(mailNickname="quinn north"))
    assert codes(user(mailNickname="quinn-north")) == set()


def test_mail_nickname_that_begins_with_a_period_fails():
    assert ("FMT002", ".quinn") in found(user(mailNickname=".quinn"))


def test_sam_account_name_with_an_asterisk_fails_and_with_a_dot_passes():
    assert ("FMT002", "qn*") in found(ad_user(sAMAccountName="qn*"))
    assert codes(ad_user(sAMAccountName="q.north")) == set()


def test_target_address_with_a_backslash_fails():
    contact = change("create", "contact", set={"displayName": "Q", "targetAddress": "SMTP:q\\n@fabrikam.com"})
    assert ("FMT002", "SMTP:q\\n@fabrikam.com") in found(contact)


# --- FMT003 surrounding-whitespace ----------------------------------------------------------------


def test_upn_with_a_trailing_space_fails_and_is_judged_trimmed_otherwise():
    assert found(user(userPrincipalName="quinn@contoso.com ")) == [("FMT003", "quinn@contoso.com ")]


def test_display_name_with_a_leading_tab_fails():
    assert ("FMT003", "\tQuinn North") in found(user(displayName="\tQuinn North"))


def test_value_without_surrounding_whitespace_passes():
    assert codes(user(displayName="Quinn North", mailNickname="quinn")) == set()


# --- FMT004 non-ascii-address ------------------------------------------------------------------------


def test_upn_with_an_accent_fails_and_its_ascii_spelling_passes():
    assert found(user(userPrincipalName="josé@contoso.com")) == [("FMT004", "josé@contoso.com")]
    assert codes(user(userPrincipalName="jose@contoso.com")) == set()


def test_display_name_may_hold_any_script():
    assert codes(user(displayName="José Ñúñez 山田")) == set()


def test_internationalised_domain_is_non_ascii_but_not_malformed():
    assert codes(user(mail="anna@bücher.de"), tenant=None) == {"FMT004"}  # FMT010 needs the tenant's domains


# --- FMT005 malformed-address: by shape, no top-level-domain list --------------------------------------


@pytest.mark.parametrize(
    "address",
    ["alice@uni.edu.au", "bob@zurich.swiss", "carol@lagos.africa", "dave@example.co.uk", "eve@x.cloud",
     "fay@contoso.app", "gus@x.northwesternmutual"],
)
def test_valid_domains_pass_by_shape_where_a_tld_list_would_not(address):
    # judged by shape: with the tenant's domains unknown, nothing here says they are not its own
    assert codes(user(mail=address, proxyAddresses=[f"smtp:{address}"]), tenant=None) == set()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("quinn@@contoso.com", "2 @ signs"),
        ("quinn.contoso.com", "no @"),
        ("quinn.@contoso.com", "dot at the start or end"),
        ("quinn..north@contoso.com", "two dots in a row"),
        ("quinn@contoso", "without a dot"),
        ("quinn@-contoso.com", "invalid domain label"),
    ],
)
def test_malformed_address_fails_and_says_why(address, why):
    (finding,) = [r.finding for r in judge(user(mail=address)) if r.finding.code == "FMT005"]
    assert finding.value == address
    assert why in finding.message


def test_malformed_upn_is_reported_once_as_malformed():
    assert found(user(userPrincipalName="quinn.@contoso.com")) == [("FMT005", "quinn.@contoso.com")]


# --- FMT006 missing-proxy-type -------------------------------------------------------------------------


def test_proxy_address_without_a_type_fails_and_with_one_passes():
    assert found(user(proxyAddresses=["quinn@contoso.com"])) == [("FMT006", "quinn@contoso.com")]
    assert codes(user(proxyAddresses=["SMTP:quinn@contoso.com"])) == set()


# --- FMT007 reserved-domain-on-prem-proxy ----------------------------------------------------------------


def test_on_prem_proxy_on_the_tenants_onmicrosoft_domain_fails():
    value = "smtp:quinn@contoso.onmicrosoft.com"
    assert found(ad_user(proxyAddresses=["SMTP:quinn@contoso.com", value])) == [("FMT007", value)]


def test_on_prem_legacy_x400_address_is_discarded_by_sync():
    value = "X400:C=US;A= ;P=Contoso;O=Exchange;S=Quinn;"
    assert found(ad_user(proxyAddresses=["SMTP:quinn@contoso.com", value])) == [("FMT007", value)]


def test_on_prem_x500_address_is_kept_by_sync():
    value = "X500:/o=Contoso/ou=Exchange/cn=Recipients/cn=quinn"
    assert "FMT007" not in codes(ad_user(proxyAddresses=["SMTP:quinn@contoso.com", value]))


def test_on_prem_hybrid_routing_address_passes():
    assert codes(ad_user(proxyAddresses=["SMTP:quinn@contoso.com", "smtp:quinn@contoso.mail.onmicrosoft.com"])) == set()


def test_cloud_proxy_on_the_onmicrosoft_domain_passes():
    assert codes(user(proxyAddresses=["SMTP:quinn@contoso.com", "smtp:quinn@contoso.onmicrosoft.com"])) == set()


# --- FMT008 unverified-upn-domain --------------------------------------------------------------------


def test_upn_on_an_unverified_domain_fails_naming_the_verified_ones():
    (r,) = judge(user(userPrincipalName="quinn@example.org"))
    assert r.finding.code == "FMT008"
    assert "example.org" in r.finding.message and "contoso.com" in r.finding.message


def test_upn_on_a_verified_or_the_initial_domain_passes():
    assert codes(user(userPrincipalName="quinn@contoso.com"), user(userPrincipalName="q2@contoso.onmicrosoft.com")) == set()


def test_upn_domain_is_not_judged_when_the_source_does_not_know_the_tenants_domains():
    assert codes(user(userPrincipalName="quinn@example.org"), tenant=Tenant()) == set()


def test_upn_on_a_subdomain_of_a_verified_domain_fails_saying_to_add_it():
    (r,) = judge(user(userPrincipalName="quinn@eu.contoso.com"))
    assert r.finding.code == "FMT008" and "subdomain of contoso.com" in r.finding.message


# --- FMT009 blank-display-name ----------------------------------------------------------------------


def test_blank_display_name_fails_and_a_real_one_passes():
    assert ("FMT009", "") in found(user(displayName=""))
    assert "FMT009" in codes(change("update", "group", target={"id": "g1"}, set={"displayName": "   "}))
    assert codes(user(displayName="Quinn")) == set()


# --- what is judged ------------------------------------------------------------------------------------


def test_values_a_change_removes_are_not_judged():
    update = change(
        "update", "user", target={"userPrincipalName": "bob@contoso.com"}, remove={"proxyAddresses": ["bob@contoso.com"]}
    )
    assert codes(update) == set()


def test_values_a_change_adds_are_judged():
    update = change(
        "update", "user", target={"userPrincipalName": "bob@contoso.com"}, add={"proxyAddresses": ["bob@contoso.com"]}
    )
    assert codes(update) == {"FMT006"}


def test_two_bad_values_on_one_change_get_distinct_fingerprints():
    findings = judge(user(proxyAddresses=["a@contoso.com", "b@contoso.com"]))
    assert len({r.fingerprint for r in findings}) == 2


def test_every_format_rule_is_registered_and_documented(registry):
    infos = [r.info for code, r in registry.rules.items() if code.startswith("FMT")]
    assert [i.code for i in infos] == [f"FMT{n:03d}" for n in range(1, 11)]
    assert all(i.summary and i.fix and i.description for i in infos)


def test_cli_points_at_the_line_of_the_bad_value(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.yaml").write_text(
        "version: 1\nchanges:\n  - op: create\n    kind: user\n    set:\n"
        "      userPrincipalName: quinn@contoso.com\n      displayName: Quinn\n"
        "      proxyAddresses:\n        - SMTP:quinn@contoso.com\n        - quinn.north@contoso.com\n",
        encoding="utf-8",
    )
    assert cli.main(["check", "plan.yaml", "--source", "none", "--format", "json"]) == 0  # a warning
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert (finding["code"], finding["severity"], finding["location"]["line"]) == ("FMT006", "warning", 10)


def test_strict_pack_makes_format_findings_fail(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.yaml").write_text(
        "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: 'quinn@contoso.com '}}\n",
        encoding="utf-8",
    )
    assert cli.main(["check", "plan.yaml", "--source", "none"]) == 0
    assert cli.main(["check", "plan.yaml", "--source", "none", "--policy", "strict"]) == 1
    assert cli.main(["check", "plan.yaml", "--source", "none", "--policy", "idfix"]) == 1


def test_one_bad_value_in_mail_and_proxy_addresses_is_one_finding_per_rule():
    (r,) = judge(user(mail="quinn.@contoso.com", proxyAddresses=["SMTP:quinn.@contoso.com"]))
    assert r.finding.code == "FMT005" and "also proxyAddresses" in r.finding.message


def test_two_problems_with_one_alias_are_one_finding_naming_both():
    (r,) = judge(user(mailNickname=".quinn north"))
    assert r.finding.code == "FMT002" and "space" in r.finding.message and "period" in r.finding.message


def test_packs_set_format_rules_default_warning_strict_error_idfix_for_its_own_checks():
    severities = {name: load_policy(name) for name in ("default", "strict", "idfix")}
    for rule in FORMAT_RULES.values():
        assert severities["default"].severity(rule.info) == "warning"
        assert severities["strict"].severity(rule.info) == "error"
    idfix = {code: severities["idfix"].severity(rule.info) for code, rule in FORMAT_RULES.items()}
    assert {code for code, level in idfix.items() if level == "warning"} == {"FMT006", "FMT007", "FMT008", "FMT010"}


# --- IdFix parity: where Microsoft really refuses or drops the value (docs/idfix.md) ------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("proxyAddresses", ["smtp:quinn:north@contoso.com"]),
        ("proxyAddresses", ["X500:/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=quinn:north"]),
        ("targetAddress", "SMTP:quinn:north@contoso.mail.onmicrosoft.com"),
    ],
)
def test_a_colon_after_the_type_prefix_fails_as_idfix_fix_proxy_target_address_rule_says(attribute, value):
    (r,) = judge(user(**{attribute: value}))
    assert r.finding.code == "FMT002" and "colon after its type prefix" in r.finding.message


def test_one_colon_separating_the_type_passes_for_smtp_sip_and_x500():
    assert codes(user(proxyAddresses=["SMTP:quinn@contoso.com", "SIP:quinn@contoso.com",
                                      "X500:/o=Contoso/ou=First Organization/cn=Recipients/cn=quinn"])) == set()


def test_a_backslash_in_an_smtp_local_part_fails_in_mail_and_proxy_addresses():
    (r,) = judge(user(mail="corp\\quinn@contoso.com", proxyAddresses=["smtp:corp\\quinn@contoso.com"]))
    assert r.finding.code == "FMT002" and "backslash before the @" in r.finding.message


@pytest.mark.parametrize("domain", ["contoso.local", "corp.internal", "hq.lan", "nas.home.arpa", "contoso.corp"])
def test_an_address_on_a_non_routable_domain_warns_that_sync_drops_it(domain):
    (r,) = judge(user(proxyAddresses=["SMTP:quinn@contoso.com", f"smtp:quinn@{domain}"]), tenant=None)
    assert (r.finding.code, r.severity) == ("FMT010", "warning")
    assert "not a routable domain" in r.finding.message and "drop this proxy address" in r.finding.message


def test_an_address_on_a_domain_the_tenant_has_not_verified_warns_naming_the_removal():
    (r,) = judge(user(proxyAddresses=["SMTP:quinn@contoso.com", "smtp:quinn@tailspin.com"]))
    assert r.finding.code == "FMT010" and "tailspin.com is not a verified domain" in r.finding.message


def test_app_and_other_new_tlds_are_routable_although_idfix_list_lacks_them():
    assert codes(user(proxyAddresses=["SMTP:quinn@contoso.com", "smtp:quinn@contoso.app"]), tenant=None) == set()


def test_a_upn_on_a_non_routable_domain_warns_when_the_tenants_domains_are_unknown():
    (r,) = judge(user(userPrincipalName="quinn@contoso.local"), tenant=None)
    assert r.finding.code == "FMT010" and "onmicrosoft.com" in r.finding.message
    # with the tenant's domains known, FMT008 says it (once)
    assert codes(user(userPrincipalName="quinn@contoso.local")) == {"FMT008"}


def test_contacts_and_guests_keep_their_outside_addresses():
    contact = change("create", "contact", directory="ad",
                     set={"displayName": "Ext", "mail": "ext@fabrikam.local", "targetAddress": "SMTP:ext@x.local"})
    guest = user(userType="Guest", mail="gwen@tailspin.com")
    assert "FMT010" not in codes(contact, guest)


def test_an_entra_user_or_group_created_without_display_name_fails_as_graph_requires_one():
    nameless = change("create", "user", set={"userPrincipalName": "quinn@contoso.com"})
    (r,) = judge(nameless)
    assert r.finding.code == "FMT009" and "without a displayName" in r.finding.message
    assert "FMT009" in codes(change("create", "group", set={"mailNickname": "team", "mailEnabled": True}))


def test_an_ad_object_without_display_name_falls_back_to_cn_so_no_finding():
    assert "FMT009" not in codes(change("create", "user", directory="ad", set={"userPrincipalName": "quinn@contoso.com"}))


def test_an_invited_guest_without_display_name_passes():
    assert "FMT009" not in codes(change("create", "user", set={"userType": "Guest", "mail": "gwen@fabrikam.com"}))
