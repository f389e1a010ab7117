"""The `graph` source: live Entra ID state through Microsoft Graph (msgraph-sdk + azure-identity).

This module is what the plugin manager imports at every start, so it imports only the standard
library and the core: msgraph-sdk, azure-identity and httpx cost a third of a second and are
imported only when a `graph` source is actually used (`dupfix --help` and pre-commit runs on
snapshots never pay for them).

`GraphSource` is the synchronous face the engine sees. It owns one event loop and one Graph
session, and remembers every answer of the run: the engine asks `lookup` several times (twins,
the targets' own keys), and a key asked once is never asked again. What it reads, and how, is
in `graph.queries` (which clauses), `graph.http` (batching, retries, budget) and `graph.reader`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ... import collector
from ...addresses import all_lookup_keys, target_key
from ...errors import StateUnavailableError, UserInputError
from ...interfaces import ChangeWriter, DoctorLine
from ...model import DirectoryObject, SourceInfo, Target, Tenant

if TYPE_CHECKING:
    import asyncio

    from .http import GraphHttp
    from .reader import GraphReader
    from .tls import TlsContext

SCHEME = "graph"
DEFAULT_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_TIMEOUT_S = 300.0
CONCURRENCY_ENV = "DUPFIX_GRAPH_CONCURRENCY"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

log = logging.getLogger("dupfix.graph")


class _DebugHandler(logging.StreamHandler):
    """--debug: Graph requests on stderr (already redacted by graph.http)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("dupfix: debug: graph: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # follow redirections (tests, pytest capture)
        super().emit(record)


def _check_url(url: str) -> str:
    """The endpoint, refusing plain http except on loopback (a token must never travel in clear)."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise UserInputError(
            f"Graph endpoint {url!r} is not an http(s) URL",
            field="--graph-url",
            hint=f"e.g. {DEFAULT_URL}, or a national cloud such as https://graph.microsoft.us/v1.0",
        )
    if parsed.scheme == "http" and parsed.hostname not in _LOOPBACK:
        raise UserInputError(
            f"Graph endpoint {url!r} uses plain http",
            field="--graph-url",
            hint="use https; plain http is accepted only for test servers on 127.0.0.1 or localhost",
        )
    return url.strip().rstrip("/")


class GraphSource:
    """A `StateSource` over Microsoft Graph (docs/sources.md "The StateSource contract"), Entra ID only."""

    def __init__(
        self, spec: str, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, quiet: bool = False,
        debug: bool = False, concurrency: int | None = None, progress_stream: Any = None,
    ):  # fmt: skip
        self.spec = spec
        self.url = _check_url(url)
        self.timeout_s = timeout_s
        self.quiet = quiet
        self.concurrency = concurrency
        self._progress_stream = progress_stream
        self._delta_cost = ""  # what the last delta round cost, for `dupfix sync`
        self._loop: asyncio.AbstractEventLoop | None = None  # made on first use (asyncio costs start-up)
        self._http: GraphHttp | None = None
        self._reader: GraphReader | None = None
        self._tls: TlsContext | None = None
        self._tenant: Tenant | None = None
        self._tenant_read = False
        self._tenant_problem: str | None = None
        self._as_of: str | None = None
        self._objects: dict[str, DirectoryObject] = {}
        self._by_key: dict[str, set[str]] = {}
        self._asked: set[str] = set()
        self._asked_targets: set[str] = set()
        self._primed = False  # tenant, quarantined objects and (when small) the recycle bin read
        self._read_whole: set[str] = set()  # collections read completely: never asked by key
        self._unsupported: dict[str, set[str]] = {}
        self._scanned = False
        self._debug_handler: logging.Handler | None = None
        if debug:
            self._debug_handler = _DebugHandler()
            log.addHandler(self._debug_handler)
            log.setLevel(logging.DEBUG)

    # -- StateSource -----------------------------------------------------------------------------

    @property
    def directories(self) -> frozenset[str]:
        return frozenset({"entra"})

    @property
    def tenant(self) -> Tenant | None:
        """The tenant's domains (GET /organization), read on first use together with the
        quarantined objects, so the engine's first question costs one round trip, not two."""
        if not self._tenant_read:
            self._run(self._prime())
        return self._tenant

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.spec, "entra", self._as_of)

    @property
    def stats(self) -> Any:
        return self._http.stats if self._http is not None else None

    def lookup(self, keys: Iterable[str], targets: Sequence[Target]) -> list[DirectoryObject]:
        from .queries import plan_queries

        if not self._primed:
            self._run(self._prime())
        target_keys = {target_key(t) for t in targets}
        wanted = set(keys) | target_keys
        new_keys = wanted - self._asked
        new_targets = target_keys - self._asked_targets
        plan = plan_queries(new_keys - target_keys, new_targets, skip=self._read_whole)
        for namespace, found in plan.unsupported.items():
            self._unsupported.setdefault(namespace, set()).update(found)
        if plan.queries:
            self._run(self._lookup(plan.queries))
        self._asked |= wanted
        self._asked_targets |= target_keys
        ids: set[str] = set()
        for key in wanted:
            ids |= self._by_key.get(key, set())
        return sorted((self._objects[i] for i in ids), key=lambda o: o.ref)

    def scan(self) -> Iterator[DirectoryObject]:
        objects: list[DirectoryObject] = []
        self._run(self._scan(objects.extend))
        self._scanned = True
        return iter(objects)

    def snapshot_rows(self) -> list[tuple[str, str, str, str]]:
        """The full scan as snapshot rows `(directory, kind, id, line)` for `dupfix snapshot`.

        Why: the scan is a chain of pages per collection (each page names the next), so its
        pace is set by how soon the next page is asked for. Pages are converted and rendered on
        a worker thread while the event loop only receives pages and asks for the next ones; the
        lines are `snapshot.writer.object_line(graph.queries.to_object(record))`, exactly what
        `scan` followed by `write_snapshot` gives, so the file is the same.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        from ..records import object_line
        from .queries import Collection, MalformedAnswer, to_object

        def render(collection: Collection, records: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
            out = []
            for record in records:
                o = to_object(record, collection)
                out.append((o.directory, o.kind, o.id, object_line(o)))
            return out

        pending: list[Future[list[tuple[str, str, str, str]]]] = []
        # The renderer holds the GIL for up to the switch interval (5 ms) whenever a page arrives,
        # and each page of a chain waits for that before its successor is asked: a short interval
        # lets the event loop in at once (half the scan's time is that chain, one page at a time).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            with collector.paused():  # 100k short-lived objects per scan and no cycles
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dupfix-render") as pool:
                    self._run(self._scan_pages(lambda c, rs: pending.append(pool.submit(render, c, rs))))
                rows = [row for future in pending for row in future.result()]
        except MalformedAnswer as exc:
            raise StateUnavailableError(f"Microsoft Graph's answer was unreadable: {exc}") from None
        finally:
            sys.setswitchinterval(interval)
        self._scanned = True
        return rows

    def delta(self, state: str | None) -> tuple[list[tuple[Any, ...]], str]:
        """For the state cache (cache.sync): what changed since `state` (None: everything), and the
        new state (the delta links). A link Graph forgot raises errors.DeltaExpired."""
        return self.delta_in_parts(state, None)

    def delta_in_parts(
        self, state: str | None, write: ChangeWriter | None
    ) -> tuple[list[tuple[Any, ...]], str]:
        """`delta`, handing `write` the delta rounds' changes while the recent deletions are still
        being read (interfaces.DeltaInParts); the recycle bin's changes are returned."""
        import json

        from ...errors import DeltaExpired

        self._tls_soon()  # before the SDK's import just below
        from .http import DeltaGone

        links = json.loads(state) if state else {}
        try:
            answer = self._run(self._delta(links, write))
        except DeltaGone as exc:
            raise DeltaExpired(exc.message) from None
        if answer.bin_whole is not None:
            bin_cost = f"recycle bin read whole ({answer.bin_whole}): {answer.bin_objects} objects"
        else:
            since = f"since {answer.bin_since}" if answer.bin_since else "(all)"
            bin_cost = f"recycle bin: deletions {since}, newest first: {answer.bin_objects} objects"
        self._delta_cost = (
            f"{bin_cost} in {answer.bin_requests} request(s); delta: {answer.delta_requests} request(s)"
        )
        return answer.changes, json.dumps(answer.links, sort_keys=True)

    def delta_notes(self) -> list[str]:
        return [self._delta_cost] if self._delta_cost else []

    async def _delta(self, links: dict[str, str], write: ChangeWriter | None) -> Any:
        from ..cache.source import utc_now
        from .delta import read_delta

        http, reader = await self._session()
        try:  # the tenant's domains alone: the cache needs them, not the per-run look-ups of _prime
            import asyncio

            tenant, answer = await asyncio.gather(
                reader.tenant(),
                read_delta(http, links, now=utc_now(), bin_full_age_s=bin_full_age(), write=write),
            )
        finally:
            http.progress.finish()
        self._set_tenant(tenant)
        return answer

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            # A failed read can leave sibling requests running (gather stops at the first error).
            import asyncio

            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            if self._http is not None:
                self._loop.run_until_complete(self._http.aclose())
            self._loop.close()
        if self._debug_handler is not None:
            log.removeHandler(self._debug_handler)
            log.setLevel(logging.NOTSET)
            self._debug_handler = None

    # -- optional protocols (interfaces.ReportsNotes, interfaces.Diagnosable) ----------------------

    def report_notes(self, covered: frozenset[str]) -> list[str]:
        notes: list[str] = []
        # A planned targetAddress is an address (addresses.target_address_key): Graph is asked for
        # it in proxyAddresses and mail like any other. Only Entra objects' own targetAddress is
        # not exposed.
        if self._scanned and "ad" not in covered:
            notes.append(
                "targetAddress: Microsoft Graph does not expose it, so no Entra object's targetAddress was "
                "read; add an on-prem AD source (--source ldap://…) to cover it"
            )
        if self._tenant_problem:
            notes.append(self._tenant_problem)
        return notes

    def diagnose(self) -> list[DoctorLine]:
        from .doctor import diagnose

        return self._run(diagnose(self))

    # -- the async side ----------------------------------------------------------------------------

    def _tls_soon(self) -> TlsContext:
        """The session's TLS context, started before the SDK is imported (sources/graph/tls.py)."""
        if self._tls is None:
            from .tls import TlsContext

            self._tls = TlsContext()
        return self._tls

    def _run(self, coro: Any) -> Any:
        self._tls_soon()
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    async def _session(self) -> tuple[GraphHttp, GraphReader]:
        if self._http is None or self._reader is None:
            from .auth import choose_credential
            from .http import DEFAULT_CONCURRENCY, GraphHttp
            from .progress import Progress
            from .reader import GraphReader

            self._http = GraphHttp(
                self.url,
                choose_credential(),
                tls=self._tls_soon(),
                timeout_s=self.timeout_s,
                concurrency=self.concurrency or _concurrency_from_env(DEFAULT_CONCURRENCY),
                progress=Progress.for_terminal(self.quiet, self._progress_stream),
            )
            self._reader = GraphReader(self._http)
            await self._http.start()
        if self._as_of is None:
            self._as_of = (
                dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            )
        return self._http, self._reader

    def _remember(self, objects: Iterable[DirectoryObject]) -> None:
        for obj in objects:
            self._objects[obj.id] = obj
            for key in all_lookup_keys(obj):
                self._by_key.setdefault(key, set()).add(obj.id)

    async def _prime(self) -> None:
        """What every run reads once, concurrently: the tenant's domains, the objects with
        quarantined values and, when it is small, the whole recycle bin."""
        http, reader = await self._session()
        queries = reader.once_per_run_queries()
        try:
            import asyncio

            answer, (found, answers) = await asyncio.gather(reader.tenant(), reader.query(queries))
        finally:
            http.progress.finish()
        self._set_tenant(answer)
        self._remember(found)
        self._read_whole = {q.collection.name for q, a in zip(queries, answers, strict=True)
                            if not q.clauses and a.complete}  # fmt: skip
        self._primed = True

    def _set_tenant(self, answer: Any) -> None:
        self._tenant, self._tenant_problem, self._tenant_read = answer.tenant, answer.problem, True

    async def _lookup(self, queries: list[Any]) -> None:
        http, reader = await self._session()
        try:
            found, _ = await reader.query(queries)
        finally:
            http.progress.finish()
        self._remember(found)

    async def _scan_pages(self, on_page: Any) -> None:
        http, reader = await self._session()
        try:
            answer = await reader.scan_pages(on_page)
        finally:
            http.progress.finish()
        self._set_tenant(answer)

    async def _scan(self, sink: Any) -> None:
        http, reader = await self._session()
        try:
            answer = await reader.scan(sink)
        finally:
            http.progress.finish()
        self._set_tenant(answer)


BIN_AGE_ENV = "DUPFIX_RECYCLE_BIN_MAX_AGE"


def bin_full_age() -> float:
    """How old the last whole read of the recycle bin may get before a sync reads it whole again
    (seconds; DUPFIX_RECYCLE_BIN_MAX_AGE as 90m, 24h, 7d; default 7 days). It bounds how long a
    purge can go unseen by the cache (graph.delta)."""
    from .delta import BIN_FULL_AGE_S

    value = os.environ.get(BIN_AGE_ENV, "").strip()
    if not value:
        return BIN_FULL_AGE_S
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (value[:-1], value[-1].lower()) if value[-1:].lower() in units else (value, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UserInputError(
            f"{BIN_AGE_ENV}={value!r} is not an age", field=BIN_AGE_ENV, hint="e.g. 7d, 24h, 90m, or 0 to read it whole every time"
        )
    return seconds


def _concurrency_from_env(default: int) -> int:
    value = os.environ.get(CONCURRENCY_ENV, "").strip()
    if not value:
        return default
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 32:
        raise UserInputError(
            f"{CONCURRENCY_ENV}={value!r} must be a whole number from 1 to 32", field=CONCURRENCY_ENV
        )
    return n


def create(spec: str, options: Mapping[str, Any]) -> GraphSource:
    """`graph` -> GraphSource. Options: graph_url, timeout (seconds), quiet, debug."""
    if spec.strip().lower() != SCHEME:
        raise UserInputError(
            f"bad source {spec!r}",
            field="--source",
            hint="write just `graph`; the endpoint comes from --graph-url or DUPFIX_GRAPH_URL",
        )
    from ...extras import require

    require("graph", "graph")
    timeout = options.get("timeout")
    return GraphSource(
        spec,
        str(options.get("graph_url") or DEFAULT_URL),
        timeout_s=float(timeout) if timeout else DEFAULT_TIMEOUT_S,
        quiet=bool(options.get("quiet", False)),
        debug=bool(options.get("debug", False)),
    )


