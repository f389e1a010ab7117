"""The shipped examples do what the README and docs say: each rule's plan fires that rule, the clean plan passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RULE_PLANS = sorted((EXAMPLES / "plans" / "rules").glob("*.yaml"))


def check_json(*args: str, capsys) -> tuple[int, dict]:
    code = cli.main(["check", *args, "--source", f"snapshot:{EXAMPLES / 'tenant.json'}", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("plan", RULE_PLANS, ids=lambda p: p.stem)
def test_each_rule_example_fires_its_rule(plan: Path, capsys):
    code = plan.stem.split("-")[0]
    _, report = check_json(str(plan), capsys=capsys)
    assert code in {f["code"] for f in report["findings"]}


def test_every_check_time_rule_has_an_example():
    named = {p.stem.split("-")[0] for p in RULE_PLANS}
    expected = {f"DUP{n:03d}" for n in range(1, 16)} - {"DUP012"} | {"REF001"}
    assert expected <= named


def test_clean_example_passes(capsys):
    code, report = check_json(str(EXAMPLES / "plans" / "clean"), capsys=capsys)
    assert code == 0
    assert report["findings"] == []


def test_demo_tenant_is_the_one_its_generator_writes():
    import runpy

    data = runpy.run_path(str(EXAMPLES / "make_demo_tenant.py"))["build"]()
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    assert (EXAMPLES / "tenant.json").read_text(encoding="utf-8") == text


def test_demo_tenant_has_the_cases_the_readme_promises():
    objects = json.loads((EXAMPLES / "tenant.json").read_text())["objects"]
    assert 200 <= len(objects) <= 1000
    kinds = {(o["directory"], o["kind"], o["state"]) for o in objects}
    assert {
        ("entra", "user", "soft-deleted"),
        ("entra", "group", "active"),
        ("entra", "contact", "active"),
        ("ad", "user", "active"),
    } <= kinds
    assert any(o.get("quarantined") for o in objects)
    assert any(
        o["directory"] == "entra" and o["kind"] == "user" and not o.get("onPremisesImmutableId")
        for o in objects
    )


def test_pre_existing_conflict_alone_is_a_note_and_exits_0(capsys):
    code, report = check_json(
        str(EXAMPLES / "plans" / "rules" / "DUP009-existing-conflict.yaml"), capsys=capsys
    )
    assert code == 0
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("DUP009", "note")]


SYNC = EXAMPLES / "plans" / "sync"


@pytest.mark.parametrize(
    ("name", "exit_code", "expected"),
    [
        ("hard-match-passes", 0, []),
        ("diacritic-duplicate-fails", 1, ["DUP001", "FMT004"]),
        ("target-address-overlap-fails", 1, ["DUP002"]),
        ("out-of-scope", 0, ["DUP011"]),  # everything in scope: a soft match, a warning
    ],
)
def test_each_sync_example_gets_the_verdict_its_header_states(name, exit_code, expected, capsys):
    code, report = check_json(str(SYNC / f"{name}.yaml"), capsys=capsys)
    assert (code, sorted(f["code"] for f in report["findings"])) == (exit_code, expected)


def test_an_ad_object_outside_the_configured_sync_scope_is_no_soft_match(capsys):
    code = cli.main(["check", str(SYNC / "out-of-scope.yaml"), "--config", str(EXAMPLES / "sync-scope.dupfix.yaml"),
                     "--format", "json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert (code, report["findings"]) == (0, [])
