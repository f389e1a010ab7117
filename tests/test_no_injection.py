"""Plan values, file names and keys can't forge log lines, CI commands or terminal escapes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.safetext import clean

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"
HOSTILE = "x\\n::add-mask::secret\\r##vso[task.setvariable variable=pwned]1\\u001b[2J"
CLEAN_PLAN = "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: quinn@contoso.com}}\n"
CI_COMMAND = re.compile(r"^\s*::|##vso\[|##\[", re.MULTILINE)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("DUPFIX_SOURCES", "DUPFIX_POLICY", "DUPFIX_FAIL_ON", "DUPFIX_CONFIG", "NO_COLOR", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _assert_safe(text: str) -> None:
    assert not CI_COMMAND.search(text), text
    assert "\x1b" not in text and "\r" not in text


def test_clean_escapes_controls_and_neutralises_both_ci_command_syntaxes() -> None:
    assert clean("a\nb") == "a\\nb"
    assert clean("::error::x") == "\\::error::x"
    assert clean("v ##vso[task.complete]") == "v ##vso\\[task.complete]"
    assert clean("\x1b[31m\u202e") == "\\x1b[31m\\u202e"


def test_text_report_escapes_hostile_plan_values(workdir, capsys) -> None:
    plan = workdir / "plan.yaml"
    plan.write_text(
        'version: 1\nchanges:\n  - op: create\n    kind: user\n'
        f'    ref: "{HOSTILE}"\n    set: {{userPrincipalName: alice@contoso.com, displayName: "{HOSTILE}"}}\n',
        encoding="utf-8",
    )
    assert cli.main(["check", str(plan), "--source", f"snapshot:{TENANT}", "--format", "text"]) == 1
    out = capsys.readouterr().out
    assert "DUP001" in out
    _assert_safe(out)


def test_text_report_escapes_a_hostile_file_name(workdir, capsys) -> None:
    plan = workdir / "::error::x\n##vso[task.complete].yaml"
    plan.write_text(
        "version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com}}\n",
        encoding="utf-8",
    )
    assert cli.main(["check", str(plan), "--source", f"snapshot:{TENANT}", "--format", "text"]) == 1
    _assert_safe(capsys.readouterr().out)


def test_error_messages_on_stderr_escape_hostile_keys(workdir, capsys) -> None:
    plan = workdir / "plan.yaml"
    plan.write_text(
        f'version: 1\nchanges:\n  - op: create\n    kind: user\n    "{HOSTILE}": 1\n', encoding="utf-8"
    )
    assert cli.main(["check", str(plan), "--source", "none"]) == 2
    err = capsys.readouterr().err
    assert "dupfix: error:" in err
    _assert_safe(err)
    assert err.count("\n") == 1


def test_config_report_path_outside_the_repository_is_exit_2(workdir, capsys) -> None:
    (workdir / ".dupfix.yaml").write_text("sources: [none]\nformats: ['json=../outside.json']\n", encoding="utf-8")
    plan = workdir / "plan.yaml"
    plan.write_text(CLEAN_PLAN, encoding="utf-8")
    assert cli.main(["check", str(plan)]) == 2
    assert "outside the repository" in capsys.readouterr().err
    assert not (workdir.parent / "outside.json").exists()


def test_config_absolute_report_path_is_exit_2(workdir, capsys) -> None:
    (workdir / ".dupfix.yaml").write_text(f"sources: [none]\nformats: ['json={workdir}/r.json']\n", encoding="utf-8")
    plan = workdir / "plan.yaml"
    plan.write_text(CLEAN_PLAN, encoding="utf-8")
    assert cli.main(["check", str(plan)]) == 2
    assert "outside the repository" in capsys.readouterr().err


def test_command_line_report_path_may_point_anywhere(workdir, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "report.json"
    plan = workdir / "plan.yaml"
    plan.write_text(CLEAN_PLAN, encoding="utf-8")
    assert cli.main(["check", str(plan), "--source", "none", "--format", f"json={elsewhere}"]) == 0
    assert elsewhere.exists()


def test_audit_text_report_escapes_hostile_directory_values(workdir, capsys) -> None:
    from dupfix_policy.sources.snapshot.writer import write_snapshot
    from dupfix_policy.testing import entra_user

    hostile = "x\n::error::pwned ##vso[task.complete]"
    objects = [
        entra_user(f"a{hostile}@contoso.com", id="a", displayName=hostile, proxyAddresses=("SMTP:shared@contoso.com",)),
        entra_user("b@contoso.com", id="b", displayName=hostile, proxyAddresses=("smtp:shared@contoso.com",)),
    ]
    write_snapshot(str(workdir / "t.jsonl"), objects, None, None, ["entra"])
    assert cli.main(["audit", "--source", f"snapshot:{workdir / 't.jsonl'}", "--format", "text", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "shared@contoso.com" in out and "pwned" in out
    _assert_safe(out)


def test_whois_text_escapes_hostile_directory_values(workdir, capsys) -> None:
    from dupfix_policy.sources.snapshot.writer import write_snapshot
    from dupfix_policy.testing import entra_user

    hostile = "x\n::error::pwned ##vso[task.complete]"
    objects = [entra_user("a@contoso.com", id="a", displayName=hostile, mail=f"{hostile}@contoso.com",
                          proxyAddresses=("SMTP:shared@contoso.com",))]  # fmt: skip
    write_snapshot(str(workdir / "t.jsonl"), objects, None, None, ["entra"])
    assert cli.main(["whois", "shared@contoso.com", "--source", f"snapshot:{workdir / 't.jsonl'}"]) == 0
    out = capsys.readouterr().out
    assert "shared@contoso.com" in out
    _assert_safe(out)
