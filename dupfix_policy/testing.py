"""Builders for testing rules, plan formats and sources against literal data.

For dupfix-policy's own tests and for plugin authors alike: state a domain case in plain data
(`entra_user("alice@contoso.com", proxyAddresses=(...))`), run the check with `run`, and read the
verdict with `codes` / `only`. `MemorySource` is an in-memory `StateSource` that answers look-ups
exactly as the contract says (every object holding any asked key), so a rule tested against it
behaves the same against a snapshot, the cache, LDAP or Graph.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .addresses import all_lookup_keys, guid_to_immutable_id, target_key
from .engine import check
from .model import (
    Change,
    DirectoryObject,
    Location,
    Plan,
    Quarantined,
    Report,
    SourceInfo,
    Target,
    Tenant,
)

TODAY = dt.date(2026, 11, 26)
CONTOSO = Tenant("contoso.onmicrosoft.com", ("contoso.com",))


def entra_user(upn: str, *, id: str | None = None, state: str = "active", quarantined: Sequence[tuple[str, str]] = (),
               **attrs: Any) -> DirectoryObject:
    attrs.setdefault("userPrincipalName", upn)
    return DirectoryObject(
        id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "entra:" + upn)), "user", "entra", state, attrs,
        tuple(Quarantined(p, v) for p, v in quarantined),
    )


def entra_obj(kind: str, name: str, *, id: str | None = None, state: str = "active", **attrs: Any) -> DirectoryObject:
    return DirectoryObject(id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{kind}:{name}")), kind, "entra", state, attrs)


def ad_user(upn: str, *, guid: str | None = None, dn: str | None = None, **attrs: Any) -> DirectoryObject:
    guid = guid or str(uuid.uuid5(uuid.NAMESPACE_DNS, "ad:" + upn))
    attrs.setdefault("userPrincipalName", upn)
    attrs.setdefault("objectGUID", guid)
    attrs.setdefault("distinguishedName", dn or f"CN={upn.split('@')[0]},OU=Staff,DC=contoso,DC=com")
    return DirectoryObject(guid, attrs.pop("kind", "user"), "ad", "active", attrs)


def synced_pair(upn: str, *, link: str = "guid", **attrs: Any) -> tuple[DirectoryObject, DirectoryObject]:
    """An AD user and the Entra user it syncs to, linked by GUID anchor or by SID."""
    ad = ad_user(upn, objectSid=f"S-1-5-21-1-2-3-{abs(hash(upn)) % 100000}", **attrs)
    link_attrs = (
        {"onPremisesImmutableId": guid_to_immutable_id(ad.id)}
        if link == "guid"
        else {"onPremisesSecurityIdentifier": ad.get("objectSid")}
    )
    entra = entra_user(upn, **attrs, **link_attrs)
    return ad, entra


@dataclass
class MemorySource:
    """A state source over literal objects; answers lookups exactly as the contract says."""

    objects: list[DirectoryObject]
    dirs: Iterable[str] = ("entra",)
    tenant_info: Tenant | None = CONTOSO
    spec: str = "memory:"
    lookups: list[tuple[list[str], list[Target]]] = field(default_factory=list)

    @property
    def directories(self) -> frozenset[str]:
        return frozenset(self.dirs)

    @property
    def tenant(self) -> Tenant | None:
        return self.tenant_info

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.spec, "+".join(sorted(self.dirs)) or "none", "2026-11-20T08:00:00Z")

    def lookup(self, keys, targets):
        keys, targets = list(keys), list(targets)
        self.lookups.append((keys, targets))
        wanted = set(keys) | {target_key(t) for t in targets}
        return [o for o in self.objects if all_lookup_keys(o) & wanted]

    def scan(self):
        return iter(self.objects)

    def close(self) -> None:
        pass


_counter = iter(range(1, 10**6))


def change(op: str, kind: str = "user", *, path: str = "plans/change.yaml", line: int | None = None,
           target: dict[str, str] | None = None, **kw: Any) -> Change:
    """A change as a loader would produce it; `target={"userPrincipalName": "bob@contoso.com"}`."""
    n = next(_counter)
    tgt = None
    if target:
        ((attr, value),) = target.items()
        tgt = Target(attr, value)
    for name in ("add", "remove"):
        if name in kw:
            kw[name] = {k: tuple(v) for k, v in kw[name].items()}
    if "set" in kw:
        kw["set"] = {k: tuple(v) if isinstance(v, list) else v for k, v in kw["set"].items()}
    return Change(op=op, kind=kind, location=Location(path, line or n, 3), target=tgt, **kw)


def plan(*changes: Change, path: str = "plans/change.yaml") -> Plan:
    renumbered = [
        Change(**{**{f: getattr(c, f) for f in c.__dataclass_fields__}, "index": i,
                  "location": Location(path, c.location.line, c.location.column)})
        for i, c in enumerate(changes)
    ]
    return Plan(path, "native", tuple(renumbered))


def StubPolicy(*, soft_match: bool = True, severities: dict[str, str] | None = None):
    """The shipped default pack with a few settings changed, as a policy file would change them."""
    from dataclasses import replace

    from dupfix_policy.policy import load_policy

    base = load_policy("default")
    merged = {**base.severities, **(severities or {})}
    return replace(base, soft_match=soft_match, severities=merged)


def builtin_rules():
    """The built-in rule plugins, straight from their modules (the registry is tested on its own)."""
    from dupfix_policy.rules import duplicates, exemptions, references

    rules = [r for m in (duplicates, references, exemptions) for r in m.dupfix_rules()]
    return dict(sorted((r.info.code, r) for r in rules))


def run(changes: Sequence[Change] | Plan, objects: Sequence[DirectoryObject] = (), *, dirs: Iterable[str] = ("entra",),
        policy: Any = None, tenant: Tenant | None = CONTOSO, sources: Sequence[Any] | None = None,
        rules: Iterable[Any] = ()) -> Report:
    """Check a plan against literal objects with the built-in rules plus `rules` (a plugin's)."""
    p = changes if isinstance(changes, Plan) else plan(*changes)
    srcs = list(sources) if sources is not None else [MemorySource(list(objects), dirs, tenant)]
    every = {**builtin_rules(), **{r.info.code: r for r in rules}}
    if policy is None:
        from dupfix_policy.policy import load_policy

        policy = load_policy("default")
    return check([p], srcs, dict(sorted(every.items())), policy, today=TODAY)


def codes(report: Report, *, severity: str | None = None) -> list[str]:
    return [r.finding.code for r in report.findings if severity is None or r.severity == severity]


def only(report: Report, code: str):
    found = [r for r in report.findings if r.finding.code == code]
    assert len(found) == 1, f"expected one {code}, got {[(r.finding.code, r.finding.message) for r in report.findings]}"
    return found[0]
