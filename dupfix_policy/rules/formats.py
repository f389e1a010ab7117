"""Format rules (FMT001-FMT010): values Entra ID, AD or sync would refuse, change or drop.

They take over what IdFix checked (docs/idfix.md, docs/rules.md), with Microsoft's documented
limits ("Prepare for directory synchronization to Microsoft 365", the Graph user/group pages)
rather than IdFix's off-by-one ones (IdFix: displayName 255, givenName 63, targetAddress 255), and
without IdFix's known false positives:

- no fixed top-level-domain list (IdFix's `domains.txt`, 920 entries, lags new TLDs: `.app` is
  missing, so every `@contoso.app` address is an IdFix error; `.swiss`, `.africa` and `.cloud` were
  added after complaints; only the last label is looked up, so `.edu.au` passes through `.au`, and
  its DomainPartRegex refuses TLDs over 17 letters): a domain is judged by its shape, and a
  UPN's domain against the tenant's verified domains when the source knows them (FMT008);
- apostrophes are valid in addresses (`o'brien@contoso.com`), UPNs, aliases and X.500/X.400
  addresses (`X500:/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=o'brien`);
- mailNickname characters follow Graph's documented set (`@ ( ) \\ [ ] " ; : < > ,` and spaces are
  refused), not IdFix Dedicated's longer list.

And a superset of IdFix where Microsoft's services really refuse or drop the value (docs/idfix.md
has the table, with each rule's source):
- a colon after the type prefix of a proxy or target address (`smtp:a:b@x`, `X500:/o=x/cn=a:b`):
  IdFix's `FixProxyTargetAddressRule`; Exchange splits the type at the first colon;
- a backslash in an SMTP local part: IdFix's RFC 2822 `LocalPartRegex` refuses it, and so does
  Exchange Online's SMTP address validation;
- an address on a non-routable domain (`.local`, `.internal`, ...) or, when the tenant's domains are
  known, on one the tenant has not verified (FMT010): Entra ID / Exchange Online remove such proxy
  addresses (the "Prepare for directory synchronization" page: "routable domain required");
- a created Entra object without a displayName (FMT009): Graph refuses the create. For AD objects
  sync falls back to the `cn`, so there is no finding there (IdFix's "Blank" fixes it the same way).

Only values a change sets or adds are judged (docs/semantics.md "Format rules, baselines and reports"): what a plan removes, or
what the tenant already holds, is the audit's business. Loader-predicted values (Terraform's
computed proxyAddresses) are derived from values judged already, so they are skipped. Every check
but FMT003 judges the trimmed value; FMT003 says the whitespace is there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import NamedTuple

from ..addresses import (
    alias_key,
    domain_of_dn,
    fold,
    proxy_key,
    sam_key,
    smtp_key,
    split_proxy,
    target_address_key,
    upn_key,
)
from ..facts import CheckContext
from ..hookspecs import hookimpl
from ..interfaces import Rule
from ..model import Change, ChangeRef, Finding, RuleInfo
from ..projection import LEGACY_TYPES

# Microsoft's documented maximum lengths (characters).
LIMITS: dict[str, int] = {
    "userPrincipalName": 113,
    "proxyAddresses": 256,
    "mail": 256,
    "targetAddress": 256,
    "mailNickname": 64,
    "displayName": 256,
    "givenName": 64,
    "surname": 64,
    "sAMAccountName": 256,  # 20 for users: see _limit
}
UPN_LOCAL_MAX = 64
UPN_DOMAIN_MAX = 48
SAM_USER_MAX = 20
TEXT_ATTRIBUTES = (*LIMITS, "onPremisesImmutableId")

UPN_FORBIDDEN = set('\\%&*+/=?{}|<>();:,[]"')
SMTP_FORBIDDEN = set('<>();,[]"')
TARGET_FORBIDDEN = set('\\<>();,[]"')
ALIAS_FORBIDDEN = set('@()\\[]";:<>,')
SAM_FORBIDDEN = set('[]\\"|,/:<>+=;?*')
OTHER_PROXY_FORBIDDEN = set('<>(),[]"')
X_PROXY_FORBIDDEN = set('[]"')  # X.400 / X.500: spaces, parentheses and apostrophes are legitimate
ADDRESS_TYPES = ("smtp", "sip")
RESERVED_SUFFIXES = ("onmicrosoft.com", "microsoftonline.com")
HYBRID_ROUTING = ".mail.onmicrosoft.com"
# Domains that can never route mail on the internet: RFC 6761/6762 special-use names, RFC 8375's
# home.arpa, ICANN's private-use .internal (2024), and the never-delegated suffixes AD forests
# commonly use (.lan, .corp, .home, .intranet, .localdomain, .private: ICANN name-collision list).
NON_ROUTABLE_SUFFIXES = (
    "local", "localhost", "localdomain", "lan", "internal", "intranet", "corp", "home", "private",
    "test", "example", "invalid", "home.arpa",
)  # fmt: skip


def _info(
    code: str, rule_id: str, summary: str, fix: str, description: str, commands: tuple[str, ...] = ()
) -> RuleInfo:
    return RuleInfo(rule_id, code, "warning", summary, fix, description, commands)


INFO = {
    "FMT001": _info(
        "FMT001",
        "value-too-long",
        "a value is longer than Microsoft's documented limit for its attribute",
        "Shorten the value to the limit the message names.",
        "Limits: userPrincipalName 113 characters (64 before the @, 48 after), proxyAddresses, mail, "
        "targetAddress and displayName 256, mailNickname, givenName and surname 64, a user's "
        "sAMAccountName 20. Longer values fail the import or are cut by sync.",
    ),
    "FMT002": _info(
        "FMT002",
        "invalid-character",
        "a value holds a character its attribute does not allow",
        "Remove or replace the characters the message names.",
        "UPN: no \\ % & * + / = ? { } | < > ( ) ; : , [ ] \" or spaces. SMTP and SIP addresses "
        "(mail, proxyAddresses): no < > ( ) ; , [ ] \" or spaces. targetAddress: no \\ < > ( ) ; , [ ] \". "
        "mailNickname: no @ ( ) \\ [ ] \" ; : < > , or spaces, and no leading period. sAMAccountName: "
        "no [ ] \\ \" | , / : < > + = ; ? *. Apostrophes are allowed everywhere, as are spaces and "
        "parentheses in X.500 and X.400 addresses.",
    ),
    "FMT003": _info(
        "FMT003",
        "surrounding-whitespace",
        "a value starts or ends with whitespace",
        "Delete the leading or trailing spaces, tabs or line breaks.",
        "Imports and sync treat whitespace differently (Graph refuses it in addresses, AD keeps it): "
        "dupfix compares the trimmed value for duplicates, but the value as written would not arrive "
        "as written.",
    ),
    "FMT004": _info(
        "FMT004",
        "non-ascii-address",
        "a UPN, address or alias holds non-ASCII characters",
        "Use ASCII only (e.g. é -> e); write an internationalised domain in its punycode (xn--) form.",
        "Entra ID and Exchange Online do not accept non-ASCII characters in userPrincipalName, "
        "mailNickname or SMTP addresses from sync; such values are refused or rewritten.",
    ),
    "FMT005": _info(
        "FMT005",
        "malformed-address",
        "a UPN or address is not of the form local@domain",
        "Write exactly one @ with a non-empty local part (no leading, trailing or double dot) "
        "and a domain of dot-separated labels.",
        "Checked by shape, with no list of top-level domains, so new and multi-label suffixes "
        "(.app, .swiss, .edu.au) are valid. A UPN's domain is checked against the tenant by FMT008.",
    ),
    "FMT006": _info(
        "FMT006",
        "missing-proxy-type",
        "a proxyAddresses value has no type: prefix",
        "Write the type before the address: SMTP: for the primary address, smtp: for a secondary one.",
        "Sync discards a proxy address without a type prefix (alice@contoso.com instead of "
        "smtp:alice@contoso.com); it never reaches Exchange Online.",
    ),
    "FMT007": _info(
        "FMT007",
        "reserved-domain-on-prem-proxy",
        "an on-prem proxy address sync discards: on a reserved *.onmicrosoft.com or "
        "*.microsoftonline.com domain, or of a legacy type (X400, MSMAIL, CCMAIL, MS)",
        "Remove the address from the AD object: Entra ID adds the tenant's own onmicrosoft.com "
        "address (the MOERA) itself, and legacy address types are not synced.",
        "Sync's proxy calculation discards on-prem proxy addresses under reserved Microsoft domains and "
        "of legacy types (KB 3190357), so the address never arrives; it is never judged as a duplicate "
        "either. The hybrid routing domain <tenant>.mail.onmicrosoft.com, which Exchange hybrid "
        "stamps on purpose, is not reported.",
        (
            "Set-ADUser -Identity <sAMAccountName> "
            '-Remove @{proxyAddresses="smtp:<alias>@<tenant>.onmicrosoft.com"}',
        ),
    ),
    "FMT008": _info(
        "FMT008",
        "unverified-upn-domain",
        "a UPN's domain is not a verified domain of the tenant",
        "Use one of the tenant's verified domains, or add and verify the domain in Entra ID first.",
        "Entra ID refuses a cloud user's UPN on an unverified domain, and sync replaces a synced "
        "user's with <tenant>.onmicrosoft.com. Checked only when the state source knows the tenant's "
        "verified domains (a snapshot's header, Graph).",
        ("Get-MgDomain | Select-Object Id, IsVerified",),
    ),
    "FMT009": _info(
        "FMT009",
        "blank-display-name",
        "displayName is set to an empty or blank value, or an Entra object is created without one",
        "Give the object a display name, or leave displayName out of the change to keep the current one.",
        "Users, groups and contacts need a displayName in Entra ID; a blank one fails the create or "
        "update, and so does creating a user or group through Graph without one. On-prem AD objects "
        "without one are not reported: sync uses the cn instead.",
    ),
    "FMT010": _info(
        "FMT010",
        "unroutable-address-domain",
        "an address is on a non-routable domain, or on one the tenant has not verified",
        "Use an address on one of the tenant's verified domains, or add and verify the domain first; "
        "remove addresses on internal domains such as .local.",
        "Entra ID and Exchange Online remove proxy addresses (and replace mail) on domains the tenant "
        "has not verified, and a non-routable domain (.local, .internal, .lan, .corp, home.arpa, ...) "
        "can never be verified: sync drops the address. Non-routable domains are always reported; "
        "unverified ones when the state source knows the tenant's verified domains. Contacts and "
        "guests are not judged: their addresses are outside the tenant on purpose.",
        ("Get-MgDomain | Select-Object Id, IsVerified",),
    ),
}


class PlannedValue(NamedTuple):  # not a dataclass: cheaper to define at start-up (docs/plugins.md)
    """One text value a change sets or adds, as written and trimmed."""

    change: Change
    attribute: str
    written: str
    text: str


def planned_values(ctx: CheckContext) -> Iterator[PlannedValue]:
    for change in ctx.changes:
        if change.op == "delete":
            continue
        for source in (change.set, change.add):
            for attribute, raw in source.items():
                if attribute not in TEXT_ATTRIBUTES:
                    continue
                values = raw if isinstance(raw, (tuple, list)) else (raw,)
                for value in values:
                    if isinstance(value, str):
                        yield PlannedValue(change, attribute, value, value.strip())


def _key(v: PlannedValue) -> str:
    """The claim key for values that have one (so exemptions by value apply), else attribute:value."""
    a, t = v.attribute, v.text
    if a == "userPrincipalName":
        return upn_key(t)
    if a == "proxyAddresses":
        return proxy_key(t) or smtp_key(t)
    if a == "mail":
        return smtp_key(t)
    if a == "targetAddress":
        return target_address_key(t)
    if a == "mailNickname":
        return alias_key(t)
    if a == "sAMAccountName":
        return sam_key(domain_of_dn(str(v.change.set.get("distinguishedName") or "")) or "", t)
    return f"{a}:{fold(t)}"


def _finding(code: str, v: PlannedValue, message: str) -> Finding:
    return Finding(
        code=code,
        attribute=v.attribute,
        value=v.written,
        key=_key(v),
        location=v.change.location_of(v.attribute, v.written),
        change=ChangeRef.of(v.change),
        message=message,
        fix=INFO[code].fix,
    )


def _shown(chars: set[str] | list[str]) -> str:
    names = {" ": "space", "\t": "tab", "\n": "line break", "\r": "carriage return"}
    return ", ".join(names.get(c, repr(c)) for c in sorted(set(chars)))


def address_of(v: PlannedValue) -> tuple[str, str] | None:
    """(type, address) for values that are e-mail-like addresses; None for other values."""
    if v.attribute in ("userPrincipalName", "mail"):
        return ("smtp", v.text)
    if v.attribute == "proxyAddresses":
        return split_proxy(v.text)
    if v.attribute == "targetAddress":
        return split_proxy(v.text) or ("smtp", v.text)
    return None


# --- FMT001 ---------------------------------------------------------------------------------


def _limit(v: PlannedValue) -> int:
    if v.attribute == "sAMAccountName" and v.change.kind == "user":
        return SAM_USER_MAX
    return LIMITS[v.attribute]


def too_long(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        if v.attribute not in LIMITS:
            continue
        limit = _limit(v)
        what = f"{v.attribute} {v.text}"
        if len(v.text) > limit:
            yield _finding("FMT001", v, f"{what} is {len(v.text)} characters long; the limit is {limit}")
        elif v.attribute == "userPrincipalName" and v.text.count("@") == 1:
            local, domain = v.text.split("@")
            if len(local) > UPN_LOCAL_MAX:
                yield _finding(
                    "FMT001", v, f"{what}: the part before @ is {len(local)} characters; the limit is {UPN_LOCAL_MAX}"
                )
            elif len(domain) > UPN_DOMAIN_MAX:
                yield _finding(
                    "FMT001", v, f"{what}: the part after @ is {len(domain)} characters; the limit is {UPN_DOMAIN_MAX}"
                )


# --- FMT002 ---------------------------------------------------------------------------------


def _bad_characters(v: PlannedValue) -> tuple[list[str], str]:
    """The offending characters (ASCII only: non-ASCII is FMT004) and what refuses them."""
    t = v.text
    if v.attribute == "userPrincipalName":
        return [c for c in t if c in UPN_FORBIDDEN or c.isspace()], "a UPN"
    if v.attribute == "mailNickname":
        return [c for c in t if c in ALIAS_FORBIDDEN or c.isspace()], "a mailNickname"
    if v.attribute == "sAMAccountName":
        return [c for c in t if c in SAM_FORBIDDEN], "a sAMAccountName"
    if v.attribute == "mail":
        return [c for c in t if c in SMTP_FORBIDDEN or c.isspace()], "an e-mail address"
    if v.attribute == "targetAddress":
        parts = address_of(v)
        address = parts[1] if parts else t
        return [c for c in address if c in TARGET_FORBIDDEN or c.isspace()], "a targetAddress"
    if v.attribute == "proxyAddresses":
        parts = split_proxy(v.text)
        if parts is None:
            return [], ""  # FMT006
        kind, _ = parts
        rest = t.partition(":")[2]  # as written after the prefix: "SMTP: a@b" has a space
        if kind in ADDRESS_TYPES:
            return [c for c in rest if c in SMTP_FORBIDDEN or c.isspace()], f"a {kind.upper()} address"
        if kind in ("x500", "x400"):
            return [c for c in rest if c in X_PROXY_FORBIDDEN or c in "\t\n\r\f\v"], f"an {kind.upper()} address"
        return [c for c in rest if c in OTHER_PROXY_FORBIDDEN or c.isspace()], f"a {kind.upper()} address"
    return [], ""


def _colon_after_type(v: PlannedValue) -> str | None:
    """IdFix's FixProxyTargetAddressRule: a second colon in `type:address` (Exchange splits the type
    at the first colon, so `smtp:a:b@x` is refused and `X500:/o=x/cn=a:b` is not a valid DN)."""
    if v.attribute not in ("proxyAddresses", "targetAddress"):
        return None
    prefix, sep, rest = v.text.partition(":")
    if not sep or not prefix or split_proxy(v.text) is None or ":" not in rest:
        return None
    return f"{v.attribute} {v.text} has a colon after its type prefix ({prefix}:), which Exchange refuses"


def _smtp_local_backslash(v: PlannedValue) -> str | None:
    parts = address_of(v)
    if parts is None or parts[0] != "smtp" or v.attribute in ("userPrincipalName", "targetAddress"):
        return None  # UPN and targetAddress refuse the backslash anywhere (UPN_FORBIDDEN, TARGET_FORBIDDEN)
    local = parts[1].rpartition("@")[0]
    if "\\" in local:
        return f"{v.attribute} {v.text} has a backslash before the @, which an SMTP address does not allow"
    return None


def invalid_character(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        bad, what = _bad_characters(v)
        if bad:
            yield _finding("FMT002", v, f"{v.attribute} {v.text} contains {_shown(bad)}, not allowed in {what}")
        for problem in (_colon_after_type(v), _smtp_local_backslash(v)):
            if problem:
                yield _finding("FMT002", v, problem)
        if v.attribute == "mailNickname" and v.text.startswith("."):
            yield _finding("FMT002", v, f"mailNickname {v.text} begins with a period, which Exchange refuses")


# --- FMT003 ---------------------------------------------------------------------------------


def surrounding_whitespace(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        if v.text and v.written != v.text:
            where = "starts and ends" if v.written[0].isspace() and v.written[-1].isspace() else (
                "starts" if v.written[0].isspace() else "ends"
            )
            yield _finding("FMT003", v, f"{v.attribute} {v.written!r} {where} with whitespace")


# --- FMT004 ---------------------------------------------------------------------------------


def non_ascii(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        if v.attribute == "mailNickname":
            checked = v.text
        else:
            parts = address_of(v)
            if parts is None or parts[0] not in ADDRESS_TYPES:
                continue
            checked = parts[1]
        odd = [c for c in checked if ord(c) > 127 and not c.isspace()]
        if odd:
            yield _finding("FMT004", v, f"{v.attribute} {v.text} contains non-ASCII {_shown(odd)}")


# --- FMT005 ---------------------------------------------------------------------------------


def _valid_label(label: str) -> bool:
    """Letters and digits (any script: FMT004 reports non-ASCII) and hyphens, not at either end."""
    return all(c.isalnum() or c == "-" for c in label) and not label.startswith("-") and not label.endswith("-")


def address_problem(address: str) -> str | None:
    """Why `address` is not local@domain, or None. Shape only: no list of top-level domains."""
    ats = address.count("@")
    if ats != 1:
        return "has no @" if ats == 0 else f"has {ats} @ signs; an address has exactly one"
    local, domain = address.split("@")
    if not local:
        return "has nothing before the @"
    if local.startswith(".") or local.endswith("."):
        return "has a dot at the start or end of the part before the @"
    if ".." in local:
        return "has two dots in a row before the @"
    if not domain:
        return "has no domain after the @"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"has a domain ({domain}) without a dot"
    for label in labels:
        if not label:
            return f"has an empty label in its domain ({domain})"
        if len(label) > 63 or not _valid_label(label):
            return f"has an invalid domain label {label!r} (letters, digits and inner hyphens only)"
    if labels[-1].isdigit():
        return f"has a numeric top-level domain ({labels[-1]})"
    return None


def malformed_address(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        parts = address_of(v)
        if parts is None or parts[0] not in ADDRESS_TYPES:
            continue
        problem = address_problem(parts[1])
        if problem:
            yield _finding("FMT005", v, f"{v.attribute} {v.text} {problem}")


# --- FMT006 / FMT007 ----------------------------------------------------------------------------


def missing_proxy_type(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        if v.attribute == "proxyAddresses" and v.text and split_proxy(v.text) is None:
            example = f"smtp:{v.text}" if "@" in v.text else "smtp:<address>"
            yield _finding("FMT006", v, f"proxyAddresses value {v.text} has no type prefix (write {example})")


def _reserved(domain: str) -> bool:
    d = domain.lower().rstrip(".")
    if d.endswith(HYBRID_ROUTING):
        return False
    return any(d == s or d.endswith("." + s) for s in RESERVED_SUFFIXES)


def reserved_domain_on_prem(ctx: CheckContext) -> Iterator[Finding]:
    for v in planned_values(ctx):
        if v.change.directory != "ad" or v.attribute != "proxyAddresses":
            continue
        parts = split_proxy(v.text)
        if parts is not None and parts[0] in LEGACY_TYPES:
            yield _finding(
                "FMT007", v, f"proxyAddresses {v.text} is a legacy {parts[0].upper()} address: sync discards it"
            )
            continue
        if parts is None or parts[0] != "smtp" or parts[1].count("@") != 1:
            continue
        domain = parts[1].split("@")[1]
        if _reserved(domain):
            yield _finding(
                "FMT007", v, f"proxyAddresses {v.text} is on the reserved domain {domain}: sync discards it"
            )


# --- FMT008 / FMT009 ----------------------------------------------------------------------------


def _accepted_domains(ctx: CheckContext) -> set[str]:
    domains = {d.lower() for d in ctx.tenant.verified_domains}
    initial = (ctx.tenant.initial_domain or "").lower()
    if initial:
        domains.add(initial)
        label = initial.split(".")[0]
        domains.add(f"{label}.mail.onmicrosoft.com")
    return domains


def _listing(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names)} in all)"


def unverified_upn_domain(ctx: CheckContext) -> Iterator[Finding]:
    if not ctx.tenant.verified_domains:
        return  # the source does not know the tenant's domains: nothing to judge against
    accepted = _accepted_domains(ctx)
    for v in planned_values(ctx):
        if v.attribute != "userPrincipalName" or v.text.count("@") != 1:
            continue
        domain = v.text.split("@")[1].lower()
        if not domain or domain in accepted:
            continue
        parent = next((d for d in sorted(accepted) if domain.endswith("." + d)), None)
        hint = f" (a subdomain of {parent}: add it to the tenant too)" if parent else ""
        yield _finding(
            "FMT008",
            v,
            f"userPrincipalName {v.text}: {domain} is not a verified domain of the tenant{hint}; "
            f"verified: {_listing(sorted(accepted))}",
        )


def _guest(change: Change) -> bool:
    return str(change.set.get("userType") or "").casefold() == "guest"


def blank_display_name(ctx: CheckContext) -> Iterator[Finding]:
    for change in ctx.changes:
        if change.op == "delete":
            continue
        if "displayName" not in change.set:
            if change.op == "create" and change.directory == "entra" and change.kind in ("user", "group") and not (
                _guest(change) or change.predicted.get("displayName")
            ):
                v = PlannedValue(change, "displayName", "", "")
                yield _finding(
                    "FMT009", v, f"{change.kind} created in Entra ID without a displayName: Graph requires one"
                )
            continue
        value = change.set["displayName"]
        if value is None or (isinstance(value, str) and not value.strip()):
            written = value if isinstance(value, str) else ""
            v = PlannedValue(change, "displayName", written, "")
            yield _finding("FMT009", v, f"displayName is set to {'nothing' if value is None else repr(value)}")


def _domain_problem(domain: str, accepted: set[str]) -> str | None:
    d = domain.lower().rstrip(".")
    if any(d == s or d.endswith("." + s) for s in NON_ROUTABLE_SUFFIXES):
        return f"{d} is not a routable domain, so it can never be verified"
    if accepted and d not in accepted:
        parent = next((a for a in sorted(accepted) if d.endswith("." + a)), None)
        hint = f" (a subdomain of {parent}: add it to the tenant too)" if parent else ""
        return f"{d} is not a verified domain of the tenant{hint}"
    return None


def unroutable_address_domain(ctx: CheckContext) -> Iterator[Finding]:
    accepted = _accepted_domains(ctx) if ctx.tenant.verified_domains else set()
    for v in planned_values(ctx):
        if v.change.kind == "contact" or _guest(v.change):
            continue
        if v.attribute == "proxyAddresses":
            parts = split_proxy(v.text)
            if parts is None or parts[0] != "smtp":
                continue
            address, removal = parts[1], "sync and Exchange Online drop this proxy address"
        elif v.attribute == "mail":
            address, removal = v.text, "Exchange Online replaces this mail with an address on a verified domain"
        elif v.attribute == "userPrincipalName" and not accepted:
            address, removal = v.text, "sync replaces this UPN's domain with <tenant>.onmicrosoft.com"
        else:
            continue  # a UPN with the tenant's domains known is FMT008's; targetAddress routes elsewhere
        if address.count("@") != 1:
            continue
        problem = _domain_problem(address.split("@")[1], accepted)
        if problem:
            yield _finding("FMT010", v, f"{v.attribute} {v.text}: {problem}; {removal}")


def one_per_key(check: Callable[[CheckContext], Iterator[Finding]]) -> Callable[[CheckContext], list[Finding]]:
    """One finding per (change, key, rule), as for every rule (docs/semantics.md "Format rules, baselines and reports"): the same bad value in
    `mail` and `proxyAddresses`, or two problems with one alias, become one finding saying all."""

    def merged(ctx: CheckContext) -> list[Finding]:
        out: dict[tuple[str, int, str | None], Finding] = {}
        for f in check(ctx):
            where = (f.change.file, f.change.index, f.key) if f.change else ("", -1, f.key)
            first = out.get(where)
            if first is None:
                out[where] = f
            elif f.message not in first.message:
                out[where] = replace(first, message=f"{first.message}; also {f.message}")
        return list(out.values())

    return merged


CHECKS = {
    "FMT001": too_long,
    "FMT002": invalid_character,
    "FMT003": surrounding_whitespace,
    "FMT004": non_ascii,
    "FMT005": malformed_address,
    "FMT006": missing_proxy_type,
    "FMT007": reserved_domain_on_prem,
    "FMT008": unverified_upn_domain,
    "FMT009": blank_display_name,
    "FMT010": unroutable_address_domain,
}
RULES = [Rule(INFO[code], one_per_key(check)) for code, check in CHECKS.items()]


@hookimpl
def dupfix_rules() -> list[Rule]:
    return list(RULES)
