"""`dupfix whois VALUE`: every holder of a value, in each directory's own comparison."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..app import opened, resolve
from ..errors import EXIT_OK
from ..model import DirectoryObject, ObjectRef
from ..plugins import Registry
from ..safetext import clean


def whois_keys(value: str) -> list[str]:
    """Every key a bare value could be held under, in each directory's own comparison
    (docs/semantics.md "How values compare"): as an Entra UPN, an address of any kind, an alias,
    and on-prem as a UPN or sAMAccountName compared the way AD compares them."""
    from ..addresses import ad_upn_key, alias_key, proxy_key, smtp_key, split_proxy, upn_key

    text = value.strip()
    if split_proxy(text) is not None and "@" not in text.partition(":")[0]:
        keys = [proxy_key(text) or ""]
        kind, address = split_proxy(text) or ("", "")
        if kind == "smtp":
            keys += [upn_key(address), ad_upn_key(address)]
        return [k for k in dict.fromkeys(keys) if k]
    if "@" in text:
        return list(dict.fromkeys([upn_key(text), smtp_key(text), ad_upn_key(text)]))
    return [alias_key(text)]


def run(args: argparse.Namespace, registry: Registry) -> int:
    from ..addresses import claims_of
    from ..index import ClaimIndex, link_twins

    settings = resolve(args)
    keys = whois_keys(args.value)
    with opened(settings.sources, registry, settings) as sources:
        found: dict[ObjectRef, DirectoryObject] = {}
        for s in sources:
            for o in s.lookup(keys, []):
                found.setdefault(o.ref, o)
        # widen to twins, so a synced user shows as one identity in both directories
        from ..addresses import link_keys_of

        links = sorted({k for o in found.values() for k in link_keys_of(o)})
        if links:
            for s in sources:
                for o in s.lookup(links, []):
                    found.setdefault(o.ref, o)
    index = ClaimIndex(found, link_twins(found.values()))
    rows: list[dict[str, Any]] = []
    for ident in index.identities():
        view = index.identity(ident)
        assert view is not None
        held = [(ref, c) for o in view.objects for c in claims_of(o) if c.key in keys for ref in [o.ref]]
        if not held:
            continue
        rows.append(
            {
                "name": view.name,
                "kind": view.kind,
                "state": view.state,
                "objects": [{"directory": r.directory, "id": r.id} for r in view.refs],
                "holds": [
                    {"directory": ref.directory, "attribute": c.attribute, "value": c.value, "via": c.via, "key": c.key}
                    for ref, c in held
                ],
            }
        )
    if args.format == "json":
        json.dump({"value": args.value, "keys": keys, "holders": rows}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not rows:
        print(clean(f"{args.value}: held by nobody in {', '.join(s for s in settings.sources)}"))
        return EXIT_OK
    print(clean(f"{args.value}: held by {len(rows)} identit{'y' if len(rows) == 1 else 'ies'}"))
    for row in rows:  # directory values, cleaned like every text report line
        state = " (soft-deleted)" if row["state"] == "soft-deleted" else ""
        print("  " + clean(f"{row['kind']} {row['name']}{state}"))
        shown: set[str] = set()
        for h in row["holds"]:
            via = " [quarantined]" if h["via"] == "quarantine" else ""
            where = "Entra ID" if h["directory"] == "entra" else "on-prem AD"
            line = clean(f"{where}: {h['attribute']} {h['value']}{via}")
            if line not in shown:  # one value held under two keys (AD's and Entra's comparison)
                shown.add(line)
                print("    " + line)
    return EXIT_OK

