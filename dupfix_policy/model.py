"""Plain data the whole pipeline passes along: plan -> state -> simulation -> findings -> report.

Everything here is a frozen dataclass with no behaviour beyond small derived views, so the core
(addresses, index, engine, rules) stays a set of pure functions that tests can drive with literals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .remedies import Suggestion

Directory = Literal["entra", "ad"]
Kind = Literal["user", "group", "contact"]
State = Literal["active", "soft-deleted"]
Op = Literal["create", "update", "delete", "restore"]
Severity = Literal["error", "warning", "note", "off"]

DIRECTORIES: tuple[str, ...] = ("entra", "ad")
KINDS: tuple[str, ...] = ("user", "group", "contact")
OPS: tuple[str, ...] = ("create", "update", "delete", "restore")
SEVERITIES: tuple[str, ...] = ("error", "warning", "note", "off")
DIRECTORY_NAMES = {"entra": "Entra ID", "ad": "on-prem AD"}

# Attributes the checker judges, in their canonical (Graph / LDAP) spelling. Any other attribute
# in a plan is carried and ignored, except a near miss of one of these ("did you mean").
JUDGED_ATTRIBUTES: tuple[str, ...] = (
    "userPrincipalName",
    "proxyAddresses",
    "mail",
    "mailNickname",
    "mailEnabled",
    "groupTypes",
    "targetAddress",
    "displayName",
    "givenName",
    "sAMAccountName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
)
MULTI_VALUED: frozenset[str] = frozenset({"proxyAddresses", "groupTypes", "otherMails"})

# Identifying attributes a change may name its target by, and which objects they can find.
TARGET_ATTRIBUTES: tuple[str, ...] = (
    "id",
    "userPrincipalName",
    "objectGUID",
    "onPremisesImmutableId",
    "distinguishedName",
    "mail",
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where in an input file a change (or one of its values) was written."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        if self.column is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A value Entra held back from an object because another object had it (docs/semantics.md "Quarantined values")."""

    property: str  # "UserPrincipalName" | "ProxyAddress"
    value: str


@dataclass(frozen=True, slots=True)
class DirectoryObject:
    """One object as a source reports it.

    `attributes` uses canonical attribute names; multi-valued attributes are tuples. AD objects are
    identified by objectGUID (stable across renames); the DN is an ordinary attribute.
    """

    id: str
    kind: str
    directory: str
    state: str = "active"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    quarantined: tuple[Quarantined, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.directory, self.id)

    @property
    def display(self) -> str:
        """The name people know this object by: a user's UPN, a group's or contact's display name."""
        a = self.attributes
        if self.kind == "user":
            names = (
                a.get("userPrincipalName"),
                a.get("mail"),
                a.get("displayName"),
                a.get("distinguishedName"),
            )
            return str(next((n for n in names if n), self.id))
        display, mail = a.get("displayName"), a.get("mail")
        if display and mail:
            return f"{display} <{mail}>"
        names = (display, mail, a.get("mailNickname"), a.get("distinguishedName"))
        return str(next((n for n in names if n), self.id))


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    directory: str
    id: str


@dataclass(frozen=True, slots=True)
class Target:
    """How an update / delete / restore names the object it acts on."""

    attribute: str  # one of TARGET_ATTRIBUTES
    value: str

    def __str__(self) -> str:
        return f"{self.attribute}={self.value}"


@dataclass(frozen=True, slots=True)
class Change:
    """One planned change, as every plan loader produces it.

    `set` replaces attributes, `add` / `remove` edit multi-valued ones. `predicted` holds values a
    loader derived rather than read (e.g. Terraform's computed proxyAddresses): findings on them say
    `predicted: true`. `value_locations` maps (attribute, value as written) to its own line, so a
    finding can point at the exact value, not just the change. `suppressions` maps a rule code
    (or id) to the reason and place of an inline `dupfix: ignore CODE reason` comment on or above
    the change, for formats that have comments: policy reports those findings as suppressed.
    """

    op: str
    kind: str
    location: Location
    index: int = 0
    directory: str = "entra"
    ref: str | None = None
    target: Target | None = None
    set: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    remove: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    predicted: Mapping[str, Any] = field(default_factory=dict)
    purge: bool = False
    value_locations: Mapping[tuple[str, str], Location] = field(default_factory=dict)
    # The plan file the change came from; its location may be elsewhere (a Terraform plan's change
    # points at the .tf block). Set by the engine when a loader leaves it empty.
    plan: str = ""
    suppressions: Mapping[str, tuple[str, Location]] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """What the fingerprint calls this change: never a line number, so it survives edits."""
        if self.ref:
            return f"ref:{self.ref}"
        if self.target is not None:
            return f"target:{self.target.attribute}={self.target.value.casefold()}"
        upn = self.set.get("userPrincipalName") or self.predicted.get("userPrincipalName")
        if upn:
            return f"upn:{str(upn).casefold()}"
        for name in ("mail", "mailNickname", "displayName", "distinguishedName"):
            value = self.set.get(name)
            if value:
                return f"{name}:{str(value).casefold()}"
        return f"index:{self.index}"

    @property
    def label(self) -> str:
        """Short human name for messages: `create user alice@contoso.com`."""
        if self.ref:
            name = self.ref
        elif self.target is not None:
            name = self.target.value
        else:
            name = str(
                self.set.get("userPrincipalName")
                or self.set.get("mail")
                or self.set.get("displayName")
                or self.set.get("mailNickname")
                or f"#{self.index + 1}"
            )
        return f"{self.op} {self.kind} {name}"

    def location_of(self, attribute: str, value: str | None = None) -> Location:
        if value is not None:
            loc = self.value_locations.get((attribute, value))
            if loc is not None:
                return loc
        loc = self.value_locations.get((attribute, ""))
        return loc if loc is not None else self.location


@dataclass(frozen=True)
class Plan:
    """The changes of one input file, in file order.

    `unchecked` lists what the loader met but could not judge (a value known only after apply, an
    action or resource it does not know): each is in `notes` too, so every report says it, and
    `--strict-inputs` (or a policy with `inputs: {strict: true}`) fails the run on them, exit 2.
    Unknown is never clean: a loader that skips something it cannot read says so here.
    """

    path: str
    format: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tenant:
    initial_domain: str | None = None
    verified_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceInfo:
    """What the report says about one state source."""

    spec: str
    origin: str  # "entra", "ad", "entra+ad", "none"
    as_of: str | None = None


@dataclass(frozen=True, slots=True)
class HolderView:
    """Who holds a value, as a finding reports it. Twins appear as one holder listing both objects."""

    objects: tuple[ObjectRef, ...]
    kind: str
    state: str
    attribute: str
    via: str  # "attribute" | "quarantine" | "plan" | "derived"
    name: str
    change: ChangeRef | None = None


@dataclass(frozen=True, slots=True)
class ChangeRef:
    file: str
    index: int
    op: str
    kind: str
    ref: str | None
    location: Location
    label: str

    @classmethod
    def of(cls, change: Change) -> ChangeRef:
        return cls(
            change.plan or change.location.path,
            change.index,
            change.op,
            change.kind,
            change.ref,
            change.location,
            change.label,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule reports, before policy gives it a severity.

    `demote` asks policy for that many levels below the rule's severity (DUP004 on a holder this
    same plan deleted: one; REF001 where no source covers the directory: two, a note).
    """

    code: str
    attribute: str | None
    value: str | None
    key: str | None
    location: Location | None
    change: ChangeRef | None
    message: str
    fix: str
    holders: tuple[HolderView, ...] = ()
    predicted: bool = False
    demote: int = 0


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """The stable identity and documentation of a rule."""

    id: str
    code: str
    default_severity: str
    summary: str
    fix: str
    description: str = ""
    # Exact commands that carry out the fix, with <placeholders> (`dupfix rules`, SARIF help).
    commands: tuple[str, ...] = ()
    # Where the rule is documented; empty: its section of docs/rules.md, for built-in rules (ruledoc.py).
    help_uri: str = ""


@dataclass(frozen=True, slots=True)
class ReportedFinding:
    """A finding after policy: severity decided, exemptions and baselines applied."""

    finding: Finding
    rule: RuleInfo
    severity: str
    fingerprint: str
    suppressed: Mapping[str, Any] | None = None
    suggestion: Suggestion | None = None


@dataclass(frozen=True)
class Report:
    tool_version: str
    sources: tuple[SourceInfo, ...]
    policy: str
    changes: int
    findings: tuple[ReportedFinding, ...]
    notes: tuple[str, ...] = ()
    # Every change checked, findings or not (JUnit: one test case per change).
    change_refs: tuple[ChangeRef, ...] = ()

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity and f.suppressed is None)

    @property
    def suppressed(self) -> int:
        return sum(1 for f in self.findings if f.suppressed is not None)

    @property
    def predicted(self) -> int:
        return sum(1 for f in self.findings if f.finding.predicted and f.suppressed is None)


# Attribute names are case-insensitive in LDAP and people write them in any case; the checker
# works on one spelling. Unknown names keep their spelling.
KNOWN_ATTRIBUTES: tuple[str, ...] = (
    *JUDGED_ATTRIBUTES,
    "objectGUID",
    "objectSid",
    "mS-DS-ConsistencyGuid",
    "distinguishedName",
    "userType",
    "otherMails",
    "onPremisesDomainName",
    "onPremisesSamAccountName",
    "securityEnabled",
    "surname",
    "accountEnabled",
)
_CANONICAL = {name.lower(): name for name in KNOWN_ATTRIBUTES}


def canonical_attribute(name: str) -> str:
    return _CANONICAL.get(name.lower(), name)
