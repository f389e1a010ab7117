"""The tenant the suggestion and fix tests run against, as a snapshot file, and small CLI helpers.

Each object is one domain case a suggestion must step around: an active holder in AD and Entra, a
soft-deleted holder, a quarantined value, a secondary address that blocks the first candidate.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from dupfix_policy import cli
from dupfix_policy.addresses import guid_to_immutable_id


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fix-test:" + name))


def ad_user(cn: str, upn: str, sam: str, *proxies: str) -> dict[str, Any]:
    guid = _id("ad:" + upn)
    return {
        "id": guid, "kind": "user", "directory": "ad", "state": "active", "objectGUID": guid,
        "distinguishedName": f"CN={cn},OU=Staff,DC=contoso,DC=com", "sAMAccountName": sam,
        "userPrincipalName": upn, "displayName": cn, "mail": upn,
        "proxyAddresses": [f"SMTP:{upn}", *proxies],
    }  # fmt: skip


def entra_twin(ad: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("entra:" + ad["userPrincipalName"]), "kind": "user", "directory": "entra", "state": "active",
        "userPrincipalName": ad["userPrincipalName"], "mail": ad["mail"], "proxyAddresses": ad["proxyAddresses"],
        "mailNickname": ad["userPrincipalName"].split("@")[0],
        "onPremisesImmutableId": guid_to_immutable_id(ad["objectGUID"]),
    }  # fmt: skip


def entra_user(upn: str, *proxies: str, state: str = "active", **attrs: Any) -> dict[str, Any]:
    ident = _id("entra:" + upn)
    shown = ident.replace("-", "") + upn if state == "soft-deleted" else upn  # how Entra renames a deleted user
    return {"id": ident, "kind": "user", "directory": "entra", "state": state, "userPrincipalName": shown,
            "mail": upn, "proxyAddresses": list(proxies) or [f"SMTP:{upn}"], "mailNickname": upn.split("@")[0],
            **attrs}  # fmt: skip


JANE = ad_user("Jane Doe", "jane.doe@contoso.com", "jdoe")
TENANT_OBJECTS: list[dict[str, Any]] = [
    JANE,
    entra_twin(JANE),
    # jane.doe2 is a secondary address of the front desk: the first candidate is taken.
    entra_user("frontdesk@contoso.com", "SMTP:frontdesk@contoso.com", "smtp:jane.doe2@contoso.com"),
    # john.smith left last week: his user is in the recycle bin and keeps his addresses.
    entra_user("john.smith@contoso.com", state="soft-deleted"),
    # Entra quarantined maya@ on the help desk user when it collided.
    entra_user("helpdesk@contoso.com", quarantined=[{"property": "UserPrincipalName", "value": "maya@contoso.com"}]),
    {"id": _id("group:marketing"), "kind": "group", "directory": "entra", "state": "active",
     "displayName": "Marketing", "mailEnabled": True, "mailNickname": "marketing",
     "mail": "marketing@contoso.com", "proxyAddresses": ["SMTP:marketing@contoso.com"]},
]


def write_tenant(where: Path, objects: list[dict[str, Any]] | None = None) -> Path:
    path = where / "tenant.json"
    path.write_text(json.dumps({
        "version": 1,
        "tenant": {"initialDomain": "contoso.onmicrosoft.com", "verifiedDomains": ["contoso.com"]},
        "asOf": "2026-11-20T08:00:00Z",
        "directories": ["entra", "ad"],
        "objects": TENANT_OBJECTS if objects is None else objects,
    }, indent=1), encoding="utf-8")  # fmt: skip
    return path


def dupfix(*args: str) -> int:
    return cli.main(list(args))


def check_report(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = dupfix("check", *args, "--format", f"json={out}")
    return code, json.loads(out.read_text(encoding="utf-8"))


def errors(report: dict) -> list[tuple[str, str | None]]:
    return [(f["code"], f["value"]) for f in report["findings"] if f["severity"] == "error" and not f["suppressed"]]
