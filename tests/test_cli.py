"""The command line as users meet it: exit codes, reports, and one-line errors naming the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"
REPORT_SCHEMA = json.loads((ROOT / "dupfix_policy" / "schemas" / "report.schema.json").read_text())

CLEAN_PLAN = """\
version: 1
changes:
  - op: create
    kind: user
    set: {userPrincipalName: quinn.north@contoso.com, mailNickname: quinn.north}
"""

DUPLICATE_PLAN = """\
version: 1
changes:
  - op: create
    kind: user
    ref: second-alice
    set:
      userPrincipalName: alice@contoso.com
      proxyAddresses:
        - SMTP:alice.two@contoso.com
        - smtp:sales@contoso.com
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory outside the repository, so no .dupfix.yaml is found."""
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def dupfix(*args: str) -> int:
    return cli.main(list(args))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_clean_plan_passes_with_exit_0(workdir, capsys):
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}") == 0
    assert "0 errors" in capsys.readouterr().out


def test_duplicate_upn_fails_with_exit_1_and_names_file_line_and_holder(workdir, capsys):
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    assert dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}") == 1
    out = capsys.readouterr().out
    assert "plan.yaml:3" in out and "line 7:" in out
    assert "DUP001" in out and "alice@contoso.com" in out
    assert "held by: user alice@contoso.com" in out
    assert "fix:" in out


def test_json_report_matches_its_schema_and_points_at_the_value_line(workdir, capsys):
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, REPORT_SCHEMA)
    dup002 = next(f for f in report["findings"] if f["code"] == "DUP002")
    assert dup002["location"] == {"path": "plan.yaml", "line": 10, "column": 11}
    assert dup002["value"] == "smtp:sales@contoso.com"
    assert dup002["holders"][0]["kind"] == "group"
    assert report["sources"][0]["asOf"] == "2026-11-20T08:00:00Z"
    assert report["summary"]["error"] == 2


def test_same_input_gives_byte_identical_reports(workdir):
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    for name in ("a", "b"):
        dupfix(
            "check",
            "plan.yaml",
            "--source",
            f"snapshot:{TENANT}",
            "--format",
            f"json={name}.json",
            "--format",
            f"text={name}.txt",
        )
    assert (workdir / "a.json").read_bytes() == (workdir / "b.json").read_bytes()
    assert (workdir / "a.txt").read_bytes() == (workdir / "b.txt").read_bytes()


def test_fail_on_never_reports_but_exits_0(workdir):
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    assert dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}", "--fail-on", "never") == 0


def test_fail_on_warning_fails_on_a_warning(workdir):
    write(
        workdir / "plan.yaml",
        "version: 1\nchanges:\n  - op: create\n    kind: user\n"
        "    set: {userPrincipalName: alice.b@contoso.com, mailNickname: alice}\n",
    )
    args = ("check", "plan.yaml", "--source", f"snapshot:{TENANT}")
    assert dupfix(*args) == 0
    assert dupfix(*args, "--fail-on", "warning") == 1


def test_fail_on_never_does_not_hide_bad_input(workdir, capsys):
    write(workdir / "plan.yaml", "version: 1\nchanges:\n  - op: frobnicate\n    kind: user\n")
    assert dupfix("check", "plan.yaml", "--source", "none", "--fail-on", "never") == 2
    err = capsys.readouterr().err
    assert "plan.yaml:3" in err
    assert err.count("\n") == 1


def test_no_source_is_exit_2_naming_both_ways_to_give_one(workdir, capsys):
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml") == 2
    err = capsys.readouterr().err
    assert "--source" in err and ".dupfix.yaml" in err


def test_missing_plan_file_is_exit_2(workdir, capsys):
    assert dupfix("check", "nope.yaml", "--source", "none") == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_named_file_no_loader_recognises_is_exit_2(workdir, capsys):
    write(workdir / "notes.txt", "hello\n")
    assert dupfix("check", "notes.txt", "--source", "none") == 2
    assert "--plan-format" in capsys.readouterr().err


def test_hook_mode_skips_unrecognised_files_with_a_note(workdir, capsys):
    write(workdir / "notes.txt", "hello\n")
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "--hook", "notes.txt", "plan.yaml", "--source", f"snapshot:{TENANT}") == 0
    assert "skipped notes.txt" in capsys.readouterr().out


def test_directory_skips_unrecognised_files_with_a_note(workdir, capsys):
    write(workdir / "plans" / "plan.yaml", CLEAN_PLAN)
    write(workdir / "plans" / "README.md", "# plans\n")
    assert dupfix("check", "plans", "--source", f"snapshot:{TENANT}") == 0
    assert "skipped plans/README.md" in capsys.readouterr().out


def test_unknown_source_scheme_is_exit_2_listing_installed_ones(workdir, capsys):
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml", "--source", "carrier-pigeon:x") == 2
    assert "snapshot" in capsys.readouterr().err


def test_unknown_format_is_exit_2(workdir, capsys):
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml", "--source", "none", "--format", "pdf") == 2
    assert "json" in capsys.readouterr().err


def test_two_formats_on_stdout_is_exit_2(workdir):
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml", "--source", "none", "--format", "json", "--format", "text") == 2


def test_source_none_still_finds_duplicates_inside_the_plan(workdir, capsys):
    write(
        workdir / "plan.yaml",
        "version: 1\nchanges:\n"
        "  - {op: create, kind: user, set: {userPrincipalName: a@contoso.com}}\n"
        "  - {op: create, kind: user, set: {userPrincipalName: A@contoso.com}}\n",
    )
    assert dupfix("check", "plan.yaml", "--source", "none") == 1
    assert "DUP005" in capsys.readouterr().out


def test_config_file_found_walking_up_supplies_the_source(workdir, monkeypatch):
    write(workdir / ".dupfix.yaml", f"sources: ['snapshot:{TENANT}']\n")
    write(workdir / "team" / "plans" / "plan.yaml", DUPLICATE_PLAN)
    monkeypatch.chdir(workdir / "team")
    assert dupfix("check", "plans/plan.yaml") == 1


def test_environment_overrides_the_config_file(workdir, monkeypatch):
    write(workdir / ".dupfix.yaml", "sources: ['snapshot:missing.json']\n")
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    monkeypatch.setenv("DUPFIX_SOURCES", f"snapshot:{TENANT}")
    assert dupfix("check", "plan.yaml") == 1


def test_flag_overrides_the_environment(workdir, monkeypatch):
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    monkeypatch.setenv("DUPFIX_SOURCES", "snapshot:missing.json")
    assert dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}") == 1


def test_broken_config_is_exit_2_naming_the_file(workdir, capsys):
    write(workdir / ".dupfix.yaml", "sources: [unclosed\n")
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml") == 2
    assert ".dupfix.yaml" in capsys.readouterr().err


def test_policy_pack_changes_severity(workdir, tmp_path):
    write(
        workdir / "plan.yaml",
        "version: 1\nchanges:\n  - op: create\n    kind: user\n"
        "    set: {userPrincipalName: alice.b@contoso.com, mailNickname: alice}\n",
    )
    assert dupfix("check", "plan.yaml", "--source", f"snapshot:{TENANT}", "--policy", "strict") == 1


def test_internal_error_is_exit_4_with_one_line(workdir, capsys, monkeypatch):
    import dupfix_policy.engine as engine

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(engine, "check", boom)
    write(workdir / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plan.yaml", "--source", "none") == 4
    err = capsys.readouterr().err
    assert "internal error" in err and "kaboom" in err and "--debug" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(workdir, monkeypatch):
    import dupfix_policy.engine as engine

    monkeypatch.setattr(engine, "check", lambda *a, **k: 1 / 0)
    write(workdir / "plan.yaml", CLEAN_PLAN)
    with pytest.raises(ZeroDivisionError):
        dupfix("check", "plan.yaml", "--source", "none", "--debug")


def test_rules_lists_every_rule_with_its_fix(capsys):
    assert dupfix("rules", "--format", "json") == 0
    rules = json.loads(capsys.readouterr().out)
    codes = {r["code"] for r in rules}
    assert {f"DUP{n:03d}" for n in range(1, 15)} <= codes
    assert {"REF001", "POL001"} <= codes
    assert all(r["fix"] for r in rules)


@pytest.mark.parametrize("name", ["plan", "snapshot", "policy", "report", "config"])
def test_schema_prints_a_valid_json_schema(name, capsys):
    assert dupfix("schema", name) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)


def test_whois_names_every_holder_of_an_address(capsys):
    assert dupfix("whois", "SALES@contoso.com", "--source", f"snapshot:{TENANT}", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [h["name"] for h in data["holders"]] == ["Sales <sales@contoso.com>"]


def test_whois_shows_a_synced_user_as_one_identity_in_both_directories(capsys):
    dupfix("whois", "alice@contoso.com", "--source", f"snapshot:{TENANT}", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert len(data["holders"]) == 1
    assert {o["directory"] for o in data["holders"][0]["objects"]} == {"entra", "ad"}


def test_whois_finds_the_ad_user_a_diacritic_spelling_collides_with_in_ad(capsys):
    # sven@contoso.com exists on-prem; AD compares UPNs without diacritics (KB 938447).
    dupfix("whois", "svén@contoso.com", "--source", f"snapshot:{TENANT}", "--format", "json")
    data = json.loads(capsys.readouterr().out)
    assert "adupn:sven@contoso.com" in data["keys"]
    holds = [h for row in data["holders"] for h in row["holds"]]
    assert {(h["directory"], h["value"], h["key"]) for h in holds} == {
        ("ad", "sven@contoso.com", "adupn:sven@contoso.com")
    }


def test_snapshot_command_round_trips_the_demo_tenant(workdir, capsys):
    assert dupfix("snapshot", "--source", f"snapshot:{TENANT}", "--output", "copy.jsonl") == 0
    assert dupfix("snapshot", "--source", "snapshot:copy.jsonl", "--output", "copy2.jsonl") == 0
    assert (workdir / "copy.jsonl").read_bytes() == (workdir / "copy2.jsonl").read_bytes()
    write(workdir / "plan.yaml", DUPLICATE_PLAN)
    assert dupfix("check", "plan.yaml", "--source", "snapshot:copy.jsonl") == 1


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "dupfix_policy", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("dupfix-policy ")


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("dupfix")
    assert exe.exists(), "pip install should create the dupfix console script"
    out = subprocess.run([str(exe), "rules"], capture_output=True, text=True, env={**os.environ}, check=True)
    assert "DUP001" in out.stdout


def test_a_file_named_twice_is_one_plan_not_its_own_duplicate(workdir):
    write(workdir / "plans" / "plan.yaml", CLEAN_PLAN)
    assert dupfix("check", "plans", "plans/plan.yaml", "--source", f"snapshot:{TENANT}") == 0
