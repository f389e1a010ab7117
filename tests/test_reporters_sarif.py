"""SARIF that GitHub code scanning accepts: valid against the official OASIS SARIF 2.1.0 schema
(tests/sarif-schema-2.1.0.json), with what GitHub requires on top, and help links that land on the
section of docs/rules.md for each rule."""

from __future__ import annotations

import json
import os
import re

import jsonschema
import pytest
from test_reporters import GOLDEN_PLANS, ROOT, SOURCE, assert_matches_golden, at_root, render_all  # noqa: F401

from dupfix_policy import cli, ruledoc

SARIF_SCHEMA = json.loads((ROOT / "tests" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
RULES_DOC = ROOT / ruledoc.RULES_DOC


def sarif_of(out: dict[str, str]) -> dict:
    return json.loads(out["sarif"])


@pytest.mark.usefixtures("at_root")
def test_sarif_on_the_examples_matches_its_golden_file(tmp_path):
    assert_matches_golden("sarif", render_all(tmp_path)["sarif"])


@pytest.mark.usefixtures("at_root")
def test_sarif_for_every_example_is_valid_against_the_official_schema(tmp_path):
    sarif = sarif_of(render_all(tmp_path, "examples/plans"))
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert sarif["runs"][0]["results"], "the examples should produce results"


@pytest.mark.usefixtures("at_root")
def test_schema_validation_catches_a_broken_sarif_file(tmp_path):
    sarif = sarif_of(render_all(tmp_path))
    sarif["runs"][0]["results"][0]["level"] = "fatal"
    del sarif["runs"][0]["tool"]["driver"]["name"]
    assert len(list(jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(sarif))) == 2


@pytest.mark.usefixtures("at_root")
def test_rules_carry_what_github_requires(tmp_path):
    driver = sarif_of(render_all(tmp_path, "examples/plans"))["runs"][0]["tool"]["driver"]
    assert driver["name"] == "dupfix-policy" and driver["semanticVersion"]
    for rule in driver["rules"]:
        assert re.fullmatch(r"[A-Z]{3}\d{3}", rule["id"])
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert len(rule["fullDescription"]["text"]) <= 1000
        assert rule["help"]["text"] and rule["help"]["markdown"].startswith(f"### {rule['id']} ")
        assert rule["helpUri"].endswith("/docs/rules.md#" + ruledoc.github_slug(f"{rule['id']} {rule['name']}"))
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")


@pytest.mark.usefixtures("at_root")
def test_results_point_at_repository_files_with_a_start_line_and_the_reports_fingerprint(tmp_path):
    out = render_all(tmp_path, "examples/plans")
    sarif, report = sarif_of(out), json.loads(out["json"])
    fingerprints: dict[str, list[dict]] = {}
    for f in report["findings"]:
        if f["suppressed"] is None:
            fingerprints.setdefault(f["fingerprint"], []).append(f)
    results = sarif["runs"][0]["results"]
    assert len(results) == len([f for f in report["findings"] if f["suppressed"] is None])
    line_hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert len(set(line_hashes)) == len(line_hashes), "each result needs its own line hash"
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        place = result["locations"][0]["physicalLocation"]
        uri = place["artifactLocation"]["uri"]
        assert not uri.startswith("/") and (ROOT / uri).is_file()
        assert place["region"]["startLine"] >= 1
        full = result["partialFingerprints"]["dupfixFingerprint/v1"]
        assert result["partialFingerprints"]["primaryLocationLineHash"].startswith(f"{full[:16]}:")
        places = {(f["code"], f["location"]["line"]) for f in fingerprints[full]}
        assert (result["ruleId"], place["region"]["startLine"]) in places


@pytest.mark.usefixtures("at_root")
def test_paths_are_relative_to_the_repository_root_when_run_from_a_subdirectory(monkeypatch, capsys):
    monkeypatch.chdir(ROOT / "examples")
    cli.main(["check", "plans/rules/DUP002-duplicate-proxy-address.yaml", "--source", "snapshot:tenant.json",
              "--format", "sarif"])
    (result,) = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "examples/plans/rules/DUP002-duplicate-proxy-address.yaml"


@pytest.mark.usefixtures("at_root")
def test_a_plan_internal_duplicate_links_the_other_change(tmp_path):
    results = sarif_of(render_all(tmp_path))["runs"][0]["results"]
    dup005 = [r for r in results if r["ruleId"] == "DUP005"]
    assert len(dup005) == 2
    for r in dup005:
        (related,) = r["relatedLocations"]
        assert related["physicalLocation"]["artifactLocation"]["uri"].endswith("DUP005-plan-internal-duplicate.yaml")
        assert related["physicalLocation"]["region"]["startLine"] != r["locations"][0]["physicalLocation"]["region"][
            "startLine"]


@pytest.mark.usefixtures("at_root")
def test_suppressed_findings_are_left_out_and_counted(tmp_path):
    baseline = tmp_path / "baseline.json"
    render_all(tmp_path, "examples/plans", extra=("--create-baseline", str(baseline)))
    out = render_all(tmp_path, "examples/plans", extra=("--baseline", str(baseline)))
    run = sarif_of(out)["runs"][0]
    assert run["results"] == []
    assert run["properties"]["suppressed"] == len(json.loads(out["json"])["findings"]) > 0


def test_fingerprint_survives_lines_added_above_the_change(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    plan = (ROOT / "examples" / "plans" / "rules" / "DUP002-duplicate-proxy-address.yaml").read_text()
    tenant = f"snapshot:{ROOT / 'examples' / 'tenant.json'}"

    def hashes() -> list[str]:
        cli.main(["check", "plan.yaml", "--source", tenant, "--format", "sarif"])
        results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
        return [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]

    (tmp_path / "plan.yaml").write_text(plan)
    before = hashes()
    (tmp_path / "plan.yaml").write_text("# reviewed in CHG-42\n# moved down by two lines\n" + plan)
    assert hashes() == before and before


# --- the rule reference in docs/rules.md, where the help links land ----------------------------------


def rules_doc_anchors() -> set[str]:
    text = RULES_DOC.read_text(encoding="utf-8")
    return {ruledoc.github_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_every_rule_has_the_docs_section_its_help_link_points_to(registry):
    anchors = rules_doc_anchors()
    for rule in registry.rules.values():
        assert ruledoc.anchor(rule.info) in anchors, f"docs/rules.md has no section for {rule.info.code}"
        assert ruledoc.help_uri(rule.info).endswith(f"/docs/rules.md#{ruledoc.anchor(rule.info)}")


def test_the_readme_links_to_the_rule_reference_instead_of_carrying_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ruledoc.REFERENCE_START not in readme
    assert "(docs/rules.md)" in readme


def _rule_block(text: str) -> tuple[int, int]:
    return text.index(ruledoc.REFERENCE_START), text.index(ruledoc.REFERENCE_END) + len(ruledoc.REFERENCE_END)


def test_rules_doc_reference_is_what_dupfix_rules_prints(registry):
    text = RULES_DOC.read_text(encoding="utf-8")
    expected = ruledoc.reference_block(r.info for r in registry.rules.values())
    if os.environ.get("DUPFIX_REGENERATE") == "1":
        start, end = _rule_block(text)
        RULES_DOC.write_text(text[:start] + expected + text[end:], encoding="utf-8", newline="\n")
        text = RULES_DOC.read_text(encoding="utf-8")
    start, end = _rule_block(text)
    assert text[start:end] == expected, (
        "docs/rules.md rule reference is out of date: regenerate with "
        "DUPFIX_REGENERATE=1 pytest tests/test_reporters.py tests/test_reporters_sarif.py"
    )


@pytest.mark.parametrize("command", ["Restore-MgDirectoryDeletedItem", "Remove-MgDirectoryDeletedItem",
                                     "Set-ADUser -Identity <sAMAccountName> -Remove @{proxyAddresses="])
def test_rules_print_the_exact_fix_commands(command, capsys):
    assert cli.main(["rules"]) == 0
    assert command in capsys.readouterr().out


def test_rules_json_carries_commands_and_the_help_link(capsys):
    cli.main(["rules", "--format", "json"])
    rules = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert any("Restore-MgDirectoryDeletedItem" in c for c in rules["DUP004"]["commands"])
    assert rules["DUP001"]["help"].endswith("/docs/rules.md#dup001-duplicate-upn")
