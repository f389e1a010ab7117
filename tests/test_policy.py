"""Policy packs: severities by code or id, soft match, and exemptions that expire."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Finding, Location, RuleInfo
from dupfix_policy.policy import Exemption, Policy, exemption_keys, load_policy, shipped_packs

TODAY = dt.date(2026, 11, 26)
DUP002 = RuleInfo("duplicate-proxy-address", "DUP002", "error", "", "")
DUP011 = RuleInfo("soft-match-takeover", "DUP011", "warning", "", "")
DOCUMENTED_DEFAULTS = {
    "DUP001": "error",
    "DUP002": "error",
    "DUP003": "error",
    "DUP004": "error",
    "DUP005": "error",
    "DUP006": "warning",
    "DUP007": "warning",
    "DUP008": "error",
    "DUP009": "note",
    "DUP010": "error",
    "DUP011": "warning",
    "DUP012": "error",
    "DUP013": "warning",
    "DUP014": "error",
    "REF001": "error",
    "POL001": "note",
    **{f"FMT{n:03d}": "warning" for n in range(1, 11)},
}


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def finding(code: str, key: str | None) -> Finding:
    return Finding(code, "proxyAddresses", None, key, None, None, "", "")


def error_of(name: str, **kwargs: object) -> str:
    with pytest.raises(UserInputError) as exc:
        load_policy(name, **kwargs)  # type: ignore[arg-type]
    return str(exc.value)


def policy_with_exemption(tmp_path: Path, value: str, rule: str = "DUP002", expires: str = "") -> Policy:
    extra = f"\n    expires: {expires}" if expires else ""
    path = write(
        tmp_path,
        f"version: 1\nexemptions:\n  - rule: {rule}\n    value: '{value}'\n    reason: ticket 1234{extra}\n",
    )
    return load_policy(path)


# --- shipped packs -----------------------------------------------------------------------------


def test_no_policy_means_the_default_pack() -> None:
    policy = load_policy(None)
    assert (policy.name, policy.soft_match, policy.exemptions) == ("default", True, ())


def test_default_pack_lists_every_rule_at_its_design_default() -> None:
    assert dict(load_policy("default").severities) == DOCUMENTED_DEFAULTS


def test_strict_pack_makes_predictive_warnings_errors() -> None:
    strict = load_policy("strict")
    for code in ("DUP006", "DUP007", "DUP011", "DUP013"):
        assert strict.severity(RuleInfo("x", code, "warning", "", "")) == "error"
    assert strict.severity(RuleInfo("existing-conflict", "DUP009", "note", "", "")) == "note"


def test_idfix_pack_fails_on_existing_duplicates_like_idfix() -> None:
    idfix = load_policy("idfix")
    assert idfix.severity(RuleInfo("existing-conflict", "DUP009", "note", "", "")) == "error"
    assert idfix.severity(DUP011) == "warning"


def test_shipped_packs_are_listed() -> None:
    assert shipped_packs() == ["default", "idfix", "strict"]


def test_unknown_pack_lists_the_shipped_packs_and_suggests_one() -> None:
    message = error_of("strct")
    assert "unknown policy pack 'strct': did you mean strict?" in message
    assert "default, idfix, strict" in message


def test_unknown_pack_is_reported_where_it_was_named() -> None:
    message = error_of("corporate", origin=Location(".dupfix.yaml", 5))
    assert message.startswith(".dupfix.yaml:5:")


# --- policy files ------------------------------------------------------------------------------


def test_policy_file_extends_a_pack_and_overrides_by_id(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nextends: default\nrules:\n  soft-match-takeover: error\n")
    policy = load_policy(path)
    assert policy.severity(DUP011) == "error"
    assert policy.severity(DUP002) == "error"
    assert policy.name == "policy"


def test_child_naming_a_rule_by_code_overrides_the_parent_naming_it_by_id(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nrules:\n  soft-match-takeover: note\n  DUP011: error\n", name="base.yaml")
    path = write(tmp_path, "version: 1\nextends: base.yaml\nrules:\n  DUP011: off\n")
    assert load_policy(path).severity(DUP011) == "off"


def test_extends_path_is_relative_to_the_policy_file(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    write(tmp_path, "version: 1\nsync:\n  softMatch: false\n", name="shared/base.yaml")
    path = write(tmp_path, "version: 1\nname: team\nextends: shared/base.yaml\n")
    policy = load_policy(path)
    assert (policy.name, policy.soft_match) == ("team", False)


def test_extends_loop_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nextends: b.yaml\n", name="a.yaml")
    write(tmp_path, "version: 1\nextends: a.yaml\n", name="b.yaml")
    assert "extends itself" in error_of(str(tmp_path / "a.yaml"))


def test_extends_unknown_name_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nextends: strictest\n")
    message = error_of(path)
    assert f"{path}:2:10" in message and "did you mean strict?" in message


def test_relative_policy_path_is_taken_from_base_dir(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nname: ours\n", name="ours.yaml")
    assert load_policy("ours.yaml", base_dir=str(tmp_path)).name == "ours"


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    assert path in error_of(path) and "not found" in error_of(path)


def test_unknown_severity_names_file_line_and_choices(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n  DUP001: fatal\n")
    message = error_of(path)
    assert f"{path}:3:11" in message and "must be one of error, warning, note, off" in message


def test_malformed_rule_name_is_refused_at_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n  Duplicate UPN: error\n")
    message = error_of(path)
    assert f"{path}:3:3" in message and "not a rule name" in message


def test_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nexemption: []\n")
    assert f"{path}:2:1" in error_of(path) and "did you mean exemptions?" in error_of(path)


def test_unknown_rules_are_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nrules:\n  DUP001: error\n  DUP099: error\nexemptions:\n"
        "  - rule: duplicate-upm\n    value: a@contoso.com\n    reason: test\n",
    )
    known = {"DUP001", "duplicate-upn"}
    assert load_policy(path).unknown_rules(known) == [
        ("DUP099", Location(path, 4, 3)),
        ("duplicate-upm", Location(path, 6, 11)),
    ]


# --- severity ----------------------------------------------------------------------------------


def test_severity_falls_back_to_the_rule_default() -> None:
    assert Policy().severity(DUP011) == "warning"


@pytest.mark.parametrize(
    "configured, demoted", [("error", "warning"), ("warning", "note"), ("note", "note"), ("off", "off")]
)
def test_demoted_severity_is_one_step_lower(configured: str, demoted: str) -> None:
    assert Policy(severities={"DUP002": configured}).severity(DUP002, demoted=True) == demoted


def test_demoting_two_levels_turns_an_error_into_a_note() -> None:
    assert Policy().severity(DUP002, demoted=2) == "note"


def test_soft_match_off_is_read_from_sync(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nextends: strict\nsync:\n  softMatch: false\n")
    assert load_policy(path).soft_match is False


# --- exemptions --------------------------------------------------------------------------------


def test_exemption_matches_the_proxy_address_as_written(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "SMTP:Shared@Contoso.com")
    assert policy.exemption_for(finding("DUP002", "proxy:smtp:shared@contoso.com"), TODAY) is not None


def test_exemption_matches_a_claim_key(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "proxy:SIP:Alice@Contoso.com")
    assert policy.exemption_for(finding("DUP002", "proxy:sip:alice@contoso.com"), TODAY) is not None


def test_bare_address_matches_a_upn_or_an_smtp_address(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "alice@contoso.com", rule="DUP003")
    assert policy.exemption_for(finding("DUP003", "upn:alice@contoso.com"), TODAY) is not None
    assert policy.exemption_for(finding("DUP003", "proxy:smtp:alice@contoso.com"), TODAY) is not None


def test_value_without_at_sign_is_an_alias() -> None:
    assert exemption_keys("Sales") == ("alias:sales",)


def test_exemption_for_another_value_does_not_match(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "smtp:shared@contoso.com")
    assert policy.exemption_for(finding("DUP002", "proxy:smtp:other@contoso.com"), TODAY) is None


def test_exemption_for_another_rule_does_not_match(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "smtp:shared@contoso.com", rule="DUP005")
    assert policy.exemption_for(finding("DUP002", "proxy:smtp:shared@contoso.com"), TODAY) is None


def test_exemption_naming_the_rule_by_id_matches_when_the_rule_is_known(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "smtp:shared@contoso.com", rule="duplicate-proxy-address")
    key = "proxy:smtp:shared@contoso.com"
    assert policy.exemption_for(finding("DUP002", key), TODAY, info=DUP002) is not None


def test_exemption_still_applies_on_its_expiry_day(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "smtp:shared@contoso.com", expires="2026-11-26")
    assert policy.exemption_for(finding("DUP002", "proxy:smtp:shared@contoso.com"), TODAY) is not None
    assert policy.expired_exemptions(TODAY) == []


def test_expired_exemption_no_longer_applies_and_is_listed(tmp_path: Path) -> None:
    policy = policy_with_exemption(tmp_path, "smtp:shared@contoso.com", expires="2026-11-25")
    assert policy.exemption_for(finding("DUP002", "proxy:smtp:shared@contoso.com"), TODAY) is None
    (expired,) = policy.expired_exemptions(TODAY)
    assert (expired.value, expired.reason, expired.expires) == (
        "smtp:shared@contoso.com",
        "ticket 1234",
        dt.date(2026, 11, 25),
    )
    assert expired.location is not None and expired.location.line == 3


def test_exemption_keeps_its_normalised_key(tmp_path: Path) -> None:
    (exemption,) = policy_with_exemption(tmp_path, "SMTP:Shared@Contoso.com").exemptions
    assert isinstance(exemption, Exemption)
    assert exemption.key == "proxy:smtp:shared@contoso.com"


def test_exemption_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nexemptions:\n  - rule: DUP002\n    value: smtp:a@contoso.com\n")
    assert f"{path}:3:5" in error_of(path) and "`reason`" in error_of(path)


@pytest.mark.parametrize("written", ["31/12/2026", "2026-02-30"])
def test_exemption_expiry_must_be_a_real_iso_date(tmp_path: Path, written: str) -> None:
    path = write(
        tmp_path,
        f"version: 1\nexemptions:\n  - rule: DUP002\n    value: x@y\n    reason: r\n    expires: {written}\n",
    )
    message = error_of(path)
    assert f"{path}:6:14" in message and "exemptions[0].expires" in message


def test_exemptions_of_the_parent_are_kept(tmp_path: Path) -> None:
    write(
        tmp_path,
        "version: 1\nexemptions:\n  - rule: DUP002\n    value: smtp:a@x.com\n    reason: r\n",
        name="base.yaml",
    )
    path = write(
        tmp_path,
        "version: 1\nextends: ./base.yaml\n"
        "exemptions:\n  - rule: DUP005\n    value: b@x.com\n    reason: r\n",
    )
    assert [e.rule for e in load_policy(path).exemptions] == ["DUP002", "DUP005"]
