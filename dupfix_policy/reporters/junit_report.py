"""JUnit XML, the test-report format GitLab, Azure Pipelines and Jenkins render.

One test suite per plan file and one test case per change, passed or not, so the CI's test view
reads like the plan: "create user alice@contoso.com: failed". A change fails when it has an
error-level finding (the default `--fail-on error`); warnings and notes go to the case's
`system-out`, as do suppressed findings with the reason they were accepted. Findings that belong
to no change (an expired exemption) get a `policy` suite. Test names carry no line numbers, so a
CI's history of a test survives edits around it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import IO

from ..model import ChangeRef, Report, ReportedFinding
from .repo_paths import repo_relative, repo_root

# Characters XML 1.0 cannot carry at all, even escaped (a CSV cell may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: object) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _describe(r: ReportedFinding) -> str:
    f = r.finding
    where = f" ({f.location})" if f.location else ""
    lines = [f"{r.severity} {f.code} {r.rule.id}{where}: {f.message}"]
    lines += [f"  held by: {h.name} ({h.kind}, {h.state})" for h in f.holders]
    lines.append(f"  fix: {f.fix}")
    if r.suppressed is not None:
        why = r.suppressed.get("reason") or r.suppressed.get("location") or ""
        lines.append(f"  suppressed ({r.suppressed.get('kind')}): {why}".rstrip(": "))
    return "\n".join(lines)


def _case_names(refs: list[ChangeRef]) -> dict[tuple[str, int], str]:
    """`create user alice@contoso.com`, numbered only when two changes in one file read the same."""
    count: dict[tuple[str, str], int] = defaultdict(int)
    for c in refs:
        count[(c.file, c.label)] += 1
    return {(c.file, c.index): c.label if count[(c.file, c.label)] == 1 else f"{c.label} #{c.index + 1}" for c in refs}


def _suite(name: str, root: ET.Element) -> ET.Element:
    return ET.SubElement(root, "testsuite", {"name": _clean(name), "errors": "0", "skipped": "0", "time": "0"})


def _case(suite: ET.Element, classname: str, name: str, findings: list[ReportedFinding], file: str | None,
          line: int | None) -> None:
    attrs = {"classname": _clean(classname), "name": _clean(name), "time": "0"}
    if file:
        attrs["file"] = _clean(file)
    if line:
        attrs["line"] = str(line)
    case = ET.SubElement(suite, "testcase", attrs)
    errors = [r for r in findings if r.suppressed is None and r.severity == "error"]
    others = [r for r in findings if r not in errors]
    if errors:
        first = errors[0].finding
        summary = f"{first.code} {errors[0].rule.id}: {first.message}"
        if len(errors) > 1:
            summary += f" (and {len(errors) - 1} more)"
        failure = ET.SubElement(case, "failure", {"message": _clean(summary), "type": first.code})
        failure.text = _clean("\n".join(_describe(r) for r in errors))
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n".join(_describe(r) for r in others))


def junit_tree(report: Report) -> ET.Element:
    root_dir = repo_root()
    refs = list(report.change_refs)
    known = {(c.file, c.index) for c in refs}
    for r in report.findings:  # a report built without change_refs still gets a case per change
        c = r.finding.change
        if c is not None and (c.file, c.index) not in known:
            known.add((c.file, c.index))
            refs.append(c)
    refs.sort(key=lambda c: (c.file, c.index))
    by_change: dict[tuple[str, int], list[ReportedFinding]] = defaultdict(list)
    loose: list[ReportedFinding] = []
    for r in report.findings:
        c = r.finding.change
        (by_change[(c.file, c.index)] if c is not None else loose).append(r)
    names = _case_names(refs)

    root = ET.Element("testsuites", {"name": "dupfix-policy", "errors": "0", "time": "0"})
    suites: dict[str, ET.Element] = {}

    def suite_for(name: str) -> ET.Element:
        if name not in suites:
            suites[name] = _suite(name, root)
            _properties(suites[name], report)
        return suites[name]

    for c in refs:
        file = repo_relative(c.file, root_dir)
        _case(suite_for(file), file, names[(c.file, c.index)], by_change[(c.file, c.index)], file, c.location.line)
    for r in loose:
        loc = r.finding.location
        where = repo_relative(loc.path, root_dir) if loc else None
        name = f"{r.finding.code} {r.finding.value or r.rule.id}"
        _case(suite_for("policy"), "policy", name, [r], where, loc.line if loc else None)
    for suite in [*suites.values(), root]:
        suite.set("tests", str(len(list(suite.iter("testcase")))))
        suite.set("failures", str(len(list(suite.iter("failure")))))
    return root


def _properties(suite: ET.Element, report: Report) -> None:
    props = ET.SubElement(suite, "properties")
    values = [("dupfix.version", report.tool_version), ("dupfix.policy", report.policy)]
    values += [("dupfix.source", f"{s.spec} (as of {s.as_of or 'unknown'})") for s in report.sources]
    for name, value in values:
        ET.SubElement(props, "property", {"name": name, "value": _clean(value)})


def render(report: Report, stream: IO[str]) -> None:
    root = junit_tree(report)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
