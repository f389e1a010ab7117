"""What each CLI command does, over the core: find plans, open sources, run the engine, report.

Like yamllint's cli.py / linter.py split: `cli.py` parses and maps exceptions to exit codes; this
module wires plugins, config and policy to `engine.check` and writes reports.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATIONS, UserInputError
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
        "doctor": cmd_doctor,
        "audit": cmd_audit,
        "sync": cmd_sync,
    }[args.command]
    return handler(args, registry)


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    sources: tuple[str, ...]
    policy: str | None
    fail_on: str
    formats: tuple[str, ...]
    graph_url: str | None
    base_dir: str
    timeout: float | None = None  # --timeout: live sources' total time budget, in seconds
    quiet: bool = False  # --quiet: no progress display
    debug: bool = False  # --debug: live sources log their requests (secrets redacted)
    plan_options: dict[str, Any] | None = None  # what plan loaders read: column mappings, csv, --tf-root
    cache: str | None = None  # sync --cache / config `cache`: the state cache file
    max_age: float | None = None  # --max-age: oldest cache:PATH state accepted, in seconds
    refresh: bool = False  # --refresh: sync cache:PATH sources first
    sync: dict[str, Any] | None = None  # `.dupfix.yaml` sync: the tenant's Entra Connect set-up


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
        "cache": getattr(args, "cache", None),
    }
    s = resolve_settings(flags, os.environ, os.getcwd())
    return Settings(
        sources=tuple(s.sources or ()),
        policy=s.policy,
        fail_on=s.fail_on or "error",
        formats=tuple(s.formats or ()),
        graph_url=s.graph_url,
        base_dir=s.base_dir if getattr(s, "base_dir", None) else os.getcwd(),
        timeout=getattr(args, "timeout", None),
        quiet=bool(getattr(args, "quiet", False)),
        debug=bool(getattr(args, "debug", False)),
        plan_options={
            "column_mappings": dict(getattr(s, "column_mappings", None) or {}),
            "csv": dict(getattr(s, "csv", None) or {}),
            "tf_root": getattr(args, "tf_root", None),
        },
        cache=getattr(s, "cache", None),
        max_age=getattr(args, "max_age", None),
        refresh=bool(getattr(args, "refresh", False)),
        sync=dict(getattr(s, "sync", None) or {}),
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
    options: dict[str, Any] = {"graph_url": settings.graph_url, "base_dir": settings.base_dir,
                               "timeout": settings.timeout, "quiet": settings.quiet, "debug": settings.debug,
                               "max_age": settings.max_age, "refresh": settings.refresh}
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
    paths: Sequence[str], registry: Registry, plan_format: str | None, hook: bool,
    options: dict[str, Any] | None = None,
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
    seen: set[str] = set()
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
                found += 1
                if _first_time(file, seen):
                    plans.append(fmt.load(file, options or {}))
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
        if _first_time(path, seen):
            plans.append(fmt.load(path, options or {}))
    return plans, notes


def _first_time(path: str, seen: set[str]) -> bool:
    """A file named twice (directly and inside a named directory) is one plan, not its own duplicate."""
    real = os.path.realpath(path)
    if real in seen:
        return False
    seen.add(real)
    return True


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
    plans, notes = collect_plans(args.paths, registry, args.plan_format, args.hook, settings.plan_options)
    policy = load_policy(settings.policy, base_dir=settings.base_dir).with_sync(settings.sync)
    _check_policy_rules(policy, registry)
    baseline = _load_baseline(args)
    if not plans:
        # pre-commit passed only files no loader reads: nothing to judge, and nothing wrong.
        for n in notes:
            print(f"dupfix: note: {n}", file=sys.stderr)
        return EXIT_OK
    with opened(settings.sources, registry, settings) as sources:
        report = check(plans, sources, registry.rules, policy, today=_today())
    if notes:
        report = dataclasses.replace(report, notes=tuple(notes) + report.notes)
    report = _apply_baselines(report, baseline, getattr(args, "create_baseline", None))
    write_reports(report, outputs, registry)
    unjudged = strict_inputs_failure(plans, bool(getattr(args, "strict_inputs", False)), policy)
    if unjudged:
        print(f"dupfix: error: {unjudged}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return exit_code(report, settings.fail_on)


def strict_inputs_failure(plans: Sequence[Plan], flag: bool, policy: object) -> str | None:
    """With `--strict-inputs` or a policy's `inputs: {strict: true}`, what the plans left unjudged
    fails the run (exit 2): a CI gate that must not pass a change it never looked at."""
    if not (flag or getattr(policy, "strict_inputs", False)):
        return None
    unjudged = [item for plan in plans for item in plan.unchecked]
    if not unjudged:
        return None
    why = "--strict-inputs" if flag else f"policy {getattr(policy, 'name', '')} sets inputs.strict"
    more = f" (and {len(unjudged) - 1} more; see the report's notes)" if len(unjudged) > 1 else ""
    return (
        f"{len(unjudged)} value(s) in the plans could not be judged, and {why}: {unjudged[0]}{more}. "
        "Make the values known at plan time, or drop --strict-inputs to accept the notes"
    )


def _load_baseline(args: argparse.Namespace) -> object | None:
    """Read `--baseline` before any source is opened, so a bad file fails fast (exit 2)."""
    if not getattr(args, "baseline", None):
        return None
    from .baseline import load_baseline

    return load_baseline(args.baseline)


def _apply_baselines(report: Report, baseline: object | None, create: str | None) -> Report:
    from .baseline import apply_baseline, write_baseline

    if baseline is not None:
        report = apply_baseline(report, baseline)  # type: ignore[arg-type]
    if create:
        report, count = write_baseline(create, report)
        print(f"dupfix: wrote {count} finding(s) to baseline {create}", file=sys.stderr)
    return report


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
    from .sources.snapshot_writer import object_line, write_snapshot_rows

    settings = resolve(args)
    with opened(settings.sources, registry, settings) as sources:
        rows = [row for s in sources for row in _snapshot_rows(s, object_line)]
        tenant = next((s.tenant for s in sources if s.tenant is not None), None)
        stamps = sorted(s.info.as_of for s in sources if s.info.as_of)
        directories = sorted({d for s in sources for d in s.directories})
        count = write_snapshot_rows(args.output, rows, tenant, stamps[0] if stamps else None, directories)
        for source in sources:  # what a source could not read (interfaces.ReportsNotes)
            report_notes = getattr(source, "report_notes", None)
            for note in report_notes(frozenset(directories)) if callable(report_notes) else ():
                print(f"dupfix: note: {note}", file=sys.stderr)
    print(f"dupfix: wrote {count} objects to {args.output}", file=sys.stderr)
    return EXIT_OK


def _snapshot_rows(source: Any, object_line: Any) -> list[tuple[str, str, str, str]]:
    """A source's objects as snapshot rows: rendered by the source while it reads, when it can
    (`snapshot_rows`, the Graph source: issue 16), else here from `scan()`."""
    rows = getattr(source, "snapshot_rows", None)
    if callable(rows):
        return list(rows())
    return [(o.directory, o.kind, o.id, object_line(o)) for o in source.scan()]


def whois_keys(value: str) -> list[str]:
    """Every key a bare value could be held under, in each directory's own comparison
    (docs/semantics.md "How values compare"): as an Entra UPN, an address of any kind, an alias,
    and on-prem as a UPN or sAMAccountName compared the way AD compares them."""
    from .addresses import ad_upn_key, alias_key, proxy_key, smtp_key, split_proxy, upn_key

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
    from .ruledoc import render

    render((r.info for r in registry.rules.values()), args.format, sys.stdout)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, registry: Registry) -> int:
    text = resources.files("dupfix_policy.schemas").joinpath(f"{args.name}.schema.json").read_text("utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, registry: Registry) -> int:
    """One line per check of each source's set-up; exit 3 if a check run would fail."""
    from .errors import EXIT_STATE_UNAVAILABLE, DupfixError
    from .interfaces import DoctorLine

    settings = resolve(args)
    failed = False
    with opened(settings.sources, registry, settings) as sources:
        for source in sources:
            diagnose = getattr(source, "diagnose", None)
            try:
                lines = diagnose() if callable(diagnose) else [DoctorLine("checks", "info", "no checks")]
            except DupfixError as exc:
                lines = [DoctorLine("checks", "fail", str(exc))]
            for line in lines:
                failed = failed or line.status == "fail"
                print(f"{line.status:<5} {source.spec}: {line.check}: {line.detail}".rstrip(": "))
    sys.stdout.flush()
    return EXIT_STATE_UNAVAILABLE if failed else EXIT_OK


def cmd_sync(args: argparse.Namespace, registry: Registry) -> int:
    """Fill or refresh the state cache (sources/cache_sync.py); without --source, its own sources."""
    from .sources.cache_sync import cached_specs, sync

    settings = resolve(args)
    if not settings.cache:
        raise UserInputError(
            "no cache file given", field="--cache",
            hint="pass --cache PATH (e.g. .dupfix/state.db) or set `cache:` in .dupfix.yaml",
        )  # fmt: skip
    specs = settings.sources if getattr(args, "source", None) else ()
    if not specs and os.path.exists(settings.cache):
        specs = tuple(cached_specs(settings.cache))
    specs = specs or settings.sources
    if any(scheme_of(spec) == "cache" for spec in specs):
        raise UserInputError("a cache cannot be synced from a cache", field="--source",
                             hint="sync from graph, ldap://…, or snapshot:PATH")  # fmt: skip
    with opened(specs, registry, settings) as sources:
        result = sync(settings.cache, sources, full=bool(getattr(args, "full", False)))
    print(f"dupfix: sync: {settings.cache} up to date in {result.seconds:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_audit(args: argparse.Namespace, registry: Registry) -> int:
    """Every duplicate and quarantined value the sources hold today (dupfix_policy/audit/)."""
    from .audit.command import cmd_audit as run

    return run(args, registry)
