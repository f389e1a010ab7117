"""The three reads the Graph source makes: the tenant, point look-ups, and the full scan.

Async, over one `GraphHttp` session; `graph.GraphSource` runs them on its own event loop and
keeps the results. Each read is shaped by what Graph charges for (docs/semantics.md "What Graph charges for"): look-ups go 15
clauses to a request and 20 requests to a round trip; the full scan reads every collection at
once, 999 objects a page, as raw JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from ...errors import StateUnavailableError
from ...model import DirectoryObject, Tenant
from .http import AccessDenied, Answer, Endpoint, GraphHttp
from .queries import (
    COLLECTIONS,
    QUARANTINE_COLLECTIONS,
    QUARANTINE_FILTER,
    RECYCLE_BIN,
    RECYCLE_BIN_PAGES,
    Collection,
    MalformedAnswer,
    Query,
    tenant_of,
    to_object,
)


@dataclass(frozen=True)
class TenantAnswer:
    tenant: Tenant | None
    problem: str | None = None  # why the domains are unknown (a note, not a failure)


class GraphReader:
    def __init__(self, http: GraphHttp):
        self.http = http

    async def tenant(self) -> TenantAnswer:
        """Initial and verified domains from `GET /organization`.

        Only the MOERA check needs them, so an app granted User/Group/OrgContact.Read.All but not
        Organization.Read.All still checks everything else: a 403 here becomes a note. Every
        other failure (throttling past the budget, a broken answer) fails the run.
        """
        endpoint = Endpoint("GET", "/organization")
        try:
            page = await self.http.get_page(self.http.organization_request, endpoint)
            initial, verified = tenant_of({"value": page.records})
        except AccessDenied as exc:
            return TenantAnswer(None, f"the tenant's domains could not be read: {exc.message} ({exc.hint})")
        except MalformedAnswer as exc:
            raise StateUnavailableError(
                f"Microsoft Graph's answer to {endpoint} was unreadable: {exc}"
            ) from None
        return TenantAnswer(Tenant(initial, verified))

    async def query(self, queries: Sequence[Query]) -> tuple[list[DirectoryObject], list[Answer]]:
        """Objects answering any of the queries (several queries may find one object), and each
        query's answer (to tell which ones were cut short by their page limit)."""
        if not queries:
            return [], []
        answers = await self.http.run_queries(queries)
        pairs = ((q.collection, a.records) for q, a in zip(queries, answers, strict=True))
        return _objects(self.http, pairs), answers

    @staticmethod
    def once_per_run_queries() -> list[Query]:
        """What every run reads once, whatever the plan asks.

        Objects with a quarantined value: such values can't be found by value (docs/semantics.md "Quarantined values").
        The recycle bin, when it fits in RECYCLE_BIN_PAGES pages: cheaper than asking it for
        every key.
        """
        quarantine = [Query(c, (QUARANTINE_FILTER,)) for c in QUARANTINE_COLLECTIONS]
        return quarantine + [Query(c, (), max_pages=RECYCLE_BIN_PAGES) for c in RECYCLE_BIN]

    async def scan(self, on_objects: Callable[[list[DirectoryObject]], None]) -> TenantAnswer:
        """Every user, group, contact and soft-deleted user and group; collections read concurrently."""

        def sink(collection: Collection) -> Callable[[list[dict[str, Any]]], None]:
            def take(records: list[dict[str, Any]]) -> None:
                objects = _objects(self.http, [(collection, records)])
                self.http.progress.page(len(objects))
                on_objects(objects)

            return take

        tasks = [self.http.read_all(c, sink(c)) for c in COLLECTIONS]
        answers = await asyncio.gather(self.tenant(), *tasks)
        return cast(TenantAnswer, answers[0])

    async def scan_pages(self, on_page: Callable[[Collection, list[dict[str, Any]]], None]) -> TenantAnswer:
        """`scan`, handing over each page's raw records: the caller converts them (`to_object`)
        wherever it likes, e.g. off the event loop so the next page is asked for at once."""

        def sink(collection: Collection) -> Callable[[list[dict[str, Any]]], None]:
            def take(records: list[dict[str, Any]]) -> None:
                self.http.stats.objects += len(records)
                self.http.progress.page(len(records))
                on_page(collection, records)

            return take

        answers = await asyncio.gather(self.tenant(), *(self.http.read_all(c, sink(c)) for c in COLLECTIONS))
        return cast(TenantAnswer, answers[0])


def _objects(http: GraphHttp, pages: Any) -> list[DirectoryObject]:
    out: list[DirectoryObject] = []
    try:
        for collection, records in pages:
            out.extend(to_object(r, collection) for r in records)
    except MalformedAnswer as exc:
        raise StateUnavailableError(f"Microsoft Graph's answer was unreadable: {exc}") from None
    http.stats.objects += len(out)
    return out
