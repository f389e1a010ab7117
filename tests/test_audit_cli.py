"""`dupfix audit` end to end on the demo tenant: the check's report shape and exit codes, the
suggested plan that `dupfix check` itself accepts, and the CSV and SARIF outputs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

from dupfix_policy import cli
from dupfix_policy.audit import audit_fingerprint
from dupfix_policy.audit.csv_report import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"
SOURCE = f"snapshot:{TENANT}"


def audit(*args: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["audit", "--source", SOURCE, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def audit_json(*args: str, capsys) -> tuple[int, dict]:
    code, out, _ = audit("--format", "json", *args, capsys=capsys)
    return code, json.loads(out)


def check_json(plan: Path, capsys) -> tuple[int, dict]:
    code = cli.main(["check", str(plan), "--source", SOURCE, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def by_code(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in report["findings"]:
        out.setdefault(f["code"], []).append(f)
    return out


def test_the_demo_tenants_existing_conflicts_fail_the_audit_with_the_checks_exit_code(capsys):
    code, report = audit_json(capsys=capsys)
    assert code == 1
    assert {"DUP001", "DUP002", "DUP003", "DUP004", "DUP008", "DUP010", "DUP011", "DUP012", "DUP013"} <= set(
        by_code(report)
    )


def test_fail_on_never_reports_and_exits_0(capsys):
    code, report = audit_json("--fail-on", "never", capsys=capsys)
    assert code == 0 and report["summary"]["error"] > 0


def test_the_audit_report_is_a_check_report_with_the_audits_totals(capsys):
    from importlib import resources

    _, report = audit_json(capsys=capsys)
    schema = json.loads(resources.files("dupfix_policy.schemas").joinpath("report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert list(report).index("summary") < list(report).index("findings")
    summary = report["summary"]
    assert summary["changes"] == 0 and summary["objects"] == len(json.loads(TENANT.read_text())["objects"])
    assert summary["quarantined"] == len(by_code(report)["DUP012"]) == 2
    assert summary["conflicts"] == sum(1 for f in report["findings"] if f["code"] != "DUP012")
    assert all(f["change"] is None and f["location"]["path"] == str(TENANT) for f in report["findings"])


def test_a_quarantined_value_names_the_object_it_belongs_to_and_who_holds_it(capsys):
    _, report = audit_json(capsys=capsys)
    support = next(f for f in by_code(report)["DUP012"] if f["key"] == "proxy:smtp:support@contoso.com")
    dana, group = support["holders"]
    assert (dana["name"], dana["via"]) == ("dana@contoso.com", "quarantine")
    assert {o["directory"] for o in dana["objects"]} == {"entra", "ad"}
    assert (group["name"], group["kind"], group["via"]) == (
        "Support <support@contoso.com>",
        "group",
        "attribute",
    )


def test_each_holder_says_its_kind_state_and_directories(capsys):
    _, report = audit_json(capsys=capsys)
    orders = next(f for f in by_code(report)["DUP004"] if f["key"] == "proxy:smtp:orders@contoso.com")
    states = {
        h["name"]: (h["kind"], h["state"], [o["directory"] for o in h["objects"]]) for h in orders["holders"]
    }
    assert states == {
        "victor@contoso.com": ("user", "soft-deleted", ["entra"]),
        "Orders <orders@contoso.com>": ("group", "active", ["entra"]),
    }


def test_fingerprints_are_code_key_and_the_sorted_holder_ids(capsys):
    _, report = audit_json(capsys=capsys)
    for f in report["findings"]:
        ids = [f"{o['directory']}:{o['id']}" for h in f["holders"] for o in h["objects"]]
        assert f["fingerprint"] == audit_fingerprint(f["code"], f["key"], ids)
    assert len({f["fingerprint"] for f in report["findings"]}) == len(report["findings"])


def test_severities_come_from_the_policy(tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nname: lenient\nextends: default\nrules: {DUP002: warning, DUP012: off}\n")
    _, report = audit_json("--policy", str(policy), capsys=capsys)
    codes = by_code(report)
    assert {f["severity"] for f in codes["DUP002"]} == {"warning"}
    assert "DUP012" not in codes and report["policy"] == "lenient"


def test_an_exempted_conflict_is_suppressed_and_left_out_of_the_suggested_plan(tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nname: contoso\nextends: default\nexemptions:\n"
        '  - {rule: DUP002, value: smtp:events@contoso.com, reason: "shared events mailbox, CHG-42"}\n'
    )
    plan = tmp_path / "fix.yaml"
    _, report = audit_json("--policy", str(policy), "--emit-plan", str(plan), capsys=capsys)
    events = next(f for f in report["findings"] if f["key"] == "proxy:smtp:events@contoso.com")
    assert events["suppressed"]["reason"] == "shared events mailbox, CHG-42"
    assert "smtp:events@contoso.com" not in plan.read_text()


def test_every_conflict_has_a_suggested_resolution_with_a_reason(capsys):
    _, report = audit_json(capsys=capsys)
    for f in report["findings"]:
        resolution = f["resolution"]
        assert resolution["reason"] and f["fix"]
        assert resolution["needsDecision"] == (not resolution["actions"]) or f["code"] == "DUP012"
    events = next(f for f in report["findings"] if f["key"] == "proxy:smtp:events@contoso.com")
    assert events["fix"].startswith("Suggested: remove smtp:events@contoso.com from user owen@contoso.com")
    assert "cloud-only" in events["resolution"]["reason"]


def test_the_suggested_plan_passes_the_check_against_the_same_source(tmp_path, capsys):
    plan = tmp_path / "fix.yaml"
    _, report = audit_json("--emit-plan", str(plan), capsys=capsys)
    code, checked = check_json(plan, capsys)
    assert code == 0 and checked["summary"]["error"] == 0
    assert checked["summary"]["changes"] == report["summary"]["suggestedChanges"] > 0
    # Every conflict the plan acts on is gone after it: none is left as an existing conflict.
    resolved = {f["key"] for f in report["findings"] if f["resolution"]["actions"]}
    assert resolved and not resolved & {f["key"] for f in checked["findings"] if f["code"] == "DUP009"}


def test_the_suggested_plan_uses_update_remove_delete_purge_and_restore_each_with_its_directory(
    tmp_path, capsys
):
    import yaml

    plan = tmp_path / "fix.yaml"
    audit_json("--emit-plan", str(plan), capsys=capsys)
    changes = yaml.safe_load(plan.read_text())["changes"]
    ops = {(c["op"], c["directory"], bool(c.get("purge")), "remove" in c) for c in changes}
    assert {("update", "ad", False, True), ("update", "entra", False, True), ("delete", "entra", True, False),
            ("restore", "entra", False, False)} <= ops  # fmt: skip
    assert plan.read_text().startswith("# Suggested by `dupfix audit`")


def test_the_ldif_holds_the_on_prem_part_and_passes_the_check_too(tmp_path, capsys):
    ldif = tmp_path / "fix.ldf"
    audit_json("--emit-ldif", str(ldif), capsys=capsys)
    text = ldif.read_text()
    assert (
        "dn: CN=Dana Support,OU=Staff,DC=contoso,DC=com\nchangetype: modify\ndelete: proxyAddresses\n" in text
    )
    assert "proxyAddresses: smtp:support@contoso.com\n-\n" in text
    assert "dn: CN=Ivy Temp,OU=Contractors,DC=contoso,DC=com" in text
    code, checked = check_json(ldif, capsys)
    assert code == 0 and checked["summary"]["changes"] == 2 and checked["summary"]["error"] == 0


def test_no_plan_is_written_when_there_is_nothing_to_suggest(tmp_path, capsys):
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"version": 1, "tenant": {}, "objects": [
        {"id": "1", "kind": "user", "directory": "entra", "userPrincipalName": "a@contoso.com"}]}))  # fmt: skip
    plan = tmp_path / "fix.yaml"
    code = cli.main(["audit", "--source", f"snapshot:{clean}", "--format", "json", "--emit-plan", str(plan)])
    out = capsys.readouterr()
    assert code == 0 and json.loads(out.out)["findings"] == []
    assert not plan.exists() and "not written" in out.err


def test_the_text_report_starts_with_the_summary(capsys):
    _, out, _ = audit("--format", "text", capsys=capsys)
    first, second = out.splitlines()[:2]
    assert first.startswith(f"dupfix audit of {SOURCE}")
    assert "conflicts" in second and "quarantined values" in second


def test_the_csv_report_has_one_row_per_holder_object_with_documented_columns(capsys):
    _, out, _ = audit("--format", "csv", capsys=capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == COLUMNS
    _, report = audit_json(capsys=capsys)
    assert len(rows) == sum(len(h["objects"]) for f in report["findings"] for h in f["holders"])
    dana = [r for r in rows if r["code"] == "DUP002" and r["key"] == "proxy:smtp:support@contoso.com"
            and r["holder"] == "1"]  # fmt: skip
    assert sorted(r["directory"] for r in dana) == ["ad", "entra"]
    assert {r["domain"] for r in dana} == {"contoso.com"}


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused():
    from dupfix_policy.audit.csv_report import _cell

    assert _cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert _cell("-1") == "'-1" and _cell("smtp:a@b") == "smtp:a@b"


def test_sarif_points_code_scanning_at_the_snapshot(capsys):
    _, out, _ = audit("--format", "sarif", capsys=capsys)
    run = json.loads(out)["runs"][0]
    assert run["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"examples/tenant.json"}


@pytest.mark.parametrize("spec", ["snapshot:does-not-exist.json", "nosuchscheme:x"])
def test_a_bad_source_is_exit_2(spec, capsys):
    assert cli.main(["audit", "--source", spec]) == 2
