"""Third-party plugins come in through the `dupfix_policy` entry-point group, like the built-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from dupfix_policy.plugins import load_registry

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"

PLUGIN = '''
"""An outside plugin: a one-line-per-user text format and a rule banning 'test' accounts."""
from dupfix_policy.hookspecs import hookimpl
from dupfix_policy.interfaces import PlanFormat, Rule
from dupfix_policy.model import Change, ChangeRef, Finding, Location, Plan, RuleInfo


def detect(path, head):
    return path.endswith(".users")


def load(path, options):
    changes = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            upn = line.strip()
            if upn:
                changes.append(Change(op="create", kind="user", location=Location(path, n, 1),
                                      index=len(changes), set={"userPrincipalName": upn}))
    return Plan(path, "users-list", tuple(changes))


INFO = RuleInfo("no-test-accounts", "ACME001", "error", "no test accounts in production", "Remove it.")


def check(ctx):
    for c in ctx.changes:
        upn = str(c.set.get("userPrincipalName", ""))
        if upn.startswith("test"):
            yield Finding("ACME001", "userPrincipalName", upn, None, c.location, ChangeRef.of(c),
                          f"{upn} looks like a test account", INFO.fix)


@hookimpl
def dupfix_plan_formats():
    return [PlanFormat("users-list", detect, load, "one UPN per line")]


@hookimpl
def dupfix_rules():
    return [Rule(INFO, check)]
'''


def make_distribution(where: Path, module: str, body: str, dist: str = "acme-dupfix") -> None:
    """A minimal installed distribution: a module plus dist-info with an entry point."""
    (where / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = where / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[dupfix_policy]\nacme = {module}\n", encoding="utf-8")


def run_dupfix(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DUPFIX_DISABLE_PLUGIN_AUTOLOAD"}
    env["PYTHONPATH"] = str(tmp_path / "site")
    return subprocess.run(
        [sys.executable, "-m", "dupfix_policy", *args], capture_output=True, text=True, env=env, cwd=tmp_path
    )


def test_outside_plugin_adds_a_plan_format_and_a_rule_that_both_run(tmp_path):
    (tmp_path / "site").mkdir()
    make_distribution(tmp_path / "site", "acme_dupfix", PLUGIN)
    (tmp_path / "hires.users").write_text("test.bot@contoso.com\nalice@contoso.com\n", encoding="utf-8")
    out = run_dupfix(tmp_path, "check", "hires.users", "--source", f"snapshot:{TENANT}", "--format", "json")
    assert out.returncode == 1, out.stderr
    codes = {(f["code"], f["location"]["line"]) for f in json.loads(out.stdout)["findings"]}
    assert ("ACME001", 1) in codes  # the plugin's rule, on the plugin's format
    assert ("DUP001", 2) in codes  # built-in rules judge the plugin's changes too


def test_plugin_that_fails_to_import_is_one_clear_error_naming_it(tmp_path):
    (tmp_path / "site").mkdir()
    make_distribution(
        tmp_path / "site", "broken_dupfix", "import does_not_exist_anywhere\n", dist="broken-dupfix"
    )
    out = run_dupfix(tmp_path, "rules")
    assert out.returncode == 2
    assert "broken-dupfix" in out.stderr and "acme" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_disabling_autoload_skips_third_party_plugins(tmp_path):
    (tmp_path / "site").mkdir()
    make_distribution(
        tmp_path / "site", "broken_dupfix", "import does_not_exist_anywhere\n", dist="broken-dupfix"
    )
    env_run = subprocess.run(
        [sys.executable, "-m", "dupfix_policy", "rules"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site"), "DUPFIX_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert env_run.returncode == 0


def test_builtins_are_registered_by_direct_import_and_the_entry_point_group_is_for_third_parties():
    from importlib import metadata

    eps = {ep.name: ep.value for ep in metadata.entry_points(group="dupfix_policy")}
    assert not any(value.startswith("dupfix_policy.") for value in eps.values())
    registry = load_registry()
    assert registry.pm.has_plugin("duplicate_rules")
    assert {"native"} <= set(registry.plan_formats)
    assert {"snapshot", "none"} <= set(registry.sources)
    assert {"text", "json"} <= set(registry.reporters)
