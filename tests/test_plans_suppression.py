"""Inline suppression: `dupfix: ignore CODE reason` on or above a change is reported, never silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from dupfix_policy.errors import UserInputError
from dupfix_policy.model import Location
from dupfix_policy.plans import entra_csv, ldif, native, suppression
from dupfix_policy.testing import entra_obj, entra_user, only, run

SALES = entra_obj("group", "sales", mail="sales@contoso.com", mailEnabled=True, proxyAddresses=("SMTP:sales@contoso.com",))
WHERE = Location("plans/x.yaml", 3, 1)


def write(tmp_path: Path, text: str, name: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the comment itself ----------------------------------------------------------------------------


def test_comment_names_codes_and_a_reason():
    assert suppression.parse("# dupfix: ignore DUP002,dup003 shared inbox, CHG-1", WHERE) == {
        "DUP002": ("shared inbox, CHG-1", WHERE),
        "DUP003": ("shared inbox, CHG-1", WHERE),
    }


def test_rule_ids_work_as_well_as_codes():
    assert "duplicate-proxy-address" in suppression.parse("# dupfix: ignore duplicate-proxy-address ok", WHERE)


def test_ordinary_comments_suppress_nothing():
    assert suppression.parse("# the sales team's new lead", WHERE) == {}


def test_a_suppression_without_a_reason_is_an_error_at_its_line():
    with pytest.raises(UserInputError) as exc:
        suppression.parse("# dupfix: ignore DUP002", WHERE)
    assert exc.value.location == WHERE
    assert "gives no reason" in exc.value.message


def test_a_suppression_naming_no_rule_is_an_error():
    with pytest.raises(UserInputError, match="not a rule code or id"):
        suppression.parse("# dupfix: ignore because I said so", WHERE)


# --- where each format looks --------------------------------------------------------------------


YAML_PLAN = """\
version: 1
changes:
  # dupfix: ignore DUP002 the Sales inbox moves to Sam this week (CHG-7)
  - op: create
    kind: user
    set:
      userPrincipalName: sam@contoso.com
      proxyAddresses: [SMTP:sam@contoso.com, smtp:sales@contoso.com]
  - op: create
    kind: user
    set:
      userPrincipalName: lee@contoso.com
      proxyAddresses: [smtp:sales@contoso.com]  # dupfix: ignore DUP005 Lee covers while Sam is away
"""


def test_yaml_comment_above_a_change_belongs_to_it(tmp_path):
    sam, lee = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    assert sam.suppressions["DUP002"][0] == "the Sales inbox moves to Sam this week (CHG-7)"
    assert sam.suppressions["DUP002"][1].line == 3
    assert "DUP002" not in lee.suppressions


def test_yaml_trailing_comment_inside_a_change_belongs_to_it(tmp_path):
    _, lee = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    reason, where = lee.suppressions["DUP005"]
    assert (reason, where.line, where.column) == ("Lee covers while Sam is away", 13, 49)


def test_json_plans_have_no_comments_and_no_suppressions(tmp_path):
    text = '{"version": 1, "changes": [{"op": "create", "kind": "user", "set": {"userPrincipalName": "a@contoso.com"}}]}'
    (change,) = native.load(write(tmp_path, text, "plan.json"), {}).changes
    assert change.suppressions == {}


def test_csv_comment_lines_above_a_row_belong_to_it():
    path = Path(__file__).parent / "fixtures" / "plans" / "entra-bulk-create.csv"
    pat = entra_csv.load(str(path), {}).changes[-1]
    assert pat.suppressions["DUP004"][1] == Location(str(path), 7, 1)


def test_ldif_comment_above_the_dn_line_belongs_to_the_record():
    path = Path(__file__).parent / "fixtures" / "plans" / "ldifde.ldf"
    megan = ldif.load(str(path), {}).changes[2]
    assert megan.suppressions["DUP002"][1] == Location(str(path), 32, 1)


def test_ldif_comment_separated_by_a_blank_line_does_not_reach_the_record(tmp_path):
    text = "# dupfix: ignore DUP002 not attached\n\ndn: CN=A,DC=contoso,DC=com\nchangetype: delete\n"
    (change,) = ldif.load(write(tmp_path, text, "x.ldf"), {}).changes
    assert change.suppressions == {}


# --- how the report shows it ----------------------------------------------------------------------


def test_suppressed_finding_is_reported_with_its_reason_and_place(tmp_path):
    sam, _ = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    report = run([sam], [SALES])
    finding = only(report, "DUP002")
    assert finding.suppressed == {"kind": "inline", "reason": "the Sales inbox moves to Sam this week (CHG-7)",
                                  "location": f"{tmp_path / 'plan.yaml'}:3:1"}
    assert report.suppressed == 1 and report.count("error") == 0


def test_suppression_of_another_rule_leaves_the_finding_standing(tmp_path):
    _, lee = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    finding = only(run([lee], [SALES]), "DUP002")
    assert finding.suppressed is None


def test_suppression_by_rule_id_matches_the_finding(tmp_path):
    text = YAML_PLAN.replace("ignore DUP002", "ignore duplicate-proxy-address")
    sam, _ = native.load(write(tmp_path, text, "plan.yaml"), {}).changes
    assert only(run([sam], [SALES]), "DUP002").suppressed is not None


def test_policy_exemption_still_wins_over_an_inline_comment(tmp_path):
    """An exemption in the policy is the stronger statement: it has an owner and an expiry."""
    from dupfix_policy.policy import load_policy

    policy_file = write(tmp_path, "version: 1\nname: contoso\nextends: default\nexemptions:\n"
                        "  - {rule: DUP002, value: smtp:sales@contoso.com, reason: handover (CHG-7)}\n", "policy.yaml")
    sam, _ = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    finding = only(run([sam], [SALES], policy=load_policy(policy_file)), "DUP002")
    assert finding.suppressed["kind"] == "exemption"


def test_holder_unrelated_to_the_comment_is_not_hidden(tmp_path):
    sam, _ = native.load(write(tmp_path, YAML_PLAN, "plan.yaml"), {}).changes
    report = run([sam], [SALES, entra_user("sam@contoso.com")])
    assert only(report, "DUP001").suppressed is None


def test_csv_comment_separated_by_a_blank_line_does_not_reach_the_row(tmp_path):
    header = "version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required\n"
    text = header + "# dupfix: ignore DUP001 not attached\n\nKim,kim@contoso.com\n"
    (change,) = entra_csv.load(write(tmp_path, text, "x.csv"), {}).changes
    assert change.suppressions == {}
