"""Incremental reads of Entra ID for the state cache: Graph's `/users/delta`, `/groups/delta` and
`/contacts/delta`, plus the recycle bin, which has no delta.

The first round (no links) lists every object and ends in one `@odata.deltaLink` per collection;
later rounds follow those links and get only what changed, removed objects as
`{"id": …, "@removed": {…}}`. A link Graph no longer knows is `410 Gone` (`graph.http.DeltaGone`),
which the sync turns into a full resync.

Soft-deleted users and groups are in no delta (a deleted user shows as `@removed`, reason
`changed`). The recycle bin is therefore read by what Graph can sort it by: `deletedDateTime`,
newest first (`$orderby`, an advanced query: `ConsistencyLevel: eventual` + `$count=true`), page by
page until the deletions are older than the newest one seen last time (less BIN_OVERLAP_S, for
Graph's eventually consistent index). Both recycle bin collections go in one `$batch`. What this
can't see is a purge (permanent deletion, by hand or after 30 days): the purged object stays in
the cache as soft-deleted, holding its addresses, until the whole bin is read again, which
happens when the last whole read is older than `bin_full_age_s` (default 7 days,
DUPFIX_RECYCLE_BIN_MAX_AGE). A stale soft-deleted holder can only add findings (a false alarm),
never hide one (docs/semantics.md "State cache freshness"). Whenever the delta reports an object
soft-deleted that the ordered listing does not show yet, the bin is read whole at once.

Changes are what `cache.sync` applies: `("upsert", obj)`, `("remove", "entra", id)`,
`("merge-state", "soft-deleted", objects)` (recent deletions: added or rewritten, nothing removed)
and `("replace-state", "soft-deleted", objects)`: the bin's whole content, which replaces every
cached soft-deleted object of this source (the cache rewrites only those that differ).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ...errors import StateUnavailableError
from ...interfaces import ChangeWriter
from ..cache.source import format_time, parse_time
from .http import Endpoint, GraphHttp
from .queries import (
    CONTACTS,
    GROUPS,
    RECYCLE_BIN,
    USERS,
    Collection,
    MalformedAnswer,
    Query,
    to_object,
)

DELTA_COLLECTIONS: tuple[Collection, ...] = (USERS, GROUPS, CONTACTS)
BIN_KEY = "recycleBin"  # the recycle bin's own state among the delta links: {"newest", "fullAt"}
BIN_FULL_AGE_S = 7 * 86400.0
BIN_OVERLAP_S = 3600.0
# Recent deletions are read in pages of Graph's own default size for this listing (100, not 999):
# between two refreshes a few dozen objects are deleted, and the first page used to bring up to
# 999 older ones a collection, every refresh, only to find them unchanged. More pages follow while
# they are still newer than the last refresh (docs/semantics.md "State cache freshness").
RECENT_PAGE = 100
DELETED_AT = "deletedDateTime"
# The delta rounds' changes are handed to `read_delta`'s `write` while the recent deletions are
# still on their way only up to this many: writing them holds the event loop (and counts against
# the --timeout budget) to save at most one round trip; a bigger round is written after.
EARLY_WRITE_MAX = 10_000


@dataclass
class DeltaAnswer:
    changes: list[tuple[Any, ...]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    delta_requests: int = 0
    bin_requests: int = 0
    bin_objects: int = 0
    bin_whole: str | None = None  # why the bin was read whole; None: only recent deletions
    bin_since: str | None = None  # the deletion time an incremental read went back to


async def _follow(http: GraphHttp, collection: Collection, link: str | None) -> tuple[list[dict[str, Any]], str]:
    """Every page of one delta round; the records and the deltaLink that ends it."""
    url = link or http.delta_url(collection)
    endpoint = Endpoint("GET", collection.path + "/delta", collection, "delta")
    records: list[dict[str, Any]] = []
    while True:
        page = await http.get_page(lambda url=url: http.next_link_request(collection, url), endpoint)  # type: ignore[misc]
        records.extend(page.records)
        if page.next_link:
            url = page.next_link
            continue
        if not page.delta_link:
            raise StateUnavailableError(
                f"Microsoft Graph ended {endpoint} without an @odata.deltaLink; the round cannot be trusted"
            )
        return records, page.delta_link


async def read_delta(
    http: GraphHttp,
    links: dict[str, str],
    *,
    now: dt.datetime,
    bin_full_age_s: float = BIN_FULL_AGE_S,
    write: ChangeWriter | None = None,
) -> DeltaAnswer:
    """One delta round of every collection and, at the same time, the recycle bin's recent
    deletions; the whole bin instead when it is due (first round, last whole read too old), or
    after the round when a deletion the delta reported is not in the ordered listing.

    `write`, when given, receives the delta rounds' changes as soon as the rounds are read, while
    the recent deletions may still be on their way (the cache writes them meanwhile: the `$batch`
    is usually answered last); `answer.changes` then holds only the recycle bin's.
    """
    answer = DeltaAnswer()
    bin_state = _bin_state(links.get(BIN_KEY))
    whole = _whole_read_due(bin_state, now, bin_full_age_s)
    newest = bin_state.get("newest") if bin_state else None
    since = _minus(newest, BIN_OVERLAP_S)
    before = http.stats.http_requests
    follows = asyncio.gather(*(_follow(http, c, links.get(c.name)) for c in DELTA_COLLECTIONS))
    recent: list[tuple[Collection, dict[str, Any]]] = []
    bin_requests = 0
    # The recent deletions are asked alongside the delta rounds (one round trip less). A deletion
    # made between the two reads is reported by the delta and missing from the listing: that is
    # the "not in the ordered listing" case below, which reads the bin whole.
    recent_read = asyncio.ensure_future(_recent_deletions(http, since)) if whole is None else None
    soft_deleted: set[str] = set()
    try:
        rounds = await follows
        for collection, (records, link) in zip(DELTA_COLLECTIONS, rounds, strict=True):
            answer.links[collection.name] = link
            for record in records:
                removed = record.get("@removed")
                if removed is not None:
                    answer.changes.append(("remove", "entra", str(record.get("id"))))
                    reason = removed.get("reason") if isinstance(removed, dict) else None
                    if collection is not CONTACTS and reason != "deleted":  # "changed": restorable
                        soft_deleted.add(str(record.get("id")))
                else:
                    answer.changes.append(("upsert", to_object(record, collection)))
        if write is not None and len(answer.changes) <= EARLY_WRITE_MAX:
            write(answer.changes)
            answer.changes = []
        if recent_read is not None:
            recent, bin_requests = await recent_read
        answer.delta_requests = http.stats.http_requests - before - bin_requests
        before = http.stats.http_requests
        if whole is None:
            seen = {str(r.get("id")) for _, r in recent}
            missing = soft_deleted - seen
            if missing:
                whole = f"{len(missing)} deletion(s) the delta reported are not in the ordered listing yet"
            else:
                deleted = [to_object(r, c) for c, r in recent]
                answer.changes.append(("merge-state", "soft-deleted", deleted))
                answer.bin_objects, answer.bin_since = len(deleted), since
                newest = _newest(newest, (r for _, r in recent))
                full_at = bin_state["fullAt"] if bin_state else format_time(now)
        if whole is not None:
            binned: list[tuple[Collection, list[dict[str, Any]]]] = []
            await asyncio.gather(*(
                http.read_all(c, lambda records, c=c: binned.append((c, records)), also_select=(DELETED_AT,))  # type: ignore[misc]
                for c in RECYCLE_BIN
            ))  # fmt: skip
            deleted = [to_object(record, collection) for collection, records in binned for record in records]
            answer.changes.append(("replace-state", "soft-deleted", deleted))
            answer.bin_objects, answer.bin_whole = len(deleted), whole
            newest = _newest(None, (r for _, records in binned for r in records))
            full_at = format_time(now)
        answer.bin_requests = bin_requests + http.stats.http_requests - before
    except MalformedAnswer as exc:
        raise StateUnavailableError(f"Microsoft Graph's delta answer was unreadable: {exc}") from None
    finally:
        if recent_read is not None:  # unless awaited above, a delta round or the write failed
            if not recent_read.done():
                recent_read.cancel()
            elif not recent_read.cancelled():
                recent_read.exception()  # its failure, if any, is not the one to report
    answer.links[BIN_KEY] = json.dumps({"newest": newest, "fullAt": full_at}, sort_keys=True)
    return answer


def _bin_state(text: str | None) -> dict[str, Any] | None:
    """The stored recycle bin state, or None when there is none (or it can't be read: read whole)."""
    if not text:
        return None
    try:
        state = json.loads(text)
        parse_time(state["fullAt"])
        if state.get("newest") is not None:
            parse_time(state["newest"])
    except (ValueError, TypeError, KeyError):
        return None
    return state if isinstance(state, dict) else None


def _whole_read_due(state: dict[str, Any] | None, now: dt.datetime, full_age_s: float) -> str | None:
    """Why the whole bin must be read this round, or None."""
    if state is None:
        return "first read"
    age = (now - parse_time(state["fullAt"])).total_seconds()
    if age > full_age_s:
        return f"last whole read {age / 86400:.1f} days ago: purges since then are not seen otherwise"
    return None


async def _recent_deletions(http: GraphHttp, since: str | None) -> tuple[list[tuple[Collection, dict[str, Any]]], int]:
    """Deleted users and groups, newest first, back to `since` (None: all): the first page of
    both (RECENT_PAGE objects) in one `$batch`, further pages only while still newer than `since`.
    Also the HTTP requests it took (it runs beside the delta rounds, whose count is told apart by it)."""
    queries = [
        Query(c, (), advanced=True, max_pages=1, url=http.newest_deleted_url(c, RECENT_PAGE)) for c in RECYCLE_BIN
    ]
    answers = await http.run_queries(queries)
    requests = 1
    out: list[tuple[Collection, dict[str, Any]]] = []
    for collection, first in zip(RECYCLE_BIN, answers, strict=True):
        records, link = first.records, first.next_link
        out.extend((collection, r) for r in records)
        while link and not _older_than(records, since):
            endpoint = Endpoint("GET", collection.path, collection, "deletions, newest first")
            page = await http.get_page(lambda link=link, c=collection: http.next_link_request(c, link, True), endpoint)  # type: ignore[misc]
            requests += 1
            records, link = page.records, page.next_link
            out.extend((collection, r) for r in records)
    return out, requests


def _older_than(records: list[dict[str, Any]], since: str | None) -> bool:
    """True when the page's last (oldest) deletion is before `since`: no later page can be newer.
    A page without a readable `deletedDateTime` on its last item is never taken as old enough."""
    if since is None or not records:
        return since is not None
    last = records[-1].get(DELETED_AT) if isinstance(records[-1], dict) else None
    try:
        return isinstance(last, str) and parse_time(last) < parse_time(since)
    except ValueError:
        return False


def _newest(current: str | None, records: Any) -> str | None:
    best = parse_time(current) if current else None
    for r in records:
        value = r.get(DELETED_AT) if isinstance(r, dict) else None
        if not isinstance(value, str):
            continue
        try:
            when = parse_time(value)
        except ValueError:
            continue
        if best is None or when > best:
            best = when
    return format_time(best) if best is not None else None


def _minus(when: str | None, seconds: float) -> str | None:
    return format_time(parse_time(when) - dt.timedelta(seconds=seconds)) if when else None
