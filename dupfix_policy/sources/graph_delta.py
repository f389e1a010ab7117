"""Incremental reads of Entra ID for the state cache: Graph's `/users/delta`, `/groups/delta` and
`/contacts/delta`, plus the recycle bin, which has no delta.

The first round (no links) lists every object and ends in one `@odata.deltaLink` per collection;
later rounds follow those links and get only what changed, removed objects as
`{"id": …, "@removed": {…}}`. A link Graph no longer knows is `410 Gone` (`graph_http.DeltaGone`),
which the sync turns into a full resync. Soft-deleted users and groups are not in any delta (a
deleted user shows as `@removed`), so each round reads `deletedItems` whole: the recycle bin keeps
deletions only 30 days, so it is small, and its cost is reported.

Changes are what `cache_sync` applies: `("upsert", obj)`, `("remove", "entra", id)` and
`("replace-state", "soft-deleted", objects)`: the recycle bin's whole content, which replaces every
cached soft-deleted object of this source (the cache rewrites only those that differ).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..errors import StateUnavailableError
from .graph_http import Endpoint, GraphHttp
from .graph_queries import CONTACTS, GROUPS, RECYCLE_BIN, USERS, Collection, MalformedAnswer, to_object

DELTA_COLLECTIONS: tuple[Collection, ...] = (USERS, GROUPS, CONTACTS)


@dataclass
class DeltaAnswer:
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    delta_requests: int = 0
    bin_requests: int = 0
    bin_objects: int = 0


async def _follow(http: GraphHttp, collection: Collection, link: str | None) -> tuple[list[dict[str, Any]], str]:
    """Every page of one delta round; the records and the deltaLink that ends it."""
    url = link or http.delta_url(collection)
    endpoint = Endpoint("GET", collection.path + "/delta", collection, "delta")
    records: list[dict[str, Any]] = []
    while True:
        page = await http.get_page(lambda url=url: http.next_link_request(collection, url), endpoint)
        records.extend(page.records)
        if page.next_link:
            url = page.next_link
            continue
        if not page.delta_link:
            raise StateUnavailableError(
                f"Microsoft Graph ended {endpoint} without an @odata.deltaLink; the round cannot be trusted"
            )
        return records, page.delta_link


async def read_delta(http: GraphHttp, links: dict[str, str]) -> DeltaAnswer:
    """One delta round of every collection (concurrently), then the whole recycle bin."""
    answer = DeltaAnswer()
    before = http.stats.http_requests
    rounds = await asyncio.gather(*(_follow(http, c, links.get(c.name)) for c in DELTA_COLLECTIONS))
    answer.delta_requests = http.stats.http_requests - before
    try:
        for collection, (records, link) in zip(DELTA_COLLECTIONS, rounds, strict=True):
            answer.links[collection.name] = link
            for record in records:
                if "@removed" in record:
                    answer.changes.append(("remove", "entra", str(record.get("id"))))
                else:
                    answer.changes.append(("upsert", to_object(record, collection)))
        before = http.stats.http_requests
        binned: list[tuple[Collection, list[dict[str, Any]]]] = []
        await asyncio.gather(*(http.read_all(c, lambda records, c=c: binned.append((c, records))) for c in RECYCLE_BIN))
        answer.bin_requests = http.stats.http_requests - before
        deleted = [to_object(record, collection) for collection, records in binned for record in records]
        answer.bin_objects = len(deleted)
        answer.changes.append(("replace-state", "soft-deleted", deleted))
    except MalformedAnswer as exc:
        raise StateUnavailableError(f"Microsoft Graph's delta answer was unreadable: {exc}") from None
    return answer
