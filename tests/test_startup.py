"""Start-up: a check imports only what it uses (docs/plugins.md "Start-up"). A pre-commit hook
pays the import time of everything the plugin manager loads on every commit, so the registration
modules stay light and each heavy dependency loads only when its feature runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Never on the path of a plan-only check of a valid plan.
NOT_FOR_A_PLAN_ONLY_CHECK = {
    "jsonschema",  # only when a file fails schema_check's fast path, to word the error
    "asyncio",  # only for the Graph source
    "msgraph", "azure.identity", "httpx",  # the `graph` extra
    "ldap3", "dupfix_policy.sources.ldap.source",  # the `ldap` extra
    "dupfix_policy.audit.run", "dupfix_policy.audit.collect",  # `dupfix audit`
    "dupfix_policy.suggestions", "dupfix_policy.fixers",  # `--suggest` and `dupfix fix`
    "sqlite3", "dupfix_policy.sources.cache.source",  # the `cache:` source
    "dupfix_policy.sources.snapshot.source", "dupfix_policy.sources.graph.source",
    "xml.etree.ElementTree", "dupfix_policy.reporters.sarif_report",  # reports nobody asked for
    "dupfix_policy.plans.terraform", "dupfix_policy.plans.ldif",  # formats no file of the check can be
    "dupfix_policy.plans.entra_csv", "dupfix_policy.plans.onprem_csv",
}  # fmt: skip


def imported_by(*args: str, cwd: Path = ROOT) -> set[str]:
    """The modules loaded by one `dupfix` run in a fresh interpreter (sys.modules at exit)."""
    probe = (
        "import sys, json\n"
        "from dupfix_policy import cli\n"
        "try:\n    code = cli.main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "sys.__stderr__.write('MODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES "):]))


def test_a_plan_only_check_imports_no_live_source_audit_or_jsonschema():
    modules = imported_by("check", "examples/plans/clean", "--source", "none")
    assert "dupfix_policy.engine" in modules  # the check did run
    assert not (modules & NOT_FOR_A_PLAN_ONLY_CHECK), sorted(modules & NOT_FOR_A_PLAN_ONLY_CHECK)


def test_help_imports_no_plugin():
    modules = imported_by("--help")
    assert not any(m.startswith(("dupfix_policy.sources", "dupfix_policy.plans", "dupfix_policy.engine")) for m in modules)


def test_a_cache_sync_imports_no_rule_engine_or_simulation(tmp_path):
    """`dupfix sync` runs before every CI check: it opens sources and writes the cache, no rule."""
    cache = tmp_path / "state.db"
    modules = imported_by("sync", "--source", f"snapshot:{ROOT / 'examples' / 'tenant.json'}", "--cache", str(cache))
    assert "dupfix_policy.sources.cache.sync" in modules and cache.exists()  # the sync did run
    unwanted = {m for m in modules if m.startswith(("dupfix_policy.rules.", "dupfix_policy.engine"))}
    assert not unwanted | (modules & {"dupfix_policy.facts", "dupfix_policy.simulation"}), sorted(unwanted)


def test_a_sync_without_a_config_file_reads_no_yaml(tmp_path):
    """PyYAML loads with the first YAML file a run reads (documents -> yaml_text): a sync from a
    JSON snapshot in a folder without `.dupfix.yaml` reads none."""
    cache = tmp_path / "state.db"
    modules = imported_by("sync", "--source", f"snapshot:{ROOT / 'examples' / 'tenant.json'}", "--cache", str(cache),
                          cwd=tmp_path)  # fmt: skip
    assert cache.exists()  # the sync did run
    assert not {m for m in modules if m == "yaml" or m.startswith("yaml.")} | (modules & {"dupfix_policy.yaml_text"})


def test_a_live_source_without_its_extra_fails_closed_saying_what_to_install(monkeypatch, capsys):
    from dupfix_policy import cli, extras

    monkeypatch.setattr(extras, "missing", lambda extra: list(extras.EXTRAS[extra]))
    for spec, extra in (("graph", "graph"), ("ldap://dc1.contoso.com/DC=contoso,DC=com", "ldap")):
        code = cli.main(["check", str(ROOT / "examples" / "plans" / "clean"), "--source", spec])
        err = capsys.readouterr().err
        assert code == 3 and f"dupfix-policy[{extra}]" in err and "additional_dependencies" in err


def test_a_ready_graph_token_needs_no_azure_identity():
    probe = (
        "import sys\n"
        "from dupfix_policy.sources.graph.auth import choose_credential\n"
        "choose_credential({'DUPFIX_GRAPH_TOKEN': 'eyJ0eXAi.test.token'}).make()\n"
        "print('azure.identity' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
