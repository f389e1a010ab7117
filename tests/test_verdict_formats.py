"""Issue 11's verdicts in every plan format that can express them, against the demo tenant read as
a snapshot and as a state cache (the LDAP and Graph sources have their own files: test_ldap_check,
test_graph_source). Each case is the same domain fact written the way each tool writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dupfix_policy import cli

ROOT = Path(__file__).resolve().parents[1]
TENANT = ROOT / "examples" / "tenant.json"

# One domain case per entry: {format file name: text}, and the codes the check must give.
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    # sven@contoso.com exists on-prem; AD refuses svén@ as the same UPN (KB 938447).
    "diacritic-upn": (
        {
            "plan.yaml": "version: 1\nchanges:\n  - op: create\n    kind: user\n    directory: ad\n    set:\n"
            "      userPrincipalName: svén@contoso.com\n      sAMAccountName: sven2\n"
            "      distinguishedName: CN=Sven Two,OU=Staff,DC=contoso,DC=com\n",
            "import.csv": "DN,objectClass,sAMAccountName,userPrincipalName\n"
            '"CN=Sven Two,OU=Staff,DC=contoso,DC=com",user,sven2,svén@contoso.com\n',
            "import.ldif": "dn: CN=Sven Two,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n"
            "sAMAccountName: sven2\nuserPrincipalName:: "
            + __import__("base64").b64encode("svén@contoso.com".encode()).decode()
            + "\n",
        },
        ["DUP001", "FMT004"],
    ),
    # sAMAccountName "SVEN" differs from the holder's "sven" only by case; "svén" only by a mark.
    "diacritic-sam": (
        {
            "import.csv": "DN,objectClass,sAMAccountName,userPrincipalName\n"
            '"CN=Sven Three,OU=Staff,DC=contoso,DC=com",user,svén,sven3@contoso.com\n',
            "import.ldif": "dn: CN=Sven Three,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n"
            "sAMAccountName:: " + __import__("base64").b64encode("svén".encode()).decode() + "\n"
            "userPrincipalName: sven3@contoso.com\n",
        },
        ["DUP014"],
    ),
    # CN=Sven Synced exists in OU=Staff: a second object of that name is refused by AD.
    "same-dn": (
        {
            "plan.yaml": "version: 1\nchanges:\n  - op: create\n    kind: user\n    directory: ad\n    set:\n"
            "      userPrincipalName: s4@contoso.com\n      distinguishedName: cn=SVEN SYNCED,ou=Staff,dc=contoso,dc=com\n",
            "import.csv": "DN,objectClass,userPrincipalName\n"
            '"cn=SVEN SYNCED,ou=Staff,dc=contoso,dc=com",user,s4@contoso.com\n',
            "import.ldif": "dn: cn=SVEN SYNCED,ou=Staff,dc=contoso,dc=com\nchangetype: add\nobjectClass: user\n"
            "userPrincipalName: s4@contoso.com\n",
        },
        ["DUP015"],
    ),
    # A contact routing to the Sales group's address.
    "target-address": (
        {
            "plan.yaml": "version: 1\nchanges:\n  - op: create\n    kind: contact\n    directory: ad\n    set:\n"
            "      displayName: Sales ext\n      targetAddress: SMTP:sales@contoso.com\n"
            "      distinguishedName: CN=Sales ext,OU=Contacts,DC=contoso,DC=com\n",
            "import.csv": "DN,objectClass,displayName,targetAddress\n"
            '"CN=Sales ext,OU=Contacts,DC=contoso,DC=com",contact,Sales ext,SMTP:sales@contoso.com\n',
            "import.ldif": "dn: CN=Sales ext,OU=Contacts,DC=contoso,DC=com\nchangetype: add\nobjectClass: contact\n"
            "displayName: Sales ext\ntargetAddress: SMTP:sales@contoso.com\n",
        },
        ["DUP002"],
    ),
    # An AD group with mail and the alias "sales" is mail-enabled without any mailEnabled flag.
    "mail-enabled-group": (
        {
            "plan.yaml": "version: 1\nchanges:\n  - op: create\n    kind: group\n    directory: ad\n    set:\n"
            "      displayName: Sales EMEA\n      mail: sales.emea@contoso.com\n      mailNickname: sales\n"
            "      distinguishedName: CN=Sales EMEA,OU=Groups,DC=contoso,DC=com\n",
            "import.csv": "DN,objectClass,displayName,mail,mailNickname\n"
            '"CN=Sales EMEA,OU=Groups,DC=contoso,DC=com",group,Sales EMEA,sales.emea@contoso.com,sales\n',
            "import.ldif": "dn: CN=Sales EMEA,OU=Groups,DC=contoso,DC=com\nchangetype: add\nobjectClass: group\n"
            "displayName: Sales EMEA\nmail: sales.emea@contoso.com\nmailNickname: sales\n",
        },
        ["DUP010"],
    ),
    # Two nonroutable UPNs with one prefix both sync as billa@contoso.onmicrosoft.com.
    "nonroutable-upn": (
        {
            "plan.yaml": "version: 1\nchanges:\n"
            "  - {op: create, kind: user, directory: ad, set: {userPrincipalName: billa@contoso.local,"
            " distinguishedName: 'CN=Billa,OU=Staff,DC=contoso,DC=com'}}\n"
            "  - {op: create, kind: user, directory: ad, set: {userPrincipalName: billa@fabrikam.local,"
            " distinguishedName: 'CN=Billa F,OU=Staff,DC=contoso,DC=com'}}\n",
            "import.csv": "DN,objectClass,userPrincipalName\n"
            '"CN=Billa,OU=Staff,DC=contoso,DC=com",user,billa@contoso.local\n'
            '"CN=Billa F,OU=Staff,DC=contoso,DC=com",user,billa@fabrikam.local\n',
            "import.ldif": "dn: CN=Billa,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n"
            "userPrincipalName: billa@contoso.local\n\n"
            "dn: CN=Billa F,OU=Staff,DC=contoso,DC=com\nchangetype: add\nobjectClass: user\n"
            "userPrincipalName: billa@fabrikam.local\n",
        },
        ["DUP005", "DUP005", "FMT008", "FMT008"],
    ),
}

PARAMS = [(case, name) for case, (files, _) in CASES.items() for name in files]


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache") / "state.db"
    assert cli.main(["sync", "--source", f"snapshot:{TENANT}", "--cache", str(path), "--quiet"]) == 0
    return path


def verdict(plan: Path, source: str, capsys) -> list[str]:
    cli.main(["check", str(plan), "--source", source, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return sorted(f["code"] for f in report["findings"] if f["severity"] != "note")


@pytest.mark.parametrize(("case", "name"), PARAMS, ids=[f"{c}-{n}" for c, n in PARAMS])
@pytest.mark.parametrize("via", ["snapshot", "cache"])
def test_each_format_gets_the_same_verdict_from_snapshot_and_cache(case, name, via, tmp_path, cache_file, capsys):
    files, expected = CASES[case]
    plan = tmp_path / name
    plan.write_text(files[name], encoding="utf-8")
    source = f"snapshot:{TENANT}" if via == "snapshot" else f"cache:{cache_file}"
    assert verdict(plan, source, capsys) == expected


def test_terraform_hard_match_by_onpremises_immutable_id_is_clean(tmp_path, capsys):
    # Lou exists on-prem with no Entra twin; azuread_user with his anchor is the documented hard match.
    lou = next(
        o for o in json.loads(TENANT.read_text())["objects"] if o.get("userPrincipalName") == "lou@contoso.com"
    )
    import base64
    import uuid

    anchor = base64.b64encode(uuid.UUID(lou["objectGUID"]).bytes_le).decode()
    after = {"user_principal_name": "lou@contoso.com", "display_name": "Lou", "mail": "lou@contoso.com",
             "onpremises_immutable_id": anchor}  # fmt: skip
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {"address": "azuread_user.lou", "mode": "managed", "type": "azuread_user", "name": "lou",
             "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": {}}}
        ],
    }  # fmt: skip
    path = tmp_path / "tfplan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    assert verdict(path, f"snapshot:{TENANT}", capsys) == []
