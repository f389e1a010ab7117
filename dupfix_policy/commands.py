"""What each CLI command does, over the core: find plans, open sources, run the engine, report.

Like yamllint's cli.py / linter.py split: `cli.py` parses and maps exceptions to exit codes; this
module wires plugins, config and policy to `engine.check` and writes reports.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import IO, Any

from .errors import EXIT_OK, EXIT_VIOLATIONS, UserInputError
from .interfaces import PlanFormat, StateSource
from .model import Location, Plan, Report
from .plugins import Registry, load_registry

HEAD_BYTES = 4096
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".terraform", ".dupfix"}
SKIP_FILES = {".dupfix.yaml", ".dupfix.yml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml"}
FAIL_RANK = {"error": 0, "warning": 1, "note": 2}


def dispatch(args: argparse.Namespace) -> int:
    registry = load_registry()
    handler = {
        "check": cmd_check,
        "snapshot": cmd_snapshot,
        "whois": cmd_whois,
        "rules": cmd_rules,
        "schema": cmd_schema,
    }[args.command]
    return handler(args, registry)


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    sources: tuple[str, ...]
    source_origin: str  # where the sources came from, for messages
    policy: str | None
    fail_on: str
    formats: tuple[str, ...]
    graph_url: str | None
    base_dir: str


def resolve(args: argparse.Namespace) -> Settings:
    """Flags over environment over `.dupfix.yaml` (DESIGN.md "CLI")."""
    from .config import resolve_settings

    flags = {
        "config": getattr(args, "config", None),
        "sources": getattr(args, "source", None),
        "policy": getattr(args, "policy", None),
        "fail_on": getattr(args, "fail_on", None),
        "formats": getattr(args, "format", None) if isinstance(getattr(args, "format", None), list) else None,
        "graph_url": getattr(args, "graph_url", None),
    }
    s = resolve_settings(flags, os.environ, os.getcwd())
    return Settings(
        sources=tuple(s.sources or ()),
        source_origin=s.origin_of("sources") if hasattr(s, "origin_of") else "",
        policy=s.policy,
        fail_on=s.fail_on or "error",
        formats=tuple(s.formats or ()),
        graph_url=s.graph_url,
        base_dir=s.base_dir if getattr(s, "base_dir", None) else os.getcwd(),
    )


# --- sources --------------------------------------------------------------------------------


def scheme_of(spec: str) -> str:
    lowered = spec.lower()
    if lowered.startswith(("ldap://", "ldaps://")):
        return "ldap"
    head, sep, _ = spec.partition(":")
    return head.lower() if sep else lowered


def open_sources(specs: Sequence[str], registry: Registry, settings: Settings) -> list[StateSource]:
    if not specs:
        raise UserInputError(
            "no state source given",
            hint="pass --source (e.g. --source snapshot:tenant.json, --source graph, or --source none for "
            "plan-only rules) or list `sources:` in .dupfix.yaml",
        )
    options: dict[str, Any] = {"graph_url": settings.graph_url, "base_dir": settings.base_dir}
    sources: list[StateSource] = []
    for spec in specs:
        scheme = scheme_of(spec)
        factory = registry.sources.get(scheme)
        if factory is None:
            known = ", ".join(sorted(registry.sources))
            raise UserInputError(
                f"source {spec!r}: no installed source handles {scheme!r}",
                field="--source",
                hint=f"installed sources: {known}",
            )
        sources.append(factory.create(spec, options))
    return sources


@contextlib.contextmanager
def opened(specs: Sequence[str], registry: Registry, settings: Settings) -> Iterator[list[StateSource]]:
    sources = open_sources(specs, registry, settings)
    try:
        yield sources
    finally:
        for s in sources:
            with contextlib.suppress(Exception):
                s.close()


# --- plans ----------------------------------------------------------------------------------


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise UserInputError(f"cannot read {path}: {exc.strerror}", location=Location(path)) from exc


def _detect(path: str, registry: Registry) -> PlanFormat | None:
    head = _head(path)
    for fmt in registry.plan_formats.values():
        if fmt.detect(path, head):
            return fmt
    return None


def _walk(directory: str) -> Iterator[str]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name not in SKIP_FILES:
                yield os.path.join(root, name)


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def collect_plans(
    paths: Sequence[str], registry: Registry, plan_format: str | None, hook: bool
) -> tuple[list[Plan], list[str]]:
    if not paths:
        raise UserInputError("no plan files given", hint="name plan files or directories: dupfix check plans/")
    forced = None
    if plan_format:
        forced = registry.plan_formats.get(plan_format)
        if forced is None:
            raise UserInputError(
                f"unknown plan format {plan_format!r}",
                field="--plan-format",
                hint=f"installed formats: {', '.join(sorted(registry.plan_formats))}",
            )
    plans: list[Plan] = []
    notes: list[str] = []
    for raw in paths:
        path = _display(raw)
        if os.path.isdir(path):
            found = 0
            for file in _walk(path):
                file = _display(file)
                fmt = _detect(file, registry)
                if fmt is None:
                    notes.append(f"skipped {file}: no plan format recognises it")
                    continue
                plans.append(fmt.load(file, {}))
                found += 1
            if not found and not hook:
                raise UserInputError(
                    f"no plan files found in {path}",
                    location=Location(path),
                    hint=f"plan formats: {', '.join(sorted(registry.plan_formats))}",
                )
            continue
        if not os.path.exists(path):
            if hook:
                notes.append(f"skipped {path}: it no longer exists")
                continue
            raise UserInputError("no such file or directory", location=Location(path), hint="check the path")
        fmt = forced or _detect(path, registry)
        if fmt is None:
            if hook:
                notes.append(f"skipped {path}: no plan format recognises it")
                continue
            raise UserInputError(
                "no plan format recognises this file",
                location=Location(path),
                hint=f"use --plan-format NAME to force one ({', '.join(sorted(registry.plan_formats))})",
            )
        plans.append(fmt.load(path, {}))
    return plans, notes


# --- reports --------------------------------------------------------------------------------


def _outputs(formats: Sequence[str], registry: Registry) -> list[tuple[str, str | None]]:
    chosen = list(formats) or ["auto"]
    out: list[tuple[str, str | None]] = []
    to_stdout = 0
    for item in chosen:
        name, sep, path = item.partition("=")
        name = name.strip()
        if name == "auto":
            name = "github" if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in registry.reporters else "text"
        if name not in registry.reporters:
            raise UserInputError(
                f"unknown report format {name!r}",
                field="--format",
                hint=f"installed formats: {', '.join(sorted(registry.reporters))}, auto",
            )
        if not sep:
            to_stdout += 1
        elif not path:
            raise UserInputError(f"--format {item}: give a path after '='", field="--format")
        out.append((name, path or None))
    if to_stdout > 1:
        raise UserInputError("only one --format may write to standard output; give the others =PATH", field="--format")
    return out


def write_reports(report: Report, outputs: Sequence[tuple[str, str | None]], registry: Registry) -> None:
    for name, path in outputs:
        reporter = registry.reporters[name]
        if path is None:
            reporter.render(report, sys.stdout)
            sys.stdout.flush()
            continue
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                reporter.render(report, fh)
        except OSError as exc:
            raise UserInputError(f"cannot write the {name} report: {exc.strerror}", location=Location(path)) from exc


def exit_code(report: Report, fail_on: str) -> int:
    if fail_on == "never":
        return EXIT_OK
    limit = FAIL_RANK[fail_on]
    for r in report.findings:
        if r.suppressed is None and r.severity in FAIL_RANK and FAIL_RANK[r.severity] <= limit:
            return EXIT_VIOLATIONS
    return EXIT_OK


# --- commands -------------------------------------------------------------------------------


def _today() -> dt.date:
    """Overridable so exemption expiry is testable without freezing the clock."""
    value = os.environ.get("DUPFIX_TODAY")
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise UserInputError(f"DUPFIX_TODAY={value!r} is not a date (YYYY-MM-DD)") from exc
    return dt.date.today()


def cmd_check(args: argparse.Namespace, registry: Registry) -> int:
    from .engine import check
    from .policy import load_policy

    settings = resolve(args)
    outputs = _outputs(settings.formats, registry)
    plans, notes = collect_plans(args.paths, registry, args.plan_format, args.hook)
    policy = load_policy(settings.policy, base_dir=settings.base_dir)
    _check_policy_rules(policy, registry)
    if not plans:
        # pre-commit passed only files no loader reads: nothing to judge, and nothing wrong.
        for n in notes:
            print(f"dupfix: note: {n}", file=sys.stderr)
        return EXIT_OK
    with opened(settings.sources, registry, settings) as sources:
        report = check(plans, sources, registry.rules, policy, today=_today())
    if notes:
        report = Report(
            report.tool_version, report.sources, report.policy, report.changes, report.findings,
            tuple(notes) + report.notes,
        )
    write_reports(report, outputs, registry)
    return exit_code(report, settings.fail_on)


def _check_policy_rules(policy: object, registry: Registry) -> None:
    unknown = getattr(policy, "unknown_rules", None)
    if unknown is None:
        return
    known = {r.info.code for r in registry.rules.values()} | {r.info.id for r in registry.rules.values()}
    for name, location in unknown(known):
        import difflib

        close = difflib.get_close_matches(name, sorted(known), n=1)
        raise UserInputError(
            f"unknown rule {name!r}",
            location=location,
            hint=f"did you mean {close[0]}?" if close else "`dupfix rules` lists every rule",
        )


def cmd_snapshot(args: argparse.Namespace, registry: Registry) -> int:
    from .sources.snapshot_writer import write_snapshot

    settings = resolve(args)
    with opened(settings.sources, registry, settings) as sources:
        objects = [o for s in sources for o in s.scan()]
        tenant = next((s.tenant for s in sources if s.tenant is not None), None)
        stamps = sorted(s.info.as_of for s in sources if s.info.as_of)
        directories = sorted({d for s in sources for d in s.directories})
        write_snapshot(args.output, objects, tenant, stamps[0] if stamps else None, directories)
    print(f"dupfix: wrote {len(objects)} objects to {args.output}", file=sys.stderr)
    return EXIT_OK


def whois_keys(value: str) -> list[str]:
    """Every key a bare value could be held under: as a UPN, an address of any kind, or an alias."""
    from .addresses import alias_key, proxy_key, smtp_key, split_proxy, target_address_key, upn_key

    text = value.strip()
    if split_proxy(text) is not None and "@" not in text.partition(":")[0]:
        keys = [proxy_key(text) or "", target_address_key(text)]
        kind, address = split_proxy(text) or ("", "")
        if kind == "smtp":
            keys.append(upn_key(address))
        return [k for k in keys if k]
    if "@" in text:
        return [upn_key(text), smtp_key(text), target_address_key(text)]
    return [alias_key(text)]


def cmd_whois(args: argparse.Namespace, registry: Registry) -> int:
    from .addresses import claims_of
    from .index import ClaimIndex, link_twins

    settings = resolve(args)
    keys = whois_keys(args.value)
    with opened(settings.sources, registry, settings) as sources:
        found = {}
        for s in sources:
            for o in s.lookup(keys, []):
                found.setdefault(o.ref, o)
        # widen to twins, so a synced user shows as one identity in both directories
        from .addresses import link_keys_of

        links = sorted({k for o in found.values() for k in link_keys_of(o)})
        if links:
            for s in sources:
                for o in s.lookup(links, []):
                    found.setdefault(o.ref, o)
    index = ClaimIndex(found, link_twins(found.values()))
    rows = []
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
        print(f"{args.value}: held by nobody in {', '.join(s for s in settings.sources)}")
        return EXIT_OK
    print(f"{args.value}: held by {len(rows)} identit{'y' if len(rows) == 1 else 'ies'}")
    for row in rows:
        state = " (soft-deleted)" if row["state"] == "soft-deleted" else ""
        print(f"  {row['kind']} {row['name']}{state}")
        for h in row["holds"]:
            via = " [quarantined]" if h["via"] == "quarantine" else ""
            where = "Entra ID" if h["directory"] == "entra" else "on-prem AD"
            print(f"    {where}: {h['attribute']} {h['value']}{via}")
    return EXIT_OK


def cmd_rules(args: argparse.Namespace, registry: Registry) -> int:
    infos = [r.info for r in registry.rules.values()]
    if args.format == "json":
        data = [
            {
                "code": i.code,
                "id": i.id,
                "severity": i.default_severity,
                "summary": i.summary,
                "description": i.description,
                "fix": i.fix,
            }
            for i in infos
        ]
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    out: IO[str] = sys.stdout
    for i in infos:
        out.write(f"{i.code}  {i.id}  [{i.default_severity}]\n    {i.summary}\n")
        if i.description:
            out.write(f"    {i.description}\n")
        out.write(f"    fix: {i.fix}\n\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, registry: Registry) -> int:
    text = resources.files("dupfix_policy.schemas").joinpath(f"{args.name}.schema.json").read_text("utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK
