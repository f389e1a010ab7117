"""`dupfix fix` and `check --suggest`: a free value, written into the plan file, proven by a re-check.

Every test runs the real CLI against a snapshot of fix_support's tenant (jane.doe held in AD and
Entra, jane.doe2 a secondary address elsewhere, john.smith soft-deleted, maya@ quarantined,
the Marketing group's alias), then checks the written file again against the same state.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from fix_support import check_report, dupfix, errors, write_tenant

from dupfix_policy.schemas import load_schema

ROOT = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = json.loads((ROOT / "tests" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_CONFIG", "DUPFIX_POLICY", "DUPFIX_FAIL_ON"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def source(tmp_path) -> str:
    return f"snapshot:{write_tenant(tmp_path)}"


def fix_and_recheck(path: Path, source: str, tmp_path: Path, capsys) -> tuple[int, dict]:
    """fix --write, then check the written file against the same state (the proof)."""
    code = dupfix("fix", str(path), "--source", source, "--write")
    capsys.readouterr()
    _, report = check_report(tmp_path, str(path), "--source", source)
    return code, report


# --- one plan format at a time: the value is rewritten in place, the rest kept byte for byte --------------

YAML_PLAN = """\
# New starters, December batch (CHG-4100)
version: 1
changes:
  - op: create   # Jane joins Finance
    kind: user
    ref: jane
    set:
      userPrincipalName: "jane.doe@contoso.com"
      mail: 'jane.doe@contoso.com'
      givenName: Jane
      surname: Doe
      displayName: Jane Doe
      mailNickname: jane.doe
      proxyAddresses: [SMTP:jane.doe@contoso.com, smtp:jd@contoso.com]
"""


def test_yaml_upn_mail_primary_smtp_and_alias_that_were_one_address_get_one_new_address(tmp_path, source, capsys):
    plan = tmp_path / "hires.yaml"
    plan.write_text(YAML_PLAN, encoding="utf-8")
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    # jane.doe is Jane Doe's in AD and Entra; jane.doe2 is the front desk's smtp: address.
    assert code == 0 and errors(report) == []
    assert plan.read_text(encoding="utf-8") == YAML_PLAN.replace("jane.doe", "jane.doe3")


def test_json_native_plan_is_fixed_in_place(tmp_path, source, capsys):
    plan = tmp_path / "hires.json"
    text = json.dumps({"version": 1, "changes": [{"op": "create", "kind": "user", "set": {
        "userPrincipalName": "john.smith@contoso.com", "displayName": "John Smith"}}]}, indent=4) + "\n"  # fmt: skip
    plan.write_text(text, encoding="utf-8")
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    # john.smith is taken by a soft-deleted holder (the recycle bin keeps it): john.smith2.
    assert code == 0 and errors(report) == []
    assert plan.read_text(encoding="utf-8") == text.replace("john.smith@", "john.smith2@")


ENTRA_BULK = (
    "version:v1.0,,,,,\r\n"
    "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,"
    "Block sign in (Yes/No) [accountEnabled] Required,First name [givenName],Last name [surname]\r\n"
    "Maya Lopez,maya@contoso.com,Welcome-2026-Ml!,No,Maya,Lopez\r\n"
    '"Doe, Jane",jane.doe@contoso.com,Welcome-2026-Jd!,No,Jane,Doe\r\n'
)


def test_entra_bulk_template_keeps_its_bom_crlf_and_quoting(tmp_path, source, capsys):
    plan = tmp_path / "bulk-create.csv"
    plan.write_bytes(b"\xef\xbb\xbf" + ENTRA_BULK.encode("utf-8"))
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    # maya@ is quarantined on the help desk user: Entra still holds it, so maya2.
    assert code == 0 and errors(report) == []
    expected = ENTRA_BULK.replace("maya@", "maya2@").replace("jane.doe@", "jane.doe3@")
    assert plan.read_bytes() == b"\xef\xbb\xbf" + expected.encode("utf-8")


CSVDE = (
    "DN;objectClass;sAMAccountName;userPrincipalName;givenName;sn;mail;proxyAddresses\n"
    '"CN=Jane Doe (Finance),OU=Staff,DC=contoso,DC=com";user;jdoe;jane.doe@contoso.com;Jane;Doe;jane.doe@contoso.com;'
    '"SMTP:jane.doe@contoso.com;smtp:jane@contoso.com"\n'
)


def test_csvde_with_semicolons_renames_upn_mail_proxy_and_sam_together(tmp_path, source, capsys):
    plan = tmp_path / "csvde.csv"
    plan.write_text(CSVDE, encoding="utf-8")
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    # jdoe is Jane Doe's sAMAccountName in contoso.com: jdoe2.
    assert plan.read_text(encoding="utf-8") == CSVDE.replace(";jdoe;", ";jdoe2;").replace("jane.doe@", "jane.doe3@")


NEW_ADUSER = (
    "Name,GivenName,Surname,SamAccountName,UserPrincipalName,EmailAddress,Path\r\n"
    'Jane Doe (Finance),Jane,Doe,jane.doe,jane.doe@contoso.com,jane.doe@contoso.com,"OU=Staff,DC=contoso,DC=com"\r\n'
)


def test_new_aduser_csv_in_utf16_is_written_back_in_utf16(tmp_path, source, capsys):
    plan = tmp_path / "new-aduser.csv"
    plan.write_bytes(b"\xff\xfe" + NEW_ADUSER.encode("utf-16-le"))
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    fixed = NEW_ADUSER.replace("jane.doe@", "jane.doe3@")
    assert plan.read_bytes() == b"\xff\xfe" + fixed.encode("utf-16-le")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


LDIF = (
    "# December starters\n"
    "dn: CN=Jane Doe (Finance),OU=Staff,DC=contoso,DC=com\n"
    "changetype: add\n"
    "objectClass: user\n"
    "sAMAccountName: jane.d\n"
    f"userPrincipalName:: {b64('jane.doe@contoso.com')}\n"
    "proxyAddresses: SMTP:jane.d\n"
    " oe@contoso.com\n"
    "description: folded\n"
    "  and kept\n"
)


def test_ldif_keeps_base64_as_base64_and_refolds_a_folded_line(tmp_path, source, capsys):
    plan = tmp_path / "starters.ldf"
    plan.write_text(LDIF, encoding="utf-8")
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    assert plan.read_text(encoding="utf-8") == (
        "# December starters\n"
        "dn: CN=Jane Doe (Finance),OU=Staff,DC=contoso,DC=com\n"
        "changetype: add\n"
        "objectClass: user\n"
        "sAMAccountName: jane.d\n"
        f"userPrincipalName:: {b64('jane.doe3@contoso.com')}\n"
        "proxyAddresses: SMTP:jane.d\n"
        " oe3@contoso.com\n"
        "description: folded\n"
        "  and kept\n"
    )


def test_terraform_plan_json_is_not_edited_the_tf_line_to_change_is_printed(tmp_path, capsys):
    shutil.copytree(ROOT / "examples" / "plans" / "formats" / "duplicates" / "terraform", tmp_path / "tf")
    before = (tmp_path / "tf" / "plan.json").read_bytes()
    tenant = f"snapshot:{ROOT / 'examples' / 'tenant.json'}"
    code = dupfix("fix", "tf/plan.json", "--tf-root", "tf", "--source", tenant, "--write")
    out = capsys.readouterr().out
    assert code == 1  # the .tf file is the person's to edit
    assert (tmp_path / "tf" / "plan.json").read_bytes() == before
    assert "tf/main.tf:62: change 'marketing' to 'marketing2' (mailNickname): mail_nickname" in out


# --- several conflicts at once ------------------------------------------------------------------------------

TWO_JANES = """\
version: 1
changes:
  - op: create
    kind: user
    set: {userPrincipalName: jane.doe@contoso.com, displayName: Jane Doe}
  - op: create
    kind: user
    set: {userPrincipalName: Jane.Doe@contoso.com, displayName: Jane Doe (Sales)}
"""


def test_two_rows_colliding_with_each_other_and_the_tenant_get_two_different_free_values(tmp_path, source, capsys):
    plan = tmp_path / "two.yaml"
    plan.write_text(TWO_JANES, encoding="utf-8")
    _, before = check_report(tmp_path, str(plan), "--source", source)
    # The check says DUP005 on both (one finding per value); the tenant's Jane holds it as well.
    assert sorted(c for c, _ in errors(before)) == ["DUP005", "DUP005"]
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    assert plan.read_text(encoding="utf-8") == TWO_JANES.replace("jane.doe@", "jane.doe3@").replace(
        "Jane.Doe@", "Jane.Doe4@"
    )


def test_a_value_another_change_of_the_plan_claims_is_never_suggested(tmp_path, source, capsys):
    plan = tmp_path / "plan.yaml"
    text = (
        "version: 1\nchanges:\n"
        "  - op: create\n    kind: user\n    set: {userPrincipalName: jane.doe@contoso.com}\n"
        "  - op: create\n    kind: user\n    set: {userPrincipalName: jane.doe3@contoso.com}\n"
    )
    plan.write_text(text, encoding="utf-8")
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    assert "jane.doe4@contoso.com" in plan.read_text(encoding="utf-8")


def test_a_naming_convention_in_dupfix_yaml_makes_the_candidates(tmp_path, source, capsys):
    (tmp_path / ".dupfix.yaml").write_text(
        "naming:\n  upn: ['{given}.{sur}@{domain}', '{g}{sur}{n}@{domain}']\n", encoding="utf-8"
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nchanges:\n  - op: create\n    kind: user\n    set:\n"
                    "      userPrincipalName: jane.doe@contoso.com\n      givenName: Jane\n      surname: Doe\n",
                    encoding="utf-8")  # fmt: skip
    code, report = fix_and_recheck(plan, source, tmp_path, capsys)
    assert code == 0 and errors(report) == []
    assert "userPrincipalName: jdoe@contoso.com" in plan.read_text(encoding="utf-8")


def test_a_bad_naming_pattern_in_dupfix_yaml_is_exit_2_naming_the_file_and_field(tmp_path, source, capsys):
    (tmp_path / ".dupfix.yaml").write_text("naming:\n  upn: ['{first}@{domain}']\n", encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text(TWO_JANES, encoding="utf-8")
    assert dupfix("fix", str(plan), "--source", source) == 2
    err = capsys.readouterr().err
    assert ".dupfix.yaml" in err and "naming.upn" in err and "Traceback" not in err


# --- what fix leaves alone ----------------------------------------------------------------------------------


def test_diff_prints_a_unified_diff_and_changes_nothing(tmp_path, source, capsys):
    plan = tmp_path / "hires.yaml"
    plan.write_text(YAML_PLAN, encoding="utf-8")
    assert dupfix("fix", "hires.yaml", "--source", source, "--diff") == 0
    out = capsys.readouterr().out
    assert "--- a/hires.yaml\n+++ b/hires.yaml\n" in out and '-      userPrincipalName: "jane.doe@contoso.com"' in out
    assert '+      userPrincipalName: "jane.doe3@contoso.com"' in out
    assert plan.read_text(encoding="utf-8") == YAML_PLAN


def test_a_restore_into_an_address_an_active_group_holds_gets_the_audits_resolution_and_fix_exits_1(tmp_path, capsys):
    deleted = {"id": "0b6f0c2e-1111-4c7e-9f00-000000000001", "kind": "user", "directory": "entra",
               "state": "soft-deleted", "userPrincipalName": "0b6f0c2e11114c7e9f00000000000001sam@contoso.com",
               "proxyAddresses": ["SMTP:sam@contoso.com"]}  # fmt: skip
    holder = {"id": "0b6f0c2e-1111-4c7e-9f00-000000000002", "kind": "group", "directory": "entra",
              "state": "active", "displayName": "Sam desk", "mail": "sam@contoso.com",
              "proxyAddresses": ["SMTP:sam@contoso.com"], "mailEnabled": True, "mailNickname": "samdesk"}  # fmt: skip
    source = f"snapshot:{write_tenant(tmp_path, [deleted, holder])}"
    plan = tmp_path / "restore.yaml"
    text = "version: 1\nchanges:\n  - op: restore\n    kind: user\n    target: {id: 0b6f0c2e-1111-4c7e-9f00-000000000001}\n"
    plan.write_text(text, encoding="utf-8")
    _, report = check_report(tmp_path, str(plan), "--source", source, "--suggest")
    found = [f for f in report["findings"] if f["severity"] == "error"]
    assert {f["code"] for f in found} == {"DUP002", "DUP003"}
    for finding in found:  # the restored user's own address: no new value, someone has to decide
        assert finding["suggestion"]["kind"] == "resolution"
        assert "decide which one keeps it" in finding["suggestion"]["text"]
    assert dupfix("fix", str(plan), "--source", source, "--write") == 1
    assert plan.read_text(encoding="utf-8") == text


# --- the reports ----------------------------------------------------------------------------------------------


def test_json_report_carries_the_suggestion_and_validates_against_the_report_schema(tmp_path, source):
    plan = tmp_path / "hires.yaml"
    plan.write_text(YAML_PLAN, encoding="utf-8")
    _, report = check_report(tmp_path, str(plan), "--source", source, "--suggest")
    jsonschema.validate(report, load_schema("report"))
    dup = next(f for f in report["findings"] if f["code"] == "DUP001")
    assert dup["suggestion"]["kind"] == "value" and dup["suggestion"]["value"] == "jane.doe3@contoso.com"
    written = {(r["attribute"], r["old"], r["new"]) for r in dup["suggestion"]["replacements"]}
    assert written == {
        ("userPrincipalName", "jane.doe@contoso.com", "jane.doe3@contoso.com"),
        ("mail", "jane.doe@contoso.com", "jane.doe3@contoso.com"),
        ("proxyAddresses", "SMTP:jane.doe@contoso.com", "SMTP:jane.doe3@contoso.com"),
        ("mailNickname", "jane.doe", "jane.doe3"),
    }
    assert any("round trip" in n for n in report["notes"])


def test_sarif_fixes_replace_the_exact_span_in_the_plan_and_validate(tmp_path, source):
    plan = tmp_path / "hires.yaml"
    plan.write_text(YAML_PLAN, encoding="utf-8")
    dupfix("check", str(plan), "--source", source, "--suggest", "--format", "sarif=out.sarif")
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "DUP001"]
    (change,) = result["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "hires.yaml"
    upn = change["replacements"][0]
    assert upn["deletedRegion"] == {"startLine": 8, "startColumn": 27, "endLine": 8, "endColumn": 47}
    assert upn["insertedContent"] == {"text": "jane.doe3@contoso.com"}


def test_text_and_github_reports_show_the_suggestion(tmp_path, source, capsys):
    plan = tmp_path / "hires.yaml"
    plan.write_text(YAML_PLAN, encoding="utf-8")
    dupfix("check", str(plan), "--source", source, "--suggest", "--format", "text")
    assert "suggest: use jane.doe3@contoso.com" in capsys.readouterr().out
    dupfix("check", str(plan), "--source", source, "--suggest", "--format", "github")
    assert "suggest: use jane.doe3@contoso.com" in capsys.readouterr().out


def test_under_the_strict_policy_format_errors_get_a_clean_value_that_passes_the_format_rules(tmp_path, source, capsys):
    long_local = "a" * 60 + "alice"  # 65 characters: one over the local part's 64
    plan = tmp_path / "names.yaml"
    text = (
        "version: 1\nchanges:\n"
        "  - op: create\n    kind: user\n    set: {userPrincipalName: jörg.müller@contoso.com, displayName: Jörg}\n"
        f"  - op: create\n    kind: user\n    set: {{userPrincipalName: {long_local}@contoso.com, displayName: A}}\n"
    )
    plan.write_text(text, encoding="utf-8")
    assert dupfix("fix", str(plan), "--source", source, "--policy", "strict", "--write") == 0
    capsys.readouterr()
    fixed = plan.read_text(encoding="utf-8")
    assert "userPrincipalName: jorg.muller@contoso.com" in fixed  # FMT004: transliterated
    assert f"userPrincipalName: {long_local[:64]}@contoso.com" in fixed  # FMT001: cut to the limit
    _, report = check_report(tmp_path, str(plan), "--source", source, "--policy", "strict")
    assert errors(report) == []
