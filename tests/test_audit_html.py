"""The HTML report, rendered by a real browser (Debian's headless chromium, which
scripts/test.sh installs): the numbers people read on the page are the JSON report's numbers, and
the page needs nothing from the network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dupfix_policy import cli
from dupfix_policy.audit.csv_report import domain_of_key

ROOT = Path(__file__).resolve().parents[1]
SOURCE = f"snapshot:{ROOT / 'examples' / 'tenant.json'}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Numbers(HTMLParser):
    """Every `data-count` card and every chart bar of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.charts: dict[str, dict[str, int]] = {}
        self.chart: str | None = None
        self.card: str | None = None
        self.tags: Counter = Counter()
        self.fetching: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags[tag] += 1
        self.fetching += [(tag, name) for name in ("src", "href") if a.get(name)]
        if "data-chart" in a:
            self.chart = a["data-chart"]
            self.charts[self.chart or ""] = {}
        if "data-label" in a and self.chart:
            self.charts[self.chart][a["data-label"] or ""] = int(a["data-value"] or 0)
        if "data-count" in a:
            self.card = a["data-count"]

    def handle_data(self, data: str) -> None:
        if self.card is not None:
            self.counts[self.card] = int(data.strip())
            self.card = None


def render_in_chromium(page: Path, tmp_path: Path) -> str:
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[dict, Numbers, str]:
    if CHROMIUM is None:  # CI runs scripts/test.sh, which installs it: there, its absence is a failure
        message = "chromium is not installed (scripts/test.sh installs it with apt)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("html")
    page, report = tmp / "audit.html", tmp / "audit.json"
    code = cli.main(["audit", "--source", SOURCE, "--format", f"json={report}", "--format", f"html={page}"])
    assert code == 1
    dom = render_in_chromium(page, tmp)
    numbers = Numbers()
    numbers.feed(dom)
    return json.loads(report.read_text()), numbers, dom


def test_the_summary_cards_show_the_json_reports_totals(rendered):
    report, numbers, _ = rendered
    summary = report["summary"]
    for name in ("error", "warning", "note", "suppressed", "objects", "conflicts", "quarantined",
                 "suggestedChanges", "needsDecision"):  # fmt: skip
        assert numbers.counts[name] == summary[name], name


def test_the_charts_count_the_json_reports_findings_by_rule_domain_and_kind(rendered):
    report, numbers, _ = rendered
    shown = [f for f in report["findings"] if f["suppressed"] is None]
    assert numbers.charts["rule"] == dict(Counter(f["code"] for f in shown))
    assert numbers.charts["domain"] == dict(Counter(domain_of_key(f["key"]) or "(no domain)" for f in shown))
    kinds = Counter(" / ".join(sorted({h["kind"] for h in f["holders"]})) for f in shown)
    assert numbers.charts["kind"] == dict(kinds)


def test_every_finding_is_a_row_of_the_table(rendered):
    report, _, dom = rendered
    for f in report["findings"]:
        assert f'data-fingerprint="{f["fingerprint"]}"' in dom


def test_the_page_loads_nothing_and_runs_nothing(rendered):
    _, numbers, dom = rendered
    assert numbers.tags["script"] == 0 and numbers.tags["link"] == 0 and numbers.tags["img"] == 0
    assert numbers.fetching == []
    assert "Content-Security-Policy" in dom and "default-src 'none'" in dom


def test_directory_values_are_escaped_not_markup():
    import io

    from dupfix_policy.audit.html_report import render
    from dupfix_policy.model import Finding, HolderView, ObjectRef, Report, ReportedFinding, RuleInfo

    holder = HolderView((ObjectRef("entra", "1"),), "group", "active", "proxyAddresses", "attribute",
                        "<img src=x onerror=alert(1)>")  # fmt: skip
    finding = Finding("DUP002", "proxyAddresses", "smtp:a@contoso.com", "proxy:smtp:a@contoso.com", None, None,
                      "held twice", "fix", (holder,))  # fmt: skip
    info = RuleInfo("duplicate-proxy-address", "DUP002", "error", "s", "f")
    out = io.StringIO()
    render(Report("0", (), "default", 0, (ReportedFinding(finding, info, "error", "0" * 64),)), out)
    assert "<img" not in out.getvalue() and "&lt;img src=x" in out.getvalue()


def test_a_check_report_renders_too_with_the_changes_it_checked(tmp_path):
    page, report = tmp_path / "check.html", tmp_path / "check.json"
    plans = ROOT / "examples" / "plans" / "rules"
    cli.main(["check", str(plans), "--source", SOURCE, "--format", f"json={report}", "--format", f"html={page}"])
    numbers = Numbers()
    numbers.feed(page.read_text(encoding="utf-8"))
    summary = json.loads(report.read_text())["summary"]
    assert numbers.counts["changes"] == summary["changes"] > 0
    assert numbers.counts["error"] == summary["error"] > 0
    assert sum(numbers.charts["rule"].values()) == summary["error"] + summary["warning"] + summary["note"]
