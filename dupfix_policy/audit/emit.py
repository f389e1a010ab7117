"""Write the suggested resolutions as a native plan (`--emit-plan`) and as LDIF (`--emit-ldif`).

Nothing is applied: the files are for review, and `dupfix check PLAN` against the same sources
verifies the plan before anyone runs it (the checker is its own reviewer). The plan carries one
change per suggested action, each with its `directory` and a comment saying which conflict it
resolves and why; targets are named by `id` (Entra) or `objectGUID` (AD), which survive renames.

The LDIF holds the on-prem part only (removals of proxyAddresses, addressed by DN), for
`ldifde -i -f FILE`: ASCII, values that are not safe LDIF text written base64 (`attr:: …`, as
ldifde itself writes them), one `changetype: modify` record per object. Entra ID actions (purge,
restore, cloud-only objects) and AD objects whose DN is unknown (no AD source) are listed as
comments, since LDIF cannot express them.
"""

from __future__ import annotations

import base64
import json
import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from ..errors import UserInputError
from ..model import DIRECTORY_NAMES, Location, ReportedFinding
from .resolutions import Action, Resolution

HEADER = (
    "Suggested by `dupfix audit` against {sources}: NOT applied. Review every change, then check it:\n"
    "  dupfix check {path} {flags}\n"
)


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.replace("\r", "").split("\n")]


def reasons_by_action(
    findings: Iterable[ReportedFinding], resolutions: Mapping[str, Resolution]
) -> dict[tuple[str, str, str], list[str]]:
    """For each action target (op, directory, target value), the conflicts it resolves."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for r in findings:
        resolution = resolutions.get(r.fingerprint)
        if resolution is None or r.suppressed is not None:
            continue
        for a in resolution.actions:
            line = f"{r.finding.code} {r.finding.key}: {resolution.reason}"
            bucket = out.setdefault(_slot(a), [])
            if line not in bucket:
                bucket.append(line)
    return out


def _slot(a: Action) -> tuple[str, str, str]:
    return (a.op, a.directory, a.target.value.lower())


def render_plan(
    actions: Sequence[Action],
    why: Mapping[tuple[str, str, str], list[str]],
    sources: Sequence[str],
    path: str,
) -> str:
    flags = " ".join(f"--source {s}" for s in sources)
    lines = _comment(
        HEADER.format(sources=", ".join(sources) or "no source", path=path, flags=flags).rstrip()
    )
    lines += ["version: 1", "changes:"]
    for n, a in enumerate(actions, start=1):
        lines.append("")
        for reason in why.get(_slot(a), []):
            lines += ["  " + c for c in _comment(reason)]
        lines.append(f"  - op: {a.op}")
        lines.append(f"    kind: {a.kind}")
        lines.append(f"    directory: {a.directory}")
        lines.append(f"    ref: {_quote(f'audit-{n}')}")
        lines.append(f"    target: {{{a.target.attribute}: {_quote(a.target.value)}}}")
        if a.op == "update":
            for attribute, values in a.remove:
                lines.append(f"    remove: {{{attribute}: [{', '.join(_quote(v) for v in values)}]}}")
        if a.purge:
            lines.append("    purge: true")
    return "\n".join(lines) + "\n"


# --- LDIF -----------------------------------------------------------------------------------------

_SAFE_INIT = set(range(0x01, 0x80)) - {0x0A, 0x0D, 0x20, 0x3A, 0x3C}
_SAFE = set(range(0x01, 0x80)) - {0x0A, 0x0D}


def _ldif_line(attribute: str, value: str) -> str:
    """`attr: value`, or `attr:: base64` for what RFC 2849 SAFE-STRING excludes (non-ASCII too)."""
    raw = value.encode("utf-8")
    safe = not raw or (raw[0] in _SAFE_INIT and all(b in _SAFE for b in raw) and not value.endswith(" "))
    if safe:
        return f"{attribute}: {value}"
    return f"{attribute}:: {base64.b64encode(raw).decode('ascii')}"


def _ascii(text: str) -> str:
    """Comments in ASCII: ldifde reads a file without a byte-order mark in the ANSI code page."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c if c.isascii() else "?" for c in decomposed if not unicodedata.combining(c))


def render_ldif(
    actions: Sequence[Action], why: Mapping[tuple[str, str, str], list[str]], sources: Sequence[str]
) -> str:
    lines = _comment(
        f"Suggested by `dupfix audit` against {', '.join(sources) or 'no source'}: NOT applied.\n"
        "The on-prem AD part of the suggested plan; review it, then: ldifde -i -k -f FILE"
    )
    lines += ["version: 1"]
    left_out: list[str] = []
    for a in actions:
        if a.directory != "ad" or a.op != "update" or not a.dn:
            where = DIRECTORY_NAMES.get(a.directory, a.directory)
            detail = "" if a.directory != "ad" else " (its DN is unknown: no AD source was audited)"
            left_out.append(f"{a.describe()} [{where}, {a.target}]{detail}")
            continue
        lines.append("")
        for reason in why.get(_slot(a), []):
            lines += _comment(reason)
        lines.append(_ldif_line("dn", a.dn))
        lines.append("changetype: modify")
        for attribute, values in a.remove:
            lines.append(f"delete: {attribute}")
            lines += [_ldif_line(attribute, v) for v in values]
            lines.append("-")
    if left_out:
        lines.append("")
        lines += _comment("Not expressible in LDIF (apply in Entra ID, or from the native plan):")
        lines += _comment("\n".join(f"  {item}" for item in left_out))
    return "\n".join(_ascii(line) if line.startswith("#") else line for line in lines) + "\n"


def write_text(path: str, text: str, what: str) -> None:
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise UserInputError(f"cannot write the {what}: {exc.strerror}", location=Location(path)) from exc
