"""The text, JUnit and GitHub reports on the examples: golden files, plus what each format promises.

Golden files live in tests/golden/; after an intended change regenerate them with
`DUPFIX_REGENERATE=1 pytest tests/test_reporters.py tests/test_reporters_sarif.py` and review the diff.
The version is written as {VERSION} in them, so a release bump does not touch them.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dupfix_policy import __version__, cli
from dupfix_policy.reporters import github_report, text_report

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
RULES = "examples/plans/rules"
# A fixed set of examples (not the whole directory, which grows with every example added): an
# error held by a group, a soft-deleted holder, a duplicate inside the plan, a warning, a note, a
# format warning and a clean plan.
GOLDEN_PLANS = (
    f"{RULES}/DUP002-duplicate-proxy-address.yaml",
    f"{RULES}/DUP004-soft-deleted-holder.yaml",
    f"{RULES}/DUP005-plan-internal-duplicate.yaml",
    f"{RULES}/DUP006-address-move-same-cycle.yaml",
    f"{RULES}/DUP009-existing-conflict.yaml",
    f"{RULES}/FMT006-missing-proxy-type.yaml",
    "examples/plans/clean/new-hires.yaml",
)
EXTENSIONS = {"text": "txt", "json": "json", "sarif": "sarif", "junit": "xml", "github": "github.txt"}
SOURCE = "snapshot:examples/tenant.json"


@pytest.fixture
def at_root(monkeypatch):
    """Run from the repository root, as the hook and the CI templates do, with no CI variables set."""
    monkeypatch.chdir(ROOT)
    for name in ("GITHUB_ACTIONS", "GITHUB_WORKSPACE", "CI_PROJECT_DIR", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return ROOT


def render_all(out_dir: Path, *plans: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Every report format for one run, written to files; returns format -> text."""
    args = ["check", *(plans or GOLDEN_PLANS), "--source", SOURCE, "--policy", "default", "--fail-on", "never"]
    for name, ext in EXTENSIONS.items():
        args += ["--format", f"{name}={out_dir / ('out.' + ext)}"]
    assert cli.main([*args, *extra]) == 0
    return {name: (out_dir / f"out.{ext}").read_text(encoding="utf-8") for name, ext in EXTENSIONS.items()}


def assert_matches_golden(name: str, text: str) -> None:
    path = GOLDEN / f"examples.{EXTENSIONS[name]}"
    text = text.replace(__version__, "{VERSION}")
    if os.environ.get("DUPFIX_REGENERATE") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{name} report differs from {path.relative_to(ROOT)}; if the change is intended, regenerate with "
        "DUPFIX_REGENERATE=1 pytest tests/test_reporters.py tests/test_reporters_sarif.py"
    )


@pytest.mark.parametrize("name", ["text", "junit", "github"])
def test_report_on_the_examples_matches_its_golden_file(name, at_root, tmp_path):
    assert_matches_golden(name, render_all(tmp_path)[name])


# --- text ---------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_is_coloured_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert text_report.use_colour(Terminal())
    assert not text_report.use_colour(io.StringIO())


@pytest.mark.parametrize(("value", "coloured"), [("1", False), ("yes", False), ("", True)])
def test_no_color_with_any_non_empty_value_turns_colour_off(monkeypatch, value, coloured):
    monkeypatch.setenv("NO_COLOR", value)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert text_report.use_colour(Terminal()) is coloured


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run dupfix with its standard output on a real pseudo-terminal and return what it printed."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dupfix_policy", *args], stdout=follower, stderr=subprocess.PIPE,
            cwd=ROOT, env=env,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process exits
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_text_on_a_real_terminal_is_coloured_unless_no_color_is_set():
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_ACTIONS")}
    args = ["check", f"{RULES}/DUP002-duplicate-proxy-address.yaml", "--source", SOURCE]
    assert "\x1b[31m" in _run_on_a_terminal(args, env)
    plain = _run_on_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert "DUP002" in plain and "\x1b[" not in plain


def test_text_written_to_a_file_has_no_colour(at_root, tmp_path):
    assert "\x1b[" not in render_all(tmp_path)["text"]


def test_text_summary_counts_suppressed_findings_by_kind(at_root, tmp_path):
    baseline = tmp_path / "baseline.json"
    text = render_all(tmp_path, extra=("--create-baseline", str(baseline)))["text"]
    assert re.search(r"\d+ suppressed \(\d+ baseline\)", text.splitlines()[-1])


# --- JUnit --------------------------------------------------------------------------------------------


def test_junit_has_one_test_case_per_change_and_fails_those_with_errors(at_root, tmp_path):
    out = render_all(tmp_path, "examples/plans")
    report = json.loads(out["json"])
    root = ET.fromstring(out["junit"])
    cases = root.findall("./testsuite/testcase")
    assert root.tag == "testsuites"
    assert len(cases) == report["summary"]["changes"] == int(root.get("tests"))
    erroneous = {(f["change"]["file"], f["change"]["index"]) for f in report["findings"]
                 if f["severity"] == "error" and f["suppressed"] is None}
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == len(erroneous) == int(root.get("failures"))
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))


def test_junit_failure_names_the_rule_and_warnings_go_to_system_out(at_root, tmp_path):
    root = ET.fromstring(render_all(tmp_path)["junit"])
    by_name = {c.get("name"): c for c in root.iter("testcase")}
    dup = by_name["create user sales-lead"]
    assert dup.find("failure").get("type") == "DUP002"
    assert "smtp:sales@contoso.com" in dup.find("failure").text
    move = next(c for c in root.iter("testcase") if c.get("classname").endswith("DUP006-address-move-same-cycle.yaml")
                and c.find("system-out") is not None)
    assert move.find("failure") is None and "DUP006" in move.find("system-out").text
    clean = [c for c in root.iter("testcase") if c.get("classname") == "examples/plans/clean/new-hires.yaml"]
    assert len(clean) == 4 and all(len(c) == 0 for c in clean)


def test_junit_case_names_carry_no_line_numbers(at_root, tmp_path):
    root = ET.fromstring(render_all(tmp_path)["junit"])
    for case in root.iter("testcase"):
        assert not re.search(r"\d+:\d+", case.get("name"))
        assert case.get("line") and case.get("file") == case.get("classname")


# --- GitHub workflow commands --------------------------------------------------------------------


def test_property_values_escape_colons_commas_percent_and_line_breaks():
    assert github_report.escape_property("a:b,c%d\r\ne") == "a%3Ab%2Cc%25d%0D%0Ae"
    assert github_report.escape_data("50% a:b,c\nd") == "50%25 a:b,c%0Ad"


def test_each_finding_is_an_annotation_at_its_file_and_line(at_root, tmp_path):
    lines = render_all(tmp_path)["github"].splitlines()
    dup002 = next(line for line in lines if "title=DUP002" in line)
    assert dup002.startswith(
        "::error file=examples/plans/rules/DUP002-duplicate-proxy-address.yaml,line=11,col=11,"
        "title=DUP002 duplicate-proxy-address::"
    )
    assert "%0Afix: " in dup002
    assert any(line.startswith("::warning ") and "title=DUP006" in line for line in lines)
    assert any(line.startswith("::notice ") and "title=DUP009" in line for line in lines)


def test_auto_picks_github_annotations_under_github_actions(at_root, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    cli.main(["check", f"{RULES}/DUP002-duplicate-proxy-address.yaml", "--source", SOURCE])
    assert capsys.readouterr().out.startswith("::error file=")


def test_plan_values_cannot_inject_workflow_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "plan.yaml").write_text(
        'version: 1\nchanges:\n  - op: create\n    kind: user\n    set:\n'
        '      userPrincipalName: "evil@contoso.com"\n'
        '      displayName: "x\\n::add-mask::secret\\n::error file=x::forged"\n'
        '      proxyAddresses: ["evil@contoso.com\\n::warning::forged"]\n',
        encoding="utf-8",
    )
    cli.main(["check", "plan.yaml", "--source", "none", "--format", "github"])
    lines = capsys.readouterr().out.splitlines()
    stopped = None
    for line in lines:
        if stopped is not None:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.split("::")[2]
            assert len(stopped) == 64
            continue
        assert re.match(r"^::(error|warning|notice) file=[^:]*::|^::(group::.*|endgroup::)$", line), line
    assert stopped is None
    assert any("forged" in line for line in lines)  # the value is shown, inside the stopped block


def test_junit_puts_findings_that_belong_to_no_change_in_a_policy_suite(at_root, tmp_path, monkeypatch):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nexemptions:\n  - rule: DUP002\n    value: smtp:sales@contoso.com\n"
        "    reason: CHG-1234\n    expires: 2026-01-31\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DUPFIX_TODAY", "2026-11-26")
    out = tmp_path / "junit.xml"
    cli.main(["check", f"{RULES}/DUP002-duplicate-proxy-address.yaml", "--source", SOURCE, "--policy", str(policy),
              "--format", f"junit={out}"])
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    (suite,) = [s for s in root.findall("testsuite") if s.get("name") == "policy"]
    (case,) = suite.findall("testcase")
    assert case.get("name") == "POL001 smtp:sales@contoso.com"
    assert "expired" in case.find("system-out").text and suite.get("failures") == "0"
    assert root.get("tests") == "2" and root.get("failures") == "1"
