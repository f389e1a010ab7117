"""`dupfix fix PLAN… [--write | --diff]` and `check --suggest`: suggestions.py over the CLI's plumbing.

Without `--write` or `--diff`, fix lists what it would change. Exit 0 when every error the check
finds is settled by a written value; 1 when some remain (no free value, a conflict only a person
can settle, a Terraform value whose `.tf` line must be edited by hand, a value not found where the
loader said it was).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

from ..app import collect_plans, load_checked_policy, opened, resolve, suggest_for, today
from ..errors import EXIT_OK, EXIT_VIOLATIONS, UserInputError
from ..fixers import TextFile, apply, located, shown_line, unified_diff
from ..plugins import Registry
from ..remedies import Replacement

CSV_FORMATS = frozenset({"csv", "entra-csv"})


def run(args: argparse.Namespace, registry: Registry) -> int:
    settings = resolve(args)
    plans, notes = collect_plans(args.paths, registry, args.plan_format, args.hook, settings.plan_options)
    for note in notes:
        print(f"dupfix: note: {note}", file=sys.stderr)
    if not plans:
        return EXIT_OK
    policy = load_checked_policy(settings, registry)
    with opened(settings.sources, registry, settings) as sources:
        result = suggest_for(plans, sources, registry, policy, settings, today())
    formats = {p.path: p.format for p in plans}
    encoding = ((settings.plan_options or {}).get("csv") or {}).get("encoding")
    by_file: dict[str, list[Replacement]] = defaultdict(list)
    by_hand: list[str] = []
    for r in result.replacements:
        if located(r):
            by_file[r.file].append(r)
        elif not r.editable:
            line = shown_line(r.file, r.line)
            shown = f": {line}" if line else ""
            by_hand.append(f"{r.file}:{r.line or 1}: change {r.old!r} to {r.new!r} ({r.attribute}){shown}")
        else:
            by_hand.append(
                f"{r.file}:{r.line or 1}: {r.old!r} is not written there as read; change it to {r.new!r} "
                f"({r.attribute}) by hand"
            )
    written = 0
    for path, reps in sorted(by_file.items()):
        plan_format = formats.get(path, "")
        file = TextFile.read(path, encoding if plan_format in CSV_FORMATS else None)
        new_text = apply(file, reps)
        if new_text == file.text:
            continue
        if args.diff:
            sys.stdout.write(unified_diff(file, new_text))
        elif args.write:
            _write(path, file.encode(new_text))
            written += len(reps)
            print(f"dupfix: fixed {len(reps)} value(s) in {path}", file=sys.stderr)
        else:
            for r in reps:
                print(f"{path}:{r.line}:{r.column}: {r.attribute} {r.old} -> {r.new}")
    for line in by_hand:
        print(f"by hand: {line}")
    unsettled = [rf for rf in result.report.findings if rf.suggestion is not None and rf.suggestion.kind == "resolution"
                 and not rf.suggestion.text.startswith("keep ")]  # fmt: skip
    for rf in unsettled:
        where = rf.finding.location or (rf.finding.change.location if rf.finding.change else None)
        print(f"dupfix: not fixable: {where} {rf.rule.code} {rf.finding.value}: {rf.suggestion.text}",  # type: ignore[union-attr]
              file=sys.stderr)  # fmt: skip
    print(
        f"dupfix: {result.fixed} finding(s) fixable, {len(result.replacements)} value(s) to write, "
        f"{len(result.remaining)} error(s) would remain; {result.round_trips} extra source round trip(s)",
        file=sys.stderr,
    )
    return EXIT_VIOLATIONS if result.remaining or by_hand else EXIT_OK


def _write(path: str, data: bytes) -> None:
    """Replace the file in place, keeping its permissions (a temporary file, then a rename)."""
    tmp = f"{path}.dupfix-fix.tmp"
    try:
        mode = os.stat(path).st_mode
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserInputError(f"cannot write the fixed plan: {exc.strerror}", hint="check the file's permissions") from exc
