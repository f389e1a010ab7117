"""Policy packs: how severe each rule is, whether soft match is on, and which duplicates are accepted.

Rules decide *what* is a duplicate; policy decides what a team does about it. Packs ship inside the
wheel (`policies/*.yaml`, package `dupfix_policy.policies`) and a team's own file can `extends:`
one. Rules are named by code or id, both stable. Which names exist is known only once plugins are
loaded, so this module accepts any well-formed name and `Policy.unknown_rules` lets the CLI reject
the unknown ones with their line.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from . import addresses
from .documents import Document, field_path, load_document, validate
from .errors import UserInputError
from .model import Finding, Location, RuleInfo
from .schemas import load_schema

DEFAULT_PACK = "default"
SEVERITY_ORDER: tuple[str, ...] = ("error", "warning", "note", "off")
_DEMOTION = {"error": "warning", "warning": "note", "note": "note", "off": "off"}


def demote(severity: str, levels: int) -> str:
    """`levels` steps below `severity`, never below a note; `off` stays off."""
    for _ in range(max(0, int(levels))):
        severity = _DEMOTION.get(severity, severity)
    return severity


_NAMESPACES = ("upn", "proxy", "target", "alias", "sam", "anchor", "sid")
_CLAIM_KEY = re.compile(r"^(?P<ns>" + "|".join(_NAMESPACES) + r"):(?P<rest>.+)$", re.IGNORECASE | re.DOTALL)


class Exemption(NamedTuple):
    """One accepted duplicate: a rule, the value's claim key(s), why, and until when.

    `keys` holds every claim key the written value can stand for (a bare address may be a UPN, an
    `smtp:` address or a targetAddress), `key` the first of them.
    """

    rule: str
    key: str
    value: str
    reason: str
    expires: dt.date | None = None
    location: Location | None = None
    keys: tuple[str, ...] = ()

    def matches_key(self, key: str | None) -> bool:
        return key is not None and (key == self.key or key in self.keys)

    def applies_on(self, today: dt.date) -> bool:
        """An exemption still applies on its `expires` day, and no longer after it."""
        return self.expires is None or today <= self.expires


@dataclass(frozen=True)
class Policy:
    """A resolved policy (its `extends` chain already merged).

    `severities` maps a code or id to a severity in precedence order: when a rule is named by both
    its code and its id (in one file or across `extends`), the entry written last wins.
    `rule_refs` records where each rule name was written, for `unknown_rules`.
    """

    name: str = DEFAULT_PACK
    source: str = DEFAULT_PACK
    severities: Mapping[str, str] = field(default_factory=dict)
    soft_match: bool = True
    # sync.upnSource / sourceAnchor / scope (projection.SyncRules.from_settings reads them)
    sync: Mapping[str, Any] = field(default_factory=dict)
    exemptions: tuple[Exemption, ...] = ()
    rule_refs: tuple[tuple[str, Location], ...] = ()
    # `inputs: {strict: true}`: a value a plan loader could not judge fails the check (exit 2).
    strict_inputs: bool = False

    def with_sync(self, settings: Mapping[str, Any] | None) -> Policy:
        """This policy with `.dupfix.yaml`'s `sync:` keys over its own (the repository knows its
        tenant's Entra Connect set-up better than a shared pack does)."""
        if not settings:
            return self
        merged = {**self.sync, **{k: v for k, v in settings.items() if k != "softMatch"}}
        return replace(self, sync=merged, soft_match=settings.get("softMatch", self.soft_match))

    def severity(self, info: RuleInfo, demoted: bool | int = False) -> str:
        """The configured severity of a rule, else its default; `demoted` lowers it that many steps."""
        severity = info.default_severity
        for name, value in self.severities.items():
            if name in (info.code, info.id):
                severity = value
        return demote(severity, int(demoted))

    def verdict(
        self, finding: Finding, info: RuleInfo, today: dt.date
    ) -> tuple[str, dict[str, str | None] | None] | None:
        """This policy's say on one finding: its severity (the rule's, lowered by the finding's
        `demote`) and the exemption that suppresses it, if any; None when the rule is off.
        The check and the audit both ask this, so a pack reads the same in both."""
        severity = self.severity(info, finding.demote)
        if severity == "off":
            return None
        exemption = self.exemption_for(finding, today, info=info)
        if exemption is None:
            return severity, None
        return severity, {
            "kind": "exemption",
            "reason": exemption.reason,
            "expires": exemption.expires.isoformat() if exemption.expires else None,
            "location": str(exemption.location) if exemption.location else None,
        }

    def exemption_for(
        self, finding: Finding, today: dt.date, info: RuleInfo | None = None
    ) -> Exemption | None:
        """The unexpired exemption covering this finding, if any.

        An exemption that names its rule by id matches only when `info` is passed: a `Finding`
        carries just the code.
        """
        names = {finding.code} if info is None else {finding.code, info.code, info.id}
        for exemption in self.exemptions:
            if exemption.rule in names and exemption.matches_key(finding.key) and exemption.applies_on(today):
                return exemption
        return None

    def expired_exemptions(self, today: dt.date) -> list[Exemption]:
        return [e for e in self.exemptions if not e.applies_on(today)]

    def unknown_rules(self, known: Collection[str]) -> list[tuple[str, Location]]:
        """Rule names written in the policy (severities and exemptions) that no loaded rule has."""
        return [(name, location) for name, location in self.rule_refs if name not in known]


def exemption_keys(value: str) -> tuple[str, ...]:
    """The claim keys a value written in an exemption stands for (docs/semantics.md "Claim keys").

    Tried in order: a claim key already (`proxy:smtp:x@y`), a typed proxy address (`smtp:x@y`,
    `SIP:x@y`), a bare address (a UPN, an `smtp:` address or a targetAddress), else an alias.
    """
    text = value.strip()
    claim = _CLAIM_KEY.match(text)
    if claim is not None:
        return (_normalise_claim_key(claim.group("ns").lower(), claim.group("rest")),)
    proxy = addresses.proxy_key(text)
    if proxy is not None:
        return (proxy, addresses.target_address_key(text))
    if "@" in text:
        return (addresses.upn_key(text), addresses.smtp_key(text), addresses.target_address_key(text))
    return (addresses.alias_key(text),)


def _normalise_claim_key(namespace: str, rest: str) -> str:
    if namespace == "upn":
        return addresses.upn_key(rest)
    if namespace == "alias":
        return addresses.alias_key(rest)
    if namespace == "anchor":
        return addresses.anchor_key(rest)
    if namespace == "sid":
        return addresses.sid_key(rest)
    if namespace == "sam":
        domain, sep, sam = rest.partition("\\")
        return addresses.sam_key(domain, sam) if sep else f"sam:{addresses.fold(rest)}"
    kind, sep, address = rest.partition(":")
    if not sep:  # `proxy:alice@contoso.com`: a bare address is an smtp one
        kind, address = "smtp", rest
    return f"{namespace}:{kind.strip().lower()}:{addresses.fold(address)}"


# --- loading ----------------------------------------------------------------------------------


def shipped_packs() -> list[str]:
    """Names of the packs that ship with dupfix-policy."""
    return sorted(p[: -len(".yaml")] for p in _pack_files() if p.endswith(".yaml"))


def _pack_files() -> list[str]:
    return [name for name in os.listdir(_packs_dir()) if name.endswith(".yaml")]


def _packs_dir() -> str:
    """Where the shipped packs are: `dupfix_policy/policies/` in a wheel (package
    `dupfix_policy.policies`), `policies/` beside the package in a checkout or editable install.
    os.path rather than importlib.resources or pathlib, whose imports (zipfile, urllib.parse,
    ipaddress...) every check would pay at start-up (docs/plugins.md "Start-up"); the package is
    never installed zipped."""
    here = os.path.dirname(os.path.realpath(__file__))
    installed = os.path.join(here, "policies")
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(here), "policies")


def is_pack_name(name: str) -> bool:
    """A bare word (`strict`) names a shipped pack; anything with a separator or extension is a file."""
    return not any(sep in name for sep in ("/", "\\", os.sep)) and "." not in name


def load_policy(
    name_or_path: str | None,
    *,
    base_dir: str | None = None,
    origin: Location | None = None,
) -> Policy:
    """Load a shipped pack by name (None: "default") or a policy file, with its `extends` chain.

    A relative file path is taken from `base_dir` (else the working directory). `origin` is where
    the name was written (a config file line), so an unknown pack is reported there.
    """
    name = name_or_path or DEFAULT_PACK
    if is_pack_name(name):
        return _load_pack(name, origin, chain=())
    path = name if base_dir is None or os.path.isabs(name) else os.path.join(base_dir, name)
    return _load_file(path, chain=())


def _load_pack(name: str, origin: Location | None, chain: tuple[str, ...]) -> Policy:
    packs = shipped_packs()
    if name not in packs:
        import difflib

        close = difflib.get_close_matches(name, packs, n=1)
        raise UserInputError(
            f"unknown policy pack {name!r}" + (f": did you mean {close[0]}?" if close else ""),
            location=origin,
            hint=f"shipped packs: {', '.join(packs)}; a policy file is named by its path, e.g. ./{name}.yaml",
        )
    return _load_file(os.path.join(_packs_dir(), f"{name}.yaml"), chain, label=name)


def _load_file(path: str, chain: tuple[str, ...], label: str | None = None) -> Policy:
    identity = label or os.path.realpath(path)
    if identity in chain:
        raise UserInputError(
            f"policy {path} extends itself through {' -> '.join(chain)}",
            location=Location(path),
            hint="break the loop",
        )
    doc = load_document(path, kind="policy")
    validate(doc, load_schema("policy"))
    data: dict[str, Any] = doc.data
    parent = _parent(doc, (*chain, identity))
    own = _own_severities(doc)
    severities = {k: v for k, v in (parent.severities if parent else {}).items() if k not in own}
    severities.update(own)
    sync = data.get("sync") or {}
    return Policy(
        name=data.get("name") or label or os.path.splitext(os.path.basename(path))[0],
        source=label or path,
        severities=severities,
        soft_match=sync.get("softMatch", parent.soft_match if parent else True),
        sync={**(parent.sync if parent else {}), **{k: v for k, v in sync.items() if k != "softMatch"}},
        strict_inputs=(data.get("inputs") or {}).get("strict", parent.strict_inputs if parent else False),
        exemptions=(*(parent.exemptions if parent else ()), *_exemptions(doc)),
        rule_refs=(*(parent.rule_refs if parent else ()), *_rule_refs(doc)),
    )


def _parent(doc: Document, chain: tuple[str, ...]) -> Policy | None:
    extends = doc.data.get("extends")
    if extends is None:
        return None
    where = doc.position(("extends",))
    if is_pack_name(extends):
        if extends in chain:
            raise UserInputError(f"policy extends itself through {' -> '.join(chain)}", location=where)
        return _load_pack(extends, where, chain)
    path = extends if os.path.isabs(extends) else os.path.join(os.path.dirname(doc.path), extends)
    if not os.path.isfile(path):
        raise UserInputError(
            f"`extends` names {extends!r}, which is neither a shipped pack nor a file",
            location=where,
            field="extends",
            hint=f"shipped packs: {', '.join(shipped_packs())}; a path is relative to this policy file",
        )
    return _load_file(path, chain)


def _own_severities(doc: Document) -> dict[str, str]:
    return dict((doc.data.get("rules") or {}).items())


def _rule_refs(doc: Document) -> list[tuple[str, Location]]:
    refs = [(name, doc.key_position(("rules", name))) for name in doc.data.get("rules") or {}]
    for i, raw in enumerate(doc.data.get("exemptions") or []):
        refs.append((raw["rule"], doc.position(("exemptions", i, "rule"))))
    return refs


def _exemptions(doc: Document) -> list[Exemption]:
    out = []
    for i, raw in enumerate(doc.data.get("exemptions") or []):
        keys = exemption_keys(raw["value"])
        out.append(
            Exemption(
                rule=raw["rule"],
                key=keys[0],
                value=raw["value"],
                reason=raw["reason"],
                expires=_date(doc, raw.get("expires"), ("exemptions", i, "expires")),
                location=doc.position(("exemptions", i)),
                keys=keys,
            )
        )
    return out


def _date(doc: Document, text: str | None, pointer: tuple[str | int, ...]) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"{text!r} is not a real date",
            location=doc.position(pointer),
            field=field_path(pointer),
            hint="write the last day the exemption applies as YYYY-MM-DD",
        ) from None
