"""The audit: scan every source, find the conflicts, suggest resolutions, and report them as the
check reports its findings (model.Finding / ReportedFinding / Report, the check's rule codes at
the policy's severities, exemptions honoured).

What differs from a check report, on purpose: an audit finding belongs to no change (`change` is
null) and points at the source it was read from (`location.path`: the snapshot file for
`snapshot:PATH`, else the source spec); its fingerprint is made of the code, the key and the
sorted holder ids (docs/semantics.md "The audit", Fingerprint: nothing else identifies an existing conflict), and its
`fix` is the suggested resolution with its reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from .. import __version__
from ..engine import sync_rules
from ..errors import DupfixError, PluginError, UserInputError
from ..facts import AuditContext
from ..interfaces import ReportsNotes, Rule, StateSource
from ..model import (
    DIRECTORY_NAMES,
    DirectoryObject,
    Finding,
    HolderView,
    Location,
    Report,
    ReportedFinding,
    Tenant,
)
from ..policy import SEVERITY_ORDER, Policy
from .collect import Collected, Progress, collect
from .conflicts import Conflict, Holder, find_conflicts
from .resolutions import Action, Resolution, all_actions, resolve

NOT_CONFLICTS = ("DUP012", "POL001")


@dataclass(frozen=True)
class AuditSummary:
    """The audit's own totals, beside the report's severity counts."""

    objects: int  # objects read (each once)
    conflicts: int  # reported conflict findings (everything but DUP012 and POL001)
    quarantined: int  # reported DUP012 findings
    suggested: int  # changes in the suggested plan
    decisions: int  # reported findings whose resolution needs a person

    def as_dict(self) -> dict[str, int]:
        return {
            "objects": self.objects,
            "conflicts": self.conflicts,
            "quarantined": self.quarantined,
            "suggestedChanges": self.suggested,
            "needsDecision": self.decisions,
        }


@dataclass(frozen=True)
class AuditResult:
    report: Report
    summary: AuditSummary
    resolutions: Mapping[str, Resolution]  # by finding fingerprint
    actions: tuple[Action, ...]  # the suggested plan: reported, unsuppressed findings only
    covered: frozenset[str]


def audit_fingerprint(code: str, key: str | None, holder_ids: Sequence[str]) -> str:
    """sha256 of code, key and the sorted holder ids: an existing conflict has no change or file,
    and stays the same finding as long as the same objects hold the same key."""
    parts = [code, key or "", *sorted(holder_ids)]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def run_audit(
    sources: Sequence[StateSource],
    rules: Mapping[str, Rule],
    policy: Policy,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    today = today or dt.date.today()
    covered = frozenset(d for s in sources for d in s.directories)
    tenant = next((s.tenant for s in sources if s.tenant is not None), None)
    sync = sync_rules(policy, tenant)  # type: ignore[arg-type]
    inspect, plugin_findings = _rule_auditor(rules, AuditContext(tenant or Tenant(), covered, sync, policy, today))  # type: ignore[arg-type]
    collected = collect(sources, progress, inspect=inspect)
    conflicts = find_conflicts(
        collected.objects,
        collected.keys,
        covered=covered,
        soft_match=policy.soft_match,
        sync=sync,
    )
    places = [_location(s.spec) for s in sources]
    reported: list[ReportedFinding] = []
    resolutions: dict[str, Resolution] = {}
    for conflict in conflicts:
        resolution = resolve(conflict, covered)
        finding = to_finding(conflict, resolution, _where(conflict, collected, places))
        done = _apply_policy(finding, conflict.holder_ids, rules, policy, today)
        if done is not None:
            reported.append(done)
            resolutions[done.fingerprint] = resolution
    for finding in plugin_findings:
        ids = sorted({f"{ref.directory}:{ref.id}" for h in finding.holders for ref in h.objects})
        done = _apply_policy(finding, ids, rules, policy, today)
        if done is not None:
            reported.append(done)
    reported.extend(_expired_exemptions(rules, policy, today))
    reported.sort(key=_order)
    shown = [r for r in reported if r.suppressed is None]
    undecided = {
        ref.id
        for r in shown
        if r.fingerprint in resolutions and resolutions[r.fingerprint].needs_decision
        for h in r.finding.holders
        for ref in h.objects
    }
    # A restore re-claims every value of the object: not while one of them still awaits a person.
    actions = tuple(
        a
        for a in all_actions(resolutions[r.fingerprint] for r in shown if r.fingerprint in resolutions)
        if not (a.op == "restore" and a.target.value in undecided)
    )
    summary = AuditSummary(
        objects=collected.scanned,
        conflicts=sum(1 for r in shown if r.finding.code not in NOT_CONFLICTS),
        quarantined=sum(1 for r in shown if r.finding.code == "DUP012"),
        suggested=len(actions),
        decisions=sum(
            1 for r in shown if r.fingerprint in resolutions and resolutions[r.fingerprint].needs_decision
        ),
    )
    report = Report(
        tool_version=__version__,
        sources=tuple(s.info for s in sources),
        policy=policy.name,
        changes=0,
        findings=tuple(reported),
        notes=tuple(_notes(collected, sources, covered)),
    )
    return AuditResult(report, summary, resolutions, actions, covered)


def _rule_auditor(
    rules: Mapping[str, Rule], ctx: AuditContext
) -> tuple[Callable[[DirectoryObject], None] | None, list[Finding]]:
    """Every rule with an `audit` function, called on each object as the scan reads it (nothing
    is held but the findings). A rule that raises is its plugin's bug: exit 4 naming it."""
    auditing = [r for r in rules.values() if r.audit is not None]
    found: list[Finding] = []
    if not auditing:
        return None, found

    def inspect(obj: DirectoryObject) -> None:
        for rule in auditing:
            try:
                found.extend(rule.audit(obj, ctx))  # type: ignore[misc]
            except DupfixError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"rule {rule.info.code} ({rule.info.id}) of plugin {rule.plugin or 'an unregistered plugin'!r} "
                    f"raised {type(exc).__name__} auditing {obj.directory} object {obj.id}: {exc}",
                    hint=f"report it to the plugin's authors, or turn the rule off (rules: {{{rule.info.code}: off}})",
                ) from exc

    return inspect, found


def _location(spec: str) -> Location:
    """A snapshot's findings point at the snapshot file (code scanning can open it); others at the
    source spec."""
    scheme, sep, rest = spec.partition(":")
    return Location(rest if scheme == "snapshot" and sep and rest else spec)


def _where(conflict: Conflict, collected: Collected, places: list[Location]) -> Location | None:
    for holder in conflict.holders:
        for ref in holder.refs:
            number = collected.source_of.get((ref.directory, ref.id))
            if number is not None and number < len(places):
                return places[number]
    return places[0] if places else None


def _order(r: ReportedFinding) -> tuple:
    return (r.finding.key or "", r.finding.code, SEVERITY_ORDER.index(r.severity), r.fingerprint)


def _apply_policy(
    finding: Finding, holder_ids: Sequence[str], rules: Mapping[str, Rule], policy: Policy, today: dt.date
) -> ReportedFinding | None:
    """As `engine.apply_policy`, with the audit's fingerprint: severity, exemptions, suppression."""
    rule = rules.get(finding.code)
    if rule is None:
        raise UserInputError(f"the audit reports {finding.code}, which no installed plugin declares")
    verdict = policy.verdict(finding, rule.info, today)  # type: ignore[attr-defined]
    if verdict is None:
        return None
    severity, suppressed = verdict
    return ReportedFinding(finding, rule.info, severity, audit_fingerprint(finding.code, finding.key, holder_ids),
                           suppressed)  # fmt: skip


def _expired_exemptions(rules: Mapping[str, Rule], policy: Policy, today: dt.date) -> list[ReportedFinding]:
    """POL001, as the check reports it: an expired exemption no longer hides its conflict."""
    rule = rules.get("POL001")
    if rule is None:
        return []
    out = []
    for finding in rule.check(_PolicyOnly(policy, today)):  # type: ignore[arg-type]
        done = _apply_policy(finding, (), rules, policy, today)
        if done is not None:
            out.append(done)
    return out


@dataclass(frozen=True)
class _PolicyOnly:
    """The part of a check context the POL001 rule reads."""

    policy: Policy
    today: dt.date


def _notes(collected: Collected, sources: Sequence[StateSource], covered: frozenset[str]) -> list[str]:
    dirs = " and ".join(DIRECTORY_NAMES.get(d, d) for d in ("entra", "ad") if d in covered) or "no directory"
    again = (
        f"; {collected.repeated} returned again by a later source were counted once"
        if collected.repeated
        else ""
    )
    notes = [f"audited {collected.scanned} objects in {dirs}{again}"]
    if collected.excluded:
        total = sum(n for n, _ in collected.excluded.values())
        reasons = "; ".join(
            f"{n} {reason}: {', '.join(names)}{', ...' if n > len(names) else ''}"
            for reason, (n, names) in sorted(collected.excluded.items())
        )
        notes.append(
            f"left out {total} on-prem system object(s) as IdFix does, because Entra Connect does not "
            f"sync them ({reasons})"
        )
    if covered and not {"entra", "ad"} <= covered:
        notes.append(
            "only one directory was read: conflicts between on-prem AD and Entra ID, soft matches and the "
            "on-prem source of quarantined values need both (add an Entra and an AD source)"
        )
    for source in sources:
        if isinstance(source, ReportsNotes):
            notes.extend(source.report_notes(covered))
    return notes


# --- the finding ---------------------------------------------------------------------------------

_WHAT = {
    "DUP001": "users",
    "DUP002": "objects",
    "DUP004": "objects",
    "DUP008": "Entra objects",
    "DUP010": "mail-enabled groups",
    "DUP013": "users",
    "DUP014": "objects",
}


def _holder_phrase(h: Holder) -> str:
    """`user dana@contoso.com (on-prem AD: proxyAddresses; Entra ID: quarantined)`."""
    state = "soft-deleted " if not h.active else ""
    ways: dict[str, list[str]] = {}
    for hold in h.holds:
        how = "quarantined" if hold.via == "quarantine" else hold.attribute
        where = ways.setdefault(DIRECTORY_NAMES.get(hold.ref.directory, hold.ref.directory), [])
        if how not in where:
            where.append(how)
    held = "; ".join(f"{where}: {', '.join(hows)}" for where, hows in ways.items())
    return f"{state}{h.identity.kind} {h.identity.name} ({held})"


def _message(c: Conflict) -> str:
    hold = c.first_hold
    names = "; ".join(_holder_phrase(h) for h in c.holders)
    n = len(c.holders)
    if c.code == "DUP003":
        upn = [h for h in c.holders if any(x.attribute == "userPrincipalName" for x in h.holds)]
        smtp = [h for h in c.holders if h not in upn]
        value = next(x.value for h in upn for x in h.holds if x.attribute == "userPrincipalName")
        return (
            f"{value} is the userPrincipalName of {'; '.join(map(_holder_phrase, upn))} and an smtp: "
            f"address of {'; '.join(map(_holder_phrase, smtp))}"
        )
    if c.code == "DUP004":
        soft = sum(1 for h in c.holders if not h.active)
        return f"{hold.value} is held by {n} objects, {soft} of them in the recycle bin: {names}"
    if c.code == "DUP011":
        return f"{hold.value} will join two objects by soft match instead of failing sync: {names}"
    if c.code == "DUP012":
        owner, *others = c.holders
        whose = f"{owner.identity.kind} {owner.identity.name}"
        if not others:
            return (
                f"{hold.value} is quarantined on {whose} (Entra ID), and no other audited object holds it now"
            )
        why = "; ".join(_holder_phrase(h) for h in others)
        return f"{hold.value} is quarantined on {whose} (Entra ID): Entra ID held it back because of {why}"
    if c.code == "DUP014":
        domain = c.key.partition(":")[2].partition("\\")[0]
        return f"sAMAccountName {hold.value} is used {n} times in AD domain {domain}: {names}"
    return f"{hold.attribute} {hold.value} is held by {n} {_WHAT.get(c.code, 'objects')}: {names}"


def to_finding(conflict: Conflict, resolution: Resolution, location: Location | None) -> Finding:
    hold = conflict.first_hold
    return Finding(
        code=conflict.code,
        attribute=hold.attribute,
        value=hold.value,
        key=conflict.key,
        location=location,
        change=None,
        message=_message(conflict),
        fix=resolution.text,
        holders=_views(conflict),
    )


def _views(conflict: Conflict) -> tuple[HolderView, ...]:
    """The check's holder views; a quarantined value's own object holds it `via: quarantine`."""
    views = [h.view() for h in conflict.holders]
    if conflict.quarantine is not None and views:
        views[0] = replace(views[0], attribute=conflict.quarantine.attribute, via="quarantine")
    return tuple(views)
