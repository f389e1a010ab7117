"""Generate a deterministic synthetic tenant snapshot (JSON Lines) and a native plan against it.

    python benchmarks/generate_tenant.py --objects 1000000 --output benchmarks/data/tenant-1m.jsonl \
        --plan benchmarks/data/plan-1000.yaml --plan-changes 1000 [--seed 1]

The same arguments always give byte-identical files (seeded `random.Random`, sorted writer
output), so timings from different machines or commits compare the same input.

Shape (fractions of `--objects`, counting an AD twin as an object of its own):
- ~80% users: UPN, mail, mailNickname, 3-5 proxyAddresses (one `SMTP:` primary, `smtp:`
  secondaries, some `SIP:` / `X500:`); about a third synced, each with an AD twin (objectGUID,
  objectSid, DN under DC=contoso,DC=com, sAMAccountName) linked by onPremisesImmutableId =
  base64(GUID bytes_le) and onPremisesSecurityIdentifier; ~2% soft-deleted (UPN prefixed with the
  object id, as Entra does); a few quarantined values; a few non-ASCII display names and
  `Last\\, First` DNs, because real tenants have them and the reader has slower paths for both.
- ~10% groups (half mail-enabled with a mailNickname, some Microsoft 365 "Unified").
- ~5% mail contacts with a targetAddress.

The plan mixes ~10% creates that collide with existing objects, ~40% clean creates, ~30%
updates by UPN target and ~20% deletes, so a check exercises hits, misses and targets.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dupfix_policy.model import DirectoryObject, Quarantined, Tenant
from dupfix_policy.sources.snapshot.writer import write_snapshot

DOMAIN = "contoso.com"
INITIAL_DOMAIN = "contoso.onmicrosoft.com"
ROUTING_DOMAIN = "contoso.mail.onmicrosoft.com"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
AS_OF = "2026-11-20T08:00:00Z"

FIRST = [
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Yvonne",
    "Zoe",
    "Liam",
    "Noah",
    "Emma",
    "Ava",
    "Mia",
    "Lucas",
    "Ethan",
    "Chloe",
    "Leo",
]
LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Martin",
    "Jackson",
    "Clarke",
    "Lewis",
    "Lee",
]
# Display names only: addresses stay ASCII as Entra wants, but the lines carry UTF-8.
ACCENTED_FIRST = ("José", "Zoë", "Åsa", "Ümit", "François", "Łukasz", "Søren", "Élodie")


@dataclass
class Sample:
    """What the plan generator needs to know about existing objects, kept small."""

    users: list[tuple[str, str, str]] = field(default_factory=list)  # (id, upn, secondary smtp)
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (id, an smtp it still holds)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def generate_objects(count: int, seed: int, sample: Sample) -> Iterator[DirectoryObject]:
    """Yield `count` objects; fill `sample` with a small random subset for the plan generator."""
    rng = random.Random(seed)
    made = 0
    serial = 0
    while made < count:
        serial += 1
        roll = rng.random()
        if roll < 0.10:
            yield _group(rng, serial)
            made += 1
        elif roll < 0.15:
            yield _contact(rng, serial)
            made += 1
        else:
            for obj in _user(rng, serial, sample, room=count - made):
                yield obj
                made += 1


def _user(rng: random.Random, n: int, sample: Sample, room: int) -> list[DirectoryObject]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    nick = f"{first}.{last}{n}"
    upn = f"{nick}@{DOMAIN}"
    proxies = [f"SMTP:{upn}", f"smtp:{nick}@{ROUTING_DOMAIN}"]
    if rng.random() < 0.5:
        proxies.append(f"smtp:{first[0]}{last}{n}@{DOMAIN}".lower())
    if rng.random() < 0.3:
        proxies.append(f"SIP:{upn.lower()}")
    if rng.random() < 0.2:
        proxies.append(
            "X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/"
            f"cn={rng.getrandbits(128):032x}-{nick.lower()[:12]}"
        )
    display_first = rng.choice(ACCENTED_FIRST) if rng.random() < 0.05 else first
    oid = str(_uuid(rng))
    attrs: dict[str, Any] = {
        "userPrincipalName": upn,
        "mail": upn,
        "mailNickname": nick,
        "proxyAddresses": tuple(proxies),
        "displayName": f"{display_first} {last}",
        "givenName": display_first,
        "surname": last,
        "userType": "Member",
        "accountEnabled": True,
    }
    quarantined: tuple[Quarantined, ...] = ()
    if rng.random() < 0.001:
        quarantined = (Quarantined("ProxyAddress", f"smtp:{first.lower()}.{last.lower()}@{DOMAIN}"),)
    state = "active"
    if rng.random() < 0.02:
        state = "soft-deleted"
        attrs["userPrincipalName"] = oid.replace("-", "") + upn
        sample.deleted.append((oid, proxies[1]))
    out: list[DirectoryObject] = []
    if state == "active" and room >= 2 and rng.random() < 0.33:
        guid = _uuid(rng)
        sid = f"{DOMAIN_SID}-{1000 + n}"
        attrs["onPremisesImmutableId"] = base64.b64encode(guid.bytes_le).decode("ascii")
        attrs["onPremisesSecurityIdentifier"] = sid
        cn = f"{last}\\, {first} {n}" if rng.random() < 0.1 else f"{first} {last} {n}"
        ad_attrs: dict[str, Any] = {
            "distinguishedName": f"CN={cn},OU=Staff,DC=contoso,DC=com",
            "objectGUID": str(guid),
            "objectSid": sid,
            "sAMAccountName": f"{first[0]}{last}{n}".lower()[:20],
            "userPrincipalName": upn,
            "mail": upn,
            "mailNickname": nick,
            "proxyAddresses": tuple(proxies),
            "displayName": f"{display_first} {last}",
        }
        out.append(DirectoryObject(str(guid), "user", "ad", "active", ad_attrs))
    out.insert(0, DirectoryObject(oid, "user", "entra", state, attrs, quarantined))
    if state == "active" and rng.random() < 0.01:
        sample.users.append((oid, upn, proxies[1]))
    return out


def _group(rng: random.Random, n: int) -> DirectoryObject:
    attrs: dict[str, Any] = {"displayName": f"Group {n}", "securityEnabled": True}
    if rng.random() < 0.5:
        nick = f"grp{n}"
        attrs.update(
            mailEnabled=True,
            mailNickname=nick,
            mail=f"{nick}@{DOMAIN}",
            proxyAddresses=(f"SMTP:{nick}@{DOMAIN}", f"smtp:{nick}@{ROUTING_DOMAIN}"),
        )
        if rng.random() < 0.3:
            attrs["groupTypes"] = ("Unified",)
    else:
        attrs["mailEnabled"] = False
        attrs["groupTypes"] = ()
    state = "soft-deleted" if rng.random() < 0.01 else "active"
    return DirectoryObject(str(_uuid(rng)), "group", "entra", state, attrs)


def _contact(rng: random.Random, n: int) -> DirectoryObject:
    address = f"partner{n}@fabrikam.example"
    attrs = {
        "displayName": f"Partner {n}",
        "mail": address,
        "mailNickname": f"partner{n}",
        "proxyAddresses": (f"SMTP:{address}",),
        "targetAddress": f"SMTP:{address}",
    }
    return DirectoryObject(str(_uuid(rng)), "contact", "entra", "active", attrs)


def generate_plan(changes: int, seed: int, sample: Sample) -> dict[str, Any]:
    """A native plan: ~10% colliding creates, ~40% clean creates, ~30% updates, ~20% deletes."""
    rng = random.Random(seed + 1)
    users = sample.users or [
        ("00000000-0000-4000-8000-000000000000", f"nobody@{DOMAIN}", f"smtp:nobody@{DOMAIN}")
    ]
    out: list[dict[str, Any]] = []
    for i in range(changes):
        roll = rng.random()
        if roll < 0.10:
            oid, upn, secondary = rng.choice(users)
            nick = f"dup{i}"
            if rng.random() < 0.5:
                s: dict[str, Any] = {"userPrincipalName": upn.upper(), "mailNickname": nick}
            elif sample.deleted and rng.random() < 0.3:
                _, held = rng.choice(sample.deleted)
                s = {
                    "userPrincipalName": f"{nick}@{DOMAIN}",
                    "proxyAddresses": [f"SMTP:{nick}@{DOMAIN}", held.replace("smtp:", "smtp:", 1)],
                }
            else:
                s = {
                    "userPrincipalName": f"{nick}@{DOMAIN}",
                    "proxyAddresses": [
                        f"SMTP:{nick}@{DOMAIN}",
                        secondary.upper().replace("SMTP:", "smtp:", 1),
                    ],
                }
            out.append({"op": "create", "kind": "user", "ref": f"colliding-{i}", "set": s})
        elif roll < 0.50:
            nick = f"newhire{i}"
            out.append(
                {
                    "op": "create",
                    "kind": "user",
                    "ref": f"new-hire-{i}",
                    "set": {
                        "userPrincipalName": f"{nick}@{DOMAIN}",
                        "mail": f"{nick}@{DOMAIN}",
                        "mailNickname": nick,
                        "proxyAddresses": [f"SMTP:{nick}@{DOMAIN}", f"smtp:{nick}.alt@{DOMAIN}"],
                    },
                }
            )
        elif roll < 0.80:
            _, upn, _ = rng.choice(users)
            out.append(
                {
                    "op": "update",
                    "kind": "user",
                    "target": {"userPrincipalName": upn},
                    "add": {"proxyAddresses": [f"smtp:alias{i}@{DOMAIN}"]},
                }
            )
        else:
            oid, upn, _ = rng.choice(users)
            target = {"id": oid} if rng.random() < 0.5 else {"userPrincipalName": upn}
            out.append({"op": "delete", "kind": "user", "target": target})
    return {"version": 1, "changes": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000, help="objects in the snapshot")
    parser.add_argument("--output", required=True, help="snapshot path (.jsonl for JSON Lines)")
    parser.add_argument("--plan", help="also write a native plan YAML here")
    parser.add_argument("--plan-changes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    sample = Sample()
    tenant = Tenant(INITIAL_DOMAIN, (DOMAIN,))
    written = write_snapshot(args.output, generate_objects(args.objects, args.seed, sample), tenant, AS_OF)
    if args.plan:
        plan = generate_plan(args.plan_changes, args.seed, sample)
        with open(args.plan, "w", encoding="utf-8") as fh:
            yaml.safe_dump(plan, fh, sort_keys=False, allow_unicode=True)
    took = time.perf_counter() - started
    print(f"wrote {written} objects to {args.output} in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
