"""Write examples/tenant.json: the demo tenant the README's quickstart checks plans against.

Deterministic (no randomness, no clock), so the committed file only changes when this script does.
Contoso: an Entra tenant synced from one AD forest, with the cases the example plans exercise:
synced users and their AD twins, cloud-only users, an AD user not yet synced, groups, contacts,
soft-deleted users, a quarantined value, a taken MOERA and a used anchor; and, for `dupfix audit`,
conflicts that already exist, one per way the audit resolves them (`audit_cases`).

Run: python examples/make_demo_tenant.py
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NS = uuid.UUID("8d0d5f8e-4a49-4b1f-9a43-000000000000")

FIRST = [
    "adele",
    "alex",
    "allan",
    "bianca",
    "brian",
    "cameron",
    "christie",
    "debra",
    "diego",
    "emily",
    "enrico",
    "grady",
    "henrietta",
    "irvin",
    "isaiah",
    "johanna",
    "joni",
    "lee",
    "lidia",
    "lynne",
    "megan",
    "miriam",
    "nestor",
    "patti",
    "pradeep",
    "raul",
    "rosa",
    "sanjay",
    "sofia",
    "tomas",
]
LAST = ["vance", "wilber", "young", "diaz", "garcia", "khan", "lopez", "nguyen", "patel", "smith"]


def oid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def anchor(guid: str) -> str:
    return base64.b64encode(uuid.UUID(guid).bytes_le).decode()


def sid(n: int) -> str:
    return f"S-1-5-21-3623811015-3361044348-30300820-{1100 + n}"


def user(
    upn: str,
    *,
    display: str,
    proxies: list[str] | None = None,
    mail: str | None = None,
    nickname: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    local = upn.split("@")[0]
    obj: dict[str, Any] = {
        "id": extra.pop("id", oid("entra:" + upn)),
        "kind": "user",
        "directory": "entra",
        "state": extra.pop("state", "active"),
        "userPrincipalName": upn,
        "displayName": display,
        "mail": mail if mail is not None else upn,
        "mailNickname": nickname or local,
        "proxyAddresses": proxies
        if proxies is not None
        else [f"SMTP:{upn}", f"smtp:{local}@contoso.onmicrosoft.com"],
        "userType": "Member",
    }
    obj.update(extra)
    return obj


def ad_twin(entra: dict[str, Any], n: int, ou: str = "Staff") -> dict[str, Any]:
    guid = oid("ad:" + entra["userPrincipalName"])
    local = entra["userPrincipalName"].split("@")[0]
    entra["onPremisesImmutableId"] = anchor(guid)
    entra["onPremisesSecurityIdentifier"] = sid(n)
    return {
        "id": guid,
        "kind": "user",
        "directory": "ad",
        "state": "active",
        "objectGUID": guid,
        "objectSid": sid(n),
        "distinguishedName": f"CN={entra['displayName']},OU={ou},DC=contoso,DC=com",
        "sAMAccountName": local.replace(".", "")[:20],
        "userPrincipalName": entra["userPrincipalName"],
        "displayName": entra["displayName"],
        "mail": entra["mail"],
        "proxyAddresses": [p for p in entra["proxyAddresses"] if "onmicrosoft.com" not in p],
    }


def build() -> dict[str, Any]:
    objects: list[dict[str, Any]] = []
    n = 0
    # A bulk of ordinary staff: every third one cloud-only, the rest synced from AD.
    for i, first in enumerate(FIRST):
        for j, last in enumerate(LAST[:6]):
            upn = f"{first}.{last}@contoso.com"
            u = user(
                upn,
                display=f"{first.title()} {last.title()}",
                proxies=[
                    f"SMTP:{upn}",
                    f"smtp:{first}{last[0]}@contoso.com",
                    f"smtp:{first}.{last}@contoso.onmicrosoft.com",
                ],
            )
            objects.append(u)
            if (i + j) % 3:
                n += 1
                objects.append(ad_twin(u, n))

    # The named cast the example plans are about.
    alice = user(
        "alice@contoso.com",
        display="Alice Smith",
        proxies=[
            "SMTP:alice@contoso.com",
            "smtp:alice.smith@contoso.com",
            "SIP:alice@contoso.com",
            "smtp:alice@contoso.onmicrosoft.com",
        ],
    )
    objects += [alice, ad_twin(alice, 900)]
    bob = user("bob@contoso.com", display="Bob Jones (cloud only)")
    objects.append(bob)
    jon = user("jon@contoso.com", display="Jon Cloud (cloud only)")
    objects.append(jon)
    frank = user(
        "frank@fabrikam.com",
        display="Frank (acquired, Fabrikam)",
        mail="frank@fabrikam.com",
        nickname="frank",
        proxies=["SMTP:frank@fabrikam.com", "smtp:frank@contoso.onmicrosoft.com"],
    )
    objects.append(frank)
    dana = user(
        "dana@contoso.com",
        display="Dana Support",
        quarantined=[{"property": "ProxyAddress", "value": "smtp:support@contoso.com"}],
    )
    dana_ad = ad_twin(dana, 901)
    dana_ad["proxyAddresses"].append("smtp:support@contoso.com")  # why Entra quarantined it on her twin
    objects += [dana, dana_ad]
    kim = user("kim@contoso.com", display="Kim Anchor")
    objects += [kim, ad_twin(kim, 902)]
    # Lou exists on-prem but is outside the sync scope so far: no Entra twin.
    lou_guid = oid("ad:lou@contoso.com")
    objects.append(
        {
            "id": lou_guid,
            "kind": "user",
            "directory": "ad",
            "state": "active",
            "objectGUID": lou_guid,
            "objectSid": sid(903),
            "distinguishedName": "CN=Lou Pending,OU=Contractors,DC=contoso,DC=com",
            "sAMAccountName": "lou",
            "userPrincipalName": "lou@contoso.com",
            "displayName": "Lou Pending",
            "mail": "lou@contoso.com",
            "proxyAddresses": ["SMTP:lou@contoso.com"],
        }
    )
    # Soft-deleted users: Entra prefixes the UPN with the object id (no dashes) and keeps addresses.
    for name, display in (("olivia", "Olivia Former"), ("pat", "Pat Leaver")):
        i = oid("deleted:" + name)
        objects.append(
            user(
                f"{i.replace('-', '')}{name}@contoso.com",
                id=i,
                display=display,
                state="soft-deleted",
                mail=f"{name}@contoso.com",
                nickname=name,
                proxies=[f"SMTP:{name}@contoso.com", f"smtp:{name}@contoso.onmicrosoft.com"],
            )
        )
    # A guest.
    objects.append(
        user(
            "gwen_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            display="Gwen (guest)",
            mail="gwen@fabrikam.com",
            nickname="gwen_fabrikam.com#EXT#",
            proxies=["SMTP:gwen@fabrikam.com"],
            userType="Guest",
        )
    )

    # Groups: mail-enabled distribution and Microsoft 365 groups, and a security group.
    for name, display, types in (
        ("sales", "Sales", []),
        ("support", "Support", []),
        ("hr", "Human Resources", []),
        ("marketing", "Marketing", ["Unified"]),
        ("finance", "Finance", ["Unified"]),
    ):
        objects.append(
            {
                "id": oid("group:" + name),
                "kind": "group",
                "directory": "entra",
                "state": "active",
                "displayName": display,
                "mail": f"{name}@contoso.com",
                "mailNickname": name,
                "mailEnabled": True,
                "securityEnabled": False,
                "groupTypes": types,
                "proxyAddresses": [f"SMTP:{name}@contoso.com", f"smtp:{name}@contoso.onmicrosoft.com"],
            }
        )
    objects.append(
        {
            "id": oid("group:vpn-users"),
            "kind": "group",
            "directory": "entra",
            "state": "active",
            "displayName": "VPN users",
            "mailNickname": "vpn-users",
            "mailEnabled": False,
            "securityEnabled": True,
            "groupTypes": [],
            "proxyAddresses": [],
        }
    )
    objects.append(
        {
            "id": oid("group:old-projects"),
            "kind": "group",
            "directory": "entra",
            "state": "soft-deleted",
            "displayName": "Old Projects",
            "mail": "projects@contoso.com",
            "mailNickname": "projects",
            "mailEnabled": True,
            "groupTypes": ["Unified"],
            "proxyAddresses": ["SMTP:projects@contoso.com"],
        }
    )
    # Contacts for partners.
    for name, domain in (
        ("partner", "fabrikam.com"),
        ("accounts", "tailspin.com"),
        ("legal", "woodgrove.com"),
    ):
        objects.append(
            {
                "id": oid(f"contact:{name}@{domain}"),
                "kind": "contact",
                "directory": "entra",
                "state": "active",
                "displayName": f"{name.title()} ({domain})",
                "mail": f"{name}@{domain}",
                "mailNickname": f"{name}-ext",
                "proxyAddresses": [f"SMTP:{name}@{domain}"],
                "targetAddress": f"SMTP:{name}@{domain}",
            }
        )

    objects += audit_cases()
    objects.sort(key=lambda o: (o["directory"], o["kind"], o["id"]))
    return {
        "version": 1,
        "tenant": {
            "initialDomain": "contoso.onmicrosoft.com",
            "verifiedDomains": ["contoso.com", "fabrikam.com"],
        },
        "asOf": "2026-11-20T08:00:00Z",
        "directories": ["entra", "ad"],
        "objects": objects,
    }


def group(name: str, display: str, proxies: list[str], **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": oid("group:" + name),
        "kind": "group",
        "directory": "entra",
        "state": "active",
        "displayName": display,
        "mail": proxies[0].split(":", 1)[1],
        "mailNickname": name,
        "mailEnabled": True,
        "securityEnabled": False,
        "groupTypes": [],
        "proxyAddresses": proxies,
    }
    obj.update(extra)
    return obj


def audit_cases() -> list[dict[str, Any]]:
    """Conflicts that already exist in the tenant, for `dupfix audit` (README "Audit"): one per
    way the audit resolves them. None touches a value the example plans use."""
    out: list[dict[str, Any]] = []
    # Synced Nora and cloud-only Owen both have smtp:events@: the cloud-only one yields.
    nora = user("nora@contoso.com", display="Nora Synced",
                proxies=["SMTP:nora@contoso.com", "smtp:events@contoso.com"])  # fmt: skip
    owen = user("owen@contoso.com", display="Owen Cloud",
                proxies=["SMTP:owen@contoso.com", "smtp:events@contoso.com"])  # fmt: skip
    out += [nora, ad_twin(nora, 910), owen]
    # Ivy's new AD account (not synced yet) reuses synced Rhea's smtp:reception@: Ivy yields.
    rhea = user("rhea@contoso.com", display="Rhea Front Desk",
                proxies=["SMTP:rhea@contoso.com", "smtp:reception@contoso.com"])  # fmt: skip
    out += [rhea, ad_twin(rhea, 911)]
    ivy_guid = oid("ad:ivy@contoso.com")
    out.append(
        {
            "id": ivy_guid, "kind": "user", "directory": "ad", "state": "active", "objectGUID": ivy_guid,
            "objectSid": sid(912), "distinguishedName": "CN=Ivy Temp,OU=Contractors,DC=contoso,DC=com",
            "sAMAccountName": "ivy", "userPrincipalName": "ivy@contoso.com", "displayName": "Ivy Temp",
            "mail": "ivy@contoso.com", "proxyAddresses": ["SMTP:ivy@contoso.com", "smtp:reception@contoso.com"],
        }
    )  # fmt: skip
    # Victor left (soft-deleted) still holding smtp:orders@, now the Orders group's address: purge.
    victor = oid("deleted:victor")
    out.append(
        user(f"{victor.replace('-', '')}victor@contoso.com", id=victor, display="Victor Former",
             state="soft-deleted", mail="victor@contoso.com", nickname="victor",
             proxies=["SMTP:victor@contoso.com", "smtp:orders@contoso.com"])
    )  # fmt: skip
    out.append(group("orders", "Orders", ["SMTP:orders@contoso.com"]))
    # A new Microsoft 365 group took the soft-deleted Old Projects group's address as a secondary.
    out.append(group("projects-2027", "Projects 2027",
                     ["SMTP:projects-2027@contoso.com", "smtp:projects@contoso.com"], groupTypes=["Unified"]))  # fmt: skip
    # Wes has smtp:billing@ as a secondary; it is the Billing group's primary address.
    out.append(user("wes@contoso.com", display="Wes Accounts",
                    proxies=["SMTP:wes@contoso.com", "smtp:billing@contoso.com"]))  # fmt: skip
    out.append(group("billing", "Billing", ["SMTP:billing@contoso.com"]))
    # Xena and Yuri (both cloud-only) share a secondary: the newer account yields.
    out.append(user("xena@contoso.com", display="Xena Travel", createdDateTime="2024-03-01T09:00:00Z",
                    proxies=["SMTP:xena@contoso.com", "smtp:travel@contoso.com"]))  # fmt: skip
    out.append(user("yuri@contoso.com", display="Yuri Travel", createdDateTime="2026-09-15T09:00:00Z",
                    proxies=["SMTP:yuri@contoso.com", "smtp:travel@contoso.com"]))  # fmt: skip
    # Zara's UPN desk@ is the Service Desk group's secondary address (DUP003).
    out.append(user("desk@contoso.com", display="Zara Desk", mail="zara@contoso.com", nickname="zara",
                    proxies=["SMTP:zara@contoso.com"]))  # fmt: skip
    out.append(group("servicedesk", "Service Desk", ["SMTP:servicedesk@contoso.com", "smtp:desk@contoso.com"]))
    # Synced Maya's UPN was quarantined: cloud-only Maya had it first (a rename needs a person).
    maya_cloud = user("maya@contoso.com", display="Maya Cloud")
    maya_ad = {**user("maya@contoso.com", display="Maya Synced", mail="maya.s@contoso.com",
                      proxies=["SMTP:maya.s@contoso.com"])}  # fmt: skip
    maya_twin = ad_twin(maya_ad, 913)
    maya_ad.update(
        id=oid("entra:maya.s@contoso.com"),
        userPrincipalName="maya.s4711@contoso.onmicrosoft.com",
        mailNickname="maya.s",
        quarantined=[{"property": "UserPrincipalName", "value": "maya@contoso.com"}],
    )
    out += [maya_cloud, maya_ad, maya_twin]
    # Two Entra users carry one stale anchor (their AD account is gone): DUP008.
    stale = anchor(oid("ad:uma-gone"))
    out.append(user("uma@contoso.com", display="Uma", onPremisesImmutableId=stale))
    out.append(user("uma.old@contoso.com", display="Uma (old)", onPremisesImmutableId=stale))
    # Two users with one mailNickname (DUP013), two groups with one alias (DUP010).
    out.append(user("theo@contoso.com", display="Theo North", nickname="theo"))
    out.append(user("theo.b@contoso.com", display="Theo South", nickname="theo"))
    out.append(group("events-team", "Events Team", ["SMTP:events-team@contoso.com"]))
    out.append(group("events-team", "Events Crew", ["SMTP:events-crew@contoso.com"], id=oid("group:events-crew")))
    # Mira's AD account (not synced yet) and cloud-only Mira: soft match will join them (DUP011).
    out.append(user("mira@contoso.com", display="Mira Cloud"))
    mira_guid = oid("ad:mira@contoso.com")
    out.append(
        {
            "id": mira_guid, "kind": "user", "directory": "ad", "state": "active", "objectGUID": mira_guid,
            "objectSid": sid(914), "distinguishedName": "CN=Mira OnPrem,OU=Staff,DC=contoso,DC=com",
            "sAMAccountName": "mira", "userPrincipalName": "mira@contoso.com", "displayName": "Mira OnPrem",
            "mail": "mira@contoso.com", "proxyAddresses": ["SMTP:mira@contoso.com"],
        }
    )  # fmt: skip
    # Sven's Entra object was deleted while his AD account stayed; a stand-in took his address.
    sven = user("sven@contoso.com", display="Sven Synced")
    sven_twin = ad_twin(sven, 915)
    sven.update(state="soft-deleted", userPrincipalName=sven["id"].replace("-", "") + "sven@contoso.com")
    out += [sven, sven_twin]
    out.append(user("sven.temp@contoso.com", display="Sven Stand-in",
                    proxies=["SMTP:sven.temp@contoso.com", "smtp:sven@contoso.com"]))  # fmt: skip
    return out


def main() -> None:
    data = build()
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    (HERE / "tenant.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(data['objects'])} objects to {HERE / 'tenant.json'}")


if __name__ == "__main__":
    main()
