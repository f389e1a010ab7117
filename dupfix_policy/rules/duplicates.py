"""The duplicate rules (DUP001-DUP015): who else holds what a change adds.

One finding per (change, key, rule). For each key a change adds, exactly one of the "who holds it"
rules applies, chosen by `primary_code` (docs/semantics.md); DUP004 (soft-deleted
holder), DUP006 (moved in one cycle) and DUP011 (soft match) are reported beside it.

Departure from the starting design, on purpose (docs/semantics.md "Departures" 1): an `smtp:` address held by another object as the very same
`smtp:` address is DUP002 even when that object's UPN is the same address too. The direct match is
the more precise message ("already held as a proxy address") and the fix is the same; DUP003 is kept
for collisions that exist *only* across UPN and smtp:.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..addresses import namespace, upn_key
from ..facts import AddedClaim, CheckContext, Rival
from ..hookspecs import hookimpl
from ..interfaces import Rule
from ..model import ChangeRef, Finding, RuleInfo
from ..projection import project
from ..simulation import planned_object

DIRECTORY_NAMES = {"entra": "Entra ID", "ad": "on-prem AD"}

INFO = {
    "DUP001": RuleInfo(
        "duplicate-upn",
        "DUP001",
        "error",
        "UPN already held by another user",
        "Choose another userPrincipalName, or update the existing user instead of creating one.",
        "Entra ID and AD both require userPrincipalName to be unique among users; Entra Connect "
        "quarantines the second one and the user signs in with a placeholder UPN.",
        commands=(
            "dupfix whois <value>  # every holder, in both directories",
            "Update-MgUser -UserId <holder id> -UserPrincipalName <new UPN>  # rename a cloud user",
            "Set-ADUser -Identity <sAMAccountName> -UserPrincipalName <new UPN>  # rename an on-prem user",
        ),
    ),
    "DUP002": RuleInfo(
        "duplicate-proxy-address",
        "DUP002",
        "error",
        "a proxy address (any type), mail or targetAddress already held by another object",
        "Use another address, or remove it from the current holder first (in an earlier change).",
        "proxyAddresses are unique across users, groups and contacts (SMTP and smtp: are the same "
        "address; SIP, X500 and other types too); a duplicate fails sync with "
        "AttributeValueMustBeUnique or is quarantined.",
        commands=(
            "dupfix whois <value>  # every holder, in both directories",
            'Set-ADUser -Identity <sAMAccountName> -Remove @{proxyAddresses="smtp:<address>"}  # on-prem user; Set-ADGroup / Set-ADObject for a group / contact',
            'Set-Mailbox -Identity <holder> -EmailAddresses @{remove="smtp:<address>"}  # cloud mailbox; Set-DistributionGroup / Set-UnifiedGroup / Set-MailContact for others',
        ),
    ),
    "DUP003": RuleInfo(
        "upn-proxy-collision",
        "DUP003",
        "error",
        "a UPN equals another object's smtp: address, or the reverse",
        "Change the UPN or the address so that they differ, or move the address to this object.",
        "Exchange Online adds a mail user's UPN as a proxy address, so a UPN that is another "
        "object's smtp: address collides as soon as the user is licensed.",
        commands=(
            "dupfix whois <value>  # every holder, in both directories",
            "Update-MgUser -UserId <holder id> -UserPrincipalName <new UPN>  # rename a cloud user",
            'Set-ADUser -Identity <sAMAccountName> -Remove @{proxyAddresses="smtp:<address>"}  # on-prem user; Set-ADGroup / Set-ADObject for a group / contact',
            'Set-Mailbox -Identity <holder> -EmailAddresses @{remove="smtp:<address>"}  # cloud mailbox; Set-DistributionGroup / Set-UnifiedGroup / Set-MailContact for others',
        ),
    ),
    "DUP004": RuleInfo(
        "soft-deleted-holder",
        "DUP004",
        "error",
        "the value is held by a soft-deleted object",
        "Restore the soft-deleted object and free the value, or delete it permanently (purge) first.",
        "Soft-deleted users and groups keep their proxy addresses for 30 days: a restore then fails, "
        "and Exchange Online may refuse the address while the deleted mailbox holds it. A warning "
        "when this same plan deleted the holder: Entra lets the new object take the value.",
        commands=(
            "Restore-MgDirectoryDeletedItem -DirectoryObjectId <holder id>  # restore it, then free the value",
            "Remove-MgDirectoryDeletedItem -DirectoryObjectId <holder id>  # or delete it permanently",
        ),
    ),
    "DUP005": RuleInfo(
        "plan-internal-duplicate",
        "DUP005",
        "error",
        "two changes in the plan claim one value",
        "Give each object its own value; only one change may claim it.",
    ),
    "DUP006": RuleInfo(
        "address-move-same-cycle",
        "DUP006",
        "warning",
        "the plan releases a value from one object and gives it to another",
        "Split it into two steps: remove the value, let it reach Entra ID (a sync cycle, up to an "
        "hour for Exchange), then add it to the new holder.",
    ),
    "DUP007": RuleInfo(
        "moera-collision",
        "DUP007",
        "warning",
        "the derived mailNickname@initialDomain is taken",
        "Set a mailNickname that is free, or accept that Entra appends four random digits.",
        "Entra adds mailNickname@<tenant>.onmicrosoft.com (the MOERA) to Exchange-licensed users; "
        "when it is taken, the user gets a number appended instead.",
    ),
    "DUP008": RuleInfo(
        "duplicate-anchor",
        "DUP008",
        "error",
        "onPremisesImmutableId / onPremisesSecurityIdentifier already used by another Entra object",
        "Each on-prem anchor links exactly one Entra object: fix the anchor or remove the stale object.",
        commands=(
            "Get-MgUser -Filter \"onPremisesImmutableId eq '<anchor>'\"  # the Entra user holding the anchor",
            'Invoke-MgGraphRequest -Method PATCH -Uri "v1.0/users/<holder id>" -Body \'{"onPremisesImmutableId": null}\'  # clear a stale cloud anchor',
        ),
    ),
    "DUP009": RuleInfo(
        "existing-conflict",
        "DUP009",
        "note",
        "a key the plan touches was already in conflict before it",
        "Not caused by this plan: resolve the existing duplicate on its own (`dupfix whois VALUE` lists every holder).",
        commands=(
            "dupfix whois <value>  # every holder, in both directories",
        ),
    ),
    "DUP010": RuleInfo(
        "duplicate-group-alias",
        "DUP010",
        "error",
        "a mail-enabled group's mailNickname is already used by another mail-enabled group",
        "Choose another mailNickname for the group.",
        commands=(
            "Set-UnifiedGroup -Identity <group> -Alias <new alias>  # Microsoft 365 group; Set-DistributionGroup for others",
        ),
    ),
    "DUP011": RuleInfo(
        "soft-match-takeover",
        "DUP011",
        "warning",
        "sync will join two objects instead of rejecting one (soft match)",
        "If they are the same person or group, fine: hard-match them on purpose; if not, change the "
        "address or UPN so that sync does not merge two identities.",
        "Entra Connect soft-matches a new AD object to a cloud-only object with the same primary SMTP "
        "address or UPN and overwrites the cloud object's attributes.",
        commands=(
            "Update-MgUser -UserId <cloud user id> -OnPremisesImmutableId <base64 of the AD objectGUID>  # hard-match on purpose",
        ),
    ),
    "DUP012": RuleInfo(
        "quarantined-value",
        "DUP012",
        "error",
        "(audit) a value Entra quarantined: held back from one object because another holds it",
        "Resolve the duplicate on-prem; Entra re-applies the quarantined value within the hour.",
        "Reported by `dupfix audit`, which reads onPremisesProvisioningErrors. At check time a "
        "quarantined value counts as held by its object (via: quarantine) under the other rules.",
        commands=(
            "dupfix whois <value>  # every holder, in both directories",
            'Set-ADUser -Identity <sAMAccountName> -Remove @{proxyAddresses="smtp:<address>"}  # on-prem user; Set-ADGroup / Set-ADObject for a group / contact',
        ),
    ),
    "DUP013": RuleInfo(
        "duplicate-user-alias",
        "DUP013",
        "warning",
        "a user's mailNickname is already another user's",
        "Choose another mailNickname; on-prem Exchange and the MOERA need it unique.",
        commands=(
            'Set-ADUser -Identity <sAMAccountName> -Replace @{mailNickname="<new alias>"}  # on-prem user',
        ),
    ),
    "DUP015": RuleInfo(
        "duplicate-ad-name",
        "DUP015",
        "error",
        "an AD object already exists at that distinguished name",
        "Choose another CN (or container): AD keeps each name unique within its container.",
        "AD refuses a new object whose RDN equals one in the same container, compared without case, "
        "diacritics or width (KB 938447): `CN=Jörg Müller` and `CN=Jorg Muller` are one name.",
        commands=(
            "Get-ADObject -Identity '<distinguishedName>'  # who has it",
        ),
    ),
    "DUP014": RuleInfo(
        "duplicate-samaccountname",
        "DUP014",
        "error",
        "sAMAccountName already used in that AD domain",
        "Choose another sAMAccountName: AD refuses a duplicate within one domain.",
        commands=(
            "Get-ADUser -Filter \"sAMAccountName -eq '<name>'\"  # who has it",
        ),
    ),
}


def _where(r: Rival) -> str:
    return r.identity.where


def _holder_phrase(r: Rival) -> str:
    state = "soft-deleted " if r.state == "soft-deleted" else ""
    if r.from_plan:
        c = r.changes[0]
        return f"{c.label} ({c.location})"
    return f"{state}{r.identity.kind} {r.name} ({_where(r)})"


def _relevant(added: AddedClaim, r: Rival) -> bool:
    """Whether holding this key is a conflict between these two kinds of object."""
    ns = namespace(added.claim.key)
    if ns == "alias":
        mine = added.identity.kind
        return r.identity.kind == mine and mine in ("user", "group")
    return True


def _active(rivals: Iterable[Rival], added: AddedClaim) -> list[Rival]:
    return [r for r in rivals if r.state == "active" and _relevant(added, r)]


# The "already held" rule for a key held by two identities, by the key's namespace: the one table
# the check (`primary_code`) and the audit (`audit.conflicts`) both read.
SAME_KEY_CODES: dict[str, str] = {
    "upn": "DUP001",
    "adupn": "DUP001",
    "proxy": "DUP002",
    "anchor": "DUP008",
    "sid": "DUP008",
    "sam": "DUP014",
    "addn": "DUP015",
}
ALIAS_CODES: dict[str, str] = {"user": "DUP013", "group": "DUP010"}
# The rules the audit assigns from what holds a key rather than from its namespace.
UPN_CODE, PROXY_CODE, UPN_PROXY_CODE = "DUP001", "DUP002", "DUP003"
SOFT_DELETED_CODE, SOFT_MATCH_CODE, QUARANTINED_CODE = "DUP004", "DUP011", "DUP012"


def code_for(ns: str, kind: str) -> str | None:
    """The rule two holders of one key break, for a holder of this kind (aliases depend on it)."""
    if ns == "alias":
        return ALIAS_CODES.get(kind)
    return SAME_KEY_CODES.get(ns)


def primary_code(added: AddedClaim) -> tuple[str, list[Rival]] | None:
    """Which one "already held" rule a key gets, and the holders it names."""
    key = added.claim.key
    ns = namespace(key)
    same = _active(added.rivals, added)
    cross = _active(added.cross_rivals, added)
    plan_rivals = [r for r in same + cross if r.from_plan]
    if plan_rivals:
        return "DUP005", plan_rivals
    same = [r for r in same if not r.from_plan]
    cross = [r for r in cross if not r.from_plan]
    if ns == "adupn" and same:
        return "DUP001", same
    if ns == "upn":
        # Holders AD itself refuses this UPN for are reported once, on the AD key (adupn:).
        on_ad = added.ad_rivals
        same = [r for r in same if r.identity.key not in on_ad]
        cross = [r for r in cross if r.identity.key not in on_ad]
        if same:
            return "DUP001", same
        if cross:
            return "DUP003", cross
    elif ns == "proxy":
        if same:
            return "DUP002", same
        if cross:
            return "DUP003", cross
    elif same and (code := code_for(ns, added.identity.kind)) is not None:
        return code, same
    return None


def _finding(code: str, added: AddedClaim, message: str, holders: Iterable[Rival], **kw) -> Finding:
    claim = added.claim
    return Finding(
        code=code,
        attribute=claim.attribute,
        value=claim.value,
        key=claim.key,
        location=added.change.location_of(claim.attribute, claim.written or claim.value),
        change=ChangeRef.of(added.change),
        message=message,
        fix=kw.pop("fix", INFO[code].fix),
        holders=tuple(r.view() for r in holders),
        predicted=added.predicted,
        **kw,
    )


def _what(added: AddedClaim) -> str:
    return f"{added.claim.attribute} {added.claim.value}"


def _named_elsewhere(ctx: CheckContext, change, key: str | None, *, written_only: bool = True) -> set[int]:
    """Identities the change's other values already collide with directly.

    One problem, one finding: when a Terraform create's UPN is taken, the SMTP address and alias it
    would derive from that UPN collide with the same holder, and saying so three times is noise.
    A predicted value is reported only for holders no written value of the change already names.
    """
    return {
        r.identity.key
        for other in ctx.added_by(change)
        if other.claim.key != key and not (written_only and other.predicted)
        for r in other.rivals
    }


def _unrepeated(ctx: CheckContext, added: AddedClaim, rivals: list[Rival]) -> list[Rival]:
    if not added.predicted:
        return rivals
    already = _named_elsewhere(ctx, added.change, added.claim.key)
    return [r for r in rivals if r.identity.key not in already]


def _primary(ctx: CheckContext, code: str) -> Iterator[Finding]:
    for added in ctx.added:
        decided = primary_code(added)
        if decided is None or decided[0] != code:
            continue
        rivals = _unrepeated(ctx, added, decided[1])
        if rivals:
            yield _finding(code, added, _primary_message(code, added, rivals), rivals)


def _primary_message(code: str, added: AddedClaim, rivals: list[Rival]) -> str:
    holders = "; ".join(_holder_phrase(r) for r in rivals)
    what = _what(added)
    if code == "DUP005":
        return f"{what} is also claimed by {holders}"
    if code == "DUP003":
        if namespace(added.claim.key) == "upn":
            return f"{what} is already an smtp: address of {holders}"
        return f"{what} is already the userPrincipalName of {holders}"
    if code == "DUP014":
        domain = added.claim.key.partition(":")[2].partition("\\")[0]
        return f"{what} is already used in AD domain {domain} by {holders}{_ad_compare(added, rivals)}"
    if code == "DUP015":
        return f"{what}: an object of that name already exists in its AD container: {holders}{_ad_compare(added, rivals)}"
    if namespace(added.claim.key) == "adupn":
        return (
            f"{what} is already the userPrincipalName of {holders}: on-prem AD keeps UPNs unique "
            f"in the forest and refuses it{_ad_compare(added, rivals)}"
        )
    if added.claim.written and added.claim.written != added.claim.value:
        what = f"{added.claim.attribute} {added.claim.written} (in Entra ID: {added.claim.value})"
    quarantine = any(r.holding.via == "quarantine" for r in rivals)
    suffix = (
        " (held in quarantine: Entra kept it back from that object, and it still blocks others)"
        if quarantine
        else ""
    )
    return f"{what} is already held by {holders}{suffix}"


def _ad_compare(added: AddedClaim, rivals: list[Rival]) -> str:
    """Say why two spellings are one value when AD's comparison, not equality, joins them."""
    mine = added.claim.value.strip().casefold()
    theirs = {c.value.strip().casefold() for r in rivals for _, c in r.holding.claims}
    if theirs and all(t == mine for t in theirs):
        return ""
    spelled = ", ".join(sorted({c.value for r in rivals for _, c in r.holding.claims}))
    return (
        f" (held as {spelled}: AD compares these values without case, diacritics or character "
        "width, and with ß = ss, KB 938447)"
    )


def dup004(ctx: CheckContext) -> Iterator[Finding]:
    for added in ctx.added:
        if namespace(added.claim.key) not in ("upn", "proxy", "target"):
            continue
        direct = [r for r in added.rivals if r.state == "soft-deleted"]
        # A holder found only across UPN/smtp: that another value of this change holds directly is
        # reported on that value instead.
        direct_elsewhere = _named_elsewhere(ctx, added.change, added.claim.key, written_only=False)
        cross = [
            r
            for r in added.cross_rivals
            if r.state == "soft-deleted" and r.identity.key not in direct_elsewhere
        ]
        soft = _unrepeated(ctx, added, [*direct, *(r for r in cross if r not in direct)])
        if not soft:
            continue
        by_plan = all(r.deleted_by is not None for r in soft)
        names = "; ".join(_holder_phrase(r) for r in soft)
        deleter = soft[0].deleted_by
        if by_plan and deleter is not None:
            message = (
                f"{_what(added)} is still held by {names}, which this plan deletes ({deleter.label}): "
                "Entra lets the new object take it, but the deleted object can then not be restored as it was"
            )
            fix = "Purge the deleted object (purge: true) if it will never be restored, or keep the value off the new one."
            yield _finding("DUP004", added, message, soft, fix=fix, demote=1)
        else:
            message = f"{_what(added)} is still held by {names}, in the recycle bin"
            yield _finding("DUP004", added, message, soft)


def dup006(ctx: CheckContext) -> Iterator[Finding]:
    for order in ctx.restore_order:
        names = "; ".join(_holder_phrase(r) for r in order.holders)
        later = "; ".join(f"{c.label} ({c.location})" for c in order.freed_by) or "a later change"
        claim = order.claim
        yield Finding(
            code="DUP006",
            attribute=claim.attribute,
            value=claim.value,
            key=order.key,
            location=order.change.location_of(claim.attribute, claim.written or claim.value),
            change=ChangeRef.of(order.change),
            message=(
                f"the restore takes back {claim.attribute} {claim.value} while {names} still holds it: "
                f"the plan frees it only later ({later}), and changes run in order"
            ),
            fix="Move the change that frees the value before the restore, or run them as two steps.",
            holders=tuple(r.view() for r in order.holders),
        )
    ordered = {(id(o.change), o.key) for o in ctx.restore_order}
    for added in ctx.added:
        if (id(added.change), added.claim.key) in ordered:
            continue  # said above, with the order that makes it fail
        if not added.released_from or namespace(added.claim.key) in ("anchor", "sid"):
            continue
        parts = []
        for r in added.released_from:
            by = r.released_by[0] if r.released_by else None
            step = f" by {by.label} ({by.location})" if by else ""
            parts.append(f"{r.identity.kind} {r.identity.name}{step}")
        message = (
            f"{_what(added)} is released from {'; '.join(parts)} and given to this object in the same plan"
        )
        yield _finding("DUP006", added, message, added.released_from)


def dup007(ctx: CheckContext) -> Iterator[Finding]:
    for d in ctx.derived:
        # Whoever already collides with this change's UPN is reported there (DUP001/DUP005); the
        # MOERA they share follows from it and would only repeat the same finding.
        sync = ctx.simulation.sync
        upn = _upn_key_of(d.identity, sync)
        already = {r.identity.key for a in ctx.added_by(d.change) for r in (*a.rivals, *a.cross_rivals)}
        holders = [
            r
            for r in d.rivals
            if r.identity.key != d.identity.key
            and (upn is None or upn not in _upn_keys(r, sync))
            and r.identity.key not in already
        ]
        others = [c for c in d.other_changes if upn is None or upn != _change_upn_key(c, sync)]
        if not holders and not others:
            continue
        names = [_holder_phrase(r) for r in holders]
        names += [f"{c.label} ({c.location}), which derives it too" for c in others]
        message = (
            f"the derived address smtp:{d.address} (mailNickname {d.nickname} @ initial domain) "
            f"is already taken by {'; '.join(names)}"
        )
        yield Finding(
            code="DUP007",
            attribute="mailNickname",
            value=d.nickname,
            key=d.key,
            location=d.change.location_of("mailNickname", d.nickname)
            if "mailNickname" in d.change.set
            else d.change.location_of("userPrincipalName", str(d.change.set.get("userPrincipalName", ""))),
            change=ChangeRef.of(d.change),
            message=message,
            fix=INFO["DUP007"].fix,
            holders=tuple(r.view() for r in holders),
            predicted=True,
        )


def _entra_upn(o, sync) -> str | None:
    """The UPN an object has in Entra ID: an AD object's as sync projects it."""
    if o.kind != "user":
        return None
    if o.directory == "ad":
        return project(o, sync).upn
    upn = o.get("userPrincipalName")
    return str(upn) if upn else None


def _upn_key_of(identity, sync) -> str | None:
    for o in identity.objects:
        upn = _entra_upn(o, sync)
        if upn:
            return upn_key(upn)
    return None


def _upn_keys(r: Rival, sync) -> set[str]:
    return {upn_key(u) for o in r.identity.objects if (u := _entra_upn(o, sync))}


def _change_upn_key(c, sync) -> str | None:
    upn = _entra_upn(planned_object(c, "probe"), sync)
    return upn_key(upn) if upn else None


def _distinct_labels(rivals: Iterable[Rival]) -> list[str]:
    """One label per holder; two holders people know by one name get their object ids too."""
    rivals = list(rivals)
    labels = [f"{r.identity.kind} {r.name} ({r.identity.where})" for r in rivals]
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            ids = ", ".join(f"{ref.directory}:{ref.id}" for ref in rivals[i].identity.refs)
            labels[i] = f"{label[:-1]}, {ids})"
    return labels


def dup009(ctx: CheckContext) -> Iterator[Finding]:
    for t in ctx.touched:
        names = "; ".join(_distinct_labels(t.holders))
        yield Finding(
            code="DUP009",
            attribute=t.claim.attribute,
            value=t.claim.value,
            key=t.key,
            location=t.change.location_of(t.claim.attribute, t.claim.value),
            change=ChangeRef.of(t.change),
            message=f"{t.key} was already held by {len(t.holders)} identities before this plan: {names}",
            fix=INFO["DUP009"].fix,
            holders=tuple(r.view() for r in t.holders),
        )


def dup011(ctx: CheckContext) -> Iterator[Finding]:
    for added in ctx.added:
        r = added.soft_match
        if r is None:
            continue
        if added.change.directory == "ad":
            message = (
                f"{_what(added)} matches cloud-only {r.identity.kind} {r.identity.name}: Entra Connect will "
                "soft-match this new AD object to it and take it over, instead of creating a new one"
            )
        else:
            message = (
                f"{_what(added)} matches AD {r.identity.kind} {r.identity.name}, which has no Entra twin yet: "
                "when it syncs, Entra Connect will soft-match it to this new cloud object and take it over"
            )
        yield _finding("DUP011", added, message, [r])


def _rule(code: str, check) -> Rule:
    return Rule(INFO[code], check)


def _primary_rule(code: str) -> Rule:
    return Rule(INFO[code], lambda ctx: _primary(ctx, code))


RULES = [
    _primary_rule("DUP001"),
    _primary_rule("DUP002"),
    _primary_rule("DUP003"),
    _rule("DUP004", dup004),
    _primary_rule("DUP005"),
    _rule("DUP006", dup006),
    _rule("DUP007", dup007),
    _primary_rule("DUP008"),
    _rule("DUP009", dup009),
    _primary_rule("DUP010"),
    _rule("DUP011", dup011),
    _rule("DUP012", lambda ctx: ()),  # the audit's rule: declared here so policies can set it
    _primary_rule("DUP013"),
    _primary_rule("DUP014"),
    _primary_rule("DUP015"),
]


@hookimpl
def dupfix_rules() -> list[Rule]:
    return list(RULES)
