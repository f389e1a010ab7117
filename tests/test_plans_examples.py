"""The plan-format examples do what docs/formats.md says, and they are the fixtures the tests read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "examples" / "plans" / "formats"
FIXTURES = Path(__file__).parent / "fixtures" / "plans"
TENANT = ROOT / "examples" / "tenant.json"

# example -> the unsuppressed findings it is there to show
DUPLICATES = {
    "entra-bulk-create.csv": {"DUP001"},
    "entra-bulk-invite.csv": {"DUP002"},
    "csvde.csv": {"DUP002", "DUP014"},
    "new-aduser.csv": {"DUP002"},
    "ldifde.ldf": {"DUP002", "DUP009"},
    "terraform/plan.json": {"DUP001", "DUP002", "DUP010"},
}


def check_json(capsys, *paths: Path) -> tuple[int, dict]:
    code = cli.main(["check", *map(str, paths), "--source", f"snapshot:{TENANT}", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(DUPLICATES))
def test_duplicate_example_shows_its_findings(name, capsys):
    code, report = check_json(capsys, FORMATS / "duplicates" / name)
    assert code == 1
    assert {f["code"] for f in report["findings"] if f["suppressed"] is None} == DUPLICATES[name]


def test_duplicate_examples_do_not_collide_with_each_other(capsys):
    _, report = check_json(capsys, FORMATS / "duplicates")
    assert "DUP005" not in {f["code"] for f in report["findings"]}


def test_clean_examples_pass_together(capsys):
    code, report = check_json(capsys, FORMATS / "clean")
    assert code == 0
    assert report["findings"] == []
    assert report["summary"]["changes"] >= 10


def test_clean_examples_cover_every_format(capsys):
    from dupfix_policy.plugins import load_registry

    registry = load_registry()
    files = [p for p in (FORMATS / "clean").rglob("*") if p.is_file() and p.suffix != ".tf"]
    detected = {next(f.name for f in registry.plan_formats.values() if f.detect(str(p), p.read_bytes()[:4096]))
                for p in files}
    assert {"entra-csv", "csv", "ldif", "terraform"} <= detected


def _formats_doc_commands() -> list[str]:
    formats_doc = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    section = formats_doc.split("## Other formats", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"`dupfix check (examples/plans/\S+?)`", section)


def test_formats_doc_shows_one_command_per_format():
    commands = _formats_doc_commands()
    assert any("entra-bulk" in c for c in commands) and any(c.endswith(".ldf") for c in commands)
    assert any("csvde" in c for c in commands) and any("terraform" in c for c in commands)


@pytest.mark.parametrize("path", _formats_doc_commands())
def test_formats_doc_commands_run_as_described(path, capsys):
    code, report = check_json(capsys, ROOT / path)
    assert code == (0 if "/clean" in path else 1), report["findings"]
