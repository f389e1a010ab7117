"""The LDAP source against a Samba AD DC holding 10k objects: a 1,000-change check and a full snapshot.

    python benchmarks/bench_ldap.py [--objects 10000] [--changes 1000] [--repeat 1] [--keep]

Needs root the first time (Samba). Uses the DCs named by DUPFIX_TEST_LDAP_* (as
`scripts/samba-ad-dc.sh start` exports them in $DUPFIX_SAMBA_DIR/env); without them it starts a
pair itself in a temporary directory and stops it at the end. The objects go into
`OU=bench-<N>` (users, groups and contacts with UPNs and proxy addresses), built once: a later
run finds the OU complete and reuses it (`--keep` leaves it in place; building 10k objects takes
about 40 s at Samba's ~250 adds/s).

Measures:
- point look-up mode: `engine.check` of a 1,000-change plan (creates that collide with existing
  UPNs and addresses, creates that don't, updates of existing users by DN, new groups) against
  `ldap://HOST:389/OU=bench-N,…`: LDAP searches sent (each page counts; the rootDSE and schema
  reads included) and wall time. Goal: at most 20 searches.
- the whole `dupfix check` process for the same plan (wall time, including Python start-up);
- full snapshot: `LdapSource.scan()` over the OU (objects/s), and the `dupfix snapshot` process.
"""

from __future__ import annotations

import argparse
import atexit
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)

from dupfix_policy.engine import check  # noqa: E402
from dupfix_policy.plans.native import load as load_plan  # noqa: E402
from dupfix_policy.plugins import load_registry  # noqa: E402
from dupfix_policy.policy import load_policy  # noqa: E402
from dupfix_policy.sources.ldap.source import create  # noqa: E402

TREE_DELETE = ("1.2.840.113556.1.4.805", True, None)


def samba_env() -> dict[str, str]:
    """The test DCs' connection details, starting a pair when none is named."""
    if os.environ.get("DUPFIX_TEST_LDAP_URL"):
        return dict(os.environ)
    directory = tempfile.mkdtemp(prefix="dupfix-samba-bench.", dir="/tmp")
    env = {**os.environ, "DUPFIX_SAMBA_DIR": directory}
    script = os.path.join(ROOT, "scripts", "samba-ad-dc.sh")
    subprocess.run(["bash", script, "start"], check=True, env=env)
    atexit.register(subprocess.run, ["bash", script, "stop"], env=env)
    with open(os.path.join(directory, "env"), encoding="utf-8") as fh:
        for line in fh:
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value.strip("'")
    return env


def build_ou(env: dict[str, str], objects: int) -> str:
    """OU=bench-N with `objects` users (60%), contacts (30%) and groups (10%); reused when complete."""
    from ldap3 import Connection, Server

    host = env["DUPFIX_TEST_LDAP_URL"].split("//", 1)[1].split(":", 1)[0]
    base = env["DUPFIX_TEST_LDAP_BASE"]
    ou = f"OU=bench-{objects},{base}"
    conn = Connection(Server(host, port=389), env["DUPFIX_TEST_LDAP_USER"], env["DUPFIX_TEST_LDAP_PASSWORD"],
                      auto_bind=True)  # fmt: skip
    found = conn.extend.standard.paged_search(ou, "(|(objectClass=user)(objectClass=contact)(objectClass=group))",
                                              attributes=["cn"], paged_size=1000, generator=False)  # fmt: skip
    if conn.result["result"] == 0 and len([e for e in found if e["type"] == "searchResEntry"]) == objects:
        print(f"reusing {ou} ({objects} objects)", file=sys.stderr)
        return f"ldap://{host}:389/{ou}"
    conn.delete(ou, controls=[TREE_DELETE])
    conn.add(ou, "organizationalUnit")
    started = time.perf_counter()
    users, contacts = objects * 6 // 10, objects * 3 // 10
    for i in range(objects):
        if i < users:
            conn.add(f"CN=user{i:05d},{ou}", "user", {
                "sAMAccountName": f"bu{i:05d}", "userPrincipalName": f"user{i:05d}@bench.test",
                "mail": f"user{i:05d}@bench.test",
                "proxyAddresses": [f"SMTP:user{i:05d}@bench.test", f"smtp:u{i:05d}@bench-legacy.test"]})  # fmt: skip
        elif i < users + contacts:
            conn.add(f"CN=contact{i:05d},{ou}", "contact", {
                "mail": f"contact{i:05d}@partner.test", "proxyAddresses": [f"SMTP:contact{i:05d}@partner.test"]})  # fmt: skip
        else:
            conn.add(f"CN=group{i:05d},{ou}", "group", {
                "sAMAccountName": f"bg{i:05d}", "mail": f"group{i:05d}@bench.test",
                "proxyAddresses": [f"SMTP:group{i:05d}@bench.test"]})  # fmt: skip
        if conn.result["result"] != 0:
            raise SystemExit(f"seeding failed at object {i}: {conn.result}")
    print(f"built {ou}: {objects} objects in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    conn.unbind()
    return f"ldap://{host}:389/{ou}"


def write_plan(path: str, changes: int, objects: int, ou_dn: str) -> None:
    """A 1,000-change plan: 40% creates colliding with existing values, 30% fresh creates, 20%
    updates of existing users by DN, 10% new mail-enabled groups."""
    users = objects * 6 // 10
    lines = ["version: 1", "changes:"]
    for n in range(changes):
        kind = n % 10
        if kind < 4:  # collides: an existing user's UPN, or a contact's address
            i = (n * 7) % users
            lines += ["  - op: create", "    kind: user", "    set:",
                      f"      userPrincipalName: user{i:05d}@bench.test",
                      f"      proxyAddresses: ['SMTP:new{n:05d}@bench.test', 'smtp:contact{users + n % 100:05d}@partner.test']"]  # fmt: skip
        elif kind < 7:
            lines += ["  - op: create", "    kind: user", "    set:",
                      f"      userPrincipalName: hire{n:05d}@bench.test",
                      f"      proxyAddresses: ['SMTP:hire{n:05d}@bench.test']"]  # fmt: skip
        elif kind < 9:
            i = (n * 13) % users
            lines += ["  - op: update", "    kind: user", "    directory: ad",
                      f"    target: {{distinguishedName: 'CN=user{i:05d},{ou_dn}'}}",
                      f"    add: {{proxyAddresses: ['smtp:extra{n:05d}@bench.test']}}"]  # fmt: skip
        else:
            lines += ["  - op: create", "    kind: group", "    set:", f"      displayName: Team {n}",
                      f"      proxyAddresses: ['SMTP:team{n:05d}@bench.test']"]  # fmt: skip
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="leave the OU in place for the next run")
    args = ap.parse_args(argv)

    env = samba_env()
    spec = build_ou(env, args.objects)
    ou_dn = spec.split("/", 3)[3]
    os.environ["DUPFIX_LDAP_USER"] = env["DUPFIX_TEST_LDAP_USER"]
    os.environ["DUPFIX_LDAP_PASSWORD"] = env["DUPFIX_TEST_LDAP_PASSWORD"]
    workdir = tempfile.mkdtemp(prefix="dupfix-bench-ldap.")
    plan_path = os.path.join(workdir, "plan.yaml")
    write_plan(plan_path, args.changes, args.objects, ou_dn)

    registry = load_registry()
    policy = load_policy("default")
    plan = load_plan(plan_path, {})
    best: dict[str, float] = {}
    searches = findings = 0
    for _ in range(args.repeat):
        src = create(spec, {})
        started = time.perf_counter()
        report = check([plan], [src], registry.rules, policy)
        elapsed = time.perf_counter() - started
        searches, findings = src.searches, len(report.findings)
        src.close()
        best["check"] = min(best.get("check", elapsed), elapsed)

        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "dupfix_policy", "check", plan_path, "--source", spec,
                               "--format", "json=/dev/null", "--fail-on", "never"], capture_output=True, text=True)  # fmt: skip
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"dupfix check failed ({proc.returncode}): {proc.stderr[-2000:]}")
        best["cli"] = min(best.get("cli", elapsed), elapsed)

        src = create(spec, {})
        started = time.perf_counter()
        scanned = sum(1 for _ in src.scan())
        elapsed = time.perf_counter() - started
        scan_searches = src.searches
        src.close()
        best["scan"] = min(best.get("scan", elapsed), elapsed)

        out = os.path.join(workdir, "ad.jsonl")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dupfix_policy", "snapshot", "--source", spec, "--output", out],
                       check=True, capture_output=True)  # fmt: skip
        best["snapshot"] = min(best.get("snapshot", time.perf_counter() - started), time.perf_counter() - started)

    print(f"objects in AD           {args.objects}")
    print(f"plan changes            {args.changes} ({findings} findings)")
    print(f"check: LDAP searches    {searches} (goal <= 20)")
    print(f"check: engine wall      {best['check']:.2f} s")
    print(f"check: CLI process wall {best['cli']:.2f} s")
    print(f"scan: objects           {scanned} in {scan_searches} searches")
    print(f"scan: wall              {best['scan']:.2f} s ({scanned / best['scan']:.0f} objects/s)")
    print(f"snapshot: CLI process   {best['snapshot']:.2f} s")
    if not args.keep:
        from ldap3 import Connection, Server

        host = spec.split("//", 1)[1].split(":", 1)[0]
        conn = Connection(Server(host, port=389), env["DUPFIX_TEST_LDAP_USER"], env["DUPFIX_TEST_LDAP_PASSWORD"],
                          auto_bind=True)  # fmt: skip
        conn.delete(ou_dn, controls=[TREE_DELETE])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
