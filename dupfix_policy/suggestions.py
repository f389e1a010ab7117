"""`--suggest`: a free value for every conflict the plan can fix by itself, a resolution otherwise.

Pure over what it is given (the check's `Evaluation`, the sources, the naming convention), so the
CLI (`check --suggest`, `fix`) and the tests drive the same code. What "free" means is the check's
own judgement, not a second opinion:

1. Each conflicting value a change writes becomes a *group*: every attribute of that change that
   holds the same address (UPN, `mail`, `SMTP:`/`smtp:` proxies, and the alias equal to its local
   part) is renamed together, so the change stays consistent and what sync derives from it (the
   MOERA, a derived alias) follows.
2. Candidates come from the naming convention (naming.py), several per group, and all groups'
   candidate keys are asked of every source at once: one extra `lookup` per source; a second
   batch is asked only for groups the first could not settle (at most two round trips).
3. A candidate is taken when any object read holds any of its keys, under each directory's own
   comparison (an AD UPN under AD's, `adupn:`), active, soft-deleted or quarantined; when another
   change of the plan claims it; or when another suggestion already took it.
4. The chosen values are checked by running the rules over the fixed plan with everything read:
   a candidate that still draws an error (a FMT rule, a derived MOERA someone holds) is dropped
   for the next one, without asking the sources again.

Conflicts a new value cannot fix (a restore, an address moving between holders, a soft match, an
anchor, a guest's or contact's outside address) get the audit's resolution text
(audit/resolutions.py), built from the state after the plan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .addresses import (
    ADDN,
    SAM,
    ad_upn_key,
    alias_key,
    all_lookup_keys,
    claims_of,
    cross_key,
    fold,
    is_guest,
    namespace,
    smtp_key,
    split_proxy,
    upn_key,
)
from .engine import (
    Evaluation,
    apply_policy,
    build_context,
    change_identities,
    plan_keys,
    run_rules,
)
from .fixers import TextFile, replacements_for
from .interfaces import Rule, StateSource
from .model import Change, DirectoryObject, ObjectRef, Plan, Report, ReportedFinding
from .naming import BATCHES, Convention, NameParts, candidates
from .policy import Policy
from .projection import SyncRules
from .remedies import Replacement, Suggestion

# Rules whose finding a new value settles (one holder too many for a value the plan writes).
DUPLICATE_CODES = frozenset({"DUP001", "DUP002", "DUP003", "DUP004", "DUP005", "DUP007", "DUP010", "DUP013", "DUP014"})
# Format rules a cleaned-up value settles (too long, invalid characters, spaces around it, non-ASCII).
FORMAT_CODES = frozenset({"FMT001", "FMT002", "FMT003", "FMT004"})
NAMED_ATTRIBUTES = ("userPrincipalName", "mail", "proxyAddresses", "mailNickname", "sAMAccountName")
VERIFY_ROUNDS = 4


@dataclass
class _Group:
    """One value of one change to rename, with every attribute that must follow it."""

    change: tuple[str, int]
    kind: str  # "address" | "alias" | "sam"
    old: str  # the address (no type prefix), alias or sAMAccountName, as written
    members: list[tuple[str, str]]  # (attribute, value as written) to rewrite
    lead: str  # the attribute whose convention makes the candidates
    parts: NameParts
    findings: list[ReportedFinding] = field(default_factory=list)
    pool: list[str] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)
    chosen: str | None = None

    def edits(self, value: str) -> list[tuple[str, str, str]]:
        out = []
        for attribute, written in self.members:
            out.append((attribute, written, _renamed(self, attribute, written, value)))
        return out


@dataclass(frozen=True)
class SuggestResult:
    """The report with suggestions attached, and what it cost."""

    report: Report
    replacements: tuple[Replacement, ...]
    round_trips: int  # extra `lookup` calls per source (0, 1 or 2)
    keys_asked: int
    remaining: tuple[ReportedFinding, ...]  # errors the fixed plan would still have
    fixed: int  # findings a value suggestion settles


def _renamed(group: _Group, attribute: str, written: str, value: str) -> str:
    if group.kind != "address":
        return value
    if attribute == "proxyAddresses":
        prefix = written.strip().partition(":")[0]
        return f"{prefix}:{value}"
    if attribute == "mailNickname":
        return value.partition("@")[0]
    return value


def _values(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, (list, tuple)):
        return tuple(str(v) for v in raw if v is not None)
    return (str(raw),)


def _written(change: Change, attribute: str) -> tuple[str, ...]:
    return _values(change.set.get(attribute)) + _values(change.add.get(attribute))


def _address_of(attribute: str, value: str) -> str | None:
    if attribute in ("userPrincipalName", "mail"):
        return value.strip() if "@" in value else None
    if attribute == "proxyAddresses":
        parts = split_proxy(value)
        return parts[1] if parts and parts[0] == "smtp" and "@" in parts[1] else None
    return None


def _address_members(change: Change, address: str) -> list[tuple[str, str]]:
    target = fold(address)
    local = target.partition("@")[0]
    members: list[tuple[str, str]] = []
    for attribute in ("userPrincipalName", "mail", "proxyAddresses"):
        for value in _written(change, attribute):
            found = _address_of(attribute, value)
            if found is not None and fold(found) == target:
                members.append((attribute, value))
    if members:
        members += [("mailNickname", v) for v in _written(change, "mailNickname") if fold(v) == local]
    return members


def _modified(change: Change, edits: Iterable[tuple[str, str, str]]) -> Change:
    """The change with each (attribute, old, new) value replaced (predicted values follow)."""
    table = {(a, old): new for a, old, new in edits}

    def swap(attribute: str, raw: object, predicted: bool = False) -> object:
        if isinstance(raw, (list, tuple)):
            return tuple(swap(attribute, v, predicted) for v in raw)
        if not isinstance(raw, str):
            return raw
        if (attribute, raw) in table:
            return table[(attribute, raw)]
        if predicted:  # Terraform's SMTP:<upn>, an alias from the UPN: derived from what changed
            for (a, old), new in table.items():
                if a in ("userPrincipalName", "mail") and fold(raw.partition(":")[2] or raw) == fold(old):
                    return f"{raw.partition(':')[0]}:{new}" if ":" in raw else new
                if a in ("userPrincipalName", "mail") and fold(raw) == fold(old.partition("@")[0]):
                    return new.partition("@")[0]
        return raw

    return dataclasses.replace(
        change,
        set={k: swap(k, v) for k, v in change.set.items()},
        add={k: swap(k, v) for k, v in change.add.items()},  # type: ignore[misc]
        predicted={k: swap(k, v, True) for k, v in change.predicted.items()},
    )


def _held_keys(obj: DirectoryObject, sync: SyncRules) -> set[str]:
    """Every key an object read from a source blocks, whatever its state: a suggestion is never a
    value some source holds (soft-deleted and quarantined values included, AD's comparison too)."""
    keys = set(all_lookup_keys(obj))
    for claims in (claims_of(obj, sync), claims_of(obj)):
        for c in claims:
            keys.add(c.key)
            if c.attribute in ("userPrincipalName", "mail", "proxyAddresses", "targetAddress"):
                typed = split_proxy(c.value)
                address = typed[1] if typed and typed[0] == "smtp" else (None if typed else c.value.strip())
                if address and "@" in address:
                    keys |= {upn_key(address), smtp_key(address), ad_upn_key(address)}
    for k in list(keys):
        ck = cross_key(k)
        if ck:
            keys.add(ck)
    return keys


def _extra_keys(group: _Group, value: str) -> set[str]:
    if group.kind == "address":
        return {upn_key(value), smtp_key(value), ad_upn_key(value)}
    if group.kind == "alias":
        return {alias_key(value)}
    return set()


class _Planner:
    def __init__(self, evaluation: Evaluation, convention: Convention, formats: Mapping[str, str]):
        self.ev = evaluation
        self.ctx = evaluation.context
        self.sync = self.ctx.simulation.sync
        self.tenant = self.ctx.tenant
        self.convention = convention
        self.formats = formats
        self.changes = {(c.plan, c.index): c for c in evaluation.changes}
        self.order = {(c.plan, c.index): n for n, c in enumerate(evaluation.changes)}
        self.base_keys = {k: plan_keys([c], self.tenant, self.sync) for k, c in self.changes.items()}
        self.objects: dict[ObjectRef, DirectoryObject] = {o.ref: o for o in evaluation.objects}
        self.taken: set[str] = set()
        for o in evaluation.objects:
            self.taken |= _held_keys(o, self.sync)
        self.groups: list[_Group] = []
        self.by_finding: dict[int, _Group] = {}
        self.kept: dict[int, list[tuple[str, int]]] = {}  # DUP005 first claimant: the others rename
        self.keys_cache: dict[tuple[int, str], set[str]] = {}

    # --- which findings a value fixes -----------------------------------------------------------

    def collect(self, findings: Sequence[ReportedFinding]) -> None:
        aliases: list[tuple[int, ReportedFinding, Change]] = []
        for n, rf in enumerate(findings):
            f = rf.finding
            if rf.suppressed is not None or rf.severity != "error" or f.change is None:
                continue
            if f.code not in DUPLICATE_CODES | FORMAT_CODES or f.attribute not in NAMED_ATTRIBUTES:
                continue
            ck = (f.change.file, f.change.index)
            change = self.changes.get(ck)
            if change is None or change.op not in ("create", "update") or not f.value:
                continue
            if change.kind == "contact" or is_guest(change.set):
                continue  # an outside address belongs to someone else: not ours to rename
            # The first change to claim a value keeps it, unless a source holds it too (the check
            # then reports DUP005 alone: every claimant needs a new value).
            if f.code == "DUP005" and self._first_claimant(rf, ck) and not (f.key and f.key in self.taken):
                self.kept[n] = [(h.change.file, h.change.index) for h in f.holders if h.change is not None]
                continue
            if f.attribute == "mailNickname":
                aliases.append((n, rf, change))
                continue
            if f.attribute == "sAMAccountName":
                if f.value in _written(change, "sAMAccountName"):
                    self._join(n, rf, ck, "sam", f.value, [("sAMAccountName", f.value)], "sAMAccountName", change)
                continue
            address = _address_of(f.attribute, f.value)
            if address is None:
                continue
            members = _address_members(change, address)
            if members:
                lead = "userPrincipalName" if any(a == "userPrincipalName" for a, _ in members) else "mail"
                self._join(n, rf, ck, "address", address, members, lead, change)
        for n, rf, change in aliases:
            ck = (change.plan, change.index)
            nick = str(rf.finding.value)
            owner = next(
                (g for g in self.groups if g.change == ck and g.kind == "address"
                 and fold(g.old.partition("@")[0]) == fold(nick)),
                None,
            )  # fmt: skip
            if owner is not None and any(a == "mailNickname" for a, _ in owner.members):
                owner.findings.append(rf)
                self.by_finding[n] = owner
            elif nick in _written(change, "mailNickname"):
                self._join(n, rf, ck, "alias", nick, [("mailNickname", nick)], "mailNickname", change)

    def _first_claimant(self, rf: ReportedFinding, ck: tuple[str, int]) -> bool:
        others = [self.order.get((h.change.file, h.change.index), -1) for h in rf.finding.holders if h.change]
        return bool(others) and all(self.order[ck] < o for o in others)

    def _join(
        self, n: int, rf: ReportedFinding, ck: tuple[str, int], kind: str, old: str,
        members: list[tuple[str, str]], lead: str, change: Change,
    ) -> None:  # fmt: skip
        for g in self.groups:
            if g.change == ck and g.kind == kind and fold(g.old) == fold(old):
                g.findings.append(rf)
                self.by_finding[n] = g
                return
        local, _, domain = old.partition("@")
        g = _Group(ck, kind, old, members, lead, NameParts.of(change.set, local, domain), [rf])
        self.groups.append(g)
        self.by_finding[n] = g

    # --- candidates and look-ups ----------------------------------------------------------------

    def extend_pools(self, batch: int) -> None:
        numbers = BATCHES[batch]
        for g in self.groups:
            if g.chosen is None:
                fresh = [
                    c for c in candidates(self.convention, g.lead, g.parts, numbers, first=batch == 0)
                    if fold(c) != fold(g.old) and c not in g.pool
                ]  # fmt: skip
                g.pool.extend(fresh)

    def candidate_keys(self, g: _Group, value: str) -> set[str]:
        cached = self.keys_cache.get((id(g), value))
        if cached is not None:
            return cached
        change = self.changes[g.change]
        keys = plan_keys([_modified(change, g.edits(value))], self.tenant, self.sync) - self.base_keys[g.change]
        keys |= _extra_keys(g, value)
        self.keys_cache[(id(g), value)] = keys
        return keys

    def ask(self, sources: Sequence[StateSource], asked: set[str]) -> int:
        keys: set[str] = set()
        for g in self.groups:
            if g.chosen is None:
                for value in g.pool:
                    keys |= self.candidate_keys(g, value)
        keys -= asked
        if not keys:
            return 0
        for source in sources:
            for obj in source.lookup(sorted(keys), []):
                if obj.ref not in self.objects:
                    self.objects[obj.ref] = obj
                    self.taken |= _held_keys(obj, self.sync)
        asked |= keys
        return len(keys)

    # --- choosing ---------------------------------------------------------------------------------

    def choose(self) -> None:
        """Pick, in plan order, each group's first candidate that is free of the state, of the
        other changes and of the suggestions picked before it."""
        current = dict(self.changes)
        keys_of = dict(self.base_keys)
        claimed = Counter(k for ks in keys_of.values() for k in ks)
        for g in sorted(self.groups, key=lambda g: (self.order[g.change], g.kind != "address")):
            g.chosen = None
            for value in g.pool:
                if value in g.rejected:
                    continue
                keys = self.candidate_keys(g, value)
                mine = keys_of[g.change]
                if keys & self.taken or any(claimed[k] - (k in mine) > 0 for k in keys):
                    continue
                g.chosen = value
                current[g.change] = _modified(current[g.change], g.edits(value))
                new = plan_keys([current[g.change]], self.tenant, self.sync) | keys
                claimed.update(new - mine)
                keys_of[g.change] = mine | new
                break
        self.current = current

    def fixed_changes(self) -> tuple[Change, ...]:
        return tuple(self.current[(c.plan, c.index)] for c in self.ev.changes)


def suggest(
    evaluation: Evaluation,
    sources: Sequence[StateSource],
    rules: Mapping[str, Rule],
    policy: Policy,
    convention: Convention,
    plans: Sequence[Plan],
    today: dt.date | None = None,
) -> SuggestResult:
    """The report with a `suggestion` on every error finding the plan can fix or needs told."""
    report = evaluation.report
    planner = _Planner(evaluation, convention, {p.path: p.format for p in plans})
    planner.collect(report.findings)
    today = today or evaluation.context.today
    asked: set[str] = set()
    round_trips = 0
    verified: list[ReportedFinding] = list(report.findings)
    for batch in range(len(BATCHES)):
        pending = [g for g in planner.groups if g.chosen is None]
        if not pending:
            break
        planner.extend_pools(batch)
        if planner.ask(sources, asked):
            round_trips += 1
        for _ in range(VERIFY_ROUNDS):
            planner.choose()
            verified = _verify(planner, rules, policy, today)
            bad = _rejections(planner, verified)
            if not bad:
                break
            for g, value in bad:
                g.rejected.add(value)
    if not planner.groups:
        planner.choose()
        verified = list(report.findings)
    return _attach(planner, report, verified, round_trips, len(asked), plans)


def _verify(planner: _Planner, rules: Mapping[str, Rule], policy: Policy, today: dt.date) -> list[ReportedFinding]:
    """Every rule over the plan with the chosen values, against everything read: the proof that
    a suggestion draws no error, with no further source look-up."""
    changes = planner.fixed_changes()
    ctx = build_context(changes, planner.objects.values(), planner.ctx.covered, planner.tenant, policy, today)
    findings = run_rules(ctx, rules.values())
    suppressions = {(c.plan, c.index): c.suppressions for c in changes if c.suppressions}
    return apply_policy(findings, dict(rules), policy, today, change_identities(changes), suppressions)


def _new_values(g: _Group) -> set[str]:
    return {fold(new.partition(":")[2] if g.kind == "address" and ":" in new else new) for _a, _o, new in g.edits(g.chosen or "")}


def _rejections(planner: _Planner, verified: Sequence[ReportedFinding]) -> list[tuple[_Group, str]]:
    bad: list[tuple[_Group, str]] = []
    for g in planner.groups:
        if g.chosen is None:
            continue
        news = _new_values(g)
        for rf in verified:
            f = rf.finding
            if rf.suppressed is not None or rf.severity != "error" or f.change is None or not f.value:
                continue
            if (f.change.file, f.change.index) != g.change:
                continue
            value = fold(f.value.partition(":")[2] if f.attribute == "proxyAddresses" else f.value)
            if value in news or (g.kind == "address" and value == fold(g.chosen.partition("@")[0])):
                bad.append((g, g.chosen))
                break
    return bad


def _attach(
    planner: _Planner,
    report: Report,
    verified: Sequence[ReportedFinding],
    round_trips: int,
    keys_asked: int,
    plans: Sequence[Plan],
) -> SuggestResult:
    files: dict[str, TextFile] = {}
    placed: dict[int, tuple[Replacement, ...]] = {}
    for g in planner.groups:
        if g.chosen is not None:
            change = planner.changes[g.change]
            fmt = planner.formats.get(change.plan, "")
            placed[id(g)] = replacements_for(change, fmt, g.edits(g.chosen), files)
    out: list[ReportedFinding] = []
    fixed = 0
    by_ref = {(c.file, c.index): c.label for c in report.change_refs}
    for n, rf in enumerate(report.findings):
        if rf.suppressed is not None or rf.severity != "error":
            out.append(rf)
            continue
        grp = planner.by_finding.get(n)
        if grp is not None and grp.chosen is not None:
            reps = placed[id(grp)]
            value = next((r.new for r in reps if fold(r.old) == fold(rf.finding.value or "")), grp.chosen)
            out.append(dataclasses.replace(rf, suggestion=Suggestion("value", _text(grp, reps), value, reps)))
            fixed += 1
        elif grp is not None:
            tried = len(grp.pool)
            out.append(dataclasses.replace(rf, suggestion=Suggestion(
                "resolution",
                f"no free value among the {tried} candidates the naming convention makes for {grp.old}: "
                "add a pattern under `naming:` in .dupfix.yaml, or choose a value by hand",
            )))  # fmt: skip
        elif n in planner.kept:
            others = ", ".join(by_ref.get(k, f"{k[0]}#{k[1] + 1}") for k in planner.kept[n])
            out.append(dataclasses.replace(rf, suggestion=Suggestion(
                "resolution", f"keep {rf.finding.value} here: the first change to claim it; {others} gets a new value"
            )))  # fmt: skip
            fixed += 1
        else:
            out.append(dataclasses.replace(rf, suggestion=Suggestion("resolution", _resolution(planner, rf))))
    remaining = tuple(
        rf for rf in verified if rf.suppressed is None and rf.severity == "error"
    )
    reps_all = tuple(r for g in planner.groups if g.chosen is not None for r in placed[id(g)])
    note = (
        f"suggestions: {fixed} finding(s) settled by a new value, {len(reps_all)} value(s) to write; "
        f"{round_trips} extra source round trip(s) for {keys_asked} candidate key(s)"
    )
    return SuggestResult(
        dataclasses.replace(report, findings=tuple(out), notes=(*report.notes, note)),
        reps_all, round_trips, keys_asked, remaining, fixed,
    )  # fmt: skip


def _text(g: _Group, reps: Sequence[Replacement]) -> str:
    what = ", ".join(dict.fromkeys(r.attribute for r in reps))
    return f"use {g.chosen} ({what}): held by no source and by no other change of the plan"


def _resolution(planner: _Planner, rf: ReportedFinding) -> str:
    """The audit's resolution for the conflict as it stands after the plan (reused, not copied)."""
    from .audit.conflicts import find_conflicts
    from .audit.resolutions import resolve

    f = rf.finding
    if f.key and namespace(f.key) not in (ADDN, SAM):  # a name in AD: only a new name fixes it
        after = planner.ctx.simulation.after
        conflicts = find_conflicts(after.objects.values(), [f.key], covered=planner.ctx.covered, sync=planner.sync)
        for conflict in conflicts:
            if f.key in (conflict.key, cross_key(conflict.key)):
                return resolve(conflict, planner.ctx.covered).text
    return f.fix or rf.rule.fix


__all__ = ["SuggestResult", "suggest"]
