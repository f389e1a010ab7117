"""`dupfix check` over every plan format: detection, forcing a format, settings, and bad files (exit 2)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"
FIXTURES = Path(__file__).parent / "fixtures" / "plans"
ENTRA_HEADER = "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory outside the repository, so no .dupfix.yaml is found."""
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code = cli.main(["check", *args, "--source", f"snapshot:{TENANT}", "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"] if f["suppressed"] is None}


# --- detection and mixes ---------------------------------------------------------------------------


def test_a_mix_of_files_and_directories_in_every_format_is_checked_as_one_plan(workdir, capsys):
    shutil.copytree(FIXTURES / "terraform", workdir / "infra")
    shutil.copy(FIXTURES / "csvde.csv", workdir / "csvde.csv")
    (workdir / "ad").mkdir()
    shutil.copy(FIXTURES / "ldifde.ldf", workdir / "ad" / "ldifde.ldf")
    shutil.copy(FIXTURES / "entra-bulk-invite.csv", workdir / "ad" / "invite.csv")
    code, report = check_json(capsys, "infra", "csvde.csv", "ad")
    formats = {f["change"]["file"].split("/")[0] for f in report["findings"]}
    assert code == 1
    assert {"infra", "csvde.csv", "ad"} <= formats
    assert {"DUP001", "DUP002", "DUP010", "DUP014"} <= codes(report)


def test_files_no_format_reads_are_skipped_with_a_note_in_a_directory(workdir, capsys):
    shutil.copytree(FIXTURES / "terraform", workdir / "infra")
    _, report = check_json(capsys, "infra")
    assert any("skipped infra/main.tf" in n for n in report["notes"])


def test_plan_format_flag_forces_a_format_on_an_unusual_name(workdir, capsys):
    write(workdir / "changes.dat", (FIXTURES / "ldifde-unicode.ldf").read_bytes())
    code, report = check_json(capsys, "changes.dat", "--plan-format", "ldif")
    assert code == 1 and codes(report) == {"DUP002"}


def test_unrecognised_file_named_explicitly_is_exit_2_naming_the_formats(workdir, capsys):
    write(workdir / "notes.csv", "Quarter,Revenue\nQ1,10\n")
    assert cli.main(["check", "notes.csv", "--source", "none"]) == 2
    err = capsys.readouterr().err
    assert "notes.csv: no plan format recognises this file" in err
    assert "entra-csv" in err and "terraform" in err and "ldif" in err


def test_tf_root_flag_points_findings_at_the_tf_source(workdir, capsys):
    shutil.copytree(FIXTURES / "terraform", workdir / "infra")
    (workdir / "out").mkdir()
    shutil.move(str(workdir / "infra" / "plan.json"), workdir / "out" / "plan.json")
    _, report = check_json(capsys, "out/plan.json", "--tf-root", "infra")
    dup001 = next(f for f in report["findings"] if f["code"] == "DUP001")
    assert dup001["location"] == {"path": "infra/modules/staff/main.tf", "line": 13, "column": 1}


def test_without_tf_files_findings_point_at_the_plan_and_name_the_resource(workdir, capsys):
    write(workdir / "plan.json", (FIXTURES / "terraform" / "plan.json").read_text())
    _, report = check_json(capsys, "plan.json")
    dup001 = next(f for f in report["findings"] if f["code"] == "DUP001")
    assert dup001["location"]["path"] == "plan.json"
    assert dup001["change"]["ref"] == 'module.staff.azuread_user.this["adele.vance"]'


def test_terraform_findings_on_predicted_values_say_so(workdir, capsys):
    shutil.copytree(FIXTURES / "terraform", workdir / "infra")
    _, report = check_json(capsys, "infra/plan.json")
    gwen = next(f for f in report["findings"] if f["value"] == "SMTP:gwen@fabrikam.com")
    assert (gwen["code"], gwen["predicted"]) == ("DUP002", True)


def test_sensitive_values_never_reach_any_report(workdir, capsys):
    shutil.copytree(FIXTURES / "terraform", workdir / "infra")
    cli.main(["check", "infra/plan.json", "--source", f"snapshot:{TENANT}", "--format", "json"])
    cli.main(["check", "infra/plan.json", "--source", f"snapshot:{TENANT}", "--format", "text"])
    out = capsys.readouterr()
    assert "Welcome-2026" not in out.out + out.err


def test_inline_suppression_shows_in_the_report_and_does_not_fail_the_check(workdir, capsys):
    text = (FIXTURES / "entra-bulk-create.csv").read_text().replace("Megan Vance,megan.vance@contoso.com", "Kim,kim.new@contoso.com")
    write(workdir / "create.csv", text)
    code, report = check_json(capsys, "create.csv")
    pat = next(f for f in report["findings"] if f["code"] == "DUP004")
    assert pat["suppressed"]["kind"] == "inline" and pat["suppressed"]["location"] == "create.csv:7:1"
    assert report["summary"]["suppressed"] >= 1
    assert code == 0


# --- settings from .dupfix.yaml ----------------------------------------------------------------


def test_column_mappings_and_csv_settings_come_from_the_config(workdir, capsys):
    shutil.copy(FIXTURES / "new-aduser-mapped.csv", workdir / "people.csv")
    write(workdir / ".dupfix.yaml", (FIXTURES / "new-aduser-mapped.dupfix.yaml").read_text()
          .replace("../../../examples/tenant.json", str(TENANT)))
    code = cli.main(["check", "people.csv", "--plan-format", "csv", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["code"], f["value"]) for f in report["findings"]] == [("DUP002", "smtp:hr@contoso.com")]


def test_a_bad_csv_setting_in_the_config_is_exit_2_at_its_line(workdir, capsys):
    write(workdir / ".dupfix.yaml", f"sources: [snapshot:{TENANT}]\ncsv:\n  separator: ';;'\n")
    shutil.copy(FIXTURES / "csvde.csv", workdir / "csvde.csv")
    assert cli.main(["check", "csvde.csv"]) == 2
    assert re.search(r"\.dupfix\.yaml:3:\d+", capsys.readouterr().err)


# --- bad input: exit 2, file and line, no traceback ----------------------------------------------

BAD_FILES = {
    # Entra admin center CSVs
    "entra-version.csv": (f"version:v3.0\n{ENTRA_HEADER}\nKim,kim@contoso.com,pw\n", 1, "not supported"),
    "entra-wide-row.csv": (f"version:v1.0\n{ENTRA_HEADER}\nKim,kim@contoso.com,pw,extra\n", 3, "4 values"),
    "entra-quote.csv": (f'version:v1.0\n{ENTRA_HEADER}\n"Kim,kim@contoso.com,pw\n', 3, "never closed"),
    "entra-no-upn.csv": (f"version:v1.0\n{ENTRA_HEADER}\nKim,,pw\n", 3, "is empty"),
    # csvde / New-ADUser CSVs
    "csvde-wide.csv": ("DN,sAMAccountName\n\"CN=A,DC=contoso,DC=com\",a,b\n", 2, "3 values"),
    "csvde-header.csv": ("DN,sAMAccountName,ProxyAdresses\n\"CN=A,DC=contoso,DC=com\",a,smtp:a@contoso.com\n", 1,
                         "did you mean proxyAddresses"),
    "csvde-class.csv": ("DN,objectClass,sAMAccountName\n\"CN=A,DC=contoso,DC=com\",printQueue,a\n", 2, "objectClass"),
    "csvde-quote.csv": ('DN,sAMAccountName\n"CN=A,DC=contoso,DC=com"x,a\n', 2, "after a quoted"),
    # LDIF
    "no-dash.ldf": ("dn: CN=A,DC=contoso,DC=com\nchangetype: modify\nadd: proxyAddresses\n"
                    "proxyAddresses: smtp:a@contoso.com\nreplace: mail\nmail: a@contoso.com\n-\n", 5, "not closed with `-`"),
    "base64.ldf": ("dn: CN=A,DC=contoso,DC=com\nobjectClass: user\nproxyAddresses:: %%%\n", 3, "not valid base64"),
    "no-dn.ldf": ("objectClass: user\nsAMAccountName: a\n", 1, "must start with `dn:`"),
    "changetype.ldf": ("dn: CN=A,DC=contoso,DC=com\nchangetype: upsert\n", 2, "unknown changetype"),
    # Terraform plan JSON
    "truncated.json": ('{"format_version": "1.2",\n "terraform_version": "1.9.8",\n "resource_changes": [\n  {"address": ',
                       4, "invalid JSON"),
    "no-changes.json": ('{"format_version": "1.2", "terraform_version": "1.9.8", "values": {}}', 1, "resource_changes"),
    "major.json": ('{"format_version": "2.0", "terraform_version": "2.0.0", "resource_changes": []}', 1, "not supported"),
    "actions.json": ('{"format_version": "1.2", "terraform_version": "1.9.8",\n"resource_changes": [\n'
                     '{"address": "azuread_user.a", "type": "azuread_user", "name": "a", "change": {"actions": "zap"}}]}',
                     3, "must be a list of action names"),
}
FORMAT_OF = {".csv": "entra-csv", ".ldf": "ldif", ".json": "terraform"}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_file_is_exit_2_with_file_line_and_what_is_wrong(name, workdir, capsys):
    text, line, words = BAD_FILES[name]
    write(workdir / name, text)
    plan_format = "csv" if name.startswith("csvde") else FORMAT_OF[Path(name).suffix]
    assert cli.main(["check", name, "--plan-format", plan_format, "--source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"dupfix: error: {name}:{line}" in err
    assert words in err
    assert "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_files_are_detected_as_their_format_without_a_flag(name, workdir, capsys):
    text, line, _ = BAD_FILES[name]
    write(workdir / name, text)
    assert cli.main(["check", name, "--source", "none"]) == 2
    err = capsys.readouterr().err
    assert f"{name}:{line}" in err, err
