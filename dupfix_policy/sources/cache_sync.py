"""`dupfix sync`: fill the state cache from live or exported sources, then keep it fresh.

Two ways to write, both atomic:

- **Full rebuild** (first run, `--full`, a different set of sources, a schema change, or no
  source that can answer incrementally): every source is scanned into a new file next to the
  cache, which is then renamed over it. A process killed before the rename leaves the old cache
  untouched (and a temporary file the next sync removes); a reader that opened the old file keeps
  reading it until it closes.
- **Incremental** (a source with a `delta(state)` method and a stored, recent delta state): the
  changes of every source are applied in one SQLite transaction; killed midway, the journal is
  rolled back by the next opener and the previous state stays whole. Sources without `delta`
  (snapshots) are rescanned inside the same transaction. Graph: graph_delta.py; AD: ldap_dirsync.py.

The optional source protocol: `delta(state: str | None) -> (changes, new_state)`, `changes` an
iterable of `("upsert", DirectoryObject)` and `("remove", directory, id)`; `state=None` means
"from the start" and returns every object as an upsert. It raises `DeltaExpired` when the service
refuses the stored state (Graph: 410 Gone); the sync then says so and starts over.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from .. import errors
from ..addresses import all_lookup_keys
from ..errors import UserInputError
from ..interfaces import StateSource
from ..model import DIRECTORIES, DirectoryObject, Location
from .cache import (
    OBJECT_INDEX,
    SCHEMA,
    SCHEMA_VERSION,
    CachedSource,
    connect,
    format_time,
    parse_time,
    read_sources,
    schema_version,
    utc_now,
)
from .snapshot_writer import object_line

DELTA_MAX_AGE_S = 7 * 24 * 3600.0  # Graph keeps delta tokens for about 7 days (entra.md)
BATCH = 5_000
TMP_MARK = ".tmp-"


DeltaExpired = errors.DeltaExpired  # the service no longer accepts the stored delta state (errors.py)


@dataclass
class SourceResult:
    spec: str
    mode: str  # "full" | "delta"
    objects: int = 0  # objects written (full) or changes applied (delta)
    removed: int = 0
    reason: str = ""
    extra: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.mode == "delta":
            text = f"{self.spec}: incremental, {self.objects} changed, {self.removed} removed"
        else:
            text = f"{self.spec}: full scan, {self.objects} objects"
        if self.reason:
            text += f" ({self.reason})"
        return text


@dataclass
class SyncResult:
    path: str
    rebuilt: bool
    sources: list[SourceResult]
    seconds: float


def _origin(source: StateSource) -> str:
    dirs = source.directories
    return "+".join(d for d in DIRECTORIES if d in dirs) or "none"


def _tenant_json(sources: Sequence[StateSource]) -> str:
    tenant = next((s.tenant for s in sources if s.tenant is not None), None)
    if tenant is None:
        return "null"
    return json.dumps({"initialDomain": tenant.initial_domain, "verifiedDomains": list(tenant.verified_domains)})


class _Writer:
    """Inserts objects and their keys in batches (executemany), rowids assigned here."""

    def __init__(self, conn: Any, next_rowid: int = 1):
        self.conn = conn
        self.next_rowid = next_rowid
        self.objects: list[tuple[int, int, str, str, str, str]] = []
        self.keys: list[tuple[str, int]] = []

    def add(self, source_id: int, obj: DirectoryObject) -> None:
        rowid = self.next_rowid
        self.next_rowid += 1
        self.objects.append((rowid, source_id, obj.directory, obj.id, obj.state, object_line(obj)))
        self.keys.extend((key, rowid) for key in all_lookup_keys(obj))
        if len(self.objects) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.objects:
            self.conn.executemany(
                "INSERT OR REPLACE INTO objects (rowid, source, directory, oid, state, record) VALUES (?, ?, ?, ?, ?, ?)",
                self.objects,
            )
            self.conn.executemany("INSERT OR IGNORE INTO keys (key, obj) VALUES (?, ?)", self.keys)
        self.objects.clear()
        self.keys.clear()


def _remove(conn: Any, source_id: int, directory: str, oid: str) -> bool:
    row = conn.execute(
        "SELECT rowid, record FROM objects WHERE source = ? AND directory = ? AND oid = ?",
        (source_id, directory, oid),
    ).fetchone()
    if row is None:
        return False
    from .cache import record_object

    keys = all_lookup_keys(record_object(row[1]))
    conn.executemany("DELETE FROM keys WHERE key = ? AND obj = ?", [(k, row[0]) for k in keys])
    conn.execute("DELETE FROM objects WHERE rowid = ?", (row[0],))
    return True


def _clear_source(conn: Any, source_id: int, state: str | None = None) -> int:
    """Drop a source's objects (only those in `state`, if given); how many were dropped."""
    where, args = ("source = ? AND state = ?", (source_id, state)) if state else ("source = ?", (source_id,))
    conn.execute(f"DELETE FROM keys WHERE obj IN (SELECT rowid FROM objects WHERE {where})", args)
    return conn.execute(f"DELETE FROM objects WHERE {where}", args).rowcount


def _write_source_row(conn: Any, source_id: int, source: StateSource, now: str, delta_state: str | None) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sources (id, spec, origin, directories, as_of, synced_at, delta_state, delta_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source_id,
            source.spec,
            _origin(source),
            json.dumps(sorted(source.directories)),
            source.info.as_of or now,
            now,
            delta_state,
            now if delta_state is not None else None,
        ),
    )


def _fill(conn: Any, writer: _Writer, source_id: int, source: StateSource) -> tuple[int, str | None]:
    """Every object of one source; through `delta(None)` when it has one, to get a delta state."""
    count = 0
    delta = getattr(source, "delta", None)
    if callable(delta):
        changes, state = delta(None)
        for change in changes:  # from the start: nothing to remove, every object is new
            if change[0] == "upsert":
                writer.add(source_id, change[1])
                count += 1
            elif change[0] == "replace-state":
                for obj in change[2]:
                    writer.add(source_id, obj)
                    count += 1
        writer.flush()
        return count, state
    for obj in source.scan():
        writer.add(source_id, obj)
        count += 1
    writer.flush()
    return count, None


def remove_stale_temporaries(path: str) -> None:
    """Temporary files of syncs that were killed (their process is gone)."""
    for tmp in glob.glob(glob.escape(path) + TMP_MARK + "*"):
        pid_text = tmp.rsplit(TMP_MARK, 1)[1].split("-")[0]
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_text)
            try:
                os.kill(pid, 0)
                continue  # still running
            except ProcessLookupError:
                pass
            os.unlink(tmp)
            for suffix in ("-journal", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(tmp + suffix)


def rebuild(path: str, sources: Sequence[StateSource], reasons: Mapping[str, str]) -> list[SourceResult]:
    """Scan every source into a new file and rename it over `path` (atomic on POSIX and Windows)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = f"{path}{TMP_MARK}{os.getpid()}-{int(time.time() * 1000)}"
    results: list[SourceResult] = []
    conn = connect(tmp, create=True)
    try:
        # Nothing to protect in a file nobody reads yet: no journal, no fsync until the end.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the keys B-tree stays in memory
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        conn.execute(OBJECT_INDEX)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        writer = _Writer(conn)
        for source_id, source in enumerate(sources, start=1):
            count, state = _fill(conn, writer, source_id, source)
            _write_source_row(conn, source_id, source, format_time(utc_now()), state)
            results.append(SourceResult(source.spec, "full", count, reason=reasons.get(source.spec, ""),
                                        extra=_notes(source)))  # fmt: skip
        # After the fill: a live source read its tenant along the way, so this costs no request.
        conn.execute("INSERT INTO meta VALUES ('tenant', ?)", (_tenant_json(sources),))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("ANALYZE")
    except BaseException:
        conn.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    conn.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(parent)
    return results


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _delta_usable(cached: CachedSource | None, now_s: float) -> str | None:
    """None when the stored delta state can be used, else why not (said in the output)."""
    if cached is None:
        return "new source"
    if cached.delta_state is None or cached.delta_at is None:
        return "no delta state stored"
    age = now_s - parse_time(cached.delta_at).timestamp()
    if age > DELTA_MAX_AGE_S:
        return "delta link older than 7 days: full resync"
    return None


def incremental(path: str, sources: Sequence[StateSource], cached: Sequence[CachedSource]) -> list[SourceResult]:
    """Apply every source's changes in one transaction (a killed process leaves the old state)."""
    by_spec = {c.spec: c for c in cached}
    conn = connect(path)
    results: list[SourceResult] = []
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA cache_size = -131072")
        conn.execute("BEGIN IMMEDIATE")
        next_rowid = (conn.execute("SELECT max(rowid) FROM objects").fetchone()[0] or 0) + 1
        writer = _Writer(conn, next_rowid)
        now = format_time(utc_now())
        for source in sources:
            entry = by_spec[source.spec]
            result = _refresh_one(conn, writer, entry, source)
            _write_source_row(conn, entry.id, source, now, result[1])
            results.append(result[0])
        conn.execute("UPDATE meta SET value = ? WHERE name = 'tenant'", (_tenant_json(sources),))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return results


def _refresh_one(conn: Any, writer: _Writer, entry: CachedSource, source: StateSource) -> tuple[SourceResult, str | None]:
    delta = getattr(source, "delta", None)
    reason = _delta_usable(entry, utc_now().timestamp())
    if callable(delta) and reason is None:
        try:
            changes, state = delta(entry.delta_state)
            result = SourceResult(source.spec, "delta")
            for change in changes:
                if change[0] == "upsert":
                    obj = change[1]
                    writer.flush()  # an object changed twice in one round: the later one wins
                    _remove(conn, entry.id, obj.directory, obj.id)
                    writer.add(entry.id, obj)
                    result.objects += 1
                elif change[0] == "replace-state":
                    writer.flush()
                    changed, removed = _replace_state(conn, writer, entry.id, change[1], change[2])
                    result.objects += changed
                    result.removed += removed
                elif _remove(conn, entry.id, change[1], change[2]):
                    result.removed += 1
            writer.flush()
            result.extra.extend(_notes(source))
            return result, state
        except DeltaExpired as exc:
            reason = f"{exc}: full resync"
    _clear_source(conn, entry.id)
    count, state = _fill(conn, writer, entry.id, source)
    if not callable(delta):
        reason = "this source has no incremental read"
    return SourceResult(source.spec, "full", count, reason=reason or "", extra=_notes(source)), state


def _replace_state(conn: Any, writer: _Writer, source_id: int, state: str, objects: Iterable[DirectoryObject]
                   ) -> tuple[int, int]:  # fmt: skip
    """Make the source's cached objects in `state` exactly `objects`, rewriting only what differs."""
    cached = {
        (directory, oid): record
        for directory, oid, record in conn.execute(
            "SELECT directory, oid, record FROM objects WHERE source = ? AND state = ?", (source_id, state)
        )
    }
    changed = 0
    for obj in objects:
        line = object_line(obj)
        if cached.pop((obj.directory, obj.id), None) == line:
            continue
        _remove(conn, source_id, obj.directory, obj.id)
        writer.add(source_id, obj)
        changed += 1
    writer.flush()
    for directory, oid in cached:
        _remove(conn, source_id, directory, oid)
    return changed, len(cached)


def _notes(source: StateSource) -> list[str]:
    """What the source says a delta round cost (Graph: the recycle bin, read whole)."""
    notes = getattr(source, "delta_notes", None)
    return list(notes()) if callable(notes) else []


def sync(
    path: str, sources: Sequence[StateSource], *, full: bool = False, out: IO[str] | None = None,
) -> SyncResult:  # fmt: skip
    """Bring the cache at `path` up to date with `sources`, the way that costs least."""
    started = time.perf_counter()
    out = out if out is not None else sys.stderr
    cached, why = _cached_state(path)
    specs = [s.spec for s in sources]
    if why is None and full:
        why = "--full"
    if why is None and sorted(specs) != sorted(c.spec for c in cached):
        why = "the sources differ from the cached ones"
    if why is None and not any(callable(getattr(s, "delta", None)) for s in sources):
        why = "no source has an incremental read"
    if why is not None:
        results = rebuild(path, sources, {spec: why for spec in specs})
        rebuilt = True
    else:
        results = incremental(path, sources, cached)
        rebuilt = False
    for r in results:
        print(f"dupfix: sync: {r.line()}", file=out)
        for note in r.extra:
            print(f"dupfix: sync: {r.spec}: {note}", file=out)
    return SyncResult(path, rebuilt, results, time.perf_counter() - started)


def _cached_state(path: str) -> tuple[list[CachedSource], str | None]:
    """The cache's sources, or why it has to be built from scratch."""
    if not os.path.exists(path):
        return [], "first sync"
    import sqlite3

    try:
        conn = connect(path)
        try:
            if schema_version(conn) != SCHEMA_VERSION:
                return [], f"cache schema version {schema_version(conn)} is not {SCHEMA_VERSION}"
            return read_sources(conn), None
        finally:
            conn.close()
    except (sqlite3.DatabaseError, ValueError, UnicodeError) as exc:  # damaged: rebuilt from scratch
        return [], f"unreadable cache ({exc})"


def cached_specs(path: str) -> list[str]:
    cached, why = _cached_state(path)
    if why is not None or not cached:
        raise UserInputError(
            "the state cache names no source to sync from",
            location=Location(path),
            hint=f"give them: dupfix sync --source graph --cache {path}",
        )
    return [c.spec for c in cached]


def open_specs(specs: Sequence[str], options: Mapping[str, Any]) -> list[StateSource]:
    """Open the sources a refresh needs with the caller's opener (`options["open_source"]`: the
    application's registry, as `--source` would), never a plugin manager of its own."""
    opener = options.get("open_source")
    if not callable(opener):
        raise UserInputError("a refresh needs the application to open its sources", field="--refresh")
    opened: list[StateSource] = []
    for spec in specs:
        if spec.partition(":")[0].strip().lower() == "cache":
            raise UserInputError(f"the state cache names source {spec!r}, which cannot be synced from here")
        opened.append(opener(spec, {k: v for k, v in options.items() if k != "open_source"}))
    return opened


def refresh_cache(path: str, options: Mapping[str, Any], log: Callable[[str], None] | None = None) -> SyncResult:
    """`check --refresh`: sync the cache from the sources it was filled from, then read it."""
    sources = open_specs(cached_specs(path), {k: v for k, v in options.items() if k not in ("refresh",)})
    try:
        return sync(path, sources)
    finally:
        for s in sources:
            with contextlib.suppress(Exception):
                s.close()
