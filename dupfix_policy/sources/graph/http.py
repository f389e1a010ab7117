"""Talking to Microsoft Graph: msgraph-sdk's request builders, adapter and auth, our retries.

Why not the SDK end to end (docs/semantics.md "What Graph charges for"):
- its model parsing turns a 999-user page into objects at a few hundred per second, so pages are
  read as raw JSON (`send_primitive_async` with kiota's native response handler: the SDK still
  builds the request, encodes the query and attaches the token);
- its `$batch` helpers send empty bodies in current releases, so `$batch` is sent as plain JSON
  through the same adapter;
- its retry middleware knows nothing of a total time budget, so it is left out of the middleware
  chain (the decoding and user-agent handlers stay) and retries happen here, where every wait is
  counted against `--timeout`.

Failing closed is this module's job: a request either yields a complete, parsed answer or raises
`StateUnavailableError` (exit 3) naming the endpoint and the status. Throttling (429, 503, 504)
waits for `Retry-After`, for whole requests and for single `$batch` items, and gives up when the
wait would not fit in the budget; other faults (connection errors, 5xx, truncated JSON, a `$batch`
answer that lacks an item) are retried a few times; 401/403 stop at once and name the permission.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware import ParametersNameDecodingHandler, UserAgentHandler
from kiota_http.middleware.options import ResponseHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from ...errors import StateUnavailableError
from .auth import CredentialChoice, TokenProvider, redact
from .progress import Progress
from .queries import (
    MAX_BATCH,
    MAX_TOP,
    Collection,
    MalformedAnswer,
    Page,
    Query,
    chunks,
    parse_page,
    permission_hint,
)
from .tls import TlsContext

log = logging.getLogger("dupfix.graph")


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """msgraph-sdk's generated modules, imported as builders are first used, warn about
    per-builder configuration classes we don't use (we pass the generic RequestConfiguration)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


THROTTLED = frozenset({429, 503, 504})
MAX_FAULT_RETRIES = 3  # connection errors, other 5xx, malformed answers: then give up
FAULT_BACKOFF_S = 0.25  # doubled on each fault retry
THROTTLE_BACKOFF_S = 2.0  # when a 429/503/504 carries no Retry-After; doubled, capped
THROTTLE_BACKOFF_CAP_S = 60.0
DEFAULT_CONCURRENCY = 4
_PLACEHOLDER = "dupfixfilterplaceholder"  # only unreserved characters: the template keeps it as it is


class AccessDenied(StateUnavailableError):
    """403: the application lacks a permission (exit 3, like every unreadable state)."""


class DeltaGone(StateUnavailableError):
    """410 Gone on a `/delta` link: Graph no longer keeps that sync state; start over (cache.sync)."""


@dataclass
class Stats:
    """What a run cost: reported by the benchmark and, with --debug, at the end of a run."""

    http_requests: int = 0  # HTTP round trips; a $batch POST is one
    batched_requests: int = 0  # requests carried inside $batch bodies
    retries: int = 0
    throttled_s: float = 0.0
    pages: int = 0
    objects: int = 0


@dataclass(frozen=True)
class Endpoint:
    """What a request asks, for messages: `GET /users ($filter, 15 clauses)`."""

    method: str
    path: str
    collection: Collection | None = None
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.path}{f' ({self.detail})' if self.detail else ''}"


class _Retry(Exception):
    """One attempt failed in a way worth another try (internal to the retry loops)."""

    def __init__(self, reason: str, wait: float, throttled: bool):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.throttled = throttled


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110); None when absent or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _graph_error(body: Any) -> tuple[str, str]:
    """(code, message) of a Graph error body, tolerating anything."""
    data = body
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return "", ""
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return "", ""
    return str(err.get("code") or ""), str(err.get("message") or "")


class GraphHttp:
    """One Graph session: client, adapter, token, budget, concurrency limit and statistics.

    Lives inside one event loop (the source's); `start()` before use, `aclose()` after.
    """

    def __init__(
        self,
        base_url: str,
        choice: CredentialChoice,
        *,
        timeout_s: float,
        concurrency: int = DEFAULT_CONCURRENCY,
        progress: Progress | None = None,
        tls: TlsContext | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.choice = choice
        self.timeout_s = timeout_s
        self.concurrency = max(1, concurrency)
        self.progress = progress or Progress(enabled=False)
        self.stats = Stats()
        self.tokens = TokenProvider(choice, self.base_url)
        self._tls = tls
        self._origin = "{0.scheme}://{0.netloc}".format(urlparse(self.base_url)).lower()
        self._deadline: float | None = None
        self._sem: asyncio.Semaphore | None = None
        self._paused_until = 0.0
        self._templates: dict[tuple[str, bool | None], str] = {}
        self._http: httpx.AsyncClient | None = None
        self._adapter: GraphRequestAdapter | None = None
        self.client: GraphServiceClient | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.client is not None:
            return
        self._deadline = time.monotonic() + self.timeout_s
        self._sem = asyncio.Semaphore(self.concurrency)
        # trust_env: HTTPS_PROXY / NO_PROXY and SSL_CERT_FILE / SSL_CERT_DIR work as people expect.
        http = httpx.AsyncClient(
            verify=self._tls.result() if self._tls is not None else True,
            http2=self.base_url.startswith("https:") and _has_h2(),
            timeout=httpx.Timeout(100.0, connect=30.0),
            limits=httpx.Limits(max_connections=self.concurrency + 2),
            trust_env=True,
            event_hooks={"request": [self._log_request]},
        )
        self._http = GraphClientFactory.create_with_custom_middleware(
            [ParametersNameDecodingHandler(), UserAgentHandler()], client=http
        )
        self._adapter = GraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(self.tokens), client=self._http
        )
        self._adapter.base_url = self.base_url  # before GraphServiceClient, which copies it
        self.client = GraphServiceClient(request_adapter=self._adapter)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await asyncio.to_thread(self.tokens.close)

    def remaining(self) -> float:
        assert self._deadline is not None, "start() first"
        return self._deadline - time.monotonic()

    # -- building requests with the SDK ---------------------------------------------------------

    def _builder(self, collection: Collection) -> Any:
        c = self.client
        assert c is not None
        return {
            "users": lambda: c.users,
            "groups": lambda: c.groups,
            "contacts": lambda: c.contacts,
            "deletedUsers": lambda: c.directory.deleted_items.graph_user,
            "deletedGroups": lambda: c.directory.deleted_items.graph_group,
        }[collection.name]()

    @staticmethod
    def _config(builder: Any, headers: dict[str, str] | None = None, **params: Any) -> RequestConfiguration:
        qp_name = next(n for n in dir(type(builder)) if n.endswith("RequestBuilderGetQueryParameters"))
        config = RequestConfiguration(query_parameters=getattr(type(builder), qp_name)(**params))
        for name, value in (headers or {}).items():
            config.headers.add(name, value)
        return config

    def collection_request(
        self, collection: Collection, *, filter: str | None = None, advanced: bool = False, top: int = MAX_TOP,
        orderby: str | None = None, also_select: tuple[str, ...] = (),
    ) -> RequestInformation:  # fmt: skip
        params: dict[str, Any] = {"select": [*collection.select, *also_select], "top": top}
        if filter:
            params["filter"] = filter
        if orderby:
            params["orderby"] = [orderby]
        headers = None
        if advanced:
            params["count"] = True
            headers = {"ConsistencyLevel": "eventual"}
        with _quiet_sdk():
            builder = self._builder(collection)
            info = builder.to_get_request_information(self._config(builder, headers, **params))
        self._adapter.set_base_url_for_request_information(info)  # type: ignore[union-attr]
        return info

    def filter_url(self, collection: Collection, filter: str, advanced: bool = False) -> str:
        """The URL `collection_request` would give for this filter, without kiota's template expansion.

        kiota expands URI templates character by character (about 5 ms for a 15-clause filter,
        more than the whole round trip it rides in), so the SDK expands each collection's request
        once with a placeholder filter and the real filter is percent-encoded into it the same way
        RFC 6570 does (everything but unreserved characters); a test holds the two equal.
        """
        key = (collection.name, advanced)
        template = self._templates.get(key)
        if template is None:
            template = str(self.collection_request(collection, filter=_PLACEHOLDER, advanced=advanced).url)
            if template.count(_PLACEHOLDER) != 1:
                raise AssertionError(f"unexpected request template {template}")
            self._templates[key] = template
        return template.replace(_PLACEHOLDER, quote(filter, safe=""))

    def all_url(self, collection: Collection) -> str:
        """The URL that lists a whole collection, 999 a page."""
        key = (collection.name, None)
        url = self._templates.get(key)
        if url is None:
            url = self._templates[key] = str(self.collection_request(collection).url)
        return url

    def newest_deleted_url(self, collection: Collection, top: int = MAX_TOP) -> str:
        """A recycle bin collection newest deletion first, with `deletedDateTime` (an advanced
        query), `top` a page."""
        key = (f"{collection.name}:newest:{top}", True)
        url = self._templates.get(key)
        if url is None:
            info = self.collection_request(
                collection, advanced=True, orderby="deletedDateTime desc", also_select=("deletedDateTime",), top=top
            )
            url = self._templates[key] = str(info.url)
        return url

    def delta_url(self, collection: Collection) -> str:
        """The first `/delta` URL of a collection (users, groups, contacts): every object, then a deltaLink."""
        return f"{self.base_url}{collection.path}/delta?$select={','.join(collection.select)}"

    def organization_request(self) -> RequestInformation:
        assert self.client is not None
        with _quiet_sdk():
            builder = self.client.organization
            info = builder.to_get_request_information(self._config(builder, select=["id", "verifiedDomains"]))
        self._adapter.set_base_url_for_request_information(info)  # type: ignore[union-attr]
        return info

    def next_link_request(
        self, collection: Collection, link: str, advanced: bool = False
    ) -> RequestInformation:
        """The `@odata.nextLink` exactly as Graph gave it; a link off the endpoint is refused.

        Graph does not carry request headers over to the next page: an advanced query must send
        `ConsistencyLevel: eventual` again.
        """
        if not link.lower().startswith(self._origin + "/"):
            raise StateUnavailableError(
                f"Microsoft Graph sent a nextLink for {collection.label} that leaves {self._origin}; "
                "refusing to follow it (and to send the token there)"
            )
        with _quiet_sdk():
            info = self._builder(collection).with_url(link).to_get_request_information()
        if advanced:
            info.headers.try_add("ConsistencyLevel", "eventual")
        return info

    def relative(self, url: str) -> str:
        """A request's URL relative to the endpoint, as `$batch` items want it (`/users?$filter=...`)."""
        if not url.startswith(self.base_url):
            raise ValueError(f"{url} is not below {self.base_url}")
        rest = url[len(self.base_url) :]
        path, sep, query = rest.partition("?")
        if sep:  # what kiota's ParametersNameDecodingHandler does on the wire: %24filter -> $filter
            query = "&".join("$" + p[3:] if p.startswith("%24") else p for p in query.split("&"))
        return path + sep + query

    # -- sending ---------------------------------------------------------------------------------

    async def _log_request(self, request: httpx.Request) -> None:
        if log.isEnabledFor(logging.DEBUG):
            headers = ", ".join(
                f"{k}: {'Bearer [redacted]' if k.lower() == 'authorization' else v}"
                for k, v in request.headers.items()
                if k.lower() in ("authorization", "consistencylevel", "content-type", "user-agent")
            )
            log.debug("%s", redact(f"{request.method} {request.url} [{headers}]"))

    async def _gate(self, endpoint: Endpoint) -> None:
        """Wait out a throttling pause another request was told about; fail if it outlasts the budget."""
        pause = self._paused_until - time.monotonic()
        if pause > 0:
            if pause >= self.remaining():
                raise self._out_of_budget(endpoint, f"throttled for another {pause:.0f} s")
            self.stats.throttled_s += pause
            self.progress.throttled(pause)
            await asyncio.sleep(pause)

    async def _send(self, info: RequestInformation, endpoint: Endpoint) -> httpx.Response:
        """One HTTP exchange within the budget; transport failures become `_Retry`."""
        assert self._adapter is not None and self._sem is not None
        await self._gate(endpoint)
        info.add_request_options([ResponseHandlerOption(NativeResponseHandler())])
        async with self._sem:
            remaining = self.remaining()
            if remaining <= 0:
                raise self._out_of_budget(endpoint, "no time left")
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(
                    self._adapter.send_primitive_async(info, "bytes", None), timeout=remaining
                )
            except asyncio.TimeoutError:
                raise self._out_of_budget(endpoint, "still waiting for an answer") from None
            except httpx.HTTPError as exc:
                self.stats.http_requests += 1
                raise _Retry(
                    f"{type(exc).__name__}: {redact(str(exc)) or 'connection failed'}", 0, False
                ) from None
        self.stats.http_requests += 1
        self.progress.request()
        log.debug(
            "%s -> %s in %.0f ms (%d bytes)",
            redact(str(endpoint)), response.status_code, (time.monotonic() - started) * 1000, len(response.content),
        )  # fmt: skip
        return response

    def _judge(self, status: int, headers: Any, body: Any, endpoint: Endpoint, attempt: _Attempts) -> None:
        """Raise what a non-2xx answer means: `_Retry` for transient ones, else the final error."""
        if status in THROTTLED:
            wait = retry_after_seconds(_header(headers, "Retry-After"))
            if wait is None or wait <= 0:
                # `Retry-After: 0`, a negative number or a past date would mean asking again at once,
                # in a tight loop against a service that just said it is overloaded: back off instead.
                wait = min(THROTTLE_BACKOFF_S * 2**attempt.throttles, THROTTLE_BACKOFF_CAP_S)
            raise _Retry(f"{status} {_status_name(status)}", wait, True)
        code, message = _graph_error(body)
        if status == 401:
            raise StateUnavailableError(
                f"Microsoft Graph rejected the token for {endpoint} (401 {code or 'Unauthorized'}): it is "
                f"missing, expired or not meant for {self.tokens.scope} (credential: {self.choice.name})",
                hint=permission_hint(None) + "; `dupfix doctor --source graph` checks the set-up",
            )
        if status == 403:
            what = endpoint.collection.label if endpoint.collection else "the tenant's organization"
            raise AccessDenied(
                f"Microsoft Graph denied {endpoint} (403 {code or 'Forbidden'}): "
                f"the application may not read {what}",
                hint=permission_hint(endpoint.collection)
                if endpoint.collection
                else "grant Organization.Read.All (or Directory.Read.All) with admin consent",
            )
        if status >= 500:
            raise _Retry(f"{status} {code or _status_name(status)}", 0, False)
        if status == 410:
            raise DeltaGone(f"Microsoft Graph no longer knows the delta link for {endpoint} (410 {code or 'Gone'})")
        if status == 404:
            raise StateUnavailableError(
                f"Microsoft Graph has no {endpoint} (404 {code}) at {self.base_url}",
                hint="is the endpoint right? (--graph-url or DUPFIX_GRAPH_URL, e.g. https://graph.microsoft.com/v1.0)",
            )
        raise StateUnavailableError(
            f"Microsoft Graph refused {endpoint}: {status} {code} {redact(message)}".rstrip(),
            hint="this is a query dupfix built; please report it",
        )

    async def _with_retries(self, endpoint: Endpoint, attempt_once: Callable[[_Attempts], Any]) -> Any:
        attempts = _Attempts()
        while True:
            try:
                return await attempt_once(attempts)
            except _Retry as retry:
                await self._before_retry(endpoint, retry, attempts)

    async def _before_retry(self, endpoint: Endpoint, retry: _Retry, attempts: _Attempts) -> None:
        if retry.throttled:
            attempts.throttles += 1
        else:
            attempts.faults += 1
            if attempts.faults > MAX_FAULT_RETRIES:
                raise StateUnavailableError(
                    f"Microsoft Graph failed {endpoint} {attempts.faults} times; last: {retry.reason}",
                    hint="a page that can't be read is never taken as 'no holders'; run again later",
                )
            retry.wait = max(retry.wait, FAULT_BACKOFF_S * 2 ** (attempts.faults - 1))
        if retry.wait >= self.remaining():
            raise self._out_of_budget(endpoint, f"{retry.reason}, asked to wait {retry.wait:.0f} s")
        self.stats.retries += 1
        if retry.throttled:
            self.stats.throttled_s += retry.wait
            self.progress.throttled(retry.wait)
            self._paused_until = max(self._paused_until, time.monotonic() + retry.wait)
        log.debug("%s: %s; retrying in %.2f s", redact(str(endpoint)), retry.reason, retry.wait)
        if retry.wait > 0:
            await asyncio.sleep(retry.wait)

    def _out_of_budget(self, endpoint: Endpoint, why: str) -> StateUnavailableError:
        return StateUnavailableError(
            f"Microsoft Graph: gave up on {endpoint} ({why}): the {self.timeout_s:g} s budget (--timeout) is spent",
            hint="run again later, or give more time with --timeout",
        )

    async def get_page(self, make_info: Callable[[], RequestInformation], endpoint: Endpoint) -> Page:
        """One GET of one collection page (or of the organization), retried within the budget."""

        async def once(attempts: _Attempts) -> Page:
            response = await self._send(make_info(), endpoint)
            if not 200 <= response.status_code < 300:
                self._judge(response.status_code, response.headers, response.content, endpoint, attempts)
            try:
                page = parse_page(response.content)
            except MalformedAnswer as exc:
                raise _Retry(f"the answer was unreadable: {exc}", 0, False) from None
            self.stats.pages += 1
            return page

        return await self._with_retries(endpoint, once)

    async def read_all(
        self, collection: Collection, on_records: Callable[[list[dict[str, Any]]], None], *,
        filter: str | None = None, advanced: bool = False, first: Page | None = None,
        max_pages: int | None = None, also_select: tuple[str, ...] = (),
    ) -> bool:  # fmt: skip
        """Every page of a collection query, following `@odata.nextLink` verbatim until it ends.

        With `max_pages`, stops after that many pages (`first` counts as one) and returns False
        if there was more; else True.
        """
        page = first
        pages = 1
        if page is None:
            endpoint = Endpoint("GET", collection.path, collection, "$filter" if filter else "all")
            page = await self.get_page(
                lambda: self.collection_request(collection, filter=filter, advanced=advanced, also_select=also_select),
                endpoint,
            )
        while True:
            ahead: asyncio.Future[Page] | None = None
            if page.next_link and max_pages is not None and pages >= max_pages:
                on_records(page.records)
                return False
            if page.next_link:
                # Ask for the next page before reading this one: reading 999 objects takes about
                # as long as the round trip, so the two overlap instead of adding up.
                link = page.next_link
                endpoint = Endpoint("GET", collection.path, collection, "next page")
                ahead = asyncio.ensure_future(
                    self.get_page(
                        lambda link=link: self.next_link_request(collection, link, advanced), endpoint  # type: ignore[misc]
                    )
                )
                await asyncio.sleep(0)  # let it reach the socket
            try:
                on_records(page.records)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                raise
            if ahead is None:
                return True
            page = await ahead
            pages += 1

    # -- $batch ----------------------------------------------------------------------------------

    async def run_queries(self, queries: Sequence[Query]) -> list[Answer]:
        """Answer every query, 20 to a `$batch`, with per-item retries; answers in query order.

        A query whose answer runs over one page continues through its `@odata.nextLink`s, up to
        its `max_pages` (then its answer says it is incomplete).
        """
        results: list[Answer | None] = [None] * len(queries)
        attempts = [_Attempts() for _ in queries]
        pending = list(range(len(queries)))
        while pending:
            groups = chunks(pending, MAX_BATCH)
            outcomes = await asyncio.gather(
                *(self._batch_once([(i, queries[i], attempts[i]) for i in g]) for g in groups)
            )
            retry: list[int] = []
            wait = 0.0
            follow: list[tuple[int, Page]] = []
            worst: tuple[Endpoint, _Retry, _Attempts] | None = None
            for outcome in outcomes:
                for index, result in outcome:
                    if isinstance(result, Page):
                        results[index] = Answer(list(result.records), result.next_link is None, result.next_link)
                        if result.next_link:
                            follow.append((index, result))
                        continue
                    endpoint = _query_endpoint(queries[index])
                    att = attempts[index]
                    if result.throttled:
                        att.throttles += 1
                    else:
                        att.faults += 1
                        if att.faults > MAX_FAULT_RETRIES:
                            raise StateUnavailableError(
                                f"Microsoft Graph failed {endpoint} inside $batch {att.faults} times; "
                                f"last: {result.reason}",
                                hint="a request that can't be read is never taken as 'no holders'; run again later",
                            )
                        result.wait = max(result.wait, FAULT_BACKOFF_S * 2 ** (att.faults - 1))
                    retry.append(index)
                    if result.wait >= wait:
                        wait, worst = result.wait, (endpoint, result, att)
            await asyncio.gather(*(self._follow(queries[i], page, results[i]) for i, page in follow))
            if retry:
                assert worst is not None
                endpoint, reason, att = worst
                if wait >= self.remaining():
                    raise self._out_of_budget(
                        endpoint, f"{reason.reason} in $batch, asked to wait {wait:.0f} s"
                    )
                self.stats.retries += len(retry)
                if reason.throttled:
                    self.stats.throttled_s += wait
                    self.progress.throttled(wait)
                log.debug(
                    "$batch: %d request(s) to retry (%s); waiting %.2f s", len(retry), reason.reason, wait
                )
                if wait > 0:
                    await asyncio.sleep(wait)
            pending = sorted(retry)
        return [r if r is not None else Answer([], True) for r in results]

    async def _follow(self, query: Query, first: Page, answer: Answer | None) -> None:
        """The rest of a batched query's answer, page by page (verbatim nextLinks, direct GETs)."""
        assert answer is not None
        more: list[dict[str, Any]] = []
        answer.complete = await self.read_all(
            query.collection, more.extend, advanced=query.advanced, first=Page([], first.next_link),
            max_pages=query.max_pages,
        )  # fmt: skip
        answer.records.extend(more)

    async def _batch_once(self, items: list[tuple[int, Query, _Attempts]]) -> list[tuple[int, Page | _Retry]]:
        """POST one `$batch`; per item either its page or why it must be asked again."""
        requests = []
        for index, query, _ in items:
            if query.url:
                url = query.url
            elif query.clauses:
                url = self.filter_url(query.collection, query.filter, query.advanced)
            else:
                url = self.all_url(query.collection)
            entry: dict[str, Any] = {"id": str(index), "method": "GET", "url": self.relative(url)}
            if query.advanced:
                entry["headers"] = {"ConsistencyLevel": "eventual"}
            requests.append(entry)
        body = json.dumps({"requests": requests}, ensure_ascii=False).encode("utf-8")
        endpoint = Endpoint("POST", "/$batch", None, f"{len(requests)} requests")

        async def once(attempts: _Attempts) -> dict[str, Any]:
            info = RequestInformation(Method.POST)
            info.url = f"{self.base_url}/$batch"
            info.set_stream_content(body, "application/json")
            info.headers.try_add("Accept", "application/json")
            response = await self._send(info, endpoint)
            if not 200 <= response.status_code < 300:
                self._judge(response.status_code, response.headers, response.content, endpoint, attempts)
            try:
                data = json.loads(response.content)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _Retry(f"the $batch answer was unreadable: not valid JSON ({exc})", 0, False) from None
            if not isinstance(data, dict) or not isinstance(data.get("responses"), list):
                raise _Retry('the $batch answer has no "responses" list', 0, False)
            return data

        data = await self._with_retries(endpoint, once)
        self.stats.batched_requests += len(items)
        by_id: dict[str, dict[str, Any]] = {}
        for r in data["responses"]:
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                by_id[r["id"].lower()] = r
        out: list[tuple[int, Page | _Retry]] = []
        for index, query, attempts in items:
            item = by_id.get(str(index))
            endpoint_q = _query_endpoint(query)
            if item is None:
                out.append((index, _Retry("the $batch answer left this request out", 0, False)))
                continue
            status = item.get("status")
            if not isinstance(status, int):
                out.append((index, _Retry("a $batch item came back without a status", 0, False)))
                continue
            if 200 <= status < 300:
                try:
                    out.append(
                        (index, parse_page(item["body"] if isinstance(item.get("body"), dict) else b""))
                    )
                except MalformedAnswer as exc:
                    out.append((index, _Retry(f"a $batch item was unreadable: {exc}", 0, False)))
                continue
            try:
                self._judge(status, item.get("headers") or {}, item.get("body"), endpoint_q, attempts)
            except _Retry as retry:
                out.append((index, retry))
        log.debug(
            "$batch of %d: %s", len(items),
            ", ".join(f"{s}x{n}" for s, n in _status_counts(data["responses"]).items()),
        )  # fmt: skip
        return out


@dataclass
class Answer:
    """What one query found; `complete` is False when its page limit stopped it early."""

    records: list[dict[str, Any]]
    complete: bool
    next_link: str | None = None  # where the first page said the answer goes on


@dataclass
class _Attempts:
    throttles: int = 0
    faults: int = 0


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    if isinstance(headers, httpx.Headers):
        return headers.get(name)
    if isinstance(headers, dict):
        for k, v in headers.items():
            if str(k).lower() == name.lower():
                return str(v)
    return None


def _has_h2() -> bool:
    """HTTP/2 (many requests on one connection) when the h2 package is there, else HTTP/1.1."""
    import importlib.util

    return importlib.util.find_spec("h2") is not None


def _status_name(status: int) -> str:
    return {429: "Too Many Requests", 503: "Service Unavailable", 504: "Gateway Timeout",
            500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "")  # fmt: skip


def _status_counts(responses: list[Any]) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for r in responses:
        status = r.get("status") if isinstance(r, dict) else None
        counts[status] = counts.get(status, 0) + 1
    return counts


def _query_endpoint(query: Query) -> Endpoint:
    detail = f"$filter, {len(query.clauses)} clause{'s' if len(query.clauses) != 1 else ''}"
    return Endpoint("GET", query.collection.path, query.collection, detail)
