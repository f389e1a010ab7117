"""The plugin API as a third party meets it: examples/plugin (an HR feed format and the EMP001
rule) tested in memory with `dupfix_policy.testing`, installed into a clean virtualenv and run,
and what dupfix does when a plugin misbehaves (exit 4 naming it) or two formats claim one file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dupfix_policy
from dupfix_policy import cli, plugins
from dupfix_policy.errors import PluginError
from dupfix_policy.testing import change, codes, entra_user, run

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"
FEED = PLUGIN / "new-hires.hrfeed.jsonl"
TENANT = ROOT / "examples" / "tenant.json"


@pytest.fixture
def employee_id(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN))
    import dupfix_employee_id

    return dupfix_employee_id


def test_the_public_api_is_what_a_plugin_imports():
    assert {"hookimpl", "Rule", "RuleInfo", "Finding", "CheckContext", "PlanFormat", "Plan", "Change"} <= set(
        dupfix_policy.__all__
    )
    assert dupfix_policy.hookimpl is plugins.hookspecs.hookimpl


def test_a_new_hire_whose_upn_breaks_the_convention_is_emp001(employee_id):
    plan = [change("create", set={"userPrincipalName": "ben.okafor@contoso.com", "employeeId": "104212",
                                  "displayName": "Ben Okafor"})]  # fmt: skip
    report = run(plan, [], rules=employee_id.dupfix_rules())
    assert codes(report) == ["EMP001"]
    assert "e104212@contoso.com" in report.findings[0].finding.message


def test_built_in_rules_judge_a_plugin_formats_changes_too(employee_id):
    plan = employee_id.load(str(FEED), {})
    report = run(plan, [entra_user("alice@contoso.com")], rules=employee_id.dupfix_rules())
    assert sorted(codes(report)) == ["DUP001", "EMP001", "EMP001"]


def test_the_hr_feed_locates_every_value_at_its_line(employee_id):
    plan = employee_id.load(str(FEED), {})
    third = plan.changes[2]
    assert third.location_of("userPrincipalName", "alice@contoso.com").line == 3


def write_plugin(tmp_path: Path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def test_a_plugin_rule_that_raises_is_exit_4_naming_the_plugin(tmp_path, monkeypatch, capsys):
    write_plugin(tmp_path, "broken_rule_plugin", '''
        import dupfix_policy
        from dupfix_policy import Rule, RuleInfo

        def boom(ctx):
            raise KeyError("employeeId")

        @dupfix_policy.hookimpl
        def dupfix_rules():
            return [Rule(RuleInfo("always-breaks", "BRK001", "error", "breaks", "nothing"), boom)]
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(plugins.DEFAULT_PLUGINS, "broken_rule_plugin", "broken_rule_plugin")
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: x@contoso.com,"
                    " displayName: X}}\n", encoding="utf-8")  # fmt: skip
    code = cli.main(["check", str(plan), "--source", f"snapshot:{TENANT}", "--format", "json"])
    err = capsys.readouterr()
    assert code == 4 and err.out == ""
    assert "BRK001" in err.err and "'broken_rule_plugin'" in err.err and "KeyError" in err.err
    assert "internal error" not in err.err


def test_a_rule_raising_in_the_engine_is_a_plugin_error_not_a_verdict():
    from dupfix_policy import Rule, RuleInfo

    def boom(ctx):
        raise RuntimeError("no")

    bad = Rule(RuleInfo("x", "BRK002", "error", "breaks", "nothing"), boom, plugin="acme")
    with pytest.raises(PluginError, match="acme"):
        run([change("create", set={"userPrincipalName": "y@contoso.com"})], [], rules=[bad])


def test_two_formats_claiming_one_file_are_resolved_by_priority_and_reported(tmp_path, monkeypatch, capsys):
    write_plugin(tmp_path, "greedy_format_plugin", '''
        import dupfix_policy
        from dupfix_policy import Plan, PlanFormat

        @dupfix_policy.hookimpl
        def dupfix_plan_formats():
            return [PlanFormat("greedy", lambda path, head: path.endswith(".yaml"),
                               lambda path, options: Plan(path, "greedy", ()), priority=-1)]
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(plugins.DEFAULT_PLUGINS, "greedy_format_plugin", "greedy_format_plugin")
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nchanges:\n  - {op: create, kind: user, set: {userPrincipalName: alice@contoso.com,"
                    " displayName: A}}\n", encoding="utf-8")  # fmt: skip
    cli.main(["check", str(plan), "--source", f"snapshot:{TENANT}", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert "DUP001" in {f["code"] for f in report["findings"]}  # native (priority 0) read it
    assert any("read as native (priority 0); also matched greedy (priority -1)" in n for n in report["notes"])


@pytest.mark.packaging
def test_the_example_plugin_installed_in_a_clean_virtualenv_adds_its_format_and_rule(built_distributions, tmp_path):
    from test_release import uv

    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "DUPFIX_DISABLE_PLUGIN_AUTOLOAD"}
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120, env=env)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [uv(), "pip", "install", "--quiet", "--python", str(python), str(built_distributions.wheel), str(PLUGIN)],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    dupfix = str(venv / "bin" / "dupfix")
    rules = subprocess.run([dupfix, "rules"], capture_output=True, text=True, timeout=120, env=env)
    assert "EMP001" in rules.stdout
    done = subprocess.run(
        [dupfix, "check", str(FEED), "--source", f"snapshot:{TENANT}", "--format", "json"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    report = json.loads(done.stdout)
    found = sorted((f["code"], f["location"]["line"]) for f in report["findings"])
    assert (done.returncode, found) == (1, [("DUP001", 3), ("EMP001", 2), ("EMP001", 3)])


def test_a_plugin_rule_with_an_audit_function_judges_every_existing_object(employee_id):
    from dupfix_policy.audit.run import run_audit
    from dupfix_policy.policy import load_policy
    from dupfix_policy.testing import TODAY, MemorySource, builtin_rules

    keeps = entra_user("e104211@contoso.com", employeeId="104211")
    breaks = entra_user("carla.diaz@contoso.com", employeeId="104299")
    rules = {**builtin_rules(), **{r.info.code: r for r in employee_id.dupfix_rules()}}
    result = run_audit([MemorySource([keeps, breaks], ("entra",))], rules, load_policy("default"), today=TODAY)
    found = [(r.finding.code, r.finding.value) for r in result.report.findings]
    assert found == [("EMP001", "carla.diaz@contoso.com")]
