"""Write a tenant snapshot (docs/sources.md "Snapshot format") from any source's objects.

`dupfix snapshot` and the generators in `benchmarks/` use this, and so will the live sources
(Graph, LDAP) when they export: one writer means one layout, which the reader's fast path and
people's diffs can both rely on.

The output is deterministic so that two exports of the same state are byte-identical and a
snapshot kept in git diffs by object, not by accident of ordering:

- objects sorted by (directory, kind, id);
- keys in a fixed order: `id, kind, directory, state`, the other attributes sorted by name,
  then `quarantined` (written only when non-empty);
- JSON Lines end with an end record, `{"end":{"objects":N}}`, announced by `"endRecord":true` in
  the header, so a reader can tell a complete file from one cut at a line break;
- one object per line in both formats (JSON: inside the `objects` array), compact separators,
  UTF-8 without `\\u` escapes (the reader's prefilter reads raw UTF-8 fastest, and people can
  grep for `Müller`).

Multi-valued attributes keep the order the source gave: that order is data (Graph returns
proxyAddresses in a stable order), and sorting it would break read -> write -> read equality.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from typing import Any, Literal

from ...model import DIRECTORIES, DirectoryObject, Tenant
from ..records import dumps_line, object_line

SNAPSHOT_VERSION = 1
JSONL_EXTENSIONS: tuple[str, ...] = (".jsonl", ".ndjson")
Format = Literal["json", "jsonl"]

# JSON Lines end with `{"end":{"objects":N}}`, and their header says so (`"endRecord":true`): a file
# cut at a line break is otherwise a valid, smaller snapshot, and a check against it a false pass.
END_FLAG = "endRecord"
END_KEY = "end"


def end_record(count: int) -> dict[str, Any]:
    """The last line of a JSON Lines snapshot: how many objects precede it."""
    return {END_KEY: {"objects": count}}


def format_for_path(path: str, fmt: str | None = None) -> Format:
    """`jsonl` for `.jsonl` / `.ndjson` names (the scalable format), else `json`, unless `fmt` says."""
    if fmt is not None:
        if fmt not in ("json", "jsonl"):
            raise ValueError(f"unknown snapshot format {fmt!r} (json or jsonl)")
        return "jsonl" if fmt == "jsonl" else "json"
    return "jsonl" if path.lower().endswith(JSONL_EXTENSIONS) else "json"


def header_record(
    tenant: Tenant | None, as_of: str | None, directories: Iterable[str] | None
) -> dict[str, Any]:
    """The snapshot header: version, tenant, and (when known) asOf and the directories covered."""
    header: dict[str, Any] = {"version": SNAPSHOT_VERSION}
    tenant_record: dict[str, Any] = {}
    if tenant is not None and tenant.initial_domain:
        tenant_record["initialDomain"] = tenant.initial_domain
    tenant_record["verifiedDomains"] = list(tenant.verified_domains) if tenant is not None else []
    header["tenant"] = tenant_record
    if as_of:
        header["asOf"] = as_of
    if directories is not None:
        dirs = sorted(set(directories))
        unknown = [d for d in dirs if d not in DIRECTORIES]
        if unknown:
            raise ValueError(f"unknown directories {unknown} (expected {', '.join(DIRECTORIES)})")
        header["directories"] = dirs
    return header


def write_snapshot(
    path: str,
    objects: Iterable[DirectoryObject],
    tenant: Tenant | None,
    as_of: str | None,
    directories: Iterable[str] | None = None,
    fmt: Format | None = None,
) -> int:
    """Write `objects` as a snapshot at `path` atomically; return how many objects were written.

    `directories` says which directories the state covers; when None it is taken from the
    objects, so the header always states the coverage explicitly (the engine tells "no such
    object" from "this directory was not read" by it). `fmt` defaults by extension.

    Objects are serialised one by one and only their lines are kept for sorting, so memory
    follows the file's size rather than the size of a million dataclasses. The file appears
    under its name only when complete (temp file in the same directory + `os.replace`): a
    crashed export never leaves a half snapshot that a later check would trust.
    """
    rows: list[tuple[str, str, str, str]] = []
    for obj in objects:
        rows.append((obj.directory, obj.kind, obj.id, object_line(obj)))
    return write_snapshot_rows(path, rows, tenant, as_of, directories, fmt)


def write_snapshot_rows(
    path: str,
    rows: list[tuple[str, str, str, str]],
    tenant: Tenant | None,
    as_of: str | None,
    directories: Iterable[str] | None = None,
    fmt: Format | None = None,
) -> int:
    """`write_snapshot` for objects already rendered as `(directory, kind, id, object_line(obj))`.

    Why: a live source can render each page while the next one is on the wire (`graph`
    `snapshot_rows`), so the export costs little more than the scan; the file is the same.
    `rows` is sorted in place.
    """
    kind = format_for_path(path, fmt)
    seen_dirs = {row[0] for row in rows} if directories is None else set()
    rows.sort()
    header = header_record(tenant, as_of, seen_dirs if directories is None else directories)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".dupfix-snapshot-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            if kind == "jsonl":
                out.write(dumps_line({**header, END_FLAG: True}))
                out.write("\n")
                for row in rows:
                    out.write(row[3])
                    out.write("\n")
                out.write(dumps_line(end_record(len(rows))))
                out.write("\n")
            else:
                head = dumps_line(header)
                out.write(head[:-1])
                out.write(',"objects":[')
                for i, row in enumerate(rows):
                    out.write("\n" if i == 0 else ",\n")
                    out.write(row[3])
                out.write("\n]}\n" if rows else "]}\n")
            out.flush()
            os.fsync(out.fileno())
        _copy_mode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(rows)


def _copy_mode(path: str, tmp: str) -> None:
    """Give the new file the mode the old one had, or what a plain `open()` would have given."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)

