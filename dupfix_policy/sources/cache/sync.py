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
  (snapshots) are rescanned inside the same transaction. Graph: graph/delta.py; AD: ldap/dirsync.py.

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
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from ... import collector, errors, forking
from ...addresses import ID, all_lookup_keys
from ...errors import UserInputError
from ...interfaces import BatchScan, DeltaInParts, DeltaNotes, DeltaSource, StateSource
from ...model import DIRECTORIES, DirectoryObject, Location
from ..records import decode_record, encode_record
from .source import (
    LOOKUP_CHUNK,
    SCHEMA,
    SCHEMA_VERSION,
    CachedSource,
    connect,
    format_time,
    key_hash,
    key_hashes,
    parse_time,
    read_sources,
    schema_version,
    utc_now,
)

DELTA_MAX_AGE_S = 7 * 24 * 3600.0  # Graph keeps delta tokens for about 7 days (entra.md)
BATCH = 5_000  # objects per insert
FORK_BATCH = 20_000  # objects per forked worker in a full fill
FORK_MIN = 2_000  # a smaller batch is encoded in process (a fork costs more than it saves)
WORKERS_ENV = "DUPFIX_CACHE_WORKERS"
TMP_MARK = ".tmp-"


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


def fill_workers(requested: int | None = None) -> int:
    """Processes that encode a full fill: one per usable CPU (at most 4), Linux only.

    Computing an object's look-up keys is most of a fill's CPU time, and it is independent per
    object, so batches are encoded by forked children while the parent reads the source and
    writes SQLite. DUPFIX_CACHE_WORKERS overrides the count; 1 keeps everything in process.
    """
    if requested is None:
        env = os.environ.get(WORKERS_ENV, "").strip()
        requested = int(env) if env.isdigit() else None
    if requested is None:
        try:
            requested = min(len(os.sched_getaffinity(0)), 4)
        except (AttributeError, OSError):
            requested = 1
    if requested <= 1 or not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 1
    return requested


def encode_objects(objects: Sequence[DirectoryObject]) -> tuple[list[tuple[str, str]], str]:
    """((state, record) per object, the key rows packed): the CPU-heavy part of a fill, done
    where the rowids are not known yet (a forked worker); `_Writer` numbers the rows.

    A key row (hash, index in `objects`) travels as one 64-bit integer `hash << 32 | index`, the
    rows sorted (a batch inserted in index order costs SQLite a third less), all of a batch in
    one JSON array: sorting a list of integers and sending one string is several times cheaper
    than tuples, and SQLite reads the array itself (`_Writer._insert_keys`).
    """
    records: list[tuple[str, str]] = []
    packed: list[int] = []
    for i, obj in enumerate(objects):
        records.append((obj.state, encode_record(obj)))
        packed.extend(h << 32 | i for h in key_hashes(all_lookup_keys(obj)))
    packed.sort()
    return records, "[" + ",".join(map(str, packed)) + "]"


# One key row (hash, object rowid), written and removed by the fill, the delta and the removals.
_INSERT_KEY = "INSERT OR IGNORE INTO keys (h, obj) VALUES (?, ?)"
_DELETE_KEY = "DELETE FROM keys WHERE h = ? AND obj = ?"
# One statement inserts a batch's key rows from `encode_objects`'s JSON array, numbered from the
# batch's first rowid (`value >> 32` keeps the hash's sign: SQLite shifts arithmetically).
_INSERT_KEYS_FROM_JSON = (
    "INSERT OR IGNORE INTO keys (h, obj) SELECT value >> 32, ? + (value & 4294967295) FROM json_each(?)"
)


def reads_json(conn: Any) -> bool:
    """Whether this SQLite has the JSON functions (built in since 3.38, an option before)."""
    try:
        conn.execute("SELECT count(*) FROM json_each('[1]')").fetchone()
    except sqlite3.OperationalError:  # no such table: json_each
        return False
    return True


class _Writer:
    """Inserts objects and their keys in batches, rowids assigned here.

    With `workers` > 1 (full fills), each batch is encoded by a forked child, which sees the batch
    through copy-on-write memory and sends back the rows; at most `workers` children run at once,
    and their rows are inserted in batch order, so the result is the same file as in process.
    """

    def __init__(self, conn: Any, next_rowid: int = 1, *, workers: int = 1):
        self.conn = conn
        self.next_rowid = next_rowid
        self.workers = workers
        self.batch_size = FORK_BATCH if workers > 1 else BATCH
        self.json_keys = reads_json(conn)
        self.pending: list[tuple[int, DirectoryObject]] = []
        # (child encoding a batch, the batch's source ids): inserted in this order
        self.children: deque[tuple[forking.Child, list[int]]] = deque()

    def add(self, source_id: int, obj: DirectoryObject) -> None:
        self.pending.append((source_id, obj))
        if len(self.pending) >= self.batch_size:
            self._dispatch()

    def _dispatch(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        source_ids = [source_id for source_id, _obj in batch]
        objects = [obj for _source_id, obj in batch]
        if self.workers <= 1 or len(batch) < FORK_MIN:
            self._collect_all()  # keep batch order
            self._insert(source_ids, *encode_objects(objects))
            return
        while len(self.children) >= self.workers:
            self._collect_one()
        self.children.append((forking.fork_call(encode_objects, objects), source_ids))

    def insert_encoded(self, source_id: int, records: Sequence[tuple[str, str]], packed: str) -> None:
        """Rows `encode_objects` made elsewhere, numbered from the next rowid (after what is pending)."""
        self.flush()
        self._insert([source_id] * len(records), records, packed)

    def _insert(self, source_ids: Sequence[int], records: Sequence[tuple[str, str]], packed: str) -> None:
        """One encoded batch, numbered from the next rowid."""
        first, self.next_rowid = self.next_rowid, self.next_rowid + len(records)
        self.conn.executemany(
            "INSERT INTO objects (rowid, source, state, record) VALUES (?, ?, ?, ?)",
            [
                (first + i, sid, state, record)
                for i, (sid, (state, record)) in enumerate(zip(source_ids, records, strict=True))
            ],
        )
        self._insert_keys(first, packed)

    def _insert_keys(self, first: int, packed: str) -> None:
        """A batch's key rows. SQLite reading the JSON array in one statement costs the fill's
        sync process half what a tuple a row through `executemany` did (a million-object fill
        inserts six million key rows: ~8 -> ~4 s of CPU); without JSON functions, the tuples."""
        if self.json_keys:
            self.conn.execute(_INSERT_KEYS_FROM_JSON, (first, packed))
            return
        self.conn.executemany(_INSERT_KEY, [(v >> 32, first + (v & 0xFFFFFFFF)) for v in json.loads(packed)])

    def _collect_one(self) -> None:
        child, source_ids = self.children.popleft()
        self._insert(source_ids, *forking.collect(child, "a cache fill worker"))

    def _collect_all(self) -> None:
        while self.children:
            self._collect_one()

    def flush(self) -> None:
        self._dispatch()
        self._collect_all()

    def abandon(self) -> None:
        """After a failure: reap the children without inserting what they send."""
        while self.children:
            forking.reap(self.children.popleft()[0])


class _Cached(NamedTuple):
    rowid: int
    obj: DirectoryObject
    record: str  # as stored: a rewrite that encodes to the same record is no change


def _cached(conn: Any, source_id: int, refs: Iterable[tuple[str, str]],
            known: Mapping[tuple[str, str], DirectoryObject] | None = None) -> dict[tuple[str, str], _Cached]:  # fmt: skip
    """What the source's cache holds for each (directory, id), found through the objects' `id:`
    keys: one indexed query per 500 ids, never a scan of the objects table. A row whose (state,
    record) is in `known` is that object as it is now (a record begins with id, kind and directory)
    and is not decoded again: a delta's recycle bin read is mostly objects the cache already holds.
    """
    wanted = set(refs)
    hashes = sorted({key_hash(f"{ID}:{oid.lower()}") for _directory, oid in wanted})
    found: dict[tuple[str, str], _Cached] = {}
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[start : start + LOOKUP_CHUNK]
        rows = conn.execute(
            "SELECT o.rowid, o.state, o.record FROM objects o WHERE o.source = ? AND o.rowid IN "
            f"(SELECT obj FROM keys WHERE h IN ({','.join('?' * len(chunk))}))",
            (source_id, *chunk),
        ).fetchall()
        for rowid, state, record in rows:
            obj = known.get((state, record)) if known else None
            if obj is None:
                obj = decode_record(record, state)
            if (obj.directory, obj.id) in wanted:  # not an object whose key only hashes alike
                found[(obj.directory, obj.id)] = _Cached(rowid, obj, record)
    return found


def _remove_rows(conn: Any, rows: Iterable[_Cached]) -> None:
    """Remove cached objects with every key row they stored."""
    doomed = list(rows)
    gone = [(h, row.rowid) for row in doomed for h in key_hashes(all_lookup_keys(row.obj))]
    conn.executemany(_DELETE_KEY, gone)
    conn.executemany("DELETE FROM objects WHERE rowid = ?", [(row.rowid,) for row in doomed])


def _write_over(conn: Any, writer: _Writer, source_id: int, given: Mapping[tuple[str, str], DirectoryObject],
                held: dict[tuple[str, str], _Cached] | None = None) -> int:  # fmt: skip
    """Write `given` over what the cache holds for them; how many were written. `held`: rows the
    caller already read (popped from it as they are used); the others are looked up by id.

    An object whose record is unchanged is left alone. A changed one is rewritten in place, its
    rowid kept, so only the key rows that differ are deleted and added: most changes (a title, a
    phone number, a group's description) change no key, and a key row rewritten is a page of the
    hash-ordered keys table touched and journaled (issue 16: 1 % of a tenant changed used to
    rewrite most of that table). A new object is added.
    """
    records = {ref: encode_record(obj) for ref, obj in given.items()}
    held = held if held is not None else {}
    rest = [ref for ref in given if ref not in held]
    known = {(given[ref].state, records[ref]): given[ref] for ref in rest}
    held.update(_cached(conn, source_id, rest, known))
    updates: list[tuple[str, str, int]] = []
    gone: list[tuple[int, int]] = []
    added: list[tuple[int, int]] = []
    written = 0
    for ref, obj in given.items():
        old = held.pop(ref, None)
        if old is None:
            writer.add(source_id, obj)
            written += 1
            continue
        record = records[ref]
        if record == old.record and obj.state == old.obj.state:
            continue
        written += 1
        updates.append((obj.state, record, old.rowid))
        before, after = key_hashes(all_lookup_keys(old.obj)), key_hashes(all_lookup_keys(obj))
        gone.extend((h, old.rowid) for h in before - after)
        added.extend((h, old.rowid) for h in after - before)
    conn.executemany("UPDATE objects SET state = ?, record = ? WHERE rowid = ?", updates)
    conn.executemany(_DELETE_KEY, gone)
    conn.executemany(_INSERT_KEY, added)
    writer.flush()
    return written


def _remove_many(conn: Any, source_id: int, refs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """`_remove` for many (directory, id) at once: one query per 500 ids and one delete of all
    their keys, instead of four statements an object (a delta sync rewrites a thousand objects);
    the ones found and removed."""
    found = _cached(conn, source_id, refs)
    _remove_rows(conn, found.values())
    return set(found)


def _remove(conn: Any, source_id: int, directory: str, oid: str) -> bool:
    return bool(_remove_many(conn, source_id, [(directory, oid)]))


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
    if isinstance(source, DeltaSource):
        changes, state = source.delta(None)
        for change in changes:  # from the start: nothing to remove, every object is new
            if change[0] == "upsert":
                writer.add(source_id, change[1])
                count += 1
            elif change[0] in ("replace-state", "merge-state"):
                for obj in change[2]:
                    writer.add(source_id, obj)
                    count += 1
        writer.flush()
        return count, state
    if isinstance(source, BatchScan) and writer.workers > 1:
        # Read, parsed and encoded by the source's own workers: this process only inserts.
        for records, keys in source.map_batches(encode_objects, writer.workers):
            writer.insert_encoded(source_id, records, keys)
            count += len(records)
        return count, None
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
    writer: _Writer | None = None
    try:
        # Nothing to protect in a file nobody reads yet: no journal, no fsync until the end.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the keys B-tree stays in memory
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        writer = _Writer(conn, workers=fill_workers())
        for source_id, source in enumerate(sources, start=1):
            with collector.paused():  # a fill's rows are many and acyclic: 3 s of a 1M-object fill
                count, state = _fill(conn, writer, source_id, source)
            _write_source_row(conn, source_id, source, format_time(utc_now()), state)
            results.append(SourceResult(source.spec, "full", count, reason=reasons.get(source.spec, ""),
                                        extra=_notes(source)))  # fmt: skip
        # After the fill: a live source read its tenant along the way, so this costs no request.
        conn.execute("INSERT INTO meta VALUES ('tenant', ?)", (_tenant_json(sources),))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = DELETE")
    except BaseException:
        if writer is not None:
            writer.abandon()
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
    reason = _delta_usable(entry, utc_now().timestamp())
    if isinstance(source, DeltaSource) and reason is None:
        try:
            result = SourceResult(source.spec, "delta")

            def write(changes: Iterable[tuple[Any, ...]]) -> None:
                _apply_changes(conn, writer, entry.id, changes, result)

            if isinstance(source, DeltaInParts):  # writes the delta rounds while the bin is read
                changes, state = source.delta_in_parts(entry.delta_state, write)
            else:
                changes, state = source.delta(entry.delta_state)
            write(changes)
            result.extra.extend(_notes(source))
            return result, state
        except errors.DeltaExpired as exc:
            reason = f"{exc}: full resync"
    _clear_source(conn, entry.id)
    count, state = _fill(conn, writer, entry.id, source)
    if not isinstance(source, DeltaSource):
        reason = "this source has no incremental read"
    return SourceResult(source.spec, "full", count, reason=reason or "", extra=_notes(source)), state


def _apply_changes(conn: Any, writer: _Writer, source_id: int, changes: Iterable[tuple[Any, ...]],
                   result: SourceResult) -> None:  # fmt: skip
    """Apply one delta's changes in order, counting them into `result`.

    Upserts are written a run at a time: what the cache holds for the run read in one go, then
    written over. An object changed twice in one round ends the run (the later wins).
    """
    pending: dict[tuple[str, str], DirectoryObject] = {}

    def write_pending() -> None:
        _write_over(conn, writer, source_id, pending)
        pending.clear()

    for change in changes:
        if change[0] == "upsert":
            obj = change[1]
            if (obj.directory, obj.id) in pending:
                write_pending()
            pending[(obj.directory, obj.id)] = obj
            result.objects += 1
            continue
        write_pending()  # what follows reads the objects table
        if change[0] in ("replace-state", "merge-state"):
            changed, removed = _replace_state(
                conn, writer, source_id, change[1], change[2], remove_missing=change[0] == "replace-state"
            )
            result.objects += changed
            result.removed += removed
        elif _remove(conn, source_id, change[1], change[2]):
            result.removed += 1
    write_pending()


def _replace_state(conn: Any, writer: _Writer, source_id: int, state: str, objects: Iterable[DirectoryObject],
                   *, remove_missing: bool = True) -> tuple[int, int]:  # fmt: skip
    """Make the source's cached objects in `state` exactly `objects`, rewriting only what differs
    (`remove_missing=False`: add and rewrite `objects`, keep the others: a partial read, such as
    the recycle bin's recent deletions, compared with what the cache holds for those ids only)."""
    given = {(obj.directory, obj.id): obj for obj in objects}
    held: dict[tuple[str, str], _Cached] = {}
    if remove_missing:
        for rowid, record in conn.execute(
            "SELECT rowid, record FROM objects WHERE source = ? AND state = ?", (source_id, state)
        ):
            obj = decode_record(record, state)
            held[(obj.directory, obj.id)] = _Cached(rowid, obj, record)
    # The others are looked up in any state: a user deleted since the last sync is cached as active.
    written = _write_over(conn, writer, source_id, given, held)
    if not remove_missing:
        return written, 0
    _remove_rows(conn, held.values())  # what is not in `objects` any more
    return written, len(held)


def _notes(source: StateSource) -> list[str]:
    """What the source says a delta round cost (Graph: how the recycle bin was read)."""
    return list(source.delta_notes()) if isinstance(source, DeltaNotes) else []


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
    if why is None and not any(isinstance(s, DeltaSource) for s in sources):
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
