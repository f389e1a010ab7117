"""Time each plan loader on a large generated file: Entra bulk CSV, csvde CSV, LDIF, Terraform plan JSON.

    python benchmarks/bench_plan_formats.py [--rows 10000] [--repeat 3]

Writes the files into benchmarks/data/ (git-ignored), then loads each with its plan format and
prints the best of `--repeat` runs: seconds, changes per second and the file size. A loader's cost
should follow the file (linear in rows), and stay small next to the state look-ups: a 10,000-row
import is a large one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from dupfix_policy.plans import entra_csv, ldif, onprem_csv, terraform  # noqa: E402

DATA = os.path.join(HERE, "data", "plan-formats")
ENTRA_HEADER = (
    "Name [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,"
    "Block sign in (Yes/No) [accountEnabled] Required,First name [givenName],Last name [surname],"
    "Department [department]"
)


def write_entra(path: str, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"version:v1.0,,,,,,\n{ENTRA_HEADER}\n")
        for i in range(rows):
            fh.write(f'"User {i}, Bench",user{i}@contoso.com,Pw-{i}!,No,User,{i},Dept {i % 40}\n')


def write_csvde(path: str, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("DN,objectClass,sAMAccountName,userPrincipalName,mail,proxyAddresses\n")
        for i in range(rows):
            fh.write(f'"CN=User {i},OU=Staff,DC=contoso,DC=com",user,user{i},user{i}@contoso.com,'
                     f"user{i}@contoso.com,SMTP:user{i}@contoso.com;smtp:u{i}@contoso.com\n")


def write_ldif(path: str, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("version: 1\n\n")
        for i in range(rows):
            if i % 2:
                fh.write(f"dn: CN=User {i},OU=Staff,DC=contoso,DC=com\nchangetype: modify\n"
                         f"add: proxyAddresses\nproxyAddresses: smtp:alias{i}@contoso.com\n-\n"
                         f"replace: mail\nmail: user{i}@contoso.com\n-\n\n")
            else:
                fh.write(f"# new starter {i}\ndn: CN=User {i},OU=Staff,DC=contoso,DC=com\nchangetype: add\n"
                         f"objectClass: user\nsAMAccountName: user{i}\nuserPrincipalName: user{i}@contoso.com\n"
                         f"proxyAddresses: SMTP:user{i}@contoso.com\ndescription: a long description that\n"
                         f"  is folded onto a second line\n\n")


def write_terraform(path: str, rows: int) -> None:
    changes = []
    for i in range(rows):
        after = {"user_principal_name": f"user{i}@contoso.com", "display_name": f"User {i}", "password": "x",
                 "account_enabled": True, "other_mails": None}
        changes.append({
            "address": f'module.staff.azuread_user.this["user{i}"]', "module_address": "module.staff",
            "mode": "managed", "type": "azuread_user", "name": "this", "index": f"user{i}",
            "provider_name": "registry.terraform.io/hashicorp/azuread",
            "change": {"actions": ["create"], "before": None, "after": after,
                       "after_unknown": {"mail": True, "mail_nickname": True, "proxy_addresses": True},
                       "before_sensitive": False, "after_sensitive": {"password": True}},
        })
    config = {"root_module": {"module_calls": {"staff": {"source": "./modules/staff"}}}}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"format_version": "1.2", "terraform_version": "1.9.8", "planned_values": {},
                   "resource_changes": changes, "configuration": config}, fh)  # one line, as `show -json` prints


def write_terraform_with_tf(path: str, rows: int) -> None:
    """The same plan beside its .tf files: findings point at the block, the plan needs no positions."""
    write_terraform(path, rows)
    module = os.path.join(os.path.dirname(path), "modules", "staff")
    os.makedirs(module, exist_ok=True)
    with open(os.path.join(module, "main.tf"), "w", encoding="utf-8") as fh:
        fh.write('resource "azuread_user" "this" {\n  for_each            = var.people\n'
                 '  user_principal_name = "${each.key}@contoso.com"\n}\n')


CASES = (
    ("entra-csv", "entra.csv", write_entra, entra_csv),
    ("csv (csvde)", "csvde.csv", write_csvde, onprem_csv),
    ("ldif", "changes.ldf", write_ldif, ldif),
    ("terraform", "plan.json", write_terraform, terraform),
    ("terraform+.tf", os.path.join("tf", "plan.json"), write_terraform_with_tf, terraform),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(DATA, exist_ok=True)
    print(f"{'format':<14} {'rows':>7} {'MB':>6} {'best s':>8} {'changes/s':>10}")
    for name, filename, writer, loader in CASES:
        path = os.path.join(DATA, str(args.rows), filename)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            writer(path, args.rows)
        best = float("inf")
        changes = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            plan = loader.load(path, {})
            best = min(best, time.perf_counter() - start)
            changes = len(plan.changes)
        size = os.path.getsize(path) / 1e6
        print(f"{name:<14} {args.rows:>7} {size:>6.1f} {best:>8.3f} {changes / best:>10.0f}")


if __name__ == "__main__":
    main()
