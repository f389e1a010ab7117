"""The checker's core: plan + state -> simulation -> facts -> rule findings -> policy -> report.

`check()` asks the sources only for the keys and targets the plan touches (point look-ups), so a
ten-row import against a million-object tenant costs ten rows of work. The facts it hands to rules
(`CheckContext`) are computed once here, so each rule is a short, pure filter over them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from . import __version__
from .addresses import (
    claims_of,
    cross_key,
    fold,
    is_guest,
    is_primary_smtp,
    link_keys_of,
    moera_key,
    smtp_key,
    target_key,
    target_keys_of,
    upn_key,
)
from .errors import DupfixError, PluginError, UserInputError
from .facts import (
    AddedClaim,
    CheckContext,
    DerivedAddress,
    RestoreOrder,
    Rival,
    TouchedConflict,
    UnresolvedTarget,
)
from .index import IdentityView
from .interfaces import ReportsNotes, Rule, StateSource
from .model import (
    Change,
    ChangeRef,
    DirectoryObject,
    Finding,
    Location,
    ObjectRef,
    Plan,
    Report,
    ReportedFinding,
    RuleInfo,
    Tenant,
)
from .projection import DEFAULT_SYNC, SyncRules, project
from .simulation import ChangeEffect, Simulation, planned_object, simulate, updated_object

if TYPE_CHECKING:
    from .policy import Policy

LOOKUP_ROUNDS = 4


# --- point look-ups -----------------------------------------------------------------------


def _with_cross(keys: Iterable[str]) -> set[str]:
    out = set(keys)
    for k in list(out):
        ck = cross_key(k)
        if ck:
            out.add(ck)
    return out


def _moera_nickname(change: Change, obj: DirectoryObject, sync: SyncRules = DEFAULT_SYNC) -> str | None:
    if obj.kind != "user" or is_guest(obj.attributes):
        return None
    if obj.directory == "ad":
        # Entra's mailNickname for a synced user is the projected one (projection.project).
        return project(obj, sync).nickname if sync.in_scope(obj) else None
    nick = obj.get("mailNickname")
    if nick:
        return str(nick).strip()
    upn = obj.get("userPrincipalName")
    if upn and "@" in str(upn):
        return str(upn).split("@", 1)[0].strip()
    return None


def plan_keys(changes: Sequence[Change], tenant: Tenant | None, sync: SyncRules = DEFAULT_SYNC) -> set[str]:
    """Every key the changes would claim or release (with UPN <-> smtp: cross keys): what a source
    is asked for. Public for `suggestions.py`, which asks the same question of candidate values."""
    keys: set[str] = set()
    for change in changes:
        probe = planned_object(change, "probe")
        for rules in dict.fromkeys((sync, DEFAULT_SYNC)):  # the projection, and the values as written
            keys |= {c.key for c in claims_of(probe, rules)}
        for name, values in change.remove.items():
            probe_removed = DirectoryObject(
                "probe", change.kind, change.directory, "active", {name: tuple(values)}
            )
            keys |= {c.key for c in claims_of(probe_removed)}
        if tenant and tenant.initial_domain and (change.op == "create" or "mailNickname" in change.set):
            nick = _moera_nickname(change, probe, sync)
            if nick:
                keys.add(moera_key(nick, tenant.initial_domain))
    return _with_cross(keys)


def gather_state(
    sources: Sequence[StateSource], changes: Sequence[Change], sync: SyncRules = DEFAULT_SYNC
) -> tuple[list[DirectoryObject], Tenant]:
    """Ask every source for what the plan touches, then widen to twins and targets' own keys."""
    tenant = _tenant_of(sources)
    if tenant is not None:
        sync = sync.with_tenant(tenant.initial_domain, tenant.verified_domains)
    targets = [c.target for c in changes if c.target is not None]
    changes_by_target: dict[str, list[Change]] = {}
    for c in changes:
        if c.target is not None:
            changes_by_target.setdefault(target_key(c.target), []).append(c)
    wanted_targets = set(changes_by_target)
    keys = plan_keys(changes, tenant, sync)
    found: dict[ObjectRef, DirectoryObject] = {}
    asked: set[str] = set()
    related_links: set[str] = set()
    pending_targets = targets
    for _ in range(LOOKUP_ROUNDS):
        ask = keys - asked
        if not ask and not pending_targets:
            break
        new: list[DirectoryObject] = []
        for source in sources:
            for obj in source.lookup(sorted(ask), pending_targets):
                if obj.ref not in found:
                    found[obj.ref] = obj
                    new.append(obj)
        asked |= ask
        pending_targets = []
        keys = set(asked)
        for obj in new:
            links = link_keys_of(obj)
            keys |= links
            if target_keys_of(obj) & (wanted_targets | related_links):
                related_links |= links
                keys |= _with_cross(c.key for c in claims_of(obj, sync))
                for tkey in target_keys_of(obj) & wanted_targets:
                    for change in changes_by_target[tkey]:
                        keys |= _with_cross(c.key for c in claims_of(updated_object(obj, change, sync), sync))
        tenant = _tenant_of(sources) or tenant
    return sorted(found.values(), key=lambda o: o.ref), tenant or Tenant()


def _tenant_of(sources: Sequence[StateSource]) -> Tenant | None:
    for source in sources:
        t = source.tenant
        if t is not None and (t.initial_domain or t.verified_domains):
            return t
    return None


# --- facts for the rules ----------------------------------------------------------------------


def primary_keys(obj: DirectoryObject, sync: SyncRules = DEFAULT_SYNC) -> set[str]:
    """Keys soft match compares: the UPN (users) and the primary SMTP address (docs/semantics.md "Soft match"),
    of an AD object as sync projects them into Entra ID."""
    keys: set[str] = set()
    if obj.directory == "ad":
        p = project(obj, sync)
        if obj.kind == "user" and p.upn:
            keys.add(upn_key(p.upn))
        primaries = [x for x in p.proxies if is_primary_smtp(x)]
        if primaries:
            keys.add(smtp_key(primaries[0].split(":", 1)[1]))
        elif p.mail:
            keys.add(smtp_key(p.mail))
        return keys
    if obj.kind == "user" and obj.get("userPrincipalName"):
        keys.add(upn_key(str(obj.get("userPrincipalName"))))
    proxies = obj.get("proxyAddresses") or ()
    primaries = [p for p in proxies if is_primary_smtp(p)]
    if primaries:
        keys.add(smtp_key(primaries[0].split(":", 1)[1]))
    elif obj.get("mail"):
        keys.add(smtp_key(str(obj.get("mail"))))
    return keys


def _holds_as_primary(identity: IdentityView, key: str, sync: SyncRules = DEFAULT_SYNC) -> bool:
    return any(key in primary_keys(o, sync) for o in identity.objects)


class _Facts:
    def __init__(self, sim: Simulation, soft_match: bool):
        self.sim = sim
        self.soft_match = soft_match
        self.partner: dict[int, int] = {}

    def rival(self, ident: int, key: str, index_after: bool = True) -> Rival | None:
        index = self.sim.after if index_after else self.sim.before
        holding = index.holders(key).get(ident)
        view = index.identity(ident)
        if holding is None or view is None:
            return None
        deleted = self.sim.deleted_by.get(ident)
        before = self.sim.before.identity(ident)
        return Rival(
            identity=view,
            holding=holding,
            key=key,
            changes=tuple(e.change for e in self.sim.added_by.get((key, ident), ())),
            deleted_by=deleted.change if deleted is not None else None,
            released_by=tuple(e.change for e in self.sim.released_by.get((key, ident), ())),
            current_name=before.name if before is not None else None,
        )

    def rivals(self, ident: int, key: str | None) -> tuple[Rival, ...]:
        if key is None:
            return ()
        skip = {ident, self.partner.get(ident, -1)}
        out = []
        for other in self.sim.after.holders(key):
            if other in skip:
                continue
            r = self.rival(other, key)
            if r is not None:
                out.append(r)
        return tuple(out)

    def find_soft_matches(self) -> dict[int, Rival]:
        matches: dict[int, Rival] = {}
        if not self.soft_match:
            return matches
        sim = self.sim
        for effect in sim.effects:
            if effect.identity is None or effect.hard_match is not None:
                continue
            if effect.change.op != "create" and not effect.first_sync:
                continue
            me = sim.after.identity(effect.identity)
            if me is None or me.state != "active":
                continue
            obj = next((o for o in me.objects if o.directory == effect.change.directory), me.objects[0])
            for key in sorted(primary_keys(obj, sim.sync)):
                if key not in effect.added:
                    continue
                for other in sim.after.holders(key):
                    if other == effect.identity or other in matches or (key, other) in sim.added_by:
                        continue
                    them = sim.after.identity(other)
                    if them is None or them.state != "active" or them.kind != me.kind:
                        continue
                    if effect.change.directory == "ad":
                        ok = "entra" in sim.covered and them.cloud_only
                    else:
                        ok = (
                            {"ad", "entra"} <= sim.covered
                            and them.ad_only
                            and not obj.get("onPremisesImmutableId")
                            and _holds_as_primary(them, key, sim.sync)
                        )
                    if ok:
                        r = self.rival(other, key)
                        if r is not None:
                            matches[effect.identity] = r
                            self.partner[effect.identity] = other
                            self.partner[other] = effect.identity
                            break
                if effect.identity in matches:
                    break
        return matches

    def added_claims(self, matches: dict[int, Rival]) -> list[AddedClaim]:
        sim = self.sim
        out: list[AddedClaim] = []
        for effect in sim.effects:
            if effect.identity is None:
                continue
            me = sim.after.identity(effect.identity)
            if me is None:
                continue
            ad_rivals = frozenset(
                r.identity.key
                for k in effect.added
                if k.startswith("adupn:")
                for r in self.rivals(effect.identity, k)
                if r.state == "active"
            )
            for key in sorted(effect.added):
                if effect.identity not in sim.after.holders(key):
                    continue  # a later change in the plan took it away again
                claim = effect.added[key]
                released = []
                for other in sim.before.holders(key):
                    if other == effect.identity or other in sim.after.holders(key):
                        continue
                    if (key, other) in sim.released_by:
                        r = self.rival(other, key, index_after=False)
                        if r is not None:
                            released.append(r)
                match = matches.get(effect.identity)
                out.append(
                    AddedClaim(
                        change=effect.change,
                        identity=me,
                        claim=claim,
                        predicted=claim.derived or (claim.attribute, fold(claim.value)) in effect.predicted,
                        rivals=self.rivals(effect.identity, key),
                        cross_rivals=self.rivals(effect.identity, cross_key(key)),
                        released_from=tuple(released),
                        soft_match=match if match is not None and match.key == key else None,
                        ad_rivals=ad_rivals,
                    )
                )
        return out

    def touched_conflicts(self) -> list[TouchedConflict]:
        sim = self.sim
        out: list[TouchedConflict] = []
        for effect in sim.effects:
            for key in sorted(effect.touched):
                before = set(sim.before.holders(key))
                after = set(sim.after.holders(key))
                both = before & after
                if len(both) < 2:
                    continue
                if key.startswith("alias:"):
                    kinds = [sim.after.identity(i).kind for i in both]  # type: ignore[union-attr]
                    if max(kinds.count("user"), kinds.count("group")) < 2:
                        continue
                holders = tuple(r for i in sorted(both) if (r := self.rival(i, key)) is not None)
                claim = holders[0].holding.first
                if effect.identity is not None and effect.identity in both:
                    claim = sim.after.holders(key)[effect.identity].first
                out.append(TouchedConflict(effect.change, key, claim, holders))
        return out

    def restore_orders(self) -> list[RestoreOrder]:
        sim = self.sim
        out: list[RestoreOrder] = []
        for effect in sim.effects:
            if effect.identity is None or not effect.held_when_run:
                continue
            for key, idents in sorted(effect.held_when_run.items()):
                later = [i for i in idents if i not in sim.after.holders(key)]
                holders = tuple(r for i in later if (r := self.rival(i, key, index_after=False)) is not None)
                if not holders or key not in effect.added:
                    continue
                freed = tuple(
                    e.change
                    for i in later
                    for e in (*sim.released_by.get((key, i), ()), *([sim.deleted_by[i]] if i in sim.deleted_by else ()))
                )
                out.append(RestoreOrder(effect.change, key, effect.added[key], holders, freed))
        return out

    def derived_addresses(self, tenant: Tenant) -> tuple[list[DerivedAddress], list[str]]:
        sim = self.sim
        wanted: list[tuple[ChangeEffect, IdentityView, str, str]] = []
        skipped = 0
        for effect in sim.effects:
            change = effect.change
            if effect.identity is None or not (change.op == "create" or "mailNickname" in change.set):
                continue
            me = sim.after.identity(effect.identity)
            if me is None or me.state != "active":
                continue
            obj = next((o for o in me.objects if o.ref.id.startswith("plan:")), me.objects[0])
            nick = _moera_nickname(change, obj, sim.sync)
            if not nick:
                continue
            if not tenant.initial_domain:
                skipped += 1
                continue
            wanted.append((effect, me, nick, f"{nick}@{tenant.initial_domain}"))
        by_key: dict[str, list[ChangeEffect]] = {}
        for effect, _me, nick, _address in wanted:
            by_key.setdefault(moera_key(nick, tenant.initial_domain or ""), []).append(effect)
        out = []
        for effect, me, nick, address in wanted:
            key = moera_key(nick, tenant.initial_domain or "")
            others = tuple(e.change for e in by_key[key] if e is not effect and e.identity != effect.identity)
            out.append(
                DerivedAddress(effect.change, me, nick, address, key, self.rivals(me.key, key), others)
            )
        notes = []
        if skipped:
            notes.append(
                f"MOERA (mailNickname@initial domain) not checked for {skipped} change(s): the tenant's "
                "initial domain is unknown (give a source with tenant information)"
            )
        return out, notes


def sync_rules(policy: Policy, tenant: Tenant | None = None) -> SyncRules:
    """The policy's `sync:` settings (merged with `.dupfix.yaml`'s) and the tenant's domains."""
    settings = policy.sync
    return SyncRules.from_settings(
        settings,
        tenant.initial_domain if tenant else None,
        tenant.verified_domains if tenant else (),
    )


def build_context(
    changes: Sequence[Change],
    objects: Iterable[DirectoryObject],
    covered: frozenset[str],
    tenant: Tenant,
    policy: Policy,
    today: dt.date | None = None,
) -> CheckContext:
    sim = simulate(changes, objects, covered, sync_rules(policy, tenant))
    facts = _Facts(sim, soft_match=policy.soft_match)
    matches = facts.find_soft_matches()
    ctx = CheckContext(
        changes=tuple(changes),
        tenant=tenant,
        covered=covered,
        simulation=sim,
        policy=policy,
        today=today or dt.date.today(),
    )
    ctx.added = facts.added_claims(matches)
    ctx.touched = facts.touched_conflicts()
    ctx.restore_order = facts.restore_orders()
    ctx.derived, notes = facts.derived_addresses(tenant)
    ctx.notes.extend(notes)
    ctx.unresolved = [UnresolvedTarget(e.change, e.problem) for e in sim.effects if e.problem is not None]
    return ctx


# --- findings -> report ------------------------------------------------------------------------


def fingerprint(finding: Finding, change_identity: str) -> str:
    """sha256 of code, key, file, op and the change's identity: never a line number or an index,
    so a baseline entry survives edits around the change (docs/cli.md "Baselines")."""
    change = finding.change
    parts = [
        finding.code,
        finding.key or "",
        change.file if change else "",
        change.op if change else "",
        change_identity,
    ]
    import hashlib  # here: OpenSSL's import costs a clean check more than its whole verdict

    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def change_identities(changes: Sequence[Change]) -> dict[tuple[str, int], str]:
    """What each change is called in fingerprints: its ref, target or UPN, never its line.

    Two changes of one file with the same name (two ref-less rows creating one UPN) get `#2`,
    `#3`... in file order, so their findings keep distinct fingerprints and a baseline entry for
    one never hides the other.
    """
    seen: dict[tuple[str, str], int] = {}
    out: dict[tuple[str, int], str] = {}
    for c in changes:
        name = c.identity
        n = seen[(c.plan, name)] = seen.get((c.plan, name), 0) + 1
        out[(c.plan, c.index)] = name if n == 1 else f"{name}#{n}"
    return out


def run_rules(ctx: CheckContext, rules: Iterable[Rule]) -> list[Finding]:
    """Every rule over the same facts. A rule that raises is its plugin's bug: the run stops with
    `PluginError` (exit 4) naming the rule and the plugin, and no partial verdict is reported."""
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(rule.check(ctx))
        except DupfixError:
            raise
        except Exception as exc:
            owner = rule.plugin or "an unregistered plugin"
            raise PluginError(
                f"rule {rule.info.code} ({rule.info.id}) of plugin {owner!r} raised "
                f"{type(exc).__name__}: {exc}",
                hint=f"report it to the plugin's authors, or turn the rule off in your policy "
                f"(rules: {{{rule.info.code}: off}})",
            ) from exc
    return findings


def apply_policy(
    findings: Iterable[Finding],
    rules: dict[str, Rule],
    policy: Policy,
    today: dt.date,
    identities: dict[tuple[str, int], str],
    suppressions: dict[tuple[str, int], Mapping[str, tuple[str, Location]]] | None = None,
) -> list[ReportedFinding]:
    out: list[ReportedFinding] = []
    for finding in findings:
        rule = rules.get(finding.code)
        if rule is None:
            raise UserInputError(f"a rule reported code {finding.code!r}, which no plugin declares")
        verdict = policy.verdict(finding, rule.info, today)
        if verdict is None:
            continue
        severity, suppressed = verdict
        if suppressed is None and finding.change is not None and suppressions:
            suppressed = inline_suppression(finding, rule.info, suppressions)
        ident = identities.get((finding.change.file, finding.change.index), "") if finding.change else ""
        digest = fingerprint(finding, ident)
        out.append(ReportedFinding(finding, rule.info, severity, digest, suppressed))
    return sort_findings(out)


def inline_suppression(
    finding: Finding, info: RuleInfo, suppressions: dict[tuple[str, int], Mapping[str, tuple[str, Location]]]
) -> dict[str, str | None] | None:
    """A `dupfix: ignore CODE reason` comment on the finding's change, by rule code or id."""
    assert finding.change is not None
    marks = suppressions.get((finding.change.file, finding.change.index)) or {}
    hit = marks.get(info.code) or marks.get(info.id)
    if hit is None:
        return None
    reason, where = hit
    return {"kind": "inline", "reason": reason, "location": str(where)}


def sort_findings(findings: Iterable[ReportedFinding]) -> list[ReportedFinding]:
    def key(r: ReportedFinding) -> tuple:
        f = r.finding
        c = f.change
        loc = f.location
        return (
            c.file if c else "",
            c.index if c else -1,
            loc.line or 0 if loc else 0,
            f.code,
            f.key or "",
            r.fingerprint,
        )

    return sorted(findings, key=key)


class Evaluation(NamedTuple):
    """A check's report with what it was made from: the state read and the facts the rules saw.

    `suggestions.py` needs these to propose free values without asking the sources again for what
    the check already read; `check()` returns only the report.
    """

    report: Report
    context: CheckContext
    objects: tuple[DirectoryObject, ...]
    changes: tuple[Change, ...]


def check(
    plans: Sequence[Plan],
    sources: Sequence[StateSource],
    rules: dict[str, Rule],
    policy: Policy,
    today: dt.date | None = None,
) -> Report:
    """Judge every plan together: they are applied as one change set, so they must agree."""
    return evaluate(plans, sources, rules, policy, today).report


def evaluate(
    plans: Sequence[Plan],
    sources: Sequence[StateSource],
    rules: dict[str, Rule],
    policy: Policy,
    today: dt.date | None = None,
) -> Evaluation:
    """`check()`, keeping the state and the facts (see `Evaluation`)."""
    changes = tuple(c if c.plan else replace(c, plan=plan.path) for plan in plans for c in plan.changes)
    objects, tenant = gather_state(sources, changes, sync_rules(policy))
    covered = frozenset(d for s in sources for d in s.directories)
    today = today or dt.date.today()
    ctx = build_context(changes, objects, covered, tenant, policy, today)
    findings = run_rules(ctx, rules.values())
    identities = change_identities(changes)
    suppressions = {(c.plan, c.index): c.suppressions for c in changes if c.suppressions}
    reported = apply_policy(findings, rules, policy, today, identities, suppressions)
    notes = [n for plan in plans for n in plan.notes] + ctx.notes
    for source in sources:  # what a source could not check, e.g. targetAddress
        if isinstance(source, ReportsNotes):
            notes.extend(source.report_notes(covered))
    report = Report(
        tool_version=__version__,
        sources=tuple(s.info for s in sources),
        policy=policy.name,
        changes=len(changes),
        findings=tuple(reported),
        notes=tuple(notes),
        change_refs=tuple(ChangeRef.of(c) for c in changes),
    )
    return Evaluation(report, ctx, tuple(objects), changes)


__all__ = [
    "AddedClaim",
    "CheckContext",
    "DerivedAddress",
    "Evaluation",
    "Rival",
    "TouchedConflict",
    "UnresolvedTarget",
    "build_context",
    "check",
    "evaluate",
    "gather_state",
    "plan_keys",
]
