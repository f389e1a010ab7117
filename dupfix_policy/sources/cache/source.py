"""The `cache:PATH` source: directory state kept in a local SQLite file, answered by indexed keys.

Why a cache: a pre-commit hook must answer in well under a second, and re-reading a large tenant
on every pull request wastes minutes and Graph throttling budget. `dupfix sync` fills the file
(`cache.sync`); this module is the file's layout and its read side.

Layout (schema version `SCHEMA_VERSION`, also in `PRAGMA user_version`):

- `meta(name, value)`: schema version, tenant (JSON);
- `sources(id, spec, origin, directories, as_of, synced_at, delta_state, delta_at)`: one row per
  source the cache was filled from, with when it was last synced;
- `objects(rowid, source, state, record)`: one row per object, `record` in the compact codec of
  `encode_record` (a JSON array: id, kind, directory, then attribute name codes and values);
- `keys(h, obj)`: every look-up key of every object (`addresses.all_lookup_keys`) as a 32-bit hash
  (`key_hash`: CRC-32 of `hashed_text`, signed; one row for a value an object holds as UPN and
  as address), the primary key of a WITHOUT ROWID table (the table is its own index: about 16
  bytes a key), so a look-up is one index range per key. An object is found by its id through
  its `id:` key, so objects need no other index.

Why (issue 16): key text and snapshot-line records made a 1M-object cache a 1 GB file that took a
minute to fill. A hash is 4 bytes whatever the key, a compact record about 70 % of a snapshot
line. A hash can collide, so `lookup` keeps a candidate only if it really holds one of the keys
asked (its keys are computed again from the decoded object): a collision costs a little time,
never a wrong answer.

Consistency: the file uses SQLite's rollback journal (no WAL), so a sync is one transaction and a
process killed in the middle leaves the previous state (the next opener rolls the journal back),
and nothing but the one file is left after a sync for CI caches to save. A reader holds one read
transaction from open to close: every `lookup` round of one run sees the same state, old or new,
never a mix. Only the standard library is imported: `dupfix check --source cache:…` must start
as fast as `dupfix --help`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from zlib import crc32

from ...addresses import all_lookup_keys, target_key
from ...errors import StateUnavailableError, UserInputError
from ...model import (
    DIRECTORIES,
    DirectoryObject,
    Location,
    SourceInfo,
    Target,
    Tenant,
)
from ..records import CacheDamaged, decode_record

SCHEME = "cache"
# 2: the keys of issue 11 (AD-side adupn:/addn:, targetAddress as proxy:, AD anchors, projected
# aliases). 3: hashed keys, compact records, no objects_by_id index (issue 16). 4: CRC-32 key
# hashes instead of BLAKE2b (a fifth of the fill's hashing time; a collision only costs the
# re-check `lookup` does anyway). 5: a UPN, an adupn: and an smtp: address of one value hash
# alike, and so do addn: and dn: (`hashed_text`: 15 % fewer key rows). A cache of another version
# holds other keys: it is refused with "rebuild it", never read.
SCHEMA_VERSION = 5
DEFAULT_MAX_AGE_S = 24 * 3600.0
CLOCK_SKEW_S = 300.0  # a sync time this far ahead of our clock is tolerated (machines' clocks differ)
BUSY_TIMEOUT_MS = 60_000  # a reader waits this long for a sync's commit, a sync for readers to finish
LOOKUP_CHUNK = 500  # keys per query: well under SQLite's bound-parameter limit

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    directories TEXT NOT NULL,
    as_of TEXT,
    synced_at TEXT NOT NULL,
    delta_state TEXT,
    delta_at TEXT
);
CREATE TABLE objects (
    rowid INTEGER PRIMARY KEY,
    source INTEGER NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE keys (h INTEGER NOT NULL, obj INTEGER NOT NULL, PRIMARY KEY (h, obj)) WITHOUT ROWID;
"""


def hashed_text(key: str) -> str:
    """The text a key is hashed as: a UPN, an `adupn:` and an `smtp:` address of one value are
    one text, and so are an `addn:` and a `dn:` name, so an object holding a value in several of
    these namespaces (a user's UPN is nearly always its primary address) stores one key row for
    it, not two or three. Safe because `lookup` re-checks every candidate's real keys; a look-up
    for `upn:` is asked with its `proxy:smtp:` twin anyway (`addresses.cross_key`)."""
    if key.startswith("upn:"):
        return "proxy:smtp:" + key[4:]
    if key.startswith("adupn:"):
        return "proxy:smtp:" + key[6:]
    if key.startswith("addn:"):
        return "dn:" + key[5:]
    return key


def key_hash(key: str) -> int:
    """A look-up key as a signed 32-bit integer (CRC-32 of `hashed_text`; signed, SQLite stores
    it in 4 bytes): what the `keys` table stores. Not a secret or a defence: `lookup` re-checks
    every candidate."""
    return (crc32(hashed_text(key).encode("utf-8")) ^ 0x80000000) - 0x80000000


def key_hashes(keys: Iterable[str]) -> set[int]:
    """`key_hash` of each key, in one call (a cache fill hashes seven keys an object)."""
    out: set[int] = set()
    add = out.add
    for key in keys:
        if key[0] in "ua":  # upn:, adupn:, addn: (and alias:, anchor:, which stay as they are)
            key = hashed_text(key)
        add((crc32(key.encode("utf-8")) ^ 0x80000000) - 0x80000000)
    return out


class CachedSource(NamedTuple):
    """What the cache knows about one source it was filled from."""

    id: int
    spec: str
    origin: str
    directories: tuple[str, ...]
    as_of: str | None
    synced_at: str
    delta_state: str | None
    delta_at: str | None


def utc_now() -> dt.datetime:
    """Overridable through DUPFIX_NOW (ISO time) so freshness is testable without sleeping."""
    text = os.environ.get("DUPFIX_NOW")
    if text:
        return parse_time(text)
    return dt.datetime.now(dt.timezone.utc)


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def format_age(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def connect(path: str, *, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rollback journal, busy wait."""
    mode = "rwc" if create else "rw"
    uri = "file:" + _uri_path(path) + f"?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


_URI_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-._~")


def _uri_path(path: str) -> str:
    """The path percent-encoded for a SQLite URI (`?`, `#` and `%` would end or escape it), as
    urllib.parse.quote does; urllib.parse itself costs a check ~2 ms of start-up (it imports
    ipaddress)."""
    return "".join(
        c if c in _URI_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
        for c in os.path.abspath(path)
    )


def read_sources(conn: sqlite3.Connection) -> list[CachedSource]:
    rows = conn.execute(
        "SELECT id, spec, origin, directories, as_of, synced_at, delta_state, delta_at FROM sources ORDER BY id"
    ).fetchall()
    out = []
    for r in rows:
        directories = json.loads(r[3]) if isinstance(r[3], str) else None
        if not isinstance(directories, list) or any(d not in DIRECTORIES for d in directories):
            raise CacheDamaged(f"source row {r[0]}: directories {r[3]!r} is not a list of {', '.join(DIRECTORIES)}")
        if not isinstance(r[1], str) or not isinstance(r[5], str):
            raise CacheDamaged(f"source row {r[0]}: spec and synced_at must be text")
        parse_time(r[5])  # ValueError when it is no time
        out.append(CachedSource(r[0], r[1], r[2], tuple(directories), r[4], r[5], r[6], r[7]))
    return out


def read_tenant(conn: sqlite3.Connection) -> Tenant | None:
    row = conn.execute("SELECT value FROM meta WHERE name = 'tenant'").fetchone()
    if row is None or row[0] == "null":
        return None
    data = json.loads(row[0])
    if not isinstance(data, dict):
        raise CacheDamaged(f"meta tenant {row[0][:60]!r} is not a JSON object")
    domains = data.get("verifiedDomains") or []
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise CacheDamaged("meta tenant: verifiedDomains is not a list of names")
    initial = data.get("initialDomain")
    return Tenant(initial if isinstance(initial, str) and initial else None, tuple(domains))


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


class CacheSource:
    """A cache file as a `StateSource` (docs/sources.md "The StateSource contract"): point look-ups through the `keys` index."""

    def __init__(self, path: str, spec: str | None = None, *, max_age_s: float | None = DEFAULT_MAX_AGE_S):
        self.path = path
        self.spec = spec if spec is not None else f"{SCHEME}:{path}"
        if not os.path.isfile(path):
            raise UserInputError(
                "state cache not found",
                location=Location(path),
                hint=f"fill it first: dupfix sync --source graph --cache {path}",
            )
        try:
            self._conn = connect(path)
            self._conn.execute("BEGIN")  # one read transaction for the whole run: one state
            version = schema_version(self._conn)
            if version != SCHEMA_VERSION:
                raise UserInputError(
                    f"state cache schema version {version} is not the version this dupfix reads ({SCHEMA_VERSION})",
                    location=Location(path),
                    hint=f"rebuild it: dupfix sync --full --cache {path}",
                )
            self.sources = read_sources(self._conn)
            self._tenant = read_tenant(self._conn)
        except (ValueError, UnicodeError, RecursionError) as exc:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise self._damaged(exc) from None
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._conn.close()
            raise UserInputError(
                f"not a dupfix state cache ({exc})",
                location=Location(path),
                hint=f"delete it and run dupfix sync --cache {path}",
            ) from None
        if max_age_s is not None:
            self._check_fresh(max_age_s)

    def _damaged(self, exc: BaseException) -> StateUnavailableError:
        """Damaged contents are unavailable state (exit 3) with a way out, never a crash (exit 4)."""
        return StateUnavailableError(
            f"the state cache is damaged ({type(exc).__name__}: {exc})",
            location=Location(self.path),
            hint=f"delete it and fill it again: dupfix sync --full --cache {self.path}",
        )

    def _check_fresh(self, max_age_s: float) -> None:
        """Fail closed on stale state: exit 3 naming each source that is older than allowed."""
        if not self.sources:
            raise StateUnavailableError(
                "the state cache holds no source yet",
                location=Location(self.path),
                hint=f"run dupfix sync --source SPEC --cache {self.path}",
            )
        now = utc_now()
        ages = [(s, (now - parse_time(s.synced_at)).total_seconds()) for s in self.sources]
        future = [s for s, age in ages if age < -CLOCK_SKEW_S]
        if future:
            # A sync time ahead of this clock proves nothing about freshness: a wrong clock, or a
            # file made to look fresh. Stale, like any other time the check can't trust.
            names = ", ".join(f"{s.spec} synced at {s.synced_at}" for s in future)
            raise StateUnavailableError(
                f"the state cache says it was synced in the future ({names}; now {format_time(now)})",
                location=Location(self.path),
                hint=f"check this machine's clock, then run dupfix sync --cache {self.path}",
            )
        stale = [(s, age) for s, age in ages if age > max_age_s]
        if stale:
            names = ", ".join(f"{s.spec} synced {format_age(age)} ago ({s.synced_at})" for s, age in stale)
            raise StateUnavailableError(
                f"the state cache is older than --max-age {format_age(max_age_s)}: {names}",
                location=Location(self.path),
                hint=f"run dupfix sync --cache {self.path}, or pass --refresh to sync before checking",
            )

    # -- StateSource -------------------------------------------------------------------------

    @property
    def directories(self) -> frozenset[str]:
        return frozenset(d for s in self.sources for d in s.directories)

    @property
    def tenant(self) -> Tenant | None:
        return self._tenant

    @property
    def info(self) -> SourceInfo:
        """Origin of all cached sources; as-of the oldest of them (each one is in `report_notes`)."""
        dirs = self.directories
        origin = "+".join(d for d in DIRECTORIES if d in dirs) or "none"
        stamps = [s.as_of for s in self.sources]
        known = [s for s in stamps if s is not None]
        oldest = min(known) if stamps and len(known) == len(stamps) else None  # one unknown: unknown, never guessed
        return SourceInfo(self.spec, origin, oldest)

    def report_notes(self, covered: frozenset[str]) -> list[str]:
        """The as-of time of each source the cache holds: the report's one `asOf` is the oldest."""
        return [
            f"{self.spec}: {s.spec} as of {s.as_of or 'unknown'} (synced {s.synced_at})" for s in self.sources
        ]

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> list[DirectoryObject]:
        """Objects holding any of `keys` or named by any of `targets`: a few indexed queries."""
        wanted = set(keys) | {target_key(t) for t in targets}
        hashes = sorted(key_hashes(wanted))
        rows: dict[int, tuple[str, str]] = {}
        try:
            for start in range(0, len(hashes), LOOKUP_CHUNK):
                chunk = hashes[start : start + LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT o.rowid, o.state, o.record FROM objects o WHERE o.rowid IN "
                    f"(SELECT obj FROM keys WHERE h IN ({marks}))"
                )
                for rowid, state, record in self._conn.execute(query, chunk):
                    rows[rowid] = (state, record)
            found = [decode_record(rows[r][1], rows[r][0]) for r in sorted(rows)]
        except (sqlite3.Error, ValueError, UnicodeError, RecursionError) as exc:
            raise self._damaged(exc) from None
        # A hash can collide: keep only objects that hold one of the keys asked.
        return [obj for obj in found if not wanted.isdisjoint(all_lookup_keys(obj))]

    def scan(self) -> Iterator[DirectoryObject]:
        try:
            for state, record in self._conn.execute("SELECT state, record FROM objects ORDER BY rowid"):
                yield decode_record(record, state)
        except (sqlite3.Error, ValueError, UnicodeError, RecursionError) as exc:
            raise self._damaged(exc) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.execute("COMMIT")
        with contextlib.suppress(Exception):
            self._conn.close()


# --- plugin ----------------------------------------------------------------------------------


def path_of(spec: str) -> str:
    scheme, sep, path = spec.partition(":")
    if scheme.lower() != SCHEME or not sep or not path:
        raise UserInputError(f"bad source {spec!r}", hint="write cache:PATH, e.g. --source cache:.dupfix/state.db")
    return os.path.expanduser(path)


def create(spec: str, options: Mapping[str, Any]) -> CacheSource:
    """`cache:PATH` -> CacheSource. Options: `max_age` (seconds, default 24 h), `refresh` (sync first)."""
    path = path_of(spec)
    max_age = options.get("max_age")
    max_age_s = DEFAULT_MAX_AGE_S if max_age is None else float(max_age)
    if options.get("refresh"):
        from .sync import refresh_cache

        refresh_cache(path, options)
    return CacheSource(path, spec, max_age_s=max_age_s)


