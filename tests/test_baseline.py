"""Baselines: accept today's findings once, then fail only on new ones; the match survives edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
TENANT = f"snapshot:{ROOT / 'examples' / 'tenant.json'}"

# Two existing conflicts in the demo tenant: alice's UPN and the Sales group's address.
LEGACY_IMPORT = """\
version: 1
changes:
  - op: create
    kind: user
    ref: alice-contractor
    set: {userPrincipalName: alice@contoso.com, displayName: Alice (contractor), mailNickname: alice.contractor}
  - op: create
    kind: user
    ref: sales-bot
    set:
      userPrincipalName: sales.bot@contoso.com
      proxyAddresses: [SMTP:sales.bot@contoso.com, smtp:sales@contoso.com]
      displayName: Sales bot
"""

NEW_CONFLICT = """\
  - op: create
    kind: user
    ref: bob-two
    set: {userPrincipalName: bob@contoso.com, displayName: Bob Two, mailNickname: bob.two}
"""


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "import.yaml").write_text(LEGACY_IMPORT, encoding="utf-8")
    return tmp_path


def dupfix(*args: str) -> int:
    return cli.main(["check", "identity/import.yaml", "--source", TENANT, *args])


def report(capsys, *args: str) -> tuple[int, dict]:
    code = dupfix("--format", "json", *args)
    return code, json.loads(capsys.readouterr().out)


def test_create_baseline_writes_todays_findings_and_accepts_them(repo, capsys):
    code = dupfix("--format", "json", "--create-baseline", ".dupfix/baseline.json")
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert code == 0
    assert "wrote 2 finding(s) to baseline .dupfix/baseline.json" in err
    entries = json.loads((repo / ".dupfix" / "baseline.json").read_text())["findings"]
    assert sorted(e["code"] for e in entries) == ["DUP001", "DUP002"]
    assert {f["fingerprint"] for f in data["findings"]} == {e["fingerprint"] for e in entries}
    assert all(f["suppressed"]["kind"] == "baseline" for f in data["findings"])


def test_with_the_baseline_old_findings_are_suppressed_and_counted(repo, capsys):
    assert dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null") == 0
    code, data = report(capsys, "--baseline", "baseline.json")
    assert code == 0
    assert data["summary"]["suppressed"] == 2 and data["summary"]["error"] == 0
    assert [f["suppressed"] for f in data["findings"]] == [{"kind": "baseline", "location": "baseline.json"}] * 2


def test_a_new_finding_fails_while_the_baselined_ones_stay_suppressed(repo, capsys):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    with open(repo / "identity" / "import.yaml", "a", encoding="utf-8") as fh:
        fh.write(NEW_CONFLICT)
    code, data = report(capsys, "--baseline", "baseline.json")
    assert code == 1
    live = [(f["code"], f["value"]) for f in data["findings"] if f["suppressed"] is None]
    assert live == [("DUP001", "bob@contoso.com")]
    assert data["summary"]["suppressed"] == 2


def test_baselined_findings_survive_moved_lines_and_reordered_changes(repo, capsys):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    head, first, second = LEGACY_IMPORT.split("  - op: create\n")
    moved = head + "  # imported from the HR system on 2026-11-01\n\n" + "  - op: create\n" + second + "  - op: create\n" + first
    (repo / "identity" / "import.yaml").write_text(moved, encoding="utf-8")
    code, data = report(capsys, "--baseline", "baseline.json")
    assert code == 0
    assert data["summary"]["suppressed"] == 2
    assert {f["location"]["line"] for f in data["findings"]} != {4, 9}  # the lines did move


def test_renaming_the_change_ref_makes_its_finding_new(repo, capsys):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    text = LEGACY_IMPORT.replace("ref: alice-contractor", "ref: alice-contractor-2")
    (repo / "identity" / "import.yaml").write_text(text, encoding="utf-8")
    code, data = report(capsys, "--baseline", "baseline.json")
    assert code == 1
    assert [f["code"] for f in data["findings"] if f["suppressed"] is None] == ["DUP001"]


def test_fixed_findings_are_named_as_stale_baseline_entries(repo, capsys):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    text = LEGACY_IMPORT.replace("smtp:sales@contoso.com", "smtp:sales.bot2@contoso.com")
    (repo / "identity" / "import.yaml").write_text(text, encoding="utf-8")
    code, data = report(capsys, "--baseline", "baseline.json")
    assert code == 0
    assert any("1 entry of baseline baseline.json no longer match" in n for n in data["notes"])


def test_the_baseline_file_is_stable_and_sorted(repo):
    dupfix("--create-baseline", "a.json", "--format", "json=/dev/null")
    dupfix("--create-baseline", "b.json", "--format", "json=/dev/null")
    a = (repo / "a.json").read_bytes()
    assert a == (repo / "b.json").read_bytes()
    data = json.loads(a)
    assert data["version"] == 1
    assert [(e["file"], e["code"]) for e in data["findings"]] == sorted((e["file"], e["code"]) for e in data["findings"])


def test_recreating_a_baseline_keeps_what_the_old_one_accepted(repo):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    first = (repo / "baseline.json").read_bytes()
    assert dupfix("--baseline", "baseline.json", "--create-baseline", "baseline.json", "--format", "json=/dev/null") == 0
    assert (repo / "baseline.json").read_bytes() == first


def test_missing_baseline_is_exit_2_saying_how_to_make_one(repo, capsys):
    assert dupfix("--baseline", "nope.json") == 2
    err = capsys.readouterr().err
    assert "nope.json" in err and "--create-baseline nope.json" in err


def test_malformed_baseline_is_exit_2_naming_file_and_line(repo, capsys):
    (repo / "baseline.json").write_text('{"version": 1,\n "findings": [{"fingerprint": "abc"}]}\n')
    assert dupfix("--baseline", "baseline.json") == 2
    err = capsys.readouterr().err
    assert "baseline.json:2" in err and "fingerprint" in err


def test_text_summary_says_how_many_were_suppressed_by_the_baseline(repo, capsys):
    dupfix("--create-baseline", "baseline.json", "--format", "json=/dev/null")
    assert dupfix("--baseline", "baseline.json", "--format", "text") == 0
    assert "2 suppressed (2 baseline)" in capsys.readouterr().out
